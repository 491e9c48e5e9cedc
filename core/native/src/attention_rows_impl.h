// The per-row work of attention (scale, ALiBi and masks, softmax, dropout, the softmax
// gradient) as plain loops without branches. Included by attention.cc, compiled for the
// baseline ISA, and by attention_avx512.cc, compiled with AVX-512 where the same loops
// vectorise 16 wide (fast_exp's clamps and the dropout hash included); attention.cc picks
// one when the addon loads. Everything is internal to the including file, so the two
// copies never meet at link time.
#pragma once
#include <algorithm>
#include <cmath>

#include "attention_rows.h"
#include "fast_math.h"
#include "kernels.h"

namespace ts {
namespace {

// Same value as the tfjs twin: zeroes a softmax weight without overflowing when ALiBi is added.
constexpr float kMasked = -1e9f;

// One row of scale·q·kᵀ (over keys [0, n)) + ALiBi + causal/padding mask, in place, as the
// twin adds them; each step its own loop without branches, so each vectorises.
float masked_row(const AttentionArgs& a, int b, int h, int i, float* row, int n) {
  const int past = a.tk - a.tq;
  const float scale = a.scale;
  for (int j = 0; j < n; j++) row[j] *= scale;
  if (a.alibi) {
    const float* alibi = a.alibi + (static_cast<size_t>(a.alibiPerBatch ? b : 0) * a.heads + h) * a.tk;
    for (int j = 0; j < n; j++) row[j] += alibi[j];
  }
  for (int j = std::max(0, past + i + 1); j < n; j++) row[j] += kMasked;
  if (a.keyMask) {
    const float* keyMask = a.keyMask + static_cast<size_t>(b) * a.tk;
    for (int j = 0; j < n; j++) row[j] += kMasked * static_cast<float>(static_cast<int>(keyMask[j] == 0));
  }
  float mx = -INFINITY;
  for (int j = 0; j < n; j++) mx = std::max(mx, row[j]);
  return mx;
}

// exp of a score minus its row's max, exactly 0 for masked keys (fast_exp's clamp would leave
// 1e-38 there, where the twin has 0).
inline float softmax_exp(float z) { return fast_exp(z) * static_cast<float>(static_cast<int>(z >= -87.0f)); }

// Element (b, h, i, j)'s dropout factor: element ((b·H + h)·Tq + i)·Tk + j of the call, as the
// twin's dropout over the [B, H, Tq, Tk] probabilities numbers it.
void drop_row(const AttentionArgs& a, size_t bh, int i, const float* p, float* out, int n) {
  const uint32_t first = static_cast<uint32_t>((bh * a.tq + i) * a.tk), key = a.dropout.key, threshold = a.dropout.threshold;
  const float scale = a.dropout.scale;
  // The keep bit as a 0/1 factor, not a branch, so the loop vectorises.
  for (int j = 0; j < n; j++) {
    const int keep = dropout_bits(key, first + static_cast<uint32_t>(j)) >= threshold;
    out[j] = p[j] * (scale * static_cast<float>(keep));
  }
}

void forward_rows(const AttentionArgs& a, int b, int h, int i0, int n, int kend, float* s, float* stats) {
  const size_t bh = static_cast<size_t>(b) * a.heads + h;
  for (int r = 0; r < n; r++) {
    float* row = s + static_cast<size_t>(r) * kend;
    const float mx = masked_row(a, b, h, i0 + r, row, kend);
    for (int j = 0; j < kend; j++) row[j] = softmax_exp(row[j] - mx);
    float sum = 0;
    for (int j = 0; j < kend; j++) sum += row[j];
    const float inv = 1.0f / sum;
    for (int j = 0; j < kend; j++) row[j] *= inv;
    if (a.dropout.on) drop_row(a, bh, i0 + r, row, row, kend);
    if (stats) {
      stats[2 * (i0 + r)] = mx;
      stats[2 * (i0 + r) + 1] = inv;
    }
  }
}

void probability_rows(const AttentionArgs& a, int b, int h, int i0, int n, int kend, const float* stats, float* p,
                      float* pd) {
  const size_t bh = static_cast<size_t>(b) * a.heads + h;
  for (int r = 0; r < n; r++) {
    float* pr = p + static_cast<size_t>(r) * kend;
    masked_row(a, b, h, i0 + r, pr, kend);
    // The forward's max and 1/sum, so these are the very probabilities it used.
    const float mx = stats[2 * (i0 + r)], inv = stats[2 * (i0 + r) + 1];
    for (int j = 0; j < kend; j++) pr[j] = softmax_exp(pr[j] - mx) * inv;
    if (a.dropout.on) drop_row(a, bh, i0 + r, pr, pd + static_cast<size_t>(r) * kend, kend);
  }
}

void softmax_grad_rows(int n, int kend, const float* p, const float* w, float* ds) {
  for (int r = 0; r < n; r++) {
    float* dr = ds + static_cast<size_t>(r) * kend;
    const float* pr = p + static_cast<size_t>(r) * kend;
    const float* wr = w + static_cast<size_t>(r) * kend;
    float dot = 0;
    for (int j = 0; j < kend; j++) dot += wr[j] * dr[j];
    for (int j = 0; j < kend; j++) dr[j] = wr[j] * dr[j] - pr[j] * dot;
  }
}

const AttentionRows kRows{forward_rows, probability_rows, softmax_grad_rows};

}  // namespace
}  // namespace ts
