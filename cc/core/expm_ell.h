// The ℓ squaring guard of Al-Mohy & Higham 2009 eq. (5.1), for every backend: the decisions here,
// the products w = B v by the backend (expm_select.h's Backend::ell).
//
// ℓ = max(0, ceil(log2(α/u) / (k-1))), α = |c_k| || |X|^k ||_1 / ||X||_1 for X = 2^shift A and
// the order k = 2m+1 of Padé r_m's leading error term: scaling X by 1/2 divides α by 2^(k-1).
// || |A|^k ||_1 is the largest entry of v_k = B^k e, B = |A|^T (nonnegative), prescaled by a power
// of two to ||B||_inf < 1 so that no v_j overflows for any finite A. The products stop early where
// Collatz-Wielandt bounds already fix ℓ: with r_lo v_{j-1} <= B v_{j-1} <= r_hi v_{j-1} entrywise
// (the extreme ratios over v_{j-1} > 0), multiplying by B >= 0 keeps the inequalities, so
// r_lo^(k-j) max(v_j) <= max(v_k) <= r_hi^(k-j) max(v_j); where both ends give the same ℓ, it is
// ℓ. The ratios approach the Perron root of B as in the power method, and one ℓ step spans k-1
// octaves of α, so a few products usually settle it (standard normal / sqrt(n), n = 4..256: 2.0-2.8
// products per ℓ, against all k).
#pragma once

#include "expm_coefficients.h"
#include "team.h"

namespace detexp {

// x^k for k >= 0 by repeated squaring (no libm call in the selection's threshold tests).
DETEXP_HD double int_power(double x, int k) {
  double p = 1.0;
  for (; k > 0; k >>= 1, x *= x) {
    if (k & 1) p *= x;
  }
  return p;
}

// One product's summary: top = max_i w_i; lo, hi the extreme ratios w_i / v_i over v_i > 0 (hi
// infinite where some w_i > 0 has v_i = 0).
template <class R>
struct EllStats {
  R top, lo, hi;
};

// The scalar side of ℓ for one matrix: start() says whether products are needed and how B is
// scaled; after_product() takes each product's EllStats and says when ℓ is known.
template <class R>
class EllSearch {
 public:
  // ℓ without products (returns it), or -1: then B = 2^b_exponent |A|^T, v_0 = ones.
  DETEXP_HD int start(R a1, int order, double inv_abs_ck, int shift, int* b_exponent) {
    order_ = order;
    if (!(a1 > R(0)) || !(a1 <= std::numeric_limits<R>::max())) return 0;
    constexpr double u = ExpmTable<R>::kUnitRoundoff;
    // || |X|^k ||_1 <= ||X||_1^k: where that bound already keeps α <= u, ℓ = 0 without products.
    if (int_power(std::ldexp(static_cast<double>(a1), shift), order - 1) <= u * inv_abs_ck) return 0;
    int a1_exponent = 0;
    std::frexp(a1, &a1_exponent);  // ||A||_1 < 2^a1_exponent
    *b_exponent = -a1_exponent;
    // log2(α/u) = log2 max(v_k) + exponent + offset_, || |A|^j ||_1 = max(v_j) 2^(exponent + j a1_exponent).
    offset_ = order * (static_cast<double>(a1_exponent) + shift) - std::log2(static_cast<double>(a1)) - shift -
              std::log2(inv_abs_ck) - std::log2(u);
    exponent_ = 0;
    return -1;
  }

  // After product j (1-based) with w_j = B v_{j-1}: ℓ, or -1 to go on with v_j = w_j * 2^(-*rescale)
  // (rescaled exactly before the entries leave the normal range; *rescale = 0: as it is).
  DETEXP_HD int after_product(int j, const EllStats<R>& st, int* rescale) {
    *rescale = 0;
    if (!(st.top > R(0))) return 0;  // |A| nilpotent: α = 0
    if (j >= 2 && j < order_ && st.lo > R(0) && st.hi <= std::numeric_limits<R>::max()) {
      const double base = std::log2(static_cast<double>(st.top)) + exponent_ + offset_;
      const int lo = ell_of(base + (order_ - j) * std::log2(static_cast<double>(st.lo)));
      if (lo == ell_of(base + (order_ - j) * std::log2(static_cast<double>(st.hi)))) return lo;
    }
    R top = st.top;
    if (top < std::ldexp(R(1), std::numeric_limits<R>::min_exponent / 2)) {
      std::frexp(top, rescale);
      exponent_ += *rescale;
      top = std::ldexp(top, -*rescale);
    }
    if (j < order_) return -1;
    return ell_of(std::log2(static_cast<double>(top)) + exponent_ + offset_);
  }

