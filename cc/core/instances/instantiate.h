// Explicit instantiations of the cc/core entry points for one dtype, DETEXP_INSTANCE_T.
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
template SlogdetValue<T> slogdet_inplace<T>(T*, int, int*);
template void inverse_from_lu<T>(const T*, const int*, int, T*, T*);
template void scaled_inverse_adjoint_from_lu<T>(const T*, const int*, int, T, T*, T*);
template void slogdet_batch<T>(const T*, index_t, int, T*, int*, T*, real_t<T>*);
template void scaled_inverse_adjoint_batch<T>(const T*, const int*, const T*, index_t, int, T*);
template void inverse_from_lu_batch<T>(const T*, const int*, index_t, int, T*);
template void adjugate<T>(const T*, int, T*);
template void expm_matrix<T>(const T*, int, T*, int*);
template void expm_frechet_matrix<T>(const T*, const T*, int, T*, T*);
template void expm_frechet_adjoint_matrix<T>(const T*, const T*, int, int, T*);
}  // namespace detexp
