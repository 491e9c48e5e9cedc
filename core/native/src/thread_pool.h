// One pool of worker threads sized to the machine's cores, shared by every kernel. Workers
// sleep on a condition variable between jobs rather than spinning, so they never compete
// with tfjs's JavaScript between kernels (or Accelerate's own threads on macOS).
#pragma once
#include <cstddef>
#include <functional>

namespace ts {

// Runs fn(begin, end) over [0, n) split into contiguous chunks, one per thread, and returns
// when all are done. Small ranges (below `grain` items per thread) run on the caller.
void parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn);
int pool_threads();

}  // namespace ts
