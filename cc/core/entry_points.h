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

// expm.h
#define DETEXP_EXPM_ENTRY_POINTS(X, T, R)                                                                     \
  X(T, expm_matrix, (const T* a, int n, T* out, int* choice), (a, n, out, choice))                            \
  X(T, expm_frechet_matrix, (const T* a, const T* e, int n, T* r, T* l), (a, e, n, r, l))                     \
  X(T, expm_frechet_adjoint_matrix, (const T* a, const T* g, int n, int choice, T* out), (a, g, n, choice, out))

#define DETEXP_CORE_ENTRY_POINTS(X, T, R)                                                                     \
  DETEXP_BATCH_LU_ENTRY_POINTS(X, T, R) DETEXP_ADJUGATE_ENTRY_POINTS(X, T, R) DETEXP_EXPM_ENTRY_POINTS(X, T, R)

// X(T, R) for the four dtypes.
#define DETEXP_CORE_FOR_EACH_DTYPE(X)                                                                         \
  X(float, float) X(double, double) X(std::complex<float>, float) X(std::complex<double>, double)

// An extern template declaration of an entry point (for the headers' DETEXP_*_ENTRY_POINTS lists).
#define DETEXP_EXTERN_ENTRY_POINT(T, name, params, args) extern template void detexp::name<T> params;
