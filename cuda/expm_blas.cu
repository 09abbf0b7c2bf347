// The large-n matrix exponential family on the GPU: cc/core/expm_blas_driver.h's order of work
// with cuBLAS products (gemmBatched over pointer arrays), cuBLAS getrfBatched/getrsBatched or
// cuSOLVER getrf/getrs for the Padé solve (without pivoting for triangular input), and small
// kernels for the per-matrix steps (cc/core/expm_blas_steps.h: reducing steps over O(n) data by
// one block per matrix; column and entrywise steps, which hold the O(n^2) work, split over ~2+
// blocks per SM whatever the batch) and the matrix-vector products of the norm estimates and ℓ
// (spread the same way; every output has one summation order set by n alone, so the split of the
// grid, and hence the batch, changes no bits).
//
// The host reads the per-matrix state once per round of the selection (each a stream
// synchronisation, ~10 per chunk), so this path serves only n >= gpu_plan's kExpmBatchedMinN,
// where one product costs far more than a synchronisation. The batch runs in chunks whose
// workspaces fit DETEXP_GPU_EXPM_GLOBAL_BUDGET_MB (at least one matrix per chunk).
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <complex>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cc/core/expm_blas_driver.h"
#include "cuda/expm_blas.h"
#include "cuda/expm_launch.h"
#include "cuda/expm_teams.h"
#include "cuda/gpu_common.h"

