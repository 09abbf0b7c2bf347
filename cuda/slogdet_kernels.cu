// CUDA kernels and launchers of the log-determinant family (see slogdet_launch.h). No TF headers.
//
//   n <= 8        one matrix per thread, held in registers: the cc/core templates
//                 (lu_factor_small<N, T, kSelectSwap>, slogdet_from_parity, inverse_from_lu_small<N>)
//                 with loads and stores staged through shared memory so that global traffic is
//                 coalesced; the forward is one pass over memory.
//   n <= 32       one matrix per 16- or 32-lane group: lane i holds row i of B in registers,
//                 pivots by a butterfly arg-max, broadcasts the pivot row with shuffles.
//   larger n      cuBLAS getrfBatched (pointer arrays) or a loop of cuSOLVER getrf, then one thread
//                 per matrix turns LAPACK's ipiv into perm and sign/log|det| (slogdet_from_parity).
// The adjugate uses cuSOLVER's Jacobi SVD (gesvdjBatched for n <= 32, gesvdj beyond) and the
// formula of cc/core/adjugate.h; det U and det V come from the slogdet kernels above.
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <complex>
#include <cstdlib>
#include <string>
#include <vector>

#include "cc/core/small_lu.h"
#include "cuda/gpu_common.h"
#include "cuda/slogdet_launch.h"

