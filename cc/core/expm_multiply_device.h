// exp(tA) B and its gradient for large n on an accelerator driven from the host: the backend of
// expm_multiply_chain.h whose products are a BLAS's (cuBLAS on the GPU: cuda/expm_multiply_kernels.cu)
// and whose block operations and reductions are the small __host__ __device__ functors below, run
// by the device (a kernel per call on the GPU). The chain, the selection (with the block
// estimates of norm1_power_estimate.h beyond kExactNormMaxN) and the tables are the ones every
// backend shares; the test module runs this same file over a CPU device (cc/testing/), so CI checks
// the layouts, the BLAS arguments and the order of work that the GPU runs.
//
// Every scalar that steers the chain (norms, dots, the trace) is read back by the host: one
// synchronisation per reduction, a few per Taylor term; this path serves the n where a product
// costs more than that (gpu_plan.h).
//
// Storage on the device: Ã, ∇_Ã and the chain's n×k blocks column-major (BLAS's order; the blocks of
// the terms and of the scaled W are consecutive, so the backward's rank update is one GEMM over
// n × (J k)); the op's arguments row-major, transposed on the way in and out.
//
// The Device interface (pointers are device memory; calls are enqueued in order):
//   void gemm(char op_a, char op_b, int m, int n, int k, T alpha, const T* a, int lda, const T* b,
//             int ldb, T beta, T* c, int ldc)      column-major, op 'N', 'T' or 'C' (BLAS's xGEMM)
//   template <class F> void for_each(index_t count, const F& f)       f(i) for i in [0, count)
//   template <class F> T sum(index_t count, const F& f)               Σ f(i) (T), read back
//   template <class F> void max(index_t count, const F& f, R* out)    out[w] = max_i f(i, w-th), for
//                                                                      F::kWidth values per i, read back
//   void upload(T* dst, const T* host, index_t count);  void download(T* host, const T* src, index_t count)
//   void expm(const T* x, T* e)                         e := exp(x), row-major n×n
//   void expm_adjoint(const T* x, const T* g, T* l)     l := L(x^H, g) with x's degree and scaling
// Errors are the device's to keep (the first wins; later calls may do nothing, reads return 0).
#pragma once

#include <cstdint>
#include <vector>

#include "expm_multiply_chain.h"
#include "scalar.h"

