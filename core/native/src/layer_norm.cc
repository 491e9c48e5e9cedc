// LayerNorm over rows, keeping each row's mean and 1/σ for the backward pass.
#include <algorithm>
#include <vector>

#include "kernels.h"
#include "thread_pool.h"
#include "vector_kernels.h"

namespace ts {

void layer_norm_forward(const float* x, const float* gamma, const float* beta, int rows, int cols, float eps,
                        float* y, float* mean, float* rstd) {
  const vec::Kernels& k = vec::active();
  parallel_for(rows, 16, [&](size_t r0, size_t r1) { k.layer_norm_rows(x, gamma, beta, r0, r1, cols, eps, y, mean, rstd); });
}

void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd, const float* dy,
                         int rows, int cols, float* dx, float* dgamma, float* dbeta) {
  // Each thread sums its rows' dγ/dβ privately; the partial sums are added at the end.
  const vec::Kernels& k = vec::active();
  int threads = pool_threads();
  std::vector<float> partial(static_cast<size_t>(threads) * 2 * cols, 0.0f);
  size_t chunk = (rows + threads - 1) / threads;
  parallel_for(threads, 1, [&](size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; t++) {
      float* pg = partial.data() + t * 2 * cols;
      size_t begin = std::min<size_t>(rows, t * chunk), end = std::min<size_t>(rows, (t + 1) * chunk);
      k.layer_norm_backward_rows(x, gamma, mean, rstd, dy, begin, end, cols, dx, pg, pg + cols);
    }
  });
  if (dgamma) std::fill(dgamma, dgamma + cols, 0.0f);
  if (dbeta) std::fill(dbeta, dbeta + cols, 0.0f);
  for (int t = 0; t < threads; t++) {
    const float* pg = partial.data() + static_cast<size_t>(t) * 2 * cols;
    for (int c = 0; c < cols; c++) {
      if (dgamma) dgamma[c] += pg[c];
      if (dbeta) dbeta[c] += pg[cols + c];
    }
  }
}

}  // namespace ts
