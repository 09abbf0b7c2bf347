// The matrix exponential of one matrix by scaling and squaring with Padé approximants, and the
// Fréchet derivative along the same chain.
//
// Algorithm: Al-Mohy & Higham 2009, "A new scaling and squaring algorithm for the matrix
// exponential" (Alg. 5.1): the degree m ∈ {3, 5, 7, 9, 13} (single precision: {3, 5, 7}) and the
// number of squarings s are chosen per matrix from d_k = ||A^k||_1^(1/k) (exact norms of the
// powers the Padé evaluation needs anyway, upper bounds ||A^(j+k)|| <= ||A^j|| ||A^k|| elsewhere,
// and, for the top degree, ||A^8||, ||A^10|| exactly for n <= 32 (two small products cost less than
// an estimate) or by the Hager–Higham 1-norm estimate beyond, as AH2009 and SciPy),
// s = max(0, ceil(log2(η/θ_m))) plus the ℓ correction (AH2009 eq. (5.1)), which adds squarings
// until the leading remainder term taken on |A| is below u (non-normal matrices). Real 2×2
// matrices take the closed form of expm_2x2.h. For triangular input the diagonal and first
// off-diagonal are recomputed exactly after every squaring (AH2009 Code Fragment 2.1), as SciPy.
// Real float32 matrices with n >= 9 replace Padé 7 as the top degree by Bader–Blanes–Casas'
// Taylor T_18 (expm_taylor.h, selected the same way from its own θ but without the ℓ correction,
// as BBC 2019), which needs no LU; see expm_uses_taylor.
//
// Fréchet derivative: Al-Mohy & Higham 2009, "Computing the Fréchet derivative of the matrix
// exponential, with an application to condition number estimation" (Alg. 6.4): L(A, E) is the
// exact derivative of the computed r_m(2^-s A)^(2^s), the powers M_2k = L(A^2k, E) by eqs.
// (6.11)-(6.13) and L_{j+1} = R_j L_j + L_j R_j through the squarings. It uses the degree and
// scaling that expm picks for A (not the slightly smaller ℓ_m thresholds of AH2009b), so the
// backward of expm is the derivative of exactly the forward's chain; the ℓ_m/θ_m gap changes the
// derivative's truncation error bound by less than a factor of 2 of u.
//
// Storage: column-major n×n buffers. Every function here commutes with transposition
// (expm(A^T) = expm(A)^T, L(A^T, E^T) = L(A, E)^T), so row-major callers may pass their slices
// as they are; see cc/core/small_lu.h. n <= 8 and n = 16 run with fixed-size Eigen matrices (see mat_mul).
#pragma once

#include <Eigen/Core>
#include <Eigen/LU>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "avx512.h"
#include "expm_2x2.h"
#include "expm_coefficients.h"
#include "expm_matrix_ops.h"
#include "expm_taylor.h"
#include "lu.h"
#include "scalar.h"
#include "small_lu.h"

