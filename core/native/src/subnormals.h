// Subnormal floats (below 1.2e-38) are about a hundred times slower to multiply on x86, and
// training makes plenty: tiny attention probabilities and gradients. On a GPT-2 LoRA step
// they made the attention products run at 1-2 GFLOP/s and the whole step 3x slower. While
// one of these lives, the thread flushes them to zero (FTZ) and reads them as zero (DAZ),
// as PyTorch's set_flush_denormal does; no value that matters to training is that small.
#pragma once

#if defined(__SSE__) || defined(_M_X64)
#include <xmmintrin.h>

namespace ts {

class FlushSubnormals {
 public:
  FlushSubnormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFtzDaz); }
  ~FlushSubnormals() { _mm_setcsr(saved_); }
  FlushSubnormals(const FlushSubnormals&) = delete;
  FlushSubnormals& operator=(const FlushSubnormals&) = delete;

 private:
  static constexpr unsigned kFtzDaz = 0x8040;
  unsigned saved_;
};

}  // namespace ts

#else

namespace ts {
// ARM cores handle subnormals at full speed, so there is nothing to switch.
class FlushSubnormals {};
}  // namespace ts

#endif
