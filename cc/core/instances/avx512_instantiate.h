// The AVX-512 copy of cc/core's entry points for one dtype and family (see instantiate.h and
// cc/core/avx512.h), compiled with AVX-512 flags (CMakeLists.txt). cc/core and Eigen are renamed
// for this translation unit alone; the functions declared by avx512.h forward to the renamed
// templates.
#define DETEXP_AVX512_BUILD  // before avx512.h: DETEXP_USE_AVX512 is empty in this copy
#include "cc/core/avx512.h"  // then, before the renaming: its declarations keep namespace detexp

#define Eigen detexp_eigen_avx512
#define detexp detexp_avx512_private
#include "instantiate.h"
#undef detexp

namespace detexp {
namespace avx512 {

namespace copy = ::detexp_avx512_private;
using T = DETEXP_INSTANCE_T;
using R = copy::real_t<T>;

#if defined(DETEXP_INSTANCE_LU)
void slogdet_batch(const T* in, std::int64_t count, int n, T* lu, int* perm, T* sign, R* lad) {
  copy::slogdet_batch<T>(in, count, n, lu, perm, sign, lad);
}
void scaled_inverse_adjoint_batch(const T* lu, const int* perm, const T* k, std::int64_t count, int n, T* out) {
  copy::scaled_inverse_adjoint_batch<T>(lu, perm, k, count, n, out);
}
void inverse_from_lu_batch(const T* lu, const int* perm, std::int64_t count, int n, T* inv) {
  copy::inverse_from_lu_batch<T>(lu, perm, count, n, inv);
}
void adjugate(const T* b, int n, T* out) { copy::adjugate<T>(b, n, out); }
void matmul_batch(const T* a, const T* b, std::int64_t count, int n, bool adjoint_a, bool adjoint_b, T* c) {
  copy::matmul_batch<T>(a, b, count, n, adjoint_a, adjoint_b, c);
}
#else
void expm_matrix(const T* a, int n, T* out, int* choice) { copy::expm_matrix<T>(a, n, out, choice); }
void expm_frechet_matrix(const T* a, const T* e, int n, T* r, T* l) { copy::expm_frechet_matrix<T>(a, e, n, r, l); }
void expm_frechet_adjoint_matrix(const T* a, const T* g, int n, int choice, T* out) {
  copy::expm_frechet_adjoint_matrix<T>(a, g, n, choice, out);
}
#endif

}  // namespace avx512
}  // namespace detexp
