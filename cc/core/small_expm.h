// The matrix exponential, its Fréchet derivative and the adjoint (expm's backward) for one
// matrix, written once for the CPU and the GPU: __host__ __device__ templates over plain
// column-major arrays (no Eigen), run by a *team* of cooperating threads.
//
// The math is cc/core/expm.h's, step for step (same degrees, thresholds, Padé coefficients, ℓ
// correction, triangular recomputation, squaring chain and Fréchet recurrences; Al-Mohy & Higham
// 2009 Alg. 5.1 and 2009b Alg. 6.4), including the Hager–Higham 1-norm estimates of ||A^8||_1 and
// ||A^10||_1 for the top degree (AH2009 Alg. 5.1 lines 19-20; exact norms of A^4 A^4 and A^4 A^6
// for n <= kExpmExactPowerNormMaxN, else expm.h's norm1_est_product, same iteration and test
// vectors). Real 2×2 exponentials take expm_2x2.h's closed form, as expm.h. Results may differ from expm.h only by rounding (summation order,
// FMA contraction on the GPU); a different rounding can at worst move a norm across a threshold,
// which changes m or s by one step with both choices inside the AH2009 backward-error bound.
//
// Teams: a Team type provides rank(), size(), sync() (a barrier of the team) and max(x) (the
// team-wide maximum, the same value in every member). Work is split over matrix entries (products,
// linear combinations) or columns (norms, triangular solves); scalars that steer the algorithm
// (norms, m, s) are reduced, so every member takes the same branches. SerialTeam (below) runs it
// on one CPU thread for the unit tests (tests/test_core_small_expm.py); cuda/expm_kernels.cu runs
// it with sub-warp, warp and block teams, the workspace in shared or global memory.
//
// Storage: column-major n×n. As in expm.h every result commutes with transposition, so row-major
// callers pass their slices unchanged: expm(A^T) = expm(A)^T, L(A^T, E^T) = L(A, E)^T and
// L(A^H, G)^T = L((A^T)^H, G^T).
#pragma once

#include "expm_2x2.h"
#include "expm_coefficients.h"
#include "scalar.h"

// The large team routines are not force-inlined on the device (DETEXP_HD is __forceinline__):
// expm_team calls mat_mul some 40 times, and inlining every call multiplied nvcc's compile time.
#if defined(__CUDACC__)
#define DETEXP_HD_CALL __host__ __device__
#else
#define DETEXP_HD_CALL inline
#endif

