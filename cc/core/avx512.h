// The Eigen kernels of eigen_kernels.h compiled for AVX-512 and chosen at run time.
//
// The build targets AVX (TF's own baseline), where Eigen's GEMM runs 8-wide without FMA. On a
// CPU with AVX-512 the same kernels compiled for it (cc/core/avx512_kernels.cc: a private copy of
// Eigen's and eigen_kernels.h's templates under other namespace names, so nothing instantiated
// there is shared with the AVX build at link time) are 2-3x faster: Eigen GEMM, one thread, this
// 2-core Xeon, n = 32..256: float32 37-45 -> 84-128 GFlop/s, float64 14-24 -> 38-57 GFlop/s.
// Chosen by dense_kernels.h, for expm.h's mat_mul (dynamic sizes) and lu.h's large-n LU and inverse.
#pragma once

#include <complex>

namespace detexp {
namespace avx512 {

// True when the CPU and OS support AVX-512 F/DQ/VL/BW, AVX2 and FMA, unless the environment
// variable DETEXP_AVX512=0 turns these kernels off (read once).
bool available();

// X(T) for the four dtypes; avx512_kernels.cc defines what this header declares with it. (Not
// scalar.h's DETEXP_FOR_EACH_DTYPE: the AVX-512 file includes nothing of detexp but this header.)
#define DETEXP_AVX512_FOR_EACH_DTYPE(X) X(float) X(double) X(std::complex<float>) X(std::complex<double>)

// The kernels of eigen_kernels.h (same contracts), for the four dtypes.
#define DETEXP_AVX512_DECLARE(T)                                             \
  void gemm(int n, const T* a, const T* b, T* c, bool accumulate);          \
  void partial_pivot_lu(T* a, int n, int* perm);                           \
  void inverse_unpermuted_rows(const T* lu, int n, T* y);
DETEXP_AVX512_FOR_EACH_DTYPE(DETEXP_AVX512_DECLARE)
#undef DETEXP_AVX512_DECLARE

}  // namespace avx512
}  // namespace detexp
