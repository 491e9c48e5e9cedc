// Picks the bf16 GEMM kernel from the CPU's features at run time, or says why there is none.
// AVX512-BF16's vdpbf16ps doubles fp32's rate on AMD Zen 4 and later, but runs at half fp32's
// speed on Intel's cores, so Intel gets bf16 only through AMX (a kernel not written yet).
#include "gemm_bf16.h"

#include <string>

#include "x86_cpuid.h"

#if defined(__x86_64__) || defined(_M_X64)
#define TS_X86 1
#endif

namespace ts {
namespace {

#ifdef TS_X86
struct Cpu {
  bool amd = false, intel = false, avx512bf16 = false, amx_bf16 = false, zmm_state = false;
};

Cpu detect() {
  Cpu c;
  unsigned r[4];
  cpuid(0, 0, r);
  const unsigned max_leaf = r[0];
  char vendor[13] = {};
  std::memcpy(vendor, &r[1], 4);
  std::memcpy(vendor + 4, &r[3], 4);
  std::memcpy(vendor + 8, &r[2], 4);
  c.amd = std::string(vendor) == "AuthenticAMD";
  c.intel = std::string(vendor) == "GenuineIntel";
  cpuid(1, 0, r);
  const bool osxsave = (r[2] >> 27) & 1;
  // SSE, AVX and the three AVX-512 state components, all enabled by the OS.
  if (osxsave) c.zmm_state = (xcr0() & 0xe6) == 0xe6;
  if (max_leaf >= 7) {
    cpuid(7, 0, r);
    const bool avx512f = (r[1] >> 16) & 1, avx512bw = (r[1] >> 30) & 1, avx512vl = (r[1] >> 31) & 1;
    c.amx_bf16 = ((r[3] >> 22) & 1) && ((r[3] >> 24) & 1);
    cpuid(7, 1, r);
    c.avx512bf16 = ((r[0] >> 5) & 1) && avx512f && avx512bw && avx512vl && c.zmm_state;
  }
  return c;
}
#endif

struct Choice {
  const char* name = nullptr;
  const char* refusal = nullptr;
  decltype(&gemm_bf16_avx512) kernel = nullptr;
  decltype(&gemm_bf16_avx512_b16) kernel_b16 = nullptr;
};

Choice choose() {
  Choice ch;
#ifdef TS_X86
  const Cpu c = detect();
  if (c.avx512bf16 && c.amd) {
    ch.name = "avx512-bf16";
    ch.kernel = gemm_bf16_avx512;
    ch.kernel_b16 = gemm_bf16_avx512_b16;
  } else if (c.amx_bf16) {
    ch.refusal = "this CPU has AMX-BF16, but Tunesmith's AMX kernel is not written yet";
  } else if (c.avx512bf16 && c.intel) {
    ch.refusal = "this Intel CPU has AVX512-BF16 but no AMX, and its bf16 dot products run at half its fp32 speed";
  } else {
    ch.refusal = "this CPU has no fast bf16 arithmetic (it needs AMX-BF16 or, on AMD Zen 4 and later, AVX512-BF16)";
  }
#else
  ch.refusal = "bf16 kernels exist only for x86-64 CPUs (AMX-BF16 or AMD's AVX512-BF16)";
#endif
  return ch;
}

const Choice& choice() {
  static const Choice c = choose();
  return c;
}

}  // namespace

const char* bf16_kernel_name() { return choice().name; }
const char* bf16_refusal() { return choice().refusal; }

void gemm_bf16(bool transA, bool transB, int m, int n, int k, float alpha, const float* A, int lda, const float* B,
               int ldb, float beta, float* C, int ldc) {
  choice().kernel(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm_bf16_b16(bool transA, bool transB, int m, int n, int k, float alpha, const float* A, int lda,
                   const uint16_t* B, int ldb, float beta, float* C, int ldc) {
  choice().kernel_b16(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace ts
