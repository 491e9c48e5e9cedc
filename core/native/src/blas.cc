// sgemm from the platform's BLAS when there is one (OpenBLAS on Linux, Accelerate on macOS),
// else a blocked, cache-friendly loop that is slow but correct everywhere.
#include "kernels.h"
#include "thread_pool.h"

#if defined(TS_HAVE_ACCELERATE)
#include <Accelerate/Accelerate.h>
#define TS_CBLAS 1
#elif defined(TS_HAVE_CBLAS)
#include <cblas.h>
#define TS_CBLAS 1
#endif

#include <algorithm>
#include <vector>

namespace ts {

#if defined(TS_CBLAS)

const char* blas_name() {
#if defined(TS_HAVE_ACCELERATE)
  return "accelerate";
#else
  return "openblas";
#endif
}

void sgemm(bool transA, bool transB, int m, int n, int k, float alpha, const float* A, int lda, const float* B,
           int ldb, float beta, float* C, int ldc) {
  if (m == 0 || n == 0) return;
  if (m == 1 && !transA) {
    // One row (a decoding step): sgemm would pack the whole weight matrix for one use;
    // sgemv streams it once.
    if (transB) cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, alpha, B, ldb, A, 1, beta, C, 1);
    else cblas_sgemv(CblasRowMajor, CblasTrans, k, n, alpha, B, ldb, A, 1, beta, C, 1);
    return;
  }
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k, alpha,
              A, lda, B, ldb, beta, C, ldc);
}

#else

const char* blas_name() { return "portable"; }

namespace {
// Packs op(B) for one k-block into contiguous rows so the inner loop streams memory.
constexpr int kBlockK = 256;
}  // namespace

void sgemm(bool transA, bool transB, int m, int n, int k, float alpha, const float* A, int lda, const float* B,
           int ldb, float beta, float* C, int ldc) {
  if (m == 0 || n == 0) return;
  parallel_for(m, 4, [&](size_t r0, size_t r1) {
    for (size_t i = r0; i < r1; i++) {
      float* c = C + i * ldc;
      if (beta == 0) std::fill(c, c + n, 0.0f);
      else if (beta != 1) for (int j = 0; j < n; j++) c[j] *= beta;
    }
  });
  std::vector<float> packed(static_cast<size_t>(kBlockK) * n);
  for (int k0 = 0; k0 < k; k0 += kBlockK) {
    int kb = std::min(kBlockK, k - k0);
    for (int p = 0; p < kb; p++) {
      float* dst = packed.data() + static_cast<size_t>(p) * n;
      for (int j = 0; j < n; j++) dst[j] = transB ? B[static_cast<size_t>(j) * ldb + k0 + p] : B[static_cast<size_t>(k0 + p) * ldb + j];
    }
    parallel_for(m, 4, [&](size_t r0, size_t r1) {
      for (size_t i = r0; i < r1; i++) {
        float* c = C + i * ldc;
        for (int p = 0; p < kb; p++) {
          float a = alpha * (transA ? A[static_cast<size_t>(k0 + p) * lda + i] : A[i * lda + k0 + p]);
          const float* b = packed.data() + static_cast<size_t>(p) * n;
          for (int j = 0; j < n; j++) c[j] += a * b[j];
        }
      }
    });
  }
}

#endif

}  // namespace ts
