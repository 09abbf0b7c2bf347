// Launchers of dx.expm_multiply on the GPU. Framework-free: the TF glue
// (cc/kernels/expm_multiply_kernels_gpu.cc) and the XLA handlers (cc/xla/expm_multiply_ffi_gpu.cc)
// call these.
//
// Conventions are those of the CPU path (cc/core/expm_multiply.h): row-major a [batch, n, n],
// b, g, f [batch, n, k], t [batch]; device pointers; work enqueued on `stream` of GPU `device` (-1:
// the current device). Types are the host types (float, double, std::complex<float|double>).
// Two paths, one algorithm (cc/core/expm_multiply_chain.h):
//   n <= ExpmMultiplyTuning::team_max_n: one team of threads per matrix (cc/core/expm_multiply_team.h,
//     exact power norms), no host synchronisation; the choice codes are not reported (-1: the
//     backward's kernels select again, with the same result);
//   beyond: the host drives each matrix (cc/core/expm_multiply_device.h) with cuBLAS products and
//     reads back every norm (a few stream synchronisations per Taylor term); the codes are reported.
#pragma once

#include <cstdint>

#include "cuda/gpu_plan.h"
#include "cuda/slogdet_launch.h"

namespace detexp {
namespace gpu {

// f := exp(t a) b. choice (host memory, may be null): the code per matrix where the host chose it,
// -1 elsewhere. NaN/Inf in a matrix or its t: NaN for it.
template <class T>
Status expm_multiply(cudaStream_t stream, int device, const T* a, const T* b, const T* t, T* f, int* choice,
                     std::int64_t batch, int n, int k, const ScratchFn& scratch);

// The gradients of Re <g, exp(t a) b> with respect to a, b and t. choice (host memory, may be
// null): the forward's codes, replayed by the host-driven path (the teams select again).
template <class T>
Status expm_multiply_grad(cudaStream_t stream, int device, const T* a, const T* b, const T* t, const T* g,
                          const int* choice, T* grad_a, T* grad_b, T* grad_t, std::int64_t batch, int n, int k,
                          const ScratchFn& scratch);

// Tuning knobs, read once from the environment (for measuring on the GPU machine):
//   DETEXP_GPU_EXPM_MULTIPLY_TEAM_MAX_N  largest n of the team kernels (default and most: gpu_plan.h's
//                                        kExpmMultiplyTeamMaxN, the exact-norm limit of the selection)
//   DETEXP_GPU_EXPM_SHARED_MAX_BYTES, DETEXP_GPU_EXPM_GLOBAL_BUDGET_MB   expm's knobs, also for the
//                                        teams' workspaces (expm_launch.h)
struct ExpmMultiplyTuning {
  int team_max_n = plan::kExpmMultiplyTeamMaxN;
};
const ExpmMultiplyTuning& expm_multiply_tuning();

}  // namespace gpu
}  // namespace detexp
