// Partial-pivot LU for one small matrix, written once for the CPU and the GPU.
//
// Storage: the n×n matrix is read column-major, a[i + j*n]. TF tensors are row-major, so the
// kernels factor the transpose B = A^T. That is harmless: det(A^T) = det(A), and the inverse
// computed from the factors of A^T and written back column-major is A^{-1} row-major, because
// (A^T)^{-1} = (A^{-1})^T. The LU tensor the ops save is therefore an opaque, internal format.
//
// Factorization (LAPACK xGETF2, right-looking): P B = L U with L unit lower, U upper, stored
// together in a[]; perm[i] is the row of B that became row i of P B. A column whose remaining
// entries are all zero gets a zero pivot and no elimination, as in LAPACK, so a singular matrix
// yields an exact zero on U's diagonal and no NaN.
//
// N > 0 fixes the size at compile time (loops unroll, the matrix stays in registers); N = 0 uses
// the run-time n. Both instantiate the same code.
#pragma once

#include "log_scaled.h"
#include "scalar.h"

namespace detexp {

template <class T>
struct SlogdetValue {
  T sign;             // det / |det|: ±1 (real) or a unit complex number; 0 if singular
  real_t<T> logabsdet;  // log|det|; -inf if singular; NaN with sign NaN for non-finite input
};

// Returns the parity det(P) = ±1 of the row interchanges (counted as they happen, so callers
// that keep the matrix in registers need no pass over perm afterwards).
//
// kSelectSwap = true exchanges rows k and p by predicated selects over every row i > k instead of
// indexing with the run-time pivot p: O(n) more work per step, but with N fixed and the loops
// unrolled every index is a constant, so a GPU thread keeps a[] and perm[] in registers (an index
// known only at run time would send them to local memory). Both variants give identical results;
// the CPU unit test runs both.
template <int N, class T, bool kSelectSwap = false>
DETEXP_HD int lu_factor_small(T* a, int n_runtime, int* perm) {
  const int n = N > 0 ? N : n_runtime;
  int parity = 1;
  DETEXP_UNROLL
  for (int i = 0; i < n; ++i) perm[i] = i;
  DETEXP_UNROLL
  for (int k = 0; k < n; ++k) {
    int p = k;
    real_t<T> best = abs1(a[k + k * n]);
    DETEXP_UNROLL
    for (int i = k + 1; i < n; ++i) {
      const real_t<T> v = abs1(a[i + k * n]);
      const bool bigger = v > best;  // branch-free: random data would mispredict a branch
      best = bigger ? v : best;
      p = bigger ? i : p;
    }
    if constexpr (kSelectSwap) {
      if (p != k) parity = -parity;
      DETEXP_UNROLL
      for (int j = 0; j < n; ++j) {
        const T rk = a[k + j * n];
        T rp = rk;
        DETEXP_UNROLL
        for (int i = k + 1; i < n; ++i) {
          if (i == p) {
            rp = a[i + j * n];
            a[i + j * n] = rk;
          }
        }
        a[k + j * n] = rp;
      }
      const int pk = perm[k];
      int pp = pk;
      DETEXP_UNROLL
      for (int i = k + 1; i < n; ++i) {
        if (i == p) {
          pp = perm[i];
          perm[i] = pk;
        }
      }
      perm[k] = pp;
    } else if (p != k) {
      parity = -parity;
      for (int j = 0; j < n; ++j) {
        const T t = a[k + j * n];
        a[k + j * n] = a[p + j * n];
        a[p + j * n] = t;
      }
      const int t = perm[k];
      perm[k] = perm[p];
      perm[p] = t;
    }
    const T pivot = a[k + k * n];
    if (pivot == T(0)) continue;  // zero column below the diagonal: nothing to eliminate
    if (abs1(pivot) < reciprocal_limit<real_t<T>>()) {
      const T inv_pivot = T(1) / pivot;
      DETEXP_UNROLL
      for (int i = k + 1; i < n; ++i) a[i + k * n] *= inv_pivot;
    } else {
      for (int i = k + 1; i < n; ++i) a[i + k * n] /= pivot;
    }
    DETEXP_UNROLL
    for (int j = k + 1; j < n; ++j) {
      const T akj = a[k + j * n];
      DETEXP_UNROLL
      for (int i = k + 1; i < n; ++i) a[i + j * n] -= a[i + k * n] * akj;
    }
  }
  return parity;
}

// Parity of a permutation by cycle decomposition: sign = (-1)^(n - #cycles). O(n), no scratch
// beyond a visited bitmap held in the permutation itself (entries are restored).
DETEXP_HD int permutation_parity(int* perm, int n) {
  int parity = 1;
  for (int i = 0; i < n; ++i) {
    if (perm[i] < 0) continue;
    int len = 0;
    int j = i;
    while (perm[j] >= 0) {
      const int next = perm[j];
      perm[j] = -1 - next;  // mark visited
      j = next;
      ++len;
    }
    if ((len & 1) == 0) parity = -parity;
  }
  for (int i = 0; i < n; ++i) perm[i] = -1 - perm[i];
  return parity;
}

// sign and log|det| from U's diagonal, u_kk = diag[k * stride]: det(B) = det(P)^{-1} * prod_k u_kk,
// with det(P) = parity. `finite` is false when the input held Inf or NaN: the answer is then NaN,
// whatever the elimination produced (a NaN can be skipped by a zero pivot column).
template <int N, class T>
DETEXP_HD SlogdetValue<T> slogdet_from_diagonal(const T* diag, int stride, int parity, int n_runtime, bool finite) {
  using R = real_t<T>;
  const int n = N > 0 ? N : n_runtime;
  SlogdetValue<T> out;
  if (!finite) {
    out.sign = make_scalar<T>(quiet_nan<R>(), is_complex<T>::value ? quiet_nan<R>() : R(0));
    out.logabsdet = quiet_nan<R>();
    return out;
  }
  // A complex sign is the product of the unit numbers u_kk / |u_kk|, kept in double (complex64
  // too) and rounded once: in complex64 the running product drifted by a few ulps, 8.6e-6 in the
  // real part of a det of modulus 36 whose exact real part is 0 (NumPy's test_generalized_sq_cases).
  [[maybe_unused]] double sign_re = parity, sign_im = 0;
  [[maybe_unused]] bool negative = parity < 0;
  // log|det| = log(prod |u_kk|): one log per matrix, the product kept in range by moving powers
  // of two into an exponent (n logs cost more than the whole 4x4 elimination).
  R mantissa = 1;
  int exponent = 0;
  DETEXP_UNROLL
  for (int k = 0; k < n; ++k) {
    const T u = diag[k * stride];
    const R m = modulus(u);
    if (m == R(0)) {
      out.sign = T(0);
      out.logabsdet = -infinity<R>();
      return out;
    }
    if constexpr (is_complex<T>::value) {
      const double re = static_cast<double>(u.real()), im = static_cast<double>(u.imag());
      const double md = std::hypot(re, im);
      const double ur = re / md, ui = im / md;
      const double next_re = sign_re * ur - sign_im * ui;
      sign_im = sign_re * ui + sign_im * ur;
      sign_re = next_re;
    } else {
      if (u < 0) negative = !negative;
    }
    mantissa *= m;
    if (mantissa > R(0x1p60) || mantissa < R(0x1p-60)) {
      int e;
      mantissa = std::frexp(mantissa, &e);
      exponent += e;
    }
  }
  if constexpr (is_complex<T>::value) {
    // The running product of unit numbers drifts by O(n eps) from the unit circle.
    const double md = std::hypot(sign_re, sign_im);
    out.sign = make_scalar<T>(static_cast<R>(sign_re / md), static_cast<R>(sign_im / md));
  } else {
    out.sign = negative ? R(-1) : R(1);
  }
  out.logabsdet = static_cast<R>(log_scaled<ScalarLogOps>(static_cast<double>(mantissa), exponent));
  return out;
}

// The same from the column-major factors lu[] of slogdet_inplace.
template <int N, class T>
DETEXP_HD SlogdetValue<T> slogdet_from_parity(const T* lu, int parity, int n_runtime, bool finite) {
  const int n = N > 0 ? N : n_runtime;
  return slogdet_from_diagonal<N>(lu, n + 1, parity, n, finite);
}

// The same from the permutation vector (its parity by cycle decomposition).
template <class T>
DETEXP_HD SlogdetValue<T> slogdet_from_lu(const T* lu, int* perm, int n, bool finite) {
  if (!finite) return slogdet_from_parity<0>(lu, 1, n, false);
  return slogdet_from_parity<0>(lu, permutation_parity(perm, n), n, true);
}

// x := B^{-1} column by column from P B = L U: solve L y = P e_j, then U x = y.
// `inv` is n×n column-major; singular U gives Inf/NaN entries, as LAPACK's xGETRI would.
template <int N, class T>
DETEXP_HD void inverse_from_lu_small(const T* lu, const int* perm, int n_runtime, T* inv) {
  const int n = N > 0 ? N : n_runtime;
  DETEXP_UNROLL
  for (int j = 0; j < n; ++j) {
    T* x = inv + static_cast<index_t>(j) * n;
    DETEXP_UNROLL
    for (int i = 0; i < n; ++i) x[i] = perm[i] == j ? T(1) : T(0);
    DETEXP_UNROLL
    for (int k = 0; k < n; ++k) {
      const T xk = x[k];
      DETEXP_UNROLL
      for (int i = k + 1; i < n; ++i) x[i] -= lu[i + k * n] * xk;
    }
    DETEXP_UNROLL
    for (int k = n - 1; k >= 0; --k) {
      x[k] /= lu[k + k * n];
      const T xk = x[k];
      DETEXP_UNROLL
      for (int i = 0; i < k; ++i) x[i] -= lu[i + k * n] * xk;
    }
  }
}

// x - x over the real and imaginary parts: 0 for finite x, NaN for Inf or NaN.
template <class T>
DETEXP_HD real_t<T> zero_if_finite(T x) {
  return (real_part(x) - real_part(x)) + (imag_part(x) - imag_part(x));
}

// True when every entry is finite: a sum with a NaN term is NaN. Eight independent partial sums
// vectorise; one chain of sums or an AND of comparisons did not (GCC kept a scalar compare per
// entry: 17% of slogdet at n = 64, perf).
template <class T>
DETEXP_HD bool all_finite(const T* a, index_t count) {
  using R = real_t<T>;
  R part[8] = {};
  const index_t whole = count - count % 8;
  for (index_t i = 0; i < whole; i += 8) {
    DETEXP_UNROLL
    for (int t = 0; t < 8; ++t) part[t] += zero_if_finite(a[i + t]);
  }
  R total = 0;
  for (index_t i = whole; i < count; ++i) total += zero_if_finite(a[i]);
  for (int t = 0; t < 8; ++t) total += part[t];
  return total == R(0);
}

// True for a real matrix with ±Inf entries but no NaN: the input slogdet_with_infinities answers.
// (Complex input with Inf gives NaN, like NaN input: which of ±inf, NaN its elimination yields
// depends on how complex products of infinities are rounded, C99 Annex G on the host and plain
// formulas on the GPU, so there is no one answer to match.) Call it for non-finite input only.
template <class T>
DETEXP_HD bool infinities_without_nan(const T* a, index_t count) {
  if constexpr (is_complex<T>::value) {
    return false;
  } else {
    for (index_t i = 0; i < count; ++i) {
      if (a[i] != a[i]) return false;
    }
    return true;
  }
}

// sign and log|det| of a real matrix holding ±Inf but no NaN: the answer LAPACK's xGETF2 gives
// for A itself (rows interchanged, as NumPy and tf.linalg factor it), e.g. ±inf for a 5×5 with
// +inf in a corner and a finite nonzero minor. With infinite entries the order of the elimination
// decides between ±inf and NaN (inf - inf, 0 * inf), and the fast paths factor B = A^T (see the
// top of this file) in orders of their own; every path (lanes, unrolled, blocked, the GPU kernels)
// calls this one function instead, so they all agree. Rows are chosen by the first largest |a_ik|
// (a NaN that the elimination produces never wins, as in LAPACK's IxAMAX); multipliers are
// a_ik * (1 / a_kk) (a_ik / a_kk beyond reciprocal_limit); an exactly zero pivot makes the
// determinant 0 (LAPACK's info > 0; NumPy's sign 0, logabsdet -inf); otherwise a NaN on U's
// diagonal makes both outputs NaN.
//
// `a` is B = A^T column-major (i.e. A row-major), n×n; it is overwritten (transposed in place to
// A column-major, then factored by lu_factor_small). `perm` is scratch for n ints.
template <class T>
DETEXP_HD SlogdetValue<T> slogdet_with_infinities(T* a, int n, int* perm) {
  for (int j = 1; j < n; ++j) {
    for (int i = 0; i < j; ++i) {
      const T t = a[i + static_cast<index_t>(j) * n];
      a[i + static_cast<index_t>(j) * n] = a[j + static_cast<index_t>(i) * n];
      a[j + static_cast<index_t>(i) * n] = t;
    }
  }
  const int parity = lu_factor_small<0>(a, n, perm);
  SlogdetValue<T> v = slogdet_from_parity<0>(a, parity, n, true);
  if (v.logabsdet != v.logabsdet) v.sign = make_scalar<T>(quiet_nan<real_t<T>>());
  return v;
}

}  // namespace detexp
