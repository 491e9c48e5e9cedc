// A projection with bias and an optional LoRA path, forward and backward, as a few large
// sgemm calls. The LoRA update is applied as (x·Aᵀ)·Bᵀ, never forming A·B, so a frozen base
// weight is only read.
#include <algorithm>
#include <vector>

#include "gemm_bf16.h"
#include "kernels.h"
#include "thread_pool.h"

namespace ts {
namespace {

// The LoRA input: x with the call's dropout mask applied, or x itself without dropout.
const float* lora_input(const float* x, const LoraArgs& lora, size_t size, std::vector<float>& buffer) {
  const DropoutArgs& d = lora.dropout;
  if (!d.on) return x;
  buffer.resize(size);
  dropout_apply(x, size, d.key, d.threshold, d.scale, buffer.data());
  return buffer.data();
}

using Gemm = void (*)(bool, bool, int, int, int, float, const float*, int, const float*, int, float, float*, int);
Gemm gemm_for(bool bf16) { return bf16 ? gemm_bf16 : sgemm; }

// C = A·op(W) + beta·C with the weight as B: a bf16-stored weight goes to the GEMM that reads bf16.
void times_weight(Gemm gemm, bool transW, int m, int n, int k, const float* a, int lda, const Weight& w, int ldw,
                  float beta, float* c, int ldc) {
  if (w.bf16) gemm_bf16_b16(false, transW, m, n, k, 1, a, lda, w.bf16, ldw, beta, c, ldc);
  else gemm(false, transW, m, n, k, 1, a, lda, w.f32, ldw, beta, c, ldc);
}

}  // namespace

void linear_forward(const float* x, const Weight& w, const float* bias, bool wInOut, int n, int in, int out,
                    const LoraArgs& lora, float* down, float* y, bool bf16) {
  const Gemm sgemm = gemm_for(bf16);
  if (bias) {
    parallel_for(n, 64, [&](size_t r0, size_t r1) {
      for (size_t r = r0; r < r1; r++) std::copy(bias, bias + out, y + r * out);
    });
  }
  float beta = bias ? 1.0f : 0.0f;
  times_weight(sgemm, !wInOut, n, out, in, x, in, w, wInOut ? out : in, beta, y, out);
  if (!lora.a) return;
  std::vector<float> dropped;
  const float* xin = lora_input(x, lora, static_cast<size_t>(n) * in, dropped);
  sgemm(false, true, n, lora.r, in, 1, xin, in, lora.a, in, 0, down, lora.r);
  sgemm(false, true, n, out, lora.r, lora.scale, down, lora.r, lora.b, lora.r, 1, y, out);
}

void linear_backward(const float* x, const Weight& w, bool wInOut, int n, int in, int out, const float* dy,
                     const LoraArgs& lora, const float* down, float* dx, float* dw, float* db, float* da,
                     float* dbLora, bool bf16) {
  const Gemm sgemm = gemm_for(bf16);
  if (dx) times_weight(sgemm, wInOut, n, in, out, dy, out, w, wInOut ? out : in, 0, dx, in);
  if (dw) {
    if (wInOut) sgemm(true, false, in, out, n, 1, x, in, dy, out, 0, dw, out);
    else sgemm(true, false, out, in, n, 1, dy, out, x, in, 0, dw, in);
  }
  if (db) {
    // Column sums, each thread over its own slice of columns so no reduction is shared.
    parallel_for(out, 256, [&](size_t c0, size_t c1) {
      std::fill(db + c0, db + c1, 0.0f);
      for (int r = 0; r < n; r++) {
        const float* row = dy + static_cast<size_t>(r) * out;
        for (size_t c = c0; c < c1; c++) db[c] += row[c];
      }
    });
  }
  if (!lora.a) return;
  const int r = lora.r;
  // d(down) = scale · dy·B, then dA = d(down)ᵀ·(x⊙mask), dB = scale · dyᵀ·down.
  std::vector<float> ddown(static_cast<size_t>(n) * r);
  sgemm(false, false, n, r, out, lora.scale, dy, out, lora.b, r, 0, ddown.data(), r);
  if (dbLora) sgemm(true, false, out, r, n, lora.scale, dy, out, down, r, 0, dbLora, r);
  std::vector<float> dropped;
  if (da) {
    const float* xin = lora_input(x, lora, static_cast<size_t>(n) * in, dropped);
    sgemm(true, false, r, in, n, 1, ddown.data(), r, xin, in, 0, da, in);
  }
  if (!dx) return;
  if (!lora.dropout.on) {
    sgemm(false, false, n, in, r, 1, ddown.data(), r, lora.a, in, 1, dx, in);
    return;
  }
  // dx += (d(down)·A)⊙mask, the mask made again from the call's key.
  const size_t size = static_cast<size_t>(n) * in;
  std::vector<float> dxLora(size);
  sgemm(false, false, n, in, r, 1, ddown.data(), r, lora.a, in, 0, dxLora.data(), in);
  const float* masked = lora_input(dxLora.data(), lora, size, dropped);
  add(dx, masked, size, dx);
}

}  // namespace ts
