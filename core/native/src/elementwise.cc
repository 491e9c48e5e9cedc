// Same-shape adds, and the choice of the element-wise kernels' build (vector_kernels.h).
#include "gemm.h"
#include "kernels.h"
#include "thread_pool.h"
#include "vector_kernels.h"

#include <cstring>

namespace ts {

// The GEMM's choice decides, so one CPU check and one variable (TUNESMITH_GEMM_ISA) set both;
// NEON has no build of its own, as the arm64 baseline build already vectorises with it.
const vec::Kernels& vec::active() {
  static const Kernels* chosen = [] {
    const char* isa = gemm::active().name;
    for (const Kernels* k : {
#if defined(__x86_64__) || defined(_M_X64)
             &avx512::kernels, &avx2::kernels,
#endif
             &portable::kernels})
      if (std::strcmp(k->name, isa) == 0) return k;
    return &portable::kernels;
  }();
  return *chosen;
}

void add(const float* a, const float* b, size_t n, float* out) {
  const vec::Kernels& k = vec::active();
  parallel_for(n, 1 << 16, [&](size_t begin, size_t end) { k.add(a + begin, b + begin, end - begin, out + begin); });
}

}  // namespace ts
