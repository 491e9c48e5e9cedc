// Softmax cross-entropy over the vocabulary, one row per position, never forming a one-hot
// tensor. The forward keeps each counted row's log-sum-exp; the backward turns it back into
// softmax probabilities.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels.h"
#include "thread_pool.h"
#include "vector_kernels.h"

namespace ts {

double cross_entropy_forward(const float* logits, const int32_t* target, const float* weight, int rows, int vocab,
                             float* lse) {
  std::vector<double> rowLoss(rows, 0.0);
  const vec::Kernels& k = vec::active();
  parallel_for(rows, 1, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++) {
      if (weight[r] == 0) {
        lse[r] = 0;
        continue;
      }
      const float* z = logits + r * vocab;
      float mx = k.row_max(z, vocab);
      lse[r] = mx + std::log(k.sum_exp(z, vocab, mx));
      rowLoss[r] = static_cast<double>(weight[r]) * (lse[r] - z[target[r]]);
    }
  });
  double total = 0;
  for (double l : rowLoss) total += l;
  return total;
}

void cross_entropy_backward(const float* logits, const int32_t* target, const float* weight, const float* lse,
                            int rows, int vocab, float dloss, float* dlogits) {
  const vec::Kernels& k = vec::active();
  parallel_for(rows, 1, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++) {
      float* g = dlogits + r * vocab;
      float w = weight[r] * dloss;
      if (weight[r] == 0) {
        std::fill(g, g + vocab, 0.0f);
        continue;
      }
      k.scaled_exp(logits + r * vocab, vocab, lse[r], w, g);
      g[target[r]] -= w;
    }
  });
}

}  // namespace ts
