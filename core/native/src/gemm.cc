// The GEMM driver: blocking, packing, threading and the choice of micro-kernel (gemm.h).
#include "gemm.h"

#include "thread_pool.h"
#include "x86_cpuid.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define TS_GEMM_SSE_TRANSPOSE 1
#endif

namespace ts {
namespace gemm {
namespace {

// A product below this many multiply-adds per thread runs on fewer threads. The pool's
// workers poll for a while after each job (thread_pool.cc), so handing one a share costs a
// few microseconds rather than a sleeping thread's wake-up: a 128×128×64 attention product
// (1M multiply-adds, ~23 µs on one Zen 4 core) is meant to gain from two (issue 13);
// smaller shares would spend more of their time on the hand-off and on packing B twice.
constexpr double kMinMacsPerThread = 5e5;
// A one-row product streams its weights from memory, a byte per quarter multiply-add, so a
// far smaller share (a megabyte of weights) already pays for the wake-up.
constexpr double kMinGemvMacsPerThread = 2.5e5;

// 64-byte aligned scratch that grows and is kept per thread, so packing never allocates in
// the steady state.
class Scratch {
 public:
  float* get(size_t n) {
    if (n > size_) {
      raw_.reset(new float[n + 16]);
      size_ = n;
    }
    auto p = reinterpret_cast<uintptr_t>(raw_.get());
    return reinterpret_cast<float*>((p + 63) & ~uintptr_t{63});
  }

