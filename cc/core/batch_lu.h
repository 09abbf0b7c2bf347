// Batched LU, log-determinant and inverse-from-LU on the CPU with W matrices per SIMD register:
// lane l of every vector belongs to matrix l of a group (structure of arrays), so one AVX
// instruction advances W = 8 float32 or 4 float64 factorizations. Per matrix this does the same
// arithmetic as small_lu.h; vectorising across matrices instead of within one keeps every lane
// busy at small n, where a column is shorter than a register (n = 16 in float32: ~1.2k instead of
// ~11k instructions per factorization, callgrind).
//
// Small n pivot without moving rows ("implicit" partial pivoting): rows stay where they are and a
// per-row mask marks those already chosen as pivots. Step k picks, per lane, the unused row p of
// largest |a[p, k]| (ties: the lowest row; LAPACK's rule up to the order of the rows), extracts it
// with a select chain, and eliminates column k from the other unused rows. Rows then hold their
// multipliers (columns < the step they were chosen at) and their U row (columns >= it), so the
// LAPACK-layout factors of small_lu.h are the rows in pick order, perm[i] = the row picked at step
// i; lu_factor_lanes extracts each row as it is picked. From cpu_plan's kLanesSwappedMin the lanes
// interchange rows, each lane its own (swap_rows_lanes), in panels: xGETF2's factors bit for bit,
// in the same layout. The consumers (inverse_from_lu, the GPU kernels) read this layout.
//
// Real float32/float64 only; complex input and larger sizes take the per-matrix path.
// GCC/Clang vector extensions plus AVX transposes (the build targets AVX, as TF's wheel does).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "avx512.h"
#include "cpu_plan.h"
#include "entry_points.h"
#include "log_scaled.h"
#include "lu.h"