namespace detexp {
namespace gpu {
namespace {

using namespace common;
using expm_blas::BlasState;
using expm_blas::Step;
using expm_blas::StepArgs;
using expm_blas::StepParams;

constexpr int kStepThreads = kBlockTeamThreads;  // reducing steps: BlockTeam shuffles full warps

template <class T>
__global__ void __launch_bounds__(kStepThreads)
    reducing_step_kernel(Step step, StepParams prm, StepArgs<T> g, const int* __restrict__ idx) {
  __shared__ double red[32];
  const BlockTeam team{red};
  expm_blas::reducing_step(team, step, prm, g, idx[blockIdx.x]);
}

// blockIdx.x: the matrix of the list; blockIdx.y splits its n^2 entries.
template <class T>
__global__ void entrywise_step_kernel(Step step, StepParams prm, StepArgs<T> g, const int* __restrict__ idx) {
  const index_t first = static_cast<index_t>(blockIdx.y) * blockDim.x + threadIdx.x;
  const index_t stride = static_cast<index_t>(gridDim.y) * blockDim.x;
  expm_blas::entrywise_step(step, prm, g, idx[blockIdx.x], first, stride);
}

// Column steps and ℓ's products: blockIdx.x the matrix, blockIdx.y (grid-stride) a group of
// kColumnGroup columns, staged in tiles of kColumnRows rows (for_column_tiles); one thread per
// column then folds each tile's rows in order, so each column is one fold in row order (the team
// routines' and the CPU's order) whatever the grid.
constexpr int kColumnGroup = 8, kColumnRows = 128, kColumnThreads = 128;
constexpr int kTileStride = kColumnGroup + 1;  // padded: the owners' reads fall in distinct banks

// Columns j0 .. j0 + kColumnGroup - 1 of an n x n column-major matrix, kColumnRows rows at a time:
// the block stages tile[r][c] = load(row, col) (consecutive threads read consecutive rows of a
// column: the loads coalesce), then the column's owner runs fold(&tile[0][c], r0, rows). Every
// thread of the block calls it (it synchronises).
template <class E, class Load, class Fold>
__device__ void for_column_tiles(E (&tile)[kColumnRows][kTileStride], int n, int j0, bool owner, Load load,
                                 Fold fold) {
  for (int r0 = 0; r0 < n; r0 += kColumnRows) {
    for (int e = threadIdx.x; e < kColumnRows * kColumnGroup; e += blockDim.x) {
      const int r = e % kColumnRows, c = e / kColumnRows, row = r0 + r, col = j0 + c;
      if (row < n && col < n) tile[r][c] = load(row, col);
    }
    __syncthreads();
    if (owner) fold(&tile[0][threadIdx.x], r0, min(kColumnRows, n - r0));
    __syncthreads();
  }
}

template <class T>
__global__ void __launch_bounds__(kColumnThreads)
    column_step_kernel(Step step, StepArgs<T> g, const int* __restrict__ idx) {
  using E = expm_blas::ColumnEntry<real_t<T>>;
  __shared__ E tile[kColumnRows][kTileStride];
  const index_t i = idx[blockIdx.x];
  const int n = g.n;
  const int sources = expm_blas::column_sources(step, g);
  for (int j0 = blockIdx.y * kColumnGroup; j0 < n; j0 += gridDim.y * kColumnGroup) {
    const int own = j0 + static_cast<int>(threadIdx.x);
    const bool owner = threadIdx.x < kColumnGroup && own < n;
    E acc{real_t<T>(0), 0};
    for (int k = 0; k < sources; ++k) {
      const T* x = expm_blas::column_source(step, g, i, k);
      for_column_tiles(
          tile, n, j0, owner,
          [&](int row, int col) { return expm_blas::column_entry(step, k, x[row + static_cast<index_t>(col) * n], row, col); },
          [&](const E* t, int, int rows) {
            for (int r = 0; r < rows; ++r) expm_blas::column_fold(acc, t[r * kTileStride]);
          });
    }
    if (owner) expm_blas::column_store(step, g, i, own, acc);
  }
}

// ℓ's product j: each output one thread's expm_ell.h ell_fold_rows over the tiles in row order,
// ell_apply_columns' order. Matrices whose ℓ is decided return at once.
template <class T>
__global__ void __launch_bounds__(kColumnThreads) ell_product_kernel(StepArgs<T> g, const int* __restrict__ idx, int j) {
  using R = real_t<T>;
  __shared__ R tile[kColumnRows][kTileStride];
  const index_t i = idx[blockIdx.x];
  if (!g.state[i].ell_running) return;  // the same for the whole block
  const auto op = expm_blas::ell_operands(g, i, j);
  const int n = g.n;
  for (int j0 = blockIdx.y * kColumnGroup; j0 < n; j0 += gridDim.y * kColumnGroup) {
    const int own = j0 + static_cast<int>(threadIdx.x);
    const bool owner = threadIdx.x < kColumnGroup && own < n;
    R s = 0;
    for_column_tiles(
        tile, n, j0, owner, [&](int row, int col) { return op.b[row + static_cast<index_t>(col) * n]; },
        [&](const R* t, int r0, int rows) { s = ell_fold_rows(s, t, kTileStride, op.in + r0, rows); });
    if (owner) op.out[own] = s;
  }
}

// Identity pivots (1-based, as LAPACK's) for `count` matrices factored without pivoting.
__global__ void identity_pivots_kernel(int* ipiv, int n, int count) {
  const std::int64_t k = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k < static_cast<std::int64_t>(n) * count) ipiv[k] = static_cast<int>(k % n) + 1;
}

// Pointer arrays of slots c, a, b of the listed matrices (for gemmBatched).
template <class T>
__global__ void slot_pointers_kernel(StepArgs<T> g, const int* __restrict__ idx, int count, int c, int a, int b,
                                     T** pc, T** pa, T** pb) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= count) return;
  const auto w = small_expm::workspace_layout<T>(g.n, g.frechet, g.ws + idx[k] * g.ws_bytes);
  pc[k] = w.w[c];
  pa[k] = w.w[a];
  pb[k] = w.w[b];
}

