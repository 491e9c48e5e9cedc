// bf16 GEMM on AVX512-BF16 (vdpbf16ps), BLIS-style: op(B) is packed per KC×NC block into NR-column
// panels of bf16 pairs ("VNNI" layout: one 32-bit lane holds rows k and k+1 of one column), op(A)
// per MC×KC block into MR-row panels of the same pairs, and a 12×32 register-blocked microkernel
// accumulates in fp32. Packing reads fp32 and rounds to bf16 on the way, so nothing is converted
// twice and no bf16 copy of a whole operand is kept; a B already stored in bf16 (a LoRA run's
// frozen base) is only rearranged into pairs. This file alone is compiled with
// -mavx512bf16; gemm_bf16.cc calls it only on CPUs that have the instructions.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "gemm_bf16.h"
#include "thread_pool.h"

namespace ts {
namespace {

constexpr int MR = 12;    // rows per microkernel: 24 accumulators + 2 B registers of 32
constexpr int NR = 32;    // columns per microkernel: two zmm of fp32
constexpr int KC = 256;   // depth per packed block (even): a B panel is KC/2 × NR lanes = 16 KiB, L1-resident
constexpr int MC = 144;   // most rows per packed A block (multiple of MR): 72 KiB, L2-resident
constexpr int NC = 3072;  // columns per packed B block: 1.5 MiB, shared by the threads in L3

inline int ceil_div(int a, int b) { return (a + b - 1) / b; }
inline __mmask16 low_mask(int count) {
  return count >= 16 ? static_cast<__mmask16>(0xffff) : count <= 0 ? 0 : static_cast<__mmask16>((1u << count) - 1);
}
inline __mmask32 low_mask32(int count) {
  return count >= 32 ? static_cast<__mmask32>(0xffffffffu) : count <= 0 ? 0 : static_cast<__mmask32>((1u << count) - 1);
}

// Two fp32 rows of up to 16 columns → 16 lanes of (row0, row1) bf16 pairs.
inline __m512i pair_rows(const float* r0, const float* r1, __mmask16 m) {
  const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                                              21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  __m512 a = _mm512_maskz_loadu_ps(m, r0);
  __m512 b = r1 ? _mm512_maskz_loadu_ps(m, r1) : _mm512_setzero_ps();
  __m512i both = (__m512i)_mm512_cvtne2ps_pbh(b, a);  // [row0 0..15 | row1 0..15]
  return _mm512_permutexvar_epi16(interleave, both);
}

// 32 consecutive fp32 values (fewer at the end, zero-padded) → 16 bf16 pairs.
inline __m512i pair_run(const float* p, int count) {
  __m512 lo = _mm512_maskz_loadu_ps(low_mask(count), p);
  __m512 hi = _mm512_maskz_loadu_ps(low_mask(count - 16), p + 16);
  return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

// The same two from values already in bf16: the pairs only need interleaving, or nothing.
inline __m512i pair_rows(const uint16_t* r0, const uint16_t* r1, __mmask16 m) {
  __m512i a = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, r0));
  __m512i b = r1 ? _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, r1)) : _mm512_setzero_si512();
  return _mm512_or_si512(a, _mm512_slli_epi32(b, 16));
}
inline __m512i pair_run(const uint16_t* p, int count) { return _mm512_maskz_loadu_epi16(low_mask32(count), p); }

// 16×16 transpose of 32-bit lanes: r[i] holds row i on entry and column i on return.
inline void transpose16(__m512i r[16]) {
  __m512i t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  // r[4g+j], 128-bit lane L: column 4L+j of rows 4g..4g+3.
  for (int g = 0; g < 16; g += 4) {
    r[g] = _mm512_unpacklo_epi64(t[g], t[g + 2]);
    r[g + 1] = _mm512_unpackhi_epi64(t[g], t[g + 2]);
    r[g + 2] = _mm512_unpacklo_epi64(t[g + 1], t[g + 3]);
    r[g + 3] = _mm512_unpackhi_epi64(t[g + 1], t[g + 3]);
  }
  // t[j] (j < 8): columns j and j+8 of rows 0..7, a quarter per 128-bit lane; t[8+j]: of rows 8..15.
  for (int h = 0; h < 16; h += 8)
    for (int j = 0; j < 4; j++) {
      t[h + j] = _mm512_shuffle_i32x4(r[h + j], r[h + 4 + j], 0x88);
      t[h + 4 + j] = _mm512_shuffle_i32x4(r[h + j], r[h + 4 + j], 0xdd);
    }
  for (int j = 0; j < 8; j++) {
    r[j] = _mm512_shuffle_i32x4(t[j], t[j + 8], 0x88);
    r[j + 8] = _mm512_shuffle_i32x4(t[j], t[j + 8], 0xdd);
  }
}