namespace detexp {
namespace expm_multiply {
namespace device_steps {

// at[i + j n] := a[i n + j] (row-major in, column-major out).
template <class T>
struct LoadTransposed {
  const T* a;
  T* at;
  int n;
  DETEXP_HD void operator()(index_t idx) const { at[idx] = a[(idx % n) * n + idx / n]; }
};

// Whether entry idx is NaN or Inf (max over the matrix: 1 where any is).
template <class T>
struct NonFinite {
  static constexpr int kWidth = 1;
  const T* a;
  DETEXP_HD void operator()(index_t idx, real_t<T>* out) const {
    out[0] = finite_scalar(a[idx]) ? real_t<T>(0) : real_t<T>(1);
  }
};

template <class T>
struct Diagonal {
  const T* x;
  int n;
  DETEXP_HD T operator()(index_t i) const { return x[i * n + i]; }
};

template <class T>
struct ShiftDiagonal {
  T* x;
  int n;
  T mu;
  DETEXP_HD void operator()(index_t i) const { x[i * n + i] -= mu; }
};

// Σ_{l < len} |x[o outer + l inner]| for o: a column's modulus sum of a column-major n×n matrix
// (outer n, inner 1: its 1-norm is the max) or a row's of a column-major n×k block (outer 1,
// inner n, len k: its ∞-norm is the max).
template <class T>
struct StridedSum {
  static constexpr int kWidth = 1;
  const T* x;
  index_t outer, inner;
  int len;
  DETEXP_HD void operator()(index_t o, real_t<T>* out) const {
    real_t<T> s = 0;
    for (int l = 0; l < len; ++l) s += modulus(x[o * outer + l * inner]);
    out[0] = s;
  }
};

// f += p on row i, and the row's modulus sums of p and of the new f.
template <class T>
struct AddRow {
  static constexpr int kWidth = 2;
  T* f;
  const T* p;
  int n, k;
  DETEXP_HD void operator()(index_t i, real_t<T>* out) const {
    real_t<T> sp = 0, sf = 0;
    for (int c = 0; c < k; ++c) {
      const index_t idx = i + static_cast<index_t>(c) * n;
      f[idx] += p[idx];
      sp += modulus(p[idx]);
      sf += modulus(f[idx]);
    }
    out[0] = sp;
    out[1] = sf;
  }
};

// block[i + c n] := m[i k + c] (row-major n×k in), or the reverse (out).
template <class T>
struct BlockIn {
  const T* m;
  T* block;
  int n, k;
  DETEXP_HD void operator()(index_t idx) const { block[idx] = m[(idx % n) * k + idx / n]; }
};
template <class T>
struct BlockOut {
  const T* block;
  T* m;
  int n, k;
  DETEXP_HD void operator()(index_t idx) const { m[(idx % n) * k + idx / n] = block[idx]; }
};

template <class T>
struct Copy {
  const T* src;
  T* dst;
  DETEXP_HD void operator()(index_t idx) const { dst[idx] = src[idx]; }
};

// dst := c src (dst may be src).
template <class T>
struct Scale {
  const T* src;
  T* dst;
  T c;
  DETEXP_HD void operator()(index_t idx) const { dst[idx] = c * src[idx]; }
};

// dst := c1 x1 + c2 x2 (dst may be x2).
template <class T>
struct Combine {
  const T* x1;
  const T* x2;
  T* dst;
  T c1, c2;
  DETEXP_HD void operator()(index_t idx) const { dst[idx] = c1 * x1[idx] + c2 * x2[idx]; }
};

template <class T>
struct ConjProduct {
  const T* x;
  const T* y;
  DETEXP_HD T operator()(index_t idx) const { return conj_of(x[idx]) * y[idx]; }
};

template <class T>
struct Fill {
  T* dst;
  T value;
  DETEXP_HD void operator()(index_t idx) const { dst[idx] = value; }
};

// grad_a[i n + j] := g[i + j n] + (i == j ? d : 0): ∇_Ã (column-major) to ∇_A (row-major).
template <class T>
struct GradOut {
  const T* g;
  T* grad_a;
  int n;
  T d;
  DETEXP_HD void operator()(index_t idx) const {
    const index_t i = idx / n, j = idx % n;
    const T v = g[i + j * n];
    grad_a[idx] = i == j ? v + d : v;
  }
};

}  // namespace device_steps

// The device buffers of one launch, reused by every matrix of the batch. Taylor route: Ã, ∇_Ã
// (backward), the powers (exact norms, n <= kExactNormMaxN), the blocks (F..V, then the terms,
// the scaled W and the checkpoints, consecutive), the estimator's in/out blocks (n > kExactNormMaxN).
// Dense route: tA in Ã's buffer, G B^H in ∇_Ã's, exp(tA) in its own.
struct DeviceLayout {
  index_t at, grad_at, powers, blocks, block_count, estimate, dense_e, total;  // in scalars
};

inline DeviceLayout device_layout(int n, int k, bool backward, double dense_ratio) {
  const index_t nn = static_cast<index_t>(n) * n, nk = static_cast<index_t>(n) * k;
  DeviceLayout l;
  l.at = 0;
  l.grad_at = nn;
  l.powers = l.grad_at + (backward ? nn : 0);
  l.blocks = l.powers + (n <= kExactNormMaxN ? 2 * nn : 0);
  l.block_count = buffer_slots(backward, checkpoint_capacity(n, k, dense_ratio));
  l.estimate = l.blocks + l.block_count * nk;
  l.dense_e = l.estimate + (n > kExactNormMaxN ? 2 * static_cast<index_t>(n) * kMaxPower * kEstimateColumns : 0);
  l.total = l.dense_e + nn;
  return l;
}

// The Ops of expm_multiply_chain.h over a Device, for one matrix (a, b, g and the outputs: device
// pointers, row-major); ws: device_layout(...).total scalars; t is the host's copy.
template <class T, class Device, class Plan>
class DeviceOps {
 public:
  using Scalar = T;
  using Real = real_t<T>;
  static constexpr bool kEstimates = true;
  static constexpr double kDenseCostRatio = Plan::template kDenseRatio<T>;

  DeviceOps(Device& dev, int n, int k, const T* a, const T* b, const T* g, bool backward, T* ws)
      : dev_(dev), n_(n), k_(k), a_(a), b_(b), g_(g), ws_(ws), l_(device_layout(n, k, backward, kDenseCostRatio)) {}

  T* out = nullptr;
  T* grad_a = nullptr;
  T* grad_b = nullptr;
  T* grad_t = nullptr;

  int n() const { return n_; }
  int k() const { return k_; }

  Shift<T> prepare() {
    using namespace device_steps;
    Shift<T> sh;
    T* at = ws_ + l_.at;
    dev_.for_each(nn(), LoadTransposed<T>{a_, at, n_});
    Real bad = 0;
    dev_.max(nn(), NonFinite<T>{a_}, &bad);
    sh.finite = bad == Real(0);
    const T trace = dev_.sum(n_, Diagonal<T>{at, n_});
    sh.mu = trace / T(Real(n_));
    dev_.for_each(n_, ShiftDiagonal<T>{at, n_, sh.mu});
    dev_.max(n_, StridedSum<T>{at, n_, 1, n_}, &sh.norm1);
    return sh;
  }

