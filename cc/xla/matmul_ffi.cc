// XLA custom-call handler of Detexp>MatMul on the CPU ("Host"): the work of
// cc/kernels/matmul_work.h, sharded over the pool XLA's FFI hands over (the TF kernel's code, the
// same bits). The lowering (matmul_xla_ops.cc) has formed the adjoints already.
#include "cc/kernels/matmul_work.h"
#include "cc/xla/ffi_buffers.h"
#include "cc/xla/ffi_parallel.h"
#include "cc/xla/ffi_targets.h"

namespace detexp {
namespace xla_ffi {
namespace {

ffi::Error MatMulHost(ffi::ThreadPool pool, ffi::AnyBuffer a, ffi::AnyBuffer b, ffi::Result<ffi::AnyBuffer> c) {
  return RunOnPool(pool, a, kMatMulTarget, [&](auto zero) {
    using T = decltype(zero);
    return MatMulWork<T>{Data<T>(a), Data<T>(b), MatricesOf(a).n, false, false, Data<T>(*c)};
  });
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpMatMulHost, MatMulHost, (HostBinding<2, 1>()));
XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kMatMulTarget, "Host", DetexpMatMulHost);

}  // namespace xla_ffi
}  // namespace detexp
