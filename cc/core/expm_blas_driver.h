// The matrix exponential family for large n as batched BLAS calls: the host-side order of
// products, matrix-vector products, LU solves and per-matrix steps (expm_blas_steps.h) that
// reproduces small_expm.h's expm_team for every matrix of a chunk at once.
//
// Per-matrix decisions without batch-maximum work: the host reads the per-matrix state at the few
// points where the algorithm branches (after ||A^2||, ||A^4||, ||A^6||, ||A^8||, each ℓ test and
// the final (m, s): at most 12 reads per chunk, each a stream synchronisation on the GPU, ~10 µs
// against the milliseconds of the products at the sizes this path serves), then issues each product only
// for the matrices that need it: A^4 only for those not settled at m = 3, the Padé products per
// degree group, and squaring j for the prefix of the matrices sorted by s that have s >= j.
//
// Backend (the CPU test backend: cc/pybind/core_test_bindings.cc; the GPU: cuda/expm_blas.cu):
//   List list(std::vector<int> idx)           a set of matrices of the chunk (uploaded once)
//   List prefix(const List&, int count)       its first `count` entries
//   void step(const List&, Step, int param)   expm_blas_steps.h's reducing / entrywise step
//   void gemm(const List&, int c, int a, int b, bool acc)      slots: c := a b, or c += a b
//   void gemv(const List&, int x, bool adjoint, int in, int out)  vectors of tv: out := op(x) in
//   void lu_factor(const List&, int q)        q := its LU factors (pivots kept per list)
//   void lu_solve(const List&, int q, int b, int x)             x := q^{-1} b, x != b
//   void read_states()                        makes state(i) current on the host
//   const BlasState<R>& state(int i)
// Lists hold indices 0..count-1 of the chunk; every call is enqueued in order.
#pragma once

#include <algorithm>
#include <vector>

#include "expm_blas_steps.h"

namespace detexp {
namespace expm_blas {

using namespace small_expm;  // slot names

template <class T, class Backend>
class ChunkRun {
 public:
  using R = real_t<T>;
  using Tab = ExpmTable<R>;
  using List = typename Backend::List;

  ChunkRun(Backend& be, int count, bool frechet, bool adjoint)
      : be_(be), count_(count), frechet_(frechet), adjoint_(adjoint) {}

  void run() {
    std::vector<int> all(count_);
    for (int i = 0; i < count_; ++i) all[i] = i;
    be_.step(be_.list(all), Step::kInit, 0);
    be_.read_states();
    std::vector<int> open = where([&](const BlasState<R>& s) { return s.m == 0; }, all);
    if (open.empty()) return;
    select_degrees(open);
    const std::vector<int> finite = where([](const BlasState<R>& s) { return s.m > 0; }, all);
    evaluate_pade(finite);
    square(finite);
  }

 private:
  template <class Pred>
  std::vector<int> where(Pred pred, const std::vector<int>& from) const {
    std::vector<int> out;
    for (int i : from) {
      if (pred(be_.state(i))) out.push_back(i);
    }
    return out;
  }
  std::vector<int> undecided(const std::vector<int>& from) const {
    return where([](const BlasState<R>& s) { return s.m == 0; }, from);
  }
  std::vector<int> candidates(const std::vector<int>& from) const {
    return where([](const BlasState<R>& s) { return (s.flags & kCandidate) != 0; }, from);
  }

  // ℓ(2^-s0 A, m) (AH2009 eq. (5.1)): 2m+1 products of |2^-s0 A|^T with ones, then kEllFinish
  // (param: the stage's degree, or 0 for the top degree).
  void ell(const List& l, int m, int param) {
    be_.step(l, Step::kAbsForEll, 0);
    for (int k = 0; k < 2 * m + 1; ++k) be_.gemv(l, kW1, true, k % 2 == 0 ? kVecV : kVecT, k % 2 == 0 ? kVecT : kVecV);
    be_.step(l, Step::kEllFinish, param);
  }

  // A stage with a norm test (kCandidate) and ℓ: sets m = degree for the matrices that pass both.
  void try_degree(std::vector<int>& open, int degree) {
    be_.read_states();
    const std::vector<int> c = candidates(open);
    if (!c.empty()) {
      ell(be_.list(c), degree, degree);
      be_.read_states();
    }
    open = undecided(open);
  }