// Pairs along a strided axis: `src(i)` is the start of the i-th contiguous run of k values; lane
// i of the packed panel, for each pair row kp, gets the pair (k0+2kp, k0+2kp+1) of that run.
// Sixteen runs at a time are rounded into registers and transposed (a scatter per run was the
// slowest part of packing).
template <typename T>
void pack_runs(uint32_t* dst, int lanes, int width, const T* base, size_t stride, int kc) {
  for (int i0 = 0; i0 < width; i0 += 16) {
    const __mmask16 store = low_mask(width - i0);
    for (int k0 = 0; k0 < kc; k0 += 32) {
      __m512i r[16];
      // Runs past the edge are zero, so padded rows and columns add nothing.
      for (int i = 0; i < 16; i++)
        r[i] = i0 + i < lanes ? pair_run(base + (i0 + i) * stride + k0, kc - k0) : _mm512_setzero_si512();
      transpose16(r);
      const int pairs = std::min(16, ceil_div(kc - k0, 2));
      for (int kp = 0; kp < pairs; kp++) _mm512_mask_storeu_epi32(dst + (k0 / 2 + kp) * width + i0, store, r[kp]);
    }
  }
}

// Pairs across rows that are contiguous along the lanes: row k of op(X) starts at base + k·stride.
template <typename T>
void pack_rows(uint32_t* dst, int lanes, int width, const T* base, size_t stride, int kc) {
  for (int kp = 0; kp < ceil_div(kc, 2); kp++) {
    const T* r0 = base + (2 * kp) * stride;
    const T* r1 = 2 * kp + 1 < kc ? r0 + stride : nullptr;
    for (int j = 0; j < width; j += 16) {
      __mmask16 m = low_mask(lanes - j);
      // Lanes past the edge are zero, so padded rows and columns add nothing.
      _mm512_mask_storeu_epi32(dst + kp * width + j, low_mask(width - j), _mm512_maskz_mov_epi32(m, pair_rows(r0 + j, r1 ? r1 + j : nullptr, m)));
    }
  }
}

// MR×NR block of C from kp pair rows of a packed A panel and B panel.
void microkernel(int kp, const uint32_t* a, const uint32_t* b, float* c, int ldc, int rows, int cols, float alpha,
                 float beta, bool first) {
  __m512 acc[MR][2];
  for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  // The C tile is read and written once the products are summed; C (up to 12 MiB for c_fc) is
  // far from L1 by then, so its lines are fetched now, while the products run.
  for (int i = 0; i < rows; i++) {
    _mm_prefetch(reinterpret_cast<const char*>(c + static_cast<size_t>(i) * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + static_cast<size_t>(i) * ldc + 16), _MM_HINT_T0);
  }
  for (int p = 0; p < kp; p++) {
    __m512bh b0 = (__m512bh)_mm512_load_si512(b + p * NR);
    __m512bh b1 = (__m512bh)_mm512_load_si512(b + p * NR + 16);
    const uint32_t* ap = a + p * MR;
    for (int i = 0; i < MR; i++) {
      __m512bh ai = (__m512bh)_mm512_set1_epi32(static_cast<int>(ap[i]));
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
      acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
    }
  }
  const __mmask16 m[2] = {low_mask(cols), low_mask(cols - 16)};
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int i = 0; i < rows; i++) {
    for (int h = 0; h < 2; h++) {
      float* dst = c + static_cast<size_t>(i) * ldc + 16 * h;
      __m512 v = _mm512_mul_ps(va, acc[i][h]);
      if (!first) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m[h], dst));
      else if (beta != 0) v = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m[h], dst), v);
      _mm512_mask_storeu_ps(dst, m[h], v);
    }
  }
}

// 64-byte aligned storage reused across calls (one per thread for A, one per calling thread for B).
struct Panel {
  std::vector<uint32_t> data;
  uint32_t* get(size_t lanes) {
    if (data.size() < lanes + 16) data.resize(lanes + 16);
    auto addr = reinterpret_cast<uintptr_t>(data.data());
    return reinterpret_cast<uint32_t*>((addr + 63) & ~uintptr_t(63));
  }
};

