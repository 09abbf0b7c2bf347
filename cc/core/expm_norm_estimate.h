// A lower estimate of ||X Y||_1 without forming the product, for the degree selection's ||A^8||_1,
// ||A^10||_1 beyond the exact-norm limit (AH2009 Alg. 5.1 lines 19-20, as SciPy): Hager's method
// (LAPACK xLACON with t = 1, at most 5 iterations) plus Higham's alternating test vector.
//
// Written once over a Team (team.h): the bookkeeping between matrix-vector products is here, the
// products are the backend's (Eigen's GEMV on the CPU, a team's rows on the GPU, batched kernels
// on the large-n path, which runs the same steps between its launches). The reductions over a
// vector (sums, arg-max) are done by every member on the shared vector, so all take the same
// branches.
#pragma once

#include "team.h"

namespace detexp {

template <class T>
DETEXP_HD real_t<T> abs_sum(int n, const T* v) {
  real_t<T> s = 0;
  for (int i = 0; i < n; ++i) s += modulus(v[i]);
  return s;
}

// v := (1/n, ..., 1/n).
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

// After z = Y^H X^H xi: v := e_j, j = argmax |z_j| (the first), or false (stop) at convergence.
template <class Team, class T>
DETEXP_HD_CALL bool hager_after_adjoint(const Team& team, int n, int it, const T* z, T* v, int* last) {
  using R = real_t<T>;
  int j = 0;
  R zmax = modulus(z[0]);
  T zv = conj_of(z[0]) * v[0];  // z^H v
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

// The estimate from est and w = X Y (alternating vector): std::max(est, alt), so that an estimate
// that overflowed (inf; alt then NaN) stays infinite and the selection falls back to ||A||_1.
template <class T>
DETEXP_HD real_t<T> hager_result(int n, const T* w, real_t<T> est) {
  using R = real_t<T>;
  const R alt = R(2) * abs_sum(n, w) / R(3 * n);
  return est < alt ? alt : est;
}

// The whole estimate for a per-matrix backend: apply(false, in, out) sets out := X Y in,
// apply(true, in, out) out := Y^H X^H in (team-synchronised). tv: 4n scalars.
template <class Team, class T, class Apply>
DETEXP_HD_CALL real_t<T> norm1_estimate(const Team& team, int n, Apply&& apply, T* tv) {
  using R = real_t<T>;
  T *v = tv, *w = tv + n, *xi = tv + 2 * n, *z = tv + 3 * n;
  hager_start(team, n, v);
  R est = 0;
  int last = -1;
  for (int it = 0; it < 5; ++it) {
    apply(false, v, w);
    if (!hager_after_forward(team, n, it, w, xi, &est)) break;
    apply(true, xi, z);
    if (!hager_after_adjoint(team, n, it, z, v, &last)) break;
  }
  hager_alternating(team, n, v);
  apply(false, v, w);
  const R result = hager_result(n, w, est);
  team.sync();  // tv is reused by the next call
  return result;
}

}  // namespace detexp