// out := X in for the vectors of each listed matrix's tv (small_expm::mat_vec), column-major X.
// The columns go in chunks of `width` (gemv_chunk_columns: set by n alone); blockIdx.z is the
// chunk, and thread i sums row i over its chunk in k order (consecutive threads read consecutive
// entries of each column). One chunk writes out; several write partial sums that
// gemv_sum_kernel adds in chunk order. So each output has one summation order for a given n.
template <class T>
__global__ void gemv_forward_kernel(StepArgs<T> g, const int* __restrict__ idx, int x_slot, int in, int out, int width,
                                    T* __restrict__ partial) {
  const int n = g.n;
  const auto w = small_expm::workspace_layout<T>(n, g.frechet, g.ws + idx[blockIdx.x] * g.ws_bytes);
  const T* x = w.w[x_slot];
  const T* v = w.tv + in * n;
  const int k0 = static_cast<int>(blockIdx.z) * width, k1 = min(n, k0 + width);
  T* o = gridDim.z == 1 ? w.tv + out * n
                        : partial + (static_cast<index_t>(blockIdx.x) * gridDim.z + blockIdx.z) * n;
  for (int i = blockIdx.y * blockDim.x + threadIdx.x; i < n; i += gridDim.y * blockDim.x) {
    T acc = T(0);
    for (int k = k0; k < k1; ++k) acc += x[i + static_cast<index_t>(k) * n] * v[k];
    o[i] = acc;
  }
}

template <class T>
__global__ void gemv_sum_kernel(StepArgs<T> g, const int* __restrict__ idx, int out, int chunks,
                                const T* __restrict__ partial) {
  const int n = g.n;
  const auto w = small_expm::workspace_layout<T>(n, g.frechet, g.ws + idx[blockIdx.x] * g.ws_bytes);
  const T* p = partial + static_cast<index_t>(blockIdx.x) * chunks * n;
  T* o = w.tv + out * n;
  for (int i = blockIdx.y * blockDim.x + threadIdx.x; i < n; i += gridDim.y * blockDim.x) {
    T acc = p[i];
    for (int c = 1; c < chunks; ++c) acc += p[static_cast<index_t>(c) * n + i];
    o[i] = acc;
  }
}

// Columns per chunk of the forward product: at least 64 (one chunk up to n = 64), at most 32
// chunks (partial sums of at most 32 n scalars per matrix). n = 2048: 32 chunks of 64 columns
// times 8 blocks of 256 rows, 256 blocks for a lone matrix.
inline int gemv_chunk_columns(int n) { return std::max(64, (n + 31) / 32); }

// out := X^H in: a warp sums column i (lanes read consecutive entries; lane-strided partial sums,
// then a fixed butterfly).
template <class T>
__global__ void gemv_adjoint_kernel(StepArgs<T> g, const int* __restrict__ idx, int x_slot, int in, int out) {
  using R = real_t<T>;
  const int n = g.n;
  const auto w = small_expm::workspace_layout<T>(n, g.frechet, g.ws + idx[blockIdx.x] * g.ws_bytes);
  const T* x = w.w[x_slot];
  const T* v = w.tv + in * n;
  T* o = w.tv + out * n;
  const int lane = threadIdx.x & 31, warps = blockDim.x / 32;
  for (int i = blockIdx.y * warps + threadIdx.x / 32; i < n; i += gridDim.y * warps) {
    const T* col = x + static_cast<index_t>(i) * n;
    T acc = T(0);
    for (int k = lane; k < n; k += 32) acc += conj_of(col[k]) * v[k];
    R re = real_part(acc), im = imag_part(acc);
    for (int m = 16; m > 0; m /= 2) {
      re += __shfl_xor_sync(0xffffffffu, re, m);
      if (is_complex<T>::value) im += __shfl_xor_sync(0xffffffffu, im, m);
    }
    if (lane == 0) o[i] = make_scalar<T>(re, im);
  }
}

// The backend of expm_blas_driver.h on one stream. Errors are kept (the first wins) and turn
// every later call into a no-op; read_states then reports every matrix as excluded, so the
// driver finishes at once and the launcher returns the error.
template <class T>
class GpuBlasBackend {
 public:
  using R = real_t<T>;
  using D = dev_t<T>;
  struct List {
    std::shared_ptr<const std::vector<int>> host;
    const int* dev;
    int count;
  };

  GpuBlasBackend(cudaStream_t stream, SolverHandles* h, const ScratchFn& scratch, int max_count, int sms)
      : stream_(stream), h_(h), api_(solver_api()), scratch_(scratch), max_count_(max_count), sms_(sms) {
    ok(alloc(scratch_, 3 * static_cast<std::int64_t>(max_count), &ptrs_, "expm pointer arrays"));
    ok(alloc(scratch_, max_count, &states_dev_, "expm per-matrix state"));
    host_states_.resize(max_count);
  }

