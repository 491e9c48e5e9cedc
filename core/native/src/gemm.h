// Tunesmith's own fp32 GEMM (BLIS/GotoBLAS design): the driver (gemm.cc) cuts C into
// cache blocks, packs op(A) and op(B) into contiguous panels (which absorbs the NN/NT/TN
// forms), splits the work over the thread pool and calls a register-blocked micro-kernel.
// Each micro-kernel lives in its own file compiled with its own target flags (gemm_avx512.cc,
// gemm_avx2.cc, gemm_neon.cc, gemm_portable.cc), and the driver picks one when the addon
// loads from the CPU's features, so one binary runs at full speed on any CPU of its
// architecture. TUNESMITH_GEMM_ISA=avx512|avx2|neon|portable forces one (tests, benchmarks).
#pragma once

#include <cstddef>

namespace ts {
namespace gemm {

// Packed operands, for one micro-tile and one k-block of `kc` steps:
//   a: kc × mr, a[p·mr + i] = op(A)[i, p]   (rows past the edge of A are zero)
//   b: kc × nr, b[p·nr + j] = op(B)[p, j]   (columns past the edge of B are zero)
// The kernel computes acc = Σₚ a[p·mr + i]·b[p·nr + j] over the full mr × nr tile and stores
//   c[i·ldc + j] = alpha·acc + (accumulate ? c[i·ldc + j] : 0)
// for every i < mr, j < nr (the driver hands edge tiles a scratch tile). With accumulate
// false, c is never read, so uninitialised output memory (NaN bits) cannot leak in.
using MicroKernelFn = void (*)(int kc, const float* a, const float* b, float* c, int ldc, float alpha,
                               bool accumulate);

// One-row products for decoding (m == 1), where packing a whole weight matrix for one use
// would cost more than the product. Both overwrite y[0, n).
//   rows: y[j] = Σₚ x[p]·B[p·ldb + j]   (B is k × n: x·B)
//   dots: y[j] = Σₚ x[p]·B[j·ldb + p]   (B is n × k: x·Bᵀ)
using GemvFn = void (*)(int k, int n, const float* x, const float* B, int ldb, float* y);

struct Kernel {
  const char* name;       // "avx512", "avx2", "neon", "portable"
  int mr, nr;             // register tile of C
  int mc, kc, nc;         // cache blocks: A block mc × kc stays in L2, B block kc × nc in L3;
                          // kc is the most the driver uses (k_block cuts it to fit a smaller L2)
  MicroKernelFn micro;
  GemvFn gemvRows, gemvDots;
};

// The micro-kernel files' tables (only those of the architecture being built exist).
extern const Kernel kAvx512Kernel, kAvx2Kernel, kNeonKernel, kPortableKernel;

// The kernels this CPU can run; nullptr where it (or this build's architecture) cannot.
const Kernel* avx512_kernel();
const Kernel* avx2_kernel();
const Kernel* neon_kernel();
const Kernel* portable_kernel();  // always available

// The kernel in use: TUNESMITH_GEMM_ISA if set and runnable, else the fastest runnable one.
const Kernel& active();
// A kernel by name, or nullptr when this CPU or build cannot run it.
const Kernel* by_name(const char* name);

// Bytes of one core's L2 cache: TUNESMITH_GEMM_L2_KIB if set (tests, and benchmarks of a
// smaller cache), else CPUID's (x86-64), else 0 where unknown.
size_t l2_bytes();
// The largest k-block the driver uses with K: its table's kc, cut so that an mc × kc block of
// A fits in ¾ of the L2 (the tables are tuned on Zen 4's 1 MiB, where they already fit).
int k_block(const Kernel& K);

// C[m,n] = alpha · op(A)[m,k] · op(B)[k,n] + beta · C, row-major with leading dimensions, on
// the given kernel and at most `threads` threads of the pool (0: the pool's size). beta == 0
// never reads C.
void sgemm(const Kernel& kernel, int threads, bool transA, bool transB, int m, int n, int k, float alpha,
           const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc);

}  // namespace gemm
}  // namespace ts
