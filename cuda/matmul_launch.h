// Launcher of Detexp>MatMul on the GPU (see cc/core/batch_matmul.h for why the gradients have their
// own product). Framework-free; host types (float, double, std::complex<float|double>); device
// pointers; work enqueued on `stream`. Status: slogdet_launch.h.
#pragma once

#include <cstdint>

#include "cuda/slogdet_launch.h"

namespace detexp {
namespace gpu {

// c[m] := op(a[m]) op(b[m]) for [batch, n, n] row-major; op = conjugate transpose where asked.
// Every entry is summed in k order by one thread, whatever the batch: batch invariant.
template <class T>
Status matmul(cudaStream_t stream, const T* a, const T* b, T* c, std::int64_t batch, int n, bool adjoint_a,
              bool adjoint_b);

}  // namespace gpu
}  // namespace detexp
