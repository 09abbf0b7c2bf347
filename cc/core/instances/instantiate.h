// Explicit instantiations of the cc/core entry points for one dtype, DETEXP_INSTANCE_T, and one
// family: DETEXP_INSTANCE_LU (the log-determinant family: LU, inverse, adjugate, the gradients'
// products) or DETEXP_INSTANCE_EXPM (the matrix exponential). Each dtype and family gets its own
// translation unit (lu_f32.cc, expm_f32.cc, ...): a parallel build compiles them side by side,
// the op library and the pybind11 module share the object code, and an edit to one family's
// headers leaves the other's objects alone. avx512_*.cc compile the same lists again for AVX-512
// (cc/core/avx512.h).
#define DETEXP_CORE_INSTANTIATE

#if defined(DETEXP_INSTANCE_LU)
#include "cc/core/adjugate.h"
#include "cc/core/batch_lu.h"
#include "cc/core/batch_matmul.h"
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
template void matmul_batch<T>(const T*, const T*, index_t, int, bool, bool, T*);
}  // namespace detexp
#elif defined(DETEXP_INSTANCE_EXPM)
#include "cc/core/expm.h"

namespace detexp {
using T = DETEXP_INSTANCE_T;
template void expm_matrix<T>(const T*, int, T*, int*);
template void expm_frechet_matrix<T>(const T*, const T*, int, T*, T*);
template void expm_frechet_adjoint_matrix<T>(const T*, const T*, int, int, T*);
}  // namespace detexp
#else
#error "define DETEXP_INSTANCE_LU or DETEXP_INSTANCE_EXPM"
#endif