 private:
  std::unique_ptr<float[]> raw_;
  size_t size_ = 0;
};

struct Operand {
  const float* data;
  int ld;
  bool trans;
  // Element (row, col) of op(X).
  const float* at(int row, int col) const {
    return trans ? data + static_cast<size_t>(col) * ld + row : data + static_cast<size_t>(row) * ld + col;
  }
};

// dst[i] = src[i] for i < n: one packed step of a panel whose run is contiguous in memory
// (A transposed, B untransposed). Called once per k step with n = mr or nr (6 to 32 floats),
// where a libc memcpy call cost more than the copy (5% of a TN product on Zen 4). x86-64
// copies 4-float blocks, the last one overlapping the one before it when n is not a multiple
// of 4.
inline void copy_run(float* dst, const float* src, int n) {
#ifdef TS_GEMM_SSE_TRANSPOSE
  if (n >= 4) {
    for (int i = 0; i + 4 < n; i += 4) _mm_storeu_ps(dst + i, _mm_loadu_ps(src + i));
    _mm_storeu_ps(dst + n - 4, _mm_loadu_ps(src + n - 4));
    return;
  }
#endif
  for (int i = 0; i < n; i++) dst[i] = src[i];
}

#ifdef TS_GEMM_SSE_TRANSPOSE
// dst[p·stride + j] = s_j[p] for the four rows s_0..s_3 and p < kb (a 4-row strip of
// transpose_panel), 4 × 4 blocks in SSE registers.
void transpose_rows4(const float* s0, int ld, int kb, int stride, float* dst) {
  const float *s1 = s0 + ld, *s2 = s1 + ld, *s3 = s2 + ld;
  int p = 0;
  for (; p + 4 <= kb; p += 4) {
    __m128 r0 = _mm_loadu_ps(s0 + p), r1 = _mm_loadu_ps(s1 + p), r2 = _mm_loadu_ps(s2 + p), r3 = _mm_loadu_ps(s3 + p);
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
    float* d = dst + static_cast<size_t>(p) * stride;
    _mm_storeu_ps(d, r0);
    _mm_storeu_ps(d + stride, r1);
    _mm_storeu_ps(d + 2 * stride, r2);
    _mm_storeu_ps(d + 3 * stride, r3);
  }
  for (; p < kb; p++) {
    float* d = dst + static_cast<size_t>(p) * stride;
    d[0] = s0[p], d[1] = s1[p], d[2] = s2[p], d[3] = s3[p];
  }
}
#endif

// dst[p·stride + i] = src[i·ld + p] for i < rows, p < kb: the packing of operands whose
// panel runs across their stored rows (A untransposed, B transposed). Scalar, it wrote one
// float per step at a stride and took a sixth of the GEMM's time on LoRA training's thin
// products; x86-64 transposes 4-row strips in SSE registers (every x86-64 CPU has SSE2).
// Where rows is not a multiple of 4 (AVX2's 6-row panels) the last strip overlaps the one
// before it and rewrites two rows with the same values, rather than copying the tail one
// float at a time.
void transpose_panel(const float* src, int ld, int rows, int kb, int stride, float* dst) {
#ifdef TS_GEMM_SSE_TRANSPOSE
  if (rows >= 4) {
    for (int i = 0; i + 4 < rows; i += 4) transpose_rows4(src + static_cast<size_t>(i) * ld, ld, kb, stride, dst + i);
    transpose_rows4(src + static_cast<size_t>(rows - 4) * ld, ld, kb, stride, dst + rows - 4);
    return;
  }
#endif
  for (int i = 0; i < rows; i++) {
    const float* s = src + static_cast<size_t>(i) * ld;
    for (int p = 0; p < kb; p++) dst[static_cast<size_t>(p) * stride + i] = s[p];
  }
}

// Packs `lines` lines of `kb` steps into panels of w lines: line l, step p goes to
// out[(l / w)·w·kb + p·w + l % w], and lines past the edge of the last panel are zero. Element
// (l, p) is x[p·ld + l] when the lines are contiguous (A transposed, B untransposed), else
// x[l·ld + p]. Contiguous lines are packed kStepChunk steps at a time across all panels, so
// the stored rows are read front to back and each panel gets a contiguous chunk: panel by
// panel, every step read a new cache line for w floats of it (6% of a TN product on Zen 4
// in cache misses), and step by step every panel was a separate write stream.
void pack_panels(const float* x, int ld, bool linesContiguous, int lines, int kb, int w, float* out) {
  constexpr int kStepChunk = 16;
  if (linesContiguous) {
    for (int pc = 0; pc < kb; pc += kStepChunk) {
      const int pe = std::min(kb, pc + kStepChunk);
      for (int l0 = 0; l0 < lines; l0 += w) {
        const int n = std::min(w, lines - l0);
        for (int p = pc; p < pe; p++) {
          float* dst = out + static_cast<size_t>(l0) * kb + static_cast<size_t>(p) * w;
          copy_run(dst, x + static_cast<size_t>(p) * ld + l0, n);
          for (int j = n; j < w; j++) dst[j] = 0;
        }
      }
    }
    return;
  }
  for (int l0 = 0; l0 < lines; l0 += w) {
    const int n = std::min(w, lines - l0);
    float* panel = out + static_cast<size_t>(l0) * kb;
    transpose_panel(x + static_cast<size_t>(l0) * ld, ld, n, kb, w, panel);
    for (int j = n; j < w; j++)
      for (int p = 0; p < kb; p++) panel[static_cast<size_t>(p) * w + j] = 0;
  }
}

// op(A)[i0 : i0+mb, p0 : p0+kb] into panels of mr rows: panel r holds a[p·mr + i].
void pack_a(const Operand& A, int i0, int mb, int p0, int kb, int mr, float* out) {
  pack_panels(A.at(i0, p0), A.ld, A.trans, mb, kb, mr, out);
}

// op(B)[p0 : p0+kb, j0 : j0+nb] into panels of nr columns: panel c holds b[p·nr + j].
void pack_b(const Operand& B, int p0, int kb, int j0, int nb, int nr, float* out) {
  pack_panels(B.at(p0, j0), B.ld, !B.trans, nb, kb, nr, out);
}

// C *= beta over an m × n block (beta == 0 writes zeros without reading C).
void scale_c(float* C, int ldc, int m, int n, float beta) {
  for (int i = 0; i < m; i++) {
    float* c = C + static_cast<size_t>(i) * ldc;
    if (beta == 0) std::fill(c, c + n, 0.0f);
    else if (beta != 1) for (int j = 0; j < n; j++) c[j] *= beta;
  }
}

// One thread's share: C[i0 : i1, j0 : j1], all of k, with its own packed blocks.
void gemm_block(const Kernel& K, const Operand& A, const Operand& B, int i0, int i1, int j0, int j1, int k,
                float alpha, float beta, float* C, int ldc) {
  thread_local Scratch aBuf, bBuf;
  const int mr = K.mr, nr = K.nr;
  const int mcMax = std::min(K.mc, (i1 - i0 + mr - 1) / mr * mr);
  const int ncMax = std::min(K.nc, (j1 - j0 + nr - 1) / nr * nr);
  // k in equal blocks of at most k_block(K): each block re-reads and re-writes C, so a thin
  // last block (768 = 512 + 256) costs nearly as much C traffic as a full one for half the work.
  const int kcMax = k_block(K);
  const int kBlocks = (k + kcMax - 1) / kcMax, kc = (k + kBlocks - 1) / kBlocks;
  float* pa = aBuf.get(static_cast<size_t>(mcMax) * kc);
  float* pb = bBuf.get(static_cast<size_t>(ncMax) * kc);
  alignas(64) float edge[32 * 32];
  for (int jc = j0; jc < j1; jc += K.nc) {
    const int nb = std::min(K.nc, j1 - jc);
    for (int pc = 0; pc < k; pc += kc) {
      const int kb = std::min(kc, k - pc);
      // The first k-block applies beta; later ones add to what it wrote.
      const bool first = pc == 0;
      if (first && beta != 0 && beta != 1) scale_c(C + static_cast<size_t>(i0) * ldc + jc, ldc, i1 - i0, nb, beta);
      const bool accumulate = !first || beta != 0;
      pack_b(B, pc, kb, jc, nb, nr, pb);
      for (int ic = i0; ic < i1; ic += K.mc) {
        const int mb = std::min(K.mc, i1 - ic);
        pack_a(A, ic, mb, pc, kb, mr, pa);
        for (int jr = 0; jr < nb; jr += nr) {
          const int cols = std::min(nr, nb - jr);
          const float* b = pb + static_cast<size_t>(jr) * kb;
          for (int ir = 0; ir < mb; ir += mr) {
            const int rows = std::min(mr, mb - ir);
            const float* a = pa + static_cast<size_t>(ir) * kb;
            float* c = C + static_cast<size_t>(ic + ir) * ldc + jc + jr;
            if (rows == mr && cols == nr) {
              K.micro(kb, a, b, c, ldc, alpha, accumulate);
              continue;
            }
            // Edge tile: compute the full tile into scratch, then add the part that exists.
            K.micro(kb, a, b, edge, nr, alpha, false);
            for (int i = 0; i < rows; i++) {
              float* ci = c + static_cast<size_t>(i) * ldc;
              const float* e = edge + i * nr;
              if (accumulate) for (int j = 0; j < cols; j++) ci[j] += e[j];
              else for (int j = 0; j < cols; j++) ci[j] = e[j];
            }
          }
        }
      }
    }
  }
}

// Decoding's one-row product: y = alpha·op(A)[0, :]·op(B) + beta·y, split over columns.
void gemv(const Kernel& K, int threads, const Operand& A, const Operand& B, int n, int k, float alpha, float beta,
          float* y) {
  std::vector<float> x(k);
  for (int p = 0; p < k; p++) x[p] = *A.at(0, p);
  std::vector<float> prod(n);
  // At most `threads` column runs, none below the size that pays for waking a thread.
  const size_t grain = std::max<size_t>({64, static_cast<size_t>(kMinGemvMacsPerThread / std::max(1, k)),
                                         (static_cast<size_t>(n) + threads - 1) / threads});
  auto run = [&](size_t j0, size_t j1) {
    const int nb = static_cast<int>(j1 - j0);
    if (B.trans) K.gemvDots(k, nb, x.data(), B.at(0, static_cast<int>(j0)), B.ld, prod.data() + j0);
    else K.gemvRows(k, nb, x.data(), B.at(0, static_cast<int>(j0)), B.ld, prod.data() + j0);
    for (size_t j = j0; j < j1; j++) y[j] = alpha * prod[j] + (beta == 0 ? 0.0f : beta * y[j]);
  };
  if (threads == 1) run(0, n);
  else parallel_for(n, grain, run);
}

// Splits threads into a tm × tn grid over C. The largest share, counted in whole register
// tiles (an edge tile costs a full one), sets the time; among grids within 2% of the best,
// the one whose shares are closest to square wins, since each thread packs its own rows of A
// and columns of B. Squareness alone split attention's 128 × 128 product by rows, 5 and 6
// tiles of 12, where splitting by columns gives each thread 2 of the 4 tiles of 32.
void split_grid(int threads, int m, int n, int mr, int nr, int* tm, int* tn) {
  const int tilesM = (m + mr - 1) / mr, tilesN = (n + nr - 1) / nr;
  // A grid of threads / cn rows by cn columns of shares, and its largest share's padded area.
  auto feasible = [&](int cn) { return threads % cn == 0 && tilesM >= threads / cn && tilesN >= cn; };
  auto shareRows = [&](int cn) { return static_cast<double>((tilesM + threads / cn - 1) / (threads / cn)) * mr; };
  auto shareCols = [&](int cn) { return static_cast<double>((tilesN + cn - 1) / cn) * nr; };
  auto area = [&](int cn) { return shareRows(cn) * shareCols(cn); };
  double least = -1;
  for (int cn = 1; cn <= threads; cn++)
    if (feasible(cn) && (least < 0 || area(cn) < least)) least = area(cn);
  *tm = 1, *tn = 1;
  double best = -1;
  for (int cn = 1; cn <= threads; cn++) {
    if (!feasible(cn) || area(cn) > least * 1.02) continue;
    const double h = shareRows(cn), w = shareCols(cn);
    const double squareness = std::min(h, w) / std::max(h, w);
    if (squareness > best) best = squareness, *tm = threads / cn, *tn = cn;
  }
}

// Cuts [0, total) in `parts` runs of whole tiles; run `index` is [*begin, *end).
void share(int total, int tile, int parts, int index, int* begin, int* end) {
  const int tiles = (total + tile - 1) / tile;
  *begin = std::min(total, tiles * index / parts * tile);
  *end = std::min(total, tiles * (index + 1) / parts * tile);
}

#if defined(__x86_64__) || defined(_M_X64)
// Which wide instruction sets the CPU has and the OS saves across context switches.
struct X86Features {
  bool avx2fma = false, avx512f = false;
};

// Read from CPUID and XCR0 with the same code on every compiler, so what MSVC builds is what
// every test run checks (GCC's __builtin_cpu_supports reads the same bits). Read once: under
// a hypervisor each CPUID is a VM exit, and the kernels are looked up on every sgemm call.
X86Features read_x86_features() {
  X86Features f;
  unsigned r[4];
  cpuid(0, 0, r);
  const unsigned maxLeaf = r[0];
  cpuid(1, 0, r);
  const bool fma = r[2] & (1u << 12), osxsave = r[2] & (1u << 27), avx = r[2] & (1u << 28);
  if (!osxsave || !avx || maxLeaf < 7) return f;
  const unsigned long long state = xcr0();
  cpuid(7, 0, r);
  const bool ymm = (state & 0x6) == 0x6, zmm = (state & 0xe6) == 0xe6;
  f.avx2fma = ymm && fma && (r[1] & (1u << 5));
  f.avx512f = zmm && (r[1] & (1u << 16));
  return f;
}

const X86Features& x86_features() {
  static const X86Features features = read_x86_features();
  return features;
}
#endif

size_t cpu_l2_bytes() {
#if defined(__x86_64__) || defined(_M_X64)
  // Leaf 0x80000006's ECX[31:16] is the L2's size in KiB on both Intel and AMD.
  unsigned r[4];
  cpuid(0x80000000u, 0, r);
  if (r[0] < 0x80000006u) return 0;
  cpuid(0x80000006u, 0, r);
  return static_cast<size_t>(r[2] >> 16) * 1024;
#else
  return 0;
#endif
}

const Kernel* pick(const char* name) {
  if (name && *name) return by_name(name);
  for (const Kernel* k : {avx512_kernel(), avx2_kernel(), neon_kernel()})
    if (k) return k;
  return portable_kernel();
}

}  // namespace

#if defined(__x86_64__) || defined(_M_X64)
const Kernel* avx512_kernel() { return x86_features().avx512f ? &kAvx512Kernel : nullptr; }
const Kernel* avx2_kernel() { return x86_features().avx2fma ? &kAvx2Kernel : nullptr; }
#else
const Kernel* avx512_kernel() { return nullptr; }
const Kernel* avx2_kernel() { return nullptr; }
#endif
#if defined(__aarch64__) || defined(_M_ARM64)
const Kernel* neon_kernel() { return &kNeonKernel; }
#else
const Kernel* neon_kernel() { return nullptr; }
#endif
const Kernel* portable_kernel() { return &kPortableKernel; }

size_t l2_bytes() {
  static const size_t bytes = [] {
    const char* kib = std::getenv("TUNESMITH_GEMM_L2_KIB");
    if (kib && std::atol(kib) > 0) return static_cast<size_t>(std::atol(kib)) * 1024;
    return cpu_l2_bytes();
  }();
  return bytes;
}

int k_block(const Kernel& K) {
  // Below 64 steps the micro-kernel's loads and stores of C outweigh its arithmetic.
  constexpr size_t kMinKc = 64;
  const size_t l2 = l2_bytes();
  if (!l2) return K.kc;
  const size_t fit = l2 * 3 / 4 / (sizeof(float) * K.mc);
  return static_cast<int>(std::max(kMinKc, std::min(static_cast<size_t>(K.kc), fit)));
}

const Kernel* by_name(const char* name) {
  for (const Kernel* k : {avx512_kernel(), avx2_kernel(), neon_kernel(), portable_kernel()})
    if (k && std::strcmp(k->name, name) == 0) return k;
  return nullptr;
}

const Kernel& active() {
  // An unknown or unrunnable TUNESMITH_GEMM_ISA falls back to the best kernel; the addon's
  // info() says which one runs, so a forced path that did not take is visible.
  static const Kernel* chosen = [] {
    const Kernel* k = pick(std::getenv("TUNESMITH_GEMM_ISA"));
    return k ? k : pick(nullptr);
  }();
  return *chosen;
}

void sgemm(const Kernel& K, int threads, bool transA, bool transB, int m, int n, int k, float alpha,
           const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  if (m <= 0 || n <= 0) return;
  if (threads <= 0) threads = pool_threads();
  // Inside another kernel's pool job (attention's per-head products) the pool is busy with
  // the caller: run on this thread instead of cutting the work for a split that never comes.
  if (in_pool_job()) threads = 1;
  const Operand a{A, lda, transA}, b{B, ldb, transB};
  if (k <= 0 || alpha == 0) return scale_c(C, ldc, m, n, beta);
  const double macs = static_cast<double>(m) * n * k;
  if (m == 1) return gemv(K, threads, a, b, n, k, alpha, beta, C);
  threads = std::max(1, std::min(threads, static_cast<int>(macs / kMinMacsPerThread)));
  if (threads == 1) return gemm_block(K, a, b, 0, m, 0, n, k, alpha, beta, C, ldc);
  int tm, tn;
  split_grid(threads, m, n, K.mr, K.nr, &tm, &tn);
  parallel_for(static_cast<size_t>(tm) * tn, 1, [&](size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; t++) {
      int i0, i1, j0, j1;
      share(m, K.mr, tm, static_cast<int>(t) / tn, &i0, &i1);
      share(n, K.nr, tn, static_cast<int>(t) % tn, &j0, &j1);
      if (i0 < i1 && j0 < j1) gemm_block(K, a, b, i0, i1, j0, j1, k, alpha, beta, C, ldc);
    }
  });
}

}  // namespace gemm
}  // namespace ts
