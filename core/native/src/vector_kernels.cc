// vector_kernels.h's loops, written for the compiler's vectoriser (no intrinsics) and
// compiled once per instruction set: binding.gyp builds this file in one static library per
// ISA with that ISA's target flags and TS_VECTOR_ISA naming the table it defines. Sums run
// in 16 fixed lanes, so every ISA adds in the same order and gets the same result. Nothing
// here has external linkage but the table, so no copy compiled for AVX-512 can be linked
// into a baseline caller.
#ifdef TS_VECTOR_ISA
#include <cmath>

#include "fast_math.h"
#include "kernels.h"
#include "vector_kernels.h"

namespace ts {
namespace vec {
namespace TS_VECTOR_ISA {
namespace {

constexpr size_t kLanes = 16;

// Σ f(i) for i < n, lane j summing the indices ≡ j (mod 16), then the lanes pairwise.
template <typename F>
float lane_sum(size_t n, F f) {
  float acc[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (size_t j = 0; j < kLanes; j++) acc[j] += f(i + j);
  for (size_t j = 0; i + j < n; j++) acc[j] += f(i + j);
  for (size_t w = kLanes / 2; w > 0; w /= 2)
    for (size_t j = 0; j < w; j++) acc[j] += acc[j + w];
  return acc[0];
}

void gelu_tanh_forward(float c, const float* __restrict x, size_t n, float* __restrict y) {
  for (size_t i = 0; i < n; i++) {
    const float v = x[i];
    y[i] = 0.5f * v * (1.0f + fast_tanh(c * v * (1.0f + 0.044715f * v * v)));
  }
}

void gelu_tanh_backward(float c, const float* __restrict x, const float* __restrict dy, size_t n,
                        float* __restrict dx) {
  for (size_t i = 0; i < n; i++) {
    const float v = x[i];
    const float t = fast_tanh(c * v * (1.0f + 0.044715f * v * v));
    const float inner = c * (1.0f + 3.0f * 0.044715f * v * v);
    dx[i] = dy[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * inner);
  }
}

float row_max(const float* z, size_t n) {
  float acc[kLanes];
  for (size_t j = 0; j < kLanes; j++) acc[j] = z[0];
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (size_t j = 0; j < kLanes; j++) acc[j] = z[i + j] > acc[j] ? z[i + j] : acc[j];
  for (size_t j = 0; i + j < n; j++) acc[j] = z[i + j] > acc[j] ? z[i + j] : acc[j];
  float m = acc[0];
  for (size_t j = 1; j < kLanes; j++) m = acc[j] > m ? acc[j] : m;
  return m;
}

float sum_exp(const float* z, size_t n, float shift) {
  return lane_sum(n, [&](size_t i) { return fast_exp(z[i] - shift); });
}

// g may be z itself (the loss gradient overwrites dead logits), so no __restrict here.
void scaled_exp(const float* z, size_t n, float shift, float w, float* g) {
  for (size_t i = 0; i < n; i++) g[i] = w * fast_exp(z[i] - shift);
}

void layer_norm_rows(const float* x, const float* gamma, const float* beta, size_t r0, size_t r1, int cols,
                     float eps, float* y, float* mean, float* rstd) {
  const size_t n = static_cast<size_t>(cols);
  for (size_t r = r0; r < r1; r++) {
    const float* __restrict xr = x + r * n;
    float* __restrict yr = y + r * n;
    const float mu = lane_sum(n, [&](size_t c) { return xr[c]; }) / cols;
    const float var = lane_sum(n, [&](size_t c) { return (xr[c] - mu) * (xr[c] - mu); }) / cols;
    const float rs = 1.0f / std::sqrt(var + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (size_t c = 0; c < n; c++) yr[c] = (xr[c] - mu) * rs * gamma[c] + beta[c];
  }
}

void layer_norm_backward_rows(const float* x, const float* gamma, const float* mean, const float* rstd,
                              const float* dy, size_t r0, size_t r1, int cols, float* dx, float* __restrict pg,
                              float* __restrict pb) {
  const size_t n = static_cast<size_t>(cols);
  for (size_t r = r0; r < r1; r++) {
    const float* __restrict xr = x + r * n;
    const float* __restrict dyr = dy + r * n;
    const float mu = mean[r], rs = rstd[r];
    for (size_t c = 0; c < n; c++) {
      pg[c] += dyr[c] * ((xr[c] - mu) * rs);
      pb[c] += dyr[c];
    }
    if (!dx) continue;
    const float meanG = lane_sum(n, [&](size_t c) { return dyr[c] * gamma[c]; }) / cols;
    const float meanGX = lane_sum(n, [&](size_t c) { return dyr[c] * gamma[c] * ((xr[c] - mu) * rs); }) / cols;
    float* __restrict dxr = dx + r * n;
    for (size_t c = 0; c < n; c++) dxr[c] = rs * (dyr[c] * gamma[c] - meanG - (xr[c] - mu) * rs * meanGX);
  }
}

// out may be a (an in-place add), so no __restrict here.
void add(const float* a, const float* b, size_t n, float* out) {
  for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void dropout(const float* __restrict x, size_t begin, size_t end, uint32_t key, uint32_t threshold, float scale,
             float* __restrict y) {
  // x·0 rather than a literal 0, so signs and NaNs come out as tf.mul's do in the twin.
  for (size_t i = begin; i < end; i++)
    y[i] = x[i] * (dropout_bits(key, static_cast<uint32_t>(i)) >= threshold ? scale : 0.0f);
}

void adamw(float* __restrict param, const float* __restrict grad, float* __restrict m, float* __restrict v,
           size_t n, const AdamWArgs& a) {
  const float beta1 = a.beta1, beta2 = a.beta2, eps = a.eps, decay = a.decayFactor, step = a.stepSize,
              bias2 = a.sqrtBias2, scale = a.gradScale;
  for (size_t i = 0; i < n; i++) {
    const float g = grad[i] * scale;
    const float mi = m[i] * beta1 + g * (1 - beta1);
    const float vi = v[i] * beta2 + g * g * (1 - beta2);
    m[i] = mi;
    v[i] = vi;
    const float denom = std::sqrt(vi) / bias2 + eps;
    param[i] = param[i] * decay - (mi / denom) * step;
  }
}

double sum_squares(const float* x, size_t n) {
  double acc[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (size_t j = 0; j < kLanes; j++) acc[j] += static_cast<double>(x[i + j]) * x[i + j];
  for (size_t j = 0; i + j < n; j++) acc[j] += static_cast<double>(x[i + j]) * x[i + j];
  double total = 0;
  for (double s : acc) total += s;
  return total;
}

}  // namespace

#define TS_STRINGIFY2(x) #x
#define TS_STRINGIFY(x) TS_STRINGIFY2(x)
extern const Kernels kernels{TS_STRINGIFY(TS_VECTOR_ISA), gelu_tanh_forward, gelu_tanh_backward, row_max,
                             sum_exp, scaled_exp, layer_norm_rows, layer_norm_backward_rows, add, dropout, adamw,
                             sum_squares};

}  // namespace TS_VECTOR_ISA
}  // namespace vec
}  // namespace ts
#endif
