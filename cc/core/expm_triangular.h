// Triangular input of the matrix exponential (every backend): its structure and the exact
// diagonal and first off-diagonal of exp(2^e X) that the squarings put back (Al-Mohy & Higham 2009,
// Code Fragment 2.1, as SciPy). Team routines (team.h) over column-major n×n arrays.
#pragma once

#include "team.h"

namespace detexp {

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

// (e^{l1} - e^{l2}) / (l1 - l2) = e^{(l1+l2)/2} sinh(z)/z, z = (l1 - l2)/2, without cancellation
// (Higham, Functions of Matrices, eq. (10.42)).
template <class T>
DETEXP_HD T exp_divided_difference(const T& l1, const T& l2) {
  using R = real_t<T>;
  const T z = (l1 - l2) / T(R(2));
  const T mean = (l1 + l2) / T(R(2));
  const T sinhc = modulus(z) < R(1e-3) ? T(R(1)) + z * z / T(R(6)) * (T(R(1)) + z * z / T(R(20)))
                                       : sinh_of(z) / z;
  return exp_of(mean) * sinhc;
}

// 1: upper triangular (a diagonal matrix included), -1: lower, 0: neither; in every member.
template <class Team, class T>
DETEXP_HD_CALL int triangular_kind(const Team& team, int n, const T* a) {
  int flags = 0;  // bit 0: a nonzero below the diagonal, bit 1: above
  for (int j = team.rank(); j < n && flags != 3; j += team.size()) {
    for (int i = 0; i < n; ++i) {
      if (i == j || a[i + j * n] == T(0)) continue;
      flags |= i > j ? 1 : 2;
    }
  }
  const int below = team.max(flags & 1), above = team.max(flags & 2);
  return below == 0 ? 1 : (above == 0 ? -1 : 0);
}

// For triangular x (kind != 0): entry k of the diagonal (and, with offdiag, of the first
// off-diagonal) of r ≈ exp(2^e x) set to its exact value.
template <class T>
DETEXP_HD void fix_triangular_entry(int n, T* r, const T* x, int kind, int e, bool offdiag, int k) {
  r[k + k * n] = exp_of(ldexp_of(x[k + k * n], e));
  if (!offdiag || k + 1 >= n) return;
  const int i = kind > 0 ? k : k + 1, j = kind > 0 ? k + 1 : k;
  const T t = ldexp_of(x[i + j * n], e);
  r[i + j * n] = t == T(0) ? T(0)
                           : t * exp_divided_difference(ldexp_of(x[k + k * n], e),
                                                        ldexp_of(x[(k + 1) + (k + 1) * n], e));
}

template <class Team, class T>
DETEXP_HD_CALL void fix_triangular(const Team& team, int n, T* r, const T* x, int kind, int e, bool offdiag) {
  for (int k = team.rank(); k < n; k += team.size()) fix_triangular_entry(n, r, x, kind, e, offdiag, k);
  team.sync();
}

}  // namespace detexp