namespace detexp {
namespace gpu {
namespace {

using namespace common;

// ---- shuffles of real and complex values -----------------------------------------------------
// `mask` names the lanes of the calling group only: with W = 16 the two groups of a warp branch
// independently (pivot swaps, zero pivots), so a full-warp mask would be undefined behaviour.
__device__ __forceinline__ float shfl(float v, int src, int w, unsigned mask) { return __shfl_sync(mask, v, src, w); }
__device__ __forceinline__ double shfl(double v, int src, int w, unsigned mask) { return __shfl_sync(mask, v, src, w); }
__device__ __forceinline__ int shfl(int v, int src, int w, unsigned mask) { return __shfl_sync(mask, v, src, w); }
template <class R>
__device__ __forceinline__ dcomplex<R> shfl(dcomplex<R> v, int src, int w, unsigned mask) {
  return dcomplex<R>(shfl(v.real(), src, w, mask), shfl(v.imag(), src, w, mask));
}
__device__ __forceinline__ float shfl_xor(float v, int m, int w, unsigned mask) { return __shfl_xor_sync(mask, v, m, w); }
__device__ __forceinline__ double shfl_xor(double v, int m, int w, unsigned mask) { return __shfl_xor_sync(mask, v, m, w); }
__device__ __forceinline__ int shfl_xor(int v, int m, int w, unsigned mask) { return __shfl_xor_sync(mask, v, m, w); }
template <class R>
__device__ __forceinline__ dcomplex<R> shfl_xor(dcomplex<R> v, int m, int w, unsigned mask) {
  return dcomplex<R>(shfl_xor(v.real(), m, w, mask), shfl_xor(v.imag(), m, w, mask));
}

template <int W>
__device__ __forceinline__ unsigned group_mask() {
  static_assert(W == 16 || W == 32, "groups of 16 or 32 lanes");
  return W == 32 ? 0xffffffffu : (0xffffu << (threadIdx.x & 16u));
}

template <class T>
__device__ __forceinline__ T nan_scalar() {
  using R = real_t<T>;
  return make_scalar<T>(quiet_nan<R>(), is_complex<T>::value ? quiet_nan<R>() : R(0));
}

// ---- n = 0: det of the empty matrix is 1 ------------------------------------------------------
template <class T, class R>
__global__ void fill_empty_slogdet_kernel(T* sign, R* lad, std::int64_t batch) {
  const std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (i < batch) {
    sign[i] = T(1);
    lad[i] = R(0);
  }
}

template <class T>
__global__ void fill_kernel(T* out, std::int64_t count, T value) {
  const std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (i < count) out[i] = value;
}

// ---- slogdet backward: out = k * A^{-H} from the inverse ----------------------------------------
// `inv` is B^{-1} column-major (= A^{-1} row-major); out row-major (r, c) = k conj(A^{-1}(c, r)),
// the same transposed write as cc/core's scaled_inverse_adjoint_from_lu.
template <class T>
__global__ void scaled_adjoint_kernel(const T* __restrict__ inv, const T* __restrict__ k, T* __restrict__ out,
                                      std::int64_t start, std::int64_t count, int n) {
  const std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (i >= count) return;
  const std::int64_t idx = start + i, nn = static_cast<std::int64_t>(n) * n;
  const std::int64_t b = idx / nn;
  const int rem = static_cast<int>(idx - b * nn), r = rem / n, c = rem - r * n;
  out[idx] = k[b] * conj_of(inv[b * nn + static_cast<std::int64_t>(c) * n + r]);
}

// ---- n <= 8: one matrix per thread ------------------------------------------------------------
// Shared memory holds the block's matrices with a padded stride (N*N + 1 elements) so that the
// per-thread copy into registers is free of bank conflicts.
template <int N, class T>
constexpr int fixed_stride() {
  return N * N + 1;
}

template <int N, class T>
int fixed_block_threads() {
  // At most 48 KiB of shared memory per block (no opt-in needed), 32..256 threads.
  const int per = fixed_stride<N, T>() * static_cast<int>(sizeof(T));
  int t = (48 * 1024 / per) / 32 * 32;
  return std::max(32, std::min(256, t));
}

template <int N, class T>
__device__ __forceinline__ void stage_in(T* sm, const T* src, int count) {
  constexpr int NN = N * N, S = fixed_stride<N, T>();
  for (int e = threadIdx.x; e < count * NN; e += blockDim.x) sm[(e / NN) * S + e % NN] = src[e];
}

template <int N, class T>
__device__ __forceinline__ void stage_out(T* dst, const T* sm, int count) {
  constexpr int NN = N * N, S = fixed_stride<N, T>();
  for (int e = threadIdx.x; e < count * NN; e += blockDim.x) dst[e] = sm[(e / NN) * S + e % NN];
}

template <int N, class T>
__global__ void slogdet_fixed_kernel(const T* __restrict__ a, T* __restrict__ lu, int* __restrict__ perm,
                                     T* __restrict__ sign, real_t<T>* __restrict__ lad, std::int64_t batch) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* sm = reinterpret_cast<T*>(smem_raw);
  constexpr int NN = N * N, S = fixed_stride<N, T>();
  const std::int64_t first = blockIdx.x * static_cast<std::int64_t>(blockDim.x);
  const int count = static_cast<int>(min(static_cast<std::int64_t>(blockDim.x), batch - first));
  stage_in<N>(sm, a + first * NN, count);
  __syncthreads();
  if (threadIdx.x < count) {
    T r[NN];
    int p[N];
    DETEXP_UNROLL
    for (int e = 0; e < NN; ++e) r[e] = sm[threadIdx.x * S + e];
    const bool finite = all_finite(r, NN);
    // ±Inf without NaN: the value of cc/core's slogdet_with_infinities, computed in this thread's
    // shared-memory slot (it still holds the input; the factors are written over it below).
    T* slot = sm + threadIdx.x * S;
    const bool infinities = !finite && infinities_without_nan(slot, NN);
    SlogdetValue<T> inf_value{};
    if (infinities) {
      int q[N];
      inf_value = slogdet_with_infinities(slot, N, q);
    }
    const int parity = lu_factor_small<N, T, true>(r, N, p);
    const SlogdetValue<T> v = infinities ? inf_value : slogdet_from_parity<N>(r, parity, N, finite);
    DETEXP_UNROLL
    for (int e = 0; e < NN; ++e) sm[threadIdx.x * S + e] = r[e];
    const std::int64_t m = first + threadIdx.x;
    sign[m] = v.sign;
    lad[m] = v.logabsdet;
    DETEXP_UNROLL
    for (int i = 0; i < N; ++i) perm[m * N + i] = p[i];
  }
  __syncthreads();
  stage_out<N>(lu + first * NN, sm, count);
}

template <int N, class T>
__global__ void inverse_fixed_kernel(const T* __restrict__ lu, const int* __restrict__ perm, T* __restrict__ inv,
                                     std::int64_t batch) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* sm = reinterpret_cast<T*>(smem_raw);
  constexpr int NN = N * N, S = fixed_stride<N, T>();
  const std::int64_t first = blockIdx.x * static_cast<std::int64_t>(blockDim.x);
  const int count = static_cast<int>(min(static_cast<std::int64_t>(blockDim.x), batch - first));
  stage_in<N>(sm, lu + first * NN, count);
  __syncthreads();
  if (threadIdx.x < count) {
    T f[NN], x[NN];
    int p[N];
    const std::int64_t m = first + threadIdx.x;
    DETEXP_UNROLL
    for (int e = 0; e < NN; ++e) f[e] = sm[threadIdx.x * S + e];
    DETEXP_UNROLL
    for (int i = 0; i < N; ++i) p[i] = perm[m * N + i];
    inverse_from_lu_small<N>(f, p, N, x);
    DETEXP_UNROLL
    for (int e = 0; e < NN; ++e) sm[threadIdx.x * S + e] = x[e];
  }
  __syncthreads();
  stage_out<N>(inv + first * NN, sm, count);
}

template <int N, class T, class R>
Status launch_slogdet_fixed(cudaStream_t stream, const T* a, T* lu, int* perm, T* sign, R* lad,
                            std::int64_t batch) {
  const int threads = fixed_block_threads<N, T>();
  const std::size_t smem = static_cast<std::size_t>(threads) * fixed_stride<N, T>() * sizeof(T);
  return for_each_launch(batch, kMaxGridX * threads, [&](std::int64_t s, std::int64_t c) {
    const std::int64_t blocks = (c + threads - 1) / threads;
    slogdet_fixed_kernel<N><<<static_cast<unsigned>(blocks), threads, smem, stream>>>(
        a + s * N * N, lu + s * N * N, perm + s * N, sign + s, lad + s, c);
    return launch_check("slogdet_fixed_kernel");
  });
}

template <int N, class T>
Status launch_inverse_fixed(cudaStream_t stream, const T* lu, const int* perm, T* inv, std::int64_t batch) {
  const int threads = fixed_block_threads<N, T>();
  const std::size_t smem = static_cast<std::size_t>(threads) * fixed_stride<N, T>() * sizeof(T);
  return for_each_launch(batch, kMaxGridX * threads, [&](std::int64_t s, std::int64_t c) {
    const std::int64_t blocks = (c + threads - 1) / threads;
    inverse_fixed_kernel<N><<<static_cast<unsigned>(blocks), threads, smem, stream>>>(
        lu + s * N * N, perm + s * N, inv + s * N * N, c);
    return launch_check("inverse_fixed_kernel");
  });
}

// Register arrays indexed by a run-time k: predicated selects over every slot keep the array in
// registers (a dynamic index would move it to local memory) without unrolling the k loop, which
// keeps code size and ptxas time down.
template <int W, class T>
__device__ __forceinline__ T reg_get(const T (&r)[W], int k) {
  T v = r[0];
  DETEXP_UNROLL
  for (int j = 1; j < W; ++j) {
    if (j == k) v = r[j];
  }
  return v;
}
template <int W, class T>
__device__ __forceinline__ void reg_set(T (&r)[W], int k, const T& v) {
  DETEXP_UNROLL
  for (int j = 0; j < W; ++j) {
    if (j == k) r[j] = v;
  }
}

// ---- 8 < n <= 32: one matrix per W-lane group ---------------------------------------------------
// Lane i holds row i of B (r[j] = B(i, j) = a[i + j n]); rows >= n are zero and never pivot.
// The pivot is LAPACK's: the first row of largest |re|+|im| in column k; as in the sequential scan
// of lu_factor_small, a NaN below the diagonal never wins and a NaN on the diagonal stays.
template <int W, class T>
__global__ void __launch_bounds__(128) slogdet_warp_kernel(const T* __restrict__ a, T* __restrict__ lu,
                                                           int* __restrict__ perm, T* __restrict__ sign,
                                                           real_t<T>* __restrict__ lad, std::int64_t batch,
                                                           int n) {
  using R = real_t<T>;
  const std::int64_t gid = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  const int lane = static_cast<int>(threadIdx.x % W);
  const std::int64_t m_raw = gid / W;
  const bool active = m_raw < batch;  // inactive groups compute on a copy but write nothing
  const std::int64_t m = active ? m_raw : batch - 1;
  const std::int64_t nn = static_cast<std::int64_t>(n) * n;
  const T* src = a + m * nn;
  const bool row_ok = lane < n;
  const unsigned gm = group_mask<W>();

  T r[W];
  DETEXP_UNROLL
  for (int j = 0; j < W; ++j) r[j] = (row_ok && j < n) ? src[lane + static_cast<std::int64_t>(j) * n] : T(0);

  // Finite input? (x * 0 is NaN exactly for Inf and NaN.)
  R probe = 0;
  DETEXP_UNROLL
  for (int j = 0; j < W; ++j) probe += real_part(r[j]) * R(0) + imag_part(r[j]) * R(0);
  int finite = probe == probe;
  DETEXP_UNROLL
  for (int o = W / 2; o > 0; o /= 2) finite &= shfl_xor(finite, o, W, gm);
  // ±Inf without NaN: lane 0 takes the value of cc/core's slogdet_with_infinities, factoring a copy
  // of the input in this matrix's lu and perm slots (both are written over at the end).
  int infinities = 0;
  SlogdetValue<T> inf_value{};
  if (!finite && !is_complex<T>::value) {
    int nan_here = 0;
    DETEXP_UNROLL
    for (int j = 0; j < W; ++j) nan_here |= real_part(r[j]) != real_part(r[j]);
    DETEXP_UNROLL
    for (int o = W / 2; o > 0; o /= 2) nan_here |= shfl_xor(nan_here, o, W, gm);
    infinities = !nan_here;
    if (infinities && active && lane == 0) {
      T* f = lu + m * nn;
      for (std::int64_t e = 0; e < nn; ++e) f[e] = src[e];
      inf_value = slogdet_with_infinities(f, n, perm + m * n);
    }
    __syncwarp(gm);
  }

  int my_perm = lane;
  int parity = 1;
#pragma unroll 1
  for (int k = 0; k < n; ++k) {
    T rk = reg_get(r, k);
    const R v = abs1(rk);
    R key = (lane < k || !row_ok) ? R(-2) : (v != v ? (lane == k ? infinity<R>() : R(-1)) : v);
    int idx = lane;
    DETEXP_UNROLL
    for (int o = W / 2; o > 0; o /= 2) {
      const R ok = shfl_xor(key, o, W, gm);
      const int oi = shfl_xor(idx, o, W, gm);
      if (ok > key || (ok == key && oi < idx)) {
        key = ok;
        idx = oi;
      }
    }
    const int p = idx;
    if (p != k) {  // uniform across the group
      parity = -parity;
      const int from = lane == k ? p : (lane == p ? k : lane);
      DETEXP_UNROLL
      for (int j = 0; j < W; ++j) {
        if (j < n) r[j] = shfl(r[j], from, W, gm);
      }
      my_perm = shfl(my_perm, from, W, gm);
      rk = reg_get(r, k);
    }
    const T pivot = shfl(rk, k, W, gm);
    if (pivot == T(0)) continue;  // zero column: nothing to eliminate (as LAPACK)
    const T inv_pivot = T(1) / pivot;
    const bool below = lane > k && row_ok;
    if (below) {
      rk *= inv_pivot;
      reg_set(r, k, rk);
    }
    DETEXP_UNROLL
    for (int j = 1; j < W; ++j) {
      if (j > k && j < n) {
        const T akj = shfl(r[j], k, W, gm);
        if (below) r[j] -= rk * akj;
      }
    }
  }

  // sign and log|det| from the diagonal: lane i contributes u_ii = r[i].
  T d = T(1);
  DETEXP_UNROLL
  for (int j = 0; j < W; ++j) {
    if (j == lane && row_ok) d = r[j];
  }
  const R mod = modulus(d);
  int zero = mod == R(0);
  R logs = zero ? R(0) : std::log(mod);
  T phase = zero ? T(1) : (is_complex<T>::value ? d / make_scalar<T>(mod) : make_scalar<T>(d == d && real_part(d) < 0 ? R(-1) : R(1)));
  DETEXP_UNROLL
  for (int o = W / 2; o > 0; o /= 2) {
    zero |= shfl_xor(zero, o, W, gm);
    logs += shfl_xor(logs, o, W, gm);
    phase = phase * shfl_xor(phase, o, W, gm);
  }
  if (!active) return;
  T* dst = lu + m * nn;
  if (row_ok) {
    DETEXP_UNROLL
    for (int j = 0; j < W; ++j) {
      if (j < n) dst[lane + static_cast<std::int64_t>(j) * n] = r[j];
    }
    perm[m * n + lane] = my_perm;
  }
  if (lane == 0) {
    if (infinities) {
      sign[m] = inf_value.sign;
      lad[m] = inf_value.logabsdet;
    } else if (!finite) {
      sign[m] = nan_scalar<T>();
      lad[m] = quiet_nan<R>();
    } else if (zero) {
      sign[m] = T(0);
      lad[m] = -infinity<R>();
    } else {
      T s = make_scalar<T>(R(parity)) * phase;
      if constexpr (is_complex<T>::value) s = s / make_scalar<T>(modulus(s));
      sign[m] = s;
      lad[m] = logs;
    }
  }
}

// Column j of B^{-1} per lane: L y = P e_j, then U x = y; the factors are read with uniform
// (broadcast) loads within each group.
template <int W, class T>
__global__ void __launch_bounds__(128) inverse_columns_kernel(const T* __restrict__ lu, const int* __restrict__ perm,
                                                              T* __restrict__ inv, std::int64_t batch, int n) {
  const std::int64_t gid = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  const int j = static_cast<int>(threadIdx.x % W);
  const std::int64_t m = gid / W;
  if (m >= batch || j >= n) return;
  const std::int64_t nn = static_cast<std::int64_t>(n) * n;
  const T* f = lu + m * nn;
  const int* p = perm + m * n;
  T x[W];
  DETEXP_UNROLL
  for (int i = 0; i < W; ++i) x[i] = (i < n && p[i] == j) ? T(1) : T(0);
#pragma unroll 1
  for (int k = 0; k < n; ++k) {
    const T xk = reg_get(x, k);
    const T* col = f + static_cast<std::int64_t>(k) * n;
    DETEXP_UNROLL
    for (int i = 1; i < W; ++i) {
      if (i > k && i < n) x[i] -= col[i] * xk;
    }
  }
#pragma unroll 1
  for (int k = n - 1; k >= 0; --k) {
    const T* col = f + static_cast<std::int64_t>(k) * n;
    const T xk = reg_get(x, k) / col[k];
    reg_set(x, k, xk);
    DETEXP_UNROLL
    for (int i = 0; i < W - 1; ++i) {
      if (i < k) x[i] -= col[i] * xk;
    }
  }
  T* out = inv + m * nn + static_cast<std::int64_t>(j) * n;
  DETEXP_UNROLL
  for (int i = 0; i < W; ++i) {
    if (i < n) out[i] = x[i];
  }
}

template <int W, class T, class R>
Status launch_slogdet_warp(cudaStream_t stream, const T* a, T* lu, int* perm, T* sign, R* lad, std::int64_t batch,
                           int n) {
  constexpr int threads = 128, per_block = threads / W;
  const std::int64_t nn = static_cast<std::int64_t>(n) * n;
  return for_each_launch(batch, kMaxGridX * per_block, [&](std::int64_t s, std::int64_t c) {
    const std::int64_t blocks = (c + per_block - 1) / per_block;
    slogdet_warp_kernel<W><<<static_cast<unsigned>(blocks), threads, 0, stream>>>(a + s * nn, lu + s * nn,
                                                                                  perm + s * n, sign + s, lad + s, c, n);
    return launch_check("slogdet_warp_kernel");
  });
}

template <int W, class T>
Status launch_inverse_columns(cudaStream_t stream, const T* lu, const int* perm, T* inv, std::int64_t batch, int n) {
  constexpr int threads = 128, per_block = threads / W;
  const std::int64_t nn = static_cast<std::int64_t>(n) * n;
  return for_each_launch(batch, kMaxGridX * per_block, [&](std::int64_t s, std::int64_t c) {
    const std::int64_t blocks = (c + per_block - 1) / per_block;
    inverse_columns_kernel<W><<<static_cast<unsigned>(blocks), threads, 0, stream>>>(lu + s * nn, perm + s * n,
                                                                                     inv + s * nn, c, n);
    return launch_check("inverse_columns_kernel");
  });
}

// ---- large n: cuSOLVER / cuBLAS ------------------------------------------------------------------
// finite[m] = 1 when matrix m holds no Inf/NaN; one block per matrix.
template <class T>
__global__ void finite_flags_kernel(const T* __restrict__ a, int* __restrict__ finite, std::int64_t nn) {
  using R = real_t<T>;
  const std::int64_t m = blockIdx.x;
  const T* src = a + m * nn;
  R probe = 0;
  for (std::int64_t e = threadIdx.x; e < nn; e += blockDim.x) probe += real_part(src[e]) * R(0) + imag_part(src[e]) * R(0);
  const int ok = __syncthreads_and(probe == probe);
  if (threadIdx.x == 0) finite[m] = ok;
}

template <class T>
Status launch_finite_flags(cudaStream_t stream, const T* a, int* finite, std::int64_t batch, int n) {
  const std::int64_t nn = static_cast<std::int64_t>(n) * n;
  return for_each_launch(batch, kMaxGridX, [&](std::int64_t s, std::int64_t c) {
    finite_flags_kernel<<<static_cast<unsigned>(c), 256, 0, stream>>>(a + s * nn, finite + s, nn);
    return launch_check("finite_flags_kernel");
  });
}

// Matrices with ±Inf but no NaN (flag 0 above, and no NaN here) get their value from cc/core's
// slogdet_with_infinities, factoring a copy of the input in their lu and perm slots before getrf
// takes them; the flag becomes 2, so that finish_getrf_kernel keeps that value.
template <class T>
__global__ void slogdet_infinities_kernel(const T* __restrict__ a, T* __restrict__ lu, int* __restrict__ perm,
                                          int* __restrict__ finite, T* __restrict__ sign,
                                          real_t<T>* __restrict__ lad, std::int64_t batch, int n) {
  const std::int64_t m = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (m >= batch || finite[m] != 0) return;
  const std::int64_t nn = static_cast<std::int64_t>(n) * n;
  const T* src = a + m * nn;
  if (!infinities_without_nan(src, nn)) return;
  T* f = lu + m * nn;
  for (std::int64_t e = 0; e < nn; ++e) f[e] = src[e];
  const SlogdetValue<T> v = slogdet_with_infinities(f, n, perm + m * n);
  sign[m] = v.sign;
  lad[m] = v.logabsdet;
  finite[m] = 2;
}

template <class T>
__global__ void pointer_array_kernel(T* base, std::int64_t stride, T** out, std::int64_t count) {
  const std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (i < count) out[i] = base + i * stride;
}

template <class T>
Status launch_pointer_array(cudaStream_t stream, T* base, std::int64_t stride, T** out, std::int64_t count) {
  const std::int64_t blocks = (count + 255) / 256;
  pointer_array_kernel<<<static_cast<unsigned>(blocks), 256, 0, stream>>>(base, stride, out, count);
  return launch_check("pointer_array_kernel");
}

// LAPACK ipiv (1-based sequential interchanges) -> perm (source rows) and parity, then sign and
// log|det| from U's diagonal with the shared cc/core code. info > 0 (an exactly zero pivot) is the
// singular case, already visible on the diagonal; info < 0 (an argument error, which valid calls
// cannot produce) goes to *bad_info only when checking is on (bad_info != nullptr).
template <class T>
__global__ void finish_getrf_kernel(const T* __restrict__ lu, const int* __restrict__ ipiv,
                                    const int* __restrict__ info, const int* __restrict__ finite,
                                    int* __restrict__ perm, T* __restrict__ sign, real_t<T>* __restrict__ lad,
                                    std::int64_t batch, int n, int* bad_info) {
  const std::int64_t m = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (m >= batch) return;
  if (bad_info != nullptr && info[m] < 0) atomicMin(bad_info, info[m]);
  int* p = perm + m * n;
  const int* piv = ipiv + m * n;
  for (int i = 0; i < n; ++i) p[i] = i;
  int parity = 1;
  for (int k = 0; k < n; ++k) {
    const int q = piv[k] - 1;
    if (q != k && q >= 0 && q < n) {
      const int t = p[k];
      p[k] = p[q];
      p[q] = t;
      parity = -parity;
    }
  }
  if (finite[m] == 2) return;  // ±Inf: slogdet_infinities_kernel wrote the value
  const SlogdetValue<T> v = slogdet_from_parity<0>(lu + m * static_cast<std::int64_t>(n) * n, parity, n, finite[m] != 0);
  sign[m] = v.sign;
  lad[m] = v.logabsdet;
}

template <class T>
cublasStatus_t trsm_batched(const SolverApi& api, cublasHandle_t h, cublasFillMode_t uplo, cublasDiagType_t diag,
                            int n, T* const* lu, T* const* x, int batch) {
  const T one(1);
  auto alpha = reinterpret_cast<const lib_t<T>*>(&one);
  auto A = reinterpret_cast<const lib_t<T>* const*>(lu);
  auto B = reinterpret_cast<lib_t<T>* const*>(x);
  const auto L = CUBLAS_SIDE_LEFT;
  const auto N = CUBLAS_OP_N;
  DETEXP_DISPATCH4(T, return api.cublasStrsmBatched(h, L, uplo, N, diag, n, n, alpha, A, n, B, n, batch),
                   return api.cublasDtrsmBatched(h, L, uplo, N, diag, n, n, alpha, A, n, B, n, batch),
                   return api.cublasCtrsmBatched(h, L, uplo, N, diag, n, n, alpha, A, n, B, n, batch),
                   return api.cublasZtrsmBatched(h, L, uplo, N, diag, n, n, alpha, A, n, B, n, batch))
}

// DETEXP_GPU_CHECK_INFO (Tuning::check_info): a device flag, zeroed on the stream, for the
// kernels that read cuSOLVER/cuBLAS info codes; nullptr (no flag, no synchronisation) otherwise.
Status info_flag(cudaStream_t stream, const ScratchFn& scratch, int** flag) {
  *flag = nullptr;
  if (!tuning().check_info) return Status();
  DETEXP_RETURN_IF_ERROR(alloc(scratch, 1, flag, "status flag"));
  return cuda_check(cudaMemsetAsync(*flag, 0, sizeof(int), stream), "cudaMemsetAsync(status flag)");
}

// Copies the flag to the host after the stream drains it (0 when checking is off).
Status read_flag(cudaStream_t stream, const int* flag, int* host) {
  *host = 0;
  if (flag == nullptr) return Status();
  DETEXP_RETURN_IF_ERROR(cuda_check(cudaMemcpyAsync(host, flag, sizeof(int), cudaMemcpyDeviceToHost, stream),
                                    "cudaMemcpyAsync(info)"));
  return cuda_check(cudaStreamSynchronize(stream), "cudaStreamSynchronize(info)");
}

// Most matrices per cuBLAS/cuSOLVER batched call (their counts are int; workspaces grow with it).
constexpr std::int64_t kLibraryChunk = 1 << 20;

template <class T, class R>
Status slogdet_large(cudaStream_t stream, int device, const T* a, T* lu, int* perm, T* sign, R* lad,
                     std::int64_t batch, int n, const ScratchFn& scratch) {
  std::string err;
  SolverHandles* h = solver_handles(stream, &err, device);
  if (h == nullptr) return error(Code::kUnavailable, "detexp GPU slogdet for n > 32 needs cuSOLVER/cuBLAS: " + err);
  const SolverApi& api = solver_api();
  const std::int64_t nn = static_cast<std::int64_t>(n) * n;
  int *ipiv, *info, *finite, *bad;
  DETEXP_RETURN_IF_ERROR(alloc(scratch, batch * n, &ipiv, "pivots"));
  DETEXP_RETURN_IF_ERROR(alloc(scratch, batch, &info, "info"));
  DETEXP_RETURN_IF_ERROR(alloc(scratch, batch, &finite, "finite flags"));
  DETEXP_RETURN_IF_ERROR(info_flag(stream, scratch, &bad));
  const std::int64_t blocks = (batch + 127) / 128;
  DETEXP_RETURN_IF_ERROR(launch_finite_flags(stream, dev(a), finite, batch, n));
  slogdet_infinities_kernel<<<static_cast<unsigned>(blocks), 128, 0, stream>>>(dev(a), dev(lu), perm, finite,
                                                                               dev(sign), lad, batch, n);
  DETEXP_RETURN_IF_ERROR(launch_check("slogdet_infinities_kernel"));
  DETEXP_RETURN_IF_ERROR(cuda_check(cudaMemcpyAsync(lu, a, batch * nn * sizeof(T), cudaMemcpyDeviceToDevice, stream),
                                    "cudaMemcpyAsync(lu)"));
  const Tuning& tune = tuning();
  {
    std::lock_guard<std::mutex> guard(h->lock);
    if (n <= tune.batched_max_n && batch >= tune.batched_min_batch) {
      T** ptrs;
      DETEXP_RETURN_IF_ERROR(alloc(scratch, std::min(batch, kLibraryChunk), &ptrs, "pointer array"));
      DETEXP_RETURN_IF_ERROR(for_each_launch(batch, kLibraryChunk, [&](std::int64_t s, std::int64_t c) {
        DETEXP_RETURN_IF_ERROR(launch_pointer_array(stream, lu + s * nn, nn, ptrs, c));
        return blas_check(getrf_batched(api, h->blas, n, ptrs, ipiv + s * n, info + s, static_cast<int>(c)),
                          "cublas<t>getrfBatched");
      }));
    } else {
      int lwork = 0;
      DETEXP_RETURN_IF_ERROR(solver_check(getrf_buffer_size(api, h->solver, n, lu, &lwork), "cusolverDn<t>getrf_bufferSize"));
      T* work;
      DETEXP_RETURN_IF_ERROR(alloc(scratch, lwork, &work, "getrf workspace"));
      for (std::int64_t m = 0; m < batch; ++m) {
        DETEXP_RETURN_IF_ERROR(solver_check(getrf(api, h->solver, n, lu + m * nn, work, ipiv + m * n, info + m),
                                            "cusolverDn<t>getrf"));
      }
    }
  }
  finish_getrf_kernel<<<static_cast<unsigned>(blocks), 128, 0, stream>>>(dev(lu), ipiv, info, finite, perm, dev(sign), lad,
                                                                         batch, n, bad);
  DETEXP_RETURN_IF_ERROR(launch_check("finish_getrf_kernel"));
  int host_bad = 0;
  DETEXP_RETURN_IF_ERROR(read_flag(stream, bad, &host_bad));
  if (host_bad != 0) {
    return error(Code::kInternal, "getrf reported an invalid argument (info = " + std::to_string(host_bad) +
                                      ") for n = " + std::to_string(n));
  }
  return Status();
}

// X = P (column-major X(i, j) = [perm[i] == j]), the right-hand side of L U X = P.
template <class T>
__global__ void permutation_rhs_kernel(const int* __restrict__ perm, T* __restrict__ x, std::int64_t total, int n) {
  const std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (e >= total) return;
  const std::int64_t nn = static_cast<std::int64_t>(n) * n;
  const std::int64_t m = e / nn;
  const int r = static_cast<int>(e % nn);
  const int i = r % n, j = r / n;
  x[e] = perm[m * n + i] == j ? T(1) : T(0);
}

template <class T>
Status inverse_large(cudaStream_t stream, int device, const T* lu, const int* perm, T* inv, std::int64_t batch,
                     int n, const ScratchFn& scratch) {
  std::string err;
  SolverHandles* h = solver_handles(stream, &err, device);
  if (h == nullptr) return error(Code::kUnavailable, "detexp GPU inverse_from_lu for n > 32 needs cuBLAS: " + err);
  const SolverApi& api = solver_api();
  const std::int64_t nn = static_cast<std::int64_t>(n) * n;
  const std::int64_t total = batch * nn;
  {
    const std::int64_t blocks = (total + 255) / 256;  // one thread per element: 5e11 elements fit
    if (blocks > kMaxGridX) return error(Code::kInvalidArgument, "inverse_from_lu: batch too large for one launch");
    permutation_rhs_kernel<<<static_cast<unsigned>(blocks), 256, 0, stream>>>(perm, dev(inv), total, n);
    DETEXP_RETURN_IF_ERROR(launch_check("permutation_rhs_kernel"));
  }
  T **fp, **xp;
  const std::int64_t chunk = std::min(batch, kLibraryChunk);
  DETEXP_RETURN_IF_ERROR(alloc(scratch, chunk, &fp, "pointer array"));
  DETEXP_RETURN_IF_ERROR(alloc(scratch, chunk, &xp, "pointer array"));
  std::lock_guard<std::mutex> guard(h->lock);
  return for_each_launch(batch, kLibraryChunk, [&](std::int64_t s, std::int64_t c) {
    DETEXP_RETURN_IF_ERROR(launch_pointer_array(stream, const_cast<T*>(lu) + s * nn, nn, fp, c));
    DETEXP_RETURN_IF_ERROR(launch_pointer_array(stream, inv + s * nn, nn, xp, c));
    DETEXP_RETURN_IF_ERROR(blas_check(trsm_batched(api, h->blas, CUBLAS_FILL_MODE_LOWER, CUBLAS_DIAG_UNIT, n, fp, xp,
                                                   static_cast<int>(c)),
                                      "cublas<t>trsmBatched(L)"));
    return blas_check(trsm_batched(api, h->blas, CUBLAS_FILL_MODE_UPPER, CUBLAS_DIAG_NON_UNIT, n, fp, xp,
                                   static_cast<int>(c)),
                      "cublas<t>trsmBatched(U)");
  });
}

// ---- adjugate ------------------------------------------------------------------------------------
template <class T>
cusolverStatus_t gesvdj_batched_buffer_size(const SolverApi& api, cusolverDnHandle_t h, int n, const T* a,
                                            const real_t<dev_t<T>>* s, const T* u, const T* v, int* lwork,
                                            gesvdjInfo_t params, int batch) {
  const auto J = CUSOLVER_EIG_MODE_VECTOR;
  auto A = reinterpret_cast<const lib_t<T>*>(a);
  auto U = reinterpret_cast<const lib_t<T>*>(u);
  auto V = reinterpret_cast<const lib_t<T>*>(v);
  DETEXP_DISPATCH4(T, return api.cusolverDnSgesvdjBatched_bufferSize(h, J, n, n, A, n, s, U, n, V, n, lwork, params, batch),
                   return api.cusolverDnDgesvdjBatched_bufferSize(h, J, n, n, A, n, s, U, n, V, n, lwork, params, batch),
                   return api.cusolverDnCgesvdjBatched_bufferSize(h, J, n, n, A, n, s, U, n, V, n, lwork, params, batch),
                   return api.cusolverDnZgesvdjBatched_bufferSize(h, J, n, n, A, n, s, U, n, V, n, lwork, params, batch))
}

template <class T>
cusolverStatus_t gesvdj_batched(const SolverApi& api, cusolverDnHandle_t h, int n, T* a, real_t<dev_t<T>>* s, T* u,
                                T* v, T* work, int lwork, int* info, gesvdjInfo_t params, int batch) {
  const auto J = CUSOLVER_EIG_MODE_VECTOR;
  auto A = reinterpret_cast<lib_t<T>*>(a);
  auto U = reinterpret_cast<lib_t<T>*>(u);
  auto V = reinterpret_cast<lib_t<T>*>(v);
  auto Wk = reinterpret_cast<lib_t<T>*>(work);
  DETEXP_DISPATCH4(T, return api.cusolverDnSgesvdjBatched(h, J, n, n, A, n, s, U, n, V, n, Wk, lwork, info, params, batch),
                   return api.cusolverDnDgesvdjBatched(h, J, n, n, A, n, s, U, n, V, n, Wk, lwork, info, params, batch),
                   return api.cusolverDnCgesvdjBatched(h, J, n, n, A, n, s, U, n, V, n, Wk, lwork, info, params, batch),
                   return api.cusolverDnZgesvdjBatched(h, J, n, n, A, n, s, U, n, V, n, Wk, lwork, info, params, batch))
}

template <class T>
cusolverStatus_t gesvdj_buffer_size(const SolverApi& api, cusolverDnHandle_t h, int n, const T* a,
                                    const real_t<dev_t<T>>* s, const T* u, const T* v, int* lwork,
                                    gesvdjInfo_t params) {
  const auto J = CUSOLVER_EIG_MODE_VECTOR;
  auto A = reinterpret_cast<const lib_t<T>*>(a);
  auto U = reinterpret_cast<const lib_t<T>*>(u);
  auto V = reinterpret_cast<const lib_t<T>*>(v);
  DETEXP_DISPATCH4(T, return api.cusolverDnSgesvdj_bufferSize(h, J, 0, n, n, A, n, s, U, n, V, n, lwork, params),
                   return api.cusolverDnDgesvdj_bufferSize(h, J, 0, n, n, A, n, s, U, n, V, n, lwork, params),
                   return api.cusolverDnCgesvdj_bufferSize(h, J, 0, n, n, A, n, s, U, n, V, n, lwork, params),
                   return api.cusolverDnZgesvdj_bufferSize(h, J, 0, n, n, A, n, s, U, n, V, n, lwork, params))
}

template <class T>
cusolverStatus_t gesvdj(const SolverApi& api, cusolverDnHandle_t h, int n, T* a, real_t<dev_t<T>>* s, T* u, T* v,
                        T* work, int lwork, int* info, gesvdjInfo_t params) {
  const auto J = CUSOLVER_EIG_MODE_VECTOR;
  auto A = reinterpret_cast<lib_t<T>*>(a);
  auto U = reinterpret_cast<lib_t<T>*>(u);
  auto V = reinterpret_cast<lib_t<T>*>(v);
  auto Wk = reinterpret_cast<lib_t<T>*>(work);
  DETEXP_DISPATCH4(T, return api.cusolverDnSgesvdj(h, J, 0, n, n, A, n, s, U, n, V, n, Wk, lwork, info, params),
                   return api.cusolverDnDgesvdj(h, J, 0, n, n, A, n, s, U, n, V, n, Wk, lwork, info, params),
                   return api.cusolverDnCgesvdj(h, J, 0, n, n, A, n, s, U, n, V, n, Wk, lwork, info, params),
                   return api.cusolverDnZgesvdj(h, J, 0, n, n, A, n, s, U, n, V, n, Wk, lwork, info, params))
}

// others[m, i] = prod_{j != i} s_j (prefix/suffix products, no division: exact at rank <= n-1);
// phase[m] = conj(det V) det U. With checking on (bad_info != nullptr), flags a finite input whose
// SVD reported an error or did not converge.
template <class T>
__global__ void adjugate_prepare_kernel(const real_t<T>* __restrict__ s, const T* __restrict__ sign_u,
                                        const T* __restrict__ sign_v, const int* __restrict__ info,
                                        const int* __restrict__ finite, real_t<T>* __restrict__ others,
                                        T* __restrict__ phase, std::int64_t batch, int n, int* bad_info) {
  using R = real_t<T>;
  const std::int64_t m = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (m >= batch) return;
  if (bad_info != nullptr && finite[m] && info[m] != 0) atomicCAS(bad_info, 0, info[m]);
  const R* sv = s + m * n;
  R* o = others + m * n;
  R prefix = 1;
  for (int i = 0; i < n; ++i) {
    o[i] = prefix;
    prefix *= sv[i];
  }
  R suffix = 1;
  for (int i = n - 1; i >= 0; --i) {
    o[i] *= suffix;
    suffix *= sv[i];
  }
  phase[m] = conj_of(sign_v[m]) * sign_u[m];
}

// adj(B)(i, j) = phase * sum_k V(i, k) others_k conj(U(j, k)), column-major; NaN for non-finite input.
template <class T>
__global__ void adjugate_combine_kernel(const T* __restrict__ u, const T* __restrict__ v,
                                        const real_t<T>* __restrict__ others, const T* __restrict__ phase,
                                        const int* __restrict__ finite, T* __restrict__ out, std::int64_t total, int n) {
  const std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (e >= total) return;
  const std::int64_t nn = static_cast<std::int64_t>(n) * n;
  const std::int64_t m = e / nn;
  const int r = static_cast<int>(e % nn);
  const int i = r % n, j = r / n;
  if (!finite[m]) {
    out[e] = nan_scalar<T>();
    return;
  }
  const T* U = u + m * nn;
  const T* V = v + m * nn;
  const real_t<T>* o = others + m * n;
  T acc = T(0);
  for (int k = 0; k < n; ++k) acc += V[i + static_cast<std::int64_t>(k) * n] * o[k] * conj_of(U[j + static_cast<std::int64_t>(k) * n]);
  out[e] = phase[m] * acc;
}

}  // namespace

