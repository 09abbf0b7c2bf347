// See solver_loader.h. Compiled by the host compiler; no TF headers, no link to cuSOLVER/cuBLAS.
#include "solver_loader.h"

#include <dlfcn.h>
#include <link.h>
#include <climits>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <utility>
#include <vector>

namespace detexp {
namespace gpu {
namespace {

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

// Directory of the file holding this code (the op library, or a test binary).
std::string this_library_dir() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&this_library_dir), &info) == 0 || info.dli_fname == nullptr) return "";
  return directory_of(info.dli_fname);
}

// The file behind a dlopen handle (for the report).
std::string loaded_path(void* handle) {
  struct link_map* map = nullptr;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || map == nullptr || map->l_name == nullptr) return "";
  char real[PATH_MAX];
  return realpath(map->l_name, real) != nullptr ? std::string(real) : std::string(map->l_name);
}

// Directory of libtensorflow_framework.so.2 when the process has loaded it (TF imported).
std::string tensorflow_dir() {
  void* tf = dlopen("libtensorflow_framework.so.2", RTLD_NOW | RTLD_NOLOAD);
  if (tf == nullptr) return "";
  const std::string dir = directory_of(loaded_path(tf));
  dlclose(tf);  // drops only the reference NOLOAD added
  return dir;
}

struct Library {
  const char* name;            // "cuBLAS"
  const char* env_var;         // explicit path
  std::vector<std::string> sonames;
  std::vector<std::string> pip_subdirs;  // under site-packages/nvidia
};

struct Candidate {
  std::string path;  // what dlopen gets
  bool already_loaded;
};

std::vector<Candidate> candidates(const Library& lib) {
  std::vector<Candidate> out;
  if (const char* p = std::getenv(lib.env_var)) {
    if (*p) return {{p, false}};
  }
  for (const auto& s : lib.sonames) out.push_back({s, true});
  std::vector<std::string> site_dirs;  // .../site-packages
  const std::string tf = tensorflow_dir();
  if (!tf.empty()) {
    for (const auto& s : lib.sonames) out.push_back({tf + "/" + s, false});
    site_dirs.push_back(tf + "/..");
  }
  const std::string here = this_library_dir();
  if (!here.empty()) site_dirs.push_back(here + "/..");
  for (const auto& site : site_dirs) {
    for (const auto& sub : lib.pip_subdirs) {
      for (const auto& s : lib.sonames) out.push_back({site + "/nvidia/" + sub + "/" + s, false});
    }
  }
  for (const auto& s : lib.sonames) out.push_back({s, false});
  return out;
}

// Opens candidates in order until `resolve` finds every symbol in one; returns its handle.
template <class Resolve>
void* open_library(const Library& lib, Resolve&& resolve, std::string* path, std::string* report, std::string* error) {
  std::string tried;
  for (const Candidate& c : candidates(lib)) {
    dlerror();
    void* h = dlopen(c.path.c_str(), RTLD_NOW | RTLD_LOCAL | (c.already_loaded ? RTLD_NOLOAD : 0));
    if (h == nullptr) {
      if (!c.already_loaded) {
        const char* e = dlerror();
        tried += "\n  " + c.path + ": " + (e ? e : "not found");
      }
      continue;
    }
    const std::string missing = resolve(h);
    const std::string file = loaded_path(h);
    if (missing.empty()) {
      *path = file;
      *report += std::string(lib.name) + ": " + file +
                 (c.already_loaded ? " (already loaded by the process)" : " (opened by detexp, from " + c.path + ")") + "\n";
      return h;
    }
    tried += "\n  " + c.path + (file.empty() || file == c.path ? "" : " = " + file) + ": lacks " + missing;
    dlclose(h);
  }
  *error += std::string("could not load ") + lib.name + "; tried:" + tried + "\n";
  return nullptr;
}

