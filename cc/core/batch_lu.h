// Batched LU, log-determinant and inverse-from-LU on the CPU with W matrices per SIMD register:
// lane l of every vector belongs to matrix l of a group (structure of arrays), so one AVX
// instruction advances W = 8 float32 or 4 float64 factorizations. Per matrix this does the same
// arithmetic as small_lu.h; vectorising across matrices instead of within one keeps every lane
// busy at small n, where a column is shorter than a register (n = 16 in float32: ~1.2k instead of
// ~11k instructions per factorization, callgrind).
//
// Pivoting without moving rows ("implicit" partial pivoting): rows stay where they are and a
// per-row mask marks those already chosen as pivots. Step k picks, per lane, the unused row p of
// largest |a[p, k]| (ties: the lowest row; LAPACK's rule up to the order of the rows), extracts it
// with a select chain, and eliminates column k from the other unused rows. Rows then hold their
// multipliers (columns < the step they were chosen at) and their U row (columns >= it), so the
// LAPACK-layout factors of small_lu.h are the rows in pick order, perm[i] = the row picked at step
// i; lu_factor_lanes extracts each row as it is picked. Same factors as xGETF2 up to ties, and
// the consumers (inverse_from_lu, the GPU kernels) read this layout.
//
// Real float32/float64 only; complex input and sizes above kLanesLuMax take the per-matrix path.
// GCC/Clang vector extensions plus AVX transposes (the build targets AVX, as TF's wheel does).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "avx512.h"
#include "cpu_plan.h"
#include "entry_points.h"
#include "lu.h"

namespace detexp {

// Up to cpu_plan's kLanesInverseMax / kLanesFactorMax the lane-parallel paths run (the working
// set, 2 n*n vectors, stays in L1); the factorization's implicit pivoting touches every row at
// every step and catches up with the per-matrix path sooner than the inverse's solves do.
constexpr int kLanesLuMax = cpu_plan::kLanesInverseMax;
constexpr int kLanesFactorMax = cpu_plan::kLanesFactorMax;

namespace lanes {

template <class R>
struct Pack;
template <>
struct Pack<float> {
  static constexpr int W = 8;
  typedef float V __attribute__((vector_size(32)));
};
template <>
struct Pack<double> {
  static constexpr int W = 4;
  typedef double V __attribute__((vector_size(32)));
};

// In-place transpose of the W×W block r[0..W) (row l = lane l of the result).
inline void transpose(Pack<float>::V* r) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(__m256(r[i]), __m256(r[i + 1]));
    t[i + 1] = _mm256_unpackhi_ps(__m256(r[i]), __m256(r[i + 1]));
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = Pack<float>::V(_mm256_permute2f128_ps(u[i], u[i + 4], 0x20));
    r[i + 4] = Pack<float>::V(_mm256_permute2f128_ps(u[i], u[i + 4], 0x31));
  }
}

inline void transpose(Pack<double>::V* r) {
  const __m256d t0 = _mm256_unpacklo_pd(__m256d(r[0]), __m256d(r[1]));
  const __m256d t1 = _mm256_unpackhi_pd(__m256d(r[0]), __m256d(r[1]));
  const __m256d t2 = _mm256_unpacklo_pd(__m256d(r[2]), __m256d(r[3]));
  const __m256d t3 = _mm256_unpackhi_pd(__m256d(r[2]), __m256d(r[3]));
  r[0] = Pack<double>::V(_mm256_permute2f128_pd(t0, t2, 0x20));
  r[1] = Pack<double>::V(_mm256_permute2f128_pd(t1, t3, 0x20));
  r[2] = Pack<double>::V(_mm256_permute2f128_pd(t0, t2, 0x31));
  r[3] = Pack<double>::V(_mm256_permute2f128_pd(t1, t3, 0x31));
}

// v[e][l] = src[l * stride + e] for e < count, l < W: W contiguous matrices into lanes.
template <class R>
void load_lanes(const R* src, index_t stride, int count, typename Pack<R>::V* v) {
  using V = typename Pack<R>::V;
  constexpr int W = Pack<R>::W;
  int e = 0;
  for (; e + W <= count; e += W) {
    V* r = v + e;
    for (int l = 0; l < W; ++l) __builtin_memcpy(&r[l], src + l * stride + e, sizeof(V));
    transpose(r);
  }
  for (; e < count; ++e) {
    for (int l = 0; l < W; ++l) v[e][l] = src[l * stride + e];
  }
}

