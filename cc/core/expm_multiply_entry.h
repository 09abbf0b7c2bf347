// The CPU entry points of expm_multiply.h compiled a second time for AVX-512 (cc/core/avx512.h),
// declared here because the AVX build's entry points hand over to them (DETEXP_USE_AVX512).
// Includes nothing of detexp: the AVX-512 copy includes this before renaming namespace detexp.
#pragma once

#include <complex>
#include <cstdint>
#include <functional>

namespace detexp {
namespace avx512 {

// expm_multiply.h's ParallelBlocks, spelled out (std types only: the same type in both copies).
using ExpmMultiplyParallel = std::function<void(std::int64_t, std::int64_t,
                                                const std::function<void(std::int64_t, std::int64_t)>&)>;

#define DETEXP_AVX512_EXPM_MULTIPLY_DECLARE(T, R)                                                          \
  int expm_multiply_matrix(const T* a, const T* b, T t, int n, int k, int choice, T* out,                  \
                           const ExpmMultiplyParallel* par);                                               \
  void expm_multiply_grad_matrix(const T* a, const T* b, T t, const T* g, int n, int k, int choice, T* grad_a, \
                                 T* grad_b, T* grad_t, const ExpmMultiplyParallel* par);
DETEXP_AVX512_EXPM_MULTIPLY_DECLARE(float, float)
DETEXP_AVX512_EXPM_MULTIPLY_DECLARE(double, double)
DETEXP_AVX512_EXPM_MULTIPLY_DECLARE(std::complex<float>, float)
DETEXP_AVX512_EXPM_MULTIPLY_DECLARE(std::complex<double>, double)
#undef DETEXP_AVX512_EXPM_MULTIPLY_DECLARE

}  // namespace avx512
}  // namespace detexp
