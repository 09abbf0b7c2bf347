// exp(tA) B and its gradient for one matrix by a *team* of cooperating threads (team.h): the
// backend of expm_multiply_chain.h that the GPU's fused kernels run for n <= kTeamMaxN
// (cuda/expm_multiply_kernels.cu, with the warp and block teams of cuda/expm_teams.h) and that the
// test module runs on one or several CPU threads, so that CI proves the GPU's selection, steps,
// termination and adjoint against the CPU driver (expm_multiply.h).
//
// The chain, the selection and the tables are the ones every backend shares; this file supplies
// the primitives only: plain loops over the entries of a result split over the team, reductions
// that leave the same value in every member (team.max, and sums through a workspace array added
// in one order by every member), and the dense route by small_expm.h's expm_team. The norms of
// the powers are exact (n <= kExactNormMaxN): no estimator, so no host. Results may differ from
// the CPU driver's by rounding only (summation order, FMA contraction on the GPU); the choice
// codes are the same unless a rounding moves a norm across a θ_m.
//
// Storage: row-major, as the op's arrays (a: n×n; b, g, out and the chain's blocks: n×k). The
// workspace (expm_multiply_team_workspace_bytes) holds the team's sums, Ã, its powers, the blocks
// of the chain and, for the backward, ∇_Ã, the terms and checkpoints; the dense route's buffers
// (tA, exp(tA), G B^H and expm_team's own workspace) alias the Taylor route's, which it never uses.
#pragma once

#include "expm_multiply_chain.h"
#include "small_expm.h"
#include "team.h"

namespace detexp {
namespace expm_multiply {

// The largest n of the team backend: exact power norms, as every backend takes up to this n.
constexpr int kTeamMaxN = kExactNormMaxN;
// Offsets (bytes) of the parts of a team's workspace.
struct TeamLayout {
  index_t sums, at, powers, grad_at, blocks;  // the Taylor route
  index_t dense_x, dense_e, dense_gb, dense_ws;  // the dense route (aliasing the Taylor route's)
  index_t total;
};

template <class T>
DETEXP_HD TeamLayout team_layout(int n, int k, int team_size, bool backward, double dense_ratio) {
  using small_expm::up16;
  const index_t nn = static_cast<index_t>(n) * n * sizeof(T), nk = static_cast<index_t>(n) * k * sizeof(T);
  TeamLayout l;
  l.sums = 0;
  l.at = up16(team_size * static_cast<index_t>(sizeof(T)));
  l.powers = l.at + up16(nn);
  l.grad_at = l.powers + 2 * up16(nn);
  l.blocks = l.grad_at + (backward ? up16(nn) : 0);
  const index_t taylor_end = l.blocks + buffer_slots(backward, checkpoint_capacity(n, k, dense_ratio)) * up16(nk);
  l.dense_x = l.at;
  l.dense_e = l.dense_x + up16(nn);
  l.dense_gb = l.dense_e + up16(nn);
  l.dense_ws = l.dense_gb + (backward ? up16(nn) : 0);
  const index_t dense_end = l.dense_ws + expm_team_workspace_bytes<T>(n, backward);
  l.total = taylor_end > dense_end ? taylor_end : dense_end;
  return l;
}

// Bytes of the workspace of one team of team_size threads (16-byte aligned by the caller).
template <class T>
DETEXP_HD index_t expm_multiply_team_workspace_bytes(int n, int k, int team_size, bool backward, double dense_ratio) {
  return team_layout<T>(n, k, team_size, backward, dense_ratio).total;
}

// expm_team for the dense route, kept out of line on the device: one copy per (team, dtype) instead
// of one inlined into each of the forward and backward kernels (nvcc's time and the code size).
#if defined(__CUDACC__)
#define DETEXP_EM_OUT_OF_LINE __noinline__
#else
#define DETEXP_EM_OUT_OF_LINE
#endif
template <class Team, class T>
DETEXP_EM_OUT_OF_LINE DETEXP_HD_CALL void dense_expm_team(const Team& team, int n, const T* a, const T* e,
                                                          bool adjoint, T* r, T* l, void* ws) {
  expm_team(team, n, a, e, adjoint, r, l, ws);
}

// The Ops of expm_multiply_chain.h over a team. Plan supplies the dense ratio of the backend that
// runs it (`template <class T> static constexpr double kDenseRatio`).
template <class Team, class T, class Plan>
class TeamOps {
 public:
  using Scalar = T;
  using Real = real_t<T>;
  static constexpr bool kEstimates = false;
  static constexpr double kDenseCostRatio = Plan::template kDenseRatio<T>;

