// GELU in the variants the supported models use, and ReLU, with their exact derivatives.
#include <cmath>

#include "kernels.h"
#include "thread_pool.h"
#include "vector_kernels.h"

namespace ts {
namespace {

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kBloomSqrt2OverPi = 0.79788456f;  // BLOOM's code truncates the constant
constexpr size_t kGrain = 1 << 15;

// The tanh GELUs differ only in how precisely they write sqrt(2/pi).
float gelu_tanh_constant(Activation kind) { return kind == Activation::GeluNew ? kSqrt2OverPi : kBloomSqrt2OverPi; }

template <typename F>
void each(size_t n, F f) {
  parallel_for(n, kGrain, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; i++) f(i);
  });
}

}  // namespace

void activation_forward(Activation kind, const float* x, size_t n, float* y) {
  switch (kind) {
    case Activation::GeluNew:
    case Activation::GeluBloom: {
      const float c = gelu_tanh_constant(kind);
      const vec::Kernels& k = vec::active();
      parallel_for(n, kGrain, [&](size_t b, size_t e) { k.gelu_tanh_forward(c, x + b, e - b, y + b); });
      break;
    }
    case Activation::GeluExact:
      each(n, [&](size_t i) { y[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f)); });
      break;
    case Activation::Relu:
      each(n, [&](size_t i) { y[i] = x[i] > 0 ? x[i] : 0.0f; });
      break;
  }
}

void activation_backward(Activation kind, const float* x, const float* dy, size_t n, float* dx) {
  switch (kind) {
    case Activation::GeluNew:
    case Activation::GeluBloom: {
      const float c = gelu_tanh_constant(kind);
      const vec::Kernels& k = vec::active();
      parallel_for(n, kGrain, [&](size_t b, size_t e) { k.gelu_tanh_backward(c, x + b, dy + b, e - b, dx + b); });
      break;
    }
    case Activation::GeluExact:
      each(n, [&](size_t i) {
        float v = x[i];
        float cdf = 0.5f * (1.0f + std::erf(v * 0.70710678118654752f));
        float pdf = 0.3989422804014327f * std::exp(-0.5f * v * v);
        dx[i] = dy[i] * (cdf + v * pdf);
      });
      break;
    case Activation::Relu:
      each(n, [&](size_t i) { dx[i] = x[i] > 0 ? dy[i] : 0.0f; });
      break;
  }
}

}  // namespace ts
