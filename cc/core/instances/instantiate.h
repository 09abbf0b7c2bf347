// Explicit instantiations of the cc/core entry points (entry_points.h) for one dtype,
// DETEXP_INSTANCE_T, and one family: DETEXP_INSTANCE_LU (the log-determinant family: LU, inverse,
// adjugate, the gradients' products), DETEXP_INSTANCE_EXPM (the matrix exponential) or
// DETEXP_INSTANCE_EXPM_MULTIPLY (its action, expm_multiply.h). Each dtype
// and family gets its own translation unit (lu_f32.cc, expm_f32.cc, ...): a parallel build
// compiles them side by side, the op library and the pybind11 module share the object code, and
// an edit to one family's headers leaves the other's objects alone. avx512_*.cc compile the same
// lists again for AVX-512 (cc/core/avx512.h).
#define DETEXP_CORE_INSTANTIATE

#if defined(DETEXP_INSTANCE_LU)
#include "cc/core/adjugate.h"
#include "cc/core/batch_lu.h"
#include "cc/core/batch_matmul.h"
#include "cc/core/lu.h"
#define DETEXP_INSTANCE_FAMILY_ENTRY_POINTS DETEXP_LU_FAMILY_ENTRY_POINTS
#elif defined(DETEXP_INSTANCE_EXPM)
#include "cc/core/expm.h"
#define DETEXP_INSTANCE_FAMILY_ENTRY_POINTS DETEXP_EXPM_FAMILY_ENTRY_POINTS
#elif defined(DETEXP_INSTANCE_EXPM_MULTIPLY)
#include "cc/core/expm_multiply.h"
#define DETEXP_INSTANCE_FAMILY_ENTRY_POINTS DETEXP_EXPM_MULTIPLY_FAMILY_ENTRY_POINTS
#else
#error "define DETEXP_INSTANCE_LU, DETEXP_INSTANCE_EXPM or DETEXP_INSTANCE_EXPM_MULTIPLY"
#endif

namespace detexp {
using T = DETEXP_INSTANCE_T;
using R = real_t<T>;
#if defined(DETEXP_INSTANCE_LU)
template SlogdetValue<T> slogdet_inplace<T>(T*, int, int*);
template void inverse_from_lu<T>(const T*, const int*, int, T*, T*);
template void scaled_inverse_adjoint_from_lu<T>(const T*, const int*, int, T, T*, T*);
#endif
#define DETEXP_INSTANTIATE_ENTRY_POINT(T, ret, name, params, args) template ret name<T> params;
DETEXP_INSTANCE_FAMILY_ENTRY_POINTS(DETEXP_INSTANTIATE_ENTRY_POINT, T, R)
#undef DETEXP_INSTANTIATE_ENTRY_POINT
}  // namespace detexp
