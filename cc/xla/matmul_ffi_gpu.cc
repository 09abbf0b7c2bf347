// XLA custom-call handler of Detexp>MatMul on the GPU ("CUDA"; CUDA builds only): the launcher of
// cuda/matmul_launch.h, which the TF GPU kernel (cc/kernels/matmul_kernels_gpu.cc) calls, on the
// stream XLA hands over. The lowering (matmul_xla_ops.cc) has formed the adjoints already.
#if GOOGLE_CUDA

#include <cstdint>

#include "cc/xla/ffi_buffers.h"
#include "cc/xla/ffi_gpu_util.h"
#include "cc/xla/ffi_targets.h"
#include "cuda/matmul_launch.h"

namespace detexp {
namespace xla_ffi {
namespace {

// The launcher needs no scratch and no library handle: the stream alone picks the device.
ffi::Error MatMulCuda(cudaStream_t stream, std::int32_t /*device*/, ffi::ScratchAllocator /*scratch*/,
                      ffi::AnyBuffer a, ffi::AnyBuffer b, ffi::Result<ffi::AnyBuffer> c) {
  return LaunchFor(a, kMatMulTarget, [&](auto zero, Matrices m) {
    using T = decltype(zero);
    return gpu::matmul<T>(stream, Data<T>(a), Data<T>(b), Data<T>(*c), m.batch, m.n, false, false);
  });
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpMatMulCuda, MatMulCuda, (CudaBinding<2, 1>()));
XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kMatMulTarget, "CUDA", DetexpMatMulCuda);

}  // namespace xla_ffi
}  // namespace detexp

#endif  // GOOGLE_CUDA
