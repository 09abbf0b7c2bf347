// exp(tA) B and its gradients on the CPU: the chain of expm_multiply_chain.h over Eigen products.
//
// Storage: every argument is row-major, as the TF and NumPy arrays are (a: n×n; b, g, out: n×k);
// the n×k blocks of the chain are held column-major inside, so that the terms
// of a step form one column-major n × (J k) matrix for the backward's stacked product. Products
// run over fixed blocks of kRowBlock rows of their result, serially or on the caller's threads
// (ParallelBlocks): the same blocks either way, so a matrix gets the same bits however it is
// scheduled (one of a large batch on one thread, or alone over the pool).
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <complex>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "avx512.h"
#include "cpu_plan.h"
#include "entry_points.h"
#include "expm.h"
#include "expm_multiply_chain.h"
#include "scalar.h"

namespace detexp {

using ParallelBlocks = ::detexp_entry::ParallelBlocks;  // entry_points.h

namespace expm_multiply {

constexpr int kRowBlock = 128;
// Products below this many flops run on the calling thread even where threads are offered: a
// hand-off to a pool costs tens of microseconds, about a 512 × 512 matrix-vector product (on 2
// cores, n = 512, k = 1: 4.6 ms spread over TF's pool vs 0.7 ms on one thread, float32).
constexpr std::int64_t kParallelMinFlops = 2000000;

template <class T>
class CpuOps {
 public:
  using Scalar = T;
  using Real = real_t<T>;
  using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using ColMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
  using Block = Eigen::Map<ColMat>;
  static constexpr bool kEstimates = true;
  static constexpr double kDenseCostRatio = cpu_plan::kExpmMultiplyDenseRatio<T>;

  CpuOps(const T* a, const T* b, const T* g, int n, int k, const ParallelBlocks* par)
      : a_(a), b_(b), g_(g), n_(n), k_(k), par_(par) {}

  // Outputs (set by the entry points).
  T* out = nullptr;
  T* grad_a = nullptr;
  T* grad_b = nullptr;
  T* grad_t = nullptr;

  int n() const { return n_; }
  int k() const { return k_; }

  Shift<T> prepare() {
    Shift<T> sh{T(0), Real(0), all_finite(a_, static_cast<index_t>(n_) * n_)};
    at_ = Eigen::Map<const RowMat>(a_, n_, n_);
    T trace = T(0);
    for (int i = 0; i < n_; ++i) trace += at_(i, i);
    sh.mu = trace / T(Real(n_));
    at_.diagonal().array() -= sh.mu;
    sh.norm1 = n_ > 0 ? at_.cwiseAbs().colwise().sum().maxCoeff() : Real(0);
    return sh;
  }

  void load_b(int dst) { block(dst) = Eigen::Map<const RowMat>(b_, n_, k_); }
  void load_g(int dst) { block(dst) = Eigen::Map<const RowMat>(g_, n_, k_); }
  void copy(int dst, int src) { block(dst) = block(src); }

  void apply(int dst, int src, T c) {
    Block y = block(dst), x = block(src);
    rows(2 * static_cast<std::int64_t>(n_) * k_, [&](int r0, int len) {
      y.middleRows(r0, len).noalias() = c * (at_.middleRows(r0, len) * x);
    });
  }

  void apply_adjoint(int dst, int src) {
    Block y = block(dst), x = block(src);
    rows(2 * static_cast<std::int64_t>(n_) * k_, [&](int r0, int len) {
      y.middleRows(r0, len).noalias() = at_.middleCols(r0, len).adjoint() * x;
    });
  }

  void add_norms(int acc, int term, Real* term_inf, Real* acc_inf) {
    Block f = block(acc), p = block(term);
    f += p;
    *term_inf = inf_norm_of(p);
    *acc_inf = inf_norm_of(f);
  }
  Real inf_norm(int src) { return inf_norm_of(block(src)); }
  void scale(int dst, T c) { block(dst) *= c; }
  void scale_from(int dst, T c, int src) { block(dst) = c * block(src); }
  void combine(int dst, T c1, int x1, T c2, int x2) { block(dst) = c1 * block(x1) + c2 * block(x2); }
  T dot(int x, int y) { return (block(x).array().conjugate() * block(y).array()).sum(); }