namespace detexp {

// Up to cpu_plan's kLanesFactorMax / kLanesInverseMax the lane-parallel paths run: implicit
// pivoting touches every row at every step but vectorises across matrices whatever n is, where the
// per-matrix paths lose time to pivot searches, row swaps and short columns. kLanesMax bounds the
// per-lane arrays.
constexpr int kLanesFactorMax = cpu_plan::kLanesFactorMax;
constexpr int kLanesInverseMax = cpu_plan::kLanesInverseMax;
constexpr int kLanesMax = kLanesFactorMax > kLanesInverseMax ? kLanesFactorMax : kLanesInverseMax;

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
// ~m & a: a where the mask is off, 0 where it is on.
inline Pack<float>::V mask_andnot(Pack<float>::V m, Pack<float>::V a) {
  return (Pack<float>::V)_mm256_andnot_ps(__m256(m), __m256(a));
}
inline Pack<double>::V mask_andnot(Pack<double>::V m, Pack<double>::V a) {
  return (Pack<double>::V)_mm256_andnot_pd(__m256d(m), __m256d(a));
}
inline Pack<float>::V mask_xor(Pack<float>::V a, Pack<float>::V b) {
  return (Pack<float>::V)_mm256_xor_ps(__m256(a), __m256(b));
}
inline Pack<double>::V mask_xor(Pack<double>::V a, Pack<double>::V b) {
  return (Pack<double>::V)_mm256_xor_pd(__m256d(a), __m256d(b));
}
// Lane l of the result = src[offset[l]].
inline Pack<float>::V gather_lanes(const float* src, const int* offset) {
  return (Pack<float>::V)_mm256_set_ps(src[offset[7]], src[offset[6]], src[offset[5]], src[offset[4]],
                                       src[offset[3]], src[offset[2]], src[offset[1]], src[offset[0]]);
}
inline Pack<double>::V gather_lanes(const double* src, const int* offset) {
  return (Pack<double>::V)_mm256_set_pd(src[offset[3]], src[offset[2]], src[offset[1]], src[offset[0]]);
}

// max(a, b) with the x86 rule: b where either is NaN.
inline Pack<float>::V max_of(Pack<float>::V a, Pack<float>::V b) {
  return (Pack<float>::V)_mm256_max_ps(__m256(a), __m256(b));
}
inline Pack<double>::V max_of(Pack<double>::V a, Pack<double>::V b) {
  return (Pack<double>::V)_mm256_max_pd(__m256d(a), __m256d(b));
}
inline bool any_lane(Pack<float>::V m) { return _mm256_movemask_ps(__m256(m)) != 0; }
inline bool any_lane(Pack<double>::V m) { return _mm256_movemask_pd(__m256d(m)) != 0; }
inline Pack<float>::V abs_of(Pack<float>::V a) {
  return (Pack<float>::V)_mm256_andnot_ps(_mm256_set1_ps(-0.f), __m256(a));
}
inline Pack<double>::V abs_of(Pack<double>::V a) {
  return (Pack<double>::V)_mm256_andnot_pd(_mm256_set1_pd(-0.0), __m256d(a));
}

// v[e][l] = src[l * stride + e] for e < count, l < W: W contiguous matrices into lanes. Unless
// finite is null it also receives the mask of the lanes whose entries are all finite (x - x = 0,
// not for Inf or NaN), checked while the transposed rows are in registers (a second pass over v
// cost 3-9% of a float64 factorization at n = 8..128).
template <class R>
void load_lanes(const R* src, index_t stride, int count, typename Pack<R>::V* v,
                typename Pack<R>::V* finite = nullptr) {
  using V = typename Pack<R>::V;
  constexpr int W = Pack<R>::W;
  const V zero = V{} * 0;
  V all_finite = as_mask(zero == zero);
  int e = 0;
  for (; e + W <= count; e += W) {
    V* r = v + e;
    for (int l = 0; l < W; ++l) __builtin_memcpy(&r[l], src + l * stride + e, sizeof(V));
    transpose(r);
    if (finite != nullptr) {
      for (int l = 0; l < W; ++l) all_finite = mask_and(all_finite, as_mask(r[l] - r[l] == zero));
    }
  }
  for (; e < count; ++e) {
    for (int l = 0; l < W; ++l) v[e][l] = src[l * stride + e];
    if (finite != nullptr) all_finite = mask_and(all_finite, as_mask(v[e] - v[e] == zero));
  }
  if (finite != nullptr) *finite = all_finite;
}

// Columns j0 <= j < j_end of a[] (n×n, column-major) minus mult u_j: a[i, j] -= mult[i] * u[j]
// for rows i0 <= i < n.
// Four columns per pass share each load of mult[i] (one pass per column loaded it for every entry
// and ran 8 instructions per update where this runs ~5, callgrind). Each entry gets the same
// single multiply and subtract either way.
template <int N, class R>
inline void eliminate_columns(typename Pack<R>::V* a, int n_runtime, int i0, int j0, int j_end,
                              const typename Pack<R>::V* mult, const typename Pack<R>::V* u) {
  using V = typename Pack<R>::V;
  const int n = N > 0 ? N : n_runtime;
  int j = j0;
  for (; j + 4 <= j_end; j += 4) {
    const V u0 = u[j], u1 = u[j + 1], u2 = u[j + 2], u3 = u[j + 3];
    V* c0 = a + j * n;
    V* c1 = c0 + n;
    V* c2 = c1 + n;
    V* c3 = c2 + n;
    DETEXP_UNROLL
    for (int i = i0; i < n; ++i) {
      const V m = mult[i];
      c0[i] -= m * u0;
      c1[i] -= m * u1;
      c2[i] -= m * u2;
      c3[i] -= m * u3;
    }
  }
  for (; j < j_end; ++j) {
    const V uj = u[j];
    V* cj = a + j * n;
    DETEXP_UNROLL
    for (int i = i0; i < n; ++i) cj[i] -= mult[i] * uj;
  }
}

// The pivot of column col per lane, as a row index: the first row i0 <= i < n of largest
// |col[i]|, skipping the rows whose `used` mask is set (used null: none). NaN counts as 0 (NaN
// input is answered with NaN by the callers anyway), and a used row's all-ones bits are a NaN that
// no comparison prefers, so every lane picks some row. The search of both eliminations.
template <int N, class R>
__attribute__((always_inline)) inline typename Pack<R>::V pivot_rows(const typename Pack<R>::V* col, int i0,
                                                                     int n_runtime,
                                                                     const typename Pack<R>::V* used) {
  using V = typename Pack<R>::V;
  const int n = N > 0 ? N : n_runtime;
  const V zero = V{} * 0, one = zero + 1;
  V best = zero - 1, p = zero, row = zero + R(i0);
  DETEXP_UNROLL
  for (int i = i0; i < n; ++i, row += one) {
    V v = max_of(abs_of(col[i]), zero);  // max(NaN, 0) = 0: the second operand wins on NaN
    if (used != nullptr) v = mask_or(v, used[i]);
    const V bigger = as_mask(v > best);
    best = max_of(v, best);
    p = select(bigger, row, p);
  }
  return p;
}

// Step k of lu_factor_lanes: picks the pivot rows, extracts them (prow[j] for k <= j < k1, and
// into lapack), forms the multipliers mult[] (column k) and eliminates columns k < j < k1.
// Forced inline: out of line, the one-step-at-a-time loop ran 4-6% slower at n = 12..20.
template <int N, class R>
__attribute__((always_inline)) inline void lu_step_lanes(typename Pack<R>::V* a, int n_runtime, int k, int k1,
                                                         typename Pack<R>::V* used, typename Pack<R>::V* is_p,
                                                         typename Pack<R>::V* prow, typename Pack<R>::V* mult,
                                                         typename Pack<R>::V* picked, typename Pack<R>::V* lapack) {
  using V = typename Pack<R>::V;
  constexpr int W = Pack<R>::W;
  const int n = N > 0 ? N : n_runtime;
  const V zero = V{} * 0, one = zero + 1;
  const V p = pivot_rows<N, R>(a + k * n, 0, n, used);  // the first unused row of largest |a[i, k]|
  picked[k] = p;
  // The pivot row's trailing part, u[k, j] for j >= k (and its multipliers, j < k, for
  // lapack). Small n: by masks over all n rows (exactly one is_p[i] is set per lane), n^3/2
  // and-or pairs in all; from n = 8 on, W scalar loads per column cost less (10-17% faster at
  // n = 12, 16, single-thread microbenchmark).
  const int j_first = lapack != nullptr ? 0 : k;
  if (N > 0 && N <= cpu_plan::kLanesMaskGatherMax) {  // (N = 0 means n > 8)
    DETEXP_UNROLL
    for (int i = 0; i < n; ++i) is_p[i] = as_mask(p == R(i));
    DETEXP_UNROLL
    for (int j = j_first; j < k1; ++j) {
      const V* cj = a + j * n;
      V r = zero;
      DETEXP_UNROLL
      for (int i = 0; i < n; ++i) r = mask_or(r, mask_and(is_p[i], cj[i]));
      if (j >= k) prow[j] = r;
      if (lapack != nullptr) lapack[k + j * n] = r;
    }
  } else {  // lane by lane
    int offset[W];  // of lane l's pivot entry within a column, in scalars
    for (int l = 0; l < W; ++l) offset[l] = static_cast<int>(p[l]) * W + l;
    for (int j = j_first; j < k1; ++j) {
      const V v = gather_lanes(reinterpret_cast<const R*>(a + j * n), offset);
      if (j >= k) prow[j] = v;
      if (lapack != nullptr) lapack[k + j * n] = v;
    }
  }
  // A zero pivot means the unused part of the column is zero: no elimination (xGETF2). The
  // multipliers of used rows (the pivot row now among them, and all rows of a zero pivot) are
  // 0, so the update below leaves those rows unchanged: x - 0 * u = x while u is finite. Only an
  // elimination that overflows makes u Inf; the callers detect that from a non-finite result
  // and redo the matrix on its own. Unused rows keep their multiplier in column k (L's entry).
  // One pass over the rows marks the pivot row used and forms the multipliers.
  const V nonzero = as_mask(prow[k] != zero);
  V* ck = a + k * n;
  const V inv_pivot = select(nonzero, one / prow[k], zero);
  const V huge = as_mask(abs_of(prow[k]) >= reciprocal_limit<R>());  // see reciprocal_limit
  if (any_lane(huge)) {
    // Only the lanes with such a pivot divide, as lu_factor_small does for one matrix: a lane's
    // result never depends on the other matrices of its group (batch invariance).
    DETEXP_UNROLL
    for (int i = 0; i < n; ++i) {
      used[i] = mask_or(used[i], as_mask(p == R(i)));
      mult[i] = select(used[i], zero, select(nonzero, select(huge, ck[i] / prow[k], ck[i] * inv_pivot), zero));
      ck[i] = select(used[i], ck[i], mult[i]);
    }
  } else {
    V row = zero;
    DETEXP_UNROLL
    for (int i = 0; i < n; ++i, row += one) {
      const V u = mask_or(used[i], as_mask(p == row));
      const V m = mask_andnot(u, ck[i] * inv_pivot);
      used[i] = u;
      mult[i] = m;
      ck[i] = mask_or(mask_and(u, ck[i]), m);
    }
  }
  eliminate_columns<N, R>(a, n, 0, k + 1, k1, mult, prow);
}

// Row k and row p_l of column c exchanged in lane l (offset[l] = p_l W + l, in scalars): the row
// interchange of partial pivoting, a different one per matrix. A gather, W scalar stores and one
// vector store (which comes last: where p_l = k the lane keeps its entry). W masked vector
// read-modify-writes instead of the scalar stores ran 12-20% slower (float32 n = 32..64).
template <class R>
inline void swap_rows_lanes(typename Pack<R>::V* c, int k, const int* offset) {
  using V = typename Pack<R>::V;
  constexpr int W = Pack<R>::W;
  R* s = reinterpret_cast<R*>(c);
  const V moved = gather_lanes(s, offset);
  const V old = c[k];
  for (int l = 0; l < W; ++l) s[offset[l]] = old[l];
  c[k] = moved;
}

// Step k of a panel k0 <= k < k1 of the factorization with row interchanges (lu_factor_lanes,
// n >= kLanesSwappedMin): rows < k hold the earlier steps' pivot rows in pick order. Picks per lane
// the first row i >= k of largest |a[i, k]| (LAPACK's rule; NaN counts as 0), records the original
// row (rowid) in picked[k] and its position in offset (see swap_rows_lanes), swaps it with row k in columns
// first_column <= j < k1 (later columns get the swap in update_trailing_swapped), and eliminates
// column k from rows k+1.. of the panel's columns. Per entry the arithmetic of lu_step_lanes.
template <class R>
__attribute__((always_inline)) inline void lu_panel_step_lanes(typename Pack<R>::V* a, int n, int k, int first_column,
                                                               int k1, typename Pack<R>::V* rowid,
                                                               typename Pack<R>::V* picked,
                                                               int* offset, typename Pack<R>::V* prow) {
  using V = typename Pack<R>::V;
  constexpr int W = Pack<R>::W;
  const V zero = V{} * 0, one = zero + 1;
  V* ck = a + k * n;
  const V p = pivot_rows<0, R>(ck, k, n, nullptr);
  for (int l = 0; l < W; ++l) offset[l] = static_cast<int>(p[l]) * W + l;
  picked[k] = gather_lanes(reinterpret_cast<const R*>(rowid), offset);
  swap_rows_lanes<R>(rowid, k, offset);
  for (int j = first_column; j < k1; ++j) swap_rows_lanes<R>(a + j * n, k, offset);
  // The multipliers, in column k below the pivot (as lu_step_lanes forms them; zero pivot: no
  // elimination, the multipliers are 0).
  const V pivot = ck[k];
  const V nonzero = as_mask(pivot != zero);
  const V inv_pivot = select(nonzero, one / pivot, zero);
  const V huge = as_mask(abs_of(pivot) >= reciprocal_limit<R>());  // see reciprocal_limit
  if (any_lane(huge)) {
    for (int i = k + 1; i < n; ++i) ck[i] = select(nonzero, select(huge, ck[i] / pivot, ck[i] * inv_pivot), zero);
  } else {
    for (int i = k + 1; i < n; ++i) ck[i] = ck[i] * inv_pivot;
  }
  for (int j = k + 1; j < k1; ++j) prow[j] = a[k + j * n];
  eliminate_columns<0, R>(a, n, k + 1, k + 1, k1, ck, prow);
}

// Columns k0 + B .. n-1 after the panel of steps k0 .. k0+B-1 (lu_panel_step_lanes; offset[t]:
// step k0 + t's pivot rows, see swap_rows_lanes). Per column: the panel's row interchanges in step order,
// then rows k0 + t become U's entries u_t (the entry less l_ts u_s for s < t, in order) and every
// row below loses l_it u_t for t in step order. Each entry gets the subtractions of the
// one-step-at-a-time elimination in the same order (the same bits), while the column passes
// through the registers once per panel instead of once per step. Eight rows at a time: eight
// independent chains of B dependent subtractions.
template <int B, class R>
void update_trailing_swapped(typename Pack<R>::V* a, int n, int k0, const int (*offset)[Pack<R>::W]) {
  using V = typename Pack<R>::V;
  const V* l = a + k0 * n;  // the panel's multipliers: l_it = l[t n + i]
  V l_ts[B][B];
  for (int t = 1; t < B; ++t) {
    for (int s = 0; s < t; ++s) l_ts[t][s] = l[s * n + k0 + t];
  }
  const int k1 = k0 + B;
  for (int j = k1; j < n; ++j) {
    V* c = a + j * n;
    for (int t = 0; t < B; ++t) swap_rows_lanes<R>(c, k0 + t, offset[t]);
    V u[B];
    DETEXP_UNROLL
    for (int t = 0; t < B; ++t) {
      V g = c[k0 + t];
      DETEXP_UNROLL
      for (int s = 0; s < t; ++s) g -= l_ts[t][s] * u[s];
      u[t] = g;
      c[k0 + t] = g;
    }
    constexpr int kRows = 8;
    int i = k1;
    for (; i + kRows <= n; i += kRows) {
      V acc[kRows];
      DETEXP_UNROLL
      for (int r = 0; r < kRows; ++r) acc[r] = c[i + r];
      DETEXP_UNROLL
      for (int t = 0; t < B; ++t) {
        DETEXP_UNROLL
        for (int r = 0; r < kRows; ++r) acc[r] -= l[t * n + i + r] * u[t];
      }
      DETEXP_UNROLL
      for (int r = 0; r < kRows; ++r) c[i + r] = acc[r];
    }
    for (; i < n; ++i) {
      V acc = c[i];
      DETEXP_UNROLL
      for (int t = 0; t < B; ++t) acc -= l[t * n + i] * u[t];
      c[i] = acc;
    }
  }
}

// The panel path of lu_factor_lanes (n >= kLanesSwappedMin), factors in LAPACK layout in a[]
// (multipliers swapped too only if with_multipliers). Out of line: inlined into lu_factor_lanes
// it slowed the one-step path (float32 n = 24: 650 -> 900 ns per matrix).
template <class R>
__attribute__((noinline)) void lu_factor_swapped_lanes(typename Pack<R>::V* a, int n, typename Pack<R>::V* picked,
                                                       bool with_multipliers) {
  using V = typename Pack<R>::V;
  constexpr int B = cpu_plan::kLanesPanel;
  constexpr int W = Pack<R>::W;
  V rowid[kLanesMax], prow[kLanesMax];
  for (int i = 0; i < n; ++i) rowid[i] = V{} * 0 + R(i);
  int offset[B][W];
  for (int k0 = 0; k0 < n; k0 += B) {
    const int k1 = std::min(n, k0 + B);
    const int first_column = with_multipliers ? 0 : k0;
    for (int k = k0; k < k1; ++k) {
      lu_panel_step_lanes<R>(a, n, k, first_column, k1, rowid, picked, offset[k - k0], prow);
    }
    if (k1 < n) update_trailing_swapped<B, R>(a, n, k0, offset);
  }
}

// LU of the W column-major matrices in a[] (see the top of the file); returns whether a[] holds
// the LAPACK-layout factors afterwards (the panel path) rather than lapack / the implicit layout.
// picked[k][l] = the row chosen at step k in lane l (as a float: exact for n < 2^24).
// Below kLanesSwappedMin, implicit pivoting one step at a time; unless lapack is null it also
// receives the LAPACK-layout factors (column-major, row k = the row picked at step k), still
// lanes-parallel: step k extracts the pivot row whole, its multipliers (columns < k, final by
// then) along with the U part. That costs W n/2 extra lane loads per step; gathering the n^2
// entries per lane after the factorization cost as much as the factorization itself (perf,
// n = 16), and the result can leave with vector stores.
// From kLanesSwappedMin, panels of B steps with row interchanges, a different one per lane
// (swap_rows_lanes): each step eliminates from the rows below it only (implicit pivoting updates
// every row, n^3/2 multiply-subtracts instead of n^3/3), and the columns beyond the panel get its
// swaps and updates in one pass (update_trailing_swapped): at n = 64 a group's 128 KB (float64)
// pass through the cache once per panel instead of once per step. The columns before the panel
// get its swaps only when the factors are wanted (lapack not null). Ties pick the first row in the
// swapped order, as LAPACK's xGETRF does.
template <int N, class R>
bool lu_factor_lanes(typename Pack<R>::V* a, int n_runtime, typename Pack<R>::V* picked,
                     typename Pack<R>::V* lapack = nullptr) {
  using V = typename Pack<R>::V;
  constexpr int kMax = N > 0 ? N : kLanesMax;
  const int n = N > 0 ? N : n_runtime;
  if (N == 0 && n >= cpu_plan::kLanesSwappedMin<R>) {
    lu_factor_swapped_lanes<R>(a, n, picked, lapack != nullptr);
    return true;
  }
  V used[kMax], is_p[kMax], prow[kMax], mult[kMax];
  DETEXP_UNROLL
  for (int i = 0; i < n; ++i) used[i] = V{} * 0;
  DETEXP_UNROLL
  for (int k = 0; k < n; ++k) lu_step_lanes<N, R>(a, n, k, n, used, is_p, prow, mult, picked, lapack);
  return false;
}

// Where entry (i, j) of the inverse goes: x[i * row_stride + j * col_stride] (column-major:
// 1, n; row-major: n, 1).
struct Layout {
  int row_stride, col_stride;
};

// x / u_kk per lane: x * (1 / u_kk), except in the lanes where 1 / u_kk is subnormal (see
// reciprocal_limit), which divide. `divide` is null when no lane of any k needs it, else
// divide[k] masks those lanes: each lane does what it would alone (batch invariance).
template <class V>
inline V divided(V x, V u_kk, V inv_u_kk, const V* divide, int k) {
  if (divide == nullptr) return x * inv_u_kk;
  return select(divide[k], x / u_kk, x * inv_u_kk);
}

// Columns j0 .. j0+J-1 of x := scale * B^{-1} (see inverse_from_lu_lanes) in dot-product form:
// each entry is accumulated in a register over k, and one load of an L or U entry serves J
// columns. (The axpy form loads and stores every entry of the column at every step, 3 memory
// accesses per multiply-add; those, not the arithmetic, bound it: 1.6-1.7x slower at n = 16.)
template <int J, class R>
inline void inverse_columns_lanes(const typename Pack<R>::V* lu, const typename Pack<R>::V* permf,
                                  typename Pack<R>::V scale, const typename Pack<R>::V* inv_diag,
                                  const typename Pack<R>::V* divide, int n, int j0, Layout out,
                                  typename Pack<R>::V* x) {
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
    for (int t = 0; t < J; ++t) c[t][i * rs] = divided(acc[t], lu[i + i * n], inv_diag[i], divide, i);
  }
}

