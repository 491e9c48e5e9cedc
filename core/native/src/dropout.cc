// Dropout from a counter-based generator: element i of a call keeps its value when
// bits(key, i) >= threshold, where key mixes the run's seed with the call's number
// (core/ops/dropout.ts makes it). Any thread makes any element's bit, backward regenerates
// the mask instead of storing it, and a resumed run repeats the stream exactly.
// core/ops/dropout.ts holds the reference implementation the tests compare against.
#include "kernels.h"
#include "thread_pool.h"
#include "vector_kernels.h"

namespace ts {

void dropout_apply(const float* x, size_t n, uint32_t key, uint32_t threshold, float scale, float* y) {
  const vec::Kernels& k = vec::active();
  parallel_for(n, 1 << 15, [&](size_t b, size_t e) { k.dropout(x, b, e, key, threshold, scale, y); });
}

}  // namespace ts
