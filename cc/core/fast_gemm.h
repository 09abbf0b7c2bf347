// Square matrix products on CPUs with AVX-512, chosen at run time.
//
// The build targets AVX (TF's own baseline), where Eigen's GEMM runs 8-wide without FMA. On a
// CPU with AVX-512 the same GEMM compiled for it (cc/core/fast_gemm_avx512.cc, a private copy of
// Eigen's templates under another namespace, so nothing it instantiates is shared with the AVX
// build) is 2-3x faster: one thread, this 2-core Xeon, n = 32..256, float32 37-45 -> 84-128
// GFlop/s, float64 14-24 -> 38-57 GFlop/s. expm.h's mat_mul uses it for dynamic sizes.
#pragma once

#include <complex>

namespace detexp {
namespace fast_gemm {

// True when the CPU and OS support AVX-512 F/DQ/VL/BW and FMA, unless the environment variable
// DETEXP_CPU_GEMM=eigen asks for the AVX build's GEMM (read once).
bool available();

// c := a b, or c += a b with accumulate; a, b, c are n×n column-major and do not alias.
void product(int n, const float* a, const float* b, float* c, bool accumulate);
void product(int n, const double* a, const double* b, double* c, bool accumulate);
void product(int n, const std::complex<float>* a, const std::complex<float>* b, std::complex<float>* c, bool accumulate);
void product(int n, const std::complex<double>* a, const std::complex<double>* b, std::complex<double>* c,
             bool accumulate);

}  // namespace fast_gemm
}  // namespace detexp
