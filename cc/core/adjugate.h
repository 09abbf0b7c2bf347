// The adjugate adj(B) (classical adjoint, B adj(B) = det(B) I) of one matrix, exact at
// singular matrices: the gradient of det is adj(A)^T, and it must stay finite where det = 0.
//
// From the SVD B = U S V^H and adj(XY) = adj(Y) adj(X), adj(W) = det(W) W^H for unitary W:
//     adj(B) = conj(det V) det(U) · V · diag(prod_{j != i} s_j) · U^H.
// The products leave out one singular value each (prefix/suffix products, no division), so a
// rank n-1 matrix gets its nonzero rank-one adjugate and rank <= n-2 gets exactly zero.
// adj(B^T) = adj(B)^T, so the column-major view of a row-major tensor needs no care.
#pragma once

#include <vector>

#include <Eigen/Core>
#include <Eigen/LU>
#include <Eigen/SVD>

#include "avx512.h"
#include "entry_points.h"
#include "lu.h"

namespace detexp {

template <class T>
using ColMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

// adj(B) from a computed SVD (Eigen's JacobiSVD or BDCSVD with full U and V).
template <class T, class Svd>
void adjugate_from_svd(const Svd& svd, int n, Eigen::Map<ColMajor<T>>& adj) {
  using R = real_t<T>;
  const auto& s = svd.singularValues();
  std::vector<R> others(n);  // others[i] = prod_{j != i} s_j
  R prefix = 1;
  for (int i = 0; i < n; ++i) {
    others[i] = prefix;
    prefix *= s[i];
  }
  R suffix = 1;
  for (int i = n - 1; i >= 0; --i) {
    others[i] *= suffix;
    suffix *= s[i];
  }
  const T phase = conj_of(T(svd.matrixV().determinant())) * T(svd.matrixU().determinant());
  Eigen::Map<const Eigen::Matrix<R, Eigen::Dynamic, 1>> d(others.data(), n);
  adj.noalias() = svd.matrixV() * d.template cast<T>().asDiagonal() * svd.matrixU().adjoint();
  adj *= phase;
}

// One-sided Jacobi is the most accurate for small n; divide and conquer is far faster beyond.
constexpr int kJacobiSvdMax = 16;

template <class T>
void adjugate(const T* b, int n, T* out) {
  DETEXP_USE_AVX512(adjugate(b, n, out));
  using R = real_t<T>;
  Eigen::Map<ColMajor<T>> adj(out, n, n);
  if (n == 0) return;
  if (n == 1) {
    adj(0, 0) = T(1);
    return;
  }
  Eigen::Map<const ColMajor<T>> m(b, n, n);
  if (!all_finite(b, static_cast<index_t>(n) * n)) {
    adj.setConstant(make_scalar<T>(quiet_nan<R>(), is_complex<T>::value ? quiet_nan<R>() : R(0)));
    return;
  }
  constexpr int kFull = Eigen::ComputeFullU | Eigen::ComputeFullV;
  if (n <= kJacobiSvdMax) {
    adjugate_from_svd<T>(Eigen::JacobiSVD<ColMajor<T>, kFull>(m), n, adj);
  } else {
    adjugate_from_svd<T>(Eigen::BDCSVD<ColMajor<T>, kFull>(m), n, adj);
  }
}

}  // namespace detexp

#ifndef DETEXP_CORE_INSTANTIATE
#define DETEXP_ADJUGATE_DECLARE(T, R) DETEXP_ADJUGATE_ENTRY_POINTS(DETEXP_EXTERN_ENTRY_POINT, T, R)
DETEXP_CORE_FOR_EACH_DTYPE(DETEXP_ADJUGATE_DECLARE)
#undef DETEXP_ADJUGATE_DECLARE
#endif