  // Hager–Higham estimate of ||X Y||_1 (small_expm::norm1_est_product, its matrix-vector
  // products batched; matrices whose iteration stopped ride along masked); which = 8 or 10.
  void estimate(const List& l, int x, int y, int which) {
    be_.step(l, Step::kHagerStart, which);
    for (int it = 0; it < 5; ++it) {
      be_.gemv(l, y, false, kVecV, kVecT);
      be_.gemv(l, x, false, kVecT, kVecW);
      be_.step(l, Step::kHagerForward, it);
      be_.gemv(l, x, true, kVecXi, kVecT);
      be_.gemv(l, y, true, kVecT, kVecZ);
      be_.step(l, Step::kHagerAdjoint, it);
    }
    be_.step(l, Step::kHagerAlternating, 0);
    be_.gemv(l, y, false, kVecV, kVecT);
    be_.gemv(l, x, false, kVecT, kVecW);
    be_.step(l, Step::kHagerFinish, which);
  }

  // AH2009 Alg. 5.1, as small_expm::select_degree.
  void select_degrees(std::vector<int> open) {
    be_.gemm(be_.list(open), kA2, kA, kA, false);
    be_.step(be_.list(open), Step::kNorm2, 0);
    try_degree(open, 3);
    if (open.empty()) return;
    be_.gemm(be_.list(open), kA4, kA2, kA2, false);
    be_.step(be_.list(open), Step::kNorm4, 0);
    try_degree(open, 5);
    if (open.empty()) return;
    {
      const List l = be_.list(open);
      be_.gemm(l, kA6, kA4, kA2, false);
      be_.step(l, Step::kNorm6, 0);
    }
    if constexpr (Tab::kCount == 5) {  // double: m = 7, 9 from the exact ||A^8||
      be_.read_states();
      std::vector<int> c8 = candidates(open);
      if (!c8.empty()) {
        const List l = be_.list(c8);
        be_.gemm(l, kA8, kA4, kA4, false);
        be_.step(l, Step::kNorm8, 7);
        try_degree(c8, 7);
        if (!c8.empty()) {
          be_.step(be_.list(c8), Step::kNorm8, 9);
          try_degree(c8, 9);
        }
        open = undecided(open);
        if (open.empty()) return;
      }
    }
    // The top degree: estimated ||A^8||, ||A^10||, then s and its ℓ correction.
    const List l = be_.list(open);
    be_.step(l, Step::kHagerStart, 8);
    be_.read_states();
    if (!where([](const BlasState<R>& s) { return (s.flags & kHagerNeed) != 0; }, open).empty()) {
      estimate(l, kA4, kA4, 8);
    }
    estimate(l, kA4, kA6, 10);
    be_.step(l, Step::kTopSquarings, 0);
    ell(l, Tab::kDegree[Tab::kCount - 1], 0);
    be_.step(l, Step::kTopFinish, 0);
    be_.read_states();
    const std::vector<int> scaled = where([](const BlasState<R>& s) { return s.s > 0; }, open);
    if (!scaled.empty()) be_.step(be_.list(scaled), Step::kScalePowers, 0);
    const std::vector<int> redo = where([](const BlasState<R>& s) { return (s.flags & kRecompute) != 0; }, open);
    if (!redo.empty()) {  // ||A^k|| overflowed: the powers of the scaled A
      const List r = be_.list(redo);
      be_.gemm(r, kA2, kA, kA, false);
      be_.gemm(r, kA4, kA2, kA2, false);
      be_.gemm(r, kA6, kA4, kA2, false);
    }
  }

  std::vector<int> degree_at_least(const std::vector<int>& from, int m) const {
    return where([m](const BlasState<R>& s) { return s.m >= m; }, from);
  }

