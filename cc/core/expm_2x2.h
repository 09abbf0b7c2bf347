// exp(A) of one real 2×2 matrix in closed form, evaluated without cancellation.
//
// With t = tr(A)/2, p = (a - d)/2 and δ² = p² + bc (the discriminant: A's eigenvalues are t ± δ),
// A - tI = [[p, b], [c, -p]] squares to δ² I, so (Higham, "Functions of Matrices", 2008, §10.4.3;
// Bernstein & So 1993)
//     exp(A) = e^t [cosh δ · I + (sinh δ / δ) (A - tI)]          (δ² < 0: cos ω, sin ω / ω, ω² = -δ²).
// Evaluated as written this loses accuracy three ways, each avoided here:
//   - δ² = p² + bc cancels when bc ≈ -p²: computed with Kahan's FMA trick (the rounding error of
//     b·c recovered exactly by fma), so δ² has a relative error of a few ulps of the exact value.
//   - e^t cosh δ overflows (and e^t underflows) while the result is finite: for δ ≥ 1/2 the
//     spectral form exp(A) = [E1 (A - λ2 I) - E2 (A - λ1 I)] / (2δ), E_i = e^{λ_i}, is used, with
//     the cancelling diagonal entry of A - λ_i I (δ - |p|) computed as bc / (δ + |p|).
//   - 1 - e^{-2δ} for small δ: the spectral form is only used for δ ≥ 1/2, where E1 - E2 ≥ (1 - 1/e) E1;
//     below, cosh and sinh δ / δ are evaluated directly and are bounded (≤ 1.13).
//   - λ = t ± δ cancels for the eigenvalue of smaller magnitude: it is det A / (the other one).
// The normwise error is then a few ulps plus the inherent sensitivity of e^{λ_i} to the rounding of
// λ_i (|λ_i| u), while scaling and squaring multiplies its rounding by up to 2^s: on Moler–Van
// Loan's [[-49, 24], [-64, 31]] 1.1e-16 against 7.1e-15 (Padé 13, s = 5) and SciPy's 4.3e-15.
//
// Float32 input is evaluated in double. Badly scaled off-diagonals ([[1, 1e150], [1e-150, 1]]) are
// no difficulty: b and c enter only through bc and as factors of the result. Returns false (nothing
// written) where intermediates may overflow: |a| or |d| ≥ 2^500, bc overflowing, or λ1 > 700; the
// caller then takes scaling and squaring. Non-finite input is the caller's to reject first.
// Storage: column-major or row-major alike (the formula commutes with transposition).
#pragma once

#include <cmath>

#include "scalar.h"

namespace detexp {

// Also device code: cc/core/small_expm.h calls it for the GPU's n = 2 teams.
template <class R>
DETEXP_HD bool expm_2x2_real(const R* x, R* out) {
  const double a = x[0], c = x[1], b = x[2], d = x[3];
  const double big = 0x1p500;  // a², ad, p² stay finite; b and c only enter through bc and bc/δ
  if (!(std::fabs(a) < big && std::fabs(d) < big)) return false;
  const double t = 0.5 * a + 0.5 * d;  // halves first: no overflow, exact unless subnormal
  const double p = 0.5 * a - 0.5 * d;
  const double bc = b * c;
  const double bc_err = std::fma(b, c, -bc);       // b·c = bc + bc_err exactly (Kahan)
  const double disc = std::fma(p, p, bc) + bc_err;  // δ²
  if (!std::isfinite(disc)) return false;            // |bc| overflowed
  double r00, r11, r01, r10;                         // exp(A) = [[r00, r01], [r10, r11]]
  if (disc >= 0.25) {
    // Spectral form: exp(A) = [E1 (A - λ2 I) - E2 (A - λ1 I)] / (2δ), λ1,2 = t ± δ.
    const double delta = std::sqrt(disc);
    // The eigenvalue of smaller magnitude would cancel in t ± δ (-800 and -3 from t ≈ -401.5):
    // λ1 λ2 = det A, with det A = ad - bc again by Kahan's trick.
    const double det = std::fma(a, d, -bc) - bc_err;
    const double lambda1 = t >= 0 ? t + delta : det / (t - delta);
    const double lambda2 = t >= 0 ? det / (t + delta) : t - delta;
    if (lambda1 > 700.0) return false;
    const double e1 = std::exp(lambda1), e2 = std::exp(lambda2);
    // (p + δ, δ - p): the one with |p| subtracted cancels when bc < 0; δ² - p² = bc gives it exactly.
    const double big_part = delta + std::fabs(p);
    const double small_part = bc / big_part + bc_err / big_part;
    const double p_plus = p >= 0 ? big_part : small_part;   // p + δ
    const double p_minus = p >= 0 ? small_part : big_part;  // δ - p
    const double inv = 0.5 / delta;
    r00 = (e1 * p_plus + e2 * p_minus) * inv;
    r11 = (e1 * p_minus + e2 * p_plus) * inv;
    const double off = (e1 - e2) * inv;  // (1 - e^{-2δ}) ≥ 1 - 1/e: no cancellation
    r01 = b * off;
    r10 = c * off;
  } else {
    // δ² < 1/4: e^t [f I + g (A - tI)] with f = cosh δ, g = sinh δ / δ ≤ 1.13, or f = cos ω,
    // g = sin ω / ω for δ² = -ω² < 0 (complex eigenvalues; |f|, |g| ≤ 1). Where f ± p g cancels,
    // |p| ≤ 1/2 + sqrt|bc|, so the error stays below u · max(1, |b|, |c|) g e^t ≲ u ||exp(A)||.
    double f, g;
    if (disc >= 0) {
      const double delta = std::sqrt(disc);
      f = std::cosh(delta);
      g = delta > 0 ? std::sinh(delta) / delta : 1.0;
    } else {
      const double omega = std::sqrt(-disc);
      f = std::cos(omega);
      g = std::sin(omega) / omega;
    }
    const double et = std::exp(t);
    r00 = et * (f + p * g);
    r11 = et * (f - p * g);
    r01 = et * (b * g);
    r10 = et * (c * g);
  }
  out[0] = static_cast<R>(r00);
  out[1] = static_cast<R>(r10);
  out[2] = static_cast<R>(r01);
  out[3] = static_cast<R>(r11);
  return true;
}

}  // namespace detexp
