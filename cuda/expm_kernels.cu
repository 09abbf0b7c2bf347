// CUDA kernels and launchers of the matrix exponential family (see expm_launch.h). No TF headers.
//
// One algorithm: cc/core/small_expm.h's expm_team — the degree and scaling of expm_select.h and
// the chain of expm_chain.h that every backend runs — per matrix by a team of threads. Every
// decision — NaN/Inf, degree m, squarings s, triangular structure — is taken by the team on the
// device from its own matrix: no host synchronisation, and a matrix that needs fewer products does
// fewer (teams finish independently; a grid-stride loop hands them the next matrix).
//
// Teams by n (gpu_plan.h): 4 lanes (n = 2, 8 matrices per warp), 16 lanes (n = 3, 4), a warp (up to
// n = 32), a block of 256 threads beyond; from DETEXP_GPU_EXPM_BLAS_MIN_N (default 64) cuBLAS
// products instead (expm_blas.cu). The team's workspace (10 n×n slots for expm, 20 for the
// Fréchet derivative and the backward, + O(n)) lives in shared memory when it fits the device's
// per-block opt-in limit and leaves enough warps resident (expm_teams.h's team_grid), otherwise in
// global scratch from the caller, sized for the teams that run at once (not the batch).
#include <cuda_runtime.h>

#include <algorithm>
#include <complex>
#include <cstdlib>
#include <string>

#include "cc/core/small_expm.h"
#include "cuda/expm_blas.h"
#include "cuda/expm_launch.h"
#include "cuda/expm_teams.h"
#include "cuda/gpu_common.h"
#include "cuda/gpu_plan.h"

