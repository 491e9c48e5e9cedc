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

// Twelve named accumulators rather than an array: with an array GCC kept a copy of every
// accumulator on the stack, storing all twelve at each step (15 of the 16 ymm registers
// are in use, and it gave up on keeping the array in registers alone).
#define TS_ROW(i, c0, c1)                                 \
  {                                                       \
    const __m256 ai = _mm256_broadcast_ss(a + i);         \
    c0 = _mm256_fmadd_ps(ai, b0, c0);                     \
    c1 = _mm256_fmadd_ps(ai, b1, c1);                     \
  }

void micro(int kc, const float* a, const float* b, float* c, int ldc, float alpha, bool accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int p = 0; p < kc; p++) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    TS_ROW(0, c00, c01)
    TS_ROW(1, c10, c11)
    TS_ROW(2, c20, c21)
    TS_ROW(3, c30, c31)
    TS_ROW(4, c40, c41)
    TS_ROW(5, c50, c51)
    a += kMr;
    b += kNr;
  }
  const __m256 acc[kMr][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
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
#undef TS_ROW

}  // namespace

// kc 768 and nc 3072 for the same reasons as AVX-512's; here 768 ran 5-11% faster than 512
// on the products whose k is 768 or 2304 (Zen 4, one thread), and an nc of 2048 cut GPT-2's
// 2304- and 3072-wide products in two column blocks, each packing all of A again.
const Kernel kAvx2Kernel{"avx2", kMr, kNr, 144, 768, 3072, micro, gemv_rows, gemv_dots};

}  // namespace gemm
}  // namespace ts
#endif
