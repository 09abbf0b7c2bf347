// The per-matrix steps of the matrix exponential's batched path (large n on the GPU): everything
// of the shared algorithm except the O(n^3) products, the matrix-vector products and the LU
// solves, which the driver (expm_blas_driver.h) issues as batched calls between these steps.
// Reducing steps run per matrix by a team (team.h) over O(n) data; column steps fold each column
// down its rows (any split of the columns); entrywise steps over any split of the entries. The
// O(n^2) parts of the reductions (finiteness, triangular structure, norm1's column sums) are column
// steps, so a backend can spread one large matrix over many processors; the per-matrix reducing
// step that follows reads n partials.
//
// The selection is expm_select.h's routine, replayed (ExpmReplay) with the answers of the rounds
// so far; the chain is expm_chain.h's, driven per group of matrices with the same scheme. With
// small_expm.h's team routines as products and solves (the CPU test backend) every result is
// bitwise expm_team's; cuBLAS differs only by rounding.
//
// Workspace of matrix i: expm_team_workspace_bytes<T>(n, frechet) bytes (small_expm::Workspace
// layout) plus one BlasState.
#pragma once

#include "expm_ell.h"
#include "expm_norm_estimate.h"
#include "expm_select.h"
#include "small_expm.h"

namespace detexp {
namespace expm_blas {

// Per-matrix scalars carried between steps (and read by the host between rounds).
template <class R>
struct BlasState {
  double answer[kExpmReplayAnswersMax];
  int answers;
  ExpmRequest pending;  // the selection's open request; ask kNone once `choice` is final
  ExpmChoice choice;
  int status;  // Status
  int kind;    // triangular structure of A (expm_triangular.h)
  int e_finite;
  EllSearch<R> ell;  // ℓ in progress
  int ell_running;
  int b_exponent;
  R est;  // Hager estimate in progress
  int last;
  int hager_running;
};

enum Status : int { kExcluded = 0, kSelecting, kSelected };

enum class Step : int {
  // ---- reducing steps (one team per matrix, O(n) work) ----
  kInit,            // the state: NaN/Inf and kind from kInitColumns' flags
  kSelect,          // replay the selection: pending request or the final choice
  kNormAnswer,      // answer a kPower request: ||X^p||_1 from kNormColumns' column sums
  kEllStart,        // begin a kEll request (or answer it without products); v := ones
  kEllAfter,        // param a = j: after product j (B v_{j-1} in buffer j % 2)
  kHagerStart,      // begin a kEstimate request
  kHagerForward,    // param a = iteration
  kHagerAdjoint,    // param a = iteration
  kHagerAlternating,
  kHagerFinish,     // answer the kEstimate request
  // ---- column steps (a fold down each column in row order; any split of the columns) ----
  kInitColumns,     // per column of a (and e): non-finite entries, nonzeros off the diagonal -> perm
  kNormColumns,     // per column of the pending power X^p: sum_i |x_ij| -> vec
  // ---- entrywise steps (any split of the entries; no reductions) ----
  kInitEntries,     // after kInit: slot X := a, or NaN outputs where a (or e) is not finite
  kEllMatrix,       // slot V := 2^b_exponent |X| (as reals), for running ℓ searches
  kLoadDirection,   // slot dX := e (adjoint: e^H)
  kScale,           // slot a *= 2^(-b s)
  kCombine,         // expm_chain.h's combine
  kCopySlot,        // slot a := slot b
  kFixTriangular,   // param a = slot, b = e, c = offdiag (triangular matrices only)
  kFinish,          // r, l := the results (their slots depend on s)
};

DETEXP_HD bool step_is_entrywise(Step s) { return static_cast<int>(s) >= static_cast<int>(Step::kInitEntries); }
DETEXP_HD bool step_is_columnwise(Step s) { return s == Step::kInitColumns || s == Step::kNormColumns; }

// A step's parameters (by value to the kernels).
struct StepParams {
  int a = 0, b = 0, c = 0;
  int terms = 0;
  int slot[kExpmBasisMax] = {};
  double coef[kExpmBasisMax] = {};
  double identity = 0;
};

// The chunk's inputs and outputs (matrix i at offset i n^2) and its workspaces.
template <class T>
struct StepArgs {
  int n;
  bool frechet, adjoint;
  const T* a;
  const T* e;  // null unless frechet
  T* r;        // may be null
  T* l;        // null unless frechet
  unsigned char* ws;
  index_t ws_bytes;  // per matrix
  BlasState<real_t<T>>* state;
};

template <class T>
DETEXP_HD small_expm::Workspace<T> layout(const StepArgs<T>& g, index_t i) {
  return small_expm::workspace_layout<T>(g.n, g.frechet, g.ws + i * g.ws_bytes);
}

// The ℓ vectors: v_{j-1} in buffer (j - 1) % 2, the product B v_{j-1} into buffer j % 2.
template <class R>
DETEXP_HD R* ell_buffer(R* vec, int n, int j) {
  return vec + (j % 2) * n;
}

// ℓ's product j for matrix i: out := B in, B the reals of slot V (kEllMatrix) in column-major order.
template <class R>
struct EllOperands {
  const R* b;
  const R* in;
  R* out;
};

template <class T>
DETEXP_HD EllOperands<real_t<T>> ell_operands(const StepArgs<T>& g, index_t i, int j) {
  using R = real_t<T>;
  const small_expm::Workspace<T> w = layout(g, i);
  return {reinterpret_cast<const R*>(w.w[kExpmSlotV]), ell_buffer(w.vec, g.n, j - 1), ell_buffer(w.vec, g.n, j)};
}

// ℓ's product j for matrix i (a share of the columns: first, stride), skipped once decided.
template <class T>
DETEXP_HD void ell_product(const StepArgs<T>& g, index_t i, int j, int first, int stride) {
  if (!g.state[i].ell_running) return;
  const auto op = ell_operands(g, i, j);
  ell_apply_columns(g.n, op.b, op.in, op.out, first, stride);
}

template <class R>
DETEXP_HD void append_answer(BlasState<R>& st, double x) {
  if (st.answers < kExpmReplayAnswersMax) st.answer[st.answers++] = x;
}

// ---- column steps -------------------------------------------------------------------------------
// Column j's value is a fold, in row order, of one entry per row (column_entry: entrywise work,
// which a backend may do in any order) for each source in turn; column_store puts it in the
// matrix's workspace (flags in perm, sums in vec: both free until the ℓ search and the LU) for
// the reducing step. The fold order is that of the team routines it replaces (all_finite_team's
// and triangular_kind's flags, norm1's column sums: s += |x_ij|, i ascending), so the answers are
// bitwise theirs whatever the split of the columns, and a backend may stage consecutive row
// ranges anywhere as long as it folds them in order.
template <class R>
struct ColumnEntry {
  R value;    // kNormColumns: |x_ij|
  int flags;  // kInitColumns: ColumnFlag bits
};
enum ColumnFlag : int { kColumnANonFinite = 1, kColumnBelow = 2, kColumnAbove = 4, kColumnENonFinite = 8 };

template <class T>
DETEXP_HD int column_sources(Step step, const StepArgs<T>& g) {
  return step == Step::kInitColumns && g.frechet ? 2 : 1;
}

// Source k of a column step for matrix i (column-major n x n): kInitColumns a, then e; kNormColumns
// the pending power.
template <class T>
DETEXP_HD const T* column_source(Step step, const StepArgs<T>& g, index_t i, int k) {
  if (step == Step::kInitColumns) return (k == 0 ? g.a : g.e) + i * static_cast<index_t>(g.n) * g.n;
  const ExpmRequest& q = g.state[i].pending;
  return layout(g, i).w[expm_power_slot(q.taylor, q.p)];
}

template <class T>
DETEXP_HD ColumnEntry<real_t<T>> column_entry(Step step, int k, const T& x, int row, int j) {
  using R = real_t<T>;
  if (step == Step::kNormColumns) return {modulus(x), 0};
  int flags = finite_scalar(x) ? 0 : (k == 0 ? kColumnANonFinite : kColumnENonFinite);
  if (k == 0 && row != j && !(x == T(0))) flags |= row > j ? kColumnBelow : kColumnAbove;
  return {R(0), flags};
}

template <class R>
DETEXP_HD void column_fold(ColumnEntry<R>& acc, const ColumnEntry<R>& e) {
  acc.value += e.value;
  acc.flags |= e.flags;
}

template <class T>
DETEXP_HD void column_store(Step step, const StepArgs<T>& g, index_t i, int j, const ColumnEntry<real_t<T>>& acc) {
  const small_expm::Workspace<T> w = layout(g, i);
  if (step == Step::kNormColumns) {
    w.vec[j] = acc.value;
  } else {
    w.perm[j] = acc.flags;
  }
}

// A column step over the columns j = first, first + stride, ... of matrix i, read in place.
template <class T>
DETEXP_HD_CALL void column_step(Step step, const StepArgs<T>& g, index_t i, int first, int stride) {
  using R = real_t<T>;
  const int n = g.n;
  const int sources = column_sources(step, g);
  for (int j = first; j < n; j += stride) {
    ColumnEntry<R> acc{R(0), 0};
    for (int k = 0; k < sources; ++k) {
      const T* col = column_source(step, g, i, k) + static_cast<index_t>(j) * n;
      for (int row = 0; row < n; ++row) column_fold(acc, column_entry(step, k, col[row], row, j));
    }
    column_store(step, g, i, j, acc);
  }
}

// The reducing steps. Every member of the team calls this with the same arguments.
template <class Team, class T>
DETEXP_HD_CALL void reducing_step(const Team& team, Step step, const StepParams& prm, const StepArgs<T>& g,
                                  index_t i) {
  using namespace small_expm;
  using R = real_t<T>;
  const int n = g.n;
  const Workspace<T> w = layout(g, i);
  BlasState<R>& st = g.state[i];
  const bool lead = team.rank() == 0;
  switch (step) {
    case Step::kInit: {
      int flags = 0;
      for (int j = team.rank(); j < n; j += team.size()) flags |= w.perm[j];
      const bool a_finite = team.max(flags & kColumnANonFinite) == 0;
      const bool e_finite = team.max(flags & kColumnENonFinite) == 0;
      const int below = team.max(flags & kColumnBelow), above = team.max(flags & kColumnAbove);
      // triangular_kind's: upper (diagonal included) 1, lower -1, neither 0.
      const int kind = !a_finite ? 0 : (below == 0 ? 1 : (above == 0 ? -1 : 0));
      if (lead) {
        st = BlasState<R>{};
        st.status = a_finite ? kSelecting : kExcluded;
        st.kind = kind;
        st.e_finite = g.frechet && e_finite;
      }
      break;
    }
    case Step::kSelect: {
      if (st.status != kSelecting) break;
      ExpmReplay<R> replay(st.answer, st.answers);
      const ExpmChoice c = expm_select<T>(expm_policy<T>(n), replay);
      team.sync();  // every member has read the state
      if (lead) {
        st.pending = replay.pending();
        if (st.pending.ask == ExpmAsk::kNone) {
          st.choice = c;
          st.status = kSelected;
        }
      }
      break;
    }
    case Step::kNormAnswer: {  // norm1's maximum over the column sums (exact: any order)
      R best = 0;
      for (int j = team.rank(); j < n; j += team.size()) best = nan_max(best, w.vec[j]);
      const R x = team.max(best);
      if (lead) append_answer(st, static_cast<double>(x));
      break;
    }
    case Step::kEllStart: {
      const ExpmRequest& q = st.pending;
      EllSearch<R> es;
      int b_exponent = 0;
      const int early = es.start(static_cast<R>(q.a1), expm_ell_order_of(q.m), expm_coef::inv_abs_c(q.m), q.shift,
                                 &b_exponent);
      for (int j = team.rank(); j < n; j += team.size()) ell_buffer(w.vec, n, 0)[j] = R(1);
      if (lead) {
        st.ell = es;
        st.b_exponent = b_exponent;
        st.ell_running = early < 0;
        if (early >= 0) append_answer(st, early);
      }
      break;
    }
    case Step::kEllAfter: {
      if (!st.ell_running) break;
      const int j = prm.a;
      R* v = ell_buffer(w.vec, n, j - 1);
      R* out = ell_buffer(w.vec, n, j);
      EllSearch<R> es = st.ell;
      const EllStats<R> s = ell_team_stats(team, n, v, out, es.wants_ratios(j));
      int rescale = 0;
      const int ell = es.after_product(j, s, &rescale);
      team.sync();
      if (ell < 0 && rescale != 0) {
        for (int k = team.rank(); k < n; k += team.size()) out[k] = std::ldexp(out[k], -rescale);
      }
      if (lead) {
        st.ell = es;
        if (ell >= 0) {
          st.ell_running = 0;
          append_answer(st, ell);
        }
      }
      break;
    }
    case Step::kHagerStart: {
      hager_start(team, n, w.tv);
      if (lead) {
        st.est = R(0);
        st.last = -1;
        st.hager_running = 1;
      }
      break;
    }
    case Step::kHagerForward: {
      if (!st.hager_running) break;
      R est = st.est;
      const bool go = hager_after_forward(team, n, prm.a, w.tv + n, w.tv + 2 * n, &est);
      if (lead) {
        st.est = est;
        st.hager_running = go;
      }
      break;
    }
    case Step::kHagerAdjoint: {
      if (!st.hager_running) break;
      int last = st.last;
      const bool go = hager_after_adjoint(team, n, prm.a, w.tv + 3 * n, w.tv, &last);
      if (lead) {
        st.last = last;
        st.hager_running = go;
      }
      break;
    }
    case Step::kHagerAlternating:
      hager_alternating(team, n, w.tv);
      break;
    case Step::kHagerFinish:
      if (lead) append_answer(st, static_cast<double>(hager_result(n, w.tv + n, st.est)));
      break;
    default:
      break;
  }
  team.sync();
}

// The entrywise steps: entries idx = first, first + stride, ... < n^2 of matrix i (no step here
// reads an entry another member writes, except kCombine's dst = first term, entry by entry).
template <class T>
DETEXP_HD_CALL void entrywise_step(Step step, const StepParams& prm, const StepArgs<T>& g, index_t i, index_t first,
                                   index_t stride) {
  using R = real_t<T>;
  const int n = g.n;
  const index_t nn = static_cast<index_t>(n) * n;
  const small_expm::Workspace<T> w = layout(g, i);
  const BlasState<R>& st = g.state[i];
  switch (step) {
    case Step::kInitEntries: {
      const T* a = g.a + i * nn;
      T* x = w.w[kExpmSlotX];
      const bool selecting = st.status != kExcluded;
      T* r = !selecting && g.r != nullptr ? g.r + i * nn : nullptr;
      T* l = g.l != nullptr && (!selecting || !st.e_finite) ? g.l + i * nn : nullptr;
      for (index_t idx = first; idx < nn; idx += stride) {
        if (selecting) x[idx] = a[idx];
        if (r != nullptr) r[idx] = small_expm::nan_value<T>();
        if (l != nullptr) l[idx] = small_expm::nan_value<T>();
      }
      break;
    }
    case Step::kEllMatrix: {
      if (!st.ell_running) break;
      R* b = reinterpret_cast<R*>(w.w[kExpmSlotV]);
      const T* x = w.w[kExpmSlotX];
      for (index_t idx = first; idx < nn; idx += stride) b[idx] = std::ldexp(modulus(x[idx]), st.b_exponent);
      break;
    }
    case Step::kLoadDirection: {
      const T* e = g.e + i * nn;
      T* dx = w.w[kExpmSlotDX];
      for (index_t idx = first; idx < nn; idx += stride) {
        dx[idx] = g.adjoint ? conj_of(e[idx / n + (idx % n) * n]) : e[idx];
      }
      break;
    }
    case Step::kScale: {
      const int e = -prm.b * st.choice.s;
      if (e == 0) break;
      T* x = w.w[prm.a];
      for (index_t idx = first; idx < nn; idx += stride) x[idx] = ldexp_of(x[idx], e);
      break;
    }
    case Step::kCombine: {
      const T* x[kExpmBasisMax];
      for (int t = 0; t < prm.terms; ++t) x[t] = w.w[prm.slot[t]];
      T* out = w.w[prm.a];
      for (index_t idx = first; idx < nn; idx += stride) {
        out[idx] = small_expm::combination_entry(prm.terms, x, prm.coef, idx % n == idx / n, prm.identity, idx);
      }
      break;
    }
    case Step::kCopySlot:
      for (index_t idx = first; idx < nn; idx += stride) w.w[prm.a][idx] = w.w[prm.b][idx];
      break;
    case Step::kFixTriangular: {
      if (st.kind == 0) break;
      for (index_t k = first; k < n; k += stride) {
        fix_triangular_entry(n, w.w[prm.a], w.w[kExpmSlotX], st.kind, prm.b, prm.c != 0, static_cast<int>(k));
      }
      break;
    }
    case Step::kFinish: {
      const T* rr = w.w[expm_r_slot(st.choice.s)];
      const T* ll = w.w[expm_l_slot(st.choice.s)];
      T* r = g.r == nullptr ? nullptr : g.r + i * nn;
      T* l = st.e_finite ? g.l + i * nn : nullptr;
      for (index_t idx = first; idx < nn; idx += stride) {
        if (r != nullptr) r[idx] = rr[idx];
        if (l != nullptr) l[idx] = g.adjoint ? conj_of(ll[idx / n + (idx % n) * n]) : ll[idx];
      }
      break;
    }
    default:
      break;
  }
}

}  // namespace expm_blas
}  // namespace detexp
