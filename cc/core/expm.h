// The matrix exponential of one matrix on the CPU, its Fréchet derivative and the adjoint (expm's
// backward): the CPU driver of the algorithm every backend shares — the degree and scaling of
// expm_select.h, the chain of expm_chain.h over the schemes of expm_schemes.h — with Eigen
// matrices as its storage and products (expm_matrix_ops.h), Eigen's GEMV for the ℓ and
// estimator products, and expm_pade_solve.h for the Padé denominator. Real 2×2 matrices take the
// closed form of expm_2x2.h.
//
// Storage: column-major n×n buffers. Every function here commutes with transposition
// (expm(A^T) = expm(A)^T, L(A^T, E^T) = L(A, E)^T), so row-major callers may pass their slices
// as they are; see cc/core/small_lu.h. Sizes of cpu_plan.h's kExpmFixedSizes run with fixed-size
// Eigen matrices (see mat_mul).
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>

#include "avx512.h"
#include "cpu_plan.h"
#include "entry_points.h"
#include "expm_2x2.h"
#include "expm_chain.h"
#include "expm_matrix_ops.h"
#include "expm_norm_estimate.h"
#include "expm_pade_solve.h"
#include "expm_triangular.h"
#include "lu.h"

namespace detexp {

// The n×n identity as a constant array (column-major), for fused sums at fixed sizes.
template <class T, int N>
struct ExpmUnitMatrix {
  alignas(64) T v[N * N];
  constexpr ExpmUnitMatrix() : v() {
    for (int i = 0; i < N; ++i) v[i * (N + 1)] = T(1);
  }
  constexpr const T* data() const { return v; }
};
template <class T, int N>
inline constexpr ExpmUnitMatrix<T, N> kExpmUnitMatrix{};

// The backend of expm_select.h and expm_chain.h for one matrix: ExpmSlot-indexed Eigen matrices.
template <class Mat>
class CpuExpm {
 public:
  using T = typename Mat::Scalar;
  using R = real_t<T>;
  static constexpr int N = Mat::RowsAtCompileTime, MaxN = Mat::MaxRowsAtCompileTime;

  CpuExpm(const T* a, int n) : n_(n) {
    slot_[kExpmSlotX] = Eigen::Map<const Mat>(a, size(), size());
    kind_ = triangular_kind(SerialTeam(), size(), a);
  }
  Mat& slot(int s) { return slot_[s]; }
  void set_squarings(int s) { s_ = s; }

  // ---- the selection's requests ----
  R power_norm(int p, bool taylor) {
    form_power(p, taylor);
    return norm1(slot_[expm_power_slot(taylor, p)]);
  }
  void form_power(int p, bool taylor) {
    if (p == 1) return;
    const ExpmPowerFactors f = expm_power_factors(p);
    mat_mul(slot_[expm_power_slot(taylor, p)], slot_[expm_power_slot(taylor, f.a)], slot_[expm_power_slot(taylor, f.b)]);
  }

  R estimate(int p, int q) {
    const Mat& x = slot_[expm_power_slot(false, p)];
    const Mat& y = slot_[expm_power_slot(false, q)];
    Vec t(size());
    std::vector<T> tv(4 * static_cast<size_t>(size()));
    return norm1_estimate(
        SerialTeam(), size(),
        [&](bool adjoint, const T* in, T* out) {
          const Eigen::Map<const Vec> v(in, size());
          Eigen::Map<Vec> w(out, size());
          if (adjoint) {
            t.noalias() = x.adjoint() * v;
            w.noalias() = y.adjoint() * t;
          } else {
            t.noalias() = y * v;
            w.noalias() = x * t;
          }
        },
        tv.data());
  }

