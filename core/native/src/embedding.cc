// Row lookup and its gradient, a scatter-add into the rows that were used.
#include <algorithm>

#include "kernels.h"
#include "thread_pool.h"

namespace ts {

void embedding_gather(const float* table, const int32_t* ids, int n, int width, float* out) {
  parallel_for(n, 64, [&](size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; i++) std::copy(table + static_cast<size_t>(ids[i]) * width, table + static_cast<size_t>(ids[i] + 1) * width, out + i * width);
  });
}

void embedding_scatter_add(const float* dy, const int32_t* ids, int n, int width, float* dtable) {
  // Threads own disjoint column ranges, so repeated ids never race.
  parallel_for(width, 64, [&](size_t c0, size_t c1) {
    for (int i = 0; i < n; i++) {
      float* dst = dtable + static_cast<size_t>(ids[i]) * width;
      const float* src = dy + static_cast<size_t>(i) * width;
      for (size_t c = c0; c < c1; c++) dst[c] += src[c];
    }
  });
}

}  // namespace ts
