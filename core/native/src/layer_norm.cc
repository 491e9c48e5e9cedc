// LayerNorm over rows, keeping each row's mean and 1/σ for the backward pass.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels.h"
#include "thread_pool.h"

namespace ts {

void layer_norm_forward(const float* x, const float* gamma, const float* beta, int rows, int cols, float eps,
                        float* y, float* mean, float* rstd) {
  parallel_for(rows, 16, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++) {
      const float* xr = x + r * cols;
      double sum = 0;
      for (int c = 0; c < cols; c++) sum += xr[c];
      float mu = static_cast<float>(sum / cols);
      double sq = 0;
      for (int c = 0; c < cols; c++) {
        float d = xr[c] - mu;
        sq += d * d;
      }
      float rs = 1.0f / std::sqrt(static_cast<float>(sq / cols) + eps);
      mean[r] = mu;
      rstd[r] = rs;
      float* yr = y + r * cols;
      for (int c = 0; c < cols; c++) yr[c] = (xr[c] - mu) * rs * gamma[c] + beta[c];
    }
  });
}

void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd, const float* dy,
                         int rows, int cols, float* dx, float* dgamma, float* dbeta) {
  // Each thread sums its rows' dγ/dβ privately; the partial sums are added at the end.
  int threads = pool_threads();
  std::vector<float> partial(static_cast<size_t>(threads) * 2 * cols, 0.0f);
  size_t chunk = (rows + threads - 1) / threads;
  parallel_for(threads, 1, [&](size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; t++) {
      float* pg = partial.data() + t * 2 * cols;
      float* pb = pg + cols;
      size_t end = std::min<size_t>(rows, (t + 1) * chunk);
      for (size_t r = t * chunk; r < end; r++) {
        const float* xr = x + r * cols;
        const float* dyr = dy + r * cols;
        float mu = mean[r], rs = rstd[r];
        double sumG = 0, sumGX = 0;
        for (int c = 0; c < cols; c++) {
          float xhat = (xr[c] - mu) * rs;
          float g = dyr[c] * gamma[c];
          sumG += g;
          sumGX += g * xhat;
          pg[c] += dyr[c] * xhat;
          pb[c] += dyr[c];
        }
        if (!dx) continue;
        float meanG = static_cast<float>(sumG / cols), meanGX = static_cast<float>(sumGX / cols);
        float* dxr = dx + r * cols;
        for (int c = 0; c < cols; c++) {
          float xhat = (xr[c] - mu) * rs;
          dxr[c] = rs * (dyr[c] * gamma[c] - meanG - xhat * meanGX);
        }
      }
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