// ---- public launchers ------------------------------------------------------------------------------
const Tuning& tuning() {
  static const Tuning t = [] {
    Tuning x;
    if (const char* e = std::getenv("DETEXP_GPU_WARP_MAX_N")) {
      x.warp_max_n = std::max(plan::kLuRegisterMaxN, std::min(plan::kLuWarpMaxN, std::atoi(e)));
    }
    if (const char* e = std::getenv("DETEXP_GPU_BATCHED_MAX_N")) x.batched_max_n = std::atoi(e);
    if (const char* e = std::getenv("DETEXP_GPU_BATCHED_MIN_BATCH")) x.batched_min_batch = std::atoll(e);
    if (const char* e = std::getenv("DETEXP_GPU_WORKSPACE_BUDGET_MB")) {
      x.workspace_budget_bytes = std::max<std::int64_t>(1, std::atoll(e)) << 20;
    }
    if (const char* e = std::getenv("DETEXP_GPU_CHECK_INFO")) x.check_info = *e && *e != '0';
    return x;
  }();
  return t;
}

template <class T, class R>
Status slogdet(cudaStream_t stream, int device, const T* a_host_t, T* lu_host_t, int* perm, T* sign_host_t, R* lad,
               std::int64_t batch, int n, const ScratchFn& scratch) {
  using D = dev_t<T>;
  const D* a = dev(a_host_t);
  D* lu = dev(lu_host_t);
  D* sign = dev(sign_host_t);
  if (batch <= 0) return Status();
  if (n == 0) {
    fill_empty_slogdet_kernel<<<static_cast<unsigned>((batch + 255) / 256), 256, 0, stream>>>(sign, lad, batch);
    return launch_check("fill_empty_slogdet_kernel");
  }
  switch (n) {
    case 1: return launch_slogdet_fixed<1>(stream, a, lu, perm, sign, lad, batch);
    case 2: return launch_slogdet_fixed<2>(stream, a, lu, perm, sign, lad, batch);
    case 3: return launch_slogdet_fixed<3>(stream, a, lu, perm, sign, lad, batch);
    case 4: return launch_slogdet_fixed<4>(stream, a, lu, perm, sign, lad, batch);
    case 5: return launch_slogdet_fixed<5>(stream, a, lu, perm, sign, lad, batch);
    case 6: return launch_slogdet_fixed<6>(stream, a, lu, perm, sign, lad, batch);
    case 7: return launch_slogdet_fixed<7>(stream, a, lu, perm, sign, lad, batch);
    case 8: return launch_slogdet_fixed<8>(stream, a, lu, perm, sign, lad, batch);
    default: break;
  }
  if (n <= plan::kLuHalfWarpMaxN && n <= tuning().warp_max_n) {
    return launch_slogdet_warp<plan::kLuHalfWarpMaxN>(stream, a, lu, perm, sign, lad, batch, n);
  }
  if (n <= tuning().warp_max_n) return launch_slogdet_warp<plan::kLuWarpMaxN>(stream, a, lu, perm, sign, lad, batch, n);
  return slogdet_large(stream, device, a_host_t, lu_host_t, perm, sign_host_t, lad, batch, n, scratch);
}

