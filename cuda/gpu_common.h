// Shared host-side helpers of the CUDA launchers (cuda/*.cu): device/library element types,
// status conversion of CUDA/cuBLAS/cuSOLVER errors, scratch allocation, and the typed cuBLAS /
// cuSOLVER calls through the lazily loaded function table (solver_loader.h). No TF headers.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <complex>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <type_traits>
#include <utility>

#include "cuda/device_complex.h"
#include "cuda/slogdet_launch.h"
#include "cuda/solver_loader.h"

namespace detexp {
namespace gpu {
namespace common {

// ---- types -----------------------------------------------------------------------------------
template <class T>
struct Dev {
  using type = T;  // float, double
};
template <class R>
struct Dev<std::complex<R>> {
  using type = dcomplex<R>;  // same layout as std::complex<R>; see device_complex.h
};
template <class T>
using dev_t = typename Dev<T>::type;

template <class T>
dev_t<T>* dev(T* p) {
  return reinterpret_cast<dev_t<T>*>(p);
}
template <class T>
const dev_t<T>* dev(const T* p) {
  return reinterpret_cast<const dev_t<T>*>(p);
}

// cuSOLVER/cuBLAS element types.
template <class T>
struct Lib;
template <>
struct Lib<float> {
  using type = float;
};
template <>
struct Lib<double> {
  using type = double;
};
template <>
struct Lib<std::complex<float>> {
  using type = cuComplex;
};
template <>
struct Lib<std::complex<double>> {
  using type = cuDoubleComplex;
};
template <class T>
using lib_t = typename Lib<T>::type;

constexpr std::int64_t kMaxGridX = 2147483647;  // gridDim.x limit (compute capability >= 3.0)

inline Status error(Code c, std::string msg) { return Status{c, std::move(msg)}; }

inline Status cuda_check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status();
  return error(Code::kInternal, std::string(what) + ": " + cudaGetErrorString(e));
}

inline Status launch_check(const char* kernel) { return cuda_check(cudaGetLastError(), kernel); }

inline Status solver_check(cusolverStatus_t s, const char* call) {
  if (s == CUSOLVER_STATUS_SUCCESS) return Status();
  return error(s == CUSOLVER_STATUS_ALLOC_FAILED ? Code::kResourceExhausted : Code::kInternal,
               std::string(call) + " failed: " + cusolver_status_name(s));
}

inline Status blas_check(cublasStatus_t s, const char* call) {
  if (s == CUBLAS_STATUS_SUCCESS) return Status();
  return error(s == CUBLAS_STATUS_ALLOC_FAILED ? Code::kResourceExhausted : Code::kInternal,
               std::string(call) + " failed: " + cublas_status_name(s));
}

#define DETEXP_RETURN_IF_ERROR(expr) \
  do {                               \
    Status _s = (expr);              \
    if (!_s.ok()) return _s;         \
  } while (0)

template <class U>
Status alloc(const ScratchFn& scratch, std::int64_t count, U** out, const char* what) {
  const std::size_t bytes = static_cast<std::size_t>(std::max<std::int64_t>(count, 1)) * sizeof(U);
  *out = static_cast<U*>(scratch(bytes));
  if (*out == nullptr) {
    return error(Code::kResourceExhausted, std::string("could not allocate ") + std::to_string(bytes) +
                                               " bytes of GPU scratch for " + what);
  }
  return Status();
}

// A tuning knob from the environment: a non-negative integer, else `fallback`.
inline std::int64_t env_int(const char* name, std::int64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const long long x = std::strtoll(v, &end, 10);
  return (end != v && x >= 0) ? x : fallback;
}

// Pinned host memory of at least `bytes` for the calling thread's small device-to-host reads (a
// pageable destination is staged and slower), kept and grown for the life of the thread; nullptr
// if the runtime cannot allocate it. Valid until the thread's next call.
inline void* pinned_host_buffer(std::size_t bytes) {
  thread_local void* p = nullptr;
  thread_local std::size_t size = 0;
  if (bytes > size) {
    if (p != nullptr) cudaFreeHost(p);
    p = nullptr;
    size = 0;
    if (cudaHostAlloc(&p, bytes, cudaHostAllocDefault) != cudaSuccess) return nullptr;
    size = bytes;
  }
  return p;
}

// An attribute of GPU `device` (-1: the current device), or `fallback` if the runtime cannot say.
inline int device_attribute(cudaDeviceAttr attr, int device, int fallback) {
  int value = 0;
  if (device < 0 && cudaGetDevice(&device) != cudaSuccess) return fallback;
  if (cudaDeviceGetAttribute(&value, attr, device) != cudaSuccess) return fallback;
  return value;
}

// Raises a kernel's dynamic shared memory limit to `bytes` once per (kernel, device), under a
// lock: set before every launch, two host threads could interleave one's set with the other's
// launch of the same kernel and fail it with cudaErrorInvalidValue. Callers pass the device's
// whole opt-in limit, so one setting serves every later launch.
inline Status allow_dynamic_shared_once(const void* kernel, int device, int bytes) {
  static std::mutex mu;
  static std::set<std::pair<const void*, int>> done;
  if (device < 0 && cudaGetDevice(&device) != cudaSuccess) device = 0;
  std::lock_guard<std::mutex> lock(mu);
  if (done.count({kernel, device}) != 0) return Status();
  DETEXP_RETURN_IF_ERROR(cuda_check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes),
                                    "cudaFuncSetAttribute(MaxDynamicSharedMemorySize)"));
  done.insert({kernel, device});
  return Status();
}