SolverApi load() {
  SolverApi api;
  // Each resolver fills its part of the table and returns the first missing symbol ("" if none).
  auto resolve_blas = [&api](void* h) -> std::string {
    std::string missing;
#define DETEXP_RESOLVE(name)                                                    \
  api.name = reinterpret_cast<decltype(api.name)>(dlsym(h, #name));             \
  if (api.name == nullptr && missing.empty()) missing = #name;
    DETEXP_CUBLAS_FUNCTIONS(DETEXP_RESOLVE)
    return missing;
  };
  auto resolve_solver = [&api](void* h) -> std::string {
    std::string missing;
    DETEXP_CUSOLVER_FUNCTIONS(DETEXP_RESOLVE)
#undef DETEXP_RESOLVE
    return missing;
  };
  // cuBLAS first: libcusolver needs it, and a loaded libcublas satisfies its DT_NEEDED by soname.
  const Library blas{"cuBLAS", "DETEXP_CUBLAS_PATH", {"libcublas.so.12", "libcublas.so.13"}, {"cublas/lib", "cu13/lib"}};
  const Library solver{"cuSOLVER", "DETEXP_CUSOLVER_PATH", {"libcusolver.so.11", "libcusolver.so.12"},
                       {"cusolver/lib", "cu13/lib"}};
  const bool blas_ok = open_library(blas, resolve_blas, &api.cublas_path, &api.report, &api.error) != nullptr;
  const bool solver_ok = open_library(solver, resolve_solver, &api.cusolver_path, &api.report, &api.error) != nullptr;
  if (!blas_ok || !solver_ok) {
    api.error += "Install the CUDA math libraries (e.g. pip install nvidia-cusolver-cu12 nvidia-cublas-cu12, "
                 "as tensorflow[and-cuda] does) or set DETEXP_CUSOLVER_PATH / DETEXP_CUBLAS_PATH.";
  }
  if (const char* v = std::getenv("DETEXP_GPU_VERBOSE")) {
    if (*v && *v != '0') std::fprintf(stderr, "detexp: %s%s", api.report.c_str(), api.error.c_str());
  }
  return api;  // the libraries stay loaded for the life of the process
}

}  // namespace

const SolverApi& solver_api() {
  static const SolverApi api = load();
  return api;
}

SolverHandles* solver_handles(cudaStream_t stream, std::string* error, int device) {
  const SolverApi& api = solver_api();
  if (!api.error.empty()) {
    *error = api.error;
    return nullptr;
  }
  int current = -1;
  if (cudaGetDevice(&current) != cudaSuccess) {
    *error = "cudaGetDevice failed";
    return nullptr;
  }
  if (device == kCurrentDevice) device = current;
  static std::mutex cache_lock;
  static auto* cache = new std::map<std::pair<int, cudaStream_t>, std::unique_ptr<SolverHandles>>();
  std::lock_guard<std::mutex> guard(cache_lock);
  auto& slot = (*cache)[{device, stream}];
  if (!slot) {
    // cublasCreate/cusolverDnCreate bind to the current device: make it the stream's.
    if (device != current && cudaSetDevice(device) != cudaSuccess) {
      *error = "cudaSetDevice(" + std::to_string(device) + ") failed";
      return nullptr;
    }
    auto h = std::make_unique<SolverHandles>();
    std::string failure;
    cusolverStatus_t s = api.cusolverDnCreate(&h->solver);
    cublasStatus_t b = CUBLAS_STATUS_SUCCESS;
    if (s != CUSOLVER_STATUS_SUCCESS) {
      failure = std::string("cusolverDnCreate failed: ") + cusolver_status_name(s);
    } else if ((b = api.cublasCreate_v2(&h->blas)) != CUBLAS_STATUS_SUCCESS) {
      api.cusolverDnDestroy(h->solver);
      failure = std::string("cublasCreate failed: ") + cublas_status_name(b);
    } else if (api.cusolverDnSetStream(h->solver, stream) != CUSOLVER_STATUS_SUCCESS ||
               api.cublasSetStream_v2(h->blas, stream) != CUBLAS_STATUS_SUCCESS) {
      api.cublasDestroy_v2(h->blas);
      api.cusolverDnDestroy(h->solver);
      failure = "binding the cuSOLVER/cuBLAS handles to the stream failed";
    }
    if (device != current) cudaSetDevice(current);
    if (!failure.empty()) {
      *error = failure;
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