// The same for all n columns with n = N fixed at compile time (N <= 8): the fully unrolled axpy
// form keeps a column in registers, which beats the dot-product form at these sizes.
template <int N, class R>
void inverse_unrolled_lanes(const typename Pack<R>::V* lu, const typename Pack<R>::V* permf,
                            typename Pack<R>::V scale, const typename Pack<R>::V* inv_diag,
                            const typename Pack<R>::V* divide, Layout out, typename Pack<R>::V* x) {
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
      c[k] = divided(c[k], lu[k + k * N], inv_diag[k], divide, k);
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
  V inv_diag[N > 0 ? N : kLanesMax], huge[N > 0 ? N : kLanesMax];
  bool any_huge = false;  // a diagonal entry with a subnormal reciprocal: see reciprocal_limit
  for (int k = 0; k < n; ++k) {
    inv_diag[k] = one / lu[k + k * n];
    huge[k] = as_mask(abs_of(lu[k + k * n]) >= reciprocal_limit<R>());
    any_huge |= any_lane(huge[k]);
  }
  const V* divide = any_huge ? huge : nullptr;
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

// The bit casts and select of log_scaled (log_scaled.h) on a vector of float64 lanes.
struct LogOps {
  using D = Pack<double>::V;
  typedef std::int64_t I __attribute__((vector_size(sizeof(D))));
  static I bits(D x) { return (I)x; }
  static D from_bits(I b) { return (D)b; }
  static D choose(I c, D a, D b) { return select((D)c, a, b); }
};

// log(mantissa 2^exponent) per lane: log_scaled, float32 lanes in float64 (as ScalarLogOps's
// callers do) and rounded once.
inline Pack<double>::V log_scaled_lanes(Pack<double>::V mantissa, Pack<double>::V exponent) {
  return log_scaled<LogOps>(mantissa, exponent);
}
inline Pack<float>::V log_scaled_lanes(Pack<float>::V mantissa, Pack<float>::V exponent) {
  const __m256 m = __m256(mantissa), e = __m256(exponent);
  const __m256d lo = __m256d(log_scaled<LogOps>(Pack<double>::V(_mm256_cvtps_pd(_mm256_castps256_ps128(m))),
                                                 Pack<double>::V(_mm256_cvtps_pd(_mm256_castps256_ps128(e)))));
  const __m256d hi = __m256d(log_scaled<LogOps>(Pack<double>::V(_mm256_cvtps_pd(_mm256_extractf128_ps(m, 1))),
                                                 Pack<double>::V(_mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)))));
  return Pack<float>::V(_mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(lo)), _mm256_cvtpd_ps(hi), 1));
}