// Splits [0, count) into launches of at most max_items so that the grid fits gridDim.x.
template <class F>
Status for_each_launch(std::int64_t count, std::int64_t max_items, F&& f) {
  for (std::int64_t start = 0; start < count; start += max_items) {
    DETEXP_RETURN_IF_ERROR(f(start, std::min(max_items, count - start)));
  }
  return Status();
}

// Largest batch for one call of a batched library routine whose workspace size is an int count of
// elements, given that count for batches of 1 and 2 (workspace = base + per_matrix * batch): at
// most max_chunk, the count below INT_MAX, and the bytes within budget_bytes unless one matrix
// alone exceeds it. 0 when even one matrix's workspace does not fit an int.
inline std::int64_t batched_workspace_chunk(std::int64_t lwork1, std::int64_t lwork2, std::int64_t elem_bytes,
                                            std::int64_t max_chunk, std::int64_t budget_bytes) {
  constexpr std::int64_t kIntMax = 2147483647;
  if (lwork1 < 0 || lwork1 > kIntMax || max_chunk < 1) return 0;
  const std::int64_t per = std::max<std::int64_t>(lwork2 - lwork1, 0);
  const std::int64_t base = lwork1 - per;
  if (per == 0) return max_chunk;
  const std::int64_t by_int = (kIntMax - base) / per;
  const std::int64_t by_budget = (budget_bytes / std::max<std::int64_t>(elem_bytes, 1) - base) / per;
  return std::max<std::int64_t>(1, std::min({max_chunk, by_int, by_budget}));
}
// ---- typed cuBLAS / cuSOLVER calls ---------------------------------------------------------
#define DETEXP_DISPATCH4(T, S, D, C, Z)                            \
  if constexpr (std::is_same<T, float>::value) {                   \
    S;                                                             \
  } else if constexpr (std::is_same<T, double>::value) {           \
    D;                                                             \
  } else if constexpr (std::is_same<T, std::complex<float>>::value) { \
    C;                                                             \
  } else {                                                         \
    Z;                                                             \
  }

template <class T>
cublasStatus_t getrf_batched(const SolverApi& api, cublasHandle_t h, int n, T** a, int* ipiv, int* info, int batch) {
  auto A = reinterpret_cast<lib_t<T>**>(a);
  DETEXP_DISPATCH4(T, return api.cublasSgetrfBatched(h, n, A, n, ipiv, info, batch),
                   return api.cublasDgetrfBatched(h, n, A, n, ipiv, info, batch),
                   return api.cublasCgetrfBatched(h, n, A, n, ipiv, info, batch),
                   return api.cublasZgetrfBatched(h, n, A, n, ipiv, info, batch))
}

template <class T>
cusolverStatus_t getrf_buffer_size(const SolverApi& api, cusolverDnHandle_t h, int n, T* a, int* lwork) {
  auto A = reinterpret_cast<lib_t<T>*>(a);
  DETEXP_DISPATCH4(T, return api.cusolverDnSgetrf_bufferSize(h, n, n, A, n, lwork),
                   return api.cusolverDnDgetrf_bufferSize(h, n, n, A, n, lwork),
                   return api.cusolverDnCgetrf_bufferSize(h, n, n, A, n, lwork),
                   return api.cusolverDnZgetrf_bufferSize(h, n, n, A, n, lwork))
}

template <class T>
cusolverStatus_t getrf(const SolverApi& api, cusolverDnHandle_t h, int n, T* a, T* work, int* ipiv, int* info) {
  auto A = reinterpret_cast<lib_t<T>*>(a);
  auto Wk = reinterpret_cast<lib_t<T>*>(work);
  DETEXP_DISPATCH4(T, return api.cusolverDnSgetrf(h, n, n, A, n, Wk, ipiv, info),
                   return api.cusolverDnDgetrf(h, n, n, A, n, Wk, ipiv, info),
                   return api.cusolverDnCgetrf(h, n, n, A, n, Wk, ipiv, info),
                   return api.cusolverDnZgetrf(h, n, n, A, n, Wk, ipiv, info))
}

