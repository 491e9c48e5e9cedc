// The per-row steps of attention between its block products, as a table of functions so
// attention.cc can run the copy compiled for the CPU's widest vectors (attention_rows_impl.h).
#pragma once
#include "kernels.h"

namespace ts {

struct AttentionRows {
  // Rows [i0, i0 + n) of a block: s (n × kend) holds q·kᵀ and becomes the dropped-out
  // probabilities; each row's max and 1/sum go to stats[2·i] (stats may be null).
  void (*forward)(const AttentionArgs& a, int b, int h, int i0, int n, int kend, float* s, float* stats);
  // Backward's recomputation: p (n × kend) holds q·kᵀ and becomes the forward's probabilities;
  // pd gets them dropped out (when a.dropout).
  void (*probabilities)(const AttentionArgs& a, int b, int h, int i0, int n, int kend, const float* stats, float* p,
                        float* pd);
  // ds (n × kend) holds dw = dy·vᵀ, the gradient of the weights w (p, dropped out), and
  // becomes the gradient of the scores: p ⊙ (m ⊙ dw − Σⱼ w ⊙ dw) = w ⊙ dw − p · Σⱼ w ⊙ dw.
  void (*softmaxGrad)(int n, int kend, const float* p, const float* w, float* ds);
};

#if defined(__x86_64__) || defined(_M_X64)
// attention_avx512.cc: call only where gemm::avx512_kernel() is not null.
extern const AttentionRows kAttentionRowsAvx512;
#endif

}  // namespace ts