// B is fp32 (rounded while packed) or bf16 bits (rearranged only).
template <typename TB>
void gemm(bool transA, bool transB, int m, int n, int k, float alpha, const float* A, int lda, const TB* B, int ldb,
          float beta, float* C, int ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) C[static_cast<size_t>(i) * ldc + j] *= beta;
    return;
  }
  // One per calling thread, not one per process: attention calls this from every pool worker
  // at once (each on its own heads), and a nested parallel_for runs on its caller.
  static thread_local Panel shared_b;
  const int threads = pool_threads();
  for (int jc = 0; jc < n; jc += NC) {
    const int nc = std::min(NC, n - jc);
    const int npanels = ceil_div(nc, NR);
    for (int pc = 0; pc < k; pc += KC) {
      const int kc = std::min(KC, k - pc), kp = ceil_div(kc, 2);
      uint32_t* bp = shared_b.get(static_cast<size_t>(npanels) * kp * NR);
      parallel_for(npanels, 1, [&](size_t p0, size_t p1) {
        for (size_t p = p0; p < p1; p++) {
          const int j0 = jc + static_cast<int>(p) * NR, cols = std::min(NR, n - j0);
          uint32_t* dst = bp + p * kp * NR;
          // op(B)[k][j]: B[j][k] when transposed (pairs contiguous), else B[k][j] (columns contiguous).
          if (transB) pack_runs(dst, cols, NR, B + static_cast<size_t>(j0) * ldb + pc, ldb, kc);
          else pack_rows(dst, cols, NR, B + static_cast<size_t>(pc) * ldb + j0, ldb, kc);
        }
      });
      // Work items: each A block, split over column panels too when there are fewer blocks
      // than threads (LoRA's thin products), so every thread has work.
      // A blocks are whole MR-row panels, as many blocks as a multiple of the threads and the
      // panels spread evenly over them: parallel_for hands each thread a contiguous run of work
      // items, and 144-row blocks gave one thread 576 of m = 1024 rows and the other 448.
      const int mpanels = ceil_div(m, MR);
      int mblocks = ceil_div(mpanels, MC / MR);
      if (mblocks >= threads) mblocks = std::min(mpanels, ceil_div(mblocks, threads) * threads);
      const int splits = mblocks >= threads ? 1 : std::min(npanels, ceil_div(threads, mblocks));
      parallel_for(static_cast<size_t>(mblocks) * splits, 1, [&](size_t w0, size_t w1) {
        static thread_local Panel own_a;
        for (size_t w = w0; w < w1; w++) {
          const int ib = static_cast<int>(w) / splits, part = static_cast<int>(w) % splits;
          const int q0 = ib * mpanels / mblocks, q1 = (ib + 1) * mpanels / mblocks;
          const int i0 = q0 * MR, apanels = q1 - q0;
          uint32_t* ap = own_a.get(static_cast<size_t>(apanels) * kp * MR);
          for (int q = 0; q < apanels; q++) {
            const int r0 = i0 + q * MR, rows = std::min(MR, m - r0);
            uint32_t* dst = ap + static_cast<size_t>(q) * kp * MR;
            // op(A)[i][k]: A[i][k] (pairs contiguous) or A[k][i] when transposed (rows contiguous).
            if (transA) pack_rows(dst, rows, MR, A + static_cast<size_t>(pc) * lda + r0, lda, kc);
            else pack_runs(dst, rows, MR, A + static_cast<size_t>(r0) * lda + pc, lda, kc);
          }
          const int pb = part * npanels / splits, pe = (part + 1) * npanels / splits;
          for (int p = pb; p < pe; p++) {
            const int j0 = jc + p * NR, cols = std::min(NR, n - j0);
            for (int q = 0; q < apanels; q++) {
              const int r0 = i0 + q * MR, rows = std::min(MR, m - r0);
              microkernel(kp, ap + static_cast<size_t>(q) * kp * MR, bp + static_cast<size_t>(p) * kp * NR,
                          C + static_cast<size_t>(r0) * ldc + j0, ldc, rows, cols, alpha, beta, pc == 0);
            }
          }
        }
      });
    }
  }
}

}  // namespace

void gemm_bf16_avx512(bool transA, bool transB, int m, int n, int k, float alpha, const float* A, int lda,
                      const float* B, int ldb, float beta, float* C, int ldc) {
  gemm(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm_bf16_avx512_b16(bool transA, bool transB, int m, int n, int k, float alpha, const float* A, int lda,
                          const uint16_t* B, int ldb, float beta, float* C, int ldc) {
  gemm(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace ts
