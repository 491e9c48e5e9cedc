// exp and tanh in plain arithmetic so the compiler vectorises the loops that use them
// (libm's expf/tanhf are scalar calls). exp is accurate to about 2 ulp over float's range.
// Internal linkage: the per-ISA vector kernels (vector_kernels.cc) include this with other
// target flags, and the linker must never hand their copy to a baseline caller.
#pragma once
#include <cstdint>
#include <cstring>

namespace ts {
namespace {

inline float fast_exp(float x) {
  // Clamp so the exponent bits stay in range; exp(-88) already underflows float's normals.
  x = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
  // exp(x) = 2^n · exp(r), r = x − n·ln2 in [−ln2/2, ln2/2], ln2 split in two for precision.
  // Rounds to the nearest integer by adding and removing 1.5·2²³ (no floor call, which
  // would keep the loop scalar).
  float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline float fast_tanh(float x) {
  // 1 − 2/(e^{2x} + 1): exact limits ±1, and the absolute error stays at float epsilon.
  return 1.0f - 2.0f / (fast_exp(2.0f * x) + 1.0f);
}

}  // namespace
}  // namespace ts
