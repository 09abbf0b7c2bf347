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
  X(cublasSgemmBatched) X(cublasDgemmBatched) X(cublasCgemmBatched) X(cublasZgemmBatched)

// The function-pointer table. `error` is empty when every symbol resolved.
struct SolverApi {
#define DETEXP_DECLARE_POINTER(name) decltype(&::name) name = nullptr;
  DETEXP_CUSOLVER_FUNCTIONS(DETEXP_DECLARE_POINTER)
  DETEXP_CUBLAS_FUNCTIONS(DETEXP_DECLARE_POINTER)
#undef DETEXP_DECLARE_POINTER
  std::string cusolver_path, cublas_path;
  std::string error;
};

// Loads both libraries once (thread-safe) and returns the table; check `error` before use.
// Search order per library: $DETEXP_CUSOLVER_PATH / $DETEXP_CUBLAS_PATH, the sonames of CUDA 13
// and 12 (whatever the loader finds: LD_LIBRARY_PATH, the rpath of TF, ldconfig), then the pip
// packages next to this library's site-packages (nvidia/cu13/lib, nvidia/cusolver/lib, ...).
const SolverApi& solver_api();

// A cuSOLVER + cuBLAS handle pair bound to one (device, stream), created on first use and kept
// for the life of the process. Handles are not thread-safe: hold `lock` while enqueuing.
struct SolverHandles {
  cusolverDnHandle_t solver = nullptr;
  cublasHandle_t blas = nullptr;
  std::mutex lock;
};

// nullptr with *error set when the libraries or the handles are unavailable.
SolverHandles* solver_handles(cudaStream_t stream, std::string* error);

const char* cusolver_status_name(cusolverStatus_t s);
const char* cublas_status_name(cublasStatus_t s);

}  // namespace gpu
}  // namespace detexp
