// exp(tA) B and its gradient for one matrix, written once over a backend (Ops) that supplies the
// products and block operations: the CPU (expm_multiply.h, Eigen), the GPU's thread teams for small
// n (expm_multiply_team.h, on the device) and its host-driven cuBLAS path for large n
// (expm_multiply_device.h); __host__ __device__ so that all of them run this same code and the CPU
// tests prove the GPU's math (selection, steps, termination, adjoint) through the test module.
//
// Forward: AH2011 Alg. 3.2 (see expm_multiply_select.h). Ã = A - μI with μ = trace(A)/n; (m, s)
// from ||tÃ||_1 or from the α_p of the norms ||Ã^p||_1 (exact for n <= kExactNormMaxN, else the
// block estimates of norm1_power_estimate.h); then s steps
//   F_{i+1} = η T_J(hÃ) F_i,   h = t/s,   η = e^{tμ/s},   J <= m,
// each summing the terms B_j = (h/j) Ã B_{j-1} until two consecutive ones are below u ||F||_∞
// (the early termination of Alg. 3.2). η is applied per step, as in the paper: e^{tμ} itself may
// overflow or underflow where the result does not. Where ||tÃ||_1 = 0 (a multiple of the identity,
// or t = 0), AH2011 takes m = 0; we take m = 1, s = 1, whose single term is zero there, so that
// the forward is the same while its derivative is the true one (the derivative of m = 0 would
// miss the E B term at A = 0, the natural starting point of a learned generator).
//
// Backward: the adjoint of the computed recurrence, for the forward's (m, s) (its choice code) and
// its term counts J_i (recomputed: the steps are deterministic). With W_J = conj(η) G_{i+1},
//   V_j = Ã^H W_j,  W_{j-1} = conj(η) G_{i+1} + conj(h/j) V_j,  G_i = W_0,
//   ∇_Ã += Σ_j conj(h/j) W_j B_{j-1}^H  (one stacked product per step),
//   ∇_t += Σ_j <B_{j-1}, V_j> / (s j) + conj(μ) <F, G>,
// and through Ã = A - (tr A / n) I and η: ∇_A = ∇_Ã + (conj(t) <F, G> - tr ∇_Ã) / n · I, with
// <X, Y> = Σ conj(X) Y (TF's convention: grad = conj(df/dz) g). The F_i come from checkpoints
// (expm_multiply_select.h: every step up to kStoreAllSteps, else every ceil(sqrt(s))-th); each
// step is recomputed keeping its terms B_0..B_J. Cost: about 3 forwards of products plus one
// n × n × (J k) product per step; exp(tA) is never formed (except on the dense route, whose
// backward is dx.expm's adjoint Fréchet derivative along expm's own chain).
//
// The Ops interface (buffers are named by the ints below; blocks are n×k unless said otherwise;
// every value returned is the same in every member of a GPU team):
//   using Scalar, Real;  static constexpr bool kEstimates (whether estimate_apply exists)
//   static constexpr double kDenseCostRatio (the backend's plan: see kDenseProducts)
//   int n(), k()
//   Shift<T> prepare()                 Ã := A - μI; μ, ||Ã||_1, whether A is finite
//   void load_b(int dst), load_g(int dst)    the op's b, or the backward's upstream g
//   void copy(int dst, int src)
//   void apply(int dst, int src, T c)  dst := c Ã src
//   void apply_adjoint(int dst, int src)     dst := Ã^H src
//   void add_norms(int acc, int term, Real* term_inf, Real* acc_inf)   acc += term, the ∞-norms
//   Real inf_norm(int src)
//   void scale(int dst, T c);  void scale_from(int dst, T c, int src)   dst := c dst;  dst := c src
//   void combine(int dst, T c1, int x1, T c2, int x2)    dst := c1 x1 + c2 x2 (dst may be x2)
//   T dot(int x, int y)                Σ conj(x) y
//   void exact_power_norms(Real* out)  out[p] = ||Ã^p||_1, p = 2..kMaxPower + 1
//   void estimate_apply(bool adjoint, const T* in, T* out, int cols)   (host; kEstimates only)
//   void store_f(int src);  void fill_nan_forward()
//   void zero_grad_a();  void rank_update(int count)   ∇_Ã += Σ_{j<count} [kScaledW+j] [kTerm+j]^H
//   void finish_grad(int g, T grad_t, T grad_mu)   ∇_b := g, ∇_t, ∇_a := ∇_Ã + (grad_mu - tr ∇_Ã)/n I
//   void fill_nan_backward()
//   void dense_forward(T t);  void dense_backward(T t)      the dense route, whole
#pragma once

