// The one-row products (gemm.h's GemvFn) as plain loops that each micro-kernel file
// includes, so they are vectorised for that file's instruction set. Internal linkage: every
// file keeps its own copy, compiled with its own flags.
#pragma once
#include <algorithm>
#include <cstddef>

namespace ts {
namespace gemm {
namespace {

// y[j] = Σₚ x[p]·B[p·ldb + j], four rows of B at a time, over column chunks that keep y in L1.
void gemv_rows(int k, int n, const float* x, const float* B, int ldb, float* y) {
  constexpr int kChunk = 1024;
  for (int j0 = 0; j0 < n; j0 += kChunk) {
    const int nb = std::min(kChunk, n - j0);
    float* yc = y + j0;
    for (int j = 0; j < nb; j++) yc[j] = 0;
    int p = 0;
    for (; p + 4 <= k; p += 4) {
      const float *r0 = B + static_cast<size_t>(p) * ldb + j0, *r1 = r0 + ldb, *r2 = r1 + ldb, *r3 = r2 + ldb;
      const float x0 = x[p], x1 = x[p + 1], x2 = x[p + 2], x3 = x[p + 3];
      for (int j = 0; j < nb; j++) yc[j] += x0 * r0[j] + x1 * r1[j] + x2 * r2[j] + x3 * r3[j];
    }
    for (; p < k; p++) {
      const float* r = B + static_cast<size_t>(p) * ldb + j0;
      for (int j = 0; j < nb; j++) yc[j] += x[p] * r[j];
    }
  }
}

// y[j] = Σₚ x[p]·B[j·ldb + p]: sixteen independent partial sums per row (which the compiler
// turns into vector lanes), added up at the end.
void gemv_dots(int k, int n, const float* x, const float* B, int ldb, float* y) {
  constexpr int kLanes = 16;
  for (int j = 0; j < n; j++) {
    const float* row = B + static_cast<size_t>(j) * ldb;
    float acc[kLanes] = {};
    int p = 0;
    for (; p + kLanes <= k; p += kLanes)
      for (int l = 0; l < kLanes; l++) acc[l] += x[p + l] * row[p + l];
    float sum = 0;
    for (int l = 0; l < kLanes; l++) sum += acc[l];
    for (; p < k; p++) sum += x[p] * row[p];
    y[j] = sum;
  }
}

}  // namespace
}  // namespace gemm
}  // namespace ts
