// The element-wise and row-wise inner loops of the training step (GELU, cross-entropy,
// LayerNorm, residual adds, dropout, AdamW), for one thread's share of the work. One source,
// vector_kernels.cc, is compiled once per instruction set (AVX-512F, AVX2+FMA, the baseline
// of the architecture) into a table of these functions, and the kernels that split the work
// over the thread pool (activations.cc, cross_entropy.cc, ...) call the table that matches
// the GEMM's micro-kernel, so TUNESMITH_GEMM_ISA forces both (gemm.h).
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels.h"

namespace ts {
namespace vec {

struct Kernels {
  const char* name;  // "avx512", "avx2", "portable"
  // y = x·Φ(x) with the tanh approximation; c is the model's sqrt(2/π).
  void (*gelu_tanh_forward)(float c, const float* x, size_t n, float* y);
  void (*gelu_tanh_backward)(float c, const float* x, const float* dy, size_t n, float* dx);
  // One logits row: its maximum, Σ exp(z − shift), and g = w·exp(z − shift).
  float (*row_max)(const float* z, size_t n);
  float (*sum_exp)(const float* z, size_t n, float shift);
  void (*scaled_exp)(const float* z, size_t n, float shift, float w, float* g);
  // LayerNorm of rows [r0, r1) (kernels.h's layer_norm_forward).
  void (*layer_norm_rows)(const float* x, const float* gamma, const float* beta, size_t r0, size_t r1, int cols,
                          float eps, float* y, float* mean, float* rstd);
  // The backward of rows [r0, r1): dx (when not null), and dγ, dβ added into pg, pb.
  void (*layer_norm_backward_rows)(const float* x, const float* gamma, const float* mean, const float* rstd,
                                   const float* dy, size_t r0, size_t r1, int cols, float* dx, float* pg, float* pb);
  void (*add)(const float* a, const float* b, size_t n, float* out);
  // Elements [begin, end) of dropout_apply (their bits depend on their index in the call).
  void (*dropout)(const float* x, size_t begin, size_t end, uint32_t key, uint32_t threshold, float scale, float* y);
  void (*adamw)(float* param, const float* grad, float* m, float* v, size_t n, const AdamWArgs& a);
  double (*sum_squares)(const float* x, size_t n);
};

// The tables this build has (the x86 ones only in x86-64 builds).
namespace avx512 { extern const Kernels kernels; }
namespace avx2 { extern const Kernels kernels; }
namespace portable { extern const Kernels kernels; }

// The table for the GEMM's instruction set, or the portable one where there is none (NEON:
// the arm64 baseline already has it).
const Kernels& active();

}  // namespace vec
}  // namespace ts
