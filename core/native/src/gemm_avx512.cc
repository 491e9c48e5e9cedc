// AVX-512F micro-kernel: a 12 × 32 tile of C in 24 zmm accumulators; each step loads two
// vectors of packed B and broadcasts twelve values of packed A. Compiled with -mavx512f and
// only called where the CPU has it (gemm.cc).
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include "gemm.h"
#include "gemm_gemv.h"

namespace ts {
namespace gemm {
namespace {

constexpr int kMr = 12, kNr = 32;

void micro(int kc, const float* a, const float* b, float* c, int ldc, float alpha, bool accumulate) {
  __m512 acc[kMr][2];
  for (int i = 0; i < kMr; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int p = 0; p < kc; p++) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
    for (int i = 0; i < kMr; i++) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += kMr;
    b += kNr;
  }
  const __m512 va = _mm512_set1_ps(alpha);
  for (int i = 0; i < kMr; i++) {
    float* ci = c + static_cast<size_t>(i) * ldc;
    for (int h = 0; h < 2; h++) {
      __m512 v = _mm512_mul_ps(acc[i][h], va);
      if (accumulate) v = _mm512_add_ps(v, _mm512_loadu_ps(ci + 16 * h));
      _mm512_storeu_ps(ci + 16 * h, v);
    }
  }
}

}  // namespace

// kc 768: each k-block re-reads and re-writes C. On Zen 4 (GPT-2's shapes, one thread) 512
// ran 6% faster than 256, and 768 (k cut in equal blocks, gemm.cc) 3% faster than 512 on
// the products whose k is 768, with the A block (240 × 768 floats, 720 KiB) still in L2.
const Kernel kAvx512Kernel{"avx512", kMr, kNr, 240, 768, 3072, micro, gemv_rows, gemv_dots};

}  // namespace gemm
}  // namespace ts
#endif
