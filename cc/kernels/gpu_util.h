// Shared TF glue of the GPU kernels (GOOGLE_CUDA builds only): status conversion from the
// framework-free launchers, the stream of the OpKernelContext, scratch via allocate_temp.
#pragma once
#if GOOGLE_CUDA

#include <cstdint>
#include <vector>

#include "cuda/slogdet_launch.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"
#include "xla/stream_executor/stream.h"

namespace detexp {
namespace gpu_glue {

using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;
using ::tensorflow::TensorShape;

inline ::tensorflow::Status ToTf(const gpu::Status& s) {
  switch (s.code) {
    case gpu::Code::kOk: return ::tensorflow::Status();
    case gpu::Code::kInvalidArgument: return absl::InvalidArgumentError(s.message);
    case gpu::Code::kUnavailable: return absl::UnavailableError(s.message);
    case gpu::Code::kResourceExhausted: return absl::ResourceExhaustedError(s.message);
    default: return absl::InternalError(s.message);
  }
}

// The context's stream and the ordinal of the GPU that owns it (-1: unknown, the launchers then
// ask cudaGetDevice). A null CUDA stream would be the legacy default stream, which synchronises
// with every other stream of the device: refuse it.
inline ::tensorflow::Status GetStream(OpKernelContext* ctx, cudaStream_t* out, int* device) {
  auto* dc = ctx->op_device_context();
  auto* stream = dc == nullptr ? nullptr : dc->stream();
  if (stream == nullptr) return ::tensorflow::errors::Internal("detexp: no GPU stream in the OpKernelContext");
  *out = reinterpret_cast<cudaStream_t>(stream->platform_specific_handle().stream);
  if (*out == nullptr) return ::tensorflow::errors::Internal("detexp: TensorFlow's GPU stream has a null CUDA handle");
  // The platform (CUDA) ordinal TF's GPU device was created for (gpu_device.cc sets gpu_id so).
  const auto* info = ctx->device()->tensorflow_accelerator_device_info();
  *device = info == nullptr ? -1 : info->gpu_id;
  return ::tensorflow::Status();
}

// Scratch for the launchers: byte tensors from allocate_temp, alive until Compute returns (TF's
// GPU allocator keeps them valid for the work already enqueued on the stream).
class TempAllocator {
 public:
  explicit TempAllocator(OpKernelContext* ctx) : ctx_(ctx) {}
  gpu::ScratchFn fn() {
    return [this](std::size_t bytes) -> void* {
      // 256-byte alignment from TF's allocator; int8 elements, rounded up to 16 bytes.
      const int64_t n = static_cast<int64_t>((bytes + 15) / 16 * 16);
      temps_.emplace_back();
      if (!ctx_->allocate_temp(::tensorflow::DT_INT8, TensorShape({n}), &temps_.back()).ok()) return nullptr;
      return temps_.back().flat<int8_t>().data();
    };
  }

 private:
  OpKernelContext* ctx_;
  std::vector<Tensor> temps_;
};

// The tail of every GPU Compute: the context's stream and device ordinal, scratch from
// allocate_temp (alive until Compute returns), and the launcher's status as a TF status.
// launch(cudaStream_t, int device, gpu::ScratchFn) -> gpu::Status.
template <class Launch>
void RunLauncher(OpKernelContext* ctx, Launch&& launch) {
  cudaStream_t stream = nullptr;
  int device = -1;
  OP_REQUIRES_OK(ctx, GetStream(ctx, &stream, &device));
  TempAllocator temp(ctx);
  OP_REQUIRES_OK(ctx, ToTf(launch(stream, device, temp.fn())));
}

}  // namespace gpu_glue
}  // namespace detexp

#endif  // GOOGLE_CUDA
