// LU factorization, log-determinant and inverse-from-LU for one matrix on the CPU.
//
// Small n uses the unrolled templates of small_lu.h (shared with the GPU); larger n uses Eigen's
// blocked PartialPivLU in place. Both leave the same factors: column-major P B = L U and the
// permutation vector perm (see small_lu.h for the storage convention).
#pragma once

#include <Eigen/Core>
#include <Eigen/LU>

#include "small_lu.h"

namespace detexp {

// Sizes up to this use the hand-written elimination; beyond it Eigen's blocked LU wins
// (measured with `python -m detexp.bench`).
constexpr int kSmallLuMax = 24;

template <class T>
using ColMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

template <int N, class T>
SlogdetValue<T> slogdet_inplace_fixed(T* a, int* perm) {
  const bool finite = all_finite(a, static_cast<index_t>(N) * N);
  lu_factor_small<N>(a, N, perm);
  return slogdet_from_lu(a, perm, N, finite);
}

template <class T>
SlogdetValue<T> slogdet_inplace_eigen(T* a, int n, int* perm) {
  const bool finite = all_finite(a, static_cast<index_t>(n) * n);
  Eigen::Map<ColMajor<T>> m(a, n, n);
  Eigen::PartialPivLU<Eigen::Ref<ColMajor<T>>> lu(m);
  // Eigen's P satisfies (P B).row(indices[i]) = B.row(i); ours names the source row instead.
  const auto& idx = lu.permutationP().indices();
  for (int i = 0; i < n; ++i) perm[idx[i]] = i;
  return slogdet_from_lu(a, perm, n, finite);
}

// Factors the n×n column-major matrix a[] in place and returns its sign and log|det|.
template <class T>
SlogdetValue<T> slogdet_inplace(T* a, int n, int* perm) {
  switch (n) {
    case 0: return {T(1), real_t<T>(0)};
    case 1: return slogdet_inplace_fixed<1>(a, perm);
    case 2: return slogdet_inplace_fixed<2>(a, perm);
    case 3: return slogdet_inplace_fixed<3>(a, perm);
    case 4: return slogdet_inplace_fixed<4>(a, perm);
    case 5: return slogdet_inplace_fixed<5>(a, perm);
    case 6: return slogdet_inplace_fixed<6>(a, perm);
    case 7: return slogdet_inplace_fixed<7>(a, perm);
    case 8: return slogdet_inplace_fixed<8>(a, perm);
    default: break;
  }
  if (n <= kSmallLuMax) {
    const bool finite = all_finite(a, static_cast<index_t>(n) * n);
    lu_factor_small<0>(a, n, perm);
    return slogdet_from_lu(a, perm, n, finite);
  }
  return slogdet_inplace_eigen(a, n, perm);
}

// inv := B^{-1} from the factors left by slogdet_inplace (column-major, n×n).
template <class T>
void inverse_from_lu(const T* lu, const int* perm, int n, T* inv) {
  switch (n) {
    case 0: return;
    case 1: return inverse_from_lu_small<1>(lu, perm, 1, inv);
    case 2: return inverse_from_lu_small<2>(lu, perm, 2, inv);
    case 3: return inverse_from_lu_small<3>(lu, perm, 3, inv);
    case 4: return inverse_from_lu_small<4>(lu, perm, 4, inv);
    default: break;
  }
  if (n <= kSmallLuMax) return inverse_from_lu_small<0>(lu, perm, n, inv);
  Eigen::Map<const ColMajor<T>> f(lu, n, n);
  Eigen::Map<ColMajor<T>> x(inv, n, n);
  x.setZero();
  for (int i = 0; i < n; ++i) x(i, perm[i]) = T(1);  // x = P
  f.template triangularView<Eigen::UnitLower>().solveInPlace(x);
  f.template triangularView<Eigen::Upper>().solveInPlace(x);
}

}  // namespace detexp