  DETEXP_HD TeamOps(const Team& team, int n, int k, const T* a, const T* b, const T* g, bool backward, void* ws)
      : team_(team), n_(n), k_(k), a_(a), b_(b), g_(g), ws_(static_cast<unsigned char*>(ws)),
        layout_(team_layout<T>(n, k, team.size(), backward, kDenseCostRatio)) {}

  // Outputs (row-major; set by the caller).
  T* out = nullptr;
  T* grad_a = nullptr;
  T* grad_b = nullptr;
  T* grad_t = nullptr;

  DETEXP_HD int n() const { return n_; }
  DETEXP_HD int k() const { return k_; }

  DETEXP_HD_CALL Shift<T> prepare() {
    const index_t nn = static_cast<index_t>(n_) * n_;
    Shift<T> sh;
    sh.finite = small_expm::all_finite_team(team_, nn, a_);
    T* at = part(layout_.at);
    // The trace in one order in every member (as the CPU driver sums it).
    T trace = T(0);
    for (int i = 0; i < n_; ++i) trace += a_[static_cast<index_t>(i) * n_ + i];
    sh.mu = trace / T(Real(n_));
    for (index_t idx = team_.rank(); idx < nn; idx += team_.size()) {
      const bool diagonal = idx / n_ == idx % n_;
      at[idx] = diagonal ? a_[idx] - sh.mu : a_[idx];
    }
    team_.sync();
    sh.norm1 = norm1_row_major(at);
    return sh;
  }

  DETEXP_HD_CALL void load_b(int dst) { copy_in(block(dst), b_); }
  DETEXP_HD_CALL void load_g(int dst) { copy_in(block(dst), g_); }
  DETEXP_HD_CALL void copy(int dst, int src) { copy_in(block(dst), block(src)); }

  // dst := c Ã src (c times the product, as the CPU driver rounds it).
  DETEXP_HD_CALL void apply(int dst, int src, T c) {
    const T* at = part(layout_.at);
    const T* x = block(src);
    T* y = block(dst);
    for (index_t idx = team_.rank(); idx < nk(); idx += team_.size()) {
      const index_t i = idx / k_, col = idx % k_;
      const T* row = at + i * n_;
      T acc = T(0);
      for (int l = 0; l < n_; ++l) acc += row[l] * x[static_cast<index_t>(l) * k_ + col];
      y[idx] = c * acc;
    }
    team_.sync();
  }

  // dst := Ã^H src.
  DETEXP_HD_CALL void apply_adjoint(int dst, int src) { product(block(dst), part(layout_.at), true, block(src)); }

  // acc += term, by rows; the ∞-norms (largest row sum of moduli) of both.
  DETEXP_HD_CALL void add_norms(int acc, int term, Real* term_inf, Real* acc_inf) {
    T* f = block(acc);
    const T* p = block(term);
    Real best_p = 0, best_f = 0;
    for (int i = team_.rank(); i < n_; i += team_.size()) {
      Real sp = 0, sf = 0;
      for (int c = 0; c < k_; ++c) {
        const index_t idx = static_cast<index_t>(i) * k_ + c;
        f[idx] += p[idx];
        sp += modulus(p[idx]);
        sf += modulus(f[idx]);
      }
      best_p = nan_max(best_p, sp);
      best_f = nan_max(best_f, sf);
    }
    team_.sync();
    *term_inf = team_.max(best_p);
    *acc_inf = team_.max(best_f);
  }

  // The largest row sum of moduli of an n×k block.
  DETEXP_HD_CALL Real inf_norm(int src) { return largest_sum(block(src), k_, 1, k_); }

  DETEXP_HD_CALL void scale(int dst, T c) { scaled(block(dst), c, block(dst), nk()); }
  DETEXP_HD_CALL void scale_from(int dst, T c, int src) { scaled(block(dst), c, block(src), nk()); }
  DETEXP_HD_CALL void combine(int dst, T c1, int x1, T c2, int x2) {
    T* y = block(dst);
    const T *u = block(x1), *v = block(x2);
    for (index_t idx = team_.rank(); idx < nk(); idx += team_.size()) y[idx] = c1 * u[idx] + c2 * v[idx];
    team_.sync();
  }
  DETEXP_HD_CALL T dot(int x, int y) { return sum_conj_products(block(x), block(y), nk()); }

  // norms[p] = ||Ã^p||_1, p = 2..kMaxPower + 1 (kMaxPower products of Ã).
  DETEXP_HD_CALL void exact_power_norms(Real* norms) {
    const T* at = part(layout_.at);
    T* p[2] = {part(layout_.powers), part(layout_.powers + small_expm::up16(static_cast<index_t>(n_) * n_ * sizeof(T)))};
    const T* prev = at;
    for (int q = 2; q <= kMaxPower + 1; ++q) {
      T* next = p[q % 2];
      // Row-major buffers read as column-major are transposes: next^T = at^T prev^T, next = prev Ã.
      small_expm::mat_mul(team_, n_, next, at, prev);
      norms[q] = norm1_row_major(next);
      prev = next;
    }
  }

