// A standalone check of the GEMM on the micro-kernel this CPU picks (and the portable one),
// against a double-precision reference: odd shapes cutting every tile and block, all four
// forms, alpha/beta, one row (the decoding path), 1 and 2 threads, and beta 0 over NaN.
// test/gemm-arm64.test.ts cross-compiles it for ARM64 and runs it under qemu, which is how
// the NEON kernel is checked on an x86 machine. Prints the kernels checked; exits 1 on a
// mismatch.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "../src/gemm.h"

namespace {

std::vector<float> random(size_t n, uint32_t seed) {
  std::vector<float> out(n);
  for (auto& v : out) {
    seed = seed * 1664525u + 1013904223u;
    v = static_cast<float>(seed / 4294967296.0 - 0.5) * 2;
  }
  return out;
}

bool check(const ts::gemm::Kernel& kernel, int m, int n, int k, bool ta, bool tb, float alpha, float beta,
           int threads) {
  const auto a = random(static_cast<size_t>(m) * k, m * 31 + k);
  const auto b = random(static_cast<size_t>(k) * n, n * 17 + k);
  const auto c0 = random(static_cast<size_t>(m) * n, m + n);
  std::vector<float> c = beta == 0 ? std::vector<float>(c0.size(), NAN) : c0;
  ts::gemm::sgemm(kernel, threads, ta, tb, m, n, k, alpha, a.data(), ta ? m : k, b.data(), tb ? k : n, beta,
                  c.data(), n);
  for (int i = 0; i < m; i++) {
    for (int j = 0; j < n; j++) {
      double sum = 0, mag = 0;
      for (int p = 0; p < k; p++) {
        const double x = ta ? a[static_cast<size_t>(p) * m + i] : a[static_cast<size_t>(i) * k + p];
        const double y = tb ? b[static_cast<size_t>(j) * k + p] : b[static_cast<size_t>(p) * n + j];
        sum += x * y;
        mag += std::fabs(x * y);
      }
      const double prior = beta == 0 ? 0 : beta * c0[static_cast<size_t>(i) * n + j];
      const double want = alpha * sum + prior;
      const double got = c[static_cast<size_t>(i) * n + j];
      if (!(std::fabs(got - want) <= 1e-6 * (std::fabs(alpha) * mag * 8 + std::fabs(prior)) + 1e-30)) {
        std::printf("FAIL %s %dx%dx%d %c%c alpha %g beta %g threads %d: C[%d,%d] = %g, want %g\n", kernel.name, m, n,
                    k, ta ? 'T' : 'N', tb ? 'T' : 'N', alpha, beta, threads, i, j, got, want);
        return false;
      }
    }
  }
  return true;
}

}  // namespace

int main() {
  const int shapes[][3] = {{1, 37, 19}, {1, 300, 700}, {13, 33, 300}, {50, 70, 5},
                           {31, 1, 17}, {7, 3100, 9},  {250, 45, 260}, {129, 97, 513}};
  const float scalars[][2] = {{1, 0}, {0.7f, 0.5f}, {-1.5f, 1}};
  const ts::gemm::Kernel* kernels[] = {&ts::gemm::active(), ts::gemm::portable_kernel()};
  int checked = 0;
  for (const ts::gemm::Kernel* kernel : kernels) {
    for (const auto& s : shapes)
      for (int form = 0; form < 4; form++)
        for (const auto& ab : scalars)
          for (int threads : {1, 2}) {
            if (!check(*kernel, s[0], s[1], s[2], form & 1, form & 2, ab[0], ab[1], threads)) return 1;
            checked++;
          }
  }
  std::printf("ok %s and %s: %d products\n", kernels[0]->name, kernels[1]->name, checked);
  return 0;
}
