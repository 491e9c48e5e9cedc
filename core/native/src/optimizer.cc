// AdamW in place (torch.optim.AdamW's order: decay the weight, then the bias-corrected Adam
// step), with the gradient-clipping coefficient folded in so gradients are never rescaled
// in a separate pass; and the sums the global gradient norm needs.
#include <mutex>

#include "kernels.h"
#include "thread_pool.h"
#include "vector_kernels.h"

namespace ts {
namespace {
constexpr size_t kGrain = 1 << 16;
}

double sum_squares(const float* x, size_t n) {
  std::mutex mu;
  double total = 0;
  const vec::Kernels& k = vec::active();
  parallel_for(n, kGrain, [&](size_t b, size_t e) {
    double s = k.sum_squares(x + b, e - b);
    std::lock_guard<std::mutex> lock(mu);
    total += s;
  });
  return total;
}

void adamw_update(float* param, const float* grad, float* m, float* v, size_t n, const AdamWArgs& a) {
  const vec::Kernels& k = vec::active();
  parallel_for(n, kGrain, [&](size_t b, size_t e) { k.adamw(param + b, grad + b, m + b, v + b, e - b, a); });
}

}  // namespace ts
