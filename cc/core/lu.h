// LU factorization, log-determinant and inverse-from-LU for one matrix on the CPU.
//
// Small n uses the unrolled templates of small_lu.h (shared with the GPU), medium n a vectorised
// right-looking elimination, larger n Eigen's blocked PartialPivLU in place. All leave the same
// kind of factors: column-major P B = L U and the permutation vector perm (see small_lu.h for the
// storage convention).
#pragma once

#include <algorithm>
#include <complex>
#include <type_traits>
#include <utility>
#include <vector>

#include "cpu_plan.h"
#include "eigen_kernels.h"
#include "small_lu.h"

namespace detexp {

// The size rules are cpu_plan.h's: fixed-size templates up to kLuFixedMax, the full-column
// elimination up to kLuFullColumnsMax, the right-looking one up to kLuRightLookingMax, Eigen beyond.
constexpr int kSmallLuMax = cpu_plan::kLuFullColumnsMax;

// Calls fn(std::integral_constant<int, N>) with N = n for n <= kLuFixedMax (code specialised for
// the size: loops of known trip count, unrolled and vectorised), and N = 0 (run-time n) otherwise.

template <class Fn>
decltype(auto) with_fixed_size(int n, Fn&& fn) {
  switch (n) {
#define DETEXP_FIXED_CASE(N) \
  case N:                    \
    return fn(std::integral_constant<int, N>{});
    DETEXP_FIXED_CASE(1) DETEXP_FIXED_CASE(2) DETEXP_FIXED_CASE(3) DETEXP_FIXED_CASE(4)
    DETEXP_FIXED_CASE(5) DETEXP_FIXED_CASE(6) DETEXP_FIXED_CASE(7) DETEXP_FIXED_CASE(8)
#undef DETEXP_FIXED_CASE
    default:
      return fn(std::integral_constant<int, 0>{});
  }
}

// The medium-size path (kLuFixedMax < n <= kSmallLuMax): the same elimination as lu_factor_small,
// but every update runs down the whole column with the multipliers above the pivot set to zero,
// so the inner loops have trip count n and vectorise (subtracting 0 * x leaves an entry
// unchanged, so the factors are the same).
// Returns det(P) = ±1, like lu_factor_small.
template <class T>
int lu_factor_full_columns(T* a, int n, int* perm) {
  T m[kSmallLuMax];
  for (int i = 0; i < n; ++i) perm[i] = i;
  int parity = 1;
  for (int k = 0; k < n; ++k) {
    int p = k;
    real_t<T> best = abs1(a[k + k * n]);
    for (int i = k + 1; i < n; ++i) {
      const real_t<T> v = abs1(a[i + k * n]);
      const bool bigger = v > best;
      best = bigger ? v : best;
      p = bigger ? i : p;
    }
    if (p != k) {
      for (int j = 0; j < n; ++j) std::swap(a[k + j * n], a[p + j * n]);
      std::swap(perm[k], perm[p]);
      parity = -parity;
    }
    const T pivot = a[k + k * n];
    if (pivot == T(0)) continue;
    if (abs1(pivot) < reciprocal_limit<real_t<T>>()) {
      const T inv_pivot = T(1) / pivot;
      for (int i = 0; i < n; ++i) m[i] = i > k ? a[i + k * n] * inv_pivot : T(0);
    } else {
      for (int i = 0; i < n; ++i) m[i] = i > k ? a[i + k * n] / pivot : T(0);
    }
    for (int i = k + 1; i < n; ++i) a[i + k * n] = m[i];
    for (int j = k + 1; j < n; ++j) {
      T* col = a + static_cast<index_t>(j) * n;
      const T akj = col[k];
      for (int i = 0; i < n; ++i) col[i] -= m[i] * akj;
    }
  }
  return parity;
}

// Sizes kSmallLuMax < n <= cpu_plan::kLuRightLookingMax<T> use a plain right-looking
// elimination whose column updates run over the rows below the pivot only (n^3/3 multiply-adds,
// contiguous, so the compiler vectorises them); beyond, Eigen's blocked LU is as fast or faster.

// Returns det(P) = ±1, like lu_factor_small; the same factors and perm convention.
template <class T>
int lu_factor_right_looking(T* a, int n, int* perm) {
  for (int i = 0; i < n; ++i) perm[i] = i;
  int parity = 1;
  for (int k = 0; k < n; ++k) {
    T* col_k = a + static_cast<index_t>(k) * n;
    int p = k;
    real_t<T> best = abs1(col_k[k]);
    for (int i = k + 1; i < n; ++i) {
      const real_t<T> v = abs1(col_k[i]);
      const bool bigger = v > best;
      best = bigger ? v : best;
      p = bigger ? i : p;
    }
    if (p != k) {
      for (int j = 0; j < n; ++j) std::swap(a[k + static_cast<index_t>(j) * n], a[p + static_cast<index_t>(j) * n]);
      std::swap(perm[k], perm[p]);
      parity = -parity;
    }
    const T pivot = col_k[k];
    if (pivot == T(0)) continue;
    const int below = n - k - 1;
    T* __restrict m = col_k + k + 1;  // the multipliers, stored in place as L's column k
    if (abs1(pivot) < reciprocal_limit<real_t<T>>()) {
      const T inv_pivot = T(1) / pivot;
      for (int i = 0; i < below; ++i) m[i] *= inv_pivot;
    } else {  // 1/pivot would be subnormal (flushed to zero under FTZ): divide instead
      for (int i = 0; i < below; ++i) m[i] /= pivot;
    }
    for (int j = k + 1; j < n; ++j) {
      T* __restrict col = a + static_cast<index_t>(j) * n + k + 1;
      const T akj = col[-1];
      for (int i = 0; i < below; ++i) col[i] -= m[i] * akj;
    }
  }
  return parity;
}

// B^{-1} = U^{-1} L^{-1} P for all columns at once, with full-column (vectorised) updates as above.
template <class T>
void inverse_from_lu_full_columns(const T* lu, const int* perm, int n, T* x) {
  T m[kSmallLuMax];
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i < n; ++i) x[i + static_cast<index_t>(j) * n] = perm[i] == j ? T(1) : T(0);
  }
  for (int k = 0; k < n; ++k) {  // L y = P: unit lower, multipliers below the diagonal
    for (int i = 0; i < n; ++i) m[i] = i > k ? lu[i + k * n] : T(0);
    for (int j = 0; j < n; ++j) {
      T* col = x + static_cast<index_t>(j) * n;
      const T xkj = col[k];
      for (int i = 0; i < n; ++i) col[i] -= m[i] * xkj;
    }
  }
  for (int k = n - 1; k >= 0; --k) {  // U x = y: upper, entries above the diagonal
    const T ukk = lu[k + k * n];
    for (int i = 0; i < n; ++i) m[i] = i < k ? lu[i + k * n] : T(0);
    for (int j = 0; j < n; ++j) {
      T* col = x + static_cast<index_t>(j) * n;
      const T xkj = col[k] / ukk;
      col[k] = xkj;
      for (int i = 0; i < n; ++i) col[i] -= m[i] * xkj;
    }
  }
}