// Asks for the next group's W matrices (count elements each, contiguous) while this one computes:
// the group's loads otherwise wait on memory at every cache line (batches are tens of MB). Past
// the last group this touches nothing: prefetches never fault.
template <class R>
inline void prefetch_next_group(const R* group_start, index_t count) {
  constexpr int W = Pack<R>::W;
  const char* next = reinterpret_cast<const char*>(group_start + W * count);
  const index_t bytes = W * count * static_cast<index_t>(sizeof(R));
  for (index_t b = 0; b < bytes; b += 64) __builtin_prefetch(next + b);
}

// dst[l * stride + e] = v[e][l]: the inverse of load_lanes (v is clobbered).
template <class R>
void store_lanes(typename Pack<R>::V* v, int count, index_t stride, R* dst) {
  using V = typename Pack<R>::V;
  constexpr int W = Pack<R>::W;
  int e = 0;
  for (; e + W <= count; e += W) {
    V* r = v + e;
    transpose(r);
    for (int l = 0; l < W; ++l) __builtin_memcpy(dst + l * stride + e, &r[l], sizeof(V));
  }
  for (; e < count; ++e) {
    for (int l = 0; l < W; ++l) dst[l * stride + e] = v[e][l];
  }
}

// Lane masks are vectors of all-ones / all-zeros bit patterns in the float domain, applied with
// and/andnot/or. (GCC folds _mm256_blendv_ps and vector ?: into "mask < 0" integer compares,
// which AVX1 lacks at 256 bits, and then scalarises every select: 4x slower at n = 16.)
inline Pack<float>::V as_mask(decltype(Pack<float>::V{} < Pack<float>::V{}) m) { return (Pack<float>::V)m; }
inline Pack<double>::V as_mask(decltype(Pack<double>::V{} < Pack<double>::V{}) m) { return (Pack<double>::V)m; }
inline Pack<float>::V select(Pack<float>::V m, Pack<float>::V t, Pack<float>::V f) {
  return (Pack<float>::V)_mm256_or_ps(_mm256_and_ps(__m256(m), __m256(t)), _mm256_andnot_ps(__m256(m), __m256(f)));
}
inline Pack<double>::V select(Pack<double>::V m, Pack<double>::V t, Pack<double>::V f) {
  return (Pack<double>::V)_mm256_or_pd(_mm256_and_pd(__m256d(m), __m256d(t)), _mm256_andnot_pd(__m256d(m), __m256d(f)));
}
inline Pack<float>::V mask_or(Pack<float>::V a, Pack<float>::V b) {
  return (Pack<float>::V)_mm256_or_ps(__m256(a), __m256(b));
}
inline Pack<double>::V mask_or(Pack<double>::V a, Pack<double>::V b) {
  return (Pack<double>::V)_mm256_or_pd(__m256d(a), __m256d(b));
}
inline Pack<float>::V mask_and(Pack<float>::V a, Pack<float>::V b) {
  return (Pack<float>::V)_mm256_and_ps(__m256(a), __m256(b));
}
inline Pack<double>::V mask_and(Pack<double>::V a, Pack<double>::V b) {
  return (Pack<double>::V)_mm256_and_pd(__m256d(a), __m256d(b));
}
inline Pack<float>::V mask_xor(Pack<float>::V a, Pack<float>::V b) {
  return (Pack<float>::V)_mm256_xor_ps(__m256(a), __m256(b));
}
inline Pack<double>::V mask_xor(Pack<double>::V a, Pack<double>::V b) {
  return (Pack<double>::V)_mm256_xor_pd(__m256d(a), __m256d(b));
}
inline bool any_lane(Pack<float>::V m) { return _mm256_movemask_ps(__m256(m)) != 0; }
inline bool any_lane(Pack<double>::V m) { return _mm256_movemask_pd(__m256d(m)) != 0; }
inline Pack<float>::V abs_of(Pack<float>::V a) {
  return (Pack<float>::V)_mm256_andnot_ps(_mm256_set1_ps(-0.f), __m256(a));
}
inline Pack<double>::V abs_of(Pack<double>::V a) {
  return (Pack<double>::V)_mm256_andnot_pd(_mm256_set1_pd(-0.0), __m256d(a));
}

