// The log-determinant family's work over a range of matrices (see batch_work.h), shared by the TF
// OpKernels (slogdet_kernels.cc) and the XLA handlers (cc/xla/slogdet_ffi.cc). Row-major [n, n]
// slices go to cc/core as column-major matrices, i.e. transposed; cc/core/small_lu.h says why
// every result comes out right regardless.
#pragma once

#include <cstdint>

#include "batch_work.h"
#include "cc/core/adjugate.h"
#include "cc/core/batch_lu.h"
#include "cc/core/scalar.h"

namespace detexp {

// sign, logabsdet [batch] and, unless lu and perm are null (a forward no gradient reads), the
// factors lu [batch, n, n], perm [batch, n] of a [batch, n, n].
template <class T>
struct SlogdetWork {
  const T* a;
  int n;
  T* lu;
  int* perm;
  T* sign;
  real_t<T>* logabsdet;

  int64_t cost() const { return CubicCost(n); }
  void operator()(int64_t begin, int64_t end) const {
    const index_t nn = static_cast<index_t>(n) * n;
    const bool keep = lu != nullptr;
    slogdet_batch(a + begin * nn, end - begin, n, keep ? lu + begin * nn : nullptr,
                  keep ? perm + begin * n : nullptr, sign + begin, logabsdet + begin);
  }
};

// inv(a) [batch, n, n] from the factors of SlogdetWork; out may be lu (batch_lu.h).
template <class T>
struct InverseFromLuWork {
  const T* lu;
  const int* perm;
  int n;
  T* out;

  int64_t cost() const { return 2 * CubicCost(n); }
  void operator()(int64_t begin, int64_t end) const {
    const index_t nn = static_cast<index_t>(n) * n;
    inverse_from_lu_batch(lu + begin * nn, perm + begin * n, end - begin, n, out + begin * nn);
  }
};

// k[b] * inv(a_b)^H [batch, n, n] from the factors: the slogdet backward; out may be lu.
template <class T>
struct SlogdetBackwardWork {
  const T* lu;
  const int* perm;
  const T* k;
  int n;
  T* out;

  int64_t cost() const { return 2 * CubicCost(n); }
  void operator()(int64_t begin, int64_t end) const {
    const index_t nn = static_cast<index_t>(n) * n;
    scaled_inverse_adjoint_batch(lu + begin * nn, perm + begin * n, k + begin, end - begin, n, out + begin * nn);
  }
};

// adj(a) [batch, n, n], SVD based (cc/core/adjugate.h): about 20 LU factorizations' worth of work.
template <class T>
struct AdjugateWork {
  static constexpr const char* kWhat = "adjugate: input";
  const T* a;
  int n;
  T* out;

  int64_t cost() const { return 20 * CubicCost(n); }
  void operator()(int64_t begin, int64_t end) const {
    const index_t nn = static_cast<index_t>(n) * n;
    for (int64_t i = begin; i < end; ++i) adjugate(a + i * nn, n, out + i * nn);
  }
};

}  // namespace detexp
