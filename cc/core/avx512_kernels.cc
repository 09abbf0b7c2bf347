// avx512.h's kernels, compiled with AVX-512 flags (CMakeLists.txt) and called only after
// avx512::available(). Eigen and eigen_kernels.h are renamed for this file alone, so that no
// template instantiated here (compiled for AVX-512) can stand in for the AVX build's at link time.
#include "avx512.h"

#define Eigen detexp_eigen_avx512
#define detexp detexp_avx512_private
#include "eigen_kernels.h"
#undef detexp

namespace detexp {
namespace avx512 {

namespace kernels = ::detexp_avx512_private::eigen_kernels;

#define DETEXP_AVX512_DEFINE(T)                                                                     \
  void gemm(int n, const T* a, const T* b, T* c, bool accumulate) { kernels::gemm(n, a, b, c, accumulate); } \
  void partial_pivot_lu(T* a, int n, int* perm) { kernels::partial_pivot_lu(a, n, perm); }         \
  void inverse_unpermuted_rows(const T* lu, int n, T* y) { kernels::inverse_unpermuted_rows(lu, n, y); }
DETEXP_AVX512_FOR_EACH_DTYPE(DETEXP_AVX512_DEFINE)
#undef DETEXP_AVX512_DEFINE

}  // namespace avx512
}  // namespace detexp