  Status status() const { return status_; }
  BlasState<R>* device_states() { return states_dev_; }
  void set_chunk(const StepArgs<D>& args, int count) {
    g_ = args;
    count_ = count;
  }

  List list(std::vector<int> idx) {
    auto host = std::make_shared<const std::vector<int>>(std::move(idx));
    const int count = static_cast<int>(host->size());
    int* dev = nullptr;
    if (status_.ok() && count > 0) {
      if (pool_used_ + count > pool_size_) {  // a new pool; the old one stays valid (scratch lives on)
        pool_size_ = std::max<std::int64_t>(8 * static_cast<std::int64_t>(max_count_), count);
        pool_used_ = 0;
        ok(alloc(scratch_, pool_size_, &pool_, "expm index lists"));
      }
      if (status_.ok()) {
        dev = pool_ + pool_used_;
        pool_used_ += count;
        // Pageable source: copied to a staging buffer before the call returns (no device sync).
        ok(cuda_check(cudaMemcpyAsync(dev, host->data(), count * sizeof(int), cudaMemcpyHostToDevice, stream_),
                      "cudaMemcpyAsync(expm index list)"));
      }
    }
    return List{std::move(host), dev, count};
  }
  List prefix(const List& l, int count) const { return List{l.host, l.dev, count}; }

  void step(const List& l, Step s, const StepParams& prm) {
    if (!status_.ok() || l.count == 0) return;
    if (expm_blas::step_is_entrywise(s)) {
      const std::int64_t nn = static_cast<std::int64_t>(g_.n) * g_.n;
      const unsigned split = blocks_per_matrix(l.count, (nn + 4095) / 4096, 64);
      entrywise_step_kernel<D><<<dim3(l.count, split), 256, 0, stream_>>>(s, prm, g_, l.dev);
      ok(launch_check("expm entrywise_step_kernel"));
    } else if (expm_blas::step_is_columnwise(s)) {
      const unsigned split = blocks_per_matrix(l.count, (g_.n + kColumnGroup - 1) / kColumnGroup, 1);
      column_step_kernel<D><<<dim3(l.count, split), kColumnThreads, 0, stream_>>>(s, g_, l.dev);
      ok(launch_check("expm column_step_kernel"));
    } else {
      reducing_step_kernel<D><<<l.count, kStepThreads, 0, stream_>>>(s, prm, g_, l.dev);
      ok(launch_check("expm reducing_step_kernel"));
    }
  }

  // Split over the columns like the column steps, so that a lone large matrix reaches many SMs.
  void ell_product(const List& l, int j) {
    if (!status_.ok() || l.count == 0) return;
    const unsigned split = blocks_per_matrix(l.count, (g_.n + kColumnGroup - 1) / kColumnGroup, 1);
    ell_product_kernel<D><<<dim3(l.count, split), kColumnThreads, 0, stream_>>>(g_, l.dev, j);
    ok(launch_check("expm ell_product_kernel"));
  }

  void gemm(const List& l, int c, int a, int b, bool accumulate) {
    if (!status_.ok() || l.count == 0) return;
    D** pc = ptrs_;
    D** pa = ptrs_ + max_count_;
    D** pb = ptrs_ + 2 * max_count_;
    slot_pointers_kernel<D><<<(l.count + 127) / 128, 128, 0, stream_>>>(g_, l.dev, l.count, c, a, b, pc, pa, pb);
    ok(launch_check("expm slot_pointers_kernel"));
    if (!status_.ok()) return;
    const int n = g_.n;
    ok(blas_check(gemm_batched<T>(api_, h_->blas, CUBLAS_OP_N, n, n, n, host_ptrs(pa), n, host_ptrs(pb), n,
                                  host_ptrs(pc), n, accumulate, l.count),
                  "cublas<t>gemmBatched"));
  }