// sign and log|det| of every lane from U's diagonal (diag[k] = u_kk per lane) and the parity
// masks `odd`: lane by lane the arithmetic of slogdet_from_diagonal (small_lu.h), the same bits,
// with its one branch per entry turned into masks (per lane after the factorization, it took half
// the time of a float64 4×4 group, perf). `finite` masks the lanes whose input was finite.
template <class R>
void slogdet_from_diagonal_lanes(const typename Pack<R>::V* diag, int n, typename Pack<R>::V odd,
                                 typename Pack<R>::V finite, typename Pack<R>::V* sign, typename Pack<R>::V* lad) {
  using V = typename Pack<R>::V;
  constexpr int W = Pack<R>::W;
  const V zero = V{} * 0, one = zero + 1;
  V mantissa = one, exponent = zero, negative = odd, singular = zero;
  for (int k = 0; k < n; ++k) {
    const V m = abs_of(diag[k]);
    singular = mask_or(singular, as_mask(m == zero));
    negative = mask_xor(negative, as_mask(diag[k] < zero));
    mantissa *= m;
    // Past the first zero a lane's product no longer matters (slogdet_from_diagonal returns there).
    const V rescale = mask_andnot(singular, mask_or(as_mask(mantissa > R(0x1p60)), as_mask(mantissa < R(0x1p-60))));
    if (any_lane(rescale)) {
      for (int l = 0; l < W; ++l) {
        if (rescale[l] == R(0)) continue;  // (the mask's all-ones bits are a NaN, never 0)
        int e;
        mantissa[l] = std::frexp(mantissa[l], &e);
        exponent[l] += R(e);
      }
    }
  }
  V value = log_scaled_lanes(mantissa, exponent);
  V s = select(negative, -one, one);
  s = select(singular, zero, s);
  value = select(singular, zero - infinity<R>(), value);
  *sign = select(finite, s, zero + quiet_nan<R>());
  *lad = select(finite, value, zero + quiet_nan<R>());
}