  // B = 2^e |A|^T explicitly: Eigen's GEMV reads columns (at fixed sizes unrolled lazy products).
  int ell(R a1, int m, int shift) {
    EllSearch<R> es;
    int b_exponent = 0;
    const int early = es.start(a1, expm_ell_order_of(m), expm_coef::inv_abs_c(m), shift, &b_exponent);
    if (early >= 0) return early;
    const RealMat b = slot_[kExpmSlotX].cwiseAbs().transpose() * std::ldexp(R(1), b_exponent);
    RealVec v(size()), w(size());
    return ell_products(
        SerialTeam(), size(), es,
        [&](const R* in, R* out) {
          const Eigen::Map<const RealVec> vin(in, size());
          Eigen::Map<RealVec> wout(out, size());
          if constexpr (N != Eigen::Dynamic) {
            wout = b.lazyProduct(vin);
          } else {
            wout.noalias() = b * vin;
          }
        },
        v.data(), w.data());
  }

  // ---- the chain's primitives ----
  void product(int c, int a, int b, bool accumulate) { mat_mul(slot_[c], slot_[a], slot_[b], accumulate); }

  // Terms in order, the identity last, in blocks that stay in L1 (one pass per term over the
  // whole matrix was a fifth of a float32 T_18 forward at n = 32, perf).
  [[gnu::always_inline]] void combine(int dst, int terms, const int* slot, const double* coef, double identity) {
    Mat& o = slot_[dst];
    o.resize(size(), size());
    if constexpr (N != Eigen::Dynamic) {
      // One fused pass (the same sums in the same order as term by term), the identity added as
      // the last term from a constant unit matrix: a scalar pass over the diagonal after the
      // vector stores stalled on store-to-load forwarding (a third of this function at n = 4,
      // perf). Its zeros change nothing off the diagonal but the sign of a zero sum (+0).
      const auto term = [&](int t) { return T(R(coef[t])) * slot_[slot[t]]; };
      const auto eye = T(R(identity)) * Eigen::Map<const Mat>(kExpmUnitMatrix<T, N>.data());
      if (identity != 0.0) {
        switch (terms) {
          case 0: o = eye; break;
          case 1: o = term(0) + eye; break;
          case 2: o = term(0) + term(1) + eye; break;
          case 3: o = term(0) + term(1) + term(2) + eye; break;
          case 4: o = term(0) + term(1) + term(2) + term(3) + eye; break;
          default:
            o = term(0) + term(1) + term(2) + term(3) + term(4);
            for (int t = 5; t < terms; ++t) o += term(t);
            o += eye;
        }
        return;
      }
      switch (terms) {
        case 0: o.setZero(); break;
        case 1: o = term(0); break;
        case 2: o = term(0) + term(1); break;
        case 3: o = term(0) + term(1) + term(2); break;
        case 4: o = term(0) + term(1) + term(2) + term(3); break;
        default:
          o = term(0) + term(1) + term(2) + term(3) + term(4);
          for (int t = 5; t < terms; ++t) o += term(t);
      }
      return;
    } else {
      const Eigen::Index size = o.size();
      constexpr Eigen::Index kBlock = 512;
      T* out = o.data();
      for (Eigen::Index i0 = 0; i0 < size; i0 += kBlock) {
        const Eigen::Index len = std::min(kBlock, size - i0);
        T* q = out + i0;
        if (terms == 0) std::fill(q, q + len, T(0));
        for (int t = 0; t < terms; ++t) {
          const T* p = slot_[slot[t]].data() + i0;
          const T ct = T(R(coef[t]));
          if (t == 0) {
            for (Eigen::Index k = 0; k < len; ++k) q[k] = ct * p[k];
          } else {
            for (Eigen::Index k = 0; k < len; ++k) q[k] += ct * p[k];
          }
        }
      }
    }
    if (identity != 0.0) o.diagonal().array() += T(R(identity));
  }

