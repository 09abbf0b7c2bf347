// The Eigen-based dense kernels of cc/core (square products, partial-pivot LU, the inverse from
// LU factors). The AVX-512 copy of cc/core (avx512.h) has its own, compiled for AVX-512.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include <Eigen/Core>
#include <Eigen/LU>

#include "cpu_plan.h"

namespace detexp {
namespace eigen_kernels {

template <class T>
using ColMajorMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
template <class T>
using RowMajorMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// c := a b, or c += a b; n×n column-major, no aliasing.
template <class T>
void gemm(int n, const T* a, const T* b, T* c, bool accumulate) {
  Eigen::Map<const ColMajorMatrix<T>> am(a, n, n), bm(b, n, n);
  Eigen::Map<ColMajorMatrix<T>> cm(c, n, n);
  if (accumulate) {
    cm.noalias() += am * bm;
  } else {
    cm.noalias() = am * bm;
  }
}

// Eigen's blocked PartialPivLU of the column-major a[] in place: P B = L U, perm[i] = the source
// row of row i of P B (small_lu.h's convention).
// Columns whose length is a multiple of 1 KB map a row's entries to a few L1 sets, and the
// panel's row swaps and updates then miss at every column: such matrices are factored in a copy
// with 64 more bytes per column (float64 n = 256: 720 -> 390 us, n = 128: 94 -> 70 us, copies
// included; the same arithmetic, the same factors).
template <class T>
void partial_pivot_lu(T* a, int n, int* perm) {
  using Stride = Eigen::OuterStride<>;
  const bool pad = (static_cast<std::size_t>(n) * sizeof(T)) % 1024 == 0;
  const int ld = pad ? n + static_cast<int>(64 / sizeof(T)) : n;
  std::vector<T> padded(pad ? static_cast<std::size_t>(ld) * n : 0);
  Eigen::Map<ColMajorMatrix<T>> m(a, n, n);
  Eigen::Map<ColMajorMatrix<T>, 0, Stride> work(pad ? padded.data() : a, n, n, Stride(ld));
  if (pad) work = m;
  Eigen::PartialPivLU<Eigen::Ref<ColMajorMatrix<T>, 0, Stride>> lu(work);
  if (pad) m = work;
  // Eigen's P satisfies (P B).row(indices[i]) = B.row(i); ours names the source row instead.
  const auto& idx = lu.permutationP().indices();
  for (int i = 0; i < n; ++i) perm[idx[i]] = i;
}


// y := U^{-1} L^{-1} (row-major, n×n) from the column-major factors P B = L U, so that
// B^{-1} = y P: column perm[i] of B^{-1} is column i of y.
// L^{-1} is unit lower triangular, so its column block [j0, j0 + w) is zero above row j0 and is
// the solve of the trailing block L[j0:, j0:] against I[j0:, j0:j0+w]: n^3/3 flops in all where
// solving L X = P densely costs n^3 (the count of LAPACK getri, Du Croz & Higham 1992). Row-major
// right-hand sides make Eigen's triangular solves 2-3x faster here than column-major ones.
template <class T>
void inverse_unpermuted_rows(const T* lu, int n, T* y) {
  Eigen::Map<const ColMajorMatrix<T>> f(lu, n, n);
  Eigen::Map<RowMajorMatrix<T>> x(y, n, n);
  if (n >= cpu_plan::kStructuredInverseMin) {
    x.setZero();
    for (int j0 = 0; j0 < n; j0 += cpu_plan::kInverseBlock) {
      const int w = std::min(cpu_plan::kInverseBlock, n - j0);
      auto block = x.block(j0, j0, n - j0, w);
      block.topRows(w).setIdentity();
      f.bottomRightCorner(n - j0, n - j0).template triangularView<Eigen::UnitLower>().solveInPlace(block);
    }
  } else {
    x.setIdentity();
    f.template triangularView<Eigen::UnitLower>().solveInPlace(x);
  }
  f.template triangularView<Eigen::Upper>().solveInPlace(x);
}

}  // namespace eigen_kernels
}  // namespace detexp
