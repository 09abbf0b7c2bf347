// Explicit instantiations of the cc/core entry points (entry_points.h) for one dtype, DETEXP_INSTANCE_T.
// Each dtype gets its own translation unit (f32.cc, ...) so that a parallel build compiles them
// side by side, and the op library and the pybind11 module share the object code. avx512_*.cc
// compile the same list again for AVX-512 (cc/core/avx512.h).
#define DETEXP_CORE_INSTANTIATE
#include "cc/core/adjugate.h"
#include "cc/core/batch_lu.h"
#include "cc/core/expm.h"
#include "cc/core/lu.h"

namespace detexp {
using T = DETEXP_INSTANCE_T;
using R = real_t<T>;
template SlogdetValue<T> slogdet_inplace<T>(T*, int, int*);
template void inverse_from_lu<T>(const T*, const int*, int, T*, T*);
template void scaled_inverse_adjoint_from_lu<T>(const T*, const int*, int, T, T*, T*);
#define DETEXP_INSTANTIATE_ENTRY_POINT(T, name, params, args) template void name<T> params;
DETEXP_CORE_ENTRY_POINTS(DETEXP_INSTANTIATE_ENTRY_POINT, T, R)
#undef DETEXP_INSTANTIATE_ENTRY_POINT
}  // namespace detexp