  DETEXP_HD_CALL void store_f(int src) { copy_in(out, block(src)); }
  DETEXP_HD_CALL void fill_nan_forward() { small_expm::nan_fill(team_, nk(), out); }

  DETEXP_HD_CALL void zero_grad_a() {
    T* g = part(layout_.grad_at);
    for (index_t idx = team_.rank(); idx < nn(); idx += team_.size()) g[idx] = T(0);
    team_.sync();
  }

  // ∇_Ã += Σ_{j<count} [kScaledW+j] [kTerm+j]^H, entry by entry.
  DETEXP_HD_CALL void rank_update(int count) {
    if (count == 0) return;
    T* g = part(layout_.grad_at);
    for (index_t idx = team_.rank(); idx < nn(); idx += team_.size()) {
      const index_t i = idx / n_, l = idx % n_;
      T acc = g[idx];
      for (int j = 0; j < count; ++j) {
        const T* w = block(kScaledW + j) + i * k_;
        const T* b = block(kTerm + j) + l * k_;
        for (int c = 0; c < k_; ++c) acc += w[c] * conj_of(b[c]);
      }
      g[idx] = acc;
    }
    team_.sync();
  }

  DETEXP_HD_CALL void finish_grad(int g, T grad_t_value, T grad_mu) {
    const T* ga = part(layout_.grad_at);
    T trace = T(0);
    for (int i = 0; i < n_; ++i) trace += ga[static_cast<index_t>(i) * n_ + i];
    const T diagonal = (grad_mu - trace) / T(Real(n_));
    for (index_t idx = team_.rank(); idx < nn(); idx += team_.size()) {
      grad_a[idx] = idx / n_ == idx % n_ ? ga[idx] + diagonal : ga[idx];
    }
    copy_in(grad_b, block(g));
    if (team_.rank() == 0) *grad_t = grad_t_value;
    team_.sync();
  }

  DETEXP_HD_CALL void fill_nan_backward() {
    small_expm::nan_fill(team_, nn(), grad_a);
    small_expm::nan_fill(team_, nk(), grad_b);
    if (team_.rank() == 0) *grad_t = small_expm::nan_value<T>();
    team_.sync();
  }

  // exp(tA) by expm_team (row-major as it is: exp commutes with transposition), times B.
  DETEXP_HD_CALL void dense_forward(T t) {
    T* e = part(layout_.dense_e);
    dense_exp(t, e);
    product(out, e, false, b_);
  }

  // As the CPU driver: L* = L(X^H, G B^H) for X = tA by expm_team's adjoint mode; ∇_A = conj(t) L*,
  // ∇_t = <A, L*>, ∇_B = exp(X)^H G.
  DETEXP_HD_CALL void dense_backward(T t) {
    T* x = part(layout_.dense_x);
    T* gb = part(layout_.dense_gb);
    scaled(x, t, a_, nn());
    for (index_t idx = team_.rank(); idx < nn(); idx += team_.size()) {
      const index_t i = idx / n_, l = idx % n_;
      T acc = T(0);
      for (int c = 0; c < k_; ++c) acc += g_[i * k_ + c] * conj_of(b_[l * k_ + c]);
      gb[idx] = acc;
    }
    team_.sync();
    dense_expm_team(team_, n_, x, gb, true, static_cast<T*>(nullptr), grad_a, ws(layout_.dense_ws));
    const T gt = sum_conj_products(a_, grad_a, nn());
    if (team_.rank() == 0) *grad_t = gt;
    scaled(grad_a, conj_of(t), grad_a, nn());
    // exp(X) of the same X (expm_team leaves its input as it is).
    T* e = part(layout_.dense_e);
    dense_expm_team(team_, n_, x, static_cast<const T*>(nullptr), false, e, static_cast<T*>(nullptr), ws(layout_.dense_ws));
    product(grad_b, e, true, g_);
  }

 private:
  DETEXP_HD index_t nn() const { return static_cast<index_t>(n_) * n_; }
  DETEXP_HD index_t nk() const { return static_cast<index_t>(n_) * k_; }
  DETEXP_HD void* ws(index_t offset) const { return ws_ + offset; }
  DETEXP_HD T* part(index_t offset) const { return reinterpret_cast<T*>(ws_ + offset); }

  DETEXP_HD T* block(int id) const {
    const index_t stride = small_expm::up16(nk() * static_cast<index_t>(sizeof(T))) / static_cast<index_t>(sizeof(T));
    return part(layout_.blocks) + buffer_slot(id) * stride;
  }

