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
  return RunOnPool(pool, a, kExpmTarget, [&](auto zero) {
    using T = decltype(zero);
    return ExpmWork<T>{Data<T>(a), MatricesOf(a).n, Data<T>(*out), Data<int>(*choice)};
  });
}

ffi::Error ExpmFrechetHost(ffi::ThreadPool pool, ffi::AnyBuffer a, ffi::AnyBuffer e, ffi::Result<ffi::AnyBuffer> r,
                           ffi::Result<ffi::AnyBuffer> l) {
  return RunOnPool(pool, a, kExpmFrechetTarget, [&](auto zero) {
    using T = decltype(zero);
    return ExpmFrechetWork<T>{Data<T>(a), Data<T>(e), MatricesOf(a).n, Data<T>(*r), Data<T>(*l)};
  });
}

// The choice codes are checked first, as by the TF kernel (expm_choice_codes.h).
ffi::Error ExpmGradHost(ffi::ThreadPool pool, ffi::AnyBuffer a, ffi::AnyBuffer g, ffi::AnyBuffer choice,
                        ffi::Result<ffi::AnyBuffer> out) {
  const Matrices m = MatricesOf(a);
  const int* c = Data<int>(choice);
  const int64_t bad = a.element_type() == ffi::DataType::F32 || a.element_type() == ffi::DataType::C64
                          ? first_invalid_expm_choice<float>(c, m.batch)
                          : first_invalid_expm_choice<double>(c, m.batch);
  if (bad >= 0) return ffi::Error::InvalidArgument(expm_choice_error(bad, c[bad]));
  return RunOnPool(pool, a, kExpmGradTarget, [&](auto zero) {
    using T = decltype(zero);
    return ExpmGradWork<T>{Data<T>(a), Data<T>(g), c, m.n, Data<T>(*out)};
  });
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpExpmHost, ExpmHost, (HostBinding<1, 2>()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpExpmFrechetHost, ExpmFrechetHost, (HostBinding<2, 2>()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpExpmGradHost, ExpmGradHost, (HostBinding<3, 1>()));

XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kExpmTarget, "Host", DetexpExpmHost);
XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kExpmFrechetTarget, "Host", DetexpExpmFrechetHost);
XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kExpmGradTarget, "Host", DetexpExpmGradHost);

}  // namespace xla_ffi
}  // namespace detexp