  // Whether product j's ratios can decide (the backend may skip computing lo and hi otherwise).
  DETEXP_HD bool wants_ratios(int j) const { return j >= 2 && j < order_; }
  DETEXP_HD int order() const { return order_; }

 private:
  DETEXP_HD int ell_of(double log2_alpha_over_u) const {
    const double value = std::ceil(log2_alpha_over_u / (order_ - 1));
    return value > 0 ? static_cast<int>(value < 64.0 ? value : 64.0) : 0;
  }

  int order_ = 0;
  int exponent_ = 0;
  double offset_ = 0;
};

// ℓ(2^shift A, m) for the Padé degree m.
DETEXP_HD int expm_ell_order_of(int m) { return 2 * m + 1; }

// EllStats of w = B v over entries first, first + stride, ... < n (a team member's share; the
// caller reduces top and hi by max, lo by min).
template <class R>
DETEXP_HD EllStats<R> ell_partial_stats(int n, const R* v, const R* w, bool ratios, int first, int stride) {
  EllStats<R> st{R(0), std::numeric_limits<R>::infinity(), R(0)};
  for (int i = first; i < n; i += stride) {
    const R wi = w[i];
    st.top = wi > st.top ? wi : st.top;
    if (!ratios) continue;
    if (v[i] > R(0)) {
      const R ratio = wi / v[i];
      st.lo = ratio < st.lo ? ratio : st.lo;
      st.hi = ratio > st.hi ? ratio : st.hi;
    } else if (wi > R(0)) {
      st.hi = std::numeric_limits<R>::infinity();
    }
  }
  return st;
}

// EllStats of w = B v over the whole team: each member's share, reduced (every member gets them).
template <class Team, class R>
DETEXP_HD_CALL EllStats<R> ell_team_stats(const Team& team, int n, const R* v, const R* w, bool ratios) {
  EllStats<R> st = ell_partial_stats(n, v, w, ratios, team.rank(), team.size());
  st.top = team.max(st.top);
  st.hi = team.max(st.hi);
  st.lo = -team.max(-st.lo);
  return st;
}

// s + Σ_i col[i col_stride] in_i over i = 0 .. rows-1, one term at a time in row order: every
// backend's order for an output of ℓ's product, whether it reads a column whole or in row tiles
// staged elsewhere (the GPU's, through shared memory), so the split changes no bits.
template <class R>
DETEXP_HD R ell_fold_rows(R s, const R* col, int col_stride, const R* in, int rows) {
  for (int i = 0; i < rows; ++i) s += col[i * col_stride] * in[i];
  return s;
}

// out_j := (B in)_j = Σ_i b[i + j n] in_i for the columns j = first, first + stride, ... (B = |A|^T
// scaled, stored as b = |A| 2^e in A's column-major layout: each output reads one column).
template <class R>
DETEXP_HD void ell_apply_columns(int n, const R* b, const R* in, R* out, int first, int stride) {
  for (int j = first; j < n; j += stride) out[j] = ell_fold_rows(R(0), b + static_cast<index_t>(j) * n, 1, in, n);
}

// ℓ by a per-matrix backend: apply(in, out) sets out := B in (team-synchronised), v and w are n
// reals each. Returns ℓ in every member.
template <class Team, class R, class Apply>
DETEXP_HD_CALL int ell_products(const Team& team, int n, EllSearch<R>& es, Apply&& apply, R* v, R* w) {
  for (int i = team.rank(); i < n; i += team.size()) v[i] = R(1);
  team.sync();
  for (int j = 1;; ++j) {
    apply(static_cast<const R*>(v), w);
    const EllStats<R> st = ell_team_stats(team, n, v, w, es.wants_ratios(j));
    int rescale = 0;
    const int ell = es.after_product(j, st, &rescale);
    team.sync();  // every member has read v and w
    if (ell >= 0) return ell;
    R* t = v;
    v = w;
    w = t;
    if (rescale == 0) continue;
    for (int i = team.rank(); i < n; i += team.size()) v[i] = std::ldexp(v[i], -rescale);
    team.sync();
  }
}

}  // namespace detexp
