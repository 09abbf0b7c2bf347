// cuSOLVER and cuBLAS, loaded on first use with dlopen/dlsym so that the CUDA build of the op
// library loads (and the CPU ops run) on machines without a GPU or without these libraries.
//
// Prototypes come from the CUDA 12.5 headers copied from TF's wheel (third_party/cuda_headers);
// the C ABI of the entry points used here is unchanged from cuSOLVER 11 (CUDA 12) to 12 (CUDA 13)
// and from cuBLAS 12 to 13, so either major version may be loaded.
// No TF headers here.
#pragma once

#include <cuda_runtime_api.h>

#include <mutex>
#include <string>

#include "cusolverDn.h"  // also brings cublas_v2.h / cublas_api.h

namespace detexp {
namespace gpu {

#define DETEXP_CUSOLVER_FUNCTIONS(X)                                                       \
  X(cusolverDnCreate) X(cusolverDnDestroy) X(cusolverDnSetStream)                          \
  X(cusolverDnSgetrf_bufferSize) X(cusolverDnDgetrf_bufferSize)                            \
  X(cusolverDnCgetrf_bufferSize) X(cusolverDnZgetrf_bufferSize)                            \
  X(cusolverDnSgetrf) X(cusolverDnDgetrf) X(cusolverDnCgetrf) X(cusolverDnZgetrf)          \
  X(cusolverDnSgetrs) X(cusolverDnDgetrs) X(cusolverDnCgetrs) X(cusolverDnZgetrs)          \
  X(cusolverDnCreateGesvdjInfo) X(cusolverDnDestroyGesvdjInfo)                             \
  X(cusolverDnSgesvdj_bufferSize) X(cusolverDnDgesvdj_bufferSize)                          \
  X(cusolverDnCgesvdj_bufferSize) X(cusolverDnZgesvdj_bufferSize)                          \
  X(cusolverDnSgesvdj) X(cusolverDnDgesvdj) X(cusolverDnCgesvdj) X(cusolverDnZgesvdj)      \
  X(cusolverDnSgesvdjBatched_bufferSize) X(cusolverDnDgesvdjBatched_bufferSize)            \
  X(cusolverDnCgesvdjBatched_bufferSize) X(cusolverDnZgesvdjBatched_bufferSize)            \
  X(cusolverDnSgesvdjBatched) X(cusolverDnDgesvdjBatched) X(cusolverDnCgesvdjBatched)      \
  X(cusolverDnZgesvdjBatched)

#define DETEXP_CUBLAS_FUNCTIONS(X)                                                         \
  X(cublasCreate_v2) X(cublasDestroy_v2) X(cublasSetStream_v2)                             \
  X(cublasSgetrfBatched) X(cublasDgetrfBatched) X(cublasCgetrfBatched)                     \
  X(cublasZgetrfBatched)                                                                   \
  X(cublasStrsmBatched) X(cublasDtrsmBatched) X(cublasCtrsmBatched) X(cublasZtrsmBatched)   \
  X(cublasSgetrsBatched) X(cublasDgetrsBatched) X(cublasCgetrsBatched)                     \
  X(cublasZgetrsBatched)                                                                   \
  X(cublasSgemmBatched) X(cublasDgemmBatched) X(cublasCgemmBatched) X(cublasZgemmBatched)     \
  X(cublasSgemm_v2) X(cublasDgemm_v2) X(cublasCgemm_v2) X(cublasZgemm_v2)

// The function-pointer table. `error` is empty when every symbol resolved.
struct SolverApi {
#define DETEXP_DECLARE_POINTER(name) decltype(&::name) name = nullptr;
  DETEXP_CUSOLVER_FUNCTIONS(DETEXP_DECLARE_POINTER)
  DETEXP_CUBLAS_FUNCTIONS(DETEXP_DECLARE_POINTER)
#undef DETEXP_DECLARE_POINTER
  std::string cusolver_path, cublas_path;  // the files chosen (real paths)
  std::string report;                      // one line per library: which file, how it was found
  std::string error;
};

// Loads both libraries once (thread-safe) and returns the table; check `error` before use.
// Per library, the first candidate in which every symbol resolves wins (a candidate that opens but
// lacks a symbol, e.g. a stub or an older major version, is skipped and named in the error):
//   1. $DETEXP_CUBLAS_PATH / $DETEXP_CUSOLVER_PATH: that file only (an explicit choice that fails is
//      an error, not a fallback);
//   2. a copy the process already loaded (dlopen RTLD_NOLOAD by soname): TensorFlow's own, so one
//      process holds one cuBLAS/cuSOLVER;
//   3. the sonames next to libtensorflow_framework.so.2 and in TF's pip CUDA packages beside it
//      (site-packages/nvidia/{cublas,cusolver,cu13}/lib);
//   4. the same pip folders beside this library (site-packages/detexp/../nvidia/...);
//   5. the sonames through the dynamic loader (LD_LIBRARY_PATH, RUNPATH, ldconfig).
// Sonames: CUDA 12 first (TF 2.21's: libcublas.so.12, libcusolver.so.11), then CUDA 13 (.13, .12);
// the C ABI of the entry points used here is the same in both.
// DETEXP_GPU_VERBOSE=1 prints `report` to stderr when the libraries are loaded.
const SolverApi& solver_api();

// A cuSOLVER + cuBLAS handle pair bound to one (device, stream), created on first use and kept
// for the life of the process. Handles are not thread-safe: hold `lock` while enqueuing.
struct SolverHandles {
  cusolverDnHandle_t solver = nullptr;
  cublasHandle_t blas = nullptr;
  gesvdjInfo_t svd_params = nullptr;  // created by the first SVD on this stream (default settings)
  std::mutex lock;
};

// `device` is the ordinal of the GPU that owns `stream` (the caller knows it: TF's stream
// executor); the handles are created with that device current. kCurrentDevice asks the runtime
// (cudaGetDevice) instead, for callers that have no ordinal.
constexpr int kCurrentDevice = -1;

// nullptr with *error set when the libraries or the handles are unavailable.
SolverHandles* solver_handles(cudaStream_t stream, std::string* error, int device = kCurrentDevice);

const char* cusolver_status_name(cusolverStatus_t s);
const char* cublas_status_name(cublasStatus_t s);

}  // namespace gpu
}  // namespace detexp