// Implicit-pivoting LU of the W column-major matrices in a[] (see the top of the file).
// picked[k][l] = the row chosen at step k in lane l (as a float: exact for n < 2^24).
// Unless lapack is null it also receives the LAPACK-layout factors (column-major, row k = the row
// picked at step k), still lanes-parallel: step k extracts the pivot row whole, its multipliers
// (columns < k, final by then) along with the U part the elimination needs. That costs W n/2
// extra lane loads per step; gathering the n^2 entries per lane after the factorization cost as
// much as the factorization itself (perf, n = 16), and the result can leave with vector stores.
template <int N, class R>
void lu_factor_lanes(typename Pack<R>::V* a, int n_runtime, typename Pack<R>::V* picked,
                     typename Pack<R>::V* lapack = nullptr) {
  using V = typename Pack<R>::V;
  constexpr int W = Pack<R>::W;
  constexpr int kMax = N > 0 ? N : kLanesLuMax;
  const int n = N > 0 ? N : n_runtime;
  const V zero = V{} * 0, one = zero + 1, minus_one = zero - 1;
  V used[kMax], is_p[kMax], prow[kMax], mult[kMax];
  DETEXP_UNROLL
  for (int i = 0; i < n; ++i) used[i] = zero;
  DETEXP_UNROLL
  for (int k = 0; k < n; ++k) {
    const V* col = a + k * n;
    // Pivot: the first unused row of largest |a[i, k]|. NaN counts as 0 and used rows as -1, so
    // every lane picks some unused row (NaN input is answered with NaN by the caller anyway).
    V best = minus_one, p = zero;
    DETEXP_UNROLL
    for (int i = 0; i < n; ++i) {
      V v = abs_of(col[i]);
      v = select(as_mask(v == v), v, zero);
      v = select(used[i], minus_one, v);
      const V bigger = as_mask(v > best);
      best = select(bigger, v, best);
      p = select(bigger, zero + R(i), p);
    }
    picked[k] = p;
    DETEXP_UNROLL
    for (int i = 0; i < n; ++i) {
      is_p[i] = as_mask(p == R(i));
      used[i] = mask_or(used[i], is_p[i]);
    }
    // The pivot row's trailing part, u[k, j] for j >= k (and its multipliers, j < k, for
    // lapack). Small n: by masks over all n rows (exactly one is_p[i] is set per lane), n^3/2
    // and-or pairs in all; from n = 8 on, W scalar loads per column cost less (10-17% faster at
    // n = 12, 16, single-thread microbenchmark).
    const int j_first = lapack != nullptr ? 0 : k;
    if (n <= cpu_plan::kLanesMaskGatherMax) {
      DETEXP_UNROLL
      for (int j = j_first; j < n; ++j) {
        const V* cj = a + j * n;
        V r = zero;
        DETEXP_UNROLL
        for (int i = 0; i < n; ++i) r = mask_or(r, mask_and(is_p[i], cj[i]));
        if (j >= k) prow[j] = r;
        if (lapack != nullptr) lapack[k + j * n] = r;
      }
    } else {  // lane by lane
      int row[W];
      for (int l = 0; l < W; ++l) row[l] = static_cast<int>(p[l]);
      for (int j = j_first; j < n; ++j) {
        const V* cj = a + j * n;
        alignas(sizeof(V)) R r[W];
        for (int l = 0; l < W; ++l) r[l] = cj[row[l]][l];
        V v;
        __builtin_memcpy(&v, r, sizeof(V));
        if (j >= k) prow[j] = v;
        if (lapack != nullptr) lapack[k + j * n] = v;
      }
    }
    // A zero pivot means the unused part of the column is zero: no elimination (xGETF2). The
    // multipliers of used rows (and of a zero pivot) are 0, so the update below leaves those rows
    // unchanged: x - 0 * u = x while u is finite. Only an elimination that overflows makes u
    // Inf; the callers detect that from a non-finite result and redo the matrix on its own.
    const V nonzero = as_mask(prow[k] != zero);
    V* ck = a + k * n;
    if (any_lane(as_mask(abs_of(prow[k]) >= reciprocal_limit<R>()))) {  // see reciprocal_limit
      DETEXP_UNROLL
      for (int i = 0; i < n; ++i) mult[i] = select(used[i], zero, select(nonzero, ck[i] / prow[k], zero));
    } else {
      const V inv_pivot = select(nonzero, one / prow[k], zero);
      DETEXP_UNROLL
      for (int i = 0; i < n; ++i) mult[i] = select(used[i], zero, ck[i] * inv_pivot);
    }
    DETEXP_UNROLL
    for (int i = 0; i < n; ++i) ck[i] = select(used[i], ck[i], mult[i]);
    DETEXP_UNROLL
    for (int j = k + 1; j < n; ++j) {
      const V u = prow[j];
      V* cj = a + j * n;
      DETEXP_UNROLL
      for (int i = 0; i < n; ++i) cj[i] -= mult[i] * u;
    }
  }
}

