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

// acc[i][·] += a[i] · b, with a[i] taken from lane L of one of the two A vectors.
template <int L>
inline void row_fma(float32x4_t (&acc)[3], float32x4_t a, const float32x4_t (&b)[3]) {
  for (int h = 0; h < 3; h++) acc[h] = vfmaq_laneq_f32(acc[h], b[h], a, L);
}

void micro(int kc, const float* a, const float* b, float* c, int ldc, float alpha, bool accumulate) {
  float32x4_t acc[kMr][3];
  for (int i = 0; i < kMr; i++) acc[i][0] = acc[i][1] = acc[i][2] = vdupq_n_f32(0);
  for (int p = 0; p < kc; p++) {
    const float32x4_t bv[3] = {vld1q_f32(b), vld1q_f32(b + 4), vld1q_f32(b + 8)};
    const float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
    row_fma<0>(acc[0], a0, bv);
    row_fma<1>(acc[1], a0, bv);
    row_fma<2>(acc[2], a0, bv);
    row_fma<3>(acc[3], a0, bv);
    row_fma<0>(acc[4], a1, bv);
    row_fma<1>(acc[5], a1, bv);
    row_fma<2>(acc[6], a1, bv);
    row_fma<3>(acc[7], a1, bv);
    a += kMr;
    b += kNr;
  }
  for (int i = 0; i < kMr; i++) {
    float* ci = c + static_cast<size_t>(i) * ldc;
    for (int h = 0; h < 3; h++) {
      float32x4_t v = vmulq_n_f32(acc[i][h], alpha);
      if (accumulate) v = vaddq_f32(v, vld1q_f32(ci + 4 * h));
      vst1q_f32(ci + 4 * h, v);
    }
  }
}

}  // namespace

const Kernel kNeonKernel{"neon", kMr, kNr, 128, 256, 2040, micro, gemv_rows, gemv_dots};

}  // namespace gemm
}  // namespace ts
#endif
