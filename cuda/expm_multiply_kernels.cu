// CUDA kernels and launchers of dx.expm_multiply (see expm_multiply_launch.h). No TF headers.
//
// One algorithm: cc/core/expm_multiply_chain.h (Al-Mohy & Higham 2011 with the shared selection and
// tables), with two of its backends:
//   - teams (n <= team_max_n): cc/core/expm_multiply_team.h per matrix by a team of threads (4 or 16
//     lanes, a warp, a block of 256 by n, as expm's teams), every decision on the device; the
//     workspace in shared memory when it fits and leaves enough warps resident (team_grid), else
//     global scratch for the resident teams;
//   - host-driven (larger n): cc/core/expm_multiply_device.h over CudaDevice below — cuBLAS GEMMs,
//     one grid-stride kernel per block functor, deterministic two-stage reductions read back through
//     pinned memory, and the dense route by the expm launchers on one matrix.
#include <cuda_runtime.h>

#include <algorithm>
#include <complex>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "cc/core/expm_multiply_device.h"
#include "cc/core/expm_multiply_team.h"
#include "cuda/expm_launch.h"
#include "cuda/expm_multiply_launch.h"
#include "cuda/expm_teams.h"
#include "cuda/gpu_common.h"
#include "cuda/gpu_plan.h"