  void gemv(const List& l, int x, bool adjoint, int in, int out) {
    if (!status_.ok() || l.count == 0) return;
    const int n = g_.n;
    if (adjoint) {  // a warp per column, 8 per block
      gemv_adjoint_kernel<D><<<dim3(l.count, blocks_per_matrix(l.count, (n + 7) / 8, 1)), 256, 0, stream_>>>(
          g_, l.dev, x, in, out);
      ok(launch_check("expm gemv_adjoint_kernel"));
      return;
    }
    const int width = gemv_chunk_columns(n);
    const int chunks = (n + width - 1) / width;
    const unsigned rows = static_cast<unsigned>(std::min(64, (n + 255) / 256));
    if (chunks > 1) {
      const std::int64_t need = static_cast<std::int64_t>(max_count_) * chunks * n;
      if (need > partial_size_) {
        ok(alloc(scratch_, need, &partial_, "expm matrix-vector partial sums"));
        partial_size_ = need;
      }
      if (!status_.ok()) return;
    }
    gemv_forward_kernel<D><<<dim3(l.count, rows, chunks), 256, 0, stream_>>>(g_, l.dev, x, in, out, width, partial_);
    ok(launch_check("expm gemv_forward_kernel"));
    if (chunks == 1 || !status_.ok()) return;
    gemv_sum_kernel<D><<<dim3(l.count, rows), 256, 0, stream_>>>(g_, l.dev, out, chunks, partial_);
    ok(launch_check("expm gemv_sum_kernel"));
  }

  // Matrices with a triangular A are factored without pivoting (their results stay exactly
  // triangular): the list splits into those and the rest, each with its own run of pivots.
  void lu_factor(const List& l, int q) {
    if (!status_.ok() || l.count == 0) return;
    ok(alloc(scratch_, static_cast<std::int64_t>(l.count) * g_.n, &ipiv_, "expm pivots"));
    ok(alloc(scratch_, l.count, &info_, "expm getrf info"));
    const auto parts = split_by_kind(l);
    int* ipiv = ipiv_;
    for (int pivot = 1; pivot >= 0 && status_.ok(); --pivot) {
      const List& part = parts[pivot];
      factor(part, q, pivot ? ipiv : nullptr);
      if (!pivot && part.count > 0) {
        const std::int64_t total = static_cast<std::int64_t>(part.count) * g_.n;
        identity_pivots_kernel<<<static_cast<unsigned>((total + 255) / 256), 256, 0, stream_>>>(ipiv, g_.n, part.count);
        ok(launch_check("expm identity_pivots_kernel"));
      }
      ipiv += static_cast<std::int64_t>(part.count) * g_.n;
    }
  }

  // x := q^{-1} b: b copied to x, then solved in place with lu_factor's pivots (same list).
  void lu_solve(const List& l, int q, int b, int x) {
    StepParams copy;
    copy.a = x;
    copy.b = b;
    step(l, Step::kCopySlot, copy);
    if (!status_.ok() || l.count == 0) return;
    const auto parts = split_by_kind(l);
    const int* ipiv = ipiv_;
    for (int pivot = 1; pivot >= 0 && status_.ok(); --pivot) {
      solve(parts[pivot], q, x, ipiv);
      ipiv += static_cast<std::int64_t>(parts[pivot].count) * g_.n;
    }
  }

