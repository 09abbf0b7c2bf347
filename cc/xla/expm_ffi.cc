// XLA custom-call handlers of the matrix exponential family on the CPU ("Host"): the work of
// cc/kernels/expm_work.h, sharded over the pool XLA's FFI hands over, so a jit-compiled function
// runs the same code on the same matrices as the TF kernels (the same bits).
#include "cc/kernels/expm_choice_codes.h"
#include "cc/kernels/expm_work.h"
#include "cc/xla/ffi_buffers.h"
#include "cc/xla/ffi_parallel.h"
#include "cc/xla/ffi_targets.h"

namespace detexp {
namespace xla_ffi {
namespace {

ffi::Error ExpmHost(ffi::ThreadPool pool, ffi::AnyBuffer a, ffi::Result<ffi::AnyBuffer> out,
                    ffi::Result<ffi::AnyBuffer> choice) {
  const Matrices m = MatricesOf(a);
  return ForDtype(a.element_type(), kExpmTarget, [&](auto zero) {
    using T = decltype(zero);
    ForEachMatrix(pool, m.batch, ExpmWork<T>{Data<T>(a), m.n, Data<T>(*out), Data<int>(*choice)});
    return ffi::Error::Success();
  });
}

ffi::Error ExpmFrechetHost(ffi::ThreadPool pool, ffi::AnyBuffer a, ffi::AnyBuffer e, ffi::Result<ffi::AnyBuffer> r,
                           ffi::Result<ffi::AnyBuffer> l) {
  const Matrices m = MatricesOf(a);
  return ForDtype(a.element_type(), kExpmFrechetTarget, [&](auto zero) {
    using T = decltype(zero);
    ForEachMatrix(pool, m.batch, ExpmFrechetWork<T>{Data<T>(a), Data<T>(e), m.n, Data<T>(*r), Data<T>(*l)});
    return ffi::Error::Success();
  });
}

ffi::Error ExpmGradHost(ffi::ThreadPool pool, ffi::AnyBuffer a, ffi::AnyBuffer g, ffi::AnyBuffer choice,
                        ffi::Result<ffi::AnyBuffer> out) {
  const Matrices m = MatricesOf(a);
  return ForDtype(a.element_type(), kExpmGradTarget, [&](auto zero) {
    using T = decltype(zero);
    const int* c = Data<int>(choice);
    const int64_t bad = first_invalid_expm_choice<real_t<T>>(c, m.batch);
    if (bad >= 0) return ffi::Error::InvalidArgument(expm_choice_error(bad, c[bad]));
    ForEachMatrix(pool, m.batch, ExpmGradWork<T>{Data<T>(a), Data<T>(g), c, m.n, Data<T>(*out)});
    return ffi::Error::Success();
  });
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpExpmHost, ExpmHost,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::AnyBuffer>()
                                  .Ret<ffi::AnyBuffer>()
                                  .Ret<ffi::AnyBuffer>());
XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpExpmFrechetHost, ExpmFrechetHost,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::AnyBuffer>()
                                  .Arg<ffi::AnyBuffer>()
                                  .Ret<ffi::AnyBuffer>()
                                  .Ret<ffi::AnyBuffer>());
XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpExpmGradHost, ExpmGradHost,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::AnyBuffer>()
                                  .Arg<ffi::AnyBuffer>()
                                  .Arg<ffi::AnyBuffer>()
                                  .Ret<ffi::AnyBuffer>());

XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kExpmTarget, "Host", DetexpExpmHost);
XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kExpmFrechetTarget, "Host", DetexpExpmFrechetHost);
XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kExpmGradTarget, "Host", DetexpExpmGradHost);

}  // namespace xla_ffi
}  // namespace detexp
