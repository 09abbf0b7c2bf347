// Thread teams for cc/core/team.h's interface (rank, size, sync, max) on the GPU:
// groups of W lanes of a warp, or a whole block, and the layout of a team kernel's launch. Shared
// by the fused kernels (expm_kernels.cu, expm_multiply_kernels.cu) and the per-matrix steps of the
// large-n path (expm_blas.cu).
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "cc/core/team.h"
#include "cuda/expm_launch.h"
#include "cuda/gpu_common.h"
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

// The layout of a team kernel's launch (expm's and expm_multiply's): each team's workspace of
// `ws` bytes in dynamic shared memory when it fits the per-block limit (teams per block: 128
// threads' worth for warp teams, as many as the memory allows) and leaves enough warps resident
// (plan::kTeamMinResidentWarps: a 50 KB workspace, float32 n = 32, would leave 4 warps per SM),
// else in global scratch for the teams resident at once (CUDA's occupancy, registers included),
// within the memory budget; a grid-stride loop in the kernel covers the rest of the batch.
// `kernel`'s shared memory limit is raised once where needed.
struct TeamGrid {
  bool shared = false;
  int teams_per_block = 1;
  std::int64_t smem = 0, blocks = 0;
  unsigned char* gws = nullptr;
};

// Blocks of `threads` threads with `smem` bytes of dynamic shared memory resident per SM of the
// current device (`device`, registers and static shared memory counted); 0 if the query fails.
// Remembered per (kernel, device, threads, smem): the answer never changes, and team_grid runs on
// every launch.
inline int resident_blocks(const void* kernel, int device, int threads, std::int64_t smem) {
  static std::mutex mu;
  static std::map<std::tuple<const void*, int, int, std::int64_t>, int> known;
  if (device < 0 && cudaGetDevice(&device) != cudaSuccess) device = 0;
  const auto key = std::make_tuple(kernel, device, threads, smem);
  {
    std::lock_guard<std::mutex> lock(mu);
    const auto it = known.find(key);
    if (it != known.end()) return it->second;
  }
  int blocks = 0;
  if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, kernel, threads, static_cast<std::size_t>(smem)) !=
      cudaSuccess) {
    (void)cudaGetLastError();  // clear it: the caller falls back to its own estimate
    return 0;
  }
  std::lock_guard<std::mutex> lock(mu);
  known.emplace(key, blocks);
  return blocks;
}

inline Status team_grid(const void* kernel, int device, int width, std::int64_t ws, std::int64_t batch,
                        const ScratchFn& scratch, const char* what, TeamGrid* g) {
  const ExpmTuning& tune = expm_tuning();
  // The block team's static reduction buffer (256 bytes) shares the per-block limit.
  const std::int64_t device_limit =
      common::device_attribute(cudaDevAttrMaxSharedMemoryPerBlockOptin, device, 48 * 1024) - 512;
  std::int64_t shared_limit = device_limit;
  if (tune.shared_max_bytes >= 0) shared_limit = std::min(shared_limit, tune.shared_max_bytes - 512);
  const int global_teams_per_block = width == kBlockTeamThreads ? 1 : 128 / width;
  g->teams_per_block = global_teams_per_block;
  g->shared = ws <= shared_limit;
  if (g->shared) {
    g->teams_per_block = static_cast<int>(std::min<std::int64_t>(g->teams_per_block, shared_limit / ws));
    const std::int64_t smem = g->teams_per_block * ws;
    // Before the occupancy query: above 48 KB it counts only once the kernel may use it.
    if (smem > 48 * 1024) {
      DETEXP_RETURN_IF_ERROR(common::allow_dynamic_shared_once(kernel, device, static_cast<int>(device_limit)));
    }
    const int threads = width * g->teams_per_block;
    const int shared_warps = resident_blocks(kernel, device, threads, smem) * threads / 32;
    if (shared_warps < plan::kTeamMinResidentWarps) {
      const int global_threads = width * global_teams_per_block;
      const int global_warps = resident_blocks(kernel, device, global_threads, 0) * global_threads / 32;
      if (global_warps >= 2 * std::max(shared_warps, 1)) {
        g->shared = false;
        g->teams_per_block = global_teams_per_block;
      }
    }
  }
  g->smem = g->shared ? g->teams_per_block * ws : 0;
  g->blocks = (batch + g->teams_per_block - 1) / g->teams_per_block;
  if (!g->shared) {
    const int sms = common::device_attribute(cudaDevAttrMultiProcessorCount, device, 1);
    const int threads = width * g->teams_per_block;
    int per_sm = resident_blocks(kernel, device, threads, 0);
    if (per_sm <= 0) per_sm = std::max(1, 2048 / threads);
    g->blocks = std::min(g->blocks, static_cast<std::int64_t>(sms) * per_sm);
    g->blocks = std::min(g->blocks, std::max<std::int64_t>(1, tune.global_budget_bytes / (ws * g->teams_per_block)));
    const std::int64_t bytes = g->blocks * g->teams_per_block * ws;
    g->gws = static_cast<unsigned char*>(scratch(static_cast<std::size_t>(bytes)));
    if (g->gws == nullptr) {
      return common::error(Code::kResourceExhausted, "could not allocate " + std::to_string(bytes) +
                                                         " bytes of GPU scratch for the " + what + " workspace");
    }
  }
  g->blocks = std::min<std::int64_t>(g->blocks, std::int64_t{1} << 20);  // grid-stride beyond 2^20 blocks
  return Status();
}


}  // namespace gpu
}  // namespace detexp