// The working set of a group: n x n vectors twice (2 x 8 x 16 KB for float32 n = 64: on the heap,
// allocated once per batch).
template <class R>
struct GroupBuffers {
  static constexpr int W = Pack<R>::W;
  explicit GroupBuffers(int n) : a(static_cast<std::size_t>(n) * n), b(static_cast<std::size_t>(n) * n), perm(n) {}
  std::vector<typename Pack<R>::V> a, b, perm;
};

// One group of W matrices: sign/logabsdet, and the factors into lu/perm (LAPACK layout) unless
// lu is null (then only U's diagonal is read, n entries per lane instead of the n^2 write-out).
template <int N, class R>
void slogdet_group(const R* in, int n_runtime, R* lu, int* perm, R* sign, R* lad, GroupBuffers<R>& buf) {
  constexpr int W = Pack<R>::W;
  const int n = N > 0 ? N : n_runtime;
  const index_t nn = static_cast<index_t>(n) * n;
  using V = typename Pack<R>::V;
  V* a = buf.a.data();
  V* b = buf.b.data();
  // Lanes whose input holds Inf or NaN get their value below, not from this elimination (NaN for
  // NaN; slogdet_with_infinities for ±Inf).
  V finite;
  load_lanes(in, nn, static_cast<int>(nn), a, &finite);
  prefetch_next_group(in, nn);
  const bool keep = lu != nullptr;
  const bool in_place = lu_factor_lanes<N, R>(a, n, buf.perm.data(), keep ? b : nullptr);
  V* factors = in_place ? a : b;
  // The sign of each lane's permutation, (-1)^(number of inversions), for all lanes at once (the
  // per-lane cycle walk of permutation_parity was a quarter of this function at n = 16, perf).
  V odd = V{} * 0;
  DETEXP_UNROLL
  for (int i = 0; i < n; ++i) {
    DETEXP_UNROLL
    for (int j = i + 1; j < n; ++j) odd = mask_xor(odd, as_mask(buf.perm[i] > buf.perm[j]));
  }
  // U's diagonal, lanes-parallel: u_kk sits in the row picked at step k (in row k when the
  // factors are in LAPACK layout). Then the factors leave through vector stores.
  V diag[kLanesMax];
  DETEXP_UNROLL
  for (int k = 0; k < n; ++k) {
    diag[k] = keep || in_place ? factors[k + k * n] : pick_lanes<R>(a + k * n, buf.perm[k]);
  }
  if (keep) store_lanes(factors, static_cast<int>(nn), nn, lu);
  V signs, lads;
  slogdet_from_diagonal_lanes<R>(diag, n, odd, finite, &signs, &lads);
  for (int l = 0; l < W; ++l) {
    int p[kLanesMax];
    DETEXP_UNROLL
    for (int i = 0; i < n; ++i) p[i] = static_cast<int>(buf.perm[i][l]);
    if (keep) std::copy(p, p + n, perm + l * n);
    const bool lane_finite = finite[l] != R(0);  // all-ones bits: a NaN, not 0
    const R* lane_in = in + l * nn;
    const bool lane_infinities = !lane_finite && infinities_without_nan(lane_in, nn);
    SlogdetValue<R> v{signs[l], lads[l]};
    if (lane_infinities) {
      std::vector<R> scratch(lane_in, lane_in + nn);
      v = slogdet_with_infinities(scratch.data(), n, p);
    } else if (lane_finite && !(v.logabsdet - v.logabsdet == R(0)) && v.sign != R(0)) {
      // The elimination overflowed: redo this matrix alone, with row swaps (see lu_factor_lanes).
      std::vector<R> scratch(keep ? 0 : nn);
      R* f = keep ? lu + l * nn : scratch.data();
      std::copy(lane_in, lane_in + nn, f);
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
  load_lanes(lu, nn, static_cast<int>(nn), buf.a.data());
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
  inverse_from_lu_lanes<N, R>(buf.a.data(), buf.perm.data(), scale, n, layout, buf.b.data());
  store_lanes(buf.b.data(), static_cast<int>(nn), nn, out);
}

// W matrices standing for the last r < W of a batch: those r, then W - r identity matrices (or
// their factors: L = U = I, perm = identity), so that the tail runs the group code too.
template <class R>
std::vector<R> padded_with_identity(const R* src, int r, int n) {
  constexpr int W = Pack<R>::W;
  const index_t nn = static_cast<index_t>(n) * n;
  std::vector<R> out(W * nn, R(0));
  std::copy(src, src + r * nn, out.begin());
  for (int l = r; l < W; ++l) {
    for (int i = 0; i < n; ++i) out[l * nn + i * (n + 1)] = R(1);
  }
  return out;
}

inline std::vector<int> padded_identity_perm(const int* perm, int r, int n, int w) {
  std::vector<int> out(static_cast<std::size_t>(w) * n);
  std::copy(perm, perm + r * n, out.begin());
  for (int l = r; l < w; ++l) {
    for (int i = 0; i < n; ++i) out[l * n + i] = i;
  }
  return out;
}

}  // namespace lanes

// Runs group(N, g, buf) for g = 0, W, 2W, ... over the whole groups of W matrices, then
// tail(N, g, r, buf) for the r < W matrices left, with N = n fixed at compile time for n <= 8
// (0 otherwise), when T is real and 0 < n <= max_n; returns false (nothing run) otherwise.
// The tail pads its group with identity matrices (padded_with_identity) instead of taking the
// per-matrix path, so every matrix gets the same arithmetic wherever it sits in the batch, and
// whatever the batch size or the sharding over threads: the results are batch invariant.
template <class T, class Group, class Tail>
bool for_each_lane_group(index_t count, int n, int max_n, Group&& group, Tail&& tail) {
  if constexpr (is_complex<T>::value) {
    return false;
  } else {
    if (n <= 0 || n > max_n) return false;
    constexpr int W = lanes::Pack<T>::W;
    lanes::GroupBuffers<T> buf(n);
    with_fixed_size(n, [&](auto fixed) {
      index_t g = 0;
      for (; g + W <= count; g += W) group(fixed, g, buf);
      if (g < count) tail(fixed, g, static_cast<int>(count - g), buf);
    });
    return true;
  }
}

// slogdet of `count` contiguous row-major n×n matrices (each factored as its transpose, see
// small_lu.h): sign[count], lad[count], and the factors lu[count, n, n], perm[count, n] unless lu
// and perm are null (a forward that no gradient will read).
template <class T>
void slogdet_batch(const T* in, index_t count, int n, T* lu, int* perm, T* sign, real_t<T>* lad) {
  DETEXP_USE_AVX512(slogdet_batch(in, count, n, lu, perm, sign, lad));
  const index_t nn = static_cast<index_t>(n) * n;
  const bool keep = lu != nullptr;
  const bool lanes_ran = for_each_lane_group<T>(
      count, n, kLanesFactorMax,
      [&](auto fixed, index_t g, auto& buf) {
        lanes::slogdet_group<decltype(fixed)::value, T>(in + g * nn, n, keep ? lu + g * nn : nullptr,
                                                         keep ? perm + g * n : nullptr, sign + g, lad + g, buf);
      },
      [&](auto fixed, index_t g, int r, auto& buf) {
        constexpr int W = std::decay_t<decltype(buf)>::W;  // (dependent: not instantiated for complex T)
        const std::vector<T> a = lanes::padded_with_identity(in + g * nn, r, n);
        std::vector<T> f(keep ? W * nn : 0);
        std::vector<int> p(keep ? W * n : 0);
        T s[W], l[W];
        lanes::slogdet_group<decltype(fixed)::value, T>(a.data(), n, keep ? f.data() : nullptr,
                                                         keep ? p.data() : nullptr, s, l, buf);
        std::copy(s, s + r, sign + g);
        std::copy(l, l + r, lad + g);
        if (keep) {
          std::copy(f.begin(), f.begin() + r * nn, lu + g * nn);
          std::copy(p.begin(), p.begin() + r * n, perm + g * n);
        }
      });
  if (lanes_ran) return;
  std::vector<T> scratch(keep ? 0 : nn);
  std::vector<int> perm_scratch(keep ? 0 : n);
  for (index_t i = 0; i < count; ++i) {
    T* f = keep ? lu + i * nn : scratch.data();
    std::copy(in + i * nn, in + (i + 1) * nn, f);
    const SlogdetValue<T> v = slogdet_inplace(f, n, keep ? perm + i * n : perm_scratch.data());
    sign[i] = v.sign;
    lad[i] = v.logabsdet;
  }
}

// The lanes inverse over a batch (see lanes::inverse_group); false where it does not apply.
template <class T>
bool inverse_batch_lanes(const T* lu, const int* perm, const T* k, index_t count, int n, bool transpose, T* out) {
  const index_t nn = static_cast<index_t>(n) * n;
  return for_each_lane_group<T>(
      count, n, kLanesInverseMax,
      [&](auto fixed, index_t g, auto& buf) {
        lanes::inverse_group<decltype(fixed)::value, T>(lu + g * nn, perm + g * n, transpose ? k + g : nullptr, n,
                                                        transpose, out + g * nn, buf);
      },
      [&](auto fixed, index_t g, int r, auto& buf) {
        constexpr int W = std::decay_t<decltype(buf)>::W;  // (dependent: not instantiated for complex T)
        const std::vector<T> f = lanes::padded_with_identity(lu + g * nn, r, n);
        const std::vector<int> p = lanes::padded_identity_perm(perm + g * n, r, n, W);
        T scale[W];
        for (int l = 0; l < W; ++l) scale[l] = transpose && l < r ? k[g + l] : T(1);
        std::vector<T> x(W * nn);
        lanes::inverse_group<decltype(fixed)::value, T>(f.data(), p.data(), scale, n, transpose, x.data(), buf);
        std::copy(x.begin(), x.begin() + r * nn, out + g * nn);
      });
}

// out[i] = k[i] * A_i^{-H} (row-major) from the factors of slogdet_batch: the slogdet backward.
template <class T>
void scaled_inverse_adjoint_batch(const T* lu, const int* perm, const T* k, index_t count, int n, T* out) {
  DETEXP_USE_AVX512(scaled_inverse_adjoint_batch(lu, perm, k, count, n, out));
  if (inverse_batch_lanes(lu, perm, k, count, n, true, out)) return;
  const index_t nn = static_cast<index_t>(n) * n;
  std::vector<T> scratch(nn);
  for (index_t i = 0; i < count; ++i) {
    scaled_inverse_adjoint_from_lu(lu + i * nn, perm + i * n, n, k[i], scratch.data(), out + i * nn);
  }
}

// inv[i] = B_i^{-1} (column-major, i.e. A_i^{-1} row-major) from the factors of slogdet_batch.
// inv may be lu itself (the TF kernel reuses the factors' buffer), here and in
// scaled_inverse_adjoint_batch: every matrix's factors are read before its result is written.
template <class T>
void inverse_from_lu_batch(const T* lu, const int* perm, index_t count, int n, T* inv) {
  DETEXP_USE_AVX512(inverse_from_lu_batch(lu, perm, count, n, inv));
  if (inverse_batch_lanes<T>(lu, perm, nullptr, count, n, false, inv)) return;
  const index_t nn = static_cast<index_t>(n) * n;
  // n > kSmallLuMax works in `scratch` already; smaller n solves column by column out of lu, so
  // the result goes through `result` first.
  std::vector<T> scratch(n > kSmallLuMax ? nn : 0), result(n > kSmallLuMax ? 0 : nn);
  for (index_t i = 0; i < count; ++i) {
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