  void load_b(int dst) { dev_.for_each(nk(), device_steps::BlockIn<T>{b_, block(dst), n_, k_}); }
  void load_g(int dst) { dev_.for_each(nk(), device_steps::BlockIn<T>{g_, block(dst), n_, k_}); }
  void copy(int dst, int src) { dev_.for_each(nk(), device_steps::Copy<T>{block(src), block(dst)}); }

  void apply(int dst, int src, T c) { dev_.gemm('N', 'N', n_, k_, n_, c, at(), n_, block(src), n_, T(0), block(dst), n_); }
  void apply_adjoint(int dst, int src) {
    dev_.gemm('C', 'N', n_, k_, n_, T(1), at(), n_, block(src), n_, T(0), block(dst), n_);
  }

  void add_norms(int acc, int term, Real* term_inf, Real* acc_inf) {
    Real r[2] = {0, 0};
    dev_.max(n_, device_steps::AddRow<T>{block(acc), block(term), n_, k_}, r);
    *term_inf = r[0];
    *acc_inf = r[1];
  }
  Real inf_norm(int src) {
    Real r = 0;
    dev_.max(n_, device_steps::StridedSum<T>{block(src), 1, n_, k_}, &r);
    return r;
  }
  void scale(int dst, T c) { dev_.for_each(nk(), device_steps::Scale<T>{block(dst), block(dst), c}); }
  void scale_from(int dst, T c, int src) { dev_.for_each(nk(), device_steps::Scale<T>{block(src), block(dst), c}); }
  void combine(int dst, T c1, int x1, T c2, int x2) {
    dev_.for_each(nk(), device_steps::Combine<T>{block(x1), block(x2), block(dst), c1, c2});
  }
  T dot(int x, int y) { return dev_.sum(nk(), device_steps::ConjProduct<T>{block(x), block(y)}); }

  // Exact norms (n <= kExactNormMaxN, where the selection asks for them).
  void exact_power_norms(Real* norms) {
    T* p[2] = {ws_ + l_.powers, ws_ + l_.powers + nn()};
    const T* prev = at();
    for (int q = 2; q <= kMaxPower + 1; ++q) {
      T* next = p[q % 2];
      dev_.gemm('N', 'N', n_, n_, n_, T(1), prev, n_, at(), n_, T(0), next, n_);
      dev_.max(n_, device_steps::StridedSum<T>{next, n_, 1, n_}, &norms[q]);
      prev = next;
    }
  }

  // The estimator's products: its host blocks go through the device.
  void estimate_apply(bool adjoint, const T* in, T* out_block, int cols) {
    T* x = ws_ + l_.estimate;
    T* y = x + static_cast<index_t>(n_) * kMaxPower * kEstimateColumns;
    const index_t count = static_cast<index_t>(n_) * cols;
    dev_.upload(x, in, count);
    dev_.gemm(adjoint ? 'C' : 'N', 'N', n_, cols, n_, T(1), at(), n_, x, n_, T(0), y, n_);
    dev_.download(out_block, y, count);
  }

  void store_f(int src) { dev_.for_each(nk(), device_steps::BlockOut<T>{block(src), out, n_, k_}); }
  void fill_nan_forward() { dev_.for_each(nk(), device_steps::Fill<T>{out, nan_scalar()}); }

  void zero_grad_a() { dev_.for_each(nn(), device_steps::Fill<T>{ws_ + l_.grad_at, T(0)}); }

  // ∇_Ã += [W_1 .. W_J] [B_0 .. B_{J-1}]^H: one GEMM over the consecutive blocks.
  void rank_update(int count) {
    if (count == 0) return;
    dev_.gemm('N', 'C', n_, n_, count * k_, T(1), block(kScaledW), n_, block(kTerm), n_, T(1), ws_ + l_.grad_at, n_);
  }

  void finish_grad(int g, T grad_t_value, T grad_mu) {
    using namespace device_steps;
    const T* ga = ws_ + l_.grad_at;
    const T trace = dev_.sum(n_, Diagonal<T>{ga, n_});
    dev_.for_each(nn(), GradOut<T>{ga, grad_a, n_, (grad_mu - trace) / T(Real(n_))});
    dev_.for_each(nk(), BlockOut<T>{block(g), grad_b, n_, k_});
    dev_.for_each(1, Fill<T>{grad_t, grad_t_value});
  }

  void fill_nan_backward() {
    dev_.for_each(nn(), device_steps::Fill<T>{grad_a, nan_scalar()});
    dev_.for_each(nk(), device_steps::Fill<T>{grad_b, nan_scalar()});
    dev_.for_each(1, device_steps::Fill<T>{grad_t, nan_scalar()});
  }

