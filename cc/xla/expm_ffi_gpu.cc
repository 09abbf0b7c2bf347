// XLA custom-call handlers of the matrix exponential family on the GPU ("CUDA"; CUDA builds only):
// the launchers of cuda/expm_launch.h, which the TF GPU kernels (cc/kernels/expm_kernels_gpu.cc)
// call, on the stream XLA hands over, with scratch from the FFI's allocator (ffi_gpu_util.h).
#if GOOGLE_CUDA

#include <cstdint>

#include "cc/xla/ffi_buffers.h"
#include "cc/xla/ffi_gpu_util.h"
#include "cc/xla/ffi_targets.h"
#include "cuda/expm_launch.h"

namespace detexp {
namespace xla_ffi {
namespace {

// The device kernels select (m, s) inside and do not report it: choice is -1 for every matrix
// (kExpmChoiceNone; all bytes 0xff), set on the stream, and ExpmGrad selects again.
ffi::Error ExpmCuda(cudaStream_t stream, std::int32_t device, ffi::ScratchAllocator scratch, ffi::AnyBuffer a,
                    ffi::Result<ffi::AnyBuffer> out, ffi::Result<ffi::AnyBuffer> choice) {
  const Matrices m = MatricesOf(a);
  if (m.batch > 0 && cudaMemsetAsync(choice->untyped_data(), 0xff, m.batch * sizeof(int), stream) != cudaSuccess) {
    return ffi::Error::Internal("detexp_expm: cudaMemsetAsync(choice) failed");
  }
  return LaunchFor(a, kExpmTarget, [&](auto zero, Matrices m) {
    using T = decltype(zero);
    return gpu::expm<T>(stream, device, Data<T>(a), Data<T>(*out), m.batch, m.n, ScratchOf(scratch));
  });
}

ffi::Error ExpmFrechetCuda(cudaStream_t stream, std::int32_t device, ffi::ScratchAllocator scratch, ffi::AnyBuffer a, ffi::AnyBuffer e,
                           ffi::Result<ffi::AnyBuffer> r, ffi::Result<ffi::AnyBuffer> l) {
  return LaunchFor(a, kExpmFrechetTarget, [&](auto zero, Matrices m) {
    using T = decltype(zero);
    return gpu::expm_frechet<T>(stream, device, Data<T>(a), Data<T>(e), Data<T>(*r), Data<T>(*l), m.batch, m.n,
                                ScratchOf(scratch));
  });
}

// `choice` is device memory here and the GPU kernels select (m, s) again whatever it holds, so it
// is not read: checking it would cost a host synchronisation, and a wrong code cannot change the
// result (the TF GPU kernel checks it only because it arrives in host memory).
ffi::Error ExpmGradCuda(cudaStream_t stream, std::int32_t device, ffi::ScratchAllocator scratch, ffi::AnyBuffer a, ffi::AnyBuffer g,
                        ffi::AnyBuffer /*choice*/, ffi::Result<ffi::AnyBuffer> out) {
  return LaunchFor(a, kExpmGradTarget, [&](auto zero, Matrices m) {
    using T = decltype(zero);
    return gpu::expm_grad<T>(stream, device, Data<T>(a), Data<T>(g), Data<T>(*out), m.batch, m.n, ScratchOf(scratch));
  });
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpExpmCuda, ExpmCuda, (CudaBinding<1, 2>()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpExpmFrechetCuda, ExpmFrechetCuda, (CudaBinding<2, 2>()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpExpmGradCuda, ExpmGradCuda, (CudaBinding<3, 1>()));

XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kExpmTarget, "CUDA", DetexpExpmCuda);
XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kExpmFrechetTarget, "CUDA", DetexpExpmFrechetCuda);
XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kExpmGradTarget, "CUDA", DetexpExpmGradCuda);

}  // namespace xla_ffi
}  // namespace detexp

#endif  // GOOGLE_CUDA