// Factors the n×n column-major matrix a[] in place and returns its sign and log|det|. Real input
// with ±Inf but no NaN gets its value from slogdet_with_infinities (on a copy: a[] still receives
// the factors of B, which the gradient ops read); other non-finite input gives NaN.
template <class T>
SlogdetValue<T> slogdet_inplace(T* a, int n, int* perm) {
  if (n == 0) return {T(1), real_t<T>(0)};
  const index_t nn = static_cast<index_t>(n) * n;
  const bool finite = all_finite(a, nn);
  std::vector<T> with_infinities;
  if (!finite && infinities_without_nan(a, nn)) with_infinities.assign(a, a + nn);
  int parity;
  if (n > cpu_plan::kLuRightLookingMax<T>) {
    eigen_kernels::partial_pivot_lu(a, n, perm);
    parity = permutation_parity(perm, n);
  } else if (n > kSmallLuMax) {
    parity = lu_factor_right_looking(a, n, perm);
  } else if (n > cpu_plan::kLuFixedMax) {
    parity = lu_factor_full_columns(a, n, perm);
  } else {
    parity = with_fixed_size(n, [&](auto fixed) { return lu_factor_small<decltype(fixed)::value>(a, n, perm); });
  }
  if (!with_infinities.empty()) {
    std::vector<int> scratch(n);
    return slogdet_with_infinities(with_infinities.data(), n, scratch.data());
  }
  return slogdet_from_parity<0>(a, parity, n, finite);
}

