// One pool of worker threads sized to the machine's cores, shared by every kernel. Workers
// poll for 50 µs after a job, then sleep on a condition variable, so they never compete for
// long with tfjs's JavaScript between kernels (or Accelerate's own threads on macOS).
#pragma once
#include <cstddef>
#include <functional>

namespace ts {

// Runs fn(begin, end) over [0, n) split into contiguous chunks, one per thread, and returns
// when all are done. Small ranges (below `grain` items per thread) run on the caller.
void parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn);
// The threads a kernel called here can spread its work over: the pool's size, or 1 on a
// thread already running a pool job (attention's per-head products), where parallel_for runs
// every chunk on the caller and work cut for more threads is only extra packing.
int pool_threads();
// True on a thread running a pool job, where parallel_for runs everything on the caller.
bool in_pool_job();

}  // namespace ts
