// AVX2 + FMA micro-kernel: a 6 × 16 tile of C in 12 ymm accumulators; each step loads two
// vectors of packed B and broadcasts six values of packed A (the Haswell register budget:
// 12 + 2 + 1 of 16). Compiled with -mavx2 -mfma and only called where the CPU has both.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include "gemm.h"
#include "gemm_gemv.h"

namespace ts {
namespace gemm {
namespace {

constexpr int kMr = 6, kNr = 16;

void micro(int kc, const float* a, const float* b, float* c, int ldc, float alpha, bool accumulate) {
  __m256 acc[kMr][2];
  for (int i = 0; i < kMr; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  for (int p = 0; p < kc; p++) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    for (int i = 0; i < kMr; i++) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += kMr;
    b += kNr;
  }
  const __m256 va = _mm256_set1_ps(alpha);
  for (int i = 0; i < kMr; i++) {
    float* ci = c + static_cast<size_t>(i) * ldc;
    for (int h = 0; h < 2; h++) {
      __m256 v = _mm256_mul_ps(acc[i][h], va);
      if (accumulate) v = _mm256_add_ps(v, _mm256_loadu_ps(ci + 8 * h));
      _mm256_storeu_ps(ci + 8 * h, v);
    }
  }
}

}  // namespace

// kc 512 for the same reason as AVX-512's (7% over 256 on Zen 4).
const Kernel kAvx2Kernel{"avx2", kMr, kNr, 144, 512, 2048, micro, gemv_rows, gemv_dots};

}  // namespace gemm
}  // namespace ts
#endif
