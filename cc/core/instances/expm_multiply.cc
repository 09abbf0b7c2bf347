// Explicit instantiations of expm_multiply.h's entry points for the four dtypes (AVX build); the
// AVX-512 copy is avx512_expm_multiply.cc.
#define DETEXP_EXPM_MULTIPLY_INSTANTIATE
#include "cc/core/expm_multiply.h"

namespace detexp {
#define DETEXP_EXPM_MULTIPLY_INSTANCE(T)                                                                   \
  template int expm_multiply_matrix<T>(const T*, const T*, T, int, int, int, T*, const ParallelBlocks*);   \
  template void expm_multiply_grad_matrix<T>(const T*, const T*, T, const T*, int, int, int, T*, T*, T*,  \
                                             const ParallelBlocks*);
DETEXP_FOR_EACH_DTYPE(DETEXP_EXPM_MULTIPLY_INSTANCE)
#undef DETEXP_EXPM_MULTIPLY_INSTANCE
}  // namespace detexp
