// The truncated Taylor series T_18(X) of the matrix exponential by the product scheme of Bader,
// Blanes & Casas, and its Fréchet derivative along the same products; the scaling and squaring
// around it is expm.h's (shared with the Padé chain), which uses it as the top degree for real
// float32 matrices with n >= 9.
//
// Scheme: P. Bader, S. Blanes, F. Casas, "Computing the matrix exponential with an optimized
// Taylor polynomial approximation", Mathematics 7 (2019) 1174, eq. (11) and Table 1 (the same
// coefficients as PyTorch's matrix_exp): T_18 in 5 products and no linear solve. The scheme is a
// list of products P_k = L_k R_k whose factors are linear combinations of the basis
// {I, X, P_0, ..., P_{k-1}}, and a final combination; the table reproduces the Taylor
// coefficients 1/k!, k <= 18, to 1e-15 relative (checked by polynomial arithmetic).
//
// Selection (AH2009 Alg. 5.1 with the Taylor remainder in place of the Padé error): s =
// ceil(log2(α/θ_18)), α = min(α_3, α_4), α_p = max(d_p, d_{p+1}), d_k = ||A^k||^(1/k) (valid for
// p(p-1) <= 19, AH2009 Theorem 4.2), from exact ||A||, ||A^2||, ||A^3|| and the bounds
// ||A^(j+k)|| <= ||A^j|| ||A^k|| (sharpened by the exact ||A^4||, ||A^5|| where that saves
// squarings). No ℓ guard (AH2009 eq. (5.1)), as in BBC 2019's own selection: see taylor_select.
//
// Fréchet derivative: d(L R) = dL R + L dR through every product (2 products per product), so
// L(X, E) is the exact derivative of the computed polynomial, as for the Padé chain.
#pragma once

#include <algorithm>
#include <cmath>

#include "expm_coefficients.h"
#include "expm_matrix_ops.h"