// Where entry (i, j) of the inverse goes: x[i * row_stride + j * col_stride] (column-major:
// 1, n; row-major: n, 1).
struct Layout {
  int row_stride, col_stride;
};

// Columns j0 .. j0+J-1 of x := scale * B^{-1} (see inverse_from_lu_lanes) in dot-product form:
// each entry is accumulated in a register over k, and one load of an L or U entry serves J
// columns. (The axpy form loads and stores every entry of the column at every step, 3 memory
// accesses per multiply-add; those, not the arithmetic, bound it: 1.6-1.7x slower at n = 16.)
template <int J, class R>
inline void inverse_columns_lanes(const typename Pack<R>::V* lu, const typename Pack<R>::V* permf,
                                  typename Pack<R>::V scale, const typename Pack<R>::V* inv_diag, bool divide,
                                  int n, int j0, Layout out, typename Pack<R>::V* x) {
  using V = typename Pack<R>::V;
  const V zero = V{} * 0;
  V* c[J];
  for (int t = 0; t < J; ++t) c[t] = x + (j0 + t) * out.col_stride;
  const int rs = out.row_stride;
  for (int i = 0; i < n; ++i) {  // L y = P e_j scale: y_i = [perm_i = j] scale - sum_{k<i} l_ik y_k
    V acc[J];
    for (int t = 0; t < J; ++t) acc[t] = select(as_mask(permf[i] == R(j0 + t)), scale, zero);
    for (int k = 0; k < i; ++k) {
      const V l = lu[i + k * n];
      for (int t = 0; t < J; ++t) acc[t] -= l * c[t][k * rs];
    }
    for (int t = 0; t < J; ++t) c[t][i * rs] = acc[t];
  }
  for (int i = n - 1; i >= 0; --i) {  // U x = y: x_i = (y_i - sum_{k>i} u_ik x_k) / u_ii
    V acc[J];
    for (int t = 0; t < J; ++t) acc[t] = c[t][i * rs];
    for (int k = i + 1; k < n; ++k) {
      const V u = lu[i + k * n];
      for (int t = 0; t < J; ++t) acc[t] -= u * c[t][k * rs];
    }
    for (int t = 0; t < J; ++t) c[t][i * rs] = divide ? acc[t] / lu[i + i * n] : acc[t] * inv_diag[i];
  }
}

// The same for all n columns with n = N fixed at compile time (N <= 8): the fully unrolled axpy
// form keeps a column in registers, which beats the dot-product form at these sizes.
template <int N, class R>
void inverse_unrolled_lanes(const typename Pack<R>::V* lu, const typename Pack<R>::V* permf,
                            typename Pack<R>::V scale, const typename Pack<R>::V* inv_diag, bool divide, Layout out,
                            typename Pack<R>::V* x) {
  using V = typename Pack<R>::V;
  const V zero = V{} * 0;
  for (int j = 0; j < N; ++j) {
    V c[N];
    DETEXP_UNROLL
    for (int i = 0; i < N; ++i) c[i] = select(as_mask(permf[i] == R(j)), scale, zero);
    DETEXP_UNROLL
    for (int k = 0; k < N; ++k) {
      DETEXP_UNROLL
      for (int i = k + 1; i < N; ++i) c[i] -= lu[i + k * N] * c[k];
    }
    DETEXP_UNROLL
    for (int k = N - 1; k >= 0; --k) {
      c[k] = divide ? c[k] / lu[k + k * N] : c[k] * inv_diag[k];
      DETEXP_UNROLL
      for (int i = 0; i < k; ++i) c[i] -= lu[i + k * N] * c[k];
    }
    DETEXP_UNROLL
    for (int i = 0; i < N; ++i) x[i * out.row_stride + j * out.col_stride] = c[i];
  }
}

