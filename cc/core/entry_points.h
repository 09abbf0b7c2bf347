// The entry points of cc/core that callers outside it use (cc/kernels, cc/pybind), listed once:
// each X(T, name, (parameters), (arguments)) for the dtype T (R: its real type). The list feeds the
// extern template declarations of the headers that define them, their explicit instantiations
// (cc/core/instances/instantiate.h), and the AVX-512 copy's declarations and forwards (avx512.h,
// cc/core/instances/avx512_instantiate.h). Includes nothing of detexp: the AVX-512 copy includes it
// before renaming namespace detexp.
#pragma once

#include <complex>
#include <cstdint>

// batch_lu.h
#define DETEXP_BATCH_LU_ENTRY_POINTS(X, T, R)                                                                 \
  X(T, slogdet_batch, (const T* in, std::int64_t count, int n, T* lu, int* perm, T* sign, R* lad),            \
    (in, count, n, lu, perm, sign, lad))                                                                      \
  X(T, scaled_inverse_adjoint_batch, (const T* lu, const int* perm, const T* k, std::int64_t count, int n, T* out), \
    (lu, perm, k, count, n, out))                                                                             \
  X(T, inverse_from_lu_batch, (const T* lu, const int* perm, std::int64_t count, int n, T* inv),              \
    (lu, perm, count, n, inv))

// adjugate.h
#define DETEXP_ADJUGATE_ENTRY_POINTS(X, T, R) X(T, adjugate, (const T* b, int n, T* out), (b, n, out))

// batch_matmul.h
#define DETEXP_BATCH_MATMUL_ENTRY_POINTS(X, T, R)                                                             \
  X(T, matmul_batch, (const T* a, const T* b, std::int64_t count, int n, bool adjoint_a, bool adjoint_b, T* c), \
    (a, b, count, n, adjoint_a, adjoint_b, c))

// expm.h
#define DETEXP_EXPM_ENTRY_POINTS(X, T, R)                                                                     \
  X(T, expm_matrix, (const T* a, int n, T* out, int* choice), (a, n, out, choice))                            \
  X(T, expm_frechet_matrix, (const T* a, const T* e, int n, T* r, T* l), (a, e, n, r, l))                     \
  X(T, expm_frechet_adjoint_matrix, (const T* a, const T* g, int n, int choice, T* out), (a, g, n, choice, out))

// The two families, each instantiated in translation units of its own (cc/core/instances/lu_*.cc,
// expm_*.cc): the log-determinant family (LU, inverse, adjugate, the gradients' products) and the
// matrix exponential.
#define DETEXP_LU_FAMILY_ENTRY_POINTS(X, T, R) \
  DETEXP_BATCH_LU_ENTRY_POINTS(X, T, R) DETEXP_ADJUGATE_ENTRY_POINTS(X, T, R) DETEXP_BATCH_MATMUL_ENTRY_POINTS(X, T, R)
#define DETEXP_EXPM_FAMILY_ENTRY_POINTS(X, T, R) DETEXP_EXPM_ENTRY_POINTS(X, T, R)

#define DETEXP_CORE_ENTRY_POINTS(X, T, R) DETEXP_LU_FAMILY_ENTRY_POINTS(X, T, R) DETEXP_EXPM_FAMILY_ENTRY_POINTS(X, T, R)

// X(T, R) for the four dtypes.
#define DETEXP_CORE_FOR_EACH_DTYPE(X)                                                                         \
  X(float, float) X(double, double) X(std::complex<float>, float) X(std::complex<double>, double)

// An extern template declaration of an entry point (for the headers' DETEXP_*_ENTRY_POINTS lists).
#define DETEXP_EXTERN_ENTRY_POINT(T, name, params, args) extern template void detexp::name<T> params;
