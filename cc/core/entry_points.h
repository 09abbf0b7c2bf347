// The entry points of cc/core that callers outside it use (cc/kernels, cc/pybind), listed once:
// each X(T, return type, name, (parameters), (arguments)) for the dtype T (R: its real type). The list feeds the
// extern template declarations of the headers that define them, their explicit instantiations
// (cc/core/instances/instantiate.h), and the AVX-512 copy's declarations and forwards (avx512.h,
// cc/core/instances/avx512_instantiate.h). Includes nothing of detexp: the AVX-512 copy includes it
// before renaming namespace detexp.
#pragma once

#include <complex>
#include <cstdint>
#include <functional>

// Parameter types beyond the dtypes: std types only, in a namespace that the AVX-512 copy's renaming
// of detexp leaves alone, so that both copies name the same type.
namespace detexp_entry {
// fn(begin, end) over [0, count) blocks on the caller's threads (cost: cycles per block); a null
// pointer runs the blocks in order on the calling thread (expm_multiply.h).
using ParallelBlocks = std::function<void(std::int64_t count, std::int64_t cost_per_block,
                                          const std::function<void(std::int64_t, std::int64_t)>& fn)>;
}  // namespace detexp_entry

// batch_lu.h
#define DETEXP_BATCH_LU_ENTRY_POINTS(X, T, R)                                                                 \
  X(T, void, slogdet_batch, (const T* in, std::int64_t count, int n, T* lu, int* perm, T* sign, R* lad),            \
    (in, count, n, lu, perm, sign, lad))                                                                      \
  X(T, void, scaled_inverse_adjoint_batch, (const T* lu, const int* perm, const T* k, std::int64_t count, int n, T* out), \
    (lu, perm, k, count, n, out))                                                                             \
  X(T, void, inverse_from_lu_batch, (const T* lu, const int* perm, std::int64_t count, int n, T* inv),              \
    (lu, perm, count, n, inv))

// adjugate.h
#define DETEXP_ADJUGATE_ENTRY_POINTS(X, T, R) X(T, void, adjugate, (const T* b, int n, T* out), (b, n, out))

// batch_matmul.h
#define DETEXP_BATCH_MATMUL_ENTRY_POINTS(X, T, R)                                                             \
  X(T, void, matmul_batch, (const T* a, const T* b, std::int64_t count, int n, bool adjoint_a, bool adjoint_b, T* c), \
    (a, b, count, n, adjoint_a, adjoint_b, c))

// expm.h
#define DETEXP_EXPM_ENTRY_POINTS(X, T, R)                                                                     \
  X(T, void, expm_matrix, (const T* a, int n, T* out, int* choice), (a, n, out, choice))                            \
  X(T, void, expm_frechet_matrix, (const T* a, const T* e, int n, T* r, T* l), (a, e, n, r, l))                     \
  X(T, void, expm_frechet_adjoint_matrix, (const T* a, const T* g, int n, int choice, T* out), (a, g, n, choice, out))

// expm_multiply.h
#define DETEXP_EXPM_MULTIPLY_ENTRY_POINTS(X, T, R)                                                         \
  X(T, int, expm_multiply_matrix,                                                                          \
    (const T* a, const T* b, T t, int n, int k, int choice, T* out, const ::detexp_entry::ParallelBlocks* par), \
    (a, b, t, n, k, choice, out, par))                                                                     \
  X(T, void, expm_multiply_grad_matrix,                                                                    \
    (const T* a, const T* b, T t, const T* g, int n, int k, int choice, T* grad_a, T* grad_b, T* grad_t,   \
     const ::detexp_entry::ParallelBlocks* par),                                                           \
    (a, b, t, g, n, k, choice, grad_a, grad_b, grad_t, par))

// The families, each instantiated in translation units of its own (cc/core/instances/lu_*.cc,
// expm_*.cc, expm_multiply_*.cc): the log-determinant family (LU, inverse, adjugate, the
// gradients' products), the matrix exponential, and the action of the exponential.
#define DETEXP_LU_FAMILY_ENTRY_POINTS(X, T, R) \
  DETEXP_BATCH_LU_ENTRY_POINTS(X, T, R) DETEXP_ADJUGATE_ENTRY_POINTS(X, T, R) DETEXP_BATCH_MATMUL_ENTRY_POINTS(X, T, R)
#define DETEXP_EXPM_FAMILY_ENTRY_POINTS(X, T, R) DETEXP_EXPM_ENTRY_POINTS(X, T, R)
#define DETEXP_EXPM_MULTIPLY_FAMILY_ENTRY_POINTS(X, T, R) DETEXP_EXPM_MULTIPLY_ENTRY_POINTS(X, T, R)

#define DETEXP_CORE_ENTRY_POINTS(X, T, R)                                             \
  DETEXP_LU_FAMILY_ENTRY_POINTS(X, T, R) DETEXP_EXPM_FAMILY_ENTRY_POINTS(X, T, R) \
  DETEXP_EXPM_MULTIPLY_FAMILY_ENTRY_POINTS(X, T, R)

// X(T, R) for the four dtypes.
#define DETEXP_CORE_FOR_EACH_DTYPE(X)                                                                         \
  X(float, float) X(double, double) X(std::complex<float>, float) X(std::complex<double>, double)

// An extern template declaration of an entry point (for the headers' DETEXP_*_ENTRY_POINTS lists).
#define DETEXP_EXTERN_ENTRY_POINT(T, ret, name, params, args) extern template ret detexp::name<T> params;
