// The GPU's size crossovers, all in one table: which kernel serves which n. Each entry says why in a
// line; docs/crossovers.md holds the measurements. None of the GPU code has run on a GPU yet, so
// every entry is provisional, owed a GPU measurement (cuda/README.md says how). The DETEXP_GPU_*
// environment variables named here override an entry at run time, for measuring. (The CPU's table
// is cc/core/cpu_plan.h; the algorithm's own size rules, the same on every backend, are
// cc/core/expm_select.h's policy.)
#pragma once

#include <cstdint>

namespace detexp {
namespace gpu {
namespace plan {

// ---- slogdet, inverse, adjugate ----
// One matrix per thread, in registers (the unrolled templates of small_lu.h). [gpu-lu]
constexpr int kLuRegisterMaxN = 8;
// One matrix per 16-lane group up to this n, per warp beyond. [gpu-lu]
constexpr int kLuHalfWarpMaxN = 16;
// Warp kernels up to this n (DETEXP_GPU_WARP_MAX_N, <= 32); beyond, cuSOLVER/cuBLAS. [gpu-lu]
constexpr int kLuWarpMaxN = 32;
// cuBLAS getrfBatched up to this n (DETEXP_GPU_BATCHED_MAX_N), from this batch
// (DETEXP_GPU_BATCHED_MIN_BATCH); otherwise a loop of cuSOLVER getrf. [gpu-lu]
constexpr int kBatchedLuMaxN = 128;
constexpr std::int64_t kBatchedLuMinBatch = 2;

// ---- the matrix exponential (cc/core/small_expm.h's teams, cc/core/expm_blas_driver.h) ----
// Teams of 4 lanes (8 matrices per warp) up to this n, of 16 lanes up to n² <= 16, a warp up to
// kExpmWarpMaxN, a block of kExpmBlockThreads beyond. [gpu-expm]
constexpr int kExpmQuadMaxN = 2;
constexpr int kExpmWarpMaxN = 32;
constexpr int kExpmBlockThreads = 256;
// From this n the batched cuBLAS path (DETEXP_GPU_EXPM_BLAS_MIN_N; never below
// kExpmBatchedMinNFloor: n = 1 and the real 2×2 closed form are the teams'). [gpu-expm]
constexpr int kExpmBatchedMinN = 64;
constexpr int kExpmBatchedMinNFloor = 3;
// Global scratch for the workspaces of concurrent teams or of one batched chunk
// (DETEXP_GPU_EXPM_GLOBAL_BUDGET_MB). [gpu-expm]
constexpr std::int64_t kExpmGlobalBudgetMB = 1024;
// A team kernel keeps its workspaces in shared memory unless that leaves fewer than this many warps
// resident per SM (registers counted) and global workspaces would at least double them
// (expm_teams.h's team_grid; expm's and expm_multiply's teams). [gpu-expm]
constexpr int kTeamMinResidentWarps = 8;

// ---- the action of the exponential (cc/core/expm_multiply_team.h, cuda/expm_multiply_kernels.cu) ----
// Teams up to n = kExpmMultiplyTeamMaxN (the exact-norm limit of the shared selection); from
// there, host-driven cuBLAS products with the shared block estimates. [gpu-expm-multiply]
constexpr int kExpmMultiplyTeamMaxN = 64;
// The dense route's ratio (expm_multiply_select.h's kDenseProducts rule) for the teams: both routes
// run the team's plain loops, a thin product's multiply-add costs about a square one's. [gpu-expm-multiply]
struct ExpmMultiplyTeamDenseRatio {
  template <class T>
  static constexpr double kDenseRatio = 1.0;
};

// The dense route's ratio for the host-driven cuBLAS path (n > kExpmMultiplyTeamMaxN): a Taylor
// term costs a product plus a host read of its norms (~20 us, whatever n and k), the dense route a
// few tens of GEMMs and reads (n = 2048 float32: ~9 ms, 450 terms; n = 256: ~0.3 ms, 15 terms),
// so the break-even m s k is ~0.02 kDenseProducts n. Estimated, owed a GPU measurement. [gpu-expm-multiply]
struct ExpmMultiplyBlasDenseRatio {
  template <class T>
  static constexpr double kDenseRatio = 0.02;
};

}  // namespace plan
}  // namespace gpu
}  // namespace detexp