template <class T>
Status inverse_from_lu(cudaStream_t stream, int device, const T* lu_host_t, const int* perm, T* inv_host_t,
                       std::int64_t batch, int n, const ScratchFn& scratch) {
  using D = dev_t<T>;
  const D* lu = dev(lu_host_t);
  D* inv = dev(inv_host_t);
  if (batch <= 0 || n == 0) return Status();
  switch (n) {
    case 1: return launch_inverse_fixed<1>(stream, lu, perm, inv, batch);
    case 2: return launch_inverse_fixed<2>(stream, lu, perm, inv, batch);
    case 3: return launch_inverse_fixed<3>(stream, lu, perm, inv, batch);
    case 4: return launch_inverse_fixed<4>(stream, lu, perm, inv, batch);
    case 5: return launch_inverse_fixed<5>(stream, lu, perm, inv, batch);
    case 6: return launch_inverse_fixed<6>(stream, lu, perm, inv, batch);
    case 7: return launch_inverse_fixed<7>(stream, lu, perm, inv, batch);
    case 8: return launch_inverse_fixed<8>(stream, lu, perm, inv, batch);
    default: break;
  }
  if (n <= plan::kLuHalfWarpMaxN) return launch_inverse_columns<plan::kLuHalfWarpMaxN>(stream, lu, perm, inv, batch, n);
  if (n <= plan::kLuWarpMaxN) return launch_inverse_columns<plan::kLuWarpMaxN>(stream, lu, perm, inv, batch, n);
  return inverse_large(stream, device, lu_host_t, perm, inv_host_t, batch, n, scratch);
}