// x := scale * B^{-1}, laid out by `out`, for the W matrices whose LAPACK-layout factors are in
// lu[] (column-major) with permutations permf[i][l] = perm_l[i]: column j solves L y = P e_j
// scale, then U x = y.
template <int N, class R>
void inverse_from_lu_lanes(const typename Pack<R>::V* lu, const typename Pack<R>::V* permf,
                           typename Pack<R>::V scale, int n_runtime, Layout out, typename Pack<R>::V* x) {
  using V = typename Pack<R>::V;
  const int n = N > 0 ? N : n_runtime;
  const V one = V{} * 0 + 1;
  V inv_diag[N > 0 ? N : kLanesLuMax];
  bool divide = false;  // a diagonal entry with a subnormal reciprocal: see reciprocal_limit
  for (int k = 0; k < n; ++k) {
    inv_diag[k] = one / lu[k + k * n];
    divide |= any_lane(as_mask(abs_of(lu[k + k * n]) >= reciprocal_limit<R>()));
  }
  if constexpr (N > 0) {
    inverse_unrolled_lanes<N, R>(lu, permf, scale, inv_diag, divide, out, x);
  } else {
    // Eight columns at a time (8 accumulators and the shared entry fit the 16 registers).
    int j = 0;
    for (; j + 8 <= n; j += 8) inverse_columns_lanes<8, R>(lu, permf, scale, inv_diag, divide, n, j, out, x);
    if (j + 4 <= n) {
      inverse_columns_lanes<4, R>(lu, permf, scale, inv_diag, divide, n, j, out, x);
      j += 4;
    }
    switch (n - j) {
      case 3: return inverse_columns_lanes<3, R>(lu, permf, scale, inv_diag, divide, n, j, out, x);
      case 2: return inverse_columns_lanes<2, R>(lu, permf, scale, inv_diag, divide, n, j, out, x);
      case 1: return inverse_columns_lanes<1, R>(lu, permf, scale, inv_diag, divide, n, j, out, x);
      default: return;
    }
  }
}

// Lane l of the result = col[rows[l]][l]: one entry per lane from a per-lane row.
template <class R>
inline typename Pack<R>::V pick_lanes(const typename Pack<R>::V* col, typename Pack<R>::V rows) {
  typename Pack<R>::V r;
  for (int l = 0; l < Pack<R>::W; ++l) r[l] = col[static_cast<int>(rows[l])][l];
  return r;
}

template <class R>
struct alignas(32) GroupBuffers {
  typename Pack<R>::V a[kLanesLuMax * kLanesLuMax];
  typename Pack<R>::V b[kLanesLuMax * kLanesLuMax];
  typename Pack<R>::V perm[kLanesLuMax];
};