  DETEXP_HD_CALL void copy_in(T* dst, const T* src) {
    for (index_t idx = team_.rank(); idx < nk(); idx += team_.size()) dst[idx] = src[idx];
    team_.sync();
  }

  // ||X||_1 of a row-major n×n X: the largest column sum of moduli.
  DETEXP_HD_CALL Real norm1_row_major(const T* x) { return largest_sum(x, 1, n_, n_); }

  // max over o < n of Σ_{l < len} |x[o outer + l inner]|, in every member.
  DETEXP_HD_CALL Real largest_sum(const T* x, index_t outer, index_t inner, int len) {
    Real best = 0;
    for (int o = team_.rank(); o < n_; o += team_.size()) {
      Real s = 0;
      for (int l = 0; l < len; ++l) s += modulus(x[o * outer + l * inner]);
      best = nan_max(best, s);
    }
    return team_.max(best);
  }

  // Σ conj(x) y over `count` entries, the same in every member: each member's partial sum goes to
  // the sums array, which every member then adds in rank order.
  DETEXP_HD_CALL T sum_conj_products(const T* x, const T* y, index_t count) {
    T* sums = part(layout_.sums);
    T partial = T(0);
    for (index_t idx = team_.rank(); idx < count; idx += team_.size()) partial += conj_of(x[idx]) * y[idx];
    sums[team_.rank()] = partial;
    team_.sync();
    T total = T(0);
    for (int r = 0; r < team_.size(); ++r) total += sums[r];
    team_.sync();  // the array is reused by the next sum
    return total;
  }

  // dst := c src entrywise over `count` entries (dst may be src).
  DETEXP_HD_CALL void scaled(T* dst, T c, const T* src, index_t count) {
    for (index_t idx = team_.rank(); idx < count; idx += team_.size()) dst[idx] = c * src[idx];
    team_.sync();
  }

  // e := exp(tA) (row-major) by expm_team.
  DETEXP_HD_CALL void dense_exp(T t, T* e) {
    T* x = part(layout_.dense_x);
    scaled(x, t, a_, nn());
    dense_expm_team(team_, n_, x, static_cast<const T*>(nullptr), false, e, static_cast<T*>(nullptr), ws(layout_.dense_ws));
  }

  // dst := E src (adjoint: E^H src) for row-major n×n E and n×k src.
  DETEXP_HD_CALL void product(T* dst, const T* e, bool adjoint, const T* src) {
    for (index_t idx = team_.rank(); idx < nk(); idx += team_.size()) {
      const index_t i = idx / k_, col = idx % k_;
      T acc = T(0);
      for (int l = 0; l < n_; ++l) {
        const T el = adjoint ? conj_of(e[static_cast<index_t>(l) * n_ + i]) : e[i * n_ + l];
        acc += el * src[static_cast<index_t>(l) * k_ + col];
      }
      dst[idx] = acc;
    }
    team_.sync();
  }

  Team team_;
  int n_, k_;
  const T *a_, *b_, *g_;
  unsigned char* ws_;
  TeamLayout layout_;
};

// out := exp(t a) b by one team (n <= kTeamMaxN; a n×n, b and out n×k, row-major); returns the
// choice code (kChoiceNone for NaN/Inf in a or t: NaN out). ws: expm_multiply_team_workspace_bytes
// (n, k, false, Plan's ratio) bytes, 16-byte aligned.
template <class Plan, class Team, class T>
DETEXP_HD_CALL int expm_multiply_team(const Team& team, int n, int k, const T* a, const T* b, T t, T* out, void* ws) {
  if (n == 0 || k == 0) return kChoiceNone;
  TeamOps<Team, T, Plan> ops(team, n, k, a, b, nullptr, false, ws);
  ops.out = out;
  return forward(ops, t, kChoiceNone);
}

// The gradients of Re <g, exp(t a) b> for the forward that `choice` describes (kChoiceNone:
// select again). ws: expm_multiply_team_workspace_bytes(n, k, team.size(), true, Plan's ratio) bytes.
template <class Plan, class Team, class T>
DETEXP_HD_CALL void expm_multiply_grad_team(const Team& team, int n, int k, const T* a, const T* b, T t, const T* g,
                                            int choice, T* grad_a, T* grad_b, T* grad_t, void* ws) {
  if (n == 0 || k == 0) {
    for (index_t idx = team.rank(); idx < static_cast<index_t>(n) * n; idx += team.size()) grad_a[idx] = T(0);
    if (team.rank() == 0) *grad_t = T(0);
    team.sync();
    return;
  }
  TeamOps<Team, T, Plan> ops(team, n, k, a, b, g, true, ws);
  ops.grad_a = grad_a;
  ops.grad_b = grad_b;
  ops.grad_t = grad_t;
  backward(ops, t, choice);
}

}  // namespace expm_multiply
}  // namespace detexp
