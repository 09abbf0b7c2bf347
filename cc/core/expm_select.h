// The degree m and squarings s of the scaling-and-squaring exponential, chosen per matrix: one
// routine for every backend, which asks its backend for what it needs.
//
// Padé (Al-Mohy & Higham 2009, "A new scaling and squaring algorithm for the matrix exponential",
// Alg. 5.1): m ∈ {3, 5, 7, 9, 13} (single precision {3, 5, 7}) from d_k = ||A^k||_1^(1/k), exact
// norms of the powers the Padé evaluation needs anyway, upper bounds ||A^(j+k)|| <= ||A^j|| ||A^k||
// elsewhere, and for the top degree ||A^8||, ||A^10|| exactly up to kExpmExactPowerNormMaxN (two
// products cost less than an estimate) or by the Hager–Higham estimate beyond, as SciPy; s =
// max(0, ceil(log2(η/θ_m))) plus the ℓ correction of eq. (5.1) (expm_ell.h).
// Taylor top (single precision, n >= kExpmTaylorMinN): Padé 3, 5 where their tests pass on the bound
// max(d4, d6) <= ||A^2||^(1/2) (Padé keeps the last bits for small norms: on n = 32 float32
// matrices with ||A|| ~ 0.2, 6e-8 against a Taylor T_12 prototype's 5e-7), else Bader–Blanes–Casas'
// T_18 with s = ceil(log2(α/θ_18)), α = min(α_3, α_4), α_p = max(d_p, d_{p+1}) (AH2009 Theorem
// 4.2, valid for p(p-1) <= 19) from exact ||A||, ||A^2||, ||A^3|| and product bounds, sharpened by
// the exact ||A^4||, ||A^5|| where that saves squarings; no ℓ guard, as BBC 2019 (see taylor_top).
//
// Backend (the per-matrix drivers expm.h's CpuExpm and small_expm.h's TeamExpm answer at once; the
// GPU's batched driver replays this routine with the answers so far, ExpmReplay below):
//   R power_norm(int p, bool taylor)   X^p formed for p > 1 (by expm_power_factors, into
//                              expm_power_slot(taylor, p)); returns ||X^p||_1 (p = 1: ||A||_1)
//   R estimate(int p, int q)   a lower estimate of ||X^p X^q||_1 (expm_norm_estimate.h)
//   int ell(R a1, int m, int shift)   ℓ(2^shift A, m) of AH2009 eq. (5.1), a1 = ||A||_1
#pragma once

#include "expm_coefficients.h"
#include "expm_ell.h"
#include "expm_schemes.h"
#include "team.h"