#include <cmath>
#include <limits>

#include "expm_multiply_select.h"
#include "expm_triangular.h"  // exp_of
#include "norm1_power_estimate.h"
#include "scalar.h"

#if defined(__CUDACC__)
#ifndef DETEXP_HD_CALL
#define DETEXP_HD_CALL __host__ __device__
#endif
// The chain is also instantiated with host-only backends (the GPU's host-driven path).
#define DETEXP_EM_HOST_INSTANCES_OK _Pragma("nv_exec_check_disable")
#else
#ifndef DETEXP_HD_CALL
#define DETEXP_HD_CALL inline
#endif
#define DETEXP_EM_HOST_INSTANCES_OK
#endif

namespace detexp {
namespace expm_multiply {

// Buffer names of the Ops.
enum : int {
  kF = 0,              // the running sum F (the result)
  kX = 1,              // the forward's two term buffers
  kY = 2,
  kG = 3,              // the backward's running gradient G_i
  kW = 4,              // W_j
  kV = 5,              // Ã^H W_j
  kTerm = 16,          // + j: B_j of the step being differentiated, j = 0..m
  kScaledW = 128,      // + j: conj(h/(j+1)) W_{j+1}, j = 0..m-1
  kCheckpoint = 256,   // + i: F at a checkpoint, then a segment's recomputed steps
};

// The buffers as consecutive slots, for backends that keep them in one array (the GPU's): F..V,
// the terms B_0..B_m, the scaled W_1..W_m (each run consecutive: the rank update is one product
// over them), then the checkpoints.
DETEXP_HD int buffer_slot(int id) {
  if (id >= kCheckpoint) return (kV + 1) + (kMaxDegree + 1) + kMaxDegree + (id - kCheckpoint);
  if (id >= kScaledW) return (kV + 1) + (kMaxDegree + 1) + (id - kScaledW);
  if (id >= kTerm) return (kV + 1) + (id - kTerm);
  return id;
}
// Slots of the Taylor route: the forward's F, X, Y; the backward's all, with `checkpoints`.
DETEXP_HD int buffer_slots(bool backward, int checkpoints) {
  return backward ? buffer_slot(kCheckpoint) + checkpoints : kY + 1;
}

template <class T>
struct Shift {
  T mu;
  real_t<T> norm1;  // ||Ã||_1
  bool finite;      // every entry of A finite
};

// h/j = t/(s j), with 1/(s j) rounded once in double.
template <class T>
DETEXP_HD T term_coefficient(const T& t, int s, int j) {
  return t * T(real_t<T>(1.0 / (static_cast<double>(s) * j)));
}

// The lockstep block estimates of ||Ã^p||_1, p = 2..p_max + 1 (norm1_power_estimate.h) over a
// host backend's products (Ops::kEstimates: estimate_apply on column-major host blocks).
template <class Ops>
void estimate_power_norms(Ops& ops, real_t<typename Ops::Scalar>* norms) {
  using T = typename Ops::Scalar;
  norm1_power_estimate::estimate_power_norms<T>(
      ops.n(), 2, kMaxPower + 1, kEstimateColumns,
      [&ops](bool adjoint, const T* in, T* out, int cols) { ops.estimate_apply(adjoint, in, out, cols); }, norms);
}

// The choice code for this matrix (Code Fragment 3.1, the dense rule), from ||Ã||_1 and, where
// (3.13) does not hold, the norms of the powers of Ã.
DETEXP_EM_HOST_INSTANCES_OK
template <class Ops>
DETEXP_HD_CALL int select(Ops& ops, typename Ops::Scalar t, real_t<typename Ops::Scalar> norm1) {
  using T = typename Ops::Scalar;
  using R = real_t<T>;
  const int n = ops.n(), k = ops.k();
  const double abs_t = static_cast<double>(modulus(t));
  const double a1 = abs_t * static_cast<double>(norm1);
  constexpr double ratio = Ops::kDenseCostRatio;
  if (!(a1 > 0)) return plan_code(1, 1, n, k, ratio);  // m = 1, s = 1: see the header
  if (norm_suffices<R>(a1, k)) {
    int m = 0;
    double s = 0;
    plan_from_norm<R>(a1, &m, &s);
    return plan_code(m, s, n, k, ratio);
  }
  R norms[kMaxPower + 2] = {};
  if constexpr (Ops::kEstimates) {
    if (n > kExactNormMaxN) {
      estimate_power_norms(ops, norms);  // host backends only
      return plan_from_power_norms<R>(norms, abs_t, n, k, ratio);
    }
  }
  ops.exact_power_norms(norms);
  return plan_from_power_norms<R>(norms, abs_t, n, k, ratio);
}

// One step F := η T_J(hÃ) F (AH2011 Alg. 3.2, the inner loop) with J <= m by the termination test;
// returns J. keep: the terms stay in kTerm + j (the backward's recomputation), else they alternate
// between kX and kY. The same operations in the same order either way, so the same bits.
DETEXP_EM_HOST_INSTANCES_OK
template <class Ops>
DETEXP_HD_CALL int taylor_step(Ops& ops, typename Ops::Scalar t, int m, int s, typename Ops::Scalar eta,
                               bool keep) {
  using R = real_t<typename Ops::Scalar>;
  const R tol = R(ExpmMultiplyTheta<R>::kUnitRoundoff);
  int prev = keep ? kTerm : kX;
  ops.copy(prev, kF);
  R c1 = ops.inf_norm(prev);
  int terms = 0;
  for (int j = 1; j <= m; ++j) {
    const int cur = keep ? kTerm + j : (prev == kX ? kY : kX);
    ops.apply(cur, prev, term_coefficient(t, s, j));
    R c2 = 0, f_norm = 0;
    ops.add_norms(kF, cur, &c2, &f_norm);
    terms = j;
    prev = cur;
    // Not where ||F||_∞ is Inf or NaN (Inf or NaN in B, or overflow): Inf <= Inf would stop every
    // column after one term, including the finite ones.
    if (f_norm <= std::numeric_limits<R>::max() && c1 + c2 <= tol * f_norm) break;
    c1 = c2;
  }
  ops.scale(kF, eta);
  return terms;
}

// Ã := A - μI (*sh), then the code to run: `choice` where it is one (choice_valid), else the
// selection's; kChoiceNone where A or t holds NaN/Inf (the caller fills NaN). The forward and the
// backward both start here, so the backward replays the forward's choice.
DETEXP_EM_HOST_INSTANCES_OK
template <class Ops>
DETEXP_HD_CALL int prepare_and_choose(Ops& ops, typename Ops::Scalar t, int choice, Shift<typename Ops::Scalar>* sh) {
  *sh = ops.prepare();
  if (!sh->finite || !finite_scalar(t)) return kChoiceNone;
  return choice != kChoiceNone && choice_valid(choice) ? choice : select(ops, t, sh->norm1);
}

// F = exp(tA) B into the Ops' output. choice: a code to reuse (choice_valid), or kChoiceNone to
// select. Returns the code used (kChoiceNone for NaN/Inf in A or t: the output is NaN).
DETEXP_EM_HOST_INSTANCES_OK
template <class Ops>
DETEXP_HD_CALL int forward(Ops& ops, typename Ops::Scalar t, int choice) {
  using T = typename Ops::Scalar;
  using R = real_t<T>;
  Shift<T> sh;
  const int code = prepare_and_choose(ops, t, choice, &sh);
  if (code == kChoiceNone) {
    ops.fill_nan_forward();
    return kChoiceNone;
  }
  if (code == kChoiceDense) {
    ops.dense_forward(t);
    return code;
  }
  const int m = choice_degree(code), s = choice_steps(code);
  const T eta = exp_of(t * sh.mu * T(R(1.0 / s)));
  ops.load_b(kF);
  for (int i = 0; i < s; ++i) taylor_step(ops, t, m, s, eta, false);
  ops.store_f(kF);
  return code;
}

// The adjoint of one recomputed step with J terms (in kTerm + j): kG := G_i from G_{i+1}, and the
// step's share of ∇_Ã (ops) and ∇_t (returned).
DETEXP_EM_HOST_INSTANCES_OK
template <class Ops>
DETEXP_HD_CALL typename Ops::Scalar step_adjoint(Ops& ops, typename Ops::Scalar t, int s, typename Ops::Scalar eta,
                                                 int terms) {
  using T = typename Ops::Scalar;
  using R = real_t<T>;
  const T eta_c = conj_of(eta);
  T grad_t = T(0);
  ops.scale_from(kW, eta_c, kG);
  for (int j = terms; j >= 1; --j) {
    ops.apply_adjoint(kV, kW);
    grad_t += ops.dot(kTerm + j - 1, kV) * T(R(1.0 / (static_cast<double>(s) * j)));
    const T c = conj_of(term_coefficient(t, s, j));
    ops.scale_from(kScaledW + j - 1, c, kW);
    ops.combine(kW, eta_c, kG, c, kV);
  }
  ops.rank_update(terms);
  ops.copy(kG, kW);
  return grad_t;
}

// The gradients of Re <G, exp(tA) B> with respect to A, B and t (TF's convention), exact for the
// forward that `choice` describes (or that the selection gives, for kChoiceNone).
DETEXP_EM_HOST_INSTANCES_OK
template <class Ops>
DETEXP_HD_CALL void backward(Ops& ops, typename Ops::Scalar t, int choice) {
  using T = typename Ops::Scalar;
  using R = real_t<T>;
  Shift<T> sh;
  const int code = prepare_and_choose(ops, t, choice, &sh);
  if (code == kChoiceNone) {
    ops.fill_nan_backward();
    return;
  }
  if (code == kChoiceDense) {
    ops.dense_backward(t);
    return;
  }
  const int m = choice_degree(code), s = choice_steps(code);
  (void)m;
  const T eta = exp_of(t * sh.mu * T(R(1.0 / s)));
  const int c = checkpoint_interval(s);
  const int segments = (s + c - 1) / c;
  ops.load_b(kF);
  for (int i = 0; i < s; ++i) {
    if (i % c == 0) ops.copy(kCheckpoint + i / c, kF);
    taylor_step(ops, t, m, s, eta, false);
  }
  ops.load_g(kG);
  const T f_dot_g = ops.dot(kF, kG);
  ops.zero_grad_a();
  T grad_t = T(0);
  for (int q = segments - 1; q >= 0; --q) {
    const int i0 = q * c, i1 = i0 + c < s ? i0 + c : s;
    // F_{i0+1}, ..., F_{i1-1} after the segment's checkpoint (none when c = 1).
    if (i1 - i0 > 1) {
      ops.copy(kF, kCheckpoint + q);
      for (int i = i0 + 1; i < i1; ++i) {
        taylor_step(ops, t, m, s, eta, false);
        ops.copy(kCheckpoint + segments + (i - i0 - 1), kF);
      }
    }
    for (int i = i1 - 1; i >= i0; --i) {
      ops.copy(kF, i == i0 ? kCheckpoint + q : kCheckpoint + segments + (i - i0 - 1));
      const int terms = taylor_step(ops, t, m, s, eta, true);
      grad_t += step_adjoint(ops, t, s, eta, terms);
    }
  }
  ops.finish_grad(kG, grad_t + conj_of(sh.mu) * f_dot_g, conj_of(t) * f_dot_g);
}

}  // namespace expm_multiply
}  // namespace detexp
