// The matrix exponential, its Fréchet derivative and the adjoint (expm's backward) for one
// matrix by a *team* of cooperating threads (team.h): the GPU's fused kernels (cuda/expm_kernels.cu
// runs it with sub-warp, warp and block teams, the workspace in shared or global memory) and,
// through the test module, one or several CPU threads.
//
// The algorithm is the one every backend shares — expm_select.h's degree and scaling,
// expm_chain.h's schemes and squarings — with __host__ __device__ team primitives over plain
// column-major arrays as its backend (TeamExpm). Results may differ from the CPU driver (expm.h)
// only by rounding (summation order, FMA contraction on the GPU); a different rounding can at
// worst move a norm across a threshold, which changes m or s by one step with both choices
// inside the AH2009 backward-error bound.
//
// Storage: column-major n×n. As in expm.h every result commutes with transposition, so row-major
// callers pass their slices unchanged: expm(A^T) = expm(A)^T, L(A^T, E^T) = L(A, E)^T and
// L(A^H, G)^T = L((A^T)^H, G^T).
#pragma once

#include "expm_2x2.h"
#include "expm_chain.h"
#include "expm_norm_estimate.h"
#include "expm_select.h"
#include "expm_triangular.h"
#include "team.h"

namespace detexp {
namespace small_expm {

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

// One entry of a combination: the terms in order, then the identity on the diagonal (as expm.h).
template <class T>
DETEXP_HD T combination_entry(int terms, const T* const* x, const double* coef, bool diagonal, double identity,
                              index_t idx) {
  using R = real_t<T>;
  T acc = T(0);
  for (int t = 0; t < terms; ++t) {
    const T term = T(R(coef[t])) * x[t][idx];
    acc = t == 0 ? term : acc + term;
  }
  if (diagonal && identity != 0.0) acc += T(R(identity));
  return acc;
}

// out := identity I + Σ coef_t x_t, entrywise (out may be any of the x's).
template <class Team, class T>
DETEXP_HD_CALL void combine(const Team& team, int n, T* out, int terms, const T* const* x, const double* coef,
                            double identity) {
  const int nn = n * n;
  for (int idx = team.rank(); idx < nn; idx += team.size()) {
    out[idx] = combination_entry(terms, x, coef, idx % n == idx / n, identity, idx);
  }
  team.sync();
}

template <class Team, class T>
DETEXP_HD_CALL void copy(const Team& team, index_t count, T* dst, const T* src) {
  for (index_t idx = team.rank(); idx < count; idx += team.size()) dst[idx] = src[idx];
  team.sync();
}

// dst := src^H (dst != src).
template <class Team, class T>
DETEXP_HD_CALL void copy_adjoint(const Team& team, int n, T* dst, const T* src) {
  const int nn = n * n;
  for (int idx = team.rank(); idx < nn; idx += team.size()) dst[idx] = conj_of(src[idx / n + (idx % n) * n]);
  team.sync();
}

template <class Team, class T>
DETEXP_HD_CALL void scale_pow2(const Team& team, int n, T* x, int e) {
  if (e == 0) return;
  const int nn = n * n;
  for (int idx = team.rank(); idx < nn; idx += team.size()) x[idx] = ldexp_of(x[idx], e);
  team.sync();
}

// ||x||_1, the largest column sum of moduli, in every member.
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
  int bad = 0;
  for (index_t idx = team.rank(); idx < count; idx += team.size()) bad |= !finite_scalar(x[idx]);
  return team.max(bad) == 0;
}

// In-place LU of q (LAPACK xGETF2 with |re| + |im| pivots, as small_lu.h): P q = L U, perm[i] the
// original row of row i. A zero pivot column is skipped (no NaN). Without pivot (triangular q) no
// rows move, and the factors keep q's zeros.
template <class Team, class T>
DETEXP_HD_CALL void lu_factor(const Team& team, int n, T* q, int* perm, bool pivot) {
  using R = real_t<T>;
  for (int i = team.rank(); i < n; i += team.size()) perm[i] = i;
  team.sync();
  for (int k = 0; k < n; ++k) {
    int p = k;
    R best = abs1(q[k + k * n]);
    for (int i = k + 1; pivot && i < n; ++i) {
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
    const T pivot_value = q[k + k * n];
    if (pivot_value == T(0)) continue;  // uniform: every member read the same value
    const T inv_pivot = T(1) / pivot_value;
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

// out := X in (adjoint: X^H in), rows split over the team.
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
DETEXP_HD T nan_value() {
  using R = real_t<T>;
  return make_scalar<T>(quiet_nan<R>(), is_complex<T>::value ? quiet_nan<R>() : R(0));
}

template <class Team, class T>
DETEXP_HD_CALL void nan_fill(const Team& team, index_t count, T* out) {
  for (index_t idx = team.rank(); idx < count; idx += team.size()) out[idx] = nan_value<T>();
  team.sync();
}

// The parts of one matrix's workspace (expm_team_workspace_bytes bytes): the n×n slots of
// ExpmSlot (the Fréchet slots alias slot 0 when !frechet), tv (5n scalars: the estimator's 4n and
// a temporary), vec (2n reals: ℓ), perm (n ints).
template <class T>
struct Workspace {
  T* w[kExpmFrechetSlots];
  T* tv;
  real_t<T>* vec;
  int* perm;
};

DETEXP_HD index_t up16(index_t bytes) { return (bytes + 15) / 16 * 16; }

template <class T>
DETEXP_HD index_t slot_bytes(int n, bool frechet) {
  const index_t nn = static_cast<index_t>(n) * n;
  return up16(((frechet ? kExpmFrechetSlots : kExpmForwardSlots) * nn + 5 * n) * static_cast<index_t>(sizeof(T)));
}

template <class T>
DETEXP_HD Workspace<T> workspace_layout(int n, bool frechet, void* ws) {
  using R = real_t<T>;
  const index_t nn = static_cast<index_t>(n) * n;
  const int slots = frechet ? kExpmFrechetSlots : kExpmForwardSlots;
  Workspace<T> out;
  T* base = static_cast<T*>(ws);
  for (int k = 0; k < kExpmFrechetSlots; ++k) out.w[k] = base + static_cast<index_t>(k < slots ? k : 0) * nn;
  out.tv = base + slots * nn;
  out.vec = reinterpret_cast<R*>(static_cast<unsigned char*>(ws) + slot_bytes<T>(n, frechet));
  out.perm = reinterpret_cast<int*>(reinterpret_cast<unsigned char*>(out.vec) +
                                    up16(2 * n * static_cast<index_t>(sizeof(R))));
  return out;
}

// The backend of expm_select.h and expm_chain.h for one matrix and one team.
template <class Team, class T>
class TeamExpm {
 public:
  using R = real_t<T>;
  DETEXP_HD TeamExpm(const Team& team, int n, const Workspace<T>& ws, int kind)
      : team_(team), n_(n), ws_(ws), kind_(kind) {}
  DETEXP_HD void set_squarings(int s) { s_ = s; }

  // ---- the selection's requests ----
  DETEXP_HD_CALL R power_norm(int p, bool taylor) {
    T* x = ws_.w[expm_power_slot(taylor, p)];
    if (p > 1) {
      const ExpmPowerFactors f = expm_power_factors(p);
      mat_mul(team_, n_, x, ws_.w[expm_power_slot(taylor, f.a)], ws_.w[expm_power_slot(taylor, f.b)]);
    }
    return norm1(team_, n_, x);
  }

  DETEXP_HD_CALL R estimate(int p, int q) {
    const T* x = ws_.w[expm_power_slot(false, p)];
    const T* y = ws_.w[expm_power_slot(false, q)];
    T* t = ws_.tv + 4 * n_;
    const Team& team = team_;
    const int n = n_;
    return norm1_estimate(
        team, n,
        [&](bool adjoint, const T* in, T* out) {
          mat_vec(team, n, adjoint ? x : y, adjoint, in, t);
          mat_vec(team, n, adjoint ? y : x, adjoint, t, out);
        },
        ws_.tv);
  }

  // B = 2^e |A|^T, stored as |A| 2^e in slot V (free until the evaluation).
  DETEXP_HD_CALL int ell(R a1, int m, int shift) {
    EllSearch<R> es;
    int b_exponent = 0;
    const int early = es.start(a1, expm_ell_order_of(m), expm_coef::inv_abs_c(m), shift, &b_exponent);
    if (early >= 0) return early;
    const T* a = ws_.w[kExpmSlotX];
    R* b = reinterpret_cast<R*>(ws_.w[kExpmSlotV]);
    const int n = n_, nn = n * n;
    for (int idx = team_.rank(); idx < nn; idx += team_.size()) b[idx] = std::ldexp(modulus(a[idx]), b_exponent);
    team_.sync();
    const Team& team = team_;
    return ell_products(
        team, n, es,
        [&](const R* in, R* out) {
          ell_apply_columns(n, static_cast<const R*>(b), in, out, team.rank(), team.size());
          team.sync();
        },
        ws_.vec, ws_.vec + n);
  }

  // ---- the chain's primitives ----
  DETEXP_HD_CALL void product(int c, int a, int b, bool accumulate) {
    mat_mul(team_, n_, ws_.w[c], ws_.w[a], ws_.w[b], accumulate);
  }
  DETEXP_HD_CALL void combine(int dst, int terms, const int* slot, const double* coef, double identity) {
    const T* x[kExpmBasisMax];
    for (int t = 0; t < terms; ++t) x[t] = ws_.w[slot[t]];
    small_expm::combine(team_, n_, ws_.w[dst], terms, x, coef, identity);
  }
  DETEXP_HD_CALL void scale_squarings(int s, int p) { scale_pow2(team_, n_, ws_.w[s], -p * s_); }
  DETEXP_HD_CALL void lu_factor(int q) { small_expm::lu_factor(team_, n_, ws_.w[q], ws_.perm, kind_ == 0); }
  DETEXP_HD_CALL void lu_solve(int q, int b, int x) {
    small_expm::lu_solve(team_, n_, ws_.w[q], ws_.perm, ws_.w[b], ws_.w[x]);
  }
  DETEXP_HD_CALL void fix_triangular(int r, int e, bool offdiag) {
    if (kind_ != 0) detexp::fix_triangular(team_, n_, ws_.w[r], ws_.w[kExpmSlotX], kind_, e, offdiag);
  }
  DETEXP_HD bool square_next(int j) const { return j <= s_; }
  DETEXP_HD bool square_r(int j, bool want_r) const { return want_r || j < s_; }

 private:
  const Team& team_;
  const int n_;
  const Workspace<T> ws_;
  const int kind_;
  int s_ = 0;
};

}  // namespace small_expm

// Bytes of the workspace of expm_team (each part 16-byte aligned).
template <class T>
DETEXP_HD index_t expm_team_workspace_bytes(int n, bool frechet) {
  using small_expm::up16;
  return small_expm::slot_bytes<T>(n, frechet) + up16(2 * n * static_cast<index_t>(sizeof(real_t<T>))) +
         up16(n * static_cast<index_t>(sizeof(int)));
}

// One matrix by one team. Modes:
//   e == nullptr:            r := exp(a)
//   e != nullptr, !adjoint:  r := exp(a) (if r != nullptr), l := L(a, e)
//   e != nullptr, adjoint:   l := L(a^H, e) with the degree and scaling chosen for a (expm's
//                            backward; r must be nullptr)
// a, e, r, l: column-major n×n (global memory on the GPU); ws: expm_team_workspace_bytes bytes,
// 16-byte aligned (shared or global memory). NaN/Inf handling as expm.h: NaN/Inf in a gives
// all-NaN results; NaN/Inf in e only (with finite a) gives exp(a) and an all-NaN l. choice (may
// be null): expm_choice_code(m, s), or kExpmChoiceNone where no chain ran, as expm.h's.
template <class Team, class T>
DETEXP_HD_CALL void expm_team(const Team& team, int n, const T* a, const T* e, bool adjoint, T* r, T* l, void* ws,
                              int* choice = nullptr) {
  using namespace small_expm;
  const index_t nn = static_cast<index_t>(n) * n;
  const bool frechet = e != nullptr;
  if (choice != nullptr && team.rank() == 0) *choice = kExpmChoiceNone;
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
  if (frechet && !e_finite) {
    nan_fill(team, nn, l);
    if (r == nullptr) return;
  }
  const Workspace<T> w = workspace_layout<T>(n, frechet, ws);
  copy(team, nn, w.w[kExpmSlotX], a);
  TeamExpm<Team, T> be(team, n, w, triangular_kind(team, n, a));
  const ExpmChoice c = expm_select<T>(expm_policy<T>(n), be);
  if (choice != nullptr && team.rank() == 0) *choice = expm_choice_code(c.m, c.s);
  if (want_l) {  // L(A^H, G) = L(A, G^H)^H, as expm.h
    if (adjoint) {
      copy_adjoint(team, n, w.w[kExpmSlotDX], e);
    } else {
      copy(team, nn, w.w[kExpmSlotDX], e);
    }
  }
  be.set_squarings(c.s);
  expm_run_chain(be, c, want_l, r != nullptr);
  if (r != nullptr) copy(team, nn, r, static_cast<const T*>(w.w[expm_r_slot(c.s)]));
  if (!want_l) return;
  if (adjoint) {
    copy_adjoint(team, n, l, static_cast<const T*>(w.w[expm_l_slot(c.s)]));
  } else {
    copy(team, nn, l, static_cast<const T*>(w.w[expm_l_slot(c.s)]));
  }
}

}  // namespace detexp
