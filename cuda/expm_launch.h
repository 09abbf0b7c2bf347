// Launchers of the matrix exponential family on the GPU. Framework-free: the TF glue
// (cc/kernels/expm_kernels_gpu.cc) and the standalone test (cuda/tests/) both call these.
//
// Conventions are those of the CPU path (cc/core/expm.h, cc/core/small_expm.h): each row-major
// n×n slice is handed to the per-matrix code as it is (a column-major matrix, its transpose);
// every result commutes with that transposition. Types are the host types (float, double,
// std::complex<float|double>). All pointers are device pointers; work is enqueued on `stream`, which
// belongs to GPU `device` (an ordinal; -1: the calling thread's current device); the fused kernels
// never synchronise with the host (the cuBLAS path reads its per-matrix decisions, expm_blas.h). Batch counts are 64-bit. Status, ScratchFn: slogdet_launch.h.
#pragma once

#include <cstdint>

#include "cuda/gpu_plan.h"
#include "cuda/slogdet_launch.h"

namespace detexp {
namespace gpu {

// out := exp(a), [batch, n, n]. NaN/Inf in a matrix gives an all-NaN result for it.
// Small n: fused team kernels, no host synchronisation. n >= ExpmTuning::blas_min_n: cuBLAS
// products with a few host reads of the per-matrix decisions per chunk (expm_blas.h).
template <class T>
Status expm(cudaStream_t stream, int device, const T* a, T* out, std::int64_t batch, int n, const ScratchFn& scratch);

// (r, l) := (exp(a), L(a, e)); r may be null. NaN/Inf in e (a finite) gives exp(a) and NaN in l.
template <class T>
Status expm_frechet(cudaStream_t stream, int device, const T* a, const T* e, T* r, T* l, std::int64_t batch, int n,
                    const ScratchFn& scratch);

// out := L(a^H, g) with the degree and scaling chosen for a: the backward of expm (Detexp>ExpmGrad).
template <class T>
Status expm_grad(cudaStream_t stream, int device, const T* a, const T* g, T* out, std::int64_t batch, int n,
                 const ScratchFn& scratch);

// Tuning knobs, read once from the environment (to measure on the GPU machine):
//   DETEXP_GPU_EXPM_SHARED_MAX_BYTES  largest per-matrix workspace kept in shared memory (default:
//                                     the device's opt-in maximum per block); beyond it, global memory
//   DETEXP_GPU_EXPM_GLOBAL_BUDGET_MB  global scratch for the workspaces of concurrent teams, or of one
//                                     chunk of the large-n path (default 1024)
//   DETEXP_GPU_EXPM_BLAS_MIN_N        smallest n for the cuBLAS path (cuda/expm_blas.cu; default
//                                     gpu_plan.h's 64, never below 3: n = 1, 2 are the teams')
struct ExpmTuning {
  std::int64_t shared_max_bytes = -1;  // -1: the device limit
  std::int64_t global_budget_bytes = plan::kExpmGlobalBudgetMB << 20;
  int blas_min_n = plan::kExpmBatchedMinN;
};
const ExpmTuning& expm_tuning();

}  // namespace gpu
}  // namespace detexp