// One group of W matrices: sign/logabsdet, and the factors into lu/perm (LAPACK layout) unless
// lu is null (then only U's diagonal is read, n entries per lane instead of the n^2 write-out).
template <int N, class R>
void slogdet_group(const R* in, int n_runtime, R* lu, int* perm, R* sign, R* lad, GroupBuffers<R>& buf) {
  constexpr int W = Pack<R>::W;
  const int n = N > 0 ? N : n_runtime;
  const index_t nn = static_cast<index_t>(n) * n;
  using V = typename Pack<R>::V;
  load_lanes(in, nn, static_cast<int>(nn), buf.a);
  prefetch_next_group(in, nn);
  // Lanes whose input holds Inf or NaN (x - x != 0) answer NaN, whatever the elimination does.
  V finite = as_mask(buf.a[0] == buf.a[0]);
  for (index_t e = 0; e < nn; ++e) finite = mask_and(finite, as_mask(buf.a[e] - buf.a[e] == V{} * 0));
  const bool keep = lu != nullptr;
  lu_factor_lanes<N, R>(buf.a, n, buf.perm, keep ? buf.b : nullptr);
  // The sign of each lane's permutation, (-1)^(number of inversions), for all lanes at once (the
  // per-lane cycle walk of permutation_parity was a quarter of this function at n = 16, perf).
  V odd = V{} * 0;
  DETEXP_UNROLL
  for (int i = 0; i < n; ++i) {
    DETEXP_UNROLL
    for (int j = i + 1; j < n; ++j) odd = mask_xor(odd, as_mask(buf.perm[i] > buf.perm[j]));
  }
  // U's diagonal, lanes-parallel: u_kk sits in the row picked at step k (in buf.b already when
  // the factors are kept). Then the factors leave through vector stores.
  V diag[kLanesFactorMax];
  DETEXP_UNROLL
  for (int k = 0; k < n; ++k) diag[k] = keep ? buf.b[k + k * n] : pick_lanes<R>(buf.a + k * n, buf.perm[k]);
  if (keep) store_lanes(buf.b, static_cast<int>(nn), nn, lu);
  for (int l = 0; l < W; ++l) {
    int p[kLanesFactorMax];
    DETEXP_UNROLL
    for (int i = 0; i < n; ++i) p[i] = static_cast<int>(buf.perm[i][l]);
    if (keep) std::copy(p, p + n, perm + l * n);
    const bool lane_finite = finite[l] != R(0);  // all-ones bits: a NaN, not 0
    const int parity = odd[l] != R(0) ? -1 : 1;  // all-ones bits (a NaN) where odd
    const R* lane_diag = reinterpret_cast<const R*>(diag) + l;  // stride W
    SlogdetValue<R> v = slogdet_from_diagonal<0>(lane_diag, W, parity, n, lane_finite);
    if (lane_finite && !(v.logabsdet - v.logabsdet == R(0)) && v.sign != R(0)) {
      // The elimination overflowed: redo this matrix alone, with row swaps (see lu_factor_lanes).
      R scratch[kLanesFactorMax * kLanesFactorMax];
      R* f = keep ? lu + l * nn : scratch;
      std::copy(in + l * nn, in + (l + 1) * nn, f);
      v = slogdet_inplace(f, n, keep ? perm + l * n : p);
    }
    sign[l] = v.sign;
    lad[l] = v.logabsdet;
  }
}

// One group of W matrices: out_l = k_l * B_l^{-T} written row-major from the factors of B_l
// (transpose = true: the slogdet backward, see scaled_inverse_adjoint_from_lu), or B_l^{-1}
// column-major (transpose = false, k ignored).
template <int N, class R>
void inverse_group(const R* lu, const int* perm, const R* k, int n_runtime, bool transpose, R* out,
                   GroupBuffers<R>& buf) {
  using V = typename Pack<R>::V;
  constexpr int W = Pack<R>::W;
  const int n = N > 0 ? N : n_runtime;
  const index_t nn = static_cast<index_t>(n) * n;
  load_lanes(lu, nn, static_cast<int>(nn), buf.a);
  prefetch_next_group(lu, nn);
  for (int i = 0; i < n; ++i) {
    for (int l = 0; l < W; ++l) buf.perm[i][l] = static_cast<R>(perm[l * n + i]);
  }
  V scale = V{} * 0 + 1;
  if (transpose) {
    for (int l = 0; l < W; ++l) scale[l] = k[l];
  }
  // Row-major B^{-1} holds the transpose's entries in column-major order: out_l = k_l B_l^{-T}.
  const Layout layout = transpose ? Layout{n, 1} : Layout{1, n};
  inverse_from_lu_lanes<N, R>(buf.a, buf.perm, scale, n, layout, buf.b);
  store_lanes(buf.b, static_cast<int>(nn), nn, out);
}

}  // namespace lanes

// Runs group(N, i, buf) for i = 0, W, 2W, ... while a whole group of W matrices remains, with
// N = n fixed at compile time for n <= 8 (0 otherwise), when T is real and n <= max_n; returns
// the index of the first matrix left for the per-matrix path.
template <class T, class Group>
index_t for_each_lane_group(index_t count, int n, int max_n, Group&& group) {
  index_t i = 0;
  if constexpr (!is_complex<T>::value) {
    if (n > 0 && n <= max_n) {
      constexpr int W = lanes::Pack<T>::W;
      lanes::GroupBuffers<T> buf;
      with_fixed_size(n, [&](auto fixed) {
        for (; i + W <= count; i += W) group(fixed, i, buf);
      });
    }
  }
  return i;
}

