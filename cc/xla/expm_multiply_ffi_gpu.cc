// XLA custom-call handlers of dx.expm_multiply on the GPU ("CUDA"; CUDA builds only): the launchers
// of cuda/expm_multiply_launch.h, which the TF GPU kernels call, on the stream XLA hands over, with
// scratch from the FFI's allocator (ffi_gpu_util.h).
#if GOOGLE_CUDA

#include <cstdint>

#include "cc/xla/ffi_buffers.h"
#include "cc/xla/ffi_gpu_util.h"
#include "cc/xla/ffi_targets.h"
#include "cuda/expm_multiply_launch.h"

namespace detexp {
namespace xla_ffi {
namespace {

// `choice` is device memory here: -1 for every matrix (all bytes 0xff), set on the stream, and the
// backward selects again (the same codes: the selection is deterministic).
ffi::Error ExpmMultiplyCuda(cudaStream_t stream, std::int32_t device, ffi::ScratchAllocator scratch, ffi::AnyBuffer a,
                            ffi::AnyBuffer b, ffi::AnyBuffer t, ffi::Result<ffi::AnyBuffer> f,
                            ffi::Result<ffi::AnyBuffer> choice) {
  const Matrices m = MatricesOf(a);
  if (m.batch > 0 && cudaMemsetAsync(choice->untyped_data(), 0xff, m.batch * sizeof(int), stream) != cudaSuccess) {
    return ffi::Error::Internal("detexp_expm_multiply: cudaMemsetAsync(choice) failed");
  }
  return LaunchFor(a, kExpmMultiplyTarget, [&](auto zero, Matrices m) {
    using T = decltype(zero);
    return gpu::expm_multiply<T>(stream, device, Data<T>(a), Data<T>(b), Data<T>(t), Data<T>(*f), nullptr, m.batch,
                                 m.n, ColumnsOf(b), ScratchOf(scratch));
  });
}

// The codes are device memory and not read (checking them would cost a host synchronisation); the
// kernels select again, which gives the forward's codes.
ffi::Error ExpmMultiplyGradCuda(cudaStream_t stream, std::int32_t device, ffi::ScratchAllocator scratch,
                                ffi::AnyBuffer a, ffi::AnyBuffer b, ffi::AnyBuffer t, ffi::AnyBuffer g,
                                ffi::AnyBuffer /*choice*/, ffi::Result<ffi::AnyBuffer> grad_a,
                                ffi::Result<ffi::AnyBuffer> grad_b, ffi::Result<ffi::AnyBuffer> grad_t) {
  return LaunchFor(a, kExpmMultiplyGradTarget, [&](auto zero, Matrices m) {
    using T = decltype(zero);
    return gpu::expm_multiply_grad<T>(stream, device, Data<T>(a), Data<T>(b), Data<T>(t), Data<T>(g), nullptr,
                                      Data<T>(*grad_a), Data<T>(*grad_b), Data<T>(*grad_t), m.batch, m.n,
                                      ColumnsOf(b), ScratchOf(scratch));
  });
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpExpmMultiplyCuda, ExpmMultiplyCuda, (CudaBinding<3, 2>()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpExpmMultiplyGradCuda, ExpmMultiplyGradCuda, (CudaBinding<5, 3>()));

XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kExpmMultiplyTarget, "CUDA", DetexpExpmMultiplyCuda);
XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kExpmMultiplyGradTarget, "CUDA", DetexpExpmMultiplyGradCuda);

}  // namespace xla_ffi
}  // namespace detexp

#endif  // GOOGLE_CUDA