template <class T>
cublasStatus_t gemm_batched(const SolverApi& api, cublasHandle_t h, cublasOperation_t opa, int m, int n, int k,
                            T* const* a, int lda, T* const* b, int ldb, T* const* c, int ldc, bool accumulate,
                            int batch) {
  const T one(1), beta_value(accumulate ? 1 : 0);
  auto alpha = reinterpret_cast<const lib_t<T>*>(&one);
  auto beta = reinterpret_cast<const lib_t<T>*>(&beta_value);
  auto A = reinterpret_cast<const lib_t<T>* const*>(a);
  auto B = reinterpret_cast<const lib_t<T>* const*>(b);
  auto C = reinterpret_cast<lib_t<T>* const*>(c);
  const auto N = CUBLAS_OP_N;
  DETEXP_DISPATCH4(T, return api.cublasSgemmBatched(h, opa, N, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, batch),
                   return api.cublasDgemmBatched(h, opa, N, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, batch),
                   return api.cublasCgemmBatched(h, opa, N, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, batch),
                   return api.cublasZgemmBatched(h, opa, N, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, batch))
}

// C := alpha op(A) op(B) + beta C, column-major (one product; alpha, beta in host memory).
template <class T>
cublasStatus_t gemm(const SolverApi& api, cublasHandle_t h, cublasOperation_t opa, cublasOperation_t opb, int m,
                    int n, int k, const T& alpha, const T* a, int lda, const T* b, int ldb, const T& beta, T* c,
                    int ldc) {
  auto al = reinterpret_cast<const lib_t<T>*>(&alpha);
  auto be = reinterpret_cast<const lib_t<T>*>(&beta);
  auto A = reinterpret_cast<const lib_t<T>*>(a);
  auto B = reinterpret_cast<const lib_t<T>*>(b);
  auto C = reinterpret_cast<lib_t<T>*>(c);
  DETEXP_DISPATCH4(T, return api.cublasSgemm_v2(h, opa, opb, m, n, k, al, A, lda, B, ldb, be, C, ldc),
                   return api.cublasDgemm_v2(h, opa, opb, m, n, k, al, A, lda, B, ldb, be, C, ldc),
                   return api.cublasCgemm_v2(h, opa, opb, m, n, k, al, A, lda, B, ldb, be, C, ldc),
                   return api.cublasZgemm_v2(h, opa, opb, m, n, k, al, A, lda, B, ldb, be, C, ldc))
}

// X := A^{-1} X from getrfBatched's factors; info: host int (argument check only).
template <class T>
cublasStatus_t getrs_batched(const SolverApi& api, cublasHandle_t h, int n, T* const* lu, const int* ipiv,
                             T* const* x, int* info, int batch) {
  auto A = reinterpret_cast<const lib_t<T>* const*>(lu);
  auto X = reinterpret_cast<lib_t<T>* const*>(x);
  const auto N = CUBLAS_OP_N;
  DETEXP_DISPATCH4(T, return api.cublasSgetrsBatched(h, N, n, n, A, n, ipiv, X, n, info, batch),
                   return api.cublasDgetrsBatched(h, N, n, n, A, n, ipiv, X, n, info, batch),
                   return api.cublasCgetrsBatched(h, N, n, n, A, n, ipiv, X, n, info, batch),
                   return api.cublasZgetrsBatched(h, N, n, n, A, n, ipiv, X, n, info, batch))
}

template <class T>
cusolverStatus_t getrs(const SolverApi& api, cusolverDnHandle_t h, int n, const T* lu, const int* ipiv, T* x,
                       int* info) {
  auto A = reinterpret_cast<const lib_t<T>*>(lu);
  auto X = reinterpret_cast<lib_t<T>*>(x);
  const auto N = CUBLAS_OP_N;
  DETEXP_DISPATCH4(T, return api.cusolverDnSgetrs(h, N, n, n, A, n, ipiv, X, n, info),
                   return api.cusolverDnDgetrs(h, N, n, n, A, n, ipiv, X, n, info),
                   return api.cusolverDnCgetrs(h, N, n, n, A, n, ipiv, X, n, info),
                   return api.cusolverDnZgetrs(h, N, n, n, A, n, ipiv, X, n, info))
}

}  // namespace common
}  // namespace gpu
}  // namespace detexp
