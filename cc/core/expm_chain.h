// The scaling-and-squaring chain after the selection (expm_select.h), for every backend: scaling,
// the scheme's products and result (expm_schemes.h), and the squarings, each with its Fréchet
// derivative when asked.
//
// Fréchet derivative (Al-Mohy & Higham 2009, "Computing the Fréchet derivative of the matrix
// exponential, with an application to condition number estimation", Alg. 6.4): L(A, E) is the
// exact derivative of the computed r_m(2^-s A)^(2^s): d(L R) = dL R + L dR through every product
// of the scheme (for Padé these are eqs. (6.11)-(6.13)), L = (V - U)^{-1} (L_U + L_V + (L_U -
// L_V) r) for the Padé quotient, L_{j+1} = R_j L_j + L_j R_j through the squarings. It uses the
// degree and scaling chosen for A (not the slightly smaller ℓ_m thresholds of AH2009b), so expm's
// backward is the derivative of exactly the forward's chain; the ℓ_m/θ_m gap changes the
// derivative's truncation error bound by less than a factor of 2 of u. Drivers take the adjoint
// L(A^H, G) as L(A, G^H)^H (exp(X^H) = exp(X)^H).
//
// Triangular input (AH2009 Code Fragment 2.1, as SciPy): the backend's fix_triangular recomputes
// the diagonal and first off-diagonal exactly after every squaring, and its LU does not pivot, so
// that the result is exactly triangular (products, sums and substitutions of triangular matrices
// keep their zeros).
//
// Backend (slots of expm_schemes.h's ExpmSlot; every call completes before the next reads):
//   void product(int c, int a, int b, bool accumulate)   c := a b, or c += a b; c != a, b
//   void combine(int dst, int terms, const int* slot, const double* coef, double identity)
//        dst := identity I + Σ coef_t slot_t (the coefficients rounded to the precision); dst may
//        be slot[0], no other
//   void scale_squarings(int slot, int p)       slot *= 2^(-p s), exactly (s: the matrix's squarings)
//   void lu_factor(int q)                       q := its LU factors (no pivoting for triangular A)
//   void lu_solve(int q, int b, int x)          x := q^{-1} b, x != b
//   void fix_triangular(int r, int e, bool off) for triangular A: r's diagonal := exp(2^e diag(X))
//        (and its first off-diagonal exactly); nothing otherwise
//   bool square_next(int j)                     whether squaring j runs (per matrix: j <= s)
//   bool square_r(int j, bool want_r)           whether it squares r too (per matrix: want_r || j < s)
#pragma once

#include "expm_schemes.h"
#include "expm_select.h"
#include "team.h"