  void exact_power_norms(Real* norms) {
    RowMat p = at_, next;
    for (int q = 2; q <= kMaxPower + 1; ++q) {
      next.noalias() = p * at_;
      p.swap(next);
      norms[q] = p.cwiseAbs().colwise().sum().maxCoeff();
    }
  }

  void estimate_apply(bool adjoint, const T* in, T* out_block, int cols) {
    Eigen::Map<const ColMat> x(in, n_, cols);
    Eigen::Map<ColMat> y(out_block, n_, cols);
    rows(2 * static_cast<std::int64_t>(n_) * cols, [&](int r0, int len) {
      if (adjoint) {
        y.middleRows(r0, len).noalias() = at_.middleCols(r0, len).adjoint() * x;
      } else {
        y.middleRows(r0, len).noalias() = at_.middleRows(r0, len) * x;
      }
    });
  }

  void store_f(int src) { Eigen::Map<RowMat>(out, n_, k_) = block(src); }
  void fill_nan_forward() { fill_nan(out, static_cast<index_t>(n_) * k_); }

  void zero_grad_a() { grad_at_.setZero(n_, n_); }

  void rank_update(int count) {
    if (count == 0) return;
    Eigen::Map<ColMat> w(stack(scaled_w_, count), n_, static_cast<Eigen::Index>(count) * k_);
    Eigen::Map<ColMat> b(stack(terms_, count), n_, static_cast<Eigen::Index>(count) * k_);
    rows(2 * static_cast<std::int64_t>(n_) * count * k_, [&](int r0, int len) {
      grad_at_.middleRows(r0, len).noalias() += w.middleRows(r0, len) * b.adjoint();
    });
  }

  void finish_grad(int g, T grad_t_value, T grad_mu) {
    const T tr = grad_at_.trace();
    grad_at_.diagonal().array() += (grad_mu - tr) / T(Real(n_));
    Eigen::Map<RowMat>(grad_a, n_, n_) = grad_at_;
    Eigen::Map<RowMat>(grad_b, n_, k_) = block(g);
    *grad_t = grad_t_value;
  }

  void fill_nan_backward() {
    fill_nan(grad_a, static_cast<index_t>(n_) * n_);
    fill_nan(grad_b, static_cast<index_t>(n_) * k_);
    fill_nan(grad_t, 1);
  }

  // exp(tA) by expm.h (row-major works as it is: exp commutes with transposition), times B.
  void dense_forward(T t) {
    const RowMat e = dense_exp(t);
    Eigen::Map<const RowMat> b(b_, n_, k_);
    Eigen::Map<RowMat> f(out, n_, k_);
    rows(2 * static_cast<std::int64_t>(n_) * k_, [&](int r0, int len) {
      f.middleRows(r0, len).noalias() = e.middleRows(r0, len) * b;
    });
  }

  // With X = tA and L* = L(X^H, G B^H) (expm's adjoint Fréchet derivative along its own chain;
  // for row-major buffers the same call gives the row-major result, expm.h):
  // ∇_A = conj(t) L*, ∇_t = <A, L*>, ∇_B = exp(X)^H G.
  void dense_backward(T t) {
    const RowMat x = t * Eigen::Map<const RowMat>(a_, n_, n_);
    Eigen::Map<const RowMat> b(b_, n_, k_), g(g_, n_, k_);
    const RowMat gb = g * b.adjoint();
    RowMat l(n_, n_);
    expm_frechet_adjoint_matrix(x.data(), gb.data(), n_, kExpmChoiceNone, l.data());
    Eigen::Map<RowMat>(grad_a, n_, n_) = conj_of(t) * l;
    *grad_t = (Eigen::Map<const RowMat>(a_, n_, n_).array().conjugate() * l.array()).sum();
    const RowMat e = dense_exp(t);
    Eigen::Map<RowMat>(grad_b, n_, k_).noalias() = e.adjoint() * g;
  }

 private:
  static Real inf_norm_of(const Block& x) {
    if (x.size() == 0) return Real(0);
    return x.cwiseAbs().rowwise().sum().maxCoeff();
  }

  RowMat dense_exp(T t) const {
    const RowMat x = t * Eigen::Map<const RowMat>(a_, n_, n_);
    RowMat e(n_, n_);
    expm_matrix(x.data(), n_, e.data(), nullptr);
    return e;
  }