  void read_states() {
    if (status_.ok()) {
      // Through pinned memory: a pageable destination is staged by the driver, slower per read.
      const std::size_t bytes = count_ * sizeof(BlasState<R>);
      void* pinned = pinned_host_buffer(bytes);
      if (pinned == nullptr) ok(error(Code::kResourceExhausted, "expm: could not allocate pinned host memory"));
      if (status_.ok()) {
        ok(cuda_check(cudaMemcpyAsync(pinned, states_dev_, bytes, cudaMemcpyDeviceToHost, stream_),
                      "cudaMemcpyAsync(expm state)"));
      }
      if (status_.ok()) ok(cuda_check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize(expm state)"));
      if (status_.ok()) std::memcpy(host_states_.data(), pinned, bytes);
    }
    if (!status_.ok()) {
      for (auto& s : host_states_) s = BlasState<R>{};  // status kExcluded: the driver stops
    }
  }
  const BlasState<R>& state(int i) const { return host_states_[i]; }

 private:
  void ok(const Status& s) {
    if (status_.ok() && !s.ok()) status_ = s;
  }
  // Blocks per matrix for `count` listed matrices: ~2 per SM over the launch (at least `floor`,
  // at most `useful`, the blocks that have work).
  unsigned blocks_per_matrix(int count, std::int64_t useful, int floor) const {
    const std::int64_t want = std::max<std::int64_t>(floor, (2 * static_cast<std::int64_t>(sms_) + count - 1) / count);
    return static_cast<unsigned>(std::max<std::int64_t>(1, std::min<std::int64_t>({useful, want, 65535})));
  }
  bool use_batched(int count) const {
    return g_.n <= tuning().batched_max_n && count >= tuning().batched_min_batch;
  }
  static T** host_ptrs(D** p) { return reinterpret_cast<T**>(p); }
  // Slot `s` of the k-th listed matrix (a device address computed on the host).
  T* slot(const List& l, int k, int s) const {
    const auto w = small_expm::workspace_layout<D>(g_.n, g_.frechet, g_.ws + (*l.host)[k] * g_.ws_bytes);
    return reinterpret_cast<T*>(w.w[s]);
  }

  // {without pivoting (triangular A), with pivoting}, in list order.
  std::array<List, 2> split_by_kind(const List& l) {
    std::vector<int> parts[2];
    for (int k = 0; k < l.count; ++k) {
      const int i = (*l.host)[k];
      parts[host_states_[i].kind == 0 ? 1 : 0].push_back(i);
    }
    return {list(std::move(parts[0])), list(std::move(parts[1]))};
  }

  // getrf of slot q for the listed matrices; ipiv null: no pivoting.
  void factor(const List& l, int q, int* ipiv) {
    if (!status_.ok() || l.count == 0) return;
    const int n = g_.n;
    if (use_batched(l.count)) {
      D** pq = ptrs_;
      slot_pointers_kernel<D><<<(l.count + 127) / 128, 128, 0, stream_>>>(g_, l.dev, l.count, q, q, q, pq,
                                                                          ptrs_ + max_count_, ptrs_ + 2 * max_count_);
      ok(launch_check("expm slot_pointers_kernel"));
      if (status_.ok()) {
        ok(blas_check(getrf_batched<T>(api_, h_->blas, n, host_ptrs(pq), ipiv, info_, l.count), "cublas<t>getrfBatched"));
      }
      return;
    }
    int lwork = 0;
    ok(solver_check(getrf_buffer_size<T>(api_, h_->solver, n, slot(l, 0, q), &lwork), "cusolverDn<t>getrf_bufferSize"));
    T* work = nullptr;
    if (status_.ok()) ok(alloc(scratch_, lwork, &work, "getrf workspace"));
    for (int k = 0; k < l.count && status_.ok(); ++k) {
      ok(solver_check(getrf<T>(api_, h_->solver, n, slot(l, k, q), work,
                               ipiv == nullptr ? nullptr : ipiv + static_cast<std::int64_t>(k) * n, info_ + k),
                      "cusolverDn<t>getrf"));
    }
  }

  // x := q^{-1} x in place from factor's factors and pivots.
  void solve(const List& l, int q, int x, const int* ipiv) {
    if (!status_.ok() || l.count == 0) return;
    const int n = g_.n;
    if (use_batched(l.count)) {
      D** pq = ptrs_;
      D** px = ptrs_ + max_count_;
      slot_pointers_kernel<D><<<(l.count + 127) / 128, 128, 0, stream_>>>(g_, l.dev, l.count, q, x, x, pq, px,
                                                                          ptrs_ + 2 * max_count_);
      ok(launch_check("expm slot_pointers_kernel"));
      int info = 0;
      if (status_.ok()) {
        ok(blas_check(getrs_batched<T>(api_, h_->blas, n, host_ptrs(pq), ipiv, host_ptrs(px), &info, l.count),
                      "cublas<t>getrsBatched"));
      }
      if (status_.ok() && info != 0) {
        status_ = error(Code::kInternal, "cublas<t>getrsBatched: invalid argument " + std::to_string(-info));
      }
      return;
    }
    for (int k = 0; k < l.count && status_.ok(); ++k) {
      ok(solver_check(getrs<T>(api_, h_->solver, n, slot(l, k, q), ipiv + static_cast<std::int64_t>(k) * n,
                               slot(l, k, x), info_ + k),
                      "cusolverDn<t>getrs"));
    }
  }

  cudaStream_t stream_;
  SolverHandles* h_;
  const SolverApi& api_;
  const ScratchFn& scratch_;
  const int max_count_;
  const int sms_;  // the device's multiprocessors
  Status status_;
  StepArgs<D> g_{};
  int count_ = 0;
  D** ptrs_ = nullptr;
  BlasState<R>* states_dev_ = nullptr;
  std::vector<BlasState<R>> host_states_;
  int* pool_ = nullptr;
  std::int64_t pool_size_ = 0, pool_used_ = 0;
  int* ipiv_ = nullptr;
  int* info_ = nullptr;
  D* partial_ = nullptr;  // gemv_forward_kernel's partial sums
  std::int64_t partial_size_ = 0;
};

}  // namespace

