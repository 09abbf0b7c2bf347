// fast_gemm::product, compiled with AVX-512 flags (CMakeLists.txt) and called only after
// fast_gemm::available(). Eigen is renamed for this file alone, so that its templates
// instantiated here (compiled for AVX-512) never stand in for the AVX build's at link time.
#include "fast_gemm.h"

#define Eigen detexp_eigen_avx512
#include <Eigen/Core>

namespace detexp {
namespace fast_gemm {
namespace {

template <class T>
void product_impl(int n, const T* a, const T* b, T* c, bool accumulate) {
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
  Eigen::Map<const Mat> am(a, n, n), bm(b, n, n);
  Eigen::Map<Mat> cm(c, n, n);
  if (accumulate) {
    cm.noalias() += am * bm;
  } else {
    cm.noalias() = am * bm;
  }
}

}  // namespace

void product(int n, const float* a, const float* b, float* c, bool accumulate) { product_impl(n, a, b, c, accumulate); }
void product(int n, const double* a, const double* b, double* c, bool accumulate) { product_impl(n, a, b, c, accumulate); }
void product(int n, const std::complex<float>* a, const std::complex<float>* b, std::complex<float>* c, bool accumulate) {
  product_impl(n, a, b, c, accumulate);
}
void product(int n, const std::complex<double>* a, const std::complex<double>* b, std::complex<double>* c,
             bool accumulate) {
  product_impl(n, a, b, c, accumulate);
}

}  // namespace fast_gemm
}  // namespace detexp
