// XLA custom-call handlers of the log-determinant family on the CPU ("Host"): the work of
// cc/kernels/slogdet_work.h, sharded over the pool XLA's FFI hands over, so a jit-compiled function
// runs the same code on the same matrices as the TF kernels (the same bits).
#include "cc/kernels/slogdet_work.h"
#include "cc/xla/ffi_buffers.h"
#include "cc/xla/ffi_parallel.h"
#include "cc/xla/ffi_targets.h"

namespace detexp {
namespace xla_ffi {
namespace {

// lu and perm: both or neither (a forward whose factors nothing reads).
ffi::Error SlogdetHost(ffi::ThreadPool pool, ffi::AnyBuffer a, ffi::Result<ffi::AnyBuffer> sign,
                       ffi::Result<ffi::AnyBuffer> logabsdet, OptionalBuffer lu, OptionalBuffer perm) {
  if (lu.has_value() != perm.has_value()) return ffi::Error::InvalidArgument("detexp_slogdet: lu without perm");
  return RunOnPool(pool, a, kSlogdetTarget, [&](auto zero) {
    using T = decltype(zero);
    return SlogdetWork<T>{Data<T>(a), MatricesOf(a).n, lu ? Data<T>(**lu) : nullptr,
                          perm ? Data<int>(**perm) : nullptr, Data<T>(*sign), Data<real_t<T>>(*logabsdet)};
  });
}

ffi::Error InverseFromLuHost(ffi::ThreadPool pool, ffi::AnyBuffer lu, ffi::AnyBuffer perm,
                             ffi::Result<ffi::AnyBuffer> inverse) {
  return RunOnPool(pool, lu, kInverseFromLuTarget, [&](auto zero) {
    using T = decltype(zero);
    return InverseFromLuWork<T>{Data<T>(lu), Data<int>(perm), MatricesOf(lu).n, Data<T>(*inverse)};
  });
}

ffi::Error SlogdetBackwardHost(ffi::ThreadPool pool, ffi::AnyBuffer lu, ffi::AnyBuffer perm, ffi::AnyBuffer k,
                               ffi::Result<ffi::AnyBuffer> grad) {
  return RunOnPool(pool, lu, kSlogdetBackwardTarget, [&](auto zero) {
    using T = decltype(zero);
    return SlogdetBackwardWork<T>{Data<T>(lu), Data<int>(perm), Data<T>(k), MatricesOf(lu).n, Data<T>(*grad)};
  });
}

ffi::Error AdjugateHost(ffi::ThreadPool pool, ffi::AnyBuffer a, ffi::Result<ffi::AnyBuffer> adj) {
  return RunOnPool(pool, a, kAdjugateTarget, [&](auto zero) {
    using T = decltype(zero);
    return AdjugateWork<T>{Data<T>(a), MatricesOf(a).n, Data<T>(*adj)};
  });
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpSlogdetHost, SlogdetHost,
                              (HostBinding<1, 2>().OptionalRet<ffi::AnyBuffer>().OptionalRet<ffi::AnyBuffer>()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpInverseFromLuHost, InverseFromLuHost, (HostBinding<2, 1>()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpSlogdetBackwardHost, SlogdetBackwardHost, (HostBinding<3, 1>()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpAdjugateHost, AdjugateHost, (HostBinding<1, 1>()));

XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kSlogdetTarget, "Host", DetexpSlogdetHost);
XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kInverseFromLuTarget, "Host", DetexpInverseFromLuHost);
XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kSlogdetBackwardTarget, "Host", DetexpSlogdetBackwardHost);
XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kAdjugateTarget, "Host", DetexpAdjugateHost);

}  // namespace xla_ffi
}  // namespace detexp
