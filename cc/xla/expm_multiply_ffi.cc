// XLA custom-call handlers of dx.expm_multiply on the CPU ("Host"): the work of
// cc/kernels/expm_multiply_work.h over the pool XLA's FFI hands over (matrices sharded over it, or,
// for batches smaller than the pool, each matrix's products), as the TF kernels do with TF's pool:
// the same code on the same matrices, the same bits.
#include <cstdint>
#include <functional>

#include "cc/kernels/expm_multiply_work.h"
#include "cc/xla/ffi_buffers.h"
#include "cc/xla/ffi_parallel.h"
#include "cc/xla/ffi_targets.h"

namespace detexp {
namespace xla_ffi {
namespace {

// A block range function as a Work of ForEachMatrix.
struct BlockWork {
  int64_t cycles;
  const std::function<void(int64_t, int64_t)>* fn;
  int64_t cost() const { return cycles; }
  void operator()(int64_t begin, int64_t end) const { (*fn)(begin, end); }
};

template <class Work>
void RunOnFfiPool(ffi::ThreadPool& pool, int64_t batch, const Work& work) {
  const ParallelBlocks blocks = [&pool](int64_t count, int64_t cost, const std::function<void(int64_t, int64_t)>& fn) {
    ForEachMatrix(pool, count, BlockWork{cost, &fn});
  };
  RunExpmMultiply(work, batch, static_cast<int>(pool.num_threads()), blocks,
                  [&](const Work& w) { ForEachMatrix(pool, batch, w); });
}

ffi::Error ExpmMultiplyHost(ffi::ThreadPool pool, ffi::AnyBuffer a, ffi::AnyBuffer b, ffi::AnyBuffer t,
                            ffi::Result<ffi::AnyBuffer> f, ffi::Result<ffi::AnyBuffer> choice) {
  const Matrices m = MatricesOf(a);
  return ForDtype(a.element_type(), kExpmMultiplyTarget, [&](auto zero) {
    using T = decltype(zero);
    RunOnFfiPool(pool, m.batch,
                 ExpmMultiplyWork<T>{Data<T>(a), Data<T>(b), Data<T>(t), m.n, ColumnsOf(b), Data<T>(*f),
                                     Data<int>(*choice)});
    return ffi::Error::Success();
  });
}

// The choice codes are checked first, as by the TF kernel.
ffi::Error ExpmMultiplyGradHost(ffi::ThreadPool pool, ffi::AnyBuffer a, ffi::AnyBuffer b, ffi::AnyBuffer t,
                                ffi::AnyBuffer g, ffi::AnyBuffer choice, ffi::Result<ffi::AnyBuffer> grad_a,
                                ffi::Result<ffi::AnyBuffer> grad_b, ffi::Result<ffi::AnyBuffer> grad_t) {
  const Matrices m = MatricesOf(a);
  const int* c = Data<int>(choice);
  const int64_t bad = FirstInvalidExpmMultiplyChoice(c, m.batch);
  if (bad >= 0) return ffi::Error::InvalidArgument(ExpmMultiplyChoiceError(bad, c[bad]));
  return ForDtype(a.element_type(), kExpmMultiplyGradTarget, [&](auto zero) {
    using T = decltype(zero);
    RunOnFfiPool(pool, m.batch,
                 ExpmMultiplyGradWork<T>{Data<T>(a), Data<T>(b), Data<T>(t), Data<T>(g), c, m.n, ColumnsOf(b),
                                         Data<T>(*grad_a), Data<T>(*grad_b), Data<T>(*grad_t)});
    return ffi::Error::Success();
  });
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpExpmMultiplyHost, ExpmMultiplyHost, (HostBinding<3, 2>()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(DetexpExpmMultiplyGradHost, ExpmMultiplyGradHost, (HostBinding<5, 3>()));

XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kExpmMultiplyTarget, "Host", DetexpExpmMultiplyHost);
XLA_FFI_REGISTER_HANDLER(XLA_FFI_GetApi(), kExpmMultiplyGradTarget, "Host", DetexpExpmMultiplyGradHost);

}  // namespace xla_ffi
}  // namespace detexp