  void scale_squarings(int s, int p) { ldexp_inplace(slot_[s], -p * s_); }
  void lu_factor(int q) { solver_.factor(slot_[q], kind_); }
  void lu_solve(int, int b, int x) { solver_.solve_into(slot_[b], slot_[x]); }
  void fix_triangular(int r, int e, bool offdiag) {
    if (kind_ != 0) detexp::fix_triangular(SerialTeam(), size(), slot_[r].data(), slot_[kExpmSlotX].data(), kind_, e, offdiag);
  }
  bool square_next(int j) const { return j <= s_; }
  bool square_r(int j, bool want_r) const { return want_r || j < s_; }

 private:
  using Vec = Eigen::Matrix<T, N, 1, Eigen::ColMajor, MaxN, 1>;
  using RealVec = Eigen::Matrix<R, N, 1, Eigen::ColMajor, MaxN, 1>;
  using RealMat = Eigen::Matrix<R, N, N, Eigen::ColMajor, MaxN, MaxN>;

  // The size, a compile-time constant at fixed sizes (the shared loops over n unroll).
  int size() const {
    if constexpr (N != Eigen::Dynamic) return N;
    return n_;
  }
  const int n_;
  int kind_ = 0;
  int s_ = 0;
  Mat slot_[kExpmFrechetSlots];
  PadeSolver<Mat> solver_;
};

// expm_run_chain with the scheme of degree M as a compile-time constant: its products unrolled,
// so that the table's slots, coefficients and branches fold away. The same calls in the same
// order as expm_run_chain: the same bits.
template <int M, class Be, std::size_t... K>
void expm_run_chain_unrolled(Be& be, const ExpmChoice& c, bool frechet, bool want_r, std::index_sequence<K...>) {
  constexpr const ExpmScheme& sc = ExpmStaticScheme<M>::value;
  const unsigned formed = expm_formed_powers(c, sc);
  expm_scale(be, sc, formed, frechet);
  (expm_evaluate_product(be, sc.product[K], static_cast<int>(K), formed, frechet), ...);
  expm_evaluate_result(be, sc, frechet);
  expm_square(be, frechet, want_r);
}

// expm_run_chain for the CPU backend: unrolled per degree at the sizes whose products unroll
// (cpu_plan.h's kExpmFixedMax), from the table otherwise.
template <class Be>
void cpu_expm_chain(Be& be, const ExpmChoice& c, bool frechet, bool want_r) {
  if constexpr (Be::N != Eigen::Dynamic && Be::N <= cpu_plan::kExpmFixedMax) {
    using R = typename Be::R;
    const auto unrolled = [&](auto degree) {
      constexpr int m = decltype(degree)::value;
      expm_run_chain_unrolled<m>(be, c, frechet, want_r,
                                 std::make_index_sequence<ExpmStaticScheme<m>::value.products>());
    };
    // The degrees expm_policy gives n <= 8: the precision's Padé table (T_18 from n = 9 only).
    static_assert(cpu_plan::kExpmFixedMax < kExpmTaylorMinN);
    switch (c.m) {
      case 3: return unrolled(std::integral_constant<int, 3>());
      case 5: return unrolled(std::integral_constant<int, 5>());
      case 7: return unrolled(std::integral_constant<int, 7>());
    }
    if constexpr (ExpmTable<R>::kCount == 5) {
      if (c.m == 9) return unrolled(std::integral_constant<int, 9>());
      if (c.m == 13) return unrolled(std::integral_constant<int, 13>());
    }
  }
  expm_run_chain(be, c, frechet, want_r);
}

template <class T>
void fill_nan(T* out, index_t count) {
  using R = real_t<T>;
  const T nan = make_scalar<T>(quiet_nan<R>(), is_complex<T>::value ? quiet_nan<R>() : R(0));
  std::fill(out, out + count, nan);
}

// Whether code is one the selection can produce for (T, n) (expm_policy): Padé codes where Padé
// alone runs; the Taylor degree and the lower Padé degrees where T_18 is the top.
template <class T>
bool expm_choice_runs_here(int n, int code) {
  using R = real_t<T>;
  if (code == kExpmChoiceNone) return false;
  const bool taylor = expm_policy<T>(n).taylor;
  if (expm_choice_is_taylor<R>(code)) return taylor;
  return !taylor || expm_degree_kind<ExpmTable<R>>(expm_choice_degree(code)) == ExpmDegreeKind::kLower;
}

template <int N, int MaxN, class T>
void expm_sized(const T* a, int n, T* out, int* choice) {
  using Mat = ExpmMat<N, MaxN, T>;
  const index_t nn = static_cast<index_t>(n) * n;
  if (!all_finite(a, nn)) return fill_nan(out, nn);
  CpuExpm<Mat> be(a, n);
  const ExpmChoice c = expm_select<T>(expm_policy<T>(n), be);
  if (choice != nullptr) *choice = expm_choice_code(c.m, c.s);
  be.set_squarings(c.s);
  cpu_expm_chain(be, c, false, true);
  Eigen::Map<Mat>(out, n, n) = be.slot(expm_r_slot(c.s));
}

// (exp(A), L(A, E)) when adjoint is false; L(A^H, E) with the degree and scaling chosen for A
// (the exact adjoint of E ↦ L(A, E) as computed) when adjoint is true. r_out may be null.
// choice: expm's (m, s) for A (expm_choice_code), or kExpmChoiceNone to select them here (also
// for a valid code that this size and type cannot produce: the other family's).
template <int N, int MaxN, class T>
void expm_frechet_sized(const T* a, const T* e, int n, bool adjoint, int choice, T* r_out, T* l_out) {
  using Mat = ExpmMat<N, MaxN, T>;
  const index_t nn = static_cast<index_t>(n) * n;
  if (!all_finite(a, nn) || !all_finite(e, nn)) {
    if (r_out != nullptr) {
      if (all_finite(a, nn)) {
        expm_sized<N, MaxN, T>(a, n, r_out, nullptr);
      } else {
        fill_nan(r_out, nn);
      }
    }
    return fill_nan(l_out, nn);
  }
  CpuExpm<Mat> be(a, n);
  const ExpmChoice c = expm_choice_runs_here<T>(n, choice)
                           ? expm_restore(be, expm_choice_degree(choice), expm_choice_squarings(choice))
                           : expm_select<T>(expm_policy<T>(n), be);
  // The adjoint by L(A^H, G) = L(A, G^H)^H: two transposes (of G and of the result) instead of
  // one per power.
  if (adjoint) {
    be.slot(kExpmSlotDX) = Eigen::Map<const Mat>(e, n, n).adjoint();
  } else {
    be.slot(kExpmSlotDX) = Eigen::Map<const Mat>(e, n, n);
  }
  be.set_squarings(c.s);
  cpu_expm_chain(be, c, true, r_out != nullptr);
  if (r_out != nullptr) Eigen::Map<Mat>(r_out, n, n) = be.slot(expm_r_slot(c.s));
  if (adjoint) {
    Eigen::Map<Mat>(l_out, n, n) = be.slot(expm_l_slot(c.s)).adjoint();
  } else {
    Eigen::Map<Mat>(l_out, n, n) = be.slot(expm_l_slot(c.s));
  }
}

template <int N, int MaxN>
struct ExpmSize {
  static constexpr int kN = N, kMax = MaxN;
};

// Calls f(ExpmSize<N, MaxN>) for the instantiation that serves n (n >= 2): the fixed sizes of
// cpu_plan::kExpmFixedSizes, else run-time n.
template <class F>
void dispatch_expm_size(int n, F&& f) {
  switch (n) {
    case 2: return f(ExpmSize<2, 2>());
    case 3: return f(ExpmSize<3, 3>());
    case 4: return f(ExpmSize<4, 4>());
    case 5: return f(ExpmSize<5, 5>());
    case 6: return f(ExpmSize<6, 6>());
    case 7: return f(ExpmSize<7, 7>());
    case 8: return f(ExpmSize<8, 8>());
    case 16: return f(ExpmSize<16, 16>());
    default: return f(ExpmSize<Eigen::Dynamic, Eigen::Dynamic>());
  }
}

// out := exp(A), n×n column-major. NaN or Inf anywhere in A gives an all-NaN result. Real 2×2
// matrices take the closed form of expm_2x2.h (no squarings); everything else scaling and squaring.
// choice (may be null): the (m, s) chosen, expm_choice_code, or kExpmChoiceNone.
template <class T>
void expm_matrix(const T* a, int n, T* out, int* choice) {
  DETEXP_USE_AVX512(expm_matrix(a, n, out, choice));
  if (choice != nullptr) *choice = kExpmChoiceNone;
  if (n <= 0) return;
  if (n == 1) {
    out[0] = all_finite(a, 1) ? T(std::exp(a[0])) : make_scalar<T>(quiet_nan<real_t<T>>());
    return;
  }
  if constexpr (!is_complex<T>::value) {  // real 2×2: the closed form (expm_2x2.h), ~1 ulp
    if (n == 2 && all_finite(a, 4) && expm_2x2_real(a, out)) return;
  }
  dispatch_expm_size(n, [&](auto size) {
    using S = decltype(size);
    expm_sized<S::kN, S::kMax, T>(a, n, out, choice);
  });
}

// (r, l) := (exp(A), L(A, E)); r may be null. NaN/Inf in A or E gives NaN in l.
template <class T>
void expm_frechet_matrix(const T* a, const T* e, int n, T* r, T* l) {
  DETEXP_USE_AVX512(expm_frechet_matrix(a, e, n, r, l));
  if (n <= 0) return;
  if (n == 1) {  // exp is its own derivative
    const T x = T(std::exp(a[0]));
    if (r != nullptr) r[0] = all_finite(a, 1) ? x : make_scalar<T>(quiet_nan<real_t<T>>());
    l[0] = all_finite(a, 1) && all_finite(e, 1) ? x * e[0] : make_scalar<T>(quiet_nan<real_t<T>>());
    return;
  }
  dispatch_expm_size(n, [&](auto size) {
    using S = decltype(size);
    expm_frechet_sized<S::kN, S::kMax, T>(a, e, n, false, kExpmChoiceNone, r, l);
  });
}

// out := L(A^H, G), the gradient of Re tr(G^H exp(A)) with respect to A (TF's convention), for
// the degree and scaling expm_matrix uses for A: `choice` as expm_matrix returned it for A
// (skips the selection), or kExpmChoiceNone (selects them again, with the same result).
template <class T>
void expm_frechet_adjoint_matrix(const T* a, const T* g, int n, int choice, T* out) {
  DETEXP_USE_AVX512(expm_frechet_adjoint_matrix(a, g, n, choice, out));
  if (n <= 0) return;
  if (n == 1) {
    out[0] = all_finite(a, 1) && all_finite(g, 1) ? T(std::exp(conj_of(a[0]))) * g[0]
                                                  : make_scalar<T>(quiet_nan<real_t<T>>());
    return;
  }
  dispatch_expm_size(n, [&](auto size) {
    using S = decltype(size);
    expm_frechet_sized<S::kN, S::kMax, T>(a, g, n, true, choice, nullptr, out);
  });
}

}  // namespace detexp

// Compiled once per dtype in cc/core/instances/ (see lu.h).
#ifndef DETEXP_CORE_INSTANTIATE
#define DETEXP_EXPM_DECLARE(T, R) DETEXP_EXPM_ENTRY_POINTS(DETEXP_EXTERN_ENTRY_POINT, T, R)
DETEXP_CORE_FOR_EACH_DTYPE(DETEXP_EXPM_DECLARE)
#undef DETEXP_EXPM_DECLARE
#endif