// slogdet of `count` contiguous row-major n×n matrices (each factored as its transpose, see
// small_lu.h): sign[count], lad[count], and the factors lu[count, n, n], perm[count, n] unless lu
// and perm are null (a forward that no gradient will read).
template <class T>
void slogdet_batch(const T* in, index_t count, int n, T* lu, int* perm, T* sign, real_t<T>* lad) {
  DETEXP_USE_AVX512(slogdet_batch(in, count, n, lu, perm, sign, lad));
  const index_t nn = static_cast<index_t>(n) * n;
  const bool keep = lu != nullptr;
  index_t i = for_each_lane_group<T>(count, n, kLanesFactorMax, [&](auto fixed, index_t g, auto& buf) {
    lanes::slogdet_group<decltype(fixed)::value, T>(in + g * nn, n, keep ? lu + g * nn : nullptr,
                                                     keep ? perm + g * n : nullptr, sign + g, lad + g, buf);
  });
  if (i == count) return;
  std::vector<T> scratch(keep ? 0 : nn);
  std::vector<int> perm_scratch(keep ? 0 : n);
  for (; i < count; ++i) {
    T* f = keep ? lu + i * nn : scratch.data();
    std::copy(in + i * nn, in + (i + 1) * nn, f);
    const SlogdetValue<T> v = slogdet_inplace(f, n, keep ? perm + i * n : perm_scratch.data());
    sign[i] = v.sign;
    lad[i] = v.logabsdet;
  }
}

// out[i] = k[i] * A_i^{-H} (row-major) from the factors of slogdet_batch: the slogdet backward.
template <class T>
void scaled_inverse_adjoint_batch(const T* lu, const int* perm, const T* k, index_t count, int n, T* out) {
  DETEXP_USE_AVX512(scaled_inverse_adjoint_batch(lu, perm, k, count, n, out));
  const index_t nn = static_cast<index_t>(n) * n;
  index_t i = for_each_lane_group<T>(count, n, kLanesLuMax, [&](auto fixed, index_t g, auto& buf) {
    lanes::inverse_group<decltype(fixed)::value, T>(lu + g * nn, perm + g * n, k + g, n, true, out + g * nn, buf);
  });
  if (i == count) return;
  std::vector<T> scratch(nn);
  for (; i < count; ++i) {
    scaled_inverse_adjoint_from_lu(lu + i * nn, perm + i * n, n, k[i], scratch.data(), out + i * nn);
  }
}

// inv[i] = B_i^{-1} (column-major, i.e. A_i^{-1} row-major) from the factors of slogdet_batch.
// inv may be lu itself (the TF kernel reuses the factors' buffer), here and in
// scaled_inverse_adjoint_batch: every matrix's factors are read before its result is written.
template <class T>
void inverse_from_lu_batch(const T* lu, const int* perm, index_t count, int n, T* inv) {
  DETEXP_USE_AVX512(inverse_from_lu_batch(lu, perm, count, n, inv));
  const index_t nn = static_cast<index_t>(n) * n;
  index_t i = for_each_lane_group<T>(count, n, kLanesLuMax, [&](auto fixed, index_t g, auto& buf) {
    lanes::inverse_group<decltype(fixed)::value, T>(lu + g * nn, perm + g * n, nullptr, n, false, inv + g * nn, buf);
  });
  if (i == count) return;
  // n > kSmallLuMax works in `scratch` already; smaller n solves column by column out of lu, so
  // the result goes through `result` first.
  std::vector<T> scratch(n > kSmallLuMax ? nn : 0), result(n > kSmallLuMax ? 0 : nn);
  for (; i < count; ++i) {
    if (n > kSmallLuMax) {
      inverse_from_lu(lu + i * nn, perm + i * n, n, scratch.data(), inv + i * nn);
    } else {
      inverse_from_lu(lu + i * nn, perm + i * n, n, scratch.data(), result.data());
      std::copy(result.begin(), result.end(), inv + i * nn);
    }
  }
}

}  // namespace detexp

#ifndef DETEXP_CORE_INSTANTIATE
#define DETEXP_BATCH_LU_DECLARE(T, R) DETEXP_BATCH_LU_ENTRY_POINTS(DETEXP_EXTERN_ENTRY_POINT, T, R)
DETEXP_CORE_FOR_EACH_DTYPE(DETEXP_BATCH_LU_DECLARE)
#undef DETEXP_BATCH_LU_DECLARE
#endif
