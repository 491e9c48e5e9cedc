// ARM64 NEON micro-kernel: an 8 × 12 tile of C in 24 q-register accumulators; each step
// loads three vectors of packed B and two of packed A and multiplies by lane (24 + 3 + 2 of
// 32 registers). NEON is part of every ARM64 CPU, so this kernel needs no flags or checks.
#if defined(__aarch64__) || defined(_M_ARM64)
#include <arm_neon.h>

#include "gemm.h"
#include "gemm_gemv.h"

namespace ts {
namespace gemm {
namespace {

constexpr int kMr = 8, kNr = 12;

// Named accumulators rather than an array: with an array GCC kept a copy of every
// accumulator on the stack and stored them all at each step (as in gemm_avx2.cc).
// Row i takes a[i] from lane L of the A vector `av`.
#define TS_ROW(av, L, c0, c1, c2)           \
  c0 = vfmaq_laneq_f32(c0, b0, av, L);      \
  c1 = vfmaq_laneq_f32(c1, b1, av, L);      \
  c2 = vfmaq_laneq_f32(c2, b2, av, L);

void micro(int kc, const float* a, const float* b, float* c, int ldc, float alpha, bool accumulate) {
  float32x4_t c00 = vdupq_n_f32(0), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00, c20 = c00, c21 = c00,
              c22 = c00, c30 = c00, c31 = c00, c32 = c00, c40 = c00, c41 = c00, c42 = c00, c50 = c00, c51 = c00,
              c52 = c00, c60 = c00, c61 = c00, c62 = c00, c70 = c00, c71 = c00, c72 = c00;
  for (int p = 0; p < kc; p++) {
    const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
    const float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
    TS_ROW(a0, 0, c00, c01, c02)
    TS_ROW(a0, 1, c10, c11, c12)
    TS_ROW(a0, 2, c20, c21, c22)
    TS_ROW(a0, 3, c30, c31, c32)
    TS_ROW(a1, 0, c40, c41, c42)
    TS_ROW(a1, 1, c50, c51, c52)
    TS_ROW(a1, 2, c60, c61, c62)
    TS_ROW(a1, 3, c70, c71, c72)
    a += kMr;
    b += kNr;
  }
  const float32x4_t acc[kMr][3] = {{c00, c01, c02}, {c10, c11, c12}, {c20, c21, c22}, {c30, c31, c32},
                                   {c40, c41, c42}, {c50, c51, c52}, {c60, c61, c62}, {c70, c71, c72}};
  for (int i = 0; i < kMr; i++) {
    float* ci = c + static_cast<size_t>(i) * ldc;
    for (int h = 0; h < 3; h++) {
      float32x4_t v = vmulq_n_f32(acc[i][h], alpha);
      if (accumulate) v = vaddq_f32(v, vld1q_f32(ci + 4 * h));
      vst1q_f32(ci + 4 * h, v);
    }
  }
}
#undef TS_ROW

}  // namespace

const Kernel kNeonKernel{"neon", kMr, kNr, 128, 256, 2040, micro, gemv_rows, gemv_dots};

}  // namespace gemm
}  // namespace ts
#endif