namespace detexp {

// The precision policy: which family a matrix of type T and size n gets, and how its norms are
// taken — the same on every backend, so that every backend picks the same (m, s). The measurements
// are in docs/crossovers.md.
//   Single precision (float32, complex64) takes T_18 from n = 9: Padé 7's ℓ guard over-scales
//   dense matrices (complex64 n = 200..512 up to 8x SciPy's error), and T_18 is no faster than
//   Padé 7 below n = 9; double precision keeps Padé 13 (T_18 needs 2-3 more squarings there and
//   was 3-18x less exact against mpmath). [expm-taylor]
constexpr int kExpmTaylorMinN = 9;
//   ||A^8||, ||A^10|| exact up to n = 32: two products cost less than the Hager–Higham
//   estimator's ~24 matrix-vector products. [expm-exact-norms]
constexpr int kExpmExactPowerNormMaxN = 32;

struct ExpmPolicy {
  bool taylor;       // T_18 top (Padé 3, 5 below it), else the Padé table of the precision
  bool exact_norms;  // ||A^8||, ||A^10|| of the Padé top exactly, else estimated
};

template <class T>
DETEXP_HD constexpr ExpmPolicy expm_policy(int n) {
  return {ExpmTaylorTable<real_t<T>>::kCount > 0 && n >= kExpmTaylorMinN, n <= kExpmExactPowerNormMaxN};
}

// What the selection decided. formed: bit p set where X^p (unscaled) is in its basis slot.
struct ExpmChoice {
  int m = 0;
  int s = 0;
  bool powers_finite = true;  // the norms of the formed powers (else they are formed again from 2^-s A)
  unsigned formed = 0;
};

// Whether ||A^k||_1^(1/k) <= θ, as ||A^k||_1 <= θ^k (θ rounded to R first, as a comparison of the
// roots in R would; no libm root).
template <class R>
DETEXP_HD bool root_at_most(R norm_k, int k, double theta) {
  return static_cast<double>(norm_k) <= int_power(static_cast<double>(R(theta)), k);
}

// The tables' entries as compile-time constants (device code cannot index host arrays).
template <class R, int K>
constexpr double kPadeTheta = ExpmTable<R>::kTheta[K];
template <class R, int K>
constexpr int kPadeDegree = ExpmTable<R>::kDegree[K];

namespace select_detail {

// std::min and std::max, also on the device.
template <class R>
DETEXP_HD R min_of(R a, R b) {
  return b < a ? b : a;
}
template <class R>
DETEXP_HD R max_of(R a, R b) {
  return a < b ? b : a;
}

template <class Be>
DETEXP_HD auto power(Be& be, ExpmChoice& c, bool taylor, int p) {
  if (expm_power_slot(taylor, p) < kExpmSlotL) c.formed |= 1u << p;
  return be.power_norm(p, taylor);
}

// BBC 2019's T_18 top for single precision (see the file comment), given a1 = ||A||_1, n2 = ||A^2||_1.
// No ℓ guard: ℓ scales until |c_19| || |X|^19 ||_1 <= u ||X||_1, for T_18 in single precision a
// Perron root of |X| below ~3.5, barely above θ_18 = 3.01, while standard normal matrices have
// ρ(|A|) ~ 0.8 sqrt(n) ρ(A): squarings that only double the error (f2bca2a: 17-20x float32 SciPy's
// error with ℓ at n = 512, 1.0-1.1x without). Where the bounds cost squarings that the exact d3
// does not ask for (||A^2||^(1/2) >> d3: badly scaled or non-normal A), the exact ||A^4||, then
// ||A^5||: each squaring saved costs one product forward and three backward.
template <class R, class Be>
DETEXP_HD_CALL void taylor_top(Be& be, ExpmChoice& c, R a1, R n2) {
  constexpr double theta = ExpmTaylorTable<R>::kTheta[0];
  const auto squarings = [theta](R x) {
    return x > R(theta) ? static_cast<int>(std::ceil(std::log2(static_cast<double>(x) / theta))) : 0;
  };
  const R n3 = power(be, c, true, 3);
  const R d3 = std::cbrt(n3);
  // p = 3, 4: d4 <= min(||A^2||^2, ||A^3|| ||A||)^(1/4), d5 <= min(||A^4|| ||A||, ||A^2|| ||A^3||)^(1/5).
  R n4 = min_of(n2 * n2, n3 * a1), n5 = n2 * n3;
  const auto alpha = [&] {
    const R d4 = std::pow(n4, R(0.25));
    return min_of(max_of(d3, d4), max_of(d4, std::pow(min_of(n5, n4 * a1), R(0.2))));
  };
  c.powers_finite = std::isfinite(n2) && std::isfinite(n3);
  R eta = c.powers_finite ? alpha() : a1;
  if (c.powers_finite && squarings(eta) > squarings(d3)) {
    n4 = power(be, c, true, 4);
    eta = alpha();
    if (squarings(eta) > squarings(std::pow(n4, R(0.25)))) {
      n5 = power(be, c, true, 5);
      eta = alpha();
    }
  }
  if (!std::isfinite(eta)) eta = a1;
  constexpr int m = ExpmTaylorTable<R>::kDegree[0];
  c.m = m;
  constexpr int kMax = ExpmTable<R>::kMaxSquarings;
  const int s = squarings(eta);
  c.s = s < kMax ? s : kMax;
}

// The Padé table's top degree with squarings, given a1, n2, n4, n6 and n8 (-1: not formed).
template <class R, class Be>
DETEXP_HD_CALL void pade_top(Be& be, ExpmChoice& c, bool exact_norms, R a1, R n2, R n4, R n6, R n8) {
  using Tab = ExpmTable<R>;
  constexpr int top = Tab::kCount - 1;
  const int m = kPadeDegree<R, top>;
  const R theta = R(kPadeTheta<R, top>);
  c.powers_finite = std::isfinite(n6) && std::isfinite(n4) && std::isfinite(n2);
  R eta5 = a1;
  if (c.powers_finite) {
    R n10;
    if (exact_norms) {
      if (n8 < R(0)) n8 = power(be, c, false, 8);  // the top degree's evaluation does not use X^8
      n10 = power(be, c, false, 10);
    } else {
      if (n8 < R(0)) n8 = be.estimate(4, 4);
      n10 = be.estimate(4, 6);
    }
    const R d6 = std::pow(n6, R(1) / 6), d8 = std::pow(n8, R(0.125)), d10 = std::pow(n10, R(0.1));
    eta5 = min_of(max_of(d6, d8), max_of(d8, d10));
    if (!std::isfinite(eta5)) eta5 = a1;
  }
  int s = 0;
  if (eta5 > theta) s = static_cast<int>(std::ceil(std::log2(static_cast<double>(eta5) / theta)));
  s = s > 0 ? s : 0;
  s += be.ell(a1, m, -s);
  constexpr int kMax = Tab::kMaxSquarings;
  c.m = m;
  c.s = s < kMax ? s : kMax;
}

}  // namespace select_detail

// (m, s) for A (finite) by the policy's family; every X^p the choice evaluates is formed
// (c.formed) except Padé 5's X^4 on the Taylor path.
template <class T, class Be>
DETEXP_HD_CALL ExpmChoice expm_select(const ExpmPolicy& policy, Be& be) {
  using R = real_t<T>;
  using Tab = ExpmTable<R>;
  using select_detail::power;
  ExpmChoice c;
  const R a1 = be.power_norm(1, policy.taylor);
  const R n2 = power(be, c, policy.taylor, 2);
  if constexpr (ExpmTaylorTable<R>::kCount > 0) {
    if (policy.taylor) {
      const R d2 = std::sqrt(n2);
      if (d2 <= R(kPadeTheta<R, 0>) && be.ell(a1, kPadeDegree<R, 0>, 0) == 0) {
        c.m = kPadeDegree<R, 0>;
      } else if (d2 <= R(kPadeTheta<R, 1>) && be.ell(a1, kPadeDegree<R, 1>, 0) == 0) {
        c.m = kPadeDegree<R, 1>;
      } else {
        select_detail::taylor_top(be, c, a1, n2);
      }
      return c;
    }
  }
  // max(d4, d6) <= ||A^2||^(1/2)
  if (std::sqrt(n2) <= R(kPadeTheta<R, 0>) && be.ell(a1, kPadeDegree<R, 0>, 0) == 0) {
    c.m = kPadeDegree<R, 0>;
    return c;
  }
  const R n4 = power(be, c, false, 4);
  // max(d4, (||A^4|| ||A^2||)^(1/6)) <= θ_5
  if (root_at_most(n4, 4, kPadeTheta<R, 1>) && root_at_most(n4 * n2, 6, kPadeTheta<R, 1>) &&
      be.ell(a1, kPadeDegree<R, 1>, 0) == 0) {
    c.m = kPadeDegree<R, 1>;
    return c;
  }
  const R n6 = power(be, c, false, 6);
  R n8 = -1;
  if constexpr (Tab::kCount == 5) {
    if (root_at_most(n6, 6, kPadeTheta<R, 3>)) {  // d6 <= θ_9
      n8 = power(be, c, false, 8);
      // η_3 = max(d6, d8) <= θ_7, θ_9
      if (root_at_most(n6, 6, kPadeTheta<R, 2>) && root_at_most(n8, 8, kPadeTheta<R, 2>) &&
          be.ell(a1, kPadeDegree<R, 2>, 0) == 0) {
        c.m = kPadeDegree<R, 2>;
        return c;
      }
      if (root_at_most(n8, 8, kPadeTheta<R, 3>) && be.ell(a1, kPadeDegree<R, 3>, 0) == 0) {
        c.m = kPadeDegree<R, 3>;
        return c;
      }
    }
  }
  select_detail::pade_top(be, c, policy.exact_norms, a1, n2, n4, n6, n8);
  return c;
}

// The choice the selection made before (m, s from a code of expm_choice_code): the powers the
// degree's scheme evaluates, formed by the same products as the selection forms them, without the
// norm tests, ℓ and the ||A^8||, ||A^10|| work (the backward reuses the forward's choice). Their
// norms only matter with squarings (expm_formed_powers), so without squarings the backend forms
// them by form_power(p, taylor) (power_norm without the norm; CPU only).
template <class Be>
DETEXP_HD_CALL ExpmChoice expm_restore(Be& be, int m, int s) {
  ExpmChoice c;
  c.m = m;
  c.s = s;
  const ExpmScheme& sc = expm_scheme(m);
  for (int k = 0; k < sc.products; ++k) {
    const int p = sc.product[k].power;
    if (p == 0) continue;
    c.formed |= 1u << p;
    if (s == 0) {
      be.form_power(p, !sc.pade);
    } else {
      c.powers_finite = std::isfinite(be.power_norm(p, !sc.pade)) && c.powers_finite;
    }
  }
  return c;
}

// The selection as a resumable computation, for a driver that answers the requests of many
// matrices at once (the GPU's batched path, expm_blas_driver.h): expm_select runs again from the
// start with the answers so far (exact: R converts to double and back unchanged) and stops being
// meaningful at the first request without an answer, which it records; the driver answers it for
// every matrix that asked the same, and replays. The routine is short, so replaying it per round
// costs nothing next to the products it waits for.
enum class ExpmAsk : int { kNone = 0, kPower, kEstimate, kEll };

struct ExpmRequest {
  ExpmAsk ask = ExpmAsk::kNone;
  int p = 0, q = 0;  // kPower: X^p (taylor: the family's slots); kEstimate: ||X^p X^q||_1
  bool taylor = false;
  int m = 0, shift = 0;  // kEll: ℓ(2^shift A, m) with ||A||_1 = a1
  double a1 = 0;
};

// More than any path of expm_select asks (Padé float64: 12).
constexpr int kExpmReplayAnswersMax = 16;

template <class R>
class ExpmReplay {
 public:
  DETEXP_HD ExpmReplay(const double* answers, int count) : answers_(answers), count_(count) {}
  DETEXP_HD R power_norm(int p, bool taylor) {
    ExpmRequest q;
    q.ask = ExpmAsk::kPower;
    q.p = p;
    q.taylor = taylor;
    return next(q);
  }
  DETEXP_HD R estimate(int p, int q) {
    ExpmRequest r;
    r.ask = ExpmAsk::kEstimate;
    r.p = p;
    r.q = q;
    return next(r);
  }
  DETEXP_HD int ell(R a1, int m, int shift) {
    ExpmRequest q;
    q.ask = ExpmAsk::kEll;
    q.m = m;
    q.shift = shift;
    q.a1 = static_cast<double>(a1);
    return static_cast<int>(next(q));
  }
  // The first request without an answer (ask kNone: the selection is complete).
  DETEXP_HD const ExpmRequest& pending() const { return pending_; }

 private:
  DETEXP_HD R next(const ExpmRequest& q) {
    if (calls_ < count_) return static_cast<R>(answers_[calls_++]);
    if (calls_++ == count_) pending_ = q;
    return R(0);  // any value: the result is discarded
  }
  const double* answers_;
  int count_;
  int calls_ = 0;
  ExpmRequest pending_;
};

}  // namespace detexp