template <class T>
Status expm_blas(cudaStream_t stream, int device, const T* a, const T* e, T* r, T* l, bool adjoint, std::int64_t batch,
                 int n, const ScratchFn& scratch) {
  using D = dev_t<T>;
  using R = real_t<T>;
  if (batch == 0) return Status();
  std::string err;
  SolverHandles* h = solver_handles(stream, &err, device);
  if (h == nullptr) {
    return error(Code::kUnavailable, "detexp GPU expm for n >= DETEXP_GPU_EXPM_BLAS_MIN_N needs cuBLAS/cuSOLVER: " + err);
  }
  const bool frechet = e != nullptr;
  const std::int64_t nn = static_cast<std::int64_t>(n) * n;
  const index_t ws_bytes = expm_team_workspace_bytes<D>(n, frechet);
  const std::int64_t per_matrix = ws_bytes + static_cast<std::int64_t>(sizeof(BlasState<R>));
  const int chunk = static_cast<int>(
      std::max<std::int64_t>(1, std::min<std::int64_t>({batch, expm_tuning().global_budget_bytes / per_matrix, 1 << 16})));
  unsigned char* ws = nullptr;
  DETEXP_RETURN_IF_ERROR(alloc(scratch, chunk * ws_bytes, &ws, "the expm workspaces"));
  std::lock_guard<std::mutex> guard(h->lock);
  GpuBlasBackend<T> be(stream, h, scratch, chunk, device_attribute(cudaDevAttrMultiProcessorCount, device, 1));
  DETEXP_RETURN_IF_ERROR(be.status());  // the handles are bound to this stream (solver_loader.h)
  for (std::int64_t begin = 0; begin < batch; begin += chunk) {
    const int count = static_cast<int>(std::min<std::int64_t>(chunk, batch - begin));
    StepArgs<D> args{n,
                     frechet,
                     adjoint,
                     dev(a) + begin * nn,
                     frechet ? dev(e) + begin * nn : nullptr,
                     r == nullptr ? nullptr : dev(r) + begin * nn,
                     frechet ? dev(l) + begin * nn : nullptr,
                     ws,
                     ws_bytes,
                     be.device_states()};
    be.set_chunk(args, count);
    expm_blas::run_chunk<D>(be, count, frechet, r != nullptr);
    DETEXP_RETURN_IF_ERROR(be.status());
  }
  return Status();
}

#define DETEXP_INSTANTIATE_EXPM_BLAS(T)                                                                    \
  template Status expm_blas<T>(cudaStream_t, int, const T*, const T*, T*, T*, bool, std::int64_t, int, \
                               const ScratchFn&);
DETEXP_INSTANTIATE_EXPM_BLAS(float)
DETEXP_INSTANTIATE_EXPM_BLAS(double)
DETEXP_INSTANTIATE_EXPM_BLAS(std::complex<float>)
DETEXP_INSTANTIATE_EXPM_BLAS(std::complex<double>)
#undef DETEXP_INSTANTIATE_EXPM_BLAS

}  // namespace gpu
}  // namespace detexp
