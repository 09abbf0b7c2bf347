// The matrix exponential family for large n as batched calls: the host-side order of work that
// runs the shared algorithm (expm_select.h, expm_chain.h) for every matrix of a chunk at once,
// with the per-matrix steps of expm_blas_steps.h between the backend's batched products.
//
// Selection in rounds: every open matrix replays the selection with its answers so far (one
// step), the host reads the requests (one stream synchronisation per round, plus one per
// kEllBurst products of a long ℓ search) and answers them by groups: the power products X^p with
// their norms, ℓ searches (matrix-vector products with the matrices that already stopped masked)
// and norm estimates. A Padé 13 matrix takes ~10 rounds. Then each group of matrices with the same
// scheme and formed powers runs the scheme, and the squarings run over the prefix of the matrices
// sorted by s that have s >= j (no batch maximum).
//
// Backend (the CPU test backend: cc/testing/expm_blas_hooks.cc; the GPU: cuda/expm_blas.cu):
//   List list(std::vector<int> idx)           a set of matrices of the chunk (uploaded once)
//   List prefix(const List&, int count)       its first `count` entries
//   void step(const List&, Step, const StepParams&)   expm_blas_steps.h's steps (reducing, column,
//                                             entrywise: step_is_columnwise, step_is_entrywise)
//   void gemm(const List&, int c, int a, int b, bool acc)      slots: c := a b, or c += a b
//   void gemv(const List&, int x, bool adjoint, int in, int out)  estimator vectors of tv (units of n)
//   void ell_product(const List&, int j)      expm_blas_steps.h's ell_product for every listed matrix
//   void lu_factor(const List&, int q)        q := its LU factors (pivoting where kind == 0)
//   void lu_solve(const List&, int q, int b, int x)             x := q^{-1} b, x != b
//   void read_states()                        makes state(i) current on the host
//   const BlasState<R>& state(int i)
// Lists hold indices 0..count-1 of the chunk; every call is enqueued in order.
#pragma once

#include <algorithm>
#include <map>
#include <tuple>
#include <vector>

#include "expm_blas_steps.h"
#include "expm_chain.h"

namespace detexp {
namespace expm_blas {

// Products of an ℓ search between host reads.
constexpr int kEllBurst = 4;

// expm_chain.h's backend over the batched one: every call applies to the current list; the
// squarings narrow it to the matrices that still square (sorted by s, descending).
template <class Backend>
class ListChain {
 public:
  using List = typename Backend::List;
  ListChain(Backend& be, const List& list) : be_(be), list_(list) {}
  void sort_by_squarings(const std::vector<int>& by_s_desc) {
    sorted_ = by_s_desc;
    all_ = be_.list(sorted_);
  }

  void product(int c, int a, int b, bool accumulate) { be_.gemm(list_, c, a, b, accumulate); }
  void combine(int dst, int terms, const int* slot, const double* coef, double identity) {
    StepParams p;
    p.a = dst;
    p.terms = terms;
    for (int t = 0; t < terms; ++t) {
      p.slot[t] = slot[t];
      p.coef[t] = coef[t];
    }
    p.identity = identity;
    be_.step(list_, Step::kCombine, p);
  }
  void scale_squarings(int slot, int power) {
    StepParams p;
    p.a = slot;
    p.b = power;
    be_.step(list_, Step::kScale, p);
  }
  void lu_factor(int q) { be_.lu_factor(list_, q); }
  void lu_solve(int q, int b, int x) { be_.lu_solve(list_, q, b, x); }
  void fix_triangular(int r, int e, bool offdiag) {
    StepParams p;
    p.a = r;
    p.b = e;
    p.c = offdiag;
    be_.step(list_, Step::kFixTriangular, p);
  }
  bool square_next(int j) { return narrow([j](int s) { return s >= j; }); }
  bool square_r(int j, bool want_r) { return narrow([j, want_r](int s) { return want_r ? s >= j : s > j; }); }

 private:
  template <class Pred>
  bool narrow(Pred keep) {
    int count = 0;
    while (count < static_cast<int>(sorted_.size()) && keep(be_.state(sorted_[count]).choice.s)) ++count;
    list_ = be_.prefix(all_, count);
    return count > 0;
  }

  Backend& be_;
  List list_;
  std::vector<int> sorted_;
  List all_;
};

template <class T, class Backend>
class ChunkRun {
 public:
  using R = real_t<T>;
  using List = typename Backend::List;

  ChunkRun(Backend& be, int count, bool frechet, bool want_r) : be_(be), count_(count), frechet_(frechet), want_r_(want_r) {}

  void run() {
    std::vector<int> all(count_);
    for (int i = 0; i < count_; ++i) all[i] = i;
    const List l = be_.list(all);
    be_.step(l, Step::kInitColumns, StepParams());
    be_.step(l, Step::kInit, StepParams());
    be_.step(l, Step::kInitEntries, StepParams());
    be_.read_states();
    std::vector<int> open = where(all, [](const BlasState<R>& s) { return s.status == kSelecting; });
    while (!open.empty()) {
      be_.step(be_.list(open), Step::kSelect, StepParams());
      be_.read_states();
      open = where(open, [](const BlasState<R>& s) { return s.status == kSelecting; });
      answer(open);
    }
    const std::vector<int> finite = where(all, [](const BlasState<R>& s) { return s.status == kSelected; });
    if (finite.empty()) return;
    if (frechet_) be_.step(be_.list(finite), Step::kLoadDirection, StepParams());
    evaluate(finite);
    square(finite);
  }

