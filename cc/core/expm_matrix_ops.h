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

// x^k for k >= 0 by repeated squaring (std::pow's libm call was 4-17% of a float32 or float64
// expm at n = 4, perf).
inline double int_power(double x, int k) {
  double p = 1.0;
  for (; k > 0; k >>= 1, x *= x) {
    if (k & 1) p *= x;
  }
  return p;
}

// The extra squarings ℓ that keep the leading term of a relative backward error series,
// α = |c_k| || |X|^k ||_1 / ||X||_1 (order k) for X = 2^shift A, below u:
// ℓ = max(0, ceil(log2(α/u) / (k-1))), since scaling X by 1/2 divides α by 2^(k-1). AH2009
// eq. (5.1) for Padé r_m (k = 2m+1, c_k its error constant; expm_ell). a1 = ||A||_1. (The
// Taylor T_18 top degree does not apply it: expm_taylor.h, taylor_select.)
//
// || |A|^k ||_1 is the largest entry of v_k = B^k e, B = |A|^T (nonnegative): vector products by
// Eigen's GEMV (the coefficient-wise lazy product took a quarter of the float32 selection at
// n = 32) or, at fixed sizes, unrolled lazy products. B is prescaled by a power of two to
// ||B||_inf < 1, so that no v_j overflows for any finite A. The products stop early where
// Collatz-Wielandt bounds already fix ℓ: with r_lo v_{j-1} <= B v_{j-1} <= r_hi v_{j-1}
// entrywise (the extreme ratios over v_{j-1} > 0), multiplying by B >= 0 keeps the inequalities,
// so r_lo^(k-j) max(v_j) <= max(v_k) <= r_hi^(k-j) max(v_j); where both ends give the same ℓ, it
// is ℓ. The ratios approach the Perron root of B as in the power method, and one ℓ step spans
// k-1 octaves of α, so a few products usually settle it (standard normal / sqrt(n), n = 4..256:
// 2.0-2.8 products per ℓ where there were 7-27).
template <class Mat>
int expm_ell_order(const Mat& a, real_t<typename Mat::Scalar> a1, int order, double inv_abs_ck,
                   int shift = 0) {
  using R = real_t<typename Mat::Scalar>;
  if (!(a1 > R(0)) || !std::isfinite(a1)) return 0;
  const double u = ExpmTable<R>::kUnitRoundoff;
  // || |X|^k ||_1 <= ||X||_1^k: where that bound already keeps α <= u, ℓ = 0 without the products.
  if (int_power(std::ldexp(static_cast<double>(a1), shift), order - 1) <= u * inv_abs_ck) return 0;
  using Vec = Eigen::Matrix<R, Mat::RowsAtCompileTime, 1, Eigen::ColMajor, Mat::MaxRowsAtCompileTime, 1>;
  using RealMat = Eigen::Matrix<R, Mat::RowsAtCompileTime, Mat::ColsAtCompileTime, Eigen::ColMajor,
                                Mat::MaxRowsAtCompileTime, Mat::MaxColsAtCompileTime>;
  int a1_exponent = 0;
  std::frexp(a1, &a1_exponent);  // ||A||_1 < 2^a1_exponent
  const RealMat b = a.cwiseAbs().transpose() * std::ldexp(R(1), -a1_exponent);
  // log2(α/u) = log2 max(v_k) + exponent + offset, with || |A|^j ||_1 = max(v_j) 2^(exponent + j a1_exponent).
  const double offset = order * (static_cast<double>(a1_exponent) + shift) - std::log2(static_cast<double>(a1)) -
                        shift - std::log2(inv_abs_ck) - std::log2(u);
  const auto ell_of = [order](double log2_alpha_over_u) {
    const double value = std::ceil(log2_alpha_over_u / (order - 1));
    return value > 0 ? static_cast<int>(std::min(value, 64.0)) : 0;
  };
  const R tiny = std::ldexp(R(1), std::numeric_limits<R>::min_exponent / 2);
  Vec v = Vec::Ones(a.rows()), w(a.rows());
  int exponent = 0;
  for (int j = 1; j <= order; ++j) {
    if constexpr (Mat::RowsAtCompileTime != Eigen::Dynamic) {
      w = b.lazyProduct(v);  // unrolled (Eigen's GEMV kernel was a fifth of float32 n = 8)
    } else {
      w.noalias() = b * v;
    }
    const R top = w.maxCoeff();
    if (!(top > R(0))) return 0;  // |A| nilpotent: α = 0
    if (j >= 2 && j < order) {
      R r_lo = std::numeric_limits<R>::infinity(), r_hi = 0;
      for (Eigen::Index i = 0; i < v.size(); ++i) {
        if (v[i] > R(0)) {
          const R ratio = w[i] / v[i];
          r_lo = std::min(r_lo, ratio);
          r_hi = std::max(r_hi, ratio);
        } else if (w[i] > R(0)) {
          r_hi = std::numeric_limits<R>::infinity();  // no upper bound from this v
        }
      }
      if (r_lo > R(0) && std::isfinite(r_hi)) {
        const double base = std::log2(static_cast<double>(top)) + exponent + offset;
        const int lo = ell_of(base + (order - j) * std::log2(static_cast<double>(r_lo)));
        if (lo == ell_of(base + (order - j) * std::log2(static_cast<double>(r_hi)))) return lo;
      }
    }
    v.swap(w);
    if (top < tiny) {  // rescale (exactly) before the entries leave the normal range
      int e = 0;
      std::frexp(top, &e);
      ldexp_inplace(v, -e);
      exponent += e;
    }
  }
  return ell_of(std::log2(static_cast<double>(v.maxCoeff())) + exponent + offset);
}

// ℓ(2^shift A, m) of AH2009 eq. (5.1) for the Padé degree m; a1 = ||A||_1.
template <class Mat>
int expm_ell(const Mat& a, real_t<typename Mat::Scalar> a1, int m, int shift = 0) {
  return expm_ell_order(a, a1, 2 * m + 1, expm_coef::inv_abs_c(m), shift);
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
