// Launchers of the log-determinant family on the GPU. Framework-free: the TF glue
// (cc/kernels/slogdet_kernels_gpu.cc) and the standalone test (cuda/tests/) both call these.
//
// Conventions are those of the CPU path (cc/core/small_lu.h): each row-major n×n slice is read as
// a column-major matrix B = A^T; lu holds P B = L U column-major and perm[i] is the row of B that
// became row i. Types are the host types (float, double, std::complex<float|double>); the device
// code maps std::complex onto detexp::gpu::dcomplex (cuda/device_complex.h; same layout).
// All pointers are device pointers; work is enqueued on `stream`, which belongs to GPU `device` (an
// ordinal; -1: the calling thread's current device). Nothing synchronises with the host unless
// DETEXP_GPU_CHECK_INFO is set (Tuning::check_info). Batch counts are 64-bit.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace detexp {
namespace gpu {

enum class Code { kOk = 0, kInvalidArgument, kUnavailable, kResourceExhausted, kInternal };

struct Status {
  Code code = Code::kOk;
  std::string message;
  bool ok() const { return code == Code::kOk; }
};

// Device scratch from the caller (TF: OpKernelContext::allocate_temp); nullptr on failure. The
// memory must stay valid until the work enqueued on the stream has finished using it (TF's
// stream-ordered allocator guarantees that for temporaries of an op).
using ScratchFn = std::function<void*(std::size_t bytes)>;

// sign, logabsdet [batch]; lu [batch, n, n]; perm [batch, n]. `a` is not modified.
template <class T, class R>
Status slogdet(cudaStream_t stream, int device, const T* a, T* lu, int* perm, T* sign, R* logabsdet,
               std::int64_t batch, int n, const ScratchFn& scratch);

// inverse [batch, n, n] from the factors written by slogdet.
template <class T>
Status inverse_from_lu(cudaStream_t stream, int device, const T* lu, const int* perm, T* inverse,
                       std::int64_t batch, int n, const ScratchFn& scratch);

// The slogdet backward k[b] * A_b^{-H} [batch, n, n] from the factors (k: [batch]).
template <class T>
Status slogdet_backward(cudaStream_t stream, int device, const T* lu, const int* perm, const T* k, T* out,
                        std::int64_t batch, int n, const ScratchFn& scratch);

// adj(a) [batch, n, n], exact at singular matrices (SVD: cuSOLVER gesvdj), NaN for non-finite input.
template <class T>
Status adjugate(cudaStream_t stream, int device, const T* a, T* out, std::int64_t batch, int n,
                const ScratchFn& scratch);

// Tuning knobs, read once from the environment (for measuring crossovers on the GPU machine):
//   DETEXP_GPU_WARP_MAX_N     largest n for the warp-per-matrix kernels (<= 32, default 32)
//   DETEXP_GPU_BATCHED_MAX_N  largest n for cuBLAS getrfBatched; beyond it a loop of cuSOLVER getrf
//   DETEXP_GPU_BATCHED_MIN_BATCH  smallest batch for getrfBatched (default 2)
//   DETEXP_GPU_WORKSPACE_BUDGET_MB  most workspace one batched cuSOLVER call gets (default 256): larger
//                             batches run in chunks (also capped so the int workspace size cannot overflow)
//   DETEXP_GPU_CHECK_INFO=1   debugging: after cuSOLVER/cuBLAS calls, wait for the stream and turn
//                             an info < 0 (an argument error: a bug of ours, never the data) or a
//                             gesvdj that did not converge into an error. Off by default: it costs
//                             a host synchronisation per call.
struct Tuning {
  int warp_max_n = 32;
  int batched_max_n = 128;
  std::int64_t batched_min_batch = 2;
  std::int64_t workspace_budget_bytes = std::int64_t{256} << 20;
  bool check_info = false;
};
const Tuning& tuning();

}  // namespace gpu
}  // namespace detexp
