// AdamW in place (torch.optim.AdamW's order: decay the weight, then the bias-corrected Adam
// step), with the gradient-clipping coefficient folded in so gradients are never rescaled
// in a separate pass; and the sums the global gradient norm needs.
#include <cmath>
#include <mutex>

#include "kernels.h"
#include "thread_pool.h"

namespace ts {
namespace {
constexpr size_t kGrain = 1 << 16;
}

double sum_squares(const float* x, size_t n) {
  std::mutex mu;
  double total = 0;
  parallel_for(n, kGrain, [&](size_t b, size_t e) {
    double s = 0;
    for (size_t i = b; i < e; i++) s += static_cast<double>(x[i]) * x[i];
    std::lock_guard<std::mutex> lock(mu);
    total += s;
  });
  return total;
}

void adamw_update(float* param, const float* grad, float* m, float* v, size_t n, const AdamWArgs& a) {
  parallel_for(n, kGrain, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; i++) {
      float g = grad[i] * a.gradScale;
      float mi = m[i] * a.beta1 + g * (1 - a.beta1);
      float vi = v[i] * a.beta2 + g * g * (1 - a.beta2);
      m[i] = mi;
      v[i] = vi;
      float denom = std::sqrt(vi) / a.sqrtBias2 + a.eps;
      param[i] = param[i] * a.decayFactor - (mi / denom) * a.stepSize;
    }
  });
}

}  // namespace ts
