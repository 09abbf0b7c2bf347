// The dense Eigen kernels of eigen_kernels.h in the copy that suits this CPU: the AVX-512 one of
// avx512.h where avx512::available(), else the AVX build's own. The one place that chooses.
#pragma once

#include "avx512.h"
#include "eigen_kernels.h"

namespace detexp {
namespace dense {

template <class T>
void gemm(int n, const T* a, const T* b, T* c, bool accumulate) {
  if (avx512::available()) return avx512::gemm(n, a, b, c, accumulate);
  eigen_kernels::gemm(n, a, b, c, accumulate);
}

template <class T>
void partial_pivot_lu(T* a, int n, int* perm) {
  if (avx512::available()) return avx512::partial_pivot_lu(a, n, perm);
  eigen_kernels::partial_pivot_lu(a, n, perm);
}

template <class T>
void inverse_unpermuted_rows(const T* lu, int n, T* y) {
  if (avx512::available()) return avx512::inverse_unpermuted_rows(lu, n, y);
  eigen_kernels::inverse_unpermuted_rows(lu, n, y);
}

}  // namespace dense
}  // namespace detexp
