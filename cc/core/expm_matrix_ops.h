// Matrix primitives of the CPU's scaling-and-squaring exponential (expm.h): column-major Eigen
// matrices, exact scaling by powers of two, the 1-norm, and the n×n product kernel chosen per
// size (cpu_plan.h).
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <limits>

#include "cpu_plan.h"
#include "eigen_kernels.h"
#include "packet_gemm.h"
#include "scalar.h"

namespace detexp {

// N: the compile-time size (or Dynamic); MaxN may bound a Dynamic size (stack storage).
template <int N, int MaxN, class T>
using ExpmMat = Eigen::Matrix<T, N, N, Eigen::ColMajor, MaxN, MaxN>;

// x * 2^e entrywise, exact (no premature underflow when e is very negative). While 2^e is a
// normal number the product by it is exactly ldexp's correctly rounded result, and a vector
// multiply (libm's scalbnf per entry was a quarter of a float32 expm at n = 32).
template <class Mat>
void ldexp_inplace(Mat& m, int e) {
  using R = real_t<typename Mat::Scalar>;
  if (e == 0) return;
  if (e < std::numeric_limits<R>::max_exponent - 1 && e > std::numeric_limits<R>::min_exponent - 1) {
    m *= std::ldexp(R(1), e);
    return;
  }
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = ldexp_of(m.data()[i], e);
}

template <class Mat>
real_t<typename Mat::Scalar> norm1(const Mat& m) {
  return m.cwiseAbs().colwise().sum().maxCoeff();
}

// c = a b (or c += a b), by the kernel cpu_plan.h assigns to the size: fixed sizes up to
// kExpmFixedMax Eigen's coefficient-based lazy product, fully unrolled; real n from one packet of
// rows to kPacketGemmMaxN the register-blocked kernel of packet_gemm.h; complex n = 16 column
// AXPYs on fixed columns; otherwise Eigen's blocked GEMM (in the AVX-512 copy of avx512.h where
// the CPU has it).
template <class Mat>
void mat_mul(Mat& c, const Mat& a, const Mat& b, bool accumulate = false) {
  using T = typename Mat::Scalar;
  constexpr int N = Mat::RowsAtCompileTime;
  if constexpr (N != Eigen::Dynamic && N <= cpu_plan::kExpmFixedMax) {
    if (accumulate) {
      c += a.lazyProduct(b);
    } else {
      c = a.lazyProduct(b);
    }
    return;
  }
  const int n = static_cast<int>(a.rows());
  if (!accumulate) c.resize(n, n);  // as an Eigen assignment would; every product is n×n
  if (packet_gemm::serves<T>(n)) {
    packet_gemm::gemm<T, N == Eigen::Dynamic ? 0 : N>(n, a.data(), b.data(), c.data(), accumulate);
  } else if constexpr (N == cpu_plan::kExpmFixedExtra) {
    for (int j = 0; j < N; ++j) {
      auto cj = c.col(j);
      if (!accumulate) cj = a.col(0) * b(0, j);
      for (int k = accumulate ? 0 : 1; k < N; ++k) cj += a.col(k) * b(k, j);
    }
  } else {
    eigen_kernels::gemm(n, a.data(), b.data(), c.data(), accumulate);
  }
}

}  // namespace detexp