namespace detexp {

// A lower estimate of ||X Y||_1 without forming the product: Hager's method (LAPACK xLACON with
// t = 1, at most 5 iterations) plus Higham's alternating test vector, as in SciPy's expm. The
// matrix-vector products by Eigen's GEMV (a lazy product reads rows of column-major storage).
template <class Mat>
real_t<typename Mat::Scalar> norm1_est_product(const Mat& x, const Mat& y) {
  using T = typename Mat::Scalar;
  using R = real_t<T>;
  using Vec = Eigen::Matrix<T, Mat::RowsAtCompileTime, 1, Eigen::ColMajor, Mat::MaxRowsAtCompileTime, 1>;
  const Eigen::Index n = x.rows();
  Vec v = Vec::Constant(n, T(R(1) / R(n)));
  R est = 0;
  Eigen::Index last = -1;
  for (int it = 0; it < 5; ++it) {
    const Vec w = x * (y * v).eval();
    const R nw = w.cwiseAbs().sum();
    if (it > 0 && nw <= est) break;
    est = nw;
    Vec xi(n);
    for (Eigen::Index i = 0; i < n; ++i) {
      const R mod = modulus(w(i));
      xi(i) = mod > R(0) ? w(i) / T(mod) : T(1);
    }
    const Vec z = y.adjoint() * (x.adjoint() * xi).eval();
    Eigen::Index j = 0;
    const R zmax = z.cwiseAbs().maxCoeff(&j);
    if (it > 0 && (zmax <= real_part(T(z.dot(v))) || j == last)) break;
    v.setZero();
    v(j) = T(1);
    last = j;
  }
  Vec b(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const R mag = R(1) + (n > 1 ? R(i) / R(n - 1) : R(0));
    b(i) = T((i % 2) ? -mag : mag);
  }
  const R alt = R(2) * (x * (y * b).eval()).cwiseAbs().sum() / R(3 * n);
  return std::max(est, alt);
}

// The scaled powers X^k, X = 2^-s A, that the Padé evaluation uses, with the chosen m and s.
template <class Mat>
struct ExpmState {
  Mat A, A2, A4, A6, A8;  // A8 only for m = 9
  int m = 0;
  int s = 0;
};

// X = 2^-s A and its powers for the top degree: the powers of A scaled by 2^-2s, 2^-4s, 2^-6s
// when their norms are finite, else recomputed from X.
template <class Mat>
void scale_powers(ExpmState<Mat>& st, bool powers_finite) {
  const int s = st.s;
  if (s == 0) return;
  ldexp_inplace(st.A, -s);
  if (powers_finite) {
    ldexp_inplace(st.A2, -2 * s);
    ldexp_inplace(st.A4, -4 * s);
    ldexp_inplace(st.A6, -6 * s);
  } else {
    mat_mul(st.A2, st.A, st.A);
    mat_mul(st.A4, st.A2, st.A2);
    mat_mul(st.A6, st.A4, st.A2);
  }
}

// Whether ||A^k||_1^(1/k) <= θ, as ||A^k||_1 <= θ^k (θ rounded to R first, as a comparison of the
// roots in R would; the root by std::pow was 9-25% of a float32 or float64 expm at n = 4, perf).
template <class R>
bool root_at_most(R norm_k, int k, double theta) {
  return static_cast<double>(norm_k) <= int_power(static_cast<double>(R(theta)), k);
}

// AH2009 Alg. 5.1 on st.A (finite); leaves the scaled powers in st.
template <class Mat>
void expm_select(ExpmState<Mat>& st) {
  using T = typename Mat::Scalar;
  using R = real_t<T>;
  using Tab = ExpmTable<R>;
  constexpr int top = Tab::kCount - 1;
  const R a1 = norm1(st.A);
  st.s = 0;
  mat_mul(st.A2, st.A, st.A);
  const R n2 = norm1(st.A2);
  // max(d4, d6) <= ||A^2||^(1/2)
  if (std::sqrt(n2) <= R(Tab::kTheta[0]) && expm_ell(st.A, a1, 3) == 0) {
    st.m = 3;
    return;
  }
  mat_mul(st.A4, st.A2, st.A2);
  const R n4 = norm1(st.A4);
  // max(d4, (||A^4|| ||A^2||)^(1/6)) <= θ_5
  if (root_at_most(n4, 4, Tab::kTheta[1]) && root_at_most(n4 * n2, 6, Tab::kTheta[1]) &&
      expm_ell(st.A, a1, 5) == 0) {
    st.m = 5;
    return;
  }
  mat_mul(st.A6, st.A4, st.A2);
  const R n6 = norm1(st.A6);
  R n8 = -1;
  if constexpr (Tab::kCount == 5) {
    if (root_at_most(n6, 6, Tab::kTheta[3])) {  // d6 <= θ_9
      mat_mul(st.A8, st.A4, st.A4);
      n8 = norm1(st.A8);
      for (int k = 2; k <= 3; ++k) {  // η_3 = max(d6, d8) <= θ_7, θ_9
        if (root_at_most(n6, 6, Tab::kTheta[k]) && root_at_most(n8, 8, Tab::kTheta[k]) &&
            expm_ell(st.A, a1, Tab::kDegree[k]) == 0) {
          st.m = Tab::kDegree[k];
          return;
        }
      }
    }
  }
  // Top degree with scaling.
  const int m = Tab::kDegree[top];
  const R theta = R(Tab::kTheta[top]);
  const bool powers_finite = std::isfinite(n6) && std::isfinite(n4) && std::isfinite(n2);
  R eta5 = a1;
  if (powers_finite) {
    R n10;
    if (st.A.rows() <= kExpmExactPowerNormMaxNCpu) {  // exact norms (expm_coefficients.h)
      if (n8 < 0) {
        mat_mul(st.A8, st.A4, st.A4);  // the top degree's evaluation does not use A8
        n8 = norm1(st.A8);
      }
      Mat a10;
      mat_mul(a10, st.A4, st.A6);
      n10 = norm1(a10);
    } else {
      if (n8 < 0) n8 = norm1_est_product(st.A4, st.A4);
      n10 = norm1_est_product(st.A4, st.A6);
    }
    const R d6 = std::pow(n6, R(1) / 6), d8 = std::pow(n8, R(0.125)), d10 = std::pow(n10, R(0.1));
    eta5 = std::min(std::max(d6, d8), std::max(d8, d10));
    if (!std::isfinite(eta5)) eta5 = a1;
  }
  int s = 0;
  if (eta5 > theta) s = static_cast<int>(std::ceil(std::log2(static_cast<double>(eta5) / theta)));
  s = std::max(s, 0);
  s += expm_ell(st.A, a1, m, -s);
  s = std::min(s, Tab::kMaxSquarings);
  st.m = m;
  st.s = s;
  scale_powers(st, powers_finite);
}

// The selection of the Taylor-top path (expm_uses_taylor): Padé 3 or 5 where their tests pass on
// the bound max(d4, d6) <= ||A^2||^(1/2) (Padé keeps the last bits for small norms: on n = 32
// float32 matrices with ||A|| ~ 0.2, 6e-8 against a Taylor T_12 prototype's 5e-7 relative error;
// no A^4 product is spent on a test that fails). False, with A^2 formed, where T_18 takes over;
// a1 = ||A||_1 and n2 = ||A^2||_1 for taylor_select either way.
template <class Mat>
bool expm_select_low_pade(ExpmState<Mat>& st, real_t<typename Mat::Scalar>& a1, real_t<typename Mat::Scalar>& n2) {
  using R = real_t<typename Mat::Scalar>;
  using Tab = ExpmTable<R>;
  a1 = norm1(st.A);
  st.s = 0;
  mat_mul(st.A2, st.A, st.A);
  n2 = norm1(st.A2);
  const R d2 = std::sqrt(n2);
  for (int k = 0; k < 2; ++k) {
    if (d2 <= R(Tab::kTheta[k]) && expm_ell(st.A, a1, Tab::kDegree[k]) == 0) {
      st.m = Tab::kDegree[k];
      if (st.m == 5) mat_mul(st.A4, st.A2, st.A2);
      return true;
    }
  }
  return false;
}

// The state expm_select leaves for A when it chose (m, s) = decode(code) before (Detexp>Expm's
// choice output): the powers the degree needs, by the same products and scalings, without the
// norm tests, the ℓ products and the ||A^8||, ||A^10|| work. code is expm_choice_valid.
template <class Mat>
void expm_restore(ExpmState<Mat>& st, int code) {
  st.m = expm_choice_degree(code);
  st.s = expm_choice_squarings(code);
  mat_mul(st.A2, st.A, st.A);
  if (st.m >= 5) mat_mul(st.A4, st.A2, st.A2);
  if (st.m >= 7) mat_mul(st.A6, st.A4, st.A2);
  if (st.m == 9) mat_mul(st.A8, st.A4, st.A4);
  if (st.s == 0) return;  // only the top degree scales, and it has A2, A4, A6
  scale_powers(st, std::isfinite(norm1(st.A6)) && std::isfinite(norm1(st.A4)) && std::isfinite(norm1(st.A2)));
}

// U, V with r_m(X) = (V - U)^{-1} (U + V) (Higham 2005 eqs. (2.3), (10.3)) and, when e is given,
// Lu = L_U(X, E), Lv = L_V(X, E) (AH2009b eqs. (6.11)-(6.13), as SciPy's expm_frechet).
template <class Mat>
void pade_uv(const ExpmState<Mat>& st, Mat& u, Mat& v, const Mat* e, Mat* lu, Mat* lv) {
  using T = typename Mat::Scalar;
  using R = real_t<T>;
  // Coefficients divided by b_0, so that V = I + ... and U = X/2 + ...: r_m is unchanged and the
  // rounding is smaller (on Moler–Van Loan's matrix 4.7e-15 instead of 1.0e-14 relative error).
  const int m = st.m;
  double b[14] = {};
  for (int j = 0; j <= m; ++j) b[j] = expm_coef::pade_b(m, j);
  const auto c = [b0 = b[0]](double x) { return T(R(x / b0)); };
  const Eigen::Index n = st.A.rows();
  const Mat& A = st.A;
  if (st.m != 13) {
    Mat w = c(b[3]) * st.A2;
    w.diagonal().array() += c(b[1]);
    v = c(b[2]) * st.A2;
    v.diagonal().array() += c(b[0]);
    if (st.m >= 5) {
      w += c(b[5]) * st.A4;
      v += c(b[4]) * st.A4;
    }
    if (st.m >= 7) {
      w += c(b[7]) * st.A6;
      v += c(b[6]) * st.A6;
    }
    if (st.m >= 9) {
      w += c(b[9]) * st.A8;
      v += c(b[8]) * st.A8;
    }
    mat_mul(u, A, w);
    if (e == nullptr) return;
    const Mat& E = *e;
    Mat m2, m4, m6, m8;
    mat_mul(m2, A, E);
    mat_mul(m2, E, A, true);
    Mat lw = c(b[3]) * m2;
    *lv = c(b[2]) * m2;
    if (st.m >= 5) {
      mat_mul(m4, st.A2, m2);
      mat_mul(m4, m2, st.A2, true);
      lw += c(b[5]) * m4;
      *lv += c(b[4]) * m4;
    }
    if (st.m >= 7) {
      mat_mul(m6, st.A4, m2);
      mat_mul(m6, m4, st.A2, true);
      lw += c(b[7]) * m6;
      *lv += c(b[6]) * m6;
    }
    if (st.m >= 9) {
      mat_mul(m8, st.A4, m4);
      mat_mul(m8, m4, st.A4, true);
      lw += c(b[9]) * m8;
      *lv += c(b[8]) * m8;
    }
    mat_mul(*lu, A, lw);
    mat_mul(*lu, E, w, true);
    return;
  }
  const Mat w1 = c(b[13]) * st.A6 + c(b[11]) * st.A4 + c(b[9]) * st.A2;
  const Mat z1 = c(b[12]) * st.A6 + c(b[10]) * st.A4 + c(b[8]) * st.A2;
  Mat w = c(b[7]) * st.A6 + c(b[5]) * st.A4 + c(b[3]) * st.A2;
  w.diagonal().array() += c(b[1]);
  mat_mul(w, st.A6, w1, true);
  mat_mul(u, A, w);
  v = c(b[6]) * st.A6 + c(b[4]) * st.A4 + c(b[2]) * st.A2;
  v.diagonal().array() += c(b[0]);
  mat_mul(v, st.A6, z1, true);
  if (e == nullptr) return;
  (void)n;
  const Mat& E = *e;
  Mat m2, m4, m6;
  mat_mul(m2, A, E);
  mat_mul(m2, E, A, true);
  mat_mul(m4, st.A2, m2);
  mat_mul(m4, m2, st.A2, true);
  mat_mul(m6, st.A4, m2);
  mat_mul(m6, m4, st.A2, true);
  const Mat lw1 = c(b[13]) * m6 + c(b[11]) * m4 + c(b[9]) * m2;
  const Mat lz1 = c(b[12]) * m6 + c(b[10]) * m4 + c(b[8]) * m2;
  Mat lw = c(b[7]) * m6 + c(b[5]) * m4 + c(b[3]) * m2;
  mat_mul(lw, st.A6, lw1, true);
  mat_mul(lw, m6, w1, true);
  mat_mul(*lu, A, lw);
  mat_mul(*lu, E, w, true);
  *lv = c(b[6]) * m6 + c(b[4]) * m4 + c(b[2]) * m2;
  mat_mul(*lv, st.A6, lz1, true);
  mat_mul(*lv, m6, z1, true);
}

// 1: upper triangular (diagonal included), -1: lower triangular, 0: neither.
template <class Mat>
int triangular_kind(const Mat& a) {
  bool upper = true, lower = true;
  const Eigen::Index n = a.rows();
  for (Eigen::Index j = 0; j < n && (upper || lower); ++j) {
    for (Eigen::Index i = 0; i < n; ++i) {
      if (a(i, j) == typename Mat::Scalar(0)) continue;
      if (i > j) upper = false;
      if (i < j) lower = false;
    }
  }
  return upper ? 1 : (lower ? -1 : 0);
}

// (e^{l1} - e^{l2}) / (l1 - l2) = e^{(l1+l2)/2} sinh(z)/z, z = (l1 - l2)/2, without cancellation
// (Higham, Functions of Matrices, eq. (10.42)).
template <class T>
T exp_divided_difference(const T& l1, const T& l2) {
  using R = real_t<T>;
  const T z = (l1 - l2) / T(R(2));
  const T mean = (l1 + l2) / T(R(2));
  const T sinhc = modulus(z) < R(1e-3) ? T(R(1)) + z * z / T(R(6)) * (T(R(1)) + z * z / T(R(20)))
                                       : T(std::sinh(z) / z);
  return T(std::exp(mean)) * sinhc;
}

// For triangular X: overwrite the diagonal (and, with offdiag, the first off-diagonal) of
// R ≈ exp(2^e X) by their exact values (AH2009 Code Fragment 2.1).
template <class Mat>
void fix_triangular(Mat& r, const Mat& x, int kind, int e, bool offdiag) {
  using T = typename Mat::Scalar;
  const Eigen::Index n = x.rows();
  for (Eigen::Index k = 0; k < n; ++k) r(k, k) = T(std::exp(ldexp_scalar(x(k, k), e)));
  if (!offdiag) return;
  for (Eigen::Index k = 0; k + 1 < n; ++k) {
    const Eigen::Index i = kind > 0 ? k : k + 1, j = kind > 0 ? k + 1 : k;
    const T t = ldexp_scalar(x(i, j), e);
    r(i, j) = t == T(0) ? T(0)
                        : t * exp_divided_difference(ldexp_scalar(x(k, k), e),
                                                     ldexp_scalar(x(k + 1, k + 1), e));
  }
}

// Solves with V - U. Fixed sizes: the unrolled partial-pivot LU of small_lu.h and row operations
// on fixed-size rows (Eigen's PartialPivLU and triangular solves are not unrolled and cost more
// than all the products at n = 8, measured); n <= pade_right_looking_max (real 96, complex
// lu.h's right_looking_max): lu.h's right-looking elimination and Eigen's triangular solves on
// row-major right-hand sides; beyond, Eigen's blocked PartialPivLU. One LU and two solves (the
// backward's), one Zen 4 thread, AVX-512 copy, best of 15, Eigen -> this, µs: float32 n = 32
// 10.5 -> 8.5, 40 19.4 -> 16.4, 64 35.6 -> 33.3, 96 119 -> 92; float64 n = 32 16.5 -> 10.1,
// 64 96 -> 64, 96 283 -> 247 (at 128 no better: float32 290 -> 245, float64 519 -> 528).
template <class T>
constexpr int pade_right_looking_max = is_complex<T>::value ? right_looking_max<T> : 96;

template <class Mat, bool kFixed = Mat::RowsAtCompileTime != Eigen::Dynamic>
struct PadeSolver {
  using T = typename Mat::Scalar;
  using RowMajorMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::PartialPivLU<Mat> lu;  // n > pade_right_looking_max
  Mat f;                        // else the factors P Q = L U (small_lu.h's convention)
  std::vector<int> perm;
  explicit PadeSolver(const Mat& q) {
    const int n = static_cast<int>(q.rows());
    if (n > pade_right_looking_max<T>) {
      lu.compute(q);
      return;
    }
    f = q;
    perm.resize(n);
    lu_factor_right_looking(f.data(), n, perm.data());
  }
  Mat solve(const Mat& b) const {
    if (f.size() == 0) return lu.solve(b);
    RowMajorMat x(b.rows(), b.cols());
    for (Eigen::Index i = 0; i < b.rows(); ++i) x.row(i) = b.row(perm[i]);
    f.template triangularView<Eigen::UnitLower>().solveInPlace(x);
    f.template triangularView<Eigen::Upper>().solveInPlace(x);
    return Mat(x);
  }
};

template <class Mat>
struct PadeSolver<Mat, true> {
  static constexpr int N = Mat::RowsAtCompileTime;
  Mat f;
  int perm[N];
  explicit PadeSolver(const Mat& q) : f(q) { lu_factor_small<N>(f.data(), N, perm); }
  // The row operations run on a row-major copy: on column-major storage each one is N strided
  // scalar operations (the solve was a third of a float32 expm at n = 16, perf); the arithmetic
  // and its order are unchanged.
  Mat solve(const Mat& b) const {
    Eigen::Matrix<typename Mat::Scalar, N, N, N == 1 ? Eigen::ColMajor : Eigen::RowMajor> x;
    for (int i = 0; i < N; ++i) x.row(i) = b.row(perm[i]);
    for (int k = 0; k < N; ++k) {
      for (int i = k + 1; i < N; ++i) x.row(i) -= f(i, k) * x.row(k);
    }
    for (int k = N - 1; k >= 0; --k) {
      x.row(k) /= f(k, k);
      for (int i = 0; i < k; ++i) x.row(i) -= f(i, k) * x.row(k);
    }
    return Mat(x);
  }
};

// r := r^(2^s) with, when l is given, l := the derivative along the squarings (L_{j+1} = R_j L_j +
// L_j R_j, AH2009b Alg. 6.4), for r ≈ exp(X) and l its derivative. With want_r false (only l
// wanted) r is left one squaring short (the last squaring feeds only r). For triangular X the
// diagonal and first off-diagonal are exact after every squaring (fix_triangular).
template <class Mat>
void square_chain(const Mat& x, int s, Mat& r, Mat* l, bool want_r) {
  if (s == 0) return;
  const int kind = triangular_kind(x);
  if (kind != 0) fix_triangular(r, x, kind, 0, false);
  Mat tmp;
  for (int j = 1; j <= s; ++j) {
    if (l != nullptr) {
      mat_mul(tmp, r, (*l));
      mat_mul(tmp, (*l), r, true);
      l->swap(tmp);
      if (j == s && !want_r) break;
    }
    mat_mul(tmp, r, r);
    r.swap(tmp);
    if (kind != 0) fix_triangular(r, x, kind, j, true);
  }
}

// r := r_m(X)^(2^s) and, with l, l := its Fréchet derivative in the direction e (2^-s E).
template <class Mat>
void expm_from_state(const ExpmState<Mat>& st, Mat& r, const Mat* e, Mat* l, bool want_r = true) {
  Mat u, v, lu, lv;
  pade_uv(st, u, v, e, &lu, &lv);
  // r = (V - U)^{-1}(U + V) written as I + 2 (V - U)^{-1} U: the identity is added exactly, which
  // keeps the last bit for small ||X|| (same value and same derivative in exact arithmetic).
  PadeSolver<Mat> q(v - u);
  r = q.solve(u);
  r *= typename Mat::Scalar(2);
  r.diagonal().array() += typename Mat::Scalar(1);
  if (e != nullptr) {
    Mat rhs = lu + lv;
    const Mat diff = lu - lv;
    mat_mul(rhs, diff, r, true);
    *l = q.solve(rhs);
  }
  square_chain(st.A, st.s, r, l, want_r);
}

// The Taylor top degree (expm_taylor.h) for real float32 matrices with n >= 9 (run-time sizes and
// the fixed 16): where Padé 3 and 5 do not serve, T_18 (5 products, no solve) replaces Padé 7 (4
// products, an LU and triangular solves, which cost more than the products at n = 32..96; at the
// fixed n = 16, one thread: forward 3.8 -> 2.8 µs, backward 4.1 -> 2.7). Fixed n <= 8 keep Padé 7
// (unrolled LU; T_18 no faster at n = 4..8, measured); float64 keeps Padé 13 (T_18 with θ_18 =
// 1.09 needs 2-3 more squarings and was 3-18x less exact than Padé 13 on random, non-normal and
// badly scaled n = 12, 20 matrices against mpmath); complex64 keeps Padé 7 (no gain at n = 64).
template <int N, class T>
constexpr bool expm_uses_taylor = (N == Eigen::Dynamic || N == 16) && ExpmTaylorTable<T>::kCount > 0;

// Whether code is one the (N, T) path can produce: the Padé table's codes where Padé alone runs;
// the Taylor degree and the lower Padé degrees where expm_uses_taylor.
template <int N, class T>
bool expm_choice_runs_here(int code) {
  using R = real_t<T>;
  if (code == kExpmChoiceNone) return false;
  if (expm_choice_is_taylor<R>(code)) return expm_uses_taylor<N, T>;
  return !expm_uses_taylor<N, T> ||
         expm_degree_kind<ExpmTable<R>>(expm_choice_degree(code)) == ExpmDegreeKind::kLower;
}

// The chain for A (in st.A): the Padé state st, or the Taylor state ts (true). choice: a code
// to restore (expm_choice_runs_here), or kExpmChoiceNone to select.
template <int N, class T, class Mat>
bool expm_prepare(ExpmState<Mat>& st, TaylorState<Mat>& ts, int choice) {
  if constexpr (expm_uses_taylor<N, T>) {
    real_t<T> a1 = 0, n2 = 0;
    if (choice != kExpmChoiceNone ? expm_choice_is_taylor<real_t<T>>(choice) : !expm_select_low_pade(st, a1, n2)) {
      ts.basis[1].swap(st.A);
      if (choice != kExpmChoiceNone) {
        taylor_restore(ts, choice);
      } else {
        ts.basis[2].swap(st.A2);
        taylor_select(ts, a1, n2);
      }
      return true;
    }
    if (choice != kExpmChoiceNone) expm_restore(st, choice);
    return false;
  } else {
    if (choice != kExpmChoiceNone) {
      expm_restore(st, choice);
    } else {
      expm_select(st);
    }
    return false;
  }
}

// r := exp(X)^(2^s) by the prepared chain and, with l, its Fréchet derivative in the direction e
// (2^-s E). With want_r false r is left one squaring short (square_chain).
template <class Mat>
void expm_run(ExpmState<Mat>& st, TaylorState<Mat>& ts, bool taylor, Mat& r, const Mat* e, Mat* l, bool want_r) {
  if (taylor) {
    taylor_evaluate(ts, r, e, l);
    square_chain(ts.basis[1], ts.s, r, l, want_r);
  } else {
    expm_from_state<Mat>(st, r, e, l, want_r);
  }
}

template <class T>
void fill_nan(T* out, index_t count) {
  using R = real_t<T>;
  const T nan = make_scalar<T>(quiet_nan<R>(), is_complex<T>::value ? quiet_nan<R>() : R(0));
  std::fill(out, out + count, nan);
}

template <int N, int MaxN, class T>
void expm_sized(const T* a, int n, T* out, int* choice) {
  using Mat = ExpmMat<N, MaxN, T>;
  const index_t nn = static_cast<index_t>(n) * n;
  if (!all_finite(a, nn)) return fill_nan(out, nn);
  ExpmState<Mat> st;
  TaylorState<Mat> ts;
  st.A = Eigen::Map<const Mat>(a, n, n);
  const bool taylor = expm_prepare<N, T>(st, ts, kExpmChoiceNone);
  if (choice != nullptr) *choice = taylor ? expm_choice_code(ts.m, ts.s) : expm_choice_code(st.m, st.s);
  Mat r;
  expm_run<Mat>(st, ts, taylor, r, nullptr, nullptr, true);
  Eigen::Map<Mat>(out, n, n) = r;
}

// (exp(A), L(A, E)) when adjoint is false; L(A^H, E) with the degree and scaling chosen for A
// (the exact adjoint of E ↦ L(A, E) as computed) when adjoint is true. r_out may be null.
// choice: expm's (m, s) for A (expm_choice_code), or kExpmChoiceNone to select them here (also
// for a valid code that this size and type cannot produce: the other family's).
template <int N, int MaxN, class T>
void expm_frechet_sized(const T* a, const T* e, int n, bool adjoint, int choice, T* r_out, T* l_out) {
  using Mat = ExpmMat<N, MaxN, T>;
  const index_t nn = static_cast<index_t>(n) * n;
  if (!all_finite(a, nn) || !all_finite(e, nn)) {
    if (r_out != nullptr) {
      if (all_finite(a, nn)) {
        expm_sized<N, MaxN, T>(a, n, r_out, nullptr);
      } else {
        fill_nan(r_out, nn);
      }
    }
    return fill_nan(l_out, nn);
  }
  if (!expm_choice_runs_here<N, T>(choice)) choice = kExpmChoiceNone;
  ExpmState<Mat> st;
  TaylorState<Mat> ts;
  st.A = Eigen::Map<const Mat>(a, n, n);
  const bool taylor = expm_prepare<N, T>(st, ts, choice);
  // The adjoint by L(A^H, G) = L(A, G^H)^H (exp(X^H) = exp(X)^H): two transposes (of G and of
  // the result) instead of one per power of the state; the same computed chain up to the order
  // of two-term sums.
  Mat ee;
  if (adjoint) {
    ee = Eigen::Map<const Mat>(e, n, n).adjoint();
  } else {
    ee = Eigen::Map<const Mat>(e, n, n);
  }
  ldexp_inplace(ee, taylor ? -ts.s : -st.s);
  Mat r, l;
  expm_run<Mat>(st, ts, taylor, r, &ee, &l, r_out != nullptr);
  if (r_out != nullptr) Eigen::Map<Mat>(r_out, n, n) = r;
  if (adjoint) {
    Eigen::Map<Mat>(l_out, n, n) = l.adjoint();
  } else {
    Eigen::Map<Mat>(l_out, n, n) = l;
  }
}

template <int N, int MaxN>
struct ExpmSize {
  static constexpr int kN = N, kMax = MaxN;
};

// Calls f(ExpmSize<N, MaxN>) for the instantiation that serves n (n >= 2).
template <class F>
void dispatch_expm_size(int n, F&& f) {
  switch (n) {
    case 2: return f(ExpmSize<2, 2>());
    case 3: return f(ExpmSize<3, 3>());
    case 4: return f(ExpmSize<4, 4>());
    case 5: return f(ExpmSize<5, 5>());
    case 6: return f(ExpmSize<6, 6>());
    case 7: return f(ExpmSize<7, 7>());
    case 8: return f(ExpmSize<8, 8>());
    case 16: return f(ExpmSize<16, 16>());
    default: return f(ExpmSize<Eigen::Dynamic, Eigen::Dynamic>());
  }
}

// out := exp(A), n×n column-major. NaN or Inf anywhere in A gives an all-NaN result. Real 2×2
// matrices take the closed form of expm_2x2.h (no squarings); everything else scaling and squaring.
// choice (may be null): the (m, s) chosen, expm_choice_code, or kExpmChoiceNone.
template <class T>
void expm_matrix(const T* a, int n, T* out, int* choice) {
  DETEXP_USE_AVX512(expm_matrix(a, n, out, choice));
  if (choice != nullptr) *choice = kExpmChoiceNone;
  if (n <= 0) return;
  if (n == 1) {
    out[0] = all_finite(a, 1) ? T(std::exp(a[0])) : make_scalar<T>(quiet_nan<real_t<T>>());
    return;
  }
  if constexpr (!is_complex<T>::value) {  // real 2×2: the closed form (expm_2x2.h), ~1 ulp
    if (n == 2 && all_finite(a, 4) && expm_2x2_real(a, out)) return;
  }
  dispatch_expm_size(n, [&](auto size) {
    using S = decltype(size);
    expm_sized<S::kN, S::kMax, T>(a, n, out, choice);
  });
}

// (r, l) := (exp(A), L(A, E)); r may be null. NaN/Inf in A or E gives NaN in l.
template <class T>
void expm_frechet_matrix(const T* a, const T* e, int n, T* r, T* l) {
  DETEXP_USE_AVX512(expm_frechet_matrix(a, e, n, r, l));
  if (n <= 0) return;
  if (n == 1) {  // exp is its own derivative
    const T x = T(std::exp(a[0]));
    if (r != nullptr) r[0] = all_finite(a, 1) ? x : make_scalar<T>(quiet_nan<real_t<T>>());
    l[0] = all_finite(a, 1) && all_finite(e, 1) ? x * e[0] : make_scalar<T>(quiet_nan<real_t<T>>());
    return;
  }
  dispatch_expm_size(n, [&](auto size) {
    using S = decltype(size);
    expm_frechet_sized<S::kN, S::kMax, T>(a, e, n, false, kExpmChoiceNone, r, l);
  });
}

// out := L(A^H, G), the gradient of Re tr(G^H exp(A)) with respect to A (TF's convention), for
// the degree and scaling expm_matrix uses for A: `choice` as expm_matrix returned it for A
// (skips the selection), or kExpmChoiceNone (selects them again, with the same result).
template <class T>
void expm_frechet_adjoint_matrix(const T* a, const T* g, int n, int choice, T* out) {
  DETEXP_USE_AVX512(expm_frechet_adjoint_matrix(a, g, n, choice, out));
  if (n <= 0) return;
  if (n == 1) {
    out[0] = all_finite(a, 1) && all_finite(g, 1) ? T(std::exp(conj_of(a[0]))) * g[0]
                                                  : make_scalar<T>(quiet_nan<real_t<T>>());
    return;
  }
  dispatch_expm_size(n, [&](auto size) {
    using S = decltype(size);
    expm_frechet_sized<S::kN, S::kMax, T>(a, g, n, true, choice, nullptr, out);
  });
}

}  // namespace detexp

// Compiled once per dtype in cc/core/instances/ (see lu.h).
#ifndef DETEXP_CORE_INSTANTIATE
#define DETEXP_EXPM_DECLARE(T)                                                               \
  extern template void detexp::expm_matrix<T>(const T*, int, T*, int*);                      \
  extern template void detexp::expm_frechet_matrix<T>(const T*, const T*, int, T*, T*);      \
  extern template void detexp::expm_frechet_adjoint_matrix<T>(const T*, const T*, int, int, T*);
DETEXP_FOR_EACH_DTYPE(DETEXP_EXPM_DECLARE)
#undef DETEXP_EXPM_DECLARE
#endif
