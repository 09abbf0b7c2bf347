// The AVX-512 copy of expm_multiply.h's entry points (see cc/core/avx512.h and avx512_f32.cc):
// cc/core and Eigen renamed for this translation unit, the declarations of expm_multiply_entry.h
// forwarding to the renamed templates.
#define DETEXP_AVX512_BUILD
#include "cc/core/avx512.h"
#include "cc/core/expm_multiply_entry.h"

#define Eigen detexp_eigen_avx512
#define detexp detexp_avx512_private
#define DETEXP_EXPM_MULTIPLY_INSTANTIATE
#include "cc/core/expm_multiply.h"
#undef detexp

namespace detexp {
namespace avx512 {

namespace copy = ::detexp_avx512_private;

#define DETEXP_AVX512_EXPM_MULTIPLY_FORWARD(T)                                                              \
  int expm_multiply_matrix(const T* a, const T* b, T t, int n, int k, int choice, T* out,                   \
                           const ExpmMultiplyParallel* par) {                                               \
    return copy::expm_multiply_matrix<T>(a, b, t, n, k, choice, out, par);                                  \
  }                                                                                                         \
  void expm_multiply_grad_matrix(const T* a, const T* b, T t, const T* g, int n, int k, int choice, T* grad_a, \
                                 T* grad_b, T* grad_t, const ExpmMultiplyParallel* par) {                   \
    copy::expm_multiply_grad_matrix<T>(a, b, t, g, n, k, choice, grad_a, grad_b, grad_t, par);              \
  }
DETEXP_AVX512_EXPM_MULTIPLY_FORWARD(float)
DETEXP_AVX512_EXPM_MULTIPLY_FORWARD(double)
DETEXP_AVX512_EXPM_MULTIPLY_FORWARD(std::complex<float>)
DETEXP_AVX512_EXPM_MULTIPLY_FORWARD(std::complex<double>)
#undef DETEXP_AVX512_EXPM_MULTIPLY_FORWARD

}  // namespace avx512
}  // namespace detexp
