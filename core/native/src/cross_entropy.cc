// Softmax cross-entropy over the vocabulary, one row per position, never forming a one-hot
// tensor. The forward keeps each counted row's log-sum-exp; the backward turns it back into
// softmax probabilities.
#include <algorithm>
#include <cmath>
#include <vector>

#include "fast_math.h"
#include "kernels.h"
#include "thread_pool.h"

namespace ts {

double cross_entropy_forward(const float* logits, const int32_t* target, const float* weight, int rows, int vocab,
                             float* lse) {
  std::vector<double> rowLoss(rows, 0.0);
  parallel_for(rows, 1, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++) {
      if (weight[r] == 0) {
        lse[r] = 0;
        continue;
      }
      const float* z = logits + r * vocab;
      float mx = *std::max_element(z, z + vocab);
      float sum = 0;
      for (int j = 0; j < vocab; j++) sum += fast_exp(z[j] - mx);
      lse[r] = mx + std::log(sum);
      rowLoss[r] = static_cast<double>(weight[r]) * (lse[r] - z[target[r]]);
    }
  });
  double total = 0;
  for (double l : rowLoss) total += l;
  return total;
}

void cross_entropy_backward(const float* logits, const int32_t* target, const float* weight, const float* lse,
                            int rows, int vocab, float dloss, float* dlogits) {
  parallel_for(rows, 1, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++) {
      float* g = dlogits + r * vocab;
      float w = weight[r] * dloss;
      if (weight[r] == 0) {
        std::fill(g, g + vocab, 0.0f);
        continue;
      }
      const float* z = logits + r * vocab;
      float l = lse[r];
      for (int j = 0; j < vocab; j++) g[j] = w * fast_exp(z[j] - l);
      g[target[r]] -= w;
    }
  });
}

}  // namespace ts
