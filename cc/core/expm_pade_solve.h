// The CPU's solves with the Padé denominator q = V - U (expm.h's backend: lu_factor, lu_solve).
// Triangular q (triangular input): substitution without pivoting, which keeps the zeros exact.
// Otherwise partial pivoting: fixed sizes the unrolled LU of small_lu.h and row operations on
// fixed-size rows; run-time n up to kPadeRightLookingMax lu.h's right-looking elimination and
// triangular solves on row-major right-hand sides; beyond, Eigen's blocked PartialPivLU.
#pragma once

#include <Eigen/Core>
#include <Eigen/LU>

#include <algorithm>
#include <vector>

#include "cpu_plan.h"
#include "lu.h"
#include "small_lu.h"

namespace detexp {

template <class Mat, bool kFixed = Mat::RowsAtCompileTime != Eigen::Dynamic>
class PadeSolver {
 public:
  using T = typename Mat::Scalar;
  // kind: expm_triangular.h's triangular_kind of q.
  void factor(const Mat& q, int kind) {
    kind_ = kind;
    const int n = static_cast<int>(q.rows());
    if (kind == 0 && n > cpu_plan::kPadeRightLookingMax<T>) {
      lu_.compute(q);
      f_.resize(0, 0);
      return;
    }
    f_ = q;
    if (kind != 0) return;
    perm_.resize(n);
    lu_factor_right_looking(f_.data(), n, perm_.data());
  }
  void solve_into(const Mat& b, Mat& out) const { out = solve(b); }
  Mat solve(const Mat& b) const {
    if (kind_ > 0) return f_.template triangularView<Eigen::Upper>().solve(b);
    if (kind_ < 0) return f_.template triangularView<Eigen::Lower>().solve(b);
    if (f_.size() == 0) return lu_.solve(b);
    RowMajorMat x(b.rows(), b.cols());
    for (Eigen::Index i = 0; i < b.rows(); ++i) x.row(i) = b.row(perm_[i]);
    f_.template triangularView<Eigen::UnitLower>().solveInPlace(x);
    f_.template triangularView<Eigen::Upper>().solveInPlace(x);
    return Mat(x);
  }

 private:
  using RowMajorMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  int kind_ = 0;
  Eigen::PartialPivLU<Mat> lu_;  // n > kPadeRightLookingMax
  Mat f_;                        // else the factors P q = L U (small_lu.h's convention), or q itself
  std::vector<int> perm_;
};

template <class Mat>
class PadeSolver<Mat, true> {
 public:
  static constexpr int N = Mat::RowsAtCompileTime;
  void factor(const Mat& q, int kind) {
    kind_ = kind;
    if (kind != 0) {
      f_ = q;
      return;
    }
    // Factored in a local, which the compiler keeps in registers (in the member every unrolled
    // update goes through memory).
    Mat f = q;
    int perm[N];
    lu_factor_small<N>(f.data(), N, perm);
    f_ = f;
    std::copy(perm, perm + N, perm_);
  }
  // The row operations run on a row-major copy: on column-major storage each one is N strided
  // scalar operations; the arithmetic and its order are unchanged.
  // out := q^{-1} b, written in place (inlined into the chain: at n = 4 a call returning the
  // matrix by value cost as much as the solve's arithmetic).
  [[gnu::always_inline]] void solve_into(const Mat& b, Mat& out) const {
    if (kind_ == 0) {
      Eigen::Matrix<typename Mat::Scalar, N, N, N == 1 ? Eigen::ColMajor : Eigen::RowMajor> x;
      for (int i = 0; i < N; ++i) x.row(i) = b.row(perm_[i]);
      for (int k = 0; k < N; ++k) {
        for (int i = k + 1; i < N; ++i) x.row(i) -= f_(i, k) * x.row(k);
      }
      for (int k = N - 1; k >= 0; --k) {
        x.row(k) /= f_(k, k);
        for (int i = 0; i < k; ++i) x.row(i) -= f_(i, k) * x.row(k);
      }
      out = x;
    } else if (kind_ > 0) {
      out = f_.template triangularView<Eigen::Upper>().solve(b);
    } else {
      out = f_.template triangularView<Eigen::Lower>().solve(b);
    }
  }

 private:
  int kind_ = 0;
  Mat f_;
  int perm_[N];
};

}  // namespace detexp