namespace detexp {
namespace gpu {
namespace {

using namespace common;
namespace em = expm_multiply;
using TeamPlan = plan::ExpmMultiplyTeamDenseRatio;
using BlasPlan = plan::ExpmMultiplyBlasDenseRatio;

// ---- the team kernels ----------------------------------------------------------------------------
// Team q of the grid takes matrices q, q + teams_total, ...; its workspace is `ws_bytes` bytes of
// dynamic shared memory (shared) or of `gws` at offset q * ws_bytes.
template <int W, class T, bool kBackward>
__global__ void __launch_bounds__(W == 0 ? kBlockTeamThreads : 128)
    expm_multiply_team_kernel(const T* __restrict__ a, const T* __restrict__ b, const T* __restrict__ t,
                              const T* __restrict__ g, T* __restrict__ f, T* __restrict__ grad_a,
                              T* __restrict__ grad_b, T* __restrict__ grad_t, std::int64_t batch, int n, int k,
                              unsigned char* __restrict__ gws, std::int64_t ws_bytes, bool shared) {
  extern __shared__ __align__(16) unsigned char smem[];
  const int teams_per_block = W == 0 ? 1 : static_cast<int>(blockDim.x) / W;
  const int team_in_block = W == 0 ? 0 : static_cast<int>(threadIdx.x) / W;
  const std::int64_t teams_total = static_cast<std::int64_t>(gridDim.x) * teams_per_block;
  const std::int64_t team_id = static_cast<std::int64_t>(blockIdx.x) * teams_per_block + team_in_block;
  void* ws = shared ? static_cast<void*>(smem + team_in_block * ws_bytes) : static_cast<void*>(gws + team_id * ws_bytes);
  const std::int64_t nn = static_cast<std::int64_t>(n) * n, nk = static_cast<std::int64_t>(n) * k;
  auto run = [&](const auto& team) {
    for (std::int64_t i = team_id; i < batch; i += teams_total) {
      if constexpr (kBackward) {
        em::expm_multiply_grad_team<TeamPlan>(team, n, k, a + i * nn, b + i * nk, t[i], g + i * nk, em::kChoiceNone,
                                              grad_a + i * nn, grad_b + i * nk, grad_t + i, ws);
      } else {
        em::expm_multiply_team<TeamPlan>(team, n, k, a + i * nn, b + i * nk, t[i], f + i * nk, ws);
      }
    }
  };
  if constexpr (W == 0) {
    __shared__ double red[32];
    run(BlockTeam{red});
  } else {
    run(WarpTeam<W>());
  }
}

template <int W, class T, bool kBackward>
Status launch_team(cudaStream_t stream, int device, const T* a, const T* b, const T* t, const T* g, T* f, T* grad_a,
                   T* grad_b, T* grad_t, std::int64_t batch, int n, int k, const ScratchFn& scratch) {
  using D = dev_t<T>;
  const int width = W == 0 ? kBlockTeamThreads : W;
  const std::int64_t ws =
      em::expm_multiply_team_workspace_bytes<D>(n, k, width, kBackward, TeamPlan::template kDenseRatio<D>);
  auto kernel = expm_multiply_team_kernel<W, D, kBackward>;
  TeamGrid gr;
  DETEXP_RETURN_IF_ERROR(
      team_grid(reinterpret_cast<const void*>(kernel), device, width, ws, batch, scratch, "expm_multiply", &gr));
  kernel<<<static_cast<unsigned>(gr.blocks), width * gr.teams_per_block, static_cast<std::size_t>(gr.smem), stream>>>(
      dev(a), dev(b), dev(t), dev(g), dev(f), dev(grad_a), dev(grad_b), dev(grad_t), batch, n, k, gr.gws, ws, gr.shared);
  return launch_check("expm_multiply_team_kernel");
}

template <class T, bool kBackward>
Status launch_teams(cudaStream_t stream, int device, const T* a, const T* b, const T* t, const T* g, T* f, T* grad_a,
                    T* grad_b, T* grad_t, std::int64_t batch, int n, int k, const ScratchFn& scratch) {
  const std::int64_t nn = static_cast<std::int64_t>(n) * n;
  if (n <= plan::kExpmQuadMaxN) {
    return launch_team<4, T, kBackward>(stream, device, a, b, t, g, f, grad_a, grad_b, grad_t, batch, n, k, scratch);
  }
  if (nn <= 16) {
    return launch_team<16, T, kBackward>(stream, device, a, b, t, g, f, grad_a, grad_b, grad_t, batch, n, k, scratch);
  }
  if (n <= plan::kExpmWarpMaxN) {
    return launch_team<32, T, kBackward>(stream, device, a, b, t, g, f, grad_a, grad_b, grad_t, batch, n, k, scratch);
  }
  return launch_team<0, T, kBackward>(stream, device, a, b, t, g, f, grad_a, grad_b, grad_t, batch, n, k, scratch);
}

// ---- the host-driven path ------------------------------------------------------------------------
constexpr int kStepThreads = 256;
constexpr int kMaxParts = 128;  // first-stage blocks of a reduction

template <class F>
__global__ void for_each_kernel(index_t count, F f) {
  for (index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<index_t>(gridDim.x) * blockDim.x) {
    f(i);
  }
}

// Σ f(i): each block sums a grid-stride share, then a fixed tree; part[blockIdx.x] (deterministic:
// the same grid gives the same order).
template <class V, class F>
__global__ void __launch_bounds__(kStepThreads) sum_kernel(index_t count, F f, V* part) {
  __shared__ __align__(16) unsigned char raw[kStepThreads * sizeof(V)];
  V* buf = reinterpret_cast<V*>(raw);
  V acc = V(0);
  for (index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<index_t>(gridDim.x) * blockDim.x) {
    acc += f(i);
  }
  buf[threadIdx.x] = acc;
  __syncthreads();
  for (int s = kStepThreads / 2; s > 0; s /= 2) {
    if (static_cast<int>(threadIdx.x) < s) buf[threadIdx.x] += buf[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) part[blockIdx.x] = buf[0];
}

// max_i f(i, ·) per component (NaN wins), F::kWidth components.
template <class R, class F>
__global__ void __launch_bounds__(kStepThreads) max_kernel(index_t count, F f, R* part) {
  constexpr int kW = F::kWidth;
  __shared__ R buf[kW][kStepThreads];
  R acc[kW], v[kW];
  for (int w = 0; w < kW; ++w) acc[w] = R(0);
  for (index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<index_t>(gridDim.x) * blockDim.x) {
    f(i, v);
    for (int w = 0; w < kW; ++w) acc[w] = nan_max(acc[w], v[w]);
  }
  for (int w = 0; w < kW; ++w) buf[w][threadIdx.x] = acc[w];
  __syncthreads();
  for (int s = kStepThreads / 2; s > 0; s /= 2) {
    if (static_cast<int>(threadIdx.x) < s) {
      for (int w = 0; w < kW; ++w) buf[w][threadIdx.x] = nan_max(buf[w][threadIdx.x], buf[w][threadIdx.x + s]);
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    for (int w = 0; w < kW; ++w) part[blockIdx.x * kW + w] = buf[w][0];
  }
}

// The parts in order, by one thread: out[w] = the sum (kMax: max) of part[p * width + w].
template <class V, bool kMax>
__global__ void finish_kernel(int parts, int width, const V* part, V* out) {
  for (int w = 0; w < width; ++w) {
    V acc = part[w];
    for (int p = 1; p < parts; ++p) {
      if constexpr (kMax) {
        acc = nan_max(acc, part[p * width + w]);
      } else {
        acc += part[p * width + w];
      }
    }
    out[w] = acc;
  }
}

// Reuses one launch's scratch from matrix to matrix: the dense route's expm calls ask for the same
// buffers in the same order each time, and the stream orders their uses (TF's temporaries live
// until the op returns, so fresh ones per matrix would grow with the batch).
class ReusedScratch {
 public:
  explicit ReusedScratch(const ScratchFn& scratch) : scratch_(scratch) {}
  void restart() { next_ = 0; }
  ScratchFn fn() {
    return [this](std::size_t bytes) -> void* {
      if (next_ < bufs_.size() && bufs_[next_].second >= bytes) return bufs_[next_++].first;
      void* p = scratch_(bytes);
      if (p == nullptr) return nullptr;
      if (next_ < bufs_.size()) {
        bufs_[next_] = {p, bytes};
      } else {
        bufs_.push_back({p, bytes});
      }
      ++next_;
      return p;
    };
  }

 private:
  const ScratchFn& scratch_;
  std::vector<std::pair<void*, std::size_t>> bufs_;
  std::size_t next_ = 0;
};

// The Device of cc/core/expm_multiply_device.h on one stream. Errors are kept (the first wins) and
// turn later calls into no-ops whose reads return 0: the chain then ends in a few steps (a zero
// norm selects m = 1, s = 1; zero term norms terminate), and the launcher returns the error.
template <class T>
class CudaDevice {
 public:
  using D = dev_t<T>;
  using R = real_t<T>;

  CudaDevice(cudaStream_t stream, int device, SolverHandles* h, const ScratchFn& scratch, int n)
      : stream_(stream), device_(device), h_(h), api_(solver_api()), scratch_(scratch), n_(n) {
    ok(alloc(scratch, 2 * kMaxParts + 2, &part_sum_, "expm_multiply reductions"));
    ok(alloc(scratch, 2 * kMaxParts + 2, &part_max_, "expm_multiply reductions"));
  }
  Status status() const { return status_; }
  void next_matrix() { scratch_.restart(); }

  void gemm(char op_a, char op_b, int m, int n, int k, D alpha, const D* a, int lda, const D* b, int ldb, D beta, D* c,
            int ldc) {
    if (!status_.ok()) return;
    std::lock_guard<std::mutex> lock(h_->lock);
    const T al = host(alpha), be = host(beta);
    ok(blas_check(common::gemm<T>(api_, h_->blas, op(op_a), op(op_b), m, n, k, al, reinterpret_cast<const T*>(a), lda,
                                  reinterpret_cast<const T*>(b), ldb, be, reinterpret_cast<T*>(c), ldc),
                  "cublas<t>gemm"));
  }

  template <class F>
  void for_each(index_t count, const F& f) {
    if (!status_.ok() || count == 0) return;
    for_each_kernel<<<grid(count), kStepThreads, 0, stream_>>>(count, f);
    ok(launch_check("expm_multiply for_each_kernel"));
  }

  template <class F>
  D sum(index_t count, const F& f) {
    if (!status_.ok()) return D(0);
    const unsigned parts = parts_for(count);
    sum_kernel<D><<<parts, kStepThreads, 0, stream_>>>(count, f, part_sum_);
    ok(launch_check("expm_multiply sum_kernel"));
    finish_kernel<D, false><<<1, 1, 0, stream_>>>(static_cast<int>(parts), 1, part_sum_, part_sum_ + 2 * kMaxParts);
    ok(launch_check("expm_multiply finish_kernel"));
    D value = D(0);
    read(&value, part_sum_ + 2 * kMaxParts, 1);
    return value;
  }

  template <class F>
  void max(index_t count, const F& f, R* out) {
    constexpr int kW = F::kWidth;
    for (int w = 0; w < kW; ++w) out[w] = R(0);
    if (!status_.ok()) return;
    const unsigned parts = parts_for(count);
    max_kernel<R><<<parts, kStepThreads, 0, stream_>>>(count, f, part_max_);
    ok(launch_check("expm_multiply max_kernel"));
    finish_kernel<R, true><<<1, 1, 0, stream_>>>(static_cast<int>(parts), kW, part_max_, part_max_ + 2 * kMaxParts);
    ok(launch_check("expm_multiply finish_kernel"));
    read(out, part_max_ + 2 * kMaxParts, kW);
  }

  // Pageable host memory: the copy is staged before the call returns.
  void upload(D* dst, const D* host_src, index_t count) {
    if (!status_.ok()) return;
    ok(cuda_check(cudaMemcpyAsync(dst, host_src, count * sizeof(D), cudaMemcpyHostToDevice, stream_),
                  "cudaMemcpyAsync(expm_multiply estimate block)"));
  }
  void download(D* host_dst, const D* src, index_t count) {
    if (!status_.ok()) {
      std::fill(host_dst, host_dst + count, D(0));
      return;
    }
    ok(cuda_check(cudaMemcpyAsync(host_dst, src, count * sizeof(D), cudaMemcpyDeviceToHost, stream_),
                  "cudaMemcpyAsync(expm_multiply estimate block)"));
    ok(cuda_check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize(expm_multiply)"));
  }

  void expm(const D* x, D* e) {
    if (!status_.ok()) return;
    ok(gpu::expm<T>(stream_, device_, reinterpret_cast<const T*>(x), reinterpret_cast<T*>(e), 1, n_, scratch_.fn()));
  }
  void expm_adjoint(const D* x, const D* g, D* l) {
    if (!status_.ok()) return;
    ok(gpu::expm_grad<T>(stream_, device_, reinterpret_cast<const T*>(x), reinterpret_cast<const T*>(g),
                         reinterpret_cast<T*>(l), 1, n_, scratch_.fn()));
  }

 private:
  static T host(const D& x) {
    if constexpr (is_complex<T>::value) {
      return T(x.real(), x.imag());
    } else {
      return x;
    }
  }
  static cublasOperation_t op(char c) { return c == 'N' ? CUBLAS_OP_N : c == 'T' ? CUBLAS_OP_T : CUBLAS_OP_C; }
  static unsigned grid(index_t count) {
    return static_cast<unsigned>(std::min<index_t>((count + kStepThreads - 1) / kStepThreads, 4096));
  }
  static unsigned parts_for(index_t count) {
    return static_cast<unsigned>(std::max<index_t>(1, std::min<index_t>((count + 4095) / 4096, kMaxParts)));
  }
  template <class V>
  void read(V* out, const V* src, int count) {
    V* pinned = static_cast<V*>(pinned_host_buffer(count * sizeof(V)));
    if (pinned == nullptr) {
      ok(error(Code::kResourceExhausted, "expm_multiply: could not allocate pinned host memory"));
      return;
    }
    ok(cuda_check(cudaMemcpyAsync(pinned, src, count * sizeof(V), cudaMemcpyDeviceToHost, stream_),
                  "cudaMemcpyAsync(expm_multiply read)"));
    ok(cuda_check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize(expm_multiply)"));
    if (status_.ok()) std::copy(pinned, pinned + count, out);
  }
  void ok(const Status& s) {
    if (status_.ok() && !s.ok()) status_ = s;
  }

  cudaStream_t stream_;
  int device_;
  SolverHandles* h_;
  const SolverApi& api_;
  ReusedScratch scratch_;
  int n_;
  D* part_sum_ = nullptr;
  R* part_max_ = nullptr;
  Status status_;
};

// t to the host (one synchronisation), and the device and workspace of a host-driven launch.
template <class T>
Status host_setup(cudaStream_t stream, int device, const T* t, std::int64_t batch, int n, int k, bool backward,
                  const ScratchFn& scratch, std::vector<T>* t_host, SolverHandles** handles, dev_t<T>** ws) {
  std::string err;
  *handles = solver_handles(stream, &err, device);
  if (*handles == nullptr) return error(Code::kUnavailable, "expm_multiply: " + err);
  t_host->resize(static_cast<std::size_t>(batch));
  DETEXP_RETURN_IF_ERROR(cuda_check(cudaMemcpyAsync(t_host->data(), t, batch * sizeof(T), cudaMemcpyDeviceToHost, stream),
                                    "cudaMemcpyAsync(expm_multiply t)"));
  DETEXP_RETURN_IF_ERROR(cuda_check(cudaStreamSynchronize(stream), "cudaStreamSynchronize(expm_multiply t)"));
  const em::DeviceLayout layout = em::device_layout(n, k, backward, BlasPlan::template kDenseRatio<dev_t<T>>);
  return alloc(scratch, layout.total, ws, "the expm_multiply workspace");
}

template <class T>
const dev_t<T>* dev_host(const std::vector<T>& v) {
  return reinterpret_cast<const dev_t<T>*>(v.data());
}

}  // namespace

const ExpmMultiplyTuning& expm_multiply_tuning() {
  static const ExpmMultiplyTuning t = [] {
    ExpmMultiplyTuning x;
    x.team_max_n = static_cast<int>(std::min<std::int64_t>(
        env_int("DETEXP_GPU_EXPM_MULTIPLY_TEAM_MAX_N", plan::kExpmMultiplyTeamMaxN), em::kTeamMaxN));
    return x;
  }();
  return t;
}

template <class T>
Status expm_multiply(cudaStream_t stream, int device, const T* a, const T* b, const T* t, T* f, int* choice,
                     std::int64_t batch, int n, int k, const ScratchFn& scratch) {
  if (choice != nullptr) std::fill(choice, choice + batch, em::kChoiceNone);
  if (batch == 0 || n == 0 || k == 0) return Status();
  if (n > 46340) return error(Code::kInvalidArgument, "expm_multiply: n = " + std::to_string(n) + " exceeds 46340");
  if (n <= expm_multiply_tuning().team_max_n) {
    return launch_teams<T, false>(stream, device, a, b, t, static_cast<const T*>(nullptr), f, static_cast<T*>(nullptr),
                                  static_cast<T*>(nullptr), static_cast<T*>(nullptr), batch, n, k, scratch);
  }
  std::vector<T> t_host;
  SolverHandles* handles = nullptr;
  dev_t<T>* ws = nullptr;
  DETEXP_RETURN_IF_ERROR(host_setup(stream, device, t, batch, n, k, false, scratch, &t_host, &handles, &ws));
  CudaDevice<T> dv(stream, device, handles, scratch, n);
  std::vector<int> codes(static_cast<std::size_t>(batch));
  const std::int64_t nn = static_cast<std::int64_t>(n) * n, nk = static_cast<std::int64_t>(n) * k;
  for (std::int64_t i = 0; i < batch && dv.status().ok(); ++i) {
    dv.next_matrix();
    em::expm_multiply_device<BlasPlan>(dv, 1, n, k, dev(a) + i * nn, dev(b) + i * nk, dev_host(t_host) + i,
                                       dev(f) + i * nk, codes.data() + i, ws);
  }
  if (choice != nullptr && dv.status().ok()) std::copy(codes.begin(), codes.end(), choice);
  return dv.status();
}

template <class T>
Status expm_multiply_grad(cudaStream_t stream, int device, const T* a, const T* b, const T* t, const T* g,
                          const int* choice, T* grad_a, T* grad_b, T* grad_t, std::int64_t batch, int n, int k,
                          const ScratchFn& scratch) {
  if (batch == 0 || n == 0) return Status();
  if (n > 46340) return error(Code::kInvalidArgument, "expm_multiply: n = " + std::to_string(n) + " exceeds 46340");
  if (n <= expm_multiply_tuning().team_max_n) {
    return launch_teams<T, true>(stream, device, a, b, t, g, static_cast<T*>(nullptr), grad_a, grad_b, grad_t, batch,
                                 n, k, scratch);
  }
  std::vector<T> t_host;
  SolverHandles* handles = nullptr;
  dev_t<T>* ws = nullptr;
  DETEXP_RETURN_IF_ERROR(host_setup(stream, device, t, batch, n, k, true, scratch, &t_host, &handles, &ws));
  CudaDevice<T> dv(stream, device, handles, scratch, n);
  const std::int64_t nn = static_cast<std::int64_t>(n) * n, nk = static_cast<std::int64_t>(n) * k;
  for (std::int64_t i = 0; i < batch && dv.status().ok(); ++i) {
    dv.next_matrix();
    em::expm_multiply_grad_device<BlasPlan>(dv, 1, n, k, dev(a) + i * nn, dev(b) + i * nk, dev_host(t_host) + i,
                                            dev(g) + i * nk, choice == nullptr ? nullptr : choice + i,
                                            dev(grad_a) + i * nn, dev(grad_b) + i * nk, dev(grad_t) + i, ws);
  }
  return dv.status();
}

#define DETEXP_INSTANTIATE_EXPM_MULTIPLY(T)                                                                     \
  template Status expm_multiply<T>(cudaStream_t, int, const T*, const T*, const T*, T*, int*, std::int64_t, int, \
                                   int, const ScratchFn&);                                                      \
  template Status expm_multiply_grad<T>(cudaStream_t, int, const T*, const T*, const T*, const T*, const int*, T*, \
                                        T*, T*, std::int64_t, int, int, const ScratchFn&);
DETEXP_INSTANTIATE_EXPM_MULTIPLY(float)
DETEXP_INSTANTIATE_EXPM_MULTIPLY(double)
DETEXP_INSTANTIATE_EXPM_MULTIPLY(std::complex<float>)
DETEXP_INSTANTIATE_EXPM_MULTIPLY(std::complex<double>)
#undef DETEXP_INSTANTIATE_EXPM_MULTIPLY

}  // namespace gpu
}  // namespace detexp
