// The large-n path of the matrix exponential family (cuda/expm_blas.cu), called by the launchers
// of expm_launch.h for n >= DETEXP_GPU_EXPM_BLAS_MIN_N. Modes as small_expm.h's expm_team:
// e == nullptr: r := exp(a); else l := L(a, e) (adjoint: L(a^H, e)) and r := exp(a) if r != nullptr.
// Device pointers, column-major view of row-major slices (expm_launch.h). Synchronises the stream
// a few times per chunk to read per-matrix decisions (cc/core/expm_blas_driver.h).
#pragma once

#include <cstdint>

#include "cuda/slogdet_launch.h"

namespace detexp {
namespace gpu {

template <class T>
Status expm_blas(cudaStream_t stream, int device, const T* a, const T* e, T* r, T* l, bool adjoint, std::int64_t batch, int n,
                 const ScratchFn& scratch);

}  // namespace gpu
}  // namespace detexp