namespace detexp {

#if defined(__CUDACC__)
#define DETEXP_CHAIN_INLINE
#else
#define DETEXP_CHAIN_INLINE [[gnu::always_inline]]
#endif

// Where r and its derivative are after j squarings (ping-pong with the combination scratch).
DETEXP_HD constexpr int expm_r_slot(int j) { return j % 2 == 0 ? kExpmSlotL : kExpmSlotR; }
DETEXP_HD constexpr int expm_l_slot(int j) { return j % 2 == 0 ? kExpmSlotDR : kExpmSlotDL; }

// The powers of c's scheme that the selection formed and that stay valid after the scaling: where
// their norms overflowed they are formed again from 2^-s A by the evaluation.
DETEXP_HD unsigned expm_formed_powers(const ExpmChoice& c, const ExpmScheme& sc) {
  if (c.s > 0 && !c.powers_finite) return 0;
  return c.formed & sc.powers;
}
DETEXP_HD unsigned expm_formed_powers(const ExpmChoice& c) { return expm_formed_powers(c, expm_scheme(c.m)); }

// X := 2^-s A with the formed powers scaled alike (X^p by 2^-ps), and the direction dX := 2^-s E.
DETEXP_HOST_INSTANCES_OK
template <class Be>
DETEXP_HD_CALL void expm_scale(Be& be, const ExpmScheme& sc, unsigned formed, bool frechet) {
  be.scale_squarings(kExpmSlotX, 1);
  if (frechet) be.scale_squarings(kExpmSlotDX, 1);
  const unsigned scaled = formed & sc.powers;
  for (int p = 2; p <= 10; ++p) {
    if (scaled >> p & 1u) be.scale_squarings(expm_power_slot(!sc.pade, p), p);
  }
}

// The combination Σ c_j Y_j (Y_0 = I; the derivative basis has dI = 0) as a slot: the basis slot
// itself for a unit vector (unless materialize), else formed in `scratch`; -1 for zero.
DETEXP_HOST_INSTANCES_OK
template <class Be>
DETEXP_CHAIN_INLINE DETEXP_HD_CALL int expm_combine(Be& be, const ExpmCombination& c, bool derivative, int scratch,
                                bool materialize = false) {
  const int* slot = derivative ? c.derivative_slot : c.slot;
  const double identity = derivative ? 0.0 : c.c[0];
  if (c.terms == 0 && identity == 0.0) return -1;
  if (!materialize && c.terms == 1 && c.coef[0] == 1.0 && identity == 0.0) return slot[0];
  be.combine(scratch, c.terms, slot, c.coef, identity);
  return scratch;
}

// Product k of a scheme (basis entry 2 + k) and, with frechet, its derivative. formed: the powers
// already in their slots. Always inlined on the host: where the product is a compile-time constant
// (expm.h's fixed sizes) its slots, coefficients and branches fold away.
DETEXP_HOST_INSTANCES_OK
template <class Be>
DETEXP_CHAIN_INLINE DETEXP_HD_CALL void expm_evaluate_product(Be& be, const ExpmProduct& p, int k, unsigned formed,
                                                              bool frechet) {
  const int dst = expm_basis_slot(2 + k);
  const int l = expm_combine(be, p.left, false, kExpmSlotL);
  const int r = expm_combine(be, p.right, false, kExpmSlotR);
  if (p.power == 0 || !(formed >> p.power & 1u)) be.product(dst, l, r, false);
  if (!frechet) return;
  const int dl = expm_combine(be, p.left, true, kExpmSlotDL);
  const int dr = expm_combine(be, p.right, true, kExpmSlotDR);
  const int ddst = expm_derivative_slot(dst);
  if (dl >= 0) be.product(ddst, dl, r, false);  // d(L R) = dL R + L dR
  if (dr >= 0) be.product(ddst, l, dr, dl >= 0);
}

// After the products: r := the scheme's result in expm_r_slot(0) and, with frechet, l := the
// derivative in the direction dX in expm_l_slot(0).
DETEXP_HOST_INSTANCES_OK
template <class Be>
DETEXP_CHAIN_INLINE DETEXP_HD_CALL void expm_evaluate_result(Be& be, const ExpmScheme& sc, bool frechet) {
  if (!sc.pade) {
    expm_combine(be, sc.u, false, expm_r_slot(0), true);
    if (frechet) expm_combine(be, sc.u, true, expm_l_slot(0), true);
    return;
  }
  // r = (V - U)^{-1} (U + V) written as I + 2 (V - U)^{-1} U: the identity is added exactly, which
  // keeps the last bit for small ||X|| (same value and derivative in exact arithmetic).
  const int u = expm_combine(be, sc.u, false, kExpmSlotL);  // a product of the scheme
  expm_combine(be, sc.v_minus_u, false, kExpmSlotV, true);
  be.lu_factor(kExpmSlotV);
  be.lu_solve(kExpmSlotV, u, expm_r_slot(0));
  const int r = expm_r_slot(0);
  const double two = 2.0;
  be.combine(r, 1, &r, &two, 1.0);
  if (!frechet) return;
  // L = (V - U)^{-1} (L_U + L_V + (L_U - L_V) r)  (AH2009b Alg. 6.4 line 12)
  const int du = expm_derivative_slot(u);
  const int lv = expm_combine(be, sc.v, true, kExpmSlotDV);
  const int pair[2] = {du, lv};
  const double minus[2] = {1.0, -1.0}, plus[2] = {1.0, 1.0};
  be.combine(kExpmSlotDL, 2, pair, minus, 0.0);
  be.combine(du, 2, pair, plus, 0.0);
  be.product(du, kExpmSlotDL, r, true);
  be.lu_solve(kExpmSlotV, du, expm_l_slot(0));
}

// The scheme's products, then its result (r, and l with frechet).
DETEXP_HOST_INSTANCES_OK
template <class Be>
DETEXP_HD_CALL void expm_evaluate(Be& be, const ExpmScheme& sc, unsigned formed, bool frechet) {
  for (int k = 0; k < sc.products; ++k) expm_evaluate_product(be, sc.product[k], k, formed, frechet);
  expm_evaluate_result(be, sc, frechet);
}

// r := r^(2^s) and, with frechet, l := its derivative (L_{j+1} = R_j L_j + L_j R_j); with want_r
// false (only l wanted) r stays one squaring short: the last squaring feeds only r. For
// triangular A the diagonal and first off-diagonal are exact after every squaring.
DETEXP_HOST_INSTANCES_OK
template <class Be>
DETEXP_HD_CALL void expm_square(Be& be, bool frechet, bool want_r) {
  if (!be.square_next(1)) return;
  be.fix_triangular(expm_r_slot(0), 0, false);
  for (int j = 1; be.square_next(j); ++j) {
    if (frechet) {
      be.product(expm_l_slot(j), expm_r_slot(j - 1), expm_l_slot(j - 1), false);
      be.product(expm_l_slot(j), expm_l_slot(j - 1), expm_r_slot(j - 1), true);
    }
    if (!be.square_r(j, want_r)) continue;
    be.product(expm_r_slot(j), expm_r_slot(j - 1), expm_r_slot(j - 1), false);
    be.fix_triangular(expm_r_slot(j), j, true);
  }
}

// The whole chain after the selection (or expm_restore): r := exp(A) in expm_r_slot(c.s) and,
// with frechet, l := L(A, E) in expm_l_slot(c.s), for A in slot X and E in slot dX.
DETEXP_HOST_INSTANCES_OK
template <class Be>
DETEXP_HD_CALL void expm_run_chain(Be& be, const ExpmChoice& c, bool frechet, bool want_r) {
  const ExpmScheme& sc = expm_scheme(c.m);
  const unsigned formed = expm_formed_powers(c, sc);
  expm_scale(be, sc, formed, frechet);
  expm_evaluate(be, sc, formed, frechet);
  expm_square(be, frechet, want_r);
}

}  // namespace detexp
