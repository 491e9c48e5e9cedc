// CPUID and XGETBV under GCC, Clang and MSVC, for the files that read more than the feature
// bits their compiler's builtins give (the bf16 kernel's vendor and AMX bits, the GEMM's cache
// sizes, and MSVC's feature detection, which has no builtins).
#pragma once
#if defined(__x86_64__) || defined(_M_X64)
#ifdef _MSC_VER
#include <intrin.h>
#else
#include <cpuid.h>
#endif

namespace ts {

// r = {eax, ebx, ecx, edx} of CPUID leaf `leaf`, sub-leaf `sub`.
inline void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) {
#ifdef _MSC_VER
  int v[4];
  __cpuidex(v, static_cast<int>(leaf), static_cast<int>(sub));
  for (int i = 0; i < 4; i++) r[i] = static_cast<unsigned>(v[i]);
#else
  __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
#endif
}

// XCR0, the register state the OS saves across context switches; only readable where
// CPUID leaf 1 reports OSXSAVE (ECX bit 27).
inline unsigned long long xcr0() {
#ifdef _MSC_VER
  return _xgetbv(0);
#else
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
#endif
}

}  // namespace ts
#endif