// inv := B^{-1} (column-major, n×n) from the factors left by slogdet_inplace. `scratch` holds
// n*n elements (used for n > kSmallLuMax).
template <class T>
void inverse_from_lu(const T* lu, const int* perm, int n, T* scratch, T* inv) {
  if (n == 0) return;
  if (n <= cpu_plan::kLuFixedMax) {
    return with_fixed_size(n, [&](auto fixed) { inverse_from_lu_small<decltype(fixed)::value>(lu, perm, n, inv); });
  }
  if (n <= kSmallLuMax) return inverse_from_lu_full_columns(lu, perm, n, inv);
  eigen_kernels::inverse_unpermuted_rows(lu, n, scratch);  // y = U^{-1} L^{-1}, row-major
  for (int r = 0; r < n; ++r) {
    const T* y_row = scratch + static_cast<index_t>(r) * n;
    for (int i = 0; i < n; ++i) inv[r + static_cast<index_t>(perm[i]) * n] = y_row[i];
  }
}

// out := k * conj(B^{-1}) laid out row-major, from the factors of the column-major B. For the
// row-major tensor A (B = A^T) this is k * conj(A^{-T}) = k * A^{-H}, the slogdet backward.
// `scratch` holds n*n elements.
template <class T>
void scaled_inverse_adjoint_from_lu(const T* lu, const int* perm, int n, T k, T* scratch, T* out) {
  if (n > kSmallLuMax) {  // row r of out is row r of y, columns scattered by perm (B^{-1} = y P)
    eigen_kernels::inverse_unpermuted_rows(lu, n, scratch);  // y = U^{-1} L^{-1}, row-major
    for (int r = 0; r < n; ++r) {
      const T* y_row = scratch + static_cast<index_t>(r) * n;
      T* out_row = out + static_cast<index_t>(r) * n;
      for (int i = 0; i < n; ++i) out_row[perm[i]] = k * conj_of(y_row[i]);
    }
    return;
  }
  inverse_from_lu(lu, perm, n, /*scratch=*/static_cast<T*>(nullptr), scratch);  // n <= kSmallLuMax: no scratch
  for (int r = 0; r < n; ++r) {
    for (int c = 0; c < n; ++c) out[static_cast<index_t>(r) * n + c] = k * conj_of(scratch[r + static_cast<index_t>(c) * n]);
  }
}

}  // namespace detexp

// The entry points are compiled once per dtype in cc/core/instances/ (fast parallel builds);
// including files see only these declarations.
#ifndef DETEXP_CORE_INSTANTIATE
#define DETEXP_LU_DECLARE(T)                                                                        \
  extern template detexp::SlogdetValue<T> detexp::slogdet_inplace<T>(T*, int, int*);                \
  extern template void detexp::inverse_from_lu<T>(const T*, const int*, int, T*, T*);                   \
  extern template void detexp::scaled_inverse_adjoint_from_lu<T>(const T*, const int*, int, T, T*, T*);
DETEXP_FOR_EACH_DTYPE(DETEXP_LU_DECLARE)
#undef DETEXP_LU_DECLARE
#endif
