// The per-matrix steps of the matrix exponential's BLAS-orchestrated path (large n on the GPU):
// everything of cc/core/small_expm.h's expm_team except the O(n^3) products, the matrix-vector
// products and the LU solves, which the driver (expm_blas_driver.h) issues as batched BLAS calls
// between these steps. Run per matrix by a team (small_expm.h's Team interface).
//
// Together, driver + steps are expm_team split at its products: the same degree selection (AH2009
// Alg. 5.1 with the ℓ correction and the Hager–Higham estimates of ||A^8||_1, ||A^10||_1), Padé
// evaluation, Fréchet / adjoint recurrences (AH2009b Alg. 6.4), triangular recomputation and
// squaring chain, with the same per-matrix (m, s). With products and solves evaluated by
// small_expm.h's own team routines (the CPU test backend) results are bitwise those of
// expm_team; cuBLAS differs only by rounding.
//
// Workspace of matrix i: expm_team_workspace_bytes<T>(n, frechet) bytes (small_expm::Workspace
// layout) plus one BlasState.
#pragma once

#include "small_expm.h"

namespace detexp {
namespace expm_blas {

using small_expm::Slot;

// Per-matrix scalars carried between steps (and read by the host between phases).
template <class R>
struct BlasState {
  R a1, n2, n4, n6, d6, d8, d10;
  R est;      // Hager estimate in progress
  int m;      // degree; 0 undecided, -1 excluded (NaN/Inf in a)
  int s;      // squarings
  int s0;     // squarings before the ℓ correction of the top degree
  int kind;   // triangular structure of the scaled A (small_expm::triangular_kind)
  int ell;    // the last ℓ computed
  int last;   // Hager: last index
  int flags;  // Flag bits
};

enum Flag : int {
  kEFinite = 1,        // e finite (Fréchet / adjoint modes): L is wanted
  kCandidate = 2,      // the norm test of the current stage passed: ℓ decides
  kHagerNeed = 4,      // this matrix needs the estimate in progress
  kHagerActive = 8,    // its Hager iteration has not stopped
  kRecompute = 16,     // powers overflowed: A^2, A^4, A^6 are recomputed from the scaled A
  kPowersFinite = 32,  // ||A^2||, ||A^4||, ||A^6|| finite
};

enum class Step : int {
  // ---- reducing steps (one team per matrix) ----
  kInit,            // A := a, NaN/Inf (fills outputs), a1, flags
  kNorm2,           // n2; candidate m = 3
  kNorm4,           // n4; candidate m = 5
  kNorm6,           // n6, d6; candidate for A^8 (double: d6 <= θ_9)
  kNorm8,           // d8; candidate m = 7 (param 7) or m = 9 (param 9)
  kEllFinish,       // ℓ from the power vector; param = m of the stage (decides m) or 0 (top degree)
  kHagerForward,    // param = iteration
  kHagerAdjoint,    // param = iteration
  kHagerFinish,     // param = 8 or 10: d8 or d10 from the estimate
  kTopSquarings,    // η5 and s0 of the top degree; ℓ input scaled by 2^-s0
  kTopFinish,       // s = s0 + ℓ, capped; m = top; flags kRecompute
  kPrepareSquaring, // kind; exact diagonal of r_m (s > 0)
  kFixTriangular,   // param = j: exact diagonal and superdiagonal after squaring j
  kHagerStart,      // param = 8 or 10: v := 1/n, flags
  kHagerAlternating,
  // ---- entrywise steps (any split of the entries; no reductions) ----
  kAbsForEll,       // W1 := |2^e A| (e = 0, or -s0 for the top degree), vector v := 1
  kScalePowers,     // A := 2^-s A; A2, A4, A6 scaled alike when finite
  kAdjointToTemp,   // T1 := (slot param)^H
  kCopyTempTo,      // slot param := T1
  kLoadE,           // E := 2^-s e
  kPadeWV,          // m < 13: W, V (Higham 2005 eq. (10.3)); m = 13: W1, Z1, W, V
  kPadeLWLV,        // Fréchet: LW, LV (m < 13) or LW1, LZ1, LW, LV (m = 13) from M2, M4, M6, M8
  kPadeSystem,      // V := V - U (the Padé denominator q)
  kPadeResult,      // R := 2 R + I; Fréchet: LW := LU - LV, LU := LU + LV
  kFinish,          // r, l := the results (their slots depend on the parity of s)
  kCopySlot,        // slot (param & 255) := slot (param >> 8)
};

DETEXP_HD bool step_is_entrywise(Step s) { return static_cast<int>(s) >= static_cast<int>(Step::kAbsForEll); }

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

// Where R and L are after j squarings (ping-pong R: T1 <-> U, L: T2 <-> W).
DETEXP_HD int r_slot(int j) { return j % 2 == 0 ? small_expm::kT1 : small_expm::kU; }
DETEXP_HD int l_slot(int j) { return j % 2 == 0 ? small_expm::kT2 : small_expm::kW; }

// Vectors of the workspace's tv (offsets in units of n): v, t, w, xi, z.
enum Vec : int { kVecV = 0, kVecT, kVecW, kVecXi, kVecZ };

template <class R, int I>
constexpr double kTheta = ExpmTable<R>::kTheta[I];

template <class T>
DETEXP_HD T coef(int m, int j) {
  using R = real_t<T>;
  return T(R(expm_coef::pade_b(m, j) / expm_coef::pade_b(m, 0)));
}

// The reducing steps. Every member of the team calls this with the same arguments.
template <class Team, class T>
DETEXP_HD_CALL void reducing_step(const Team& team, Step step, int param, const StepArgs<T>& g, index_t i) {
  using namespace small_expm;
  using R = real_t<T>;
  using Tab = ExpmTable<R>;
  constexpr int kTop = Tab::kDegree[Tab::kCount - 1];
  const int n = g.n;
  const index_t nn = static_cast<index_t>(n) * n;
  const Workspace<T> ws = workspace_layout<T>(n, g.frechet, g.ws + i * g.ws_bytes);
  T* const* w = ws.w;
  T* tv = ws.tv;
  BlasState<R>& st = g.state[i];
  switch (step) {
    case Step::kInit: {
      const T* a = g.a + i * nn;
      const bool a_finite = all_finite_team(team, nn, a);
      const bool e_finite = !g.frechet || all_finite_team(team, nn, g.e + i * nn);
      int flags = e_finite && g.frechet ? kEFinite : 0;
      if (!a_finite) {
        if (g.r != nullptr) nan_fill(team, nn, g.r + i * nn);
        if (g.l != nullptr) nan_fill(team, nn, g.l + i * nn);
      } else if (g.frechet && !e_finite) {
        nan_fill(team, nn, g.l + i * nn);
      }
      if (team.rank() == 0) {
        st = BlasState<R>{};
        st.m = a_finite ? 0 : -1;
        st.d8 = R(-1);
        st.flags = flags;
      }
      if (a_finite) {
        copy(team, nn, w[kA], a);
        const R a1 = norm1(team, n, w[kA]);
        if (team.rank() == 0) st.a1 = a1;
      }
      break;
    }
    case Step::kNorm2: {
      const R n2 = norm1(team, n, w[kA2]);
      if (team.rank() == 0) {
        st.n2 = n2;
        st.flags = (st.flags & ~kCandidate) | (std::sqrt(n2) <= R(kTheta<R, 0>) ? kCandidate : 0);
      }
      break;
    }
    case Step::kNorm4: {
      const R n4 = norm1(team, n, w[kA4]);
      if (team.rank() == 0) {
        st.n4 = n4;
        const R d4 = std::pow(n4, R(0.25));
        const R d46 = std::pow(n4 * st.n2, R(1) / 6);
        st.flags = (st.flags & ~kCandidate) | ((d4 > d46 ? d4 : d46) <= R(kTheta<R, 1>) ? kCandidate : 0);
      }
      break;
    }
    case Step::kNorm6: {
      const R n6 = norm1(team, n, w[kA6]);
      if (team.rank() == 0) {
        st.n6 = n6;
        st.d6 = std::pow(n6, R(1) / 6);
        bool cand = false;
        if constexpr (Tab::kCount == 5) cand = st.d6 <= R(kTheta<R, 3>);
        st.flags = (st.flags & ~kCandidate) | (cand ? kCandidate : 0);
      }
      break;
    }
    case Step::kNorm8: {
      if constexpr (Tab::kCount == 5) {
        R d8 = st.d8;
        if (param == 7) d8 = std::pow(norm1(team, n, w[kA8]), R(0.125));
        if (team.rank() == 0) {
          st.d8 = d8;
          const R eta3 = st.d6 > d8 ? st.d6 : d8;
          const R theta = param == 7 ? R(kTheta<R, 2>) : R(kTheta<R, 3>);
          st.flags = (st.flags & ~kCandidate) | (eta3 <= theta ? kCandidate : 0);
        }
      }
      break;
    }
    case Step::kEllFinish: {
      // v after 2m+1 (odd) products with |2^e A|^T, alternating v -> t -> v, is in t.
      const int m = param == 0 ? kTop : param;
      const T* v = tv + kVecT * n;
      R local = 0;
      for (int j = team.rank(); j < n; j += team.size()) local = nan_max(local, real_part(v[j]));
      const double p = static_cast<double>(team.max(local));
      if (team.rank() == 0) {
        const R a1 = param == 0 ? std::ldexp(st.a1, -st.s0) : st.a1;
        st.ell = (a1 > R(0)) ? ell_from_power_norm<R>(p, a1, m) : 0;
        if (param != 0 && (st.flags & kCandidate) && st.ell == 0) st.m = param;
      }
      break;
    }
    case Step::kHagerStart: {
      const bool finite = std::isfinite(st.n6) && std::isfinite(st.n4) && std::isfinite(st.n2);
      const bool need = finite && (param == 10 || st.d8 < R(0));
      hager_start(team, n, tv + kVecV * n);
      if (team.rank() == 0) {
        st.est = R(0);
        st.last = -1;
        st.flags = (st.flags & ~(kHagerNeed | kHagerActive | kPowersFinite)) | (need ? kHagerNeed | kHagerActive : 0) |
                   (finite ? kPowersFinite : 0);
      }
      break;
    }
    case Step::kHagerForward: {
      if (!(st.flags & kHagerActive)) break;
      R est = st.est;
      const bool go = hager_after_forward(team, n, param, tv + kVecW * n, tv + kVecXi * n, &est);
      if (team.rank() == 0) {
        st.est = est;
        if (!go) st.flags &= ~kHagerActive;
      }
      break;
    }
    case Step::kHagerAdjoint: {
      if (!(st.flags & kHagerActive)) break;
      int last = st.last;
      const bool go = hager_after_adjoint(team, n, param, tv + kVecZ * n, tv + kVecV * n, &last);
      if (team.rank() == 0) {
        st.last = last;
        if (!go) st.flags &= ~kHagerActive;
      }
      break;
    }
    case Step::kHagerAlternating:
      hager_alternating(team, n, tv + kVecV * n);
      break;
    case Step::kHagerFinish: {
      if (team.rank() == 0 && (st.flags & kHagerNeed)) {
        const R r = hager_result(n, tv + kVecW * n, st.est);
        if (param == 8) st.d8 = std::pow(r, R(0.125));
        if (param == 10) st.d10 = std::pow(r, R(0.1));
      }
      break;
    }
    case Step::kTopSquarings: {
      if (team.rank() == 0) {
        const R theta = R(kTheta<R, Tab::kCount - 1>);
        R eta5 = st.a1;
        if (st.flags & kPowersFinite) {
          const R x = st.d6 > st.d8 ? st.d6 : st.d8, y = st.d8 > st.d10 ? st.d8 : st.d10;
          eta5 = x < y ? x : y;
          if (!std::isfinite(eta5)) eta5 = st.a1;
        }
        int s = 0;
        if (eta5 > theta) s = static_cast<int>(std::ceil(std::log2(static_cast<double>(eta5) / theta)));
        st.s0 = s > 0 ? s : 0;
      }
      break;
    }
    case Step::kTopFinish: {
      if (team.rank() == 0) {
        int s = st.s0 + st.ell;
        s = s < Tab::kMaxSquarings ? s : Tab::kMaxSquarings;
        st.m = kTop;
        st.s = s;
        st.flags = (st.flags & ~kRecompute) | (s > 0 && !(st.flags & kPowersFinite) ? kRecompute : 0);
      }
      break;
    }
    case Step::kPrepareSquaring: {
      const int kind = triangular_kind(team, n, w[kA]);
      if (kind != 0) fix_triangular(team, n, w[r_slot(0)], w[kA], kind, 0, false);
      if (team.rank() == 0) st.kind = kind;
      break;
    }
    case Step::kFixTriangular:
      if (st.kind != 0) fix_triangular(team, n, w[r_slot(param)], w[kA], st.kind, param, true);
      break;
    default:
      break;
  }
  team.sync();
}

// The entrywise steps: entries idx = first, first + stride, ... < n^2 of matrix i (a team of one
// block per matrix, or several blocks splitting the entries: no step here reads an entry another
// member writes).
template <class T>
DETEXP_HD_CALL void entrywise_step(Step step, int param, const StepArgs<T>& g, index_t i, index_t first,
                                   index_t stride) {
  using namespace small_expm;
  using R = real_t<T>;
  const int n = g.n;
  const index_t nn = static_cast<index_t>(n) * n;
  const Workspace<T> ws = workspace_layout<T>(n, g.frechet, g.ws + i * g.ws_bytes);
  T* const* w = ws.w;
  const BlasState<R>& st = g.state[i];
  const int m = st.m, s = st.s;
  const T z = T(0), one = T(1);
  switch (step) {
    case Step::kAbsForEll: {
      const int e = -st.s0;  // 0 before the top degree
      for (index_t idx = first; idx < nn; idx += stride) w[kW1][idx] = T(std::ldexp(modulus(w[kA][idx]), e));
      for (index_t idx = first; idx < n; idx += stride) ws.tv[kVecV * n + idx] = one;
      break;
    }
    case Step::kScalePowers: {
      const bool finite = st.flags & kPowersFinite;
      for (index_t idx = first; idx < nn; idx += stride) {
        w[kA][idx] = ldexp_of(w[kA][idx], -s);
        if (finite) {
          w[kA2][idx] = ldexp_of(w[kA2][idx], -2 * s);
          w[kA4][idx] = ldexp_of(w[kA4][idx], -4 * s);
          w[kA6][idx] = ldexp_of(w[kA6][idx], -6 * s);
        }
      }
      break;
    }
    case Step::kAdjointToTemp:
      for (index_t idx = first; idx < nn; idx += stride) {
        const index_t r = idx % n, c = idx / n;
        w[kT1][idx] = conj_of(w[param][c + r * n]);
      }
      break;
    case Step::kCopyTempTo:
      for (index_t idx = first; idx < nn; idx += stride) w[param][idx] = w[kT1][idx];
      break;
    case Step::kCopySlot:
      for (index_t idx = first; idx < nn; idx += stride) w[param & 255][idx] = w[param >> 8][idx];
      break;
    case Step::kLoadE: {
      const T* e = g.e + i * nn;
      for (index_t idx = first; idx < nn; idx += stride) w[kE][idx] = ldexp_of(e[idx], -s);
      break;
    }
    case Step::kPadeWV:
      // small_expm::pade_uv's sums, entry by entry in the same order (comb_entry, then axpy).
      for (index_t idx = first; idx < nn; idx += stride) {
        const bool diag = idx % n == idx / n;
        const T* a2 = w[kA2] + idx;
        const T* a4 = m >= 5 ? w[kA4] + idx : nullptr;
        const T* a6 = m >= 7 ? w[kA6] + idx : nullptr;
        if (m != 13) {
          T wv = comb_entry(coef<T>(m, 3), *a2, diag, coef<T>(m, 1), coef<T>(m, 5), a4, coef<T>(m, 7), a6);
          T vv = comb_entry(coef<T>(m, 2), *a2, diag, coef<T>(m, 0), coef<T>(m, 4), a4, coef<T>(m, 6), a6);
          if (m >= 9) {
            wv += coef<T>(m, 9) * w[kA8][idx];
            vv += coef<T>(m, 8) * w[kA8][idx];
          }
          w[kW][idx] = wv;
          w[kV][idx] = vv;
        } else {
          w[kW1][idx] = comb_entry(coef<T>(13, 13), *a6, diag, z, coef<T>(13, 11), a4, coef<T>(13, 9), a2);
          w[kZ1][idx] = comb_entry(coef<T>(13, 12), *a6, diag, z, coef<T>(13, 10), a4, coef<T>(13, 8), a2);
          w[kW][idx] = comb_entry(coef<T>(13, 7), *a6, diag, coef<T>(13, 1), coef<T>(13, 5), a4, coef<T>(13, 3), a2);
          w[kV][idx] = comb_entry(coef<T>(13, 6), *a6, diag, coef<T>(13, 0), coef<T>(13, 4), a4, coef<T>(13, 2), a2);
        }
      }
      break;
    case Step::kPadeLWLV:
      for (index_t idx = first; idx < nn; idx += stride) {
        const bool diag = idx % n == idx / n;
        const T* m2 = w[kM2] + idx;
        const T* m4 = m >= 5 ? w[kM4] + idx : nullptr;
        const T* m6 = m >= 7 ? w[kM6] + idx : nullptr;
        if (m != 13) {
          T lw = comb_entry(coef<T>(m, 3), *m2, diag, z, m >= 5 ? coef<T>(m, 5) : z, m4, m >= 7 ? coef<T>(m, 7) : z, m6);
          T lv = comb_entry(coef<T>(m, 2), *m2, diag, z, m >= 5 ? coef<T>(m, 4) : z, m4, m >= 7 ? coef<T>(m, 6) : z, m6);
          if (m >= 9) {
            lw += coef<T>(m, 9) * w[kM8][idx];
            lv += coef<T>(m, 8) * w[kM8][idx];
          }
          w[kLW][idx] = lw;
          w[kLV][idx] = lv;
        } else {
          w[kLW1][idx] = comb_entry(coef<T>(13, 13), *m6, diag, z, coef<T>(13, 11), m4, coef<T>(13, 9), m2);
          w[kLZ1][idx] = comb_entry(coef<T>(13, 12), *m6, diag, z, coef<T>(13, 10), m4, coef<T>(13, 8), m2);
          w[kLW][idx] = comb_entry(coef<T>(13, 7), *m6, diag, z, coef<T>(13, 5), m4, coef<T>(13, 3), m2);
          w[kLV][idx] = comb_entry(coef<T>(13, 6), *m6, diag, z, coef<T>(13, 4), m4, coef<T>(13, 2), m2);
        }
      }
      break;
    case Step::kPadeSystem:
      for (index_t idx = first; idx < nn; idx += stride) w[kV][idx] += T(-1) * w[kU][idx];
      break;
    case Step::kPadeResult:
      for (index_t idx = first; idx < nn; idx += stride) {
        const bool diag = idx % n == idx / n;
        w[kT1][idx] = comb_entry(T(R(2)), w[kT1][idx], diag, one, z, static_cast<const T*>(nullptr), z, static_cast<const T*>(nullptr));
        if (g.frechet) {  // AH2009b Alg. 6.4 line 12's right-hand side, as expm_team
          const T lu = w[kLU][idx], lv = w[kLV][idx];
          w[kLW][idx] = comb_entry(one, lu, diag, z, T(-1), &lv, z, static_cast<const T*>(nullptr));
          w[kLU][idx] = lu + one * lv;
        }
      }
      break;
    case Step::kFinish: {
      const T* rr = w[r_slot(s)];
      const T* ll = w[l_slot(s)];
      T* r = g.r == nullptr ? nullptr : g.r + i * nn;
      T* l = (st.flags & kEFinite) ? g.l + i * nn : nullptr;
      for (index_t idx = first; idx < nn; idx += stride) {
        if (r != nullptr) r[idx] = rr[idx];
        if (l != nullptr) l[idx] = ll[idx];
      }
      break;
    }
    default:
      break;
  }
}

}  // namespace expm_blas
}  // namespace detexp
