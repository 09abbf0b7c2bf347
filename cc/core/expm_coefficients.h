// Constants of the scaling-and-squaring Padé algorithm for the matrix exponential.
//
// Sources: N. J. Higham, "The scaling and squaring method for the matrix exponential revisited",
// SIAM J. Matrix Anal. Appl. 26 (2005) (θ_m, Table 2.3 double and single; Padé coefficients b_j);
// A. H. Al-Mohy and N. J. Higham, "A new scaling and squaring algorithm for the matrix
// exponential", SIAM J. Matrix Anal. Appl. 31 (2009), Alg. 5.1 (the ||A^k||^(1/k) refinement and
// the ℓ(A, m) correction, eq. (5.1)); the same numbers as SciPy's expm.
#pragma once

#include "scalar.h"

namespace detexp {
namespace expm_coef {

// Padé [m/m] numerator coefficients b_0..b_m (the denominator is the same with alternating signs).
DETEXP_HD constexpr double pade_b(int m, int j) {
  switch (m) {
    case 3: {
      constexpr double b[] = {120., 60., 12., 1.};
      return b[j];
    }
    case 5: {
      constexpr double b[] = {30240., 15120., 3360., 420., 30., 1.};
      return b[j];
    }
    case 7: {
      constexpr double b[] = {17297280., 8648640., 1995840., 277200., 25200., 1512., 56., 1.};
      return b[j];
    }
    case 9: {
      constexpr double b[] = {17643225600., 8821612800., 2075673600., 302702400., 30270240.,
                              2162160.,     110880.,     3960.,       90.,        1.};
      return b[j];
    }
    default: {  // m = 13
      constexpr double b[] = {64764752532480000., 32382376266240000., 7771770303897600.,
                              1187353796428800.,  129060195264000.,   10559470521600.,
                              670442572800.,      33522128640.,       1323241920.,
                              40840800.,          960960.,            16380.,
                              182.,               1.};
      return b[j];
    }
  }
}

// 1 / |c_{2m+1}|, c_{2m+1} = (m!)^2 / ((2m)! (2m+1)!) the leading coefficient of the Padé error
// series (AH2009 eq. (5.1)), for the ℓ correction.
DETEXP_HD constexpr double inv_abs_c(int m) {
  switch (m) {
    case 3: return 100800.;
    case 5: return 10059033600.;
    case 7: return 4487938430976000.;
    case 9: return 5914384781877411840000.;
    default: return 113250775606021113483283660800000000.;  // m = 13
  }
}

}  // namespace expm_coef

// Degrees tried in order, θ_m (largest ||2^-s A|| for which the backward error of r_m is at most u)
// and the unit roundoff, per precision. Single precision stops at m = 7 (Higham 2005, Table 2.3:
// m = 7 minimizes the cost per unit of norm for u = 2^-24).
template <class R>
struct ExpmTable;

template <>
struct ExpmTable<double> {
  static constexpr int kCount = 5;
  static constexpr int kDegree[kCount] = {3, 5, 7, 9, 13};
  static constexpr double kTheta[kCount] = {1.495585217958292e-2, 2.539398330063230e-1,
                                            9.504178996162932e-1, 2.097847961257068e0,
                                            5.371920351148152e0};
  static constexpr double kUnitRoundoff = 1.1102230246251565e-16;  // 2^-53
  // A finite A has ||A||_1 < 2^1024, so s <= 1024 - log2(θ_max) + ℓ; the cap only guards loops.
  static constexpr int kMaxSquarings = 1100;
};

template <>
struct ExpmTable<float> {
  static constexpr int kCount = 3;
  static constexpr int kDegree[kCount] = {3, 5, 7};
  static constexpr double kTheta[kCount] = {4.258730016922831e-1, 1.880152677804762e0,
                                            3.925724783138660e0};
  static constexpr double kUnitRoundoff = 5.9604644775390625e-8;  // 2^-24
  static constexpr int kMaxSquarings = 200;
};

// The truncated Taylor series T_18 (single precision's top degree where expm_select.h's policy
// says so) and θ_18: the largest α_p(2^-s A) for which the backward error h(x) = log(e^-x T_18(x))
// = Σ_{k>18} c_k x^k satisfies Σ |c_k| θ^k / θ <= u = 2^-24 (AH2009 Theorem 4.2 applied to the
// Taylor remainder; the value of Bader, Blanes & Casas 2019 and PyTorch, recomputed with mpmath at
// 60 digits). BBC evaluate T_18 in 5 products and no solve, against Padé 7's 4 products, LU and
// triangular solves.
template <class R>
struct ExpmTaylorTable {
  static constexpr int kCount = 0;  // no Taylor degree: Padé only
};

template <>
struct ExpmTaylorTable<float> {
  static constexpr int kCount = 1;
  static constexpr int kDegree[kCount] = {18};
  static constexpr double kTheta[kCount] = {3.010066362817634e0};
};

// The degree m and squarings s expm chose for a matrix, as one int32 per matrix (the choice
// output of Detexp>Expm, the input of Detexp>ExpmGrad): m + kExpmChoiceSquaringUnit * s, or
// kExpmChoiceNone where no Padé or Taylor chain ran (n <= 1, the real 2×2 closed form, NaN/Inf
// input, or no forward to take it from), for which the backward selects (m, s) itself. The Padé
// and Taylor degrees of a precision are disjoint, so m also names the family.
constexpr int kExpmChoiceNone = -1;
constexpr int kExpmChoiceSquaringUnit = 256;

DETEXP_HD constexpr int expm_choice_code(int m, int s) { return m + kExpmChoiceSquaringUnit * s; }
DETEXP_HD constexpr int expm_choice_degree(int code) { return code % kExpmChoiceSquaringUnit; }
DETEXP_HD constexpr int expm_choice_squarings(int code) { return code / kExpmChoiceSquaringUnit; }

// Whether a degree is the family's top (the only one with squarings), a lower one, or not its.
enum class ExpmDegreeKind { kNone, kLower, kTop };

template <class Tab>
ExpmDegreeKind expm_degree_kind(int m) {
  if constexpr (Tab::kCount == 0) {
    return ExpmDegreeKind::kNone;
  } else {
    if (m == Tab::kDegree[Tab::kCount - 1]) return ExpmDegreeKind::kTop;
    for (int k = 0; k + 1 < Tab::kCount; ++k) {
      if (m == Tab::kDegree[k]) return ExpmDegreeKind::kLower;
    }
    return ExpmDegreeKind::kNone;
  }
}

// Whether code names a Taylor degree of precision R (else Padé or none).
template <class R>
bool expm_choice_is_taylor(int code) {
  return code >= 0 && expm_degree_kind<ExpmTaylorTable<R>>(expm_choice_degree(code)) != ExpmDegreeKind::kNone;
}

// A code expm could have produced for precision R: kExpmChoiceNone, a Padé or Taylor degree of
// the tables without squarings, or a top degree with 0..kMaxSquarings squarings.
template <class R>
bool expm_choice_valid(int code) {
  if (code == kExpmChoiceNone) return true;
  if (code < 0) return false;
  const int m = expm_choice_degree(code), s = expm_choice_squarings(code);
  ExpmDegreeKind kind = expm_degree_kind<ExpmTable<R>>(m);
  if (kind == ExpmDegreeKind::kNone) kind = expm_degree_kind<ExpmTaylorTable<R>>(m);
  if (kind == ExpmDegreeKind::kTop) return s <= ExpmTable<R>::kMaxSquarings;
  return kind == ExpmDegreeKind::kLower && s == 0;
}

}  // namespace detexp