namespace detexp {

// Basis entries: I, X and the 5 products.
constexpr int kTaylorBasisMax = 7;

struct TaylorProduct {
  double left[kTaylorBasisMax];
  double right[kTaylorBasisMax];
};

// products: the number of products; powers: how many of the first products are the powers X^2,
// X^3 that the selection forms (as X X and X^2 X, from the unscaled A) before it picks s.
struct TaylorScheme {
  int products = 0;
  int powers = 0;
  TaylorProduct product[kTaylorBasisMax - 2] = {};
  double result[kTaylorBasisMax] = {};
};

namespace taylor_detail {

// BBC 2019 Table 1: rows B_i = Σ_j b_ij Y_j over Y = {I, X, X^2, X^3, X^6}.
constexpr double kB18[5][5] = {
    {0., -1.00365581030144618291e-01, -8.02924648241156932449e-03, -8.92138498045729985177e-04, 0.},
    {0., 3.97849749499645077844e-01, 1.36783778460411720168e+00, 4.98289622525382669416e-01,
     -6.37898194594723280150e-04},
    {-1.09676396052962061844e+01, 1.68015813878906206114e+00, 5.71779846478865511061e-02,
     -6.98210122488052056106e-03, 3.34975017086070470649e-05},
    {-9.04316832390810593223e-02, -6.76404519071381882256e-02, 6.75961301770459654925e-02,
     2.95552570429315521194e-02, -1.39180257516060693404e-05},
    {0., 0., -9.23364619367118555360e-02, -1.69364939002081722752e-02, -1.40086798182036094347e-05}};

// c := Σ rows (each of width `width`) plus the unit entries `units`.
inline void set_combination(double* c, std::initializer_list<const double*> rows, int width,
                            std::initializer_list<int> units) {
  for (const double* row : rows) {
    for (int j = 0; j < width; ++j) c[j] += row[j];
  }
  for (int j : units) c[j] += 1.0;
}

// X^2 = X X, X^3 = X^2 X, X^6 = (X^3)^2, P5 = B0 B4, A9 = B3 + P5, P6 = (B2 + A9) A9, T18 = B1 + P6
// (basis indices: 0 I, 1 X, 2 X^2, 3 X^3, 4 X^6, 5 P5, 6 P6).
inline TaylorScheme make_t18() {
  TaylorScheme sc;
  sc.products = 5;
  sc.powers = 2;
  sc.product[0].left[1] = sc.product[0].right[1] = 1.0;
  sc.product[1].left[2] = sc.product[1].right[1] = 1.0;
  sc.product[2].left[3] = sc.product[2].right[3] = 1.0;
  set_combination(sc.product[3].left, {kB18[0]}, 5, {});
  set_combination(sc.product[3].right, {kB18[4]}, 5, {});
  set_combination(sc.product[4].left, {kB18[2], kB18[3]}, 5, {5});
  set_combination(sc.product[4].right, {kB18[3]}, 5, {5});
  set_combination(sc.result, {kB18[1]}, 5, {6});
  return sc;
}

}  // namespace taylor_detail

inline const TaylorScheme& taylor_t18() {
  static const TaylorScheme scheme = taylor_detail::make_t18();
  return scheme;
}

// basis[1] = X = 2^-s A and basis[2 + k] the products formed so far (done of them); basis[0] (I)
// is implicit.
template <class Mat>
struct TaylorState {
  Mat basis[kTaylorBasisMax];
  int m = 0;
  int s = 0;
  int done = 0;
};

// Σ_j c_j Y_j over Y = basis[0..count) with Y_0 = I when identity, else Y_0 = 0 (a derivative
// basis): a reference to Y_j itself when c is the unit vector e_j, else formed in scratch, in
// blocks that stay in L1 with the terms added in the order of j (one pass per term over the
// whole matrix was a fifth of a float32 forward at n = 32, perf).
template <class Mat>
const Mat& taylor_combination(const double* c, const Mat* basis, int count, bool identity, Mat& scratch) {
  using T = typename Mat::Scalar;
  using R = real_t<T>;
  const T* term[kTaylorBasisMax];
  T coef[kTaylorBasisMax];
  int terms = 0;
  for (int j = 1; j < count; ++j) {
    if (c[j] == 0.0) continue;
    term[terms] = basis[j].data();
    coef[terms++] = T(R(c[j]));
  }
  const bool with_identity = identity && c[0] != 0.0;
  if (terms == 1 && coef[0] == T(1) && !with_identity) {
    for (int j = 1; j < count; ++j) {
      if (c[j] != 0.0) return basis[j];
    }
  }
  const Eigen::Index n = basis[1].rows(), size = n * n;
  scratch.resize(n, n);
  T* out = scratch.data();
  constexpr Eigen::Index kBlock = 512;
  for (Eigen::Index i0 = 0; i0 < size; i0 += kBlock) {
    const Eigen::Index len = std::min(kBlock, size - i0);
    T* o = out + i0;
    if (terms == 0) std::fill(o, o + len, T(0));
    for (int t = 0; t < terms; ++t) {
      const T* p = term[t] + i0;
      const T ct = coef[t];
      if (t == 0) {
        for (Eigen::Index k = 0; k < len; ++k) o[k] = ct * p[k];
      } else {
        for (Eigen::Index k = 0; k < len; ++k) o[k] += ct * p[k];
      }
    }
  }
  if (with_identity) scratch.diagonal().array() += T(R(c[0]));
  return scratch;
}

// basis[2 + k] := product k of the scheme (the powers: the same products in select and restore).
template <class Mat>
void taylor_product(TaylorState<Mat>& st, const TaylorScheme& sc, int k, Mat& sl, Mat& sr) {
  const Mat& l = taylor_combination(sc.product[k].left, st.basis, 2 + k, true, sl);
  const Mat& r = taylor_combination(sc.product[k].right, st.basis, 2 + k, true, sr);
  mat_mul(st.basis[2 + k], l, r);
}

// X = 2^-s A and its powers: X^2, X^3 scaled by 2^-2s, 2^-3s when their norms are finite, else
// formed again from X.
template <class Mat>
void taylor_scale(TaylorState<Mat>& st, bool powers_finite) {
  if (st.s == 0) return;
  ldexp_inplace(st.basis[1], -st.s);
  if (powers_finite) {
    for (int k = 0; k < st.done; ++k) ldexp_inplace(st.basis[2 + k], -(k + 2) * st.s);
    return;
  }
  Mat sl, sr;
  const TaylorScheme& sc = taylor_t18();
  for (int k = 0; k < st.done; ++k) taylor_product(st, sc, k, sl, sr);
}

// Selects s for T_18 and A = basis[1] (finite), with A^2 = basis[2], a1 = ||A||_1 and
// n2 = ||A^2||_1 formed by the caller (the Padé degrees it tried first need them); leaves
// basis[1..3] as taylor_evaluate expects.
template <class Mat>
void taylor_select(TaylorState<Mat>& st, real_t<typename Mat::Scalar> a1, real_t<typename Mat::Scalar> n2) {
  using R = real_t<typename Mat::Scalar>;
  constexpr int m = ExpmTaylorTable<R>::kDegree[0];
  const Mat& a = st.basis[1];
  Mat sl, sr;
  taylor_product(st, taylor_t18(), 1, sl, sr);  // X^3
  st.done = 2;
  const R n3 = norm1(st.basis[3]);
  // p = 3, 4: d4 <= min(||A^2||^2, ||A^3|| ||A||)^(1/4), d5 <= min(||A^4|| ||A||, ||A^2|| ||A^3||)^(1/5).
  const double theta = ExpmTaylorTable<R>::kTheta[0];
  const auto squarings = [theta](R x) {
    return x > R(theta) ? static_cast<int>(std::ceil(std::log2(static_cast<double>(x) / theta))) : 0;
  };
  const R d3 = std::cbrt(n3);
  R n4 = std::min(n2 * n2, n3 * a1), n5 = n2 * n3;
  const auto alpha = [&] {
    const R d4 = std::pow(n4, R(0.25));
    return std::min(std::max(d3, d4), std::max(d4, std::pow(std::min(n5, n4 * a1), R(0.2))));
  };
  const bool powers_finite = std::isfinite(n2) && std::isfinite(n3);
  R eta = powers_finite ? alpha() : a1;
  // No ℓ guard (AH2009's s + ℓ(2^-s A), kept for the Padé degrees; BBC 2019 select T_18 without
  // it). ℓ scales until |c_19| || |X|^19 ||_1 <= u ||X||_1: for T_18 in single precision that
  // means a Perron root of |X| below ~3.5, barely above θ_18 = 3.01, and standard normal
  // matrices have ρ(|A|) ~ 0.8 sqrt(n) ρ(A), so ℓ added squarings that only doubled the error
  // each. Relative error against float64 SciPy, as a multiple of float32 SciPy's (Padé 13, whose
  // ℓ binds only at ~2.7 θ_13): standard normal x 2/sqrt(n), n = 512: s 4 -> 1, 17-20x -> 1.0-1.1x;
  // x 3, n = 256: s 4 -> 2, 5.6-7.0x -> 1.3-2.4x. On 12 families (n = 9..100, 504 matrices:
  // dense, triangular and orthogonally similar non-normal, skew, symmetric, Jordan, Q [[1, b],
  // [0, -1]] Q^T, low rank, shifted) at most 4.9x without ℓ against 9.1x with it; where ℓ bound,
  // the error without it was 0.43-1.07x as large in geometric mean per family, at most 2.8x per
  // matrix. The largest loss seen: Q N Q^T, N nilpotent with N_(i,i+1) = 1000 (η ~ 0 from the
  // cancelled X^2): 0.24 instead of 0.062 relative error, where float32 SciPy gives 0.44.
  // Where the bounds cost squarings that the exact d3 does not ask for (badly scaled or
  // non-normal A: ||A^2||^(1/2) >> d3), the exact ||A^4|| and then ||A^5|| (one product each, not
  // used by the evaluation; the backward restores s without them): each squaring saved costs one
  // product forward and three backward. On D G D^-1, D = diag(logspace(-2, 2)), n = 33, float32:
  // s = 5 -> 2 and the error 4.5e-6 -> 1.7e-7 (SciPy float32: 2.2e-7).
  if (powers_finite && squarings(eta) > squarings(d3)) {
    Mat a4, a5;
    mat_mul(a4, st.basis[2], st.basis[2]);
    n4 = norm1(a4);
    eta = alpha();
    if (squarings(eta) > squarings(std::pow(n4, R(0.25)))) {
      mat_mul(a5, a4, a);
      n5 = norm1(a5);
      eta = alpha();
    }
  }
  if (!std::isfinite(eta)) eta = a1;
  st.m = m;
  st.s = std::min(squarings(eta), ExpmTable<R>::kMaxSquarings);
  taylor_scale(st, powers_finite);
}

// The state taylor_select leaves for A when it chose (m, s) = decode(code) before: the same
// power products and scalings, without the norm tests.
template <class Mat>
void taylor_restore(TaylorState<Mat>& st, int code) {
  st.m = expm_choice_degree(code);
  st.s = expm_choice_squarings(code);
  const TaylorScheme& sc = taylor_t18();
  Mat sl, sr;
  for (int k = 0; k < sc.powers; ++k) taylor_product(st, sc, k, sl, sr);
  st.done = sc.powers;
  taylor_scale(st, std::isfinite(norm1(st.basis[2])) && std::isfinite(norm1(st.basis[3])));
}

// r := T_m(X) and, when e is given, l := its Fréchet derivative in the direction e.
template <class Mat>
void taylor_evaluate(TaylorState<Mat>& st, Mat& r, const Mat* e, Mat* l) {
  const TaylorScheme& sc = taylor_t18();
  Mat sl, sr, dsl, dsr;
  Mat dbasis[kTaylorBasisMax];
  if (e != nullptr) dbasis[1] = *e;
  for (int k = 0; k < sc.products; ++k) {
    const Mat& lk = taylor_combination(sc.product[k].left, st.basis, 2 + k, true, sl);
    const Mat& rk = taylor_combination(sc.product[k].right, st.basis, 2 + k, true, sr);
    if (k >= st.done) mat_mul(st.basis[2 + k], lk, rk);
    if (e == nullptr) continue;
    const Mat& dl = taylor_combination(sc.product[k].left, dbasis, 2 + k, false, dsl);
    const Mat& dr = taylor_combination(sc.product[k].right, dbasis, 2 + k, false, dsr);
    mat_mul(dbasis[2 + k], dl, rk);
    mat_mul(dbasis[2 + k], lk, dr, true);
  }
  st.done = sc.products;
  const int count = 2 + sc.products;
  r = taylor_combination(sc.result, st.basis, count, true, sl);
  if (e != nullptr) *l = taylor_combination(sc.result, dbasis, count, false, dsl);
}

}  // namespace detexp
