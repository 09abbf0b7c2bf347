// Scalar helpers shared by the CPU templates (cc/core) and the CUDA kernels (cuda/).
//
// Everything here is __host__ __device__ when compiled by nvcc, so the per-matrix math in
// cc/core/small_lu.h runs unchanged on both sides and is unit-tested on the CPU in CI.
// Complex types only need .real()/.imag() and the arithmetic operators (std::complex on the
// host, cuda::std::complex or thrust::complex on the device).
#pragma once

#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <type_traits>

#if defined(__CUDACC__)
#define DETEXP_HD __host__ __device__ __forceinline__
#else
#define DETEXP_HD inline
#endif

// Loops over a compile-time matrix size unroll fully (registers on the GPU, straight-line
// vectorised code on the CPU); with a run-time size the pragma only partially unrolls.
#if defined(__CUDA_ARCH__)
#define DETEXP_UNROLL _Pragma("unroll")
#elif defined(__GNUC__) && !defined(__clang__)
#define DETEXP_UNROLL _Pragma("GCC unroll 16")
#elif defined(__clang__)
#define DETEXP_UNROLL _Pragma("unroll")
#else
#define DETEXP_UNROLL
#endif

// The four dtypes every op supports; cc/core/instances/ compiles each template once per dtype.
#define DETEXP_FOR_EACH_DTYPE(X) X(float) X(double) X(std::complex<float>) X(std::complex<double>)

namespace detexp {

// Batch offsets are 64-bit: a batch may hold more than 2^31 elements.
using index_t = std::int64_t;

template <class T, class = void>
struct is_complex : std::false_type {};
template <class T>
struct is_complex<T, std::void_t<decltype(std::declval<T>().imag())>> : std::true_type {};

template <class T, class = void>
struct real_type {
  using type = T;
};
template <class T>
struct real_type<T, std::enable_if_t<is_complex<T>::value>> {
  using type = std::decay_t<decltype(std::declval<T>().real())>;
};
template <class T>
using real_t = typename real_type<T>::type;

DETEXP_HD float real_part(float x) { return x; }
DETEXP_HD double real_part(double x) { return x; }
template <class C, std::enable_if_t<is_complex<C>::value, int> = 0>
DETEXP_HD auto real_part(const C& z) { return z.real(); }

DETEXP_HD float imag_part(float) { return 0.f; }
DETEXP_HD double imag_part(double) { return 0.0; }
template <class C, std::enable_if_t<is_complex<C>::value, int> = 0>
DETEXP_HD auto imag_part(const C& z) { return z.imag(); }

// |re| + |im|: LAPACK's cabs1, the pivot-search magnitude of xGETRF.
template <class T>
DETEXP_HD real_t<T> abs1(const T& x) {
  return std::fabs(real_part(x)) + std::fabs(imag_part(x));
}

// The true modulus without overflow or underflow in the intermediate square.
template <class T>
DETEXP_HD real_t<T> modulus(const T& x) {
  if constexpr (is_complex<T>::value) {
    return std::hypot(x.real(), x.imag());
  } else {
    return std::fabs(x);
  }
}

// Both parts finite, without a libm call: x - x is 0 unless x is inf or NaN. `&`, not `&&`, so a
// loop over many entries stays branch-free (vectorised on the CPU, no divergence on the GPU).
template <class T>
DETEXP_HD bool finite_scalar(const T& x) {
  const real_t<T> re = real_part(x), im = imag_part(x);
  return (re - re == real_t<T>(0)) & (im - im == real_t<T>(0));
}

template <class T>
DETEXP_HD T make_scalar(real_t<T> re, real_t<T> im = 0) {
  if constexpr (is_complex<T>::value) {
    return T(re, im);
  } else {
    return re;
  }
}

template <class T>
DETEXP_HD T conj_of(const T& x) {
  if constexpr (is_complex<T>::value) {
    return T(x.real(), -x.imag());
  } else {
    return x;
  }
}

// x 2^e, exact (ldexp per part).
template <class T>
DETEXP_HD T ldexp_of(const T& x, int e) {
  if constexpr (is_complex<T>::value) {
    return make_scalar<T>(std::ldexp(x.real(), e), std::ldexp(x.imag(), e));
  } else {
    return std::ldexp(x, e);
  }
}

// numeric_limits members are constexpr host functions: device code calls them under nvcc's
// --expt-relaxed-constexpr (set by CMake for the CUDA build).
template <class R>
DETEXP_HD R quiet_nan() {
  return std::numeric_limits<R>::quiet_NaN();
}

template <class R>
DETEXP_HD R infinity() {
  return std::numeric_limits<R>::infinity();
}

// Pivots at or beyond this magnitude have a subnormal reciprocal, which TF's threads (running with
// flush-to-zero) turn into 0: eliminations scale by 1/pivot below it (xGETF2) and divide above it.
template <class R>
DETEXP_HD R reciprocal_limit() {
  return R(1) / std::numeric_limits<R>::min();
}

}  // namespace detexp
