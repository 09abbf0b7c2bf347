// See solver_loader.h. Compiled by the host compiler; no TF headers, no link to cuSOLVER/cuBLAS.
#include "solver_loader.h"

#include <dlfcn.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <utility>
#include <vector>

namespace detexp {
namespace gpu {
namespace {

// Directory of the file holding this code (the op library), to find pip's nvidia-* packages.
std::string this_library_dir() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&this_library_dir), &info) == 0 || info.dli_fname == nullptr) return "";
  std::string path = info.dli_fname;
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

void* open_first(const char* env_var, const std::vector<std::string>& sonames,
                 const std::vector<std::string>& pip_subdirs, std::string* opened, std::string* tried) {
  std::vector<std::string> candidates;
  if (const char* p = std::getenv(env_var)) {
    if (*p) candidates.push_back(p);
  }
  for (const auto& s : sonames) candidates.push_back(s);
  const std::string here = this_library_dir();  // .../site-packages/detexp
  if (!here.empty()) {
    for (const auto& sub : pip_subdirs) {
      for (const auto& s : sonames) candidates.push_back(here + "/../nvidia/" + sub + "/" + s);
    }
  }
  for (const auto& c : candidates) {
    dlerror();
    if (void* h = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL)) {
      *opened = c;
      return h;
    }
    const char* e = dlerror();
    *tried += "\n  " + c + ": " + (e ? e : "not found");
  }
  return nullptr;
}

SolverApi load() {
  SolverApi api;
  std::string tried_solver, tried_blas;
  // cuBLAS first: libcusolver needs it, and RTLD_LOCAL would otherwise leave it to the loader.
  void* blas = open_first("DETEXP_CUBLAS_PATH", {"libcublas.so.13", "libcublas.so.12", "libcublas.so"},
                          {"cu13/lib", "cublas/lib"}, &api.cublas_path, &tried_blas);
  void* solver = open_first("DETEXP_CUSOLVER_PATH",
                            {"libcusolver.so.12", "libcusolver.so.11", "libcusolver.so"},
                            {"cu13/lib", "cusolver/lib"}, &api.cusolver_path, &tried_solver);
  if (blas == nullptr) api.error += "could not load cuBLAS; tried:" + tried_blas + "\n";
  if (solver == nullptr) api.error += "could not load cuSOLVER; tried:" + tried_solver + "\n";
  if (!api.error.empty()) {
    api.error += "Install the CUDA math libraries (e.g. pip install nvidia-cusolver-cu12 nvidia-cublas-cu12, "
                 "or the CUDA 13 toolkit libraries) or set DETEXP_CUSOLVER_PATH / DETEXP_CUBLAS_PATH.";
    return api;
  }
#define DETEXP_RESOLVE(lib, name)                                                  \
  api.name = reinterpret_cast<decltype(api.name)>(dlsym(lib, #name));              \
  if (api.name == nullptr) api.error += std::string("missing symbol ") + #name + "\n";
#define DETEXP_RESOLVE_SOLVER(name) DETEXP_RESOLVE(solver, name)
#define DETEXP_RESOLVE_BLAS(name) DETEXP_RESOLVE(blas, name)
  DETEXP_CUSOLVER_FUNCTIONS(DETEXP_RESOLVE_SOLVER)
  DETEXP_CUBLAS_FUNCTIONS(DETEXP_RESOLVE_BLAS)
#undef DETEXP_RESOLVE_BLAS
#undef DETEXP_RESOLVE_SOLVER
#undef DETEXP_RESOLVE
  if (!api.error.empty()) api.error = "in " + api.cusolver_path + " / " + api.cublas_path + ": " + api.error;
  return api;  // the libraries stay loaded for the life of the process
}

}  // namespace

const SolverApi& solver_api() {
  static const SolverApi api = load();
  return api;
}

SolverHandles* solver_handles(cudaStream_t stream, std::string* error) {
  const SolverApi& api = solver_api();
  if (!api.error.empty()) {
    *error = api.error;
    return nullptr;
  }
  int device = -1;
  if (cudaGetDevice(&device) != cudaSuccess) {
    *error = "cudaGetDevice failed";
    return nullptr;
  }
  static std::mutex cache_lock;
  static auto* cache = new std::map<std::pair<int, cudaStream_t>, std::unique_ptr<SolverHandles>>();
  std::lock_guard<std::mutex> guard(cache_lock);
  auto& slot = (*cache)[{device, stream}];
  if (!slot) {
    auto h = std::make_unique<SolverHandles>();
    cusolverStatus_t s = api.cusolverDnCreate(&h->solver);
    if (s != CUSOLVER_STATUS_SUCCESS) {
      *error = std::string("cusolverDnCreate failed: ") + cusolver_status_name(s);
      return nullptr;
    }
    cublasStatus_t b = api.cublasCreate_v2(&h->blas);
    if (b != CUBLAS_STATUS_SUCCESS) {
      api.cusolverDnDestroy(h->solver);
      *error = std::string("cublasCreate failed: ") + cublas_status_name(b);
      return nullptr;
    }
    s = api.cusolverDnSetStream(h->solver, stream);
    b = api.cublasSetStream_v2(h->blas, stream);
    if (s != CUSOLVER_STATUS_SUCCESS || b != CUBLAS_STATUS_SUCCESS) {
      *error = "binding the cuSOLVER/cuBLAS handles to the stream failed";
      return nullptr;
    }
    slot = std::move(h);
  }
  return slot.get();
}

const char* cusolver_status_name(cusolverStatus_t s) {
  switch (s) {
    case CUSOLVER_STATUS_SUCCESS: return "CUSOLVER_STATUS_SUCCESS";
    case CUSOLVER_STATUS_NOT_INITIALIZED: return "CUSOLVER_STATUS_NOT_INITIALIZED";
    case CUSOLVER_STATUS_ALLOC_FAILED: return "CUSOLVER_STATUS_ALLOC_FAILED";
    case CUSOLVER_STATUS_INVALID_VALUE: return "CUSOLVER_STATUS_INVALID_VALUE";
    case CUSOLVER_STATUS_ARCH_MISMATCH: return "CUSOLVER_STATUS_ARCH_MISMATCH";
    case CUSOLVER_STATUS_EXECUTION_FAILED: return "CUSOLVER_STATUS_EXECUTION_FAILED";
    case CUSOLVER_STATUS_INTERNAL_ERROR: return "CUSOLVER_STATUS_INTERNAL_ERROR";
    case CUSOLVER_STATUS_NOT_SUPPORTED: return "CUSOLVER_STATUS_NOT_SUPPORTED";
    default: return "unknown cusolverStatus_t";
  }
}

const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "unknown cublasStatus_t";
  }
}

}  // namespace gpu
}  // namespace detexp
