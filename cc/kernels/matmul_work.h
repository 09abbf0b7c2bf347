// Detexp>MatMul's work over a range of matrices (see batch_work.h), shared by the TF OpKernel
// (matmul_kernels.cc) and the XLA handler (cc/xla/matmul_ffi.cc).
#pragma once

#include <cstdint>

#include "batch_work.h"
#include "cc/core/batch_matmul.h"
#include "cc/core/scalar.h"

namespace detexp {

// c = op(a) op(b) [batch, n, n], op the adjoint where asked.
template <class T>
struct MatMulWork {
  const T* a;
  const T* b;
  int n;
  bool adjoint_a, adjoint_b;
  T* c;

  int64_t cost() const { return CubicCost(n); }
  void operator()(int64_t begin, int64_t end) const {
    const index_t nn = static_cast<index_t>(n) * n;
    matmul_batch(a + begin * nn, b + begin * nn, end - begin, n, adjoint_a, adjoint_b, c + begin * nn);
  }
};

}  // namespace detexp