namespace detexp {

// One thread is the whole team.
struct SerialTeam {
  DETEXP_HD int rank() const { return 0; }
  DETEXP_HD int size() const { return 1; }
  DETEXP_HD void sync() const {}
  template <class V>
  DETEXP_HD V max(V v) const { return v; }
};

namespace small_expm {

// Workspace slots of n×n matrices (see slots_needed); then 2n reals and n ints.
enum Slot { kA = 0, kA2, kA4, kA6, kA8, kW1, kZ1, kW, kU, kV, kT1, kT2, kForwardSlots,
            kE = kForwardSlots, kM2, kM4, kM6, kM8, kLW1, kLZ1, kLW, kLU, kLV, kFrechetSlots };

// NaN-propagating maximum (a NaN norm must not be hidden by a later finite one).
template <class R>
DETEXP_HD R nan_max(R a, R b) {
  return (b > a || b != b) ? b : a;
}

template <class T>
DETEXP_HD T exp_of(const T& z) {
  using R = real_t<T>;
  if constexpr (is_complex<T>::value) {
    const R e = std::exp(z.real()), y = z.imag();
    return make_scalar<T>(y == R(0) ? e : e * std::cos(y), y == R(0) ? R(0) : e * std::sin(y));
  } else {
    return std::exp(z);
  }
}

template <class T>
DETEXP_HD T sinh_of(const T& z) {
  if constexpr (is_complex<T>::value) {
    const auto x = z.real(), y = z.imag();
    return make_scalar<T>(std::sinh(x) * std::cos(y), std::cosh(x) * std::sin(y));
  } else {
    return std::sinh(z);
  }
}

template <class T>
DETEXP_HD T ldexp_of(const T& x, int e) {
  if constexpr (is_complex<T>::value) {
    return make_scalar<T>(std::ldexp(x.real(), e), std::ldexp(x.imag(), e));
  } else {
    return std::ldexp(x, e);
  }
}

// (e^{l1} - e^{l2}) / (l1 - l2) = e^{(l1+l2)/2} sinh(z)/z, z = (l1 - l2)/2 (Higham, Functions of
// Matrices, eq. (10.42)); as expm.h's exp_divided_difference.
template <class T>
DETEXP_HD T exp_divided_difference(const T& l1, const T& l2) {
  using R = real_t<T>;
  const T z = (l1 - l2) / T(R(2));
  const T mean = (l1 + l2) / T(R(2));
  const T sinhc = modulus(z) < R(1e-3) ? T(R(1)) + z * z / T(R(6)) * (T(R(1)) + z * z / T(R(20)))
                                       : sinh_of(z) / z;
  return exp_of(mean) * sinhc;
}

// ---- team primitives: each ends with the team synchronised -------------------------------------

// c = a b, or c += a b; c must differ from a and b.
template <class Team, class T>
DETEXP_HD_CALL void mat_mul(const Team& team, int n, T* c, const T* a, const T* b, bool accumulate = false) {
  const int nn = n * n;
  for (int idx = team.rank(); idx < nn; idx += team.size()) {
    const int i = idx % n, j = idx / n;
    T acc = accumulate ? c[idx] : T(0);
    const T* bj = b + j * n;
    for (int k = 0; k < n; ++k) acc += a[i + k * n] * bj[k];
    c[idx] = acc;
  }
  team.sync();
}

// out = c1 x1 + c2 x2 + c3 x3 + d I, summed in that order (as expm.h's Eigen expressions); a null
// x contributes nothing. out may be one of the x's (entrywise).
// One entry of comb: c1 x1 (+ d on the diagonal) + c2 x2 + c3 x3, null terms skipped.
template <class T>
DETEXP_HD T comb_entry(const T& c1, const T& x1, bool diagonal, const T& d, const T& c2, const T* x2, const T& c3,
                       const T* x3) {
  T acc = c1 * x1;
  if (diagonal) acc += d;
  if (x2 != nullptr) acc += c2 * *x2;
  if (x3 != nullptr) acc += c3 * *x3;
  return acc;
}

template <class Team, class T>
DETEXP_HD_CALL void comb(const Team& team, int n, T* out, T c1, const T* x1, T c2, const T* x2, T c3, const T* x3,
                    T d = T(0)) {
  const int nn = n * n;
  for (int idx = team.rank(); idx < nn; idx += team.size()) {
    out[idx] = comb_entry(c1, x1[idx], idx % n == idx / n, d, c2, x2 == nullptr ? nullptr : x2 + idx, c3,
                          x3 == nullptr ? nullptr : x3 + idx);
  }
  team.sync();
}

// x := x + c y (y may be null: nothing), entrywise.
template <class Team, class T>
DETEXP_HD_CALL void axpy(const Team& team, int n, T* x, T c, const T* y) {
  if (y == nullptr) return;
  const int nn = n * n;
  for (int idx = team.rank(); idx < nn; idx += team.size()) x[idx] += c * y[idx];
  team.sync();
}

template <class Team, class T>
DETEXP_HD_CALL void copy(const Team& team, index_t count, T* dst, const T* src) {
  for (index_t idx = team.rank(); idx < count; idx += team.size()) dst[idx] = src[idx];
  team.sync();
}

template <class Team, class T>
DETEXP_HD_CALL void scale_pow2(const Team& team, int n, T* x, int e) {
  if (e == 0) return;
  const int nn = n * n;
  for (int idx = team.rank(); idx < nn; idx += team.size()) x[idx] = ldexp_of(x[idx], e);
  team.sync();
}

// ||x||_1, the largest column sum of moduli (as Eigen's cwiseAbs for complex), in every member.
template <class Team, class T>
DETEXP_HD_CALL real_t<T> norm1(const Team& team, int n, const T* x) {
  using R = real_t<T>;
  R best = 0;
  for (int j = team.rank(); j < n; j += team.size()) {
    R s = 0;
    for (int i = 0; i < n; ++i) s += modulus(x[i + j * n]);
    best = nan_max(best, s);
  }
  return team.max(best);
}

template <class Team, class T>
DETEXP_HD_CALL bool all_finite_team(const Team& team, index_t count, const T* x) {
  using R = real_t<T>;
  int bad = 0;
  for (index_t idx = team.rank(); idx < count; idx += team.size()) {
    const R re = real_part(x[idx]), im = imag_part(x[idx]);
    bad |= !((re - re == R(0)) & (im - im == R(0)));
  }
  return team.max(bad) == 0;
}

// The last step of ℓ: p = || |2^e A|^{2m+1} ||_1 (the power of the entrywise modulus, applied to
// ones), a1 = ||2^e A||_1. Shared by ell() below and the cuBLAS path (expm_blas_steps.h).
template <class R>
DETEXP_HD int ell_from_power_norm(double p, R a1, int m) {
  if (!(p > 0)) return 0;
  const double alpha = p / (static_cast<double>(a1) * expm_coef::inv_abs_c(m));
  const double value = std::ceil(std::log2(alpha / ExpmTable<R>::kUnitRoundoff) / (2 * m));
  if (!(value > 0)) return 0;
  return static_cast<int>(value < 64.0 ? value : 64.0);
}

// ℓ(2^e A, m) of AH2009 eq. (5.1), a1 = ||2^e A||_1: as expm.h's expm_ell, with the scaling
// applied entrywise on the fly (ldexp is exact, so this equals scaling A first). vec: 2n reals.
template <class Team, class T>
DETEXP_HD_CALL int ell(const Team& team, int n, const T* a, int e, real_t<T> a1, int m, real_t<T>* vec) {
  using R = real_t<T>;
  if (!(a1 > R(0))) return 0;
  R* v = vec;
  R* w = vec + n;
  for (int j = team.rank(); j < n; j += team.size()) v[j] = R(1);
  team.sync();
  for (int k = 0; k < 2 * m + 1; ++k) {
    for (int j = team.rank(); j < n; j += team.size()) {
      R s = 0;
      for (int i = 0; i < n; ++i) s += v[i] * std::ldexp(modulus(a[i + j * n]), e);
      w[j] = s;
    }
    team.sync();
    R* t = v;
    v = w;
    w = t;
  }
  R local = 0;
  for (int j = team.rank(); j < n; j += team.size()) local = nan_max(local, v[j]);
  const double p = static_cast<double>(team.max(local));
  team.sync();  // vec is reused by the next call
  return ell_from_power_norm<R>(p, a1, m);
}

// In-place partial-pivot LU of q (LAPACK xGETF2 with |re| + |im| pivots, as small_lu.h):
// P q = L U, perm[i] the original row of row i. A zero pivot column is skipped (no NaN).
template <class Team, class T>
DETEXP_HD_CALL void lu_factor(const Team& team, int n, T* q, int* perm) {
  using R = real_t<T>;
  for (int i = team.rank(); i < n; i += team.size()) perm[i] = i;
  team.sync();
  for (int k = 0; k < n; ++k) {
    int p = k;
    R best = abs1(q[k + k * n]);
    for (int i = k + 1; i < n; ++i) {
      const R v = abs1(q[i + k * n]);
      if (v > best) {
        best = v;
        p = i;
      }
    }
    team.sync();  // every member has read column k before any row moves
    if (p != k) {
      for (int j = team.rank(); j < n; j += team.size()) {
        const T t = q[k + j * n];
        q[k + j * n] = q[p + j * n];
        q[p + j * n] = t;
      }
      if (team.rank() == 0) {
        const int t = perm[k];
        perm[k] = perm[p];
        perm[p] = t;
      }
      team.sync();
    }
    const T pivot = q[k + k * n];
    if (pivot == T(0)) continue;  // uniform: every member read the same value
    const T inv_pivot = T(1) / pivot;
    for (int i = k + 1 + team.rank(); i < n; i += team.size()) q[i + k * n] *= inv_pivot;
    team.sync();
    const int m = n - k - 1;
    for (int idx = team.rank(); idx < m * m; idx += team.size()) {
      const int i = k + 1 + idx % m, j = k + 1 + idx / m;
      q[i + j * n] -= q[i + k * n] * q[k + j * n];
    }
    team.sync();
  }
}

// x := q^{-1} b from the factors (x != b): x = P b, then L and U substitutions column by column.
template <class Team, class T>
DETEXP_HD_CALL void lu_solve(const Team& team, int n, const T* f, const int* perm, const T* b, T* x) {
  const int nn = n * n;
  for (int idx = team.rank(); idx < nn; idx += team.size()) {
    const int i = idx % n, j = idx / n;
    x[idx] = b[perm[i] + j * n];
  }
  team.sync();
  for (int j = team.rank(); j < n; j += team.size()) {
    T* xj = x + j * n;
    for (int k = 0; k < n; ++k) {
      const T xk = xj[k];
      for (int i = k + 1; i < n; ++i) xj[i] -= f[i + k * n] * xk;
    }
    for (int k = n - 1; k >= 0; --k) {
      xj[k] /= f[k + k * n];
      const T xk = xj[k];
      for (int i = 0; i < k; ++i) xj[i] -= f[i + k * n] * xk;
    }
  }
  team.sync();
}

// 1: upper triangular, -1: lower, 0: neither (as expm.h's triangular_kind; diagonal counts as upper).
template <class Team, class T>
DETEXP_HD_CALL int triangular_kind(const Team& team, int n, const T* a) {
  int flags = 0;  // bit 0: an entry below the diagonal, bit 1: above
  for (int idx = team.rank(); idx < n * n; idx += team.size()) {
    const int i = idx % n, j = idx / n;
    if (a[idx] == T(0)) continue;
    if (i > j) flags |= 1;
    if (i < j) flags |= 2;
  }
  const int below = team.max(flags & 1), above = team.max(flags & 2);
  return below == 0 ? 1 : (above == 0 ? -1 : 0);
}

// Exact diagonal (and first off-diagonal) of r ≈ exp(2^e x) for triangular x (AH2009 Code
// Fragment 2.1), as expm.h's fix_triangular.
template <class Team, class T>
DETEXP_HD_CALL void fix_triangular(const Team& team, int n, T* r, const T* x, int kind, int e, bool offdiag) {
  for (int k = team.rank(); k < n; k += team.size()) {
    r[k + k * n] = exp_of(ldexp_of(x[k + k * n], e));
    if (offdiag && k + 1 < n) {
      const int i = kind > 0 ? k : k + 1, j = kind > 0 ? k + 1 : k;
      const T t = ldexp_of(x[i + j * n], e);
      r[i + j * n] = t == T(0) ? T(0)
                               : t * exp_divided_difference(ldexp_of(x[k + k * n], e),
                                                            ldexp_of(x[(k + 1) + (k + 1) * n], e));
    }
  }
  team.sync();
}

// x := x^H in place via tmp.
template <class Team, class T>
DETEXP_HD_CALL void adjoint_inplace(const Team& team, int n, T* x, T* tmp) {
  const int nn = n * n;
  for (int idx = team.rank(); idx < nn; idx += team.size()) {
    const int i = idx % n, j = idx / n;
    tmp[idx] = conj_of(x[j + i * n]);
  }
  team.sync();
  copy(team, nn, x, tmp);
}

// A lower estimate of ||X Y||_1 without forming the product: Hager's method (LAPACK xLACON, t = 1,
// at most 5 iterations) plus Higham's alternating test vector, exactly expm.h's
// norm1_est_product. Matrix-vector products are split over rows; the reductions over a vector
// (sums, arg-max) are done by every member on the shared vector, so all take the same branches.
// tv: 5n scalars.
template <class Team, class T>
DETEXP_HD_CALL void mat_vec(const Team& team, int n, const T* x, bool adjoint, const T* v, T* out) {
  for (int i = team.rank(); i < n; i += team.size()) {
    T acc = T(0);
    if (adjoint) {
      for (int k = 0; k < n; ++k) acc += conj_of(x[k + i * n]) * v[k];
    } else {
      for (int k = 0; k < n; ++k) acc += x[i + k * n] * v[k];
    }
    out[i] = acc;
  }
  team.sync();
}

template <class T>
DETEXP_HD real_t<T> abs_sum(int n, const T* v) {
  real_t<T> s = 0;
  for (int i = 0; i < n; ++i) s += modulus(v[i]);
  return s;
}

// The pieces of one Hager iteration, shared with the cuBLAS path (expm_blas_steps.h), which runs
// the matrix-vector products as batched BLAS calls between them. tv = [v, t, w, xi, z], n each.
template <class Team, class T>
DETEXP_HD_CALL void hager_start(const Team& team, int n, T* v) {
  using R = real_t<T>;
  for (int i = team.rank(); i < n; i += team.size()) v[i] = T(R(1) / R(n));
  team.sync();
}

// After w = X Y v: est := ||w||_1 and xi := sign(w), or false (stop) when ||w||_1 did not grow.
template <class Team, class T>
DETEXP_HD_CALL bool hager_after_forward(const Team& team, int n, int it, const T* w, T* xi, real_t<T>* est) {
  using R = real_t<T>;
  const R nw = abs_sum(n, w);
  if (it > 0 && nw <= *est) return false;
  *est = nw;
  for (int i = team.rank(); i < n; i += team.size()) {
    const R mod = modulus(w[i]);
    xi[i] = mod > R(0) ? w[i] / T(mod) : T(1);
  }
  team.sync();
  return true;
}

// After z = Y^H X^H xi: v := e_j, j = argmax |z_j|, or false (stop) at convergence.
template <class Team, class T>
DETEXP_HD_CALL bool hager_after_adjoint(const Team& team, int n, int it, const T* z, T* v, int* last) {
  using R = real_t<T>;
  int j = 0;
  R zmax = modulus(z[0]);
  T zv = conj_of(z[0]) * v[0];  // Eigen's z.dot(v): conjugate-linear in z
  for (int i = 1; i < n; ++i) {
    const R mz = modulus(z[i]);
    if (mz > zmax) {
      zmax = mz;
      j = i;
    }
    zv += conj_of(z[i]) * v[i];
  }
  team.sync();  // v, z are read by every member before v changes
  if (it > 0 && (zmax <= real_part(zv) || j == *last)) return false;
  for (int i = team.rank(); i < n; i += team.size()) v[i] = i == j ? T(1) : T(0);
  team.sync();
  *last = j;
  return true;
}

// Higham's alternating test vector (1 + i/(n-1)) (-1)^i.
template <class Team, class T>
DETEXP_HD_CALL void hager_alternating(const Team& team, int n, T* v) {
  using R = real_t<T>;
  for (int i = team.rank(); i < n; i += team.size()) {
    const R mag = R(1) + (n > 1 ? R(i) / R(n - 1) : R(0));
    v[i] = T((i % 2) ? -mag : mag);
  }
  team.sync();
}

// The estimate from est and w = X Y (alternating vector).
template <class T>
DETEXP_HD real_t<T> hager_result(int n, const T* w, real_t<T> est) {
  using R = real_t<T>;
  const R alt = R(2) * abs_sum(n, w) / R(3 * n);
  return est > alt ? est : alt;
}

template <class Team, class T>
DETEXP_HD_CALL real_t<T> norm1_est_product(const Team& team, int n, const T* x, const T* y, T* tv) {
  using R = real_t<T>;
  T *v = tv, *t = tv + n, *w = tv + 2 * n, *xi = tv + 3 * n, *z = tv + 4 * n;
  hager_start(team, n, v);
  R est = 0;
  int last = -1;
  for (int it = 0; it < 5; ++it) {
    mat_vec(team, n, y, false, v, t);
    mat_vec(team, n, x, false, t, w);
    if (!hager_after_forward(team, n, it, w, xi, &est)) break;
    mat_vec(team, n, x, true, xi, t);
    mat_vec(team, n, y, true, t, z);
    if (!hager_after_adjoint(team, n, it, z, v, &last)) break;
  }
  hager_alternating(team, n, v);
  mat_vec(team, n, y, false, v, t);
  mat_vec(team, n, x, false, t, w);
  const R result = hager_result(n, w, est);
  team.sync();  // tv is reused by the next call
  return result;
}

// ---- the algorithm --------------------------------------------------------------------------

template <class R, int I>
constexpr double kTheta = ExpmTable<R>::kTheta[I];

// AH2009 Alg. 5.1 on w[kA] (finite), as expm.h's expm_select. Leaves the scaled powers in the
// slots; returns m and s. vec: 2n reals, tv: 5n scalars.
template <class Team, class T>
DETEXP_HD_CALL void select_degree(const Team& team, int n, T* const* w, real_t<T>* vec, T* tv, int* m_out,
                             int* s_out) {
  using R = real_t<T>;
  using Tab = ExpmTable<R>;
  constexpr int top = Tab::kCount - 1;
  T* A = w[kA];
  const R a1 = norm1(team, n, A);
  *s_out = 0;
  mat_mul(team, n, w[kA2], A, A);
  const R n2 = norm1(team, n, w[kA2]);
  if (std::sqrt(n2) <= R(kTheta<R, 0>) && ell(team, n, A, 0, a1, 3, vec) == 0) {
    *m_out = 3;
    return;
  }
  mat_mul(team, n, w[kA4], w[kA2], w[kA2]);
  const R n4 = norm1(team, n, w[kA4]);
  const R d4 = std::pow(n4, R(0.25));
  const R d46 = std::pow(n4 * n2, R(1) / 6);
  if ((d4 > d46 ? d4 : d46) <= R(kTheta<R, 1>) && ell(team, n, A, 0, a1, 5, vec) == 0) {
    *m_out = 5;
    return;
  }
  mat_mul(team, n, w[kA6], w[kA4], w[kA2]);
  const R n6 = norm1(team, n, w[kA6]);
  const R d6 = std::pow(n6, R(1) / 6);
  R d8 = -1;
  if constexpr (Tab::kCount == 5) {
    if (d6 <= R(kTheta<R, 3>)) {
      mat_mul(team, n, w[kA8], w[kA4], w[kA4]);
      d8 = std::pow(norm1(team, n, w[kA8]), R(0.125));
      const R eta3 = d6 > d8 ? d6 : d8;
      if (eta3 <= R(kTheta<R, 2>) && ell(team, n, A, 0, a1, 7, vec) == 0) {
        *m_out = 7;
        return;
      }
      if (eta3 <= R(kTheta<R, 3>) && ell(team, n, A, 0, a1, 9, vec) == 0) {
        *m_out = 9;
        return;
      }
    }
  }
  constexpr int m = Tab::kDegree[top];
  const R theta = R(kTheta<R, top>);
  const bool powers_finite = std::isfinite(n6) && std::isfinite(n4) && std::isfinite(n2);
  R eta5 = a1;
  if (powers_finite) {
    R d10;
    if (n <= kExpmExactPowerNormMaxN) {  // exact norms, as expm.h (expm_coefficients.h)
      if (d8 < 0) {
        mat_mul(team, n, w[kA8], w[kA4], w[kA4]);  // the top degree does not use the A8 slot
        d8 = std::pow(norm1(team, n, w[kA8]), R(0.125));
      }
      mat_mul(team, n, w[kT1], w[kA4], w[kA6]);  // kT1 is free until the Padé evaluation
      d10 = std::pow(norm1(team, n, w[kT1]), R(0.1));
    } else {
      if (d8 < 0) d8 = std::pow(norm1_est_product(team, n, w[kA4], w[kA4], tv), R(0.125));
      d10 = std::pow(norm1_est_product(team, n, w[kA4], w[kA6], tv), R(0.1));
    }
    const R x = d6 > d8 ? d6 : d8, y = d8 > d10 ? d8 : d10;
    eta5 = x < y ? x : y;
    if (!std::isfinite(eta5)) eta5 = a1;
  }
  int s = 0;
  if (eta5 > theta) s = static_cast<int>(std::ceil(std::log2(static_cast<double>(eta5) / theta)));
  s = s > 0 ? s : 0;
  s += ell(team, n, A, -s, std::ldexp(a1, -s), m, vec);
  s = s < Tab::kMaxSquarings ? s : Tab::kMaxSquarings;
  *m_out = m;
  *s_out = s;
  if (s == 0) return;
  scale_pow2(team, n, A, -s);
  if (powers_finite) {
    scale_pow2(team, n, w[kA2], -2 * s);
    scale_pow2(team, n, w[kA4], -4 * s);
    scale_pow2(team, n, w[kA6], -6 * s);
  } else {
    mat_mul(team, n, w[kA2], A, A);
    mat_mul(team, n, w[kA4], w[kA2], w[kA2]);
    mat_mul(team, n, w[kA6], w[kA4], w[kA2]);
  }
}

// U, V (Higham 2005 eqs. (2.3), (10.3)) into w[kU], w[kV]; with frechet, L_U, L_V into w[kLU],
// w[kLV] (AH2009b eqs. (6.11)-(6.13)) for the direction w[kE]. Coefficients divided by b_0 as in
// expm.h's pade_uv.
template <class Team, class T>
DETEXP_HD_CALL void pade_uv(const Team& team, int n, T* const* w, int m, bool frechet) {
  using R = real_t<T>;
  const double b0 = expm_coef::pade_b(m, 0);
  const auto c = [m, b0](int j) { return T(R(expm_coef::pade_b(m, j) / b0)); };
  const T z = T(0);
  T *A = w[kA], *A2 = w[kA2], *A4 = w[kA4], *A6 = w[kA6], *A8 = w[kA8];
  T *W = w[kW], *U = w[kU], *V = w[kV], *E = w[kE];
  if (m != 13) {
    comb(team, n, W, c(3), A2, m >= 5 ? c(5) : z, m >= 5 ? A4 : nullptr, m >= 7 ? c(7) : z, m >= 7 ? A6 : nullptr,
         c(1));
    axpy(team, n, W, m >= 9 ? c(9) : z, m >= 9 ? A8 : nullptr);
    comb(team, n, V, c(2), A2, m >= 5 ? c(4) : z, m >= 5 ? A4 : nullptr, m >= 7 ? c(6) : z, m >= 7 ? A6 : nullptr,
         c(0));
    axpy(team, n, V, m >= 9 ? c(8) : z, m >= 9 ? A8 : nullptr);
    mat_mul(team, n, U, A, W);
    if (!frechet) return;
    T *M2 = w[kM2], *M4 = w[kM4], *M6 = w[kM6], *M8 = w[kM8], *LW = w[kLW], *LU = w[kLU], *LV = w[kLV];
    mat_mul(team, n, M2, A, E);
    mat_mul(team, n, M2, E, A, true);
    if (m >= 5) {
      mat_mul(team, n, M4, A2, M2);
      mat_mul(team, n, M4, M2, A2, true);
    }
    if (m >= 7) {
      mat_mul(team, n, M6, A4, M2);
      mat_mul(team, n, M6, M4, A2, true);
    }
    if (m >= 9) {
      mat_mul(team, n, M8, A4, M4);
      mat_mul(team, n, M8, M4, A4, true);
    }
    comb(team, n, LW, c(3), M2, m >= 5 ? c(5) : z, m >= 5 ? M4 : nullptr, m >= 7 ? c(7) : z, m >= 7 ? M6 : nullptr);
    axpy(team, n, LW, m >= 9 ? c(9) : z, m >= 9 ? M8 : nullptr);
    comb(team, n, LV, c(2), M2, m >= 5 ? c(4) : z, m >= 5 ? M4 : nullptr, m >= 7 ? c(6) : z, m >= 7 ? M6 : nullptr);
    axpy(team, n, LV, m >= 9 ? c(8) : z, m >= 9 ? M8 : nullptr);
    mat_mul(team, n, LU, A, LW);
    mat_mul(team, n, LU, E, W, true);
    return;
  }
  T *W1 = w[kW1], *Z1 = w[kZ1];
  comb(team, n, W1, c(13), A6, c(11), A4, c(9), A2);
  comb(team, n, Z1, c(12), A6, c(10), A4, c(8), A2);
  comb(team, n, W, c(7), A6, c(5), A4, c(3), A2, c(1));
  mat_mul(team, n, W, A6, W1, true);
  mat_mul(team, n, U, A, W);
  comb(team, n, V, c(6), A6, c(4), A4, c(2), A2, c(0));
  mat_mul(team, n, V, A6, Z1, true);
  if (!frechet) return;
  T *M2 = w[kM2], *M4 = w[kM4], *M6 = w[kM6], *LW1 = w[kLW1], *LZ1 = w[kLZ1], *LW = w[kLW], *LU = w[kLU],
    *LV = w[kLV];
  mat_mul(team, n, M2, A, E);
  mat_mul(team, n, M2, E, A, true);
  mat_mul(team, n, M4, A2, M2);
  mat_mul(team, n, M4, M2, A2, true);
  mat_mul(team, n, M6, A4, M2);
  mat_mul(team, n, M6, M4, A2, true);
  comb(team, n, LW1, c(13), M6, c(11), M4, c(9), M2);
  comb(team, n, LZ1, c(12), M6, c(10), M4, c(8), M2);
  comb(team, n, LW, c(7), M6, c(5), M4, c(3), M2);
  mat_mul(team, n, LW, A6, LW1, true);
  mat_mul(team, n, LW, M6, W1, true);
  mat_mul(team, n, LU, A, LW);
  mat_mul(team, n, LU, E, W, true);
  comb(team, n, LV, c(6), M6, c(4), M4, c(2), M2);
  mat_mul(team, n, LV, A6, LZ1, true);
  mat_mul(team, n, LV, M6, Z1, true);
}

template <class T>
DETEXP_HD T nan_value() {
  using R = real_t<T>;
  return make_scalar<T>(quiet_nan<R>(), is_complex<T>::value ? quiet_nan<R>() : R(0));
}

template <class Team, class T>
DETEXP_HD_CALL void nan_fill(const Team& team, index_t count, T* out) {
  for (index_t idx = team.rank(); idx < count; idx += team.size()) out[idx] = nan_value<T>();
  team.sync();
}

}  // namespace small_expm

// Bytes of the workspace of expm_team: slots × n² scalars, 5n scalars, 2n reals, n ints (each
// part 16-byte aligned).
template <class T>
DETEXP_HD index_t expm_team_workspace_bytes(int n, bool frechet) {
  const index_t nn = static_cast<index_t>(n) * n;
  const auto up16 = [](index_t b) { return (b + 15) / 16 * 16; };
  const int slots = frechet ? small_expm::kFrechetSlots : small_expm::kForwardSlots;
  return up16((slots * nn + 5 * n) * static_cast<index_t>(sizeof(T))) +
         up16(2 * n * static_cast<index_t>(sizeof(real_t<T>))) + up16(n * static_cast<index_t>(sizeof(int)));
}

namespace small_expm {

// The parts of one matrix's workspace (expm_team_workspace_bytes bytes at ws): the n×n slots (the
// Fréchet slots alias slot 0 when !frechet), tv (5n scalars), vec (2n reals), perm (n ints).
template <class T>
struct Workspace {
  T* w[kFrechetSlots];
  T* tv;
  real_t<T>* vec;
  int* perm;
};

template <class T>
DETEXP_HD Workspace<T> workspace_layout(int n, bool frechet, void* ws) {
  using R = real_t<T>;
  const index_t nn = static_cast<index_t>(n) * n;
  Workspace<T> out;
  T* base = static_cast<T*>(ws);
  const int slots = frechet ? kFrechetSlots : kForwardSlots;
  for (int k = 0; k < kFrechetSlots; ++k) out.w[k] = base + static_cast<index_t>(k < slots ? k : 0) * nn;
  out.tv = base + slots * nn;
  const index_t slot_bytes = ((slots * nn + 5 * n) * static_cast<index_t>(sizeof(T)) + 15) / 16 * 16;
  out.vec = reinterpret_cast<R*>(static_cast<unsigned char*>(ws) + slot_bytes);
  out.perm = reinterpret_cast<int*>(reinterpret_cast<unsigned char*>(out.vec) +
                                    (2 * n * static_cast<index_t>(sizeof(R)) + 15) / 16 * 16);
  return out;
}

}  // namespace small_expm

// One matrix by one team. Modes:
//   e == nullptr:            r := exp(a)
//   e != nullptr, !adjoint:  r := exp(a) (if r != nullptr), l := L(a, e)
//   e != nullptr, adjoint:   l := L(a^H, e) with the degree and scaling chosen for a (expm's
//                            backward; r must be nullptr)
// a, e, r, l: column-major n×n (global memory on the GPU); ws: expm_team_workspace_bytes bytes,
// 16-byte aligned (shared or global memory). NaN/Inf handling as expm.h: NaN/Inf in a gives
// all-NaN results; NaN/Inf in e only (with finite a) gives exp(a) and an all-NaN l.
template <class Team, class T>
DETEXP_HD_CALL void expm_team(const Team& team, int n, const T* a, const T* e, bool adjoint, T* r, T* l, void* ws) {
  using namespace small_expm;
  using R = real_t<T>;
  const index_t nn = static_cast<index_t>(n) * n;
  const bool frechet = e != nullptr;
  if (n <= 0) return;
  const bool a_finite = all_finite_team(team, nn, a);
  const bool e_finite = !frechet || all_finite_team(team, nn, e);
  if (!a_finite) {
    if (r != nullptr) nan_fill(team, nn, r);
    if (l != nullptr) nan_fill(team, nn, l);
    return;
  }
  if (n == 1) {  // exp is its own derivative; as expm.h
    if (team.rank() == 0) {
      const T x = exp_of(adjoint ? conj_of(a[0]) : a[0]);
      if (r != nullptr) r[0] = x;
      if (frechet) l[0] = e_finite ? x * e[0] : nan_value<T>();
    }
    team.sync();
    return;
  }
  if constexpr (!is_complex<T>::value) {
    if (n == 2 && !frechet) {  // the closed form of expm_2x2.h, as expm.h; every lane decides alike
      T x[4];
      if (expm_2x2_real(a, x)) {
        if (team.rank() == 0) {
          for (int k = 0; k < 4; ++k) r[k] = x[k];
        }
        team.sync();
        return;
      }
    }
  }
  const bool want_l = frechet && e_finite;
  if (frechet && !e_finite) nan_fill(team, nn, l);
  const Workspace<T> layout = workspace_layout<T>(n, frechet, ws);
  T* const* w = layout.w;
  T* tv = layout.tv;
  R* vec = layout.vec;
  int* perm = layout.perm;
  copy(team, nn, w[kA], a);
  int m = 0, s = 0;
  select_degree(team, n, w, vec, tv, &m, &s);
  if (want_l) {
    if (adjoint) {  // the state of A^H for the same (m, s) (expm.h: L(A, G^H)^H, the same map)
      adjoint_inplace(team, n, w[kA], w[kT1]);
      adjoint_inplace(team, n, w[kA2], w[kT1]);
      if (m >= 5) adjoint_inplace(team, n, w[kA4], w[kT1]);
      if (m >= 7) adjoint_inplace(team, n, w[kA6], w[kT1]);
      if (m == 9) adjoint_inplace(team, n, w[kA8], w[kT1]);
    }
    copy(team, nn, w[kE], e);
    scale_pow2(team, n, w[kE], -s);
  }
  pade_uv(team, n, w, m, want_l);
  // r = (V - U)^{-1}(U + V) = I + 2 (V - U)^{-1} U (expm.h's expm_from_state).
  T* q = w[kV];
  axpy(team, n, q, T(-1), w[kU]);
  lu_factor(team, n, q, perm);
  T* rr = w[kT1];
  lu_solve(team, n, q, perm, w[kU], rr);
  comb(team, n, rr, T(R(2)), rr, T(0), static_cast<const T*>(nullptr), T(0), static_cast<const T*>(nullptr), T(1));
  T* ll = w[kT2];
  if (want_l) {
    // L = (V - U)^{-1} (L_U + L_V + (L_U - L_V) r)  (AH2009b Alg. 6.4 line 12)
    T* diff = w[kLW];
    comb(team, n, diff, T(1), w[kLU], T(-1), w[kLV], T(0), static_cast<const T*>(nullptr));
    axpy(team, n, w[kLU], T(1), w[kLV]);
    mat_mul(team, n, w[kLU], diff, rr, true);
    lu_solve(team, n, q, perm, w[kLU], ll);
  }
  if (s > 0) {
    const int kind = triangular_kind(team, n, w[kA]);
    if (kind != 0) fix_triangular(team, n, rr, w[kA], kind, 0, false);
    T* t1 = w[kU];
    T* t2 = w[kW];
    for (int j = 1; j <= s; ++j) {
      if (want_l) {  // L_{j+1} = R_j L_j + L_j R_j
        mat_mul(team, n, t2, rr, ll);
        mat_mul(team, n, t2, ll, rr, true);
        T* t = ll;
        ll = t2;
        t2 = t;
      }
      mat_mul(team, n, t1, rr, rr);
      T* t = rr;
      rr = t1;
      t1 = t;
      if (kind != 0) fix_triangular(team, n, rr, w[kA], kind, j, true);
    }
  }
  if (r != nullptr) copy(team, nn, r, static_cast<const T*>(rr));
  if (want_l) copy(team, nn, l, static_cast<const T*>(ll));
}

}  // namespace detexp
