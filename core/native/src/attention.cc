// Causal self-attention read straight out of the fused q|k|v projection: each head's q, k
// and v are strided views of qkv, so nothing is split, transposed or merged. Per (batch,
// head): scores = scale·q·kᵀ + ALiBi + mask, softmax, dropout, ·v. The backward keeps only
// the probabilities from the forward pass.
#include <algorithm>
#include <cmath>
#include <vector>

#include "fast_math.h"
#include "kernels.h"
#include "thread_pool.h"

namespace ts {
namespace {

// Same value as the tfjs twin: zeroes a softmax weight without overflowing when ALiBi is added.
constexpr float kMasked = -1e9f;

// Where head h's q, k or v (which = 0, 1, 2) starts within one row of qkv.
size_t qkv_offset(const AttentionArgs& a, int h, int which) {
  const size_t d = a.headDim, e = static_cast<size_t>(a.heads) * d;
  return a.layout == QkvLayout::Gpt2 ? which * e + h * d : (static_cast<size_t>(h) * 3 + which) * d;
}

// scale·scores + ALiBi + causal/padding mask, then a numerically stable softmax, row by row.
void masked_softmax(const AttentionArgs& a, int b, int h, float* s) {
  const int past = a.tk - a.tq;
  const float* alibi = a.alibi ? a.alibi + (static_cast<size_t>(a.alibiPerBatch ? b : 0) * a.heads + h) * a.tk : nullptr;
  const float* keyMask = a.keyMask ? a.keyMask + static_cast<size_t>(b) * a.tk : nullptr;
  for (int i = 0; i < a.tq; i++) {
    float* row = s + static_cast<size_t>(i) * a.tk;
    float mx = -INFINITY;
    for (int j = 0; j < a.tk; j++) {
      float v = row[j] * a.scale;
      if (alibi) v += alibi[j];
      if (j > past + i) v += kMasked;
      if (keyMask && keyMask[j] == 0) v += kMasked;
      row[j] = v;
      mx = std::max(mx, v);
    }
    float sum = 0;
    for (int j = 0; j < a.tk; j++) {
      row[j] = fast_exp(row[j] - mx);
      sum += row[j];
    }
    float inv = 1.0f / sum;
    for (int j = 0; j < a.tk; j++) row[j] *= inv;
  }
}

struct HeadViews {
  const float* q;
  const float* k;
  const float* v;
  int ldq, ldk, ldv;
};

// One head's output rows: y = dropout(softmax(...))·v, probabilities left in `probs`.
void head_forward(const AttentionArgs& a, int b, int h, const HeadViews& hv, float* probs, float* work, float* y,
                  int ldy) {
  const size_t tt = static_cast<size_t>(a.tq) * a.tk;
  sgemm(false, true, a.tq, a.tk, a.headDim, 1, hv.q, hv.ldq, hv.k, hv.ldk, 0, probs, a.tk);
  masked_softmax(a, b, h, probs);
  const float* weights = probs;
  if (a.dropMask) {
    const float* mask = a.dropMask + (static_cast<size_t>(b) * a.heads + h) * tt;
    for (size_t i = 0; i < tt; i++) work[i] = probs[i] * mask[i];
    weights = work;
  }
  sgemm(false, false, a.tq, a.headDim, a.tk, 1, weights, a.tk, hv.v, hv.ldv, 0, y, ldy);
}

}  // namespace

void attention_forward(const AttentionArgs& a, const float* qkv, float* probs, float* y) {
  const int row = 3 * a.heads * a.headDim, e = a.heads * a.headDim;
  const size_t tt = static_cast<size_t>(a.tq) * a.tk;
  // One (batch, head) per task: each head's products are too small to split across threads
  // (the GEMM runs them on the calling thread), and heads write disjoint columns of y.
  parallel_for(static_cast<size_t>(a.batch) * a.heads, 1, [&](size_t first, size_t last) {
    std::vector<float> work(a.dropMask ? tt : 0);
    for (size_t bh = first; bh < last; bh++) {
      const int b = static_cast<int>(bh / a.heads), h = static_cast<int>(bh % a.heads);
      const float* base = qkv + static_cast<size_t>(b) * a.tk * row;
      HeadViews hv{base + qkv_offset(a, h, 0), base + qkv_offset(a, h, 1), base + qkv_offset(a, h, 2), row, row, row};
      head_forward(a, b, h, hv, probs + bh * tt, work.data(), y + static_cast<size_t>(b) * a.tq * e + h * a.headDim, e);
    }
  });
}

void attention_backward(const AttentionArgs& a, const float* qkv, const float* probs, const float* dy, float* dqkv) {
  const int row = 3 * a.heads * a.headDim, e = a.heads * a.headDim, t = a.tq, d = a.headDim;
  const size_t tt = static_cast<size_t>(t) * t;
  // Per (batch, head) on the pool, as the forward; heads write disjoint columns of dqkv.
  parallel_for(static_cast<size_t>(a.batch) * a.heads, 1, [&](size_t first, size_t last) {
    std::vector<float> dp(tt), dropped(a.dropMask ? tt : 0);
    for (size_t bh = first; bh < last; bh++) {
      const int b = static_cast<int>(bh / a.heads), h = static_cast<int>(bh % a.heads);
      const float* base = qkv + static_cast<size_t>(b) * t * row;
      float* dbase = dqkv + static_cast<size_t>(b) * t * row;
      const float* dyb = dy + static_cast<size_t>(b) * t * e;
      const float* p = probs + bh * tt;
      const float* mask = a.dropMask ? a.dropMask + bh * tt : nullptr;
      const float* q = base + qkv_offset(a, h, 0);
      const float* k = base + qkv_offset(a, h, 1);
      const float* v = base + qkv_offset(a, h, 2);
      const float* dyh = dyb + h * d;
      // dv = weightsᵀ·dy, where weights are the (dropped-out) probabilities.
      const float* weights = p;
      if (mask) {
        for (size_t i = 0; i < tt; i++) dropped[i] = p[i] * mask[i];
        weights = dropped.data();
      }
      sgemm(true, false, t, d, t, 1, weights, t, dyh, e, 0, dbase + qkv_offset(a, h, 2), row);
      // d(weights) = dy·vᵀ, back through dropout, then through softmax: p ⊙ (dp − Σ dp⊙p).
      sgemm(false, true, t, t, d, 1, dyh, e, v, row, 0, dp.data(), t);
      for (int i = 0; i < t; i++) {
        float* dr = dp.data() + static_cast<size_t>(i) * t;
        const float* pr = p + static_cast<size_t>(i) * t;
        if (mask) {
          const float* mr = mask + static_cast<size_t>(i) * t;
          for (int j = 0; j < t; j++) dr[j] *= mr[j];
        }
        float dot = 0;
        for (int j = 0; j < t; j++) dot += dr[j] * pr[j];
        for (int j = 0; j < t; j++) dr[j] = pr[j] * (dr[j] - dot);
      }
      // Scores were scale·q·kᵀ: dq = scale·ds·k, dk = scale·dsᵀ·q.
      sgemm(false, false, t, d, t, a.scale, dp.data(), t, k, row, 0, dbase + qkv_offset(a, h, 0), row);
      sgemm(true, false, t, d, t, a.scale, dp.data(), t, q, row, 0, dbase + qkv_offset(a, h, 1), row);
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
  std::vector<float> probs(static_cast<size_t>(a.tq) * a.tk);
  for (int b = 0; b < a.batch; b++) {
    for (int h = 0; h < a.heads; h++) {
      size_t head = static_cast<size_t>(b) * a.heads + h;
      HeadViews hv{qkv + static_cast<size_t>(b) * a.tq * row + qkv_offset(a, h, 0), presentK + head * a.tk * d,
                   presentV + head * a.tk * d, row, d, d};
      head_forward(a, b, h, hv, probs.data(), nullptr, y + static_cast<size_t>(b) * a.tq * e + h * d, e);
    }
  }
}

}  // namespace ts