  // Padé r_m = (V - U)^{-1} (V + U) and its Fréchet derivative (small_expm::pade_uv, expm_team).
  void evaluate_pade(const std::vector<int>& finite) {
    const List all = be_.list(finite);
    const std::vector<int> g5 = degree_at_least(finite, 5), g7 = degree_at_least(finite, 7);
    const std::vector<int> g9 = where([](const BlasState<R>& s) { return s.m == 9; }, finite);
    const std::vector<int> g13 = degree_at_least(finite, 13);
    if (frechet_ && adjoint_) {  // the state of A^H for the same (m, s)
      adjoint_slot(finite, kA);
      adjoint_slot(finite, kA2);
      adjoint_slot(g5, kA4);
      adjoint_slot(g7, kA6);
      adjoint_slot(g9, kA8);
    }
    if (frechet_) be_.step(all, Step::kLoadE, 0);
    be_.step(all, Step::kPadeWV, 0);
    if (!g13.empty()) be_.gemm(be_.list(g13), kW, kA6, kW1, true);
    be_.gemm(all, kU, kA, kW, false);
    if (!g13.empty()) be_.gemm(be_.list(g13), kV, kA6, kZ1, true);
    if (frechet_) {
      be_.gemm(all, kM2, kA, kE, false);
      be_.gemm(all, kM2, kE, kA, true);
      if (!g5.empty()) {
        const List l = be_.list(g5);
        be_.gemm(l, kM4, kA2, kM2, false);
        be_.gemm(l, kM4, kM2, kA2, true);
      }
      if (!g7.empty()) {
        const List l = be_.list(g7);
        be_.gemm(l, kM6, kA4, kM2, false);
        be_.gemm(l, kM6, kM4, kA2, true);
      }
      if (!g9.empty()) {
        const List l = be_.list(g9);
        be_.gemm(l, kM8, kA4, kM4, false);
        be_.gemm(l, kM8, kM4, kA4, true);
      }
      be_.step(all, Step::kPadeLWLV, 0);
      if (!g13.empty()) {
        const List l = be_.list(g13);
        be_.gemm(l, kLW, kA6, kLW1, true);
        be_.gemm(l, kLW, kM6, kW1, true);
      }
      be_.gemm(all, kLU, kA, kLW, false);
      be_.gemm(all, kLU, kE, kW, true);
      if (!g13.empty()) {
        const List l = be_.list(g13);
        be_.gemm(l, kLV, kA6, kLZ1, true);
        be_.gemm(l, kLV, kM6, kZ1, true);
      }
    }
    // r = (V - U)^{-1}(U + V) = I + 2 (V - U)^{-1} U; L = (V - U)^{-1}(L_U + L_V + (L_U - L_V) r).
    be_.step(all, Step::kPadeSystem, 0);
    be_.lu_factor(all, kV);
    be_.lu_solve(all, kV, kU, kT1);
    be_.step(all, Step::kPadeResult, 0);
    if (frechet_) {
      be_.gemm(all, kLU, kLW, kT1, true);
      be_.lu_solve(all, kV, kLU, kT2);
    }
  }

  void adjoint_slot(const std::vector<int>& idx, int slot) {
    if (idx.empty()) return;
    const List l = be_.list(idx);
    be_.step(l, Step::kAdjointToTemp, slot);
    be_.step(l, Step::kCopyTempTo, slot);
  }

  // s squarings (and L_{j+1} = R_j L_j + L_j R_j): squaring j over the matrices with s >= j, a
  // prefix of the matrices sorted by s descending.
  void square(std::vector<int> finite) {
    std::stable_sort(finite.begin(), finite.end(), [&](int x, int y) { return be_.state(x).s > be_.state(y).s; });
    const List sorted = be_.list(finite);
    int with_s = 0;
    while (with_s < static_cast<int>(finite.size()) && be_.state(finite[with_s]).s > 0) ++with_s;
    if (with_s > 0) be_.step(be_.prefix(sorted, with_s), Step::kPrepareSquaring, 0);
    int active = with_s;
    for (int j = 1; active > 0; ++j) {
      while (active > 0 && be_.state(finite[active - 1]).s < j) --active;
      if (active == 0) break;
      const List p = be_.prefix(sorted, active);
      if (frechet_) {
        be_.gemm(p, l_slot(j), r_slot(j - 1), l_slot(j - 1), false);
        be_.gemm(p, l_slot(j), l_slot(j - 1), r_slot(j - 1), true);
      }
      be_.gemm(p, r_slot(j), r_slot(j - 1), r_slot(j - 1), false);
      be_.step(p, Step::kFixTriangular, j);
    }
    be_.step(sorted, Step::kFinish, 0);
  }

  Backend& be_;
  const int count_;
  const bool frechet_, adjoint_;
};

// One chunk of `count` matrices, set up in the backend (inputs, outputs, workspaces): modes as
// small_expm.h's expm_team (frechet: e given; adjoint: L(a^H, e) with a's degree and scaling).
template <class T, class Backend>
void run_chunk(Backend& be, int count, bool frechet, bool adjoint) {
  ChunkRun<T, Backend>(be, count, frechet, adjoint).run();
}

}  // namespace expm_blas
}  // namespace detexp