template <class T>
Status adjugate(cudaStream_t stream, int device, const T* a, T* out, std::int64_t batch, int n,
                const ScratchFn& scratch) {
  using D = dev_t<T>;
  using R = real_t<D>;
  if (batch <= 0 || n == 0) return Status();
  const std::int64_t nn = static_cast<std::int64_t>(n) * n;
  if (n == 1) {  // adj of a 1×1 matrix is 1 (as on the CPU, whatever the entry)
    fill_kernel<<<static_cast<unsigned>((batch + 255) / 256), 256, 0, stream>>>(dev(out), batch, D(1));
    return launch_check("fill_kernel");
  }
  std::string err;
  SolverHandles* h = solver_handles(stream, &err, device);
  if (h == nullptr) return error(Code::kUnavailable, "detexp GPU adjugate needs cuSOLVER: " + err);
  const SolverApi& api = solver_api();
  T *work_a, *u, *v, *lu_scratch, *sign_u, *sign_v;
  R *s, *lad_scratch, *others;
  D* phase;
  int *info, *finite, *perm_scratch, *bad;
  DETEXP_RETURN_IF_ERROR(alloc(scratch, batch * nn, &work_a, "SVD input"));
  DETEXP_RETURN_IF_ERROR(alloc(scratch, batch * nn, &u, "U"));
  DETEXP_RETURN_IF_ERROR(alloc(scratch, batch * nn, &v, "V"));
  DETEXP_RETURN_IF_ERROR(alloc(scratch, batch * nn, &lu_scratch, "LU of U and V"));
  DETEXP_RETURN_IF_ERROR(alloc(scratch, batch * n, &perm_scratch, "perm"));
  DETEXP_RETURN_IF_ERROR(alloc(scratch, batch * n, &s, "singular values"));
  DETEXP_RETURN_IF_ERROR(alloc(scratch, batch * n, &others, "products"));
  DETEXP_RETURN_IF_ERROR(alloc(scratch, batch, &sign_u, "det U"));
  DETEXP_RETURN_IF_ERROR(alloc(scratch, batch, &sign_v, "det V"));
  DETEXP_RETURN_IF_ERROR(alloc(scratch, batch, &lad_scratch, "log|det|"));
  DETEXP_RETURN_IF_ERROR(alloc(scratch, batch, &phase, "phase"));
  DETEXP_RETURN_IF_ERROR(alloc(scratch, batch, &info, "info"));
  DETEXP_RETURN_IF_ERROR(alloc(scratch, batch, &finite, "finite flags"));
  DETEXP_RETURN_IF_ERROR(info_flag(stream, scratch, &bad));
  DETEXP_RETURN_IF_ERROR(cuda_check(cudaMemcpyAsync(work_a, a, batch * nn * sizeof(T), cudaMemcpyDeviceToDevice, stream),
                                    "cudaMemcpyAsync(adjugate input)"));
  DETEXP_RETURN_IF_ERROR(launch_finite_flags(stream, dev(a), finite, batch, n));
  Status st = [&]() -> Status {
    std::lock_guard<std::mutex> guard(h->lock);
    // The SVD parameters live with the handles: work still queued on the stream may read them.
    if (h->svd_params == nullptr) {
      DETEXP_RETURN_IF_ERROR(solver_check(api.cusolverDnCreateGesvdjInfo(&h->svd_params), "cusolverDnCreateGesvdjInfo"));
    }
    gesvdjInfo_t params = h->svd_params;
    if (n <= 32) {
      // lwork is an int: its slope per matrix (from batches of 1 and 2) caps the chunk so that it
      // cannot overflow, and one workspace of the largest chunk serves every chunk.
      int lwork1 = 0, lwork2 = 0;
      DETEXP_RETURN_IF_ERROR(solver_check(
          gesvdj_batched_buffer_size(api, h->solver, n, work_a, s, u, v, &lwork1, params, 1),
          "cusolverDn<t>gesvdjBatched_bufferSize"));
      DETEXP_RETURN_IF_ERROR(solver_check(
          gesvdj_batched_buffer_size(api, h->solver, n, work_a, s, u, v, &lwork2, params, std::min<std::int64_t>(batch, 2)),
          "cusolverDn<t>gesvdjBatched_bufferSize"));
      const std::int64_t chunk = batched_workspace_chunk(lwork1, batch >= 2 ? lwork2 : 2 * lwork1, sizeof(T),
                                                         std::min(batch, kLibraryChunk),
                                                         tuning().workspace_budget_bytes);
      if (chunk < 1) return error(Code::kResourceExhausted, "gesvdjBatched workspace does not fit an int");
      int lwork = 0;
      DETEXP_RETURN_IF_ERROR(solver_check(
          gesvdj_batched_buffer_size(api, h->solver, n, work_a, s, u, v, &lwork, params, static_cast<int>(chunk)),
          "cusolverDn<t>gesvdjBatched_bufferSize"));
      if (lwork < lwork1) return error(Code::kInternal, "gesvdjBatched_bufferSize gave " + std::to_string(lwork));
      T* work;
      DETEXP_RETURN_IF_ERROR(alloc(scratch, lwork, &work, "gesvdjBatched workspace"));
      return for_each_launch(batch, chunk, [&](std::int64_t b0, std::int64_t c) {
        return solver_check(gesvdj_batched(api, h->solver, n, work_a + b0 * nn, s + b0 * n, u + b0 * nn, v + b0 * nn,
                                           work, lwork, info + b0, params, static_cast<int>(c)),
                            "cusolverDn<t>gesvdjBatched");
      });
    }
    int lwork = 0;
    DETEXP_RETURN_IF_ERROR(solver_check(gesvdj_buffer_size(api, h->solver, n, work_a, s, u, v, &lwork, params),
                                        "cusolverDn<t>gesvdj_bufferSize"));
    T* work;
    DETEXP_RETURN_IF_ERROR(alloc(scratch, lwork, &work, "gesvdj workspace"));
    for (std::int64_t m = 0; m < batch; ++m) {
      DETEXP_RETURN_IF_ERROR(solver_check(gesvdj(api, h->solver, n, work_a + m * nn, s + m * n, u + m * nn, v + m * nn,
                                                 work, lwork, info + m, params),
                                          "cusolverDn<t>gesvdj"));
    }
    return Status();
  }();
  if (st.ok()) st = slogdet(stream, device, u, lu_scratch, perm_scratch, sign_u, lad_scratch, batch, n, scratch);
  if (st.ok()) st = slogdet(stream, device, v, lu_scratch, perm_scratch, sign_v, lad_scratch, batch, n, scratch);
  if (st.ok()) {
    adjugate_prepare_kernel<<<static_cast<unsigned>((batch + 127) / 128), 128, 0, stream>>>(
        s, dev(sign_u), dev(sign_v), info, finite, others, phase, batch, n, bad);
    st = launch_check("adjugate_prepare_kernel");
  }
  if (st.ok()) {
    const std::int64_t total = batch * nn;
    const std::int64_t blocks = (total + 255) / 256;
    if (st.ok() && blocks > kMaxGridX) st = error(Code::kInvalidArgument, "adjugate: batch too large");
    if (st.ok()) {
      adjugate_combine_kernel<<<static_cast<unsigned>(blocks), 256, 0, stream>>>(dev(u), dev(v), others, phase,
                                                                                 finite, dev(out), total, n);
      st = launch_check("adjugate_combine_kernel");
    }
  }
  int host_bad = 0;
  if (st.ok()) st = read_flag(stream, bad, &host_bad);
  if (!st.ok()) return st;
  if (host_bad != 0) {
    return error(Code::kInternal, "cuSOLVER gesvdj " +
                                      std::string(host_bad < 0 ? "reported an invalid argument" : "did not converge") +
                                      " (info = " + std::to_string(host_bad) + ") for a finite " + std::to_string(n) +
                                      "x" + std::to_string(n) + " matrix in adjugate");
  }
  return Status();
}

