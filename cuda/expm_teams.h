// Thread teams for cc/core/team.h's interface (rank, size, sync, max) on the GPU:
// groups of W lanes of a warp, or a whole block. Shared by the fused kernels (expm_kernels.cu)
// and the per-matrix steps of the large-n path (expm_blas.cu).
#pragma once

#include <cuda_runtime.h>

#include "cc/core/team.h"
#include "cuda/gpu_plan.h"

namespace detexp {
namespace gpu {

template <class V>
__device__ __forceinline__ V shfl_xor_any(V v, int m, int w, unsigned mask) {
  return __shfl_xor_sync(mask, v, m, w);
}

// W consecutive lanes of a warp (W = 4, 16, 32). `mask` names the group's lanes only: groups of one
// warp take different branches (their matrices differ), so a full-warp mask would be undefined.
template <int W>
struct WarpTeam {
  unsigned mask;
  int lane;
  __device__ WarpTeam()
      : mask(W == 32 ? 0xffffffffu : (((1u << W) - 1u) << (threadIdx.x & 31u & ~(W - 1u)))),
        lane(static_cast<int>(threadIdx.x & (W - 1u))) {}
  DETEXP_HD int rank() const { return lane; }
  DETEXP_HD int size() const { return W; }
  DETEXP_HD void sync() const {
#if defined(__CUDA_ARCH__)
    __syncwarp(mask);
#endif
  }
  template <class V>
  DETEXP_HD V max(V v) const {
#if defined(__CUDA_ARCH__)
    // Butterfly: every lane ends with the maximum (max is exact, so the order does not matter).
    for (int o = W / 2; o > 0; o /= 2) v = nan_max(v, shfl_xor_any(v, o, W, mask));
#endif
    return v;
  }
};

// All threads of the block; `red` is 32 doubles of shared memory.
struct BlockTeam {
  double* red;
  DETEXP_HD int rank() const {
#if defined(__CUDA_ARCH__)
    return static_cast<int>(threadIdx.x);
#else
    return 0;
#endif
  }
  DETEXP_HD int size() const {
#if defined(__CUDA_ARCH__)
    return static_cast<int>(blockDim.x);
#else
    return 1;
#endif
  }
  DETEXP_HD void sync() const {
#if defined(__CUDA_ARCH__)
    __syncthreads();
#endif
  }
  // float, double and int convert to double exactly (NaN included) and back.
  template <class V>
  DETEXP_HD V max(V v) const {
#if defined(__CUDA_ARCH__)
    double x = static_cast<double>(v);
    for (int o = 16; o > 0; o /= 2) x = nan_max(x, __shfl_xor_sync(0xffffffffu, x, o));
    if ((threadIdx.x & 31u) == 0) red[threadIdx.x >> 5] = x;
    __syncthreads();
    x = red[0];
    for (unsigned w = 1; w < (blockDim.x + 31u) / 32u; ++w) x = nan_max(x, red[w]);
    __syncthreads();  // red is reused by the next reduction
    return static_cast<V>(x);
#else
    return v;
#endif
  }
};

constexpr int kBlockTeamThreads = plan::kExpmBlockThreads;  // a multiple of 32: BlockTeam::max shuffles full warps

}  // namespace gpu
}  // namespace detexp