  // Row-major n×n E times row-major n×k B, as column-major products of the transposes:
  // (E B)^T = B^T E^T.
  void dense_forward(T t) {
    T* e = ws_ + l_.dense_e;
    dense_exp(t, e);
    dev_.gemm('N', 'N', k_, n_, n_, T(1), b_, k_, e, n_, T(0), out, k_);
  }

  // As the CPU driver: L* = L(X^H, G B^H), ∇_A = conj(t) L*, ∇_t = <A, L*>, ∇_B = exp(X)^H G.
  void dense_backward(T t) {
    T* x = ws_ + l_.at;
    T* gb = ws_ + l_.grad_at;
    T* e = ws_ + l_.dense_e;
    dev_.for_each(nn(), device_steps::Scale<T>{a_, x, t});
    // (G B^H)^T = conj(B) G^T = (B^T)^H G^T (row-major G, B read as G^T, B^T).
    dev_.gemm('C', 'N', n_, n_, k_, T(1), b_, k_, g_, k_, T(0), gb, n_);
    dev_.expm_adjoint(x, gb, grad_a);
    const T gt = dev_.sum(nn(), device_steps::ConjProduct<T>{a_, grad_a});
    dev_.for_each(nn(), device_steps::Scale<T>{grad_a, grad_a, conj_of(t)});
    dev_.for_each(1, device_steps::Fill<T>{grad_t, gt});
    dev_.expm(x, e);
    // (E^H G)^T = G^T conj(E) = G^T (E^T)^H.
    dev_.gemm('N', 'C', k_, n_, n_, T(1), g_, k_, e, n_, T(0), grad_b, k_);
  }

 private:
  index_t nn() const { return static_cast<index_t>(n_) * n_; }
  index_t nk() const { return static_cast<index_t>(n_) * k_; }
  T* at() const { return ws_ + l_.at; }
  static T nan_scalar() {
    const Real q = std::numeric_limits<Real>::quiet_NaN();
    return make_scalar<T>(q, q);
  }

  T* block(int id) const {
    return ws_ + l_.blocks + static_cast<index_t>(buffer_slot(id)) * nk();
  }

  void dense_exp(T t, T* e) {
    T* x = ws_ + l_.at;
    dev_.for_each(nn(), device_steps::Scale<T>{a_, x, t});
    dev_.expm(x, e);
  }

  Device& dev_;
  int n_, k_;
  const T *a_, *b_, *g_;
  T* ws_;
  DeviceLayout l_;
};

// The batch, one matrix after another: a [batch, n, n], b and f [batch, n, k] (device, row-major),
// t [batch] (host), choice [batch] (host, out). ws: device_layout(n, k, false, ratio).total scalars.
template <class Plan, class T, class Device>
void expm_multiply_device(Device& dev, std::int64_t batch, int n, int k, const T* a, const T* b, const T* t, T* f,
                          int* choice, T* ws) {
  const index_t nn = static_cast<index_t>(n) * n, nk = static_cast<index_t>(n) * k;
  for (std::int64_t i = 0; i < batch; ++i) {
    if (n == 0 || k == 0) {
      choice[i] = kChoiceNone;
      continue;
    }
    DeviceOps<T, Device, Plan> ops(dev, n, k, a + i * nn, b + i * nk, nullptr, false, ws);
    ops.out = f + i * nk;
    choice[i] = forward(ops, t[i], kChoiceNone);
  }
}

// The gradients for the forward's choice codes (host; kChoiceNone: select again). ws:
// device_layout(n, k, true, ratio).total scalars.
template <class Plan, class T, class Device>
void expm_multiply_grad_device(Device& dev, std::int64_t batch, int n, int k, const T* a, const T* b, const T* t,
                               const T* g, const int* choice, T* grad_a, T* grad_b, T* grad_t, T* ws) {
  const index_t nn = static_cast<index_t>(n) * n, nk = static_cast<index_t>(n) * k;
  const int capacity = checkpoint_capacity(n, k, Plan::template kDenseRatio<T>);
  for (std::int64_t i = 0; i < batch; ++i) {
    if (n == 0 || k == 0) {
      dev.for_each(nn, device_steps::Fill<T>{grad_a + i * nn, T(0)});
      dev.for_each(1, device_steps::Fill<T>{grad_t + i, T(0)});
      continue;
    }
    DeviceOps<T, Device, Plan> ops(dev, n, k, a + i * nn, b + i * nk, g + i * nk, true, ws);
    ops.grad_a = grad_a + i * nn;
    ops.grad_b = grad_b + i * nk;
    ops.grad_t = grad_t + i;
    // A code from elsewhere (another device's forward) may need more checkpoints than ws holds.
    int code = choice == nullptr ? kChoiceNone : choice[i];
    if (code >= 0 && code != kChoiceDense && checkpoint_buffers(choice_steps(code)) > capacity) code = kChoiceNone;
    backward(ops, t[i], code);
  }
}

}  // namespace expm_multiply
}  // namespace detexp