  // fn(r0, len) over the row blocks of an n-row result; flops: of the whole product.
  template <class Fn>
  void rows(std::int64_t flops_per_row, Fn&& fn) {
    const std::int64_t blocks = (n_ + kRowBlock - 1) / kRowBlock;
    const auto run = [&](std::int64_t b0, std::int64_t b1) {
      for (std::int64_t b = b0; b < b1; ++b) {
        const int r0 = static_cast<int>(b * kRowBlock);
        fn(r0, std::min(kRowBlock, n_ - r0));
      }
    };
    if (par_ != nullptr && blocks > 1 && blocks * flops_per_row * kRowBlock >= kParallelMinFlops) {
      (*par_)(blocks, flops_per_row * kRowBlock, run);
    } else {
      run(0, blocks);
    }
  }

  // A term or scaled-W stack holding at least `count` blocks (grown on first use).
  T* stack(std::vector<T>& s, int count) {
    const std::size_t need = static_cast<std::size_t>(count) * n_ * k_;
    if (s.size() < need) s.resize(std::max(need, s.size() * 2));
    return s.data();
  }

  T* data(int id) {
    const std::size_t nk = static_cast<std::size_t>(n_) * k_;
    if (id >= kCheckpoint) {
      const std::size_t i = static_cast<std::size_t>(id - kCheckpoint);
      if (checkpoints_.size() <= i) checkpoints_.resize(i + 1);
      if (checkpoints_[i].size() != nk) checkpoints_[i].resize(nk);
      return checkpoints_[i].data();
    }
    if (id >= kScaledW) return stack(scaled_w_, id - kScaledW + 1) + (id - kScaledW) * nk;
    if (id >= kTerm) return stack(terms_, id - kTerm + 1) + (id - kTerm) * nk;
    std::vector<T>& v = fixed_[id];
    if (v.size() != nk) v.resize(nk);
    return v.data();
  }
  Block block(int id) { return Block(data(id), n_, k_); }

  const T *a_, *b_, *g_;
  const int n_, k_;
  const ParallelBlocks* par_;
  RowMat at_, grad_at_;
  std::vector<T> fixed_[kV + 1];
  std::vector<T> terms_, scaled_w_;
  std::vector<std::vector<T>> checkpoints_;
};

}  // namespace expm_multiply

// out := exp(t a) b (a n×n, b and out n×k, row-major). choice: the code to reuse, or
// kChoiceNone; returns the code used (expm_multiply_select.h). NaN/Inf in a or t: NaN out.
template <class T>
int expm_multiply_matrix(const T* a, const T* b, T t, int n, int k, int choice, T* out, const ParallelBlocks* par) {
  DETEXP_USE_AVX512(expm_multiply_matrix(a, b, t, n, k, choice, out, par));
  if (n == 0 || k == 0) return expm_multiply::kChoiceNone;
  expm_multiply::CpuOps<T> ops(a, b, nullptr, n, k, par);
  ops.out = out;
  return expm_multiply::forward(ops, t, choice);
}

// The gradients of Re <g, exp(t a) b> with respect to a (n×n), b (n×k) and t, for the forward
// that `choice` describes (kChoiceNone: select again, with the same result).
template <class T>
void expm_multiply_grad_matrix(const T* a, const T* b, T t, const T* g, int n, int k, int choice, T* grad_a,
                               T* grad_b, T* grad_t, const ParallelBlocks* par) {
  DETEXP_USE_AVX512(expm_multiply_grad_matrix(a, b, t, g, n, k, choice, grad_a, grad_b, grad_t, par));
  if (n == 0 || k == 0) {
    std::fill(grad_a, grad_a + static_cast<index_t>(n) * n, T(0));
    *grad_t = T(0);
    return;
  }
  expm_multiply::CpuOps<T> ops(a, b, g, n, k, par);
  ops.grad_a = grad_a;
  ops.grad_b = grad_b;
  ops.grad_t = grad_t;
  expm_multiply::backward(ops, t, choice);
}

}  // namespace detexp

// Compiled once per dtype in cc/core/instances/ (see lu.h).
#ifndef DETEXP_CORE_INSTANTIATE
#define DETEXP_EXPM_MULTIPLY_DECLARE(T, R) DETEXP_EXPM_MULTIPLY_ENTRY_POINTS(DETEXP_EXTERN_ENTRY_POINT, T, R)
DETEXP_CORE_FOR_EACH_DTYPE(DETEXP_EXPM_MULTIPLY_DECLARE)
#undef DETEXP_EXPM_MULTIPLY_DECLARE
#endif
