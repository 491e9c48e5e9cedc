// Causal self-attention read straight out of the fused q|k|v projection: each head's q, k
// and v are strided views of qkv, so nothing is split, transposed or merged.
//
// Training runs flash-style: per (batch, head) and block of query rows, the scores, mask,
// softmax, dropout and ·v are done in a per-thread scratch block, and only each row's max and
// 1/sum are kept. Backward recomputes the probabilities block by block from q, k and those
// (FlashAttention-2's backward), and the dropout mask from its counter-based generator, so
// no [B, H, T, T] tensor is ever stored. Each block sees only the keys its rows may attend to.
#include <algorithm>
#include <cstring>
#include <vector>

#include "attention_rows_impl.h"
#include "gemm.h"
#include "gemm_bf16.h"
#include "thread_pool.h"

namespace ts {
namespace {

// Query rows per block: its scratch (a few rows × Tk) stays in L2 up to Tk ≈ 1024.
constexpr int kBlock = 64;

// Every block product: fp32, or bf16-rounded inputs with fp32 accumulation under autocast.
using Product = void (*)(bool, bool, int, int, int, float, const float*, int, const float*, int, float, float*, int);
Product product(const AttentionArgs& a) { return a.bf16 ? gemm_bf16 : sgemm; }

// The row steps compiled for the widest vectors the GEMM runs (TUNESMITH_GEMM_ISA narrows both).
const AttentionRows& rows() {
#if defined(__x86_64__) || defined(_M_X64)
  static const AttentionRows& chosen = std::strcmp(gemm::active().name, "avx512") == 0 ? kAttentionRowsAvx512 : kRows;
  return chosen;
#else
  return kRows;
#endif
}

// Where head h's q, k or v (which = 0, 1, 2) starts within one row of qkv.
size_t qkv_offset(const AttentionArgs& a, int h, int which) {
  const size_t d = a.headDim, e = static_cast<size_t>(a.heads) * d;
  return a.layout == QkvLayout::Gpt2 ? which * e + h * d : (static_cast<size_t>(h) * 3 + which) * d;
}

struct HeadViews {
  const float* q;
  const float* k;
  const float* v;
  int ldq, ldk, ldv;
};

HeadViews head_views(const AttentionArgs& a, const float* qkv, int b, int h) {
  const int row = 3 * a.heads * a.headDim;
  const float* base = qkv + static_cast<size_t>(b) * a.tk * row;
  return {base + qkv_offset(a, h, 0), base + qkv_offset(a, h, 1), base + qkv_offset(a, h, 2), row, row, row};
}

// The keys a block of query rows [i0, i1) needs: those up to the last row's position. A row
// whose every visible key is padding gets, in the twin, an even softmax over all masked keys
// (future ones included), so a block with such a row takes all keys to stay exact.
int key_extent(const AttentionArgs& a, int b, int i0, int i1) {
  const int past = a.tk - a.tq;
  if (a.keyMask) {
    const float* m = a.keyMask + static_cast<size_t>(b) * a.tk;
    for (int j = 0; j <= past + i0; j++) {
      if (m[j] != 0) return past + i1;
    }
    return a.tk;
  }
  return past + i1;
}

// Forward of one block of query rows [i0, i1): y rows = dropout(softmax(...))·v; each row's max
// and 1/sum go to stats (null when decoding). `s` is n × Tk scratch.
void block_forward(const AttentionArgs& a, int b, int h, const HeadViews& hv, int i0, int i1, float* s, float* stats,
                   float* y, int ldy) {
  const Product gemm = product(a);
  const int n = i1 - i0, kend = key_extent(a, b, i0, i1);
  gemm(false, true, n, kend, a.headDim, 1, hv.q + static_cast<size_t>(i0) * hv.ldq, hv.ldq, hv.k, hv.ldk, 0, s, kend);
  rows().forward(a, b, h, i0, n, kend, s, stats);
  gemm(false, false, n, a.headDim, kend, 1, s, kend, hv.v, hv.ldv, 0, y + static_cast<size_t>(i0) * ldy, ldy);
}

void head_forward(const AttentionArgs& a, int b, int h, const HeadViews& hv, float* s, float* stats, float* y, int ldy) {
  for (int i0 = 0; i0 < a.tq; i0 += kBlock) block_forward(a, b, h, hv, i0, std::min(a.tq, i0 + kBlock), s, stats, y, ldy);
}

}  // namespace

void attention_forward(const AttentionArgs& a, const float* qkv, float* stats, float* y) {
  const int e = a.heads * a.headDim;
  // One (batch, head) per task: heads write disjoint columns of y, and a block's products are
  // too small to split across threads (the GEMM runs them on the calling thread).
  parallel_for(static_cast<size_t>(a.batch) * a.heads, 1, [&](size_t first, size_t last) {
    std::vector<float> s(static_cast<size_t>(std::min(kBlock, a.tq)) * a.tk);
    for (size_t bh = first; bh < last; bh++) {
      const int b = static_cast<int>(bh / a.heads), h = static_cast<int>(bh % a.heads);
      head_forward(a, b, h, head_views(a, qkv, b, h), s.data(), stats + bh * 2 * a.tq,
                   y + static_cast<size_t>(b) * a.tq * e + h * a.headDim, e);
    }
  });
}

void attention_backward(const AttentionArgs& a, const float* qkv, const float* stats, const float* dy, float* dqkv) {
  const int row = 3 * a.heads * a.headDim, e = a.heads * a.headDim, t = a.tq, d = a.headDim;
  const Product gemm = product(a);
  parallel_for(static_cast<size_t>(a.batch) * a.heads, 1, [&](size_t first, size_t last) {
    const size_t scratch = static_cast<size_t>(std::min(kBlock, t)) * t;
    std::vector<float> p(scratch), pd(a.dropout.on ? scratch : 0), ds(scratch);
    for (size_t bh = first; bh < last; bh++) {
      const int b = static_cast<int>(bh / a.heads), h = static_cast<int>(bh % a.heads);
      const HeadViews hv = head_views(a, qkv, b, h);
      float* dbase = dqkv + static_cast<size_t>(b) * t * row;
      float* dq = dbase + qkv_offset(a, h, 0);
      float* dk = dbase + qkv_offset(a, h, 1);
      float* dv = dbase + qkv_offset(a, h, 2);
      const float* dyh = dy + static_cast<size_t>(b) * t * e + h * d;
      const float* st = stats + bh * 2 * t;
      // dk and dv sum over every query block, so the last block, whose rows see every key
      // (Tq == Tk), goes first and writes them whole (beta 0); the others add. dq is written
      // whole by its own block.
      const int last = (t - 1) / kBlock * kBlock;
      for (int i0 = last; i0 >= 0; i0 -= kBlock) {
        const int i1 = std::min(t, i0 + kBlock), n = i1 - i0, kend = key_extent(a, b, i0, i1);
        const float beta = i0 == last ? 0.0f : 1.0f;
        const float* qb = hv.q + static_cast<size_t>(i0) * row;
        const float* dyb = dyh + static_cast<size_t>(i0) * e;
        // The probabilities p exactly as the forward made them, and the dropped-out weights pd.
        gemm(false, true, n, kend, d, 1, qb, row, hv.k, row, 0, p.data(), kend);
        rows().probabilities(a, b, h, i0, n, kend, st, p.data(), pd.data());
        const float* weights = a.dropout.on ? pd.data() : p.data();
        // dv += weightsᵀ·dy; d(weights) = dy·vᵀ.
        gemm(true, false, kend, d, n, 1, weights, kend, dyb, e, beta, dv, row);
        gemm(false, true, n, kend, d, 1, dyb, e, hv.v, row, 0, ds.data(), kend);
        // Back through dropout and softmax.
        rows().softmaxGrad(n, kend, p.data(), weights, ds.data());
        // Scores were scale·q·kᵀ: dq = scale·ds·k, dk += scale·dsᵀ·q.
        gemm(false, false, n, d, kend, a.scale, ds.data(), kend, hv.k, row, 0, dq + static_cast<size_t>(i0) * row, row);
        gemm(true, false, kend, d, n, a.scale, ds.data(), kend, qb, row, beta, dk, row);
      }
    }
  });
}

void attention_decode(const AttentionArgs& a, const float* qkv, const float* pastK, const float* pastV,
                      float* presentK, float* presentV, float* y) {
  const int row = 3 * a.heads * a.headDim, e = a.heads * a.headDim, d = a.headDim, past = a.tk - a.tq;
  // Build the present cache: the past rows, then the new positions' keys and values.
  for (int b = 0; b < a.batch; b++) {
    for (int h = 0; h < a.heads; h++) {
      size_t head = static_cast<size_t>(b) * a.heads + h;
      float* pk = presentK + head * a.tk * d;
      float* pv = presentV + head * a.tk * d;
      if (past > 0) {
        std::copy(pastK + head * past * d, pastK + (head + 1) * past * d, pk);
        std::copy(pastV + head * past * d, pastV + (head + 1) * past * d, pv);
      }
      for (int i = 0; i < a.tq; i++) {
        const float* src = qkv + (static_cast<size_t>(b) * a.tq + i) * row;
        std::copy(src + qkv_offset(a, h, 1), src + qkv_offset(a, h, 1) + d, pk + static_cast<size_t>(past + i) * d);
        std::copy(src + qkv_offset(a, h, 2), src + qkv_offset(a, h, 2) + d, pv + static_cast<size_t>(past + i) * d);
      }
    }
  }
  std::vector<float> s(static_cast<size_t>(std::min(kBlock, a.tq)) * a.tk);
  for (int b = 0; b < a.batch; b++) {
    for (int h = 0; h < a.heads; h++) {
      size_t head = static_cast<size_t>(b) * a.heads + h;
      HeadViews hv{qkv + static_cast<size_t>(b) * a.tq * row + qkv_offset(a, h, 0), presentK + head * a.tk * d,
                   presentV + head * a.tk * d, row, d, d};
      head_forward(a, b, h, hv, s.data(), nullptr, y + static_cast<size_t>(b) * a.tq * e + h * d, e);
    }
  }
}

}  // namespace ts
