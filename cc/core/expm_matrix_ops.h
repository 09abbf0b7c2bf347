// Matrix primitives of the scaling-and-squaring exponential (expm.h's Padé chain and
// expm_taylor.h's Taylor chain): column-major Eigen matrices, exact scaling by powers of two, the
// 1-norm, the ℓ squaring guard, and the n×n product kernel chosen per size.
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <limits>

#include "eigen_kernels.h"
#include "expm_coefficients.h"
#include "packet_gemm.h"
#include "scalar.h"

namespace detexp {

constexpr int kExpmFixedMax = 8;

// N: the compile-time size (or Dynamic); MaxN may bound a Dynamic size (stack storage).
template <int N, int MaxN, class T>
using ExpmMat = Eigen::Matrix<T, N, N, Eigen::ColMajor, MaxN, MaxN>;

template <class T>
T ldexp_scalar(const T& x, int e) {
  if constexpr (is_complex<T>::value) {
    return T(std::ldexp(x.real(), e), std::ldexp(x.imag(), e));
  } else {
    return std::ldexp(x, e);
  }
}

// x * 2^e entrywise, exact (no premature underflow when e is very negative). While 2^e is a
// normal number the product by it is exactly ldexp's correctly rounded result, and a vector
// multiply: libm's scalbnf cost 23% of a float32 expm at n = 32 (perf).
template <class Mat>
void ldexp_inplace(Mat& m, int e) {
  using R = real_t<typename Mat::Scalar>;
  if (e == 0) return;
  if (e < std::numeric_limits<R>::max_exponent - 1 && e > std::numeric_limits<R>::min_exponent - 1) {
    m *= std::ldexp(R(1), e);
    return;
  }
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = ldexp_scalar(m.data()[i], e);
}

template <class Mat>
real_t<typename Mat::Scalar> norm1(const Mat& m) {
  return m.cwiseAbs().colwise().sum().maxCoeff();
}

// The extra squarings ℓ that keep the leading term of a relative backward error series,
// α = |c_k| || |A|^k ||_1 / ||A||_1 (order k), below u: ℓ = max(0, ceil(log2(α/u) / (k-1))), since
// scaling A by 1/2 divides α by 2^(k-1). AH2009 eq. (5.1) for Padé r_m (k = 2m+1, c_k its error
// constant); the same guard for Taylor T_m (k = m+1, c_k = 1/(m+1)!). || |A|^k ||_1 is the largest
// entry of e^T |A|^k: k vector-matrix products, exact since |A| is nonnegative. (By Eigen's GEMV:
// the coefficient-wise lazy product took a quarter of the float32 selection at n = 32, perf.)
template <class Mat>
int expm_ell_order(const Mat& a, real_t<typename Mat::Scalar> a1, int order, double inv_abs_ck) {
  using R = real_t<typename Mat::Scalar>;
  if (!(a1 > R(0))) return 0;
  // || |A|^k ||_1 <= ||A||_1^k: where that bound already keeps α <= u, ℓ = 0 without the products.
  const double u = ExpmTable<R>::kUnitRoundoff;
  if (std::pow(static_cast<double>(a1), order - 1) / inv_abs_ck <= u) return 0;
  // e^T |A|^k as (|A|^T)^k e: column GEMVs into a second vector (2x faster than the row-vector
  // form at n = 20..64, measured).
  using Vec = Eigen::Matrix<R, Mat::RowsAtCompileTime, 1, Eigen::ColMajor, Mat::MaxRowsAtCompileTime, 1>;
  using RealMat = Eigen::Matrix<R, Mat::RowsAtCompileTime, Mat::ColsAtCompileTime, Eigen::ColMajor,
                                Mat::MaxRowsAtCompileTime, Mat::MaxColsAtCompileTime>;
  const RealMat abs_at = a.cwiseAbs().transpose();
  // v is rescaled by a power of two (exactly) after each product, so that || |A|^k || of an
  // unscaled A cannot overflow: || |A|^k || = max(v) 2^exponent.
  Vec v = Vec::Ones(a.rows()), w(a.rows());
  int exponent = 0;
  for (int k = 0; k < order; ++k) {
    if constexpr (Mat::RowsAtCompileTime != Eigen::Dynamic) {
      w = abs_at.lazyProduct(v);  // unrolled (Eigen's GEMV kernel was a fifth of float32 n = 8)
    } else {
      w.noalias() = abs_at * v;
    }
    v.swap(w);
    const R top = v.maxCoeff();
    if (!(top > R(0)) || !std::isfinite(top)) break;
    int e = 0;
    std::frexp(top, &e);
    ldexp_inplace(v, -e);
    exponent += e;
  }
  const double p = static_cast<double>(v.maxCoeff());
  if (!(p > 0)) return 0;
  const double log2_alpha = std::log2(p) + exponent - std::log2(static_cast<double>(a1) * inv_abs_ck);
  const double value = std::ceil((log2_alpha - std::log2(u)) / (order - 1));
  if (!(value > 0)) return 0;
  return static_cast<int>(std::min(value, 64.0));
}

// ℓ(A, m) of AH2009 eq. (5.1) for the Padé degree m.
template <class Mat>
int expm_ell(const Mat& a, real_t<typename Mat::Scalar> a1, int m) {
  return expm_ell_order(a, a1, 2 * m + 1, expm_coef::inv_abs_c(m));
}

// c = a b (or c += a b). Fixed sizes up to 8: Eigen's coefficient-based lazy product, fully
// unrolled (4-15x faster than its GEMM path at n = 8, measured); real n from one packet of rows
// to 256: the register-blocked kernel of packet_gemm.h (1.3-2x Eigen's GEMM there); complex
// n = 16: column AXPYs on fixed columns (1.3-2.6x faster than GEMM); otherwise Eigen's blocked
// GEMM (2-3x faster in the AVX-512 copy of avx512.h, which this runs in where the CPU has it).
template <class Mat>
void mat_mul(Mat& c, const Mat& a, const Mat& b, bool accumulate = false) {
  using T = typename Mat::Scalar;
  constexpr int N = Mat::RowsAtCompileTime;
  if constexpr (N != Eigen::Dynamic && N <= 8) {
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
  } else if constexpr (N == 16) {
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
