// attention_rows_impl.h compiled with -mavx512f (the gemm_avx512 target), where its loops
// vectorise 16 wide; attention.cc calls it only on CPUs that have AVX-512F.
#if defined(__x86_64__) || defined(_M_X64)
#include "attention_rows_impl.h"

namespace ts {

const AttentionRows kAttentionRowsAvx512 = kRows;

}  // namespace ts
#endif
