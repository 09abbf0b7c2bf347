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

// `factors`: none (a forward whose factors nothing reads), or lu and perm.
ffi::Error SlogdetHost(ffi::ThreadPool pool, ffi::AnyBuffer a, ffi::Result<ffi::AnyBuffer> sign,
                       ffi::Result<ffi::AnyBuffer> logabsdet, ffi::RemainingRets factors) {
  const Matrices m = MatricesOf(a);
  void* lu = nullptr;
  int* perm = nullptr;
  if (factors.size() == 2) {
    auto lu_buf = factors.get<ffi::AnyBuffer>(0);
    auto perm_buf = factors.get<ffi::AnyBuffer>(1);
    if (!lu_buf.has_value()) return lu_buf.error();
    if (!perm_buf.has_value()) return perm_buf.error();
    lu = (*lu_buf)->untyped_data();
    perm = Data<int>(**perm_buf);
  } else if (factors.size() != 0) {
    return ffi::Error::InvalidArgument("detexp_slogdet: expected 2 or 4 results");
  }
  return ForDtype(a.element_type(), kSlogdetTarget, [&](auto zero) {
    using T = decltype(zero);
    ForEachMatrix(pool, m.batch,
                  SlogdetWork<T>{Data<T>(a), m.n, static_cast<T*>(lu), perm, Data<T>(*sign),
                                 Data<real_t<T>>(*logabsdet)});
    return ffi::Error::Success();
  });
}

ffi::Error InverseFromLuHost(ffi::ThreadPool pool, ffi::AnyBuffer lu, ffi::AnyBuffer perm,
                             ffi::Result<ffi::AnyBuffer> inverse) {
  const Matrices m = MatricesOf(lu);
  return ForDtype(lu.element_type(), kInverseFromLuTarget, [&](auto zero) {
    using T = decltype(zero);
    ForEachMatrix(pool, m.batch, InverseFromLuWork<T>{Data<T>(lu), Data<int>(perm), m.n, Data<T>(*inverse)});
    return ffi::Error::Success();
  });
}

ffi::Error SlogdetBackwardHost(ffi::ThreadPool pool, ffi::AnyBuffer lu, ffi::AnyBuffer perm, ffi::AnyBuffer k,
                               ffi::Result<ffi::AnyBuffer> grad) {
  const Matrices m = MatricesOf(lu);
  return ForDtype(lu.element_type(), kSlogdetBackwardTarget, [&](auto zero) {
    using T = decltype(zero);
    ForEachMatrix(pool, m.batch,
                  SlogdetBackwardWork<T>{Data<T>(lu), Data<int>(perm), Data<T>(k), m.n, Data<T>(*grad)});
    return ffi::Error::Success();
  });
}

ffi::Error AdjugateHost(ffi::ThreadPool pool, ffi::AnyBuffer a, ffi::Result<ffi::AnyBuffer> adj) {
  const Matrices m = MatricesOf(a);
  return ForDtype(a.element_type(), kAdjugateTarget, [&](auto zero) {
    using T = decltype(zero);
    ForEachMatrix(pool, m.batch, AdjugateWork<T>{Data<T>(a), m.n, Data<T>(*adj)});
    return ffi::Error::Success();
  });
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpSlogdetHost, SlogdetHost,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::AnyBuffer>()
                                  .Ret<ffi::AnyBuffer>()
                                  .Ret<ffi::AnyBuffer>()
                                  .RemainingRets());
XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpInverseFromLuHost, InverseFromLuHost,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::AnyBuffer>()
                                  .Arg<ffi::AnyBuffer>()
                                  .Ret<ffi::AnyBuffer>());
XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpSlogdetBackwardHost, SlogdetBackwardHost,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::AnyBuffer>()
                                  .Arg<ffi::AnyBuffer>()
                                  .Arg<ffi::AnyBuffer>()
                                  .Ret<ffi::AnyBuffer>());
XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpAdjugateHost, AdjugateHost,
                              ffi::Ffi::Bind().Ctx<ffi::ThreadPool>().Arg<ffi::AnyBuffer>().Ret<ffi::AnyBuffer>());

XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kSlogdetTarget, "Host", DetexpSlogdetHost);
XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kInverseFromLuTarget, "Host", DetexpInverseFromLuHost);
XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kSlogdetBackwardTarget, "Host", DetexpSlogdetBackwardHost);
XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kAdjugateTarget, "Host", DetexpAdjugateHost);

}  // namespace xla_ffi
}  // namespace detexp
