// XLA custom-call handlers of the log-determinant family on the GPU ("CUDA"; CUDA builds only):
// the launchers of cuda/slogdet_launch.h, which the TF GPU kernels (cc/kernels/slogdet_kernels_gpu.cc)
// call, on the stream XLA hands over, with scratch from the FFI's allocator (ffi_gpu_util.h).
#if GOOGLE_CUDA

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "cc/core/scalar.h"
#include "cc/xla/ffi_buffers.h"
#include "cc/xla/ffi_gpu_util.h"
#include "cc/xla/ffi_targets.h"
#include "cuda/slogdet_launch.h"

namespace detexp {
namespace xla_ffi {
namespace {

// The launcher always writes the factors; where the lowering asked for none they go to scratch.
// n = 0 runs too (sign 1, logabsdet 0), as in the TF GPU kernel.
ffi::Error SlogdetCuda(cudaStream_t stream, std::int32_t device, ffi::ScratchAllocator scratch, ffi::AnyBuffer a,
                       ffi::Result<ffi::AnyBuffer> sign, ffi::Result<ffi::AnyBuffer> logabsdet, OptionalBuffer lu,
                       OptionalBuffer perm) {
  if (lu.has_value() != perm.has_value()) return ffi::Error::InvalidArgument("detexp_slogdet: lu without perm");
  const Matrices m = MatricesOf(a);
  if (m.batch == 0) return ffi::Error::Success();
  return ForDtype(a.element_type(), kSlogdetTarget, [&](auto zero) -> ffi::Error {
    using T = decltype(zero);
    void* lu_mem = lu ? (*lu)->untyped_data() : nullptr;
    void* perm_mem = perm ? (*perm)->untyped_data() : nullptr;
    if (!lu) {
      const std::size_t nn = static_cast<std::size_t>(m.n) * m.n;
      lu_mem = scratch.Allocate(std::max<std::size_t>(1, m.batch * nn * sizeof(T)), 256).value_or(nullptr);
      perm_mem = scratch.Allocate(std::max<std::size_t>(1, m.batch * m.n * sizeof(int)), 256).value_or(nullptr);
      if (lu_mem == nullptr || perm_mem == nullptr) {
        return ffi::Error(ffi::ErrorCode::kResourceExhausted, "detexp_slogdet: no scratch for the LU factors");
      }
    }
    return ToFfi(gpu::slogdet<T, real_t<T>>(stream, device, Data<T>(a), static_cast<T*>(lu_mem), static_cast<int*>(perm_mem),
                                            Data<T>(*sign), Data<real_t<T>>(*logabsdet), m.batch, m.n,
                                            ScratchOf(scratch)));
  });
}

ffi::Error InverseFromLuCuda(cudaStream_t stream, std::int32_t device, ffi::ScratchAllocator scratch, ffi::AnyBuffer lu,
                             ffi::AnyBuffer perm, ffi::Result<ffi::AnyBuffer> inverse) {
  return LaunchFor(lu, kInverseFromLuTarget, [&](auto zero, Matrices m) {
    using T = decltype(zero);
    return gpu::inverse_from_lu<T>(stream, device, Data<T>(lu), Data<int>(perm), Data<T>(*inverse), m.batch, m.n,
                                   ScratchOf(scratch));
  });
}

ffi::Error SlogdetBackwardCuda(cudaStream_t stream, std::int32_t device, ffi::ScratchAllocator scratch, ffi::AnyBuffer lu,
                               ffi::AnyBuffer perm, ffi::AnyBuffer k, ffi::Result<ffi::AnyBuffer> grad) {
  return LaunchFor(lu, kSlogdetBackwardTarget, [&](auto zero, Matrices m) {
    using T = decltype(zero);
    return gpu::slogdet_backward<T>(stream, device, Data<T>(lu), Data<int>(perm), Data<T>(k), Data<T>(*grad), m.batch, m.n,
                                    ScratchOf(scratch));
  });
}

ffi::Error AdjugateCuda(cudaStream_t stream, std::int32_t device, ffi::ScratchAllocator scratch, ffi::AnyBuffer a,
                        ffi::Result<ffi::AnyBuffer> adj) {
  return LaunchFor(a, kAdjugateTarget, [&](auto zero, Matrices m) {
    using T = decltype(zero);
    return gpu::adjugate<T>(stream, device, Data<T>(a), Data<T>(*adj), m.batch, m.n, ScratchOf(scratch));
  });
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpSlogdetCuda, SlogdetCuda,
                              (CudaBinding<1, 2>().OptionalRet<ffi::AnyBuffer>().OptionalRet<ffi::AnyBuffer>()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpInverseFromLuCuda, InverseFromLuCuda, (CudaBinding<2, 1>()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpSlogdetBackwardCuda, SlogdetBackwardCuda, (CudaBinding<3, 1>()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpAdjugateCuda, AdjugateCuda, (CudaBinding<1, 1>()));

XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kSlogdetTarget, "CUDA", DetexpSlogdetCuda);
XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kInverseFromLuTarget, "CUDA", DetexpInverseFromLuCuda);
XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kSlogdetBackwardTarget, "CUDA", DetexpSlogdetBackwardCuda);
XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kAdjugateTarget, "CUDA", DetexpAdjugateCuda);

}  // namespace xla_ffi
}  // namespace detexp

#endif  // GOOGLE_CUDA
