// Shared pieces of the GPU ("CUDA") FFI handlers (CUDA builds only): scratch for the launchers of
// cuda/*_launch.h from the FFI's device allocator, and their status as an FFI error.
//
// Command buffers: none of these handlers is declared kCmdBufferCompatible (the FFI default), so
// XLA runs them on the stream instead of capturing them into a CUDA graph. They allocate scratch at
// run time (the FFI's condition 2 for capture), and the large-n paths synchronise with the host
// (cuSOLVER info checks in slogdet, the per-chunk decisions of expm's cuBLAS path).
#pragma once
#if GOOGLE_CUDA

#include <cuda_runtime_api.h>

#include <cstddef>

#include "cc/xla/ffi_buffers.h"
#include "cuda/slogdet_launch.h"
#include "xla/ffi/api/ffi.h"

namespace detexp {
namespace xla_ffi {

using CudaStream = ffi::PlatformStream<cudaStream_t>;

inline ffi::Error ToFfi(const gpu::Status& s) {
  switch (s.code) {
    case gpu::Code::kOk: return ffi::Error::Success();
    case gpu::Code::kInvalidArgument: return ffi::Error(ffi::ErrorCode::kInvalidArgument, s.message);
    case gpu::Code::kUnavailable: return ffi::Error(ffi::ErrorCode::kUnavailable, s.message);
    case gpu::Code::kResourceExhausted: return ffi::Error(ffi::ErrorCode::kResourceExhausted, s.message);
    default: return ffi::Error::Internal(s.message);
  }
}

// The launchers' ScratchFn over the FFI's allocator. Its buffers are freed when the handler returns,
// while the work enqueued on the stream may still use them: XLA's GPU allocator is stream-ordered
// (as TF's allocate_temp, which the TF GPU kernels rely on in the same way).
inline gpu::ScratchFn ScratchOf(ffi::ScratchAllocator& scratch) {
  return [&scratch](std::size_t bytes) -> void* {
    const auto p = scratch.Allocate(bytes, /*alignment=*/256);
    return p.has_value() ? *p : nullptr;
  };
}

// The signature of a GPU handler: the stream, XLA's device ordinal (the launchers pick the cuSOLVER
// and cuBLAS handles of that device, as the TF kernels pass the device of their op context), the
// scratch allocator, kArgs buffer arguments, kRets buffer results.
template <int kArgs, int kRets>
auto CudaBinding() {
  return WithBuffers<kArgs, kRets>(
      ffi::Ffi::Bind().Ctx<CudaStream>().Ctx<ffi::DeviceOrdinal>().Ctx<ffi::ScratchAllocator>());
}

// The body of a GPU handler: launch(T{}, matrices of a) -> gpu::Status for a's dtype T, skipped for
// an empty batch or n = 0 (as the TF GPU kernels skip them).
template <class Launch>
ffi::Error LaunchFor(const ffi::AnyBuffer& a, const char* target, Launch&& launch) {
  const Matrices m = MatricesOf(a);
  if (m.batch == 0 || m.n == 0) return ffi::Error::Success();
  return ForDtype(a.element_type(), target, [&](auto zero) { return ToFfi(launch(zero, m)); });
}

}  // namespace xla_ffi
}  // namespace detexp

#endif  // GOOGLE_CUDA