 private:
  template <class Pred>
  std::vector<int> where(const std::vector<int>& from, Pred pred) const {
    std::vector<int> out;
    for (int i : from) {
      if (pred(be_.state(i))) out.push_back(i);
    }
    return out;
  }

  // One round's requests, answered by groups that ask the same.
  void answer(const std::vector<int>& open) {
    std::map<std::tuple<int, int, int, int>, std::vector<int>> groups;
    for (int i : open) {
      const ExpmRequest& q = be_.state(i).pending;
      groups[{static_cast<int>(q.ask), q.p, q.q * 2 + q.taylor, q.m}].push_back(i);
    }
    for (const auto& [key, idx] : groups) {
      const ExpmRequest& q = be_.state(idx.front()).pending;
      const List l = be_.list(idx);
      if (q.ask == ExpmAsk::kPower) {
        if (q.p > 1) {
          const ExpmPowerFactors f = expm_power_factors(q.p);
          be_.gemm(l, expm_power_slot(q.taylor, q.p), expm_power_slot(q.taylor, f.a),
                   expm_power_slot(q.taylor, f.b), false);
        }
        be_.step(l, Step::kNormColumns, StepParams());
        be_.step(l, Step::kNormAnswer, StepParams());
      } else if (q.ask == ExpmAsk::kEll) {
        ell(idx, expm_ell_order_of(q.m));
      } else {
        estimate(l, expm_power_slot(false, q.p), expm_power_slot(false, q.q));
      }
    }
  }

  // ℓ searches of one order: products with the searches that stopped masked; the host looks
  // every kEllBurst products whether any still runs.
  void ell(std::vector<int> idx, int order) {
    List l = be_.list(idx);
    be_.step(l, Step::kEllStart, StepParams());
    be_.step(l, Step::kEllMatrix, StepParams());
    for (int j = 1; j <= order; ++j) {
      be_.ell_product(l, j);
      StepParams p;
      p.a = j;
      be_.step(l, Step::kEllAfter, p);
      if (j % kEllBurst != 0 || j == order) continue;
      be_.read_states();
      idx = where(idx, [](const BlasState<R>& s) { return s.ell_running != 0; });
      if (idx.empty()) return;
      l = be_.list(idx);
    }
  }

  // Hager–Higham estimate of ||X Y||_1 (expm_norm_estimate.h, its matrix-vector products batched;
  // matrices whose iteration stopped ride along masked). Vectors of tv: v, w, xi, z, t.
  void estimate(const List& l, int x, int y) {
    be_.step(l, Step::kHagerStart, StepParams());
    StepParams it;
    for (it.a = 0; it.a < 5; ++it.a) {
      be_.gemv(l, y, false, 0, 4);
      be_.gemv(l, x, false, 4, 1);
      be_.step(l, Step::kHagerForward, it);
      be_.gemv(l, x, true, 2, 4);
      be_.gemv(l, y, true, 4, 3);
      be_.step(l, Step::kHagerAdjoint, it);
    }
    be_.step(l, Step::kHagerAlternating, StepParams());
    be_.gemv(l, y, false, 0, 4);
    be_.gemv(l, x, false, 4, 1);
    be_.step(l, Step::kHagerFinish, StepParams());
  }

  // The schemes, per group of matrices with the same degree and formed powers.
  void evaluate(const std::vector<int>& finite) {
    std::map<std::pair<int, unsigned>, std::vector<int>> groups;
    for (int i : finite) {
      const ExpmChoice& c = be_.state(i).choice;
      groups[{c.m, expm_formed_powers(c)}].push_back(i);
    }
    for (const auto& [key, idx] : groups) {
      ListChain<Backend> chain(be_, be_.list(idx));
      expm_scale(chain, expm_scheme(key.first), key.second, frechet_);
      expm_evaluate(chain, expm_scheme(key.first), key.second, frechet_);
    }
  }

  // s squarings (and L_{j+1} = R_j L_j + L_j R_j): squaring j over the prefix of the matrices
  // sorted by s (descending) that have s >= j.
  void square(std::vector<int> finite) {
    std::stable_sort(finite.begin(), finite.end(),
                     [&](int x, int y) { return be_.state(x).choice.s > be_.state(y).choice.s; });
    ListChain<Backend> chain(be_, be_.list(finite));
    chain.sort_by_squarings(finite);
    expm_square(chain, frechet_, want_r_);
    be_.step(be_.list(finite), Step::kFinish, StepParams());
  }

  Backend& be_;
  const int count_;
  const bool frechet_, want_r_;
};

// One chunk of `count` matrices, set up in the backend (inputs, outputs, workspaces: StepArgs):
// modes as small_expm.h's expm_team; want_r: whether exp(a) is an output.
template <class T, class Backend>
void run_chunk(Backend& be, int count, bool frechet, bool want_r) {
  ChunkRun<T, Backend>(be, count, frechet, want_r).run();
}

}  // namespace expm_blas
}  // namespace detexp