namespace detexp {
namespace gpu {
namespace {

using namespace common;

// ---- the kernel --------------------------------------------------------------------------------
// Team t of the grid takes matrices t, t + teams_total, ...; its workspace is `ws_bytes` bytes of
// dynamic shared memory (shared = true) or of `gws` at offset t * ws_bytes. Modes as expm_team:
// e == nullptr: r = exp(a); otherwise l = L(a, e) (adjoint: L(a^H, e)) and r = exp(a) if r != nullptr.
template <int W, class T, bool kFrechet>
__global__ void __launch_bounds__(W == 0 ? kBlockTeamThreads : 128)
    expm_team_kernel(const T* __restrict__ a, const T* __restrict__ e, T* __restrict__ r, T* __restrict__ l,
                     bool adjoint, std::int64_t batch, int n, unsigned char* __restrict__ gws, std::int64_t ws_bytes,
                     bool shared) {
  extern __shared__ __align__(16) unsigned char smem[];
  constexpr int kTeamWidth = W == 0 ? kBlockTeamThreads : W;
  const int teams_per_block = W == 0 ? 1 : static_cast<int>(blockDim.x) / W;
  const int team_in_block = W == 0 ? 0 : static_cast<int>(threadIdx.x) / W;
  const std::int64_t teams_total = static_cast<std::int64_t>(gridDim.x) * teams_per_block;
  const std::int64_t team_id = static_cast<std::int64_t>(blockIdx.x) * teams_per_block + team_in_block;
  void* ws = shared ? static_cast<void*>(smem + team_in_block * ws_bytes) : static_cast<void*>(gws + team_id * ws_bytes);
  const std::int64_t nn = static_cast<std::int64_t>(n) * n;
  (void)kTeamWidth;
  if constexpr (W == 0) {
    __shared__ double red[32];
    const BlockTeam team{red};
    for (std::int64_t b = team_id; b < batch; b += teams_total) {
      const std::int64_t off = b * nn;
      expm_team(team, n, a + off, kFrechet ? e + off : nullptr, adjoint, r == nullptr ? nullptr : r + off,
                kFrechet ? l + off : nullptr, ws);
    }
  } else {
    const WarpTeam<W> team;
    for (std::int64_t b = team_id; b < batch; b += teams_total) {
      const std::int64_t off = b * nn;
      expm_team(team, n, a + off, kFrechet ? e + off : nullptr, adjoint, r == nullptr ? nullptr : r + off,
                kFrechet ? l + off : nullptr, ws);
    }
  }
}

template <int W, class T, bool kFrechet>
Status launch_team(cudaStream_t stream, int device, const T* a, const T* e, T* r, T* l, bool adjoint, std::int64_t batch,
                   int n, const ScratchFn& scratch) {
  const std::int64_t ws = expm_team_workspace_bytes<T>(n, kFrechet);
  const int width = W == 0 ? kBlockTeamThreads : W;
  auto kernel = expm_team_kernel<W, dev_t<T>, kFrechet>;
  TeamGrid g;
  DETEXP_RETURN_IF_ERROR(team_grid(reinterpret_cast<const void*>(kernel), device, width, ws, batch, scratch, "expm", &g));
  kernel<<<static_cast<unsigned>(g.blocks), width * g.teams_per_block, static_cast<std::size_t>(g.smem), stream>>>(
      dev(a), dev(e), dev(r), dev(l), adjoint, batch, n, g.gws, ws, g.shared);
  return cuda_check(cudaGetLastError(), "expm_team_kernel");
}

template <class T, bool kFrechet>
Status launch(cudaStream_t stream, int device, const T* a, const T* e, T* r, T* l, bool adjoint, std::int64_t batch,
              int n, const ScratchFn& scratch) {
  if (batch == 0 || n == 0) return Status();
  if (n > 46340) return error(Code::kInvalidArgument, "expm: n = " + std::to_string(n) + " exceeds 46340 (n*n >= 2^31)");
  const std::int64_t nn = static_cast<std::int64_t>(n) * n;
  if (n <= plan::kExpmQuadMaxN) return launch_team<4, T, kFrechet>(stream, device, a, e, r, l, adjoint, batch, n, scratch);
  if (nn <= 16) return launch_team<16, T, kFrechet>(stream, device, a, e, r, l, adjoint, batch, n, scratch);
  if (n >= std::max(expm_tuning().blas_min_n, plan::kExpmBatchedMinNFloor)) {
    return expm_blas<T>(stream, device, a, e, r, l, adjoint, batch, n, scratch);
  }
  if (n <= plan::kExpmWarpMaxN) return launch_team<32, T, kFrechet>(stream, device, a, e, r, l, adjoint, batch, n, scratch);
  return launch_team<0, T, kFrechet>(stream, device, a, e, r, l, adjoint, batch, n, scratch);
}

}  // namespace

const ExpmTuning& expm_tuning() {
  static const ExpmTuning t = [] {
    ExpmTuning x;
    x.shared_max_bytes = env_int("DETEXP_GPU_EXPM_SHARED_MAX_BYTES", -1);
    x.global_budget_bytes = env_int("DETEXP_GPU_EXPM_GLOBAL_BUDGET_MB", plan::kExpmGlobalBudgetMB) << 20;
    x.blas_min_n =
        static_cast<int>(std::min<std::int64_t>(env_int("DETEXP_GPU_EXPM_BLAS_MIN_N", plan::kExpmBatchedMinN), 1 << 20));
    return x;
  }();
  return t;
}

template <class T>
Status expm(cudaStream_t stream, int device, const T* a, T* out, std::int64_t batch, int n, const ScratchFn& scratch) {
  return launch<T, false>(stream, device, a, static_cast<const T*>(nullptr), out, static_cast<T*>(nullptr), false, batch, n,
                          scratch);
}

template <class T>
Status expm_frechet(cudaStream_t stream, int device, const T* a, const T* e, T* r, T* l, std::int64_t batch, int n,
                    const ScratchFn& scratch) {
  return launch<T, true>(stream, device, a, e, r, l, false, batch, n, scratch);
}

template <class T>
Status expm_grad(cudaStream_t stream, int device, const T* a, const T* g, T* out, std::int64_t batch, int n,
                 const ScratchFn& scratch) {
  return launch<T, true>(stream, device, a, g, static_cast<T*>(nullptr), out, true, batch, n, scratch);
}

#define DETEXP_INSTANTIATE_EXPM(T)                                                                             \
  template Status expm<T>(cudaStream_t, int, const T*, T*, std::int64_t, int, const ScratchFn&);               \
  template Status expm_frechet<T>(cudaStream_t, int, const T*, const T*, T*, T*, std::int64_t, int, const ScratchFn&); \
  template Status expm_grad<T>(cudaStream_t, int, const T*, const T*, T*, std::int64_t, int, const ScratchFn&);
DETEXP_INSTANTIATE_EXPM(float)
DETEXP_INSTANTIATE_EXPM(double)
DETEXP_INSTANTIATE_EXPM(std::complex<float>)
DETEXP_INSTANTIATE_EXPM(std::complex<double>)
#undef DETEXP_INSTANTIATE_EXPM

}  // namespace gpu
}  // namespace detexp