template <class T>
Status slogdet_backward(cudaStream_t stream, int device, const T* lu, const int* perm, const T* k, T* out,
                        std::int64_t batch, int n, const ScratchFn& scratch) {
  const std::int64_t total = batch * n * static_cast<std::int64_t>(n);
  if (total == 0) return Status();
  T* inv = nullptr;
  DETEXP_RETURN_IF_ERROR(alloc(scratch, total, &inv, "slogdet_backward"));
  DETEXP_RETURN_IF_ERROR(inverse_from_lu<T>(stream, device, lu, perm, inv, batch, n, scratch));
  constexpr int kThreads = 256;
  return for_each_launch(total, kMaxGridX / kThreads * kThreads, [&](std::int64_t start, std::int64_t count) {
    const std::int64_t blocks = (count + kThreads - 1) / kThreads;
    scaled_adjoint_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(dev(inv), dev(k), dev(out), start,
                                                                                 count, n);
    return launch_check("scaled_adjoint_kernel");
  });
}

#define DETEXP_INSTANTIATE(T, R)                                                                                 \
  template Status slogdet<T, R>(cudaStream_t, int, const T*, T*, int*, T*, R*, std::int64_t, int, const ScratchFn&); \
  template Status inverse_from_lu<T>(cudaStream_t, int, const T*, const int*, T*, std::int64_t, int,                \
                                     const ScratchFn&);                                                             \
  template Status adjugate<T>(cudaStream_t, int, const T*, T*, std::int64_t, int, const ScratchFn&);                \
  template Status slogdet_backward<T>(cudaStream_t, int, const T*, const int*, const T*, T*, std::int64_t, int,     \
                                      const ScratchFn&);

DETEXP_INSTANTIATE(float, float)
DETEXP_INSTANTIATE(double, double)
DETEXP_INSTANTIATE(std::complex<float>, float)
DETEXP_INSTANTIATE(std::complex<double>, double)

}  // namespace gpu
}  // namespace detexp
