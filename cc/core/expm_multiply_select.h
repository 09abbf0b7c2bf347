// The parameters of the action of the matrix exponential, exp(tA) B, by the truncated Taylor
// method of Al-Mohy & Higham 2011 ("Computing the action of the matrix exponential, with an
// application to exponential integrators", SIAM J. Sci. Comput. 33(2), 488-511; AH2011 below):
// the degree m and the number of steps s per matrix (Code Fragment 3.1 with condition (3.13)), the
// choice code that the forward op hands to its backward, and the one decision that is ours: where
// s Taylor steps would cost more than forming the exponential, the dense route.
//
// Scalar code only (__host__ __device__): the chain (expm_multiply_chain.h) calls it on every
// backend, on the CPU, in the GPU's team kernels and on the host of its cuBLAS path.
#pragma once

#include <cmath>

#include "expm_multiply_theta.h"
#include "scalar.h"

namespace detexp {
namespace expm_multiply {

// AH2011 §3: m_max = 55, p_max = 8 (the largest p with p(p-1) <= m_max + 1), and ℓ = 2 columns in
// the block 1-norm estimates, whose cost 2ℓ p_max (p_max + 3) matrix-vector products sets (3.13).
constexpr int kMaxDegree = 55;
constexpr int kMaxPower = 8;
constexpr int kEstimateColumns = 2;

// Up to this n the norms ||Ã^p||_1, p = 2..p_max + 1, are exact (8 n×n products) instead of
// block estimates: at n = 64 the products cost about what the estimator's ~40 passes over Ã and
// its bookkeeping cost, and exact norms bound the estimates from above (the same or more steps).
// (The GPU's team kernels, which serve these sizes, so never need the host-side estimator.)
constexpr int kExactNormMaxN = 64;

// The choice code of a matrix, one int32 (the forward's hidden output, the backward's input):
// m + kStepUnit * s for the Taylor route, kChoiceDense for the dense route, kChoiceNone where
// nothing was chosen (NaN/Inf input, empty problems; the backward then selects again).
constexpr int kChoiceNone = -1;
constexpr int kStepUnit = 64;
constexpr int kChoiceDense = 63;
// A hard bound on s (loops stay bounded for any finite input): beyond it the dense route runs.
constexpr int kMaxSteps = 1 << 24;

DETEXP_HD int choice_code(int m, int s) { return m + kStepUnit * s; }
DETEXP_HD int choice_degree(int code) { return code % kStepUnit; }
DETEXP_HD int choice_steps(int code) { return code / kStepUnit; }
// A code the selection can produce (kChoiceNone included).
DETEXP_HD bool choice_valid(int code) {
  if (code == kChoiceNone || code == kChoiceDense) return true;
  if (code < 0) return false;
  const int m = choice_degree(code), s = choice_steps(code);
  return m >= 1 && m <= kMaxDegree && s >= 1 && s <= kMaxSteps;
}

// The dense route: exp(tA) by scaling and squaring (expm.h / the GPU's expm), then one product.
// Taken where m s k n^2 (the Taylor steps' multiply-adds) exceeds dense_ratio times
// kDenseProducts n^3 (about what a Padé 13 exponential with a few squarings costs): for large
// ||tA|| or many columns, forming exp(tA) is the cheaper way to exp(tA) B. It is also the loop
// bound: s <= dense_ratio kDenseProducts n / (m k). dense_ratio, how much more a multiply-add
// of a thin product n×n × n×k costs than one of a square GEMM, is the backend's (Ops::
// kDenseCostRatio, from its plan: cpu_plan.h).
constexpr double kDenseProducts = 12.0;

// Up to this many steps the backward keeps F at every step (s blocks of n×k); beyond, every
// ceil(sqrt(s))-th, recomputing a segment's steps when it gets there (2 sqrt(s) blocks, one more
// forward pass).
constexpr int kStoreAllSteps = 16;

DETEXP_HD int checkpoint_interval(int s) {
  if (s <= kStoreAllSteps) return 1;
  int c = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(s))));
  while (static_cast<long long>(c) * c < s) ++c;  // exact ceil(sqrt(s)) despite rounding
  return c;
}
// Checkpoint buffers the backward uses: one per segment plus the segment's recomputed steps.
DETEXP_HD int checkpoint_buffers(int s) {
  const int c = checkpoint_interval(s);
  return (s + c - 1) / c + c - 1;
}

