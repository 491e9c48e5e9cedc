// Portable C++ micro-kernel for any CPU: a 4 × 16 tile of C in plain float accumulators,
// written so the compiler can keep them in whatever vector registers the baseline
// instruction set has (SSE2 on x86-64).
#include "gemm.h"
#include "gemm_gemv.h"

namespace ts {
namespace gemm {
namespace {

constexpr int kMr = 4, kNr = 16;

void micro(int kc, const float* a, const float* b, float* c, int ldc, float alpha, bool accumulate) {
  float acc[kMr][kNr] = {};
  for (int p = 0; p < kc; p++) {
    // Columns outside, rows inside: GCC then keeps each row's accumulators in vector
    // registers; the other order made it shuffle between lanes at a third of the speed.
    float ai[kMr];
    for (int i = 0; i < kMr; i++) ai[i] = a[i];
    for (int j = 0; j < kNr; j++) {
      const float bj = b[j];
      for (int i = 0; i < kMr; i++) acc[i][j] += ai[i] * bj;
    }
    a += kMr;
    b += kNr;
  }
  for (int i = 0; i < kMr; i++) {
    float* ci = c + static_cast<size_t>(i) * ldc;
    for (int j = 0; j < kNr; j++) ci[j] = alpha * acc[i][j] + (accumulate ? ci[j] : 0.0f);
  }
}

}  // namespace

const Kernel kPortableKernel{"portable", kMr, kNr, 128, 256, 1024, micro, gemv_rows, gemv_dots};

}  // namespace gemm
}  // namespace ts
