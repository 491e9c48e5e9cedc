// bf16 mixed-precision GEMM: both operands are rounded to bf16 (round to nearest even) while they
// are packed, and products are accumulated in fp32, as PyTorch's CPU autocast does. The kernels
// need matrix hardware (AMX-BF16, or AVX512-BF16 where it beats fp32), so each lives in a file
// compiled with its own target flags and is picked at run time: the addon still loads anywhere.
#pragma once
#include <cstdint>
#include <cstring>

namespace ts {

// Which bf16 kernel this CPU runs, or null with the reason in `bf16_refusal()`.
const char* bf16_kernel_name();
// Why bf16 is refused on this CPU (null when a kernel is available).
const char* bf16_refusal();

// C[m,n] = alpha · bf16(op(A))[m,k] · bf16(op(B))[k,n] + beta · C, fp32 in and out, row-major.
// Only call when bf16_kernel_name() is not null.
void gemm_bf16(bool transA, bool transB, int m, int n, int k, float alpha, const float* A, int lda,
               const float* B, int ldb, float beta, float* C, int ldc);

// The same with op(B) already in bf16 (a frozen weight stored so): the same products, B only rearranged.
void gemm_bf16_b16(bool transA, bool transB, int m, int n, int k, float alpha, const float* A, int lda,
                   const uint16_t* B, int ldb, float beta, float* C, int ldc);

// fp32 → bf16 bits, round to nearest even (NaN stays NaN, subnormals become zero): the rounding every kernel packs with.
inline uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  // The hardware conversions treat subnormal inputs as zero; so does every twin of this one.
  if ((u & 0x7f800000u) == 0) return static_cast<uint16_t>((u >> 16) & 0x8000);
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
}

// The per-ISA kernels behind gemm_bf16 (each in its own translation unit).
void gemm_bf16_avx512(bool transA, bool transB, int m, int n, int k, float alpha, const float* A, int lda,
                      const float* B, int ldb, float beta, float* C, int ldc);
void gemm_bf16_avx512_b16(bool transA, bool transB, int m, int n, int k, float alpha, const float* A, int lda,
                          const uint16_t* B, int ldb, float beta, float* C, int ldc);

}  // namespace ts
