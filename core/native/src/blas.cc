// sgemm for every kernel: Accelerate on macOS (it drives Apple's matrix units), Tunesmith's
// own GEMM (gemm.h) everywhere else.
#include "kernels.h"

#if defined(TS_HAVE_ACCELERATE)
#include <Accelerate/Accelerate.h>
#else
#include "gemm.h"
#endif

namespace ts {

#if defined(TS_HAVE_ACCELERATE)

const char* blas_name() { return "accelerate"; }

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

const char* blas_name() { return gemm::active().name; }

void sgemm(bool transA, bool transB, int m, int n, int k, float alpha, const float* A, int lda, const float* B,
           int ldb, float beta, float* C, int ldc) {
  gemm::sgemm(gemm::active(), 0, transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

#endif

}  // namespace ts