// The most checkpoint buffers a backward can need on an n×n matrix with k columns: the dense rule
// bounds m s k by dense_ratio kDenseProducts n (m >= 1), and kMaxSteps bounds s (the workspace of
// the GPU backends, sized before the selection runs; the teams size it per matrix on the device).
// checkpoint_buffers(s) is s up to kStoreAllSteps and non-decreasing beyond (within one interval
// c = ceil(sqrt(s)) the count grows with s; where c steps up it goes from 2c - 1 to 2c), so the
// maximum over s <= s_max is taken at s_max or at kStoreAllSteps.
DETEXP_HD int checkpoint_capacity(int n, int k, double dense_ratio) {
  const double bound = dense_ratio * kDenseProducts * n / (k > 0 ? k : 1);
  const int s_max = bound < kMaxSteps ? static_cast<int>(bound) : kMaxSteps;
  const int stored = s_max < kStoreAllSteps ? s_max : kStoreAllSteps;
  const int beyond = s_max > kStoreAllSteps ? checkpoint_buffers(s_max) : 0;
  const int cap = stored > beyond ? stored : beyond;
  return cap > 1 ? cap : 1;
}

// min over m of m ceil(a / θ_m) (ties: the smallest m), for a = ||tÃ||_1 (the first branch of
// Code Fragment 3.1). s as a double: it may be astronomically large before the dense rule.
template <class R>
DETEXP_HD void plan_from_norm(double a, int* m_out, double* s_out) {
  double best = -1;
  for (int m = 1; m <= kMaxDegree; ++m) {
    const double s = std::ceil(a / expm_multiply_theta<R>(m));
    if (best < 0 || m * s < best) {
      best = m * s;
      *m_out = m;
      *s_out = s;
    }
  }
}

// AH2011 (3.13): whether ||tÃ||_1 is so small that no choice from the α_p can save the cost of
// estimating them, for k columns.
template <class R>
DETEXP_HD bool norm_suffices(double a, int k) {
  const double bound = 2.0 * kEstimateColumns * kMaxPower * (kMaxPower + 3) * expm_multiply_theta<R>(kMaxDegree) /
                       (static_cast<double>(k) * kMaxDegree);
  return a <= bound;
}

// The second branch of Code Fragment 3.1 (AH2011 eq. (3.11)): alpha[p] = max(d_p, d_{p+1}),
// d_p = ||(tÃ)^p||_1^(1/p), for p = 2..p_max; m from p(p-1) - 1 on. False where every α_p is NaN.
template <class R>
DETEXP_HD bool plan_from_alphas(const double* alpha, int* m_out, double* s_out) {
  double best = -1;
  for (int p = 2; p <= kMaxPower; ++p) {
    for (int m = p * (p - 1) - 1; m <= kMaxDegree; ++m) {
      const double s = std::ceil(alpha[p] / expm_multiply_theta<R>(m));
      if (!(s >= 0)) continue;
      if (best < 0 || m * s < best) {
        best = m * s;
        *m_out = m;
        *s_out = s > 1 ? s : 1;
      }
    }
  }
  return best >= 0;
}

// The code for (m, s) on an n×n matrix with k columns: Taylor, or dense where it costs less
// (dense_ratio, see kDenseProducts) or s is out of bounds.
DETEXP_HD int plan_code(int m, double s, int n, int k, double dense_ratio) {
  const double taylor = static_cast<double>(m) * s * k;
  if (!(s <= kMaxSteps) || taylor > dense_ratio * kDenseProducts * n) return kChoiceDense;
  return choice_code(m, static_cast<int>(s));
}

// d_p = |t| ||Ã^p||_1^(1/p) from norms[p] = ||Ã^p||_1, p = 2..p_max + 1, then α_p and the plan.
template <class R>
DETEXP_HD int plan_from_power_norms(const R* norms, double abs_t, int n, int k, double dense_ratio) {
  double d[kMaxPower + 2] = {};
  for (int p = 2; p <= kMaxPower + 1; ++p) {
    // An overflowed (inf) or NaN norm: no bound from this p (the NaN is skipped by the plan).
    const double np = static_cast<double>(norms[p]);
    d[p] = abs_t * std::pow(np, 1.0 / p);
    if (!(np < 1e300)) d[p] = NAN;
  }
  double alpha[kMaxPower + 1] = {};
  for (int p = 2; p <= kMaxPower; ++p) {
    const bool nan = d[p] != d[p] || d[p + 1] != d[p + 1];
    alpha[p] = nan ? NAN : (d[p] > d[p + 1] ? d[p] : d[p + 1]);
  }
  int m = 0;
  double s = 0;
  if (!plan_from_alphas<R>(alpha, &m, &s)) return kChoiceDense;
  return plan_code(m, s, n, k, dense_ratio);
}

}  // namespace expm_multiply
}  // namespace detexp
