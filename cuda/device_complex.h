// A minimal complex type for device code, layout-compatible with std::complex<R> (two R's, real
// first), so TF's std::complex buffers are reinterpret_cast to it.
//
// Why not cuda::std::complex: its operator* and operator/ carry C99 Annex G recovery of Inf/NaN
// results; in the fully unrolled per-matrix kernels that multiplied NVVM's compile time several
// times over (minutes per arch). Here multiplication is the textbook formula (as LAPACK's, and as
// g++ computes std::complex products for finite operands) and division is Smith's algorithm
// (scaled, no overflow for finite operands). Inf/NaN inputs are classified separately by the
// kernels (all_finite), exactly as on the CPU, so Annex G semantics are not needed.
#pragma once

#include <cmath>

namespace detexp {
namespace gpu {

template <class R>
struct alignas(2 * sizeof(R)) dcomplex {
  R re, im;
  __host__ __device__ constexpr dcomplex(R r = R(0), R i = R(0)) : re(r), im(i) {}
  __host__ __device__ constexpr R real() const { return re; }
  __host__ __device__ constexpr R imag() const { return im; }

  __host__ __device__ dcomplex& operator+=(const dcomplex& o) {
    re += o.re;
    im += o.im;
    return *this;
  }
  __host__ __device__ dcomplex& operator-=(const dcomplex& o) {
    re -= o.re;
    im -= o.im;
    return *this;
  }
  __host__ __device__ dcomplex& operator*=(const dcomplex& o) { return *this = *this * o; }
  __host__ __device__ dcomplex& operator/=(const dcomplex& o) { return *this = *this / o; }

  friend __host__ __device__ dcomplex operator+(const dcomplex& a, const dcomplex& b) {
    return dcomplex(a.re + b.re, a.im + b.im);
  }
  friend __host__ __device__ dcomplex operator-(const dcomplex& a, const dcomplex& b) {
    return dcomplex(a.re - b.re, a.im - b.im);
  }
  friend __host__ __device__ dcomplex operator-(const dcomplex& a) { return dcomplex(-a.re, -a.im); }
  friend __host__ __device__ dcomplex operator*(const dcomplex& a, const dcomplex& b) {
    return dcomplex(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re);
  }
  friend __host__ __device__ dcomplex operator*(const dcomplex& a, R s) { return dcomplex(a.re * s, a.im * s); }
  friend __host__ __device__ dcomplex operator*(R s, const dcomplex& a) { return dcomplex(a.re * s, a.im * s); }
  friend __host__ __device__ dcomplex operator/(const dcomplex& a, const dcomplex& b) {
    // Smith (1962): scale by the larger component of b.
    if (std::fabs(b.re) >= std::fabs(b.im)) {
      const R r = b.im / b.re, d = b.re + b.im * r;
      return dcomplex((a.re + a.im * r) / d, (a.im - a.re * r) / d);
    }
    const R r = b.re / b.im, d = b.im + b.re * r;
    return dcomplex((a.re * r + a.im) / d, (a.im * r - a.re) / d);
  }
  friend __host__ __device__ bool operator==(const dcomplex& a, const dcomplex& b) {
    return a.re == b.re && a.im == b.im;
  }
  friend __host__ __device__ bool operator!=(const dcomplex& a, const dcomplex& b) { return !(a == b); }
};

}  // namespace gpu
}  // namespace detexp
