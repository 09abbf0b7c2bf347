// CPU kernels of dx.expm_multiply and its backward: thin TF glue over the work of
// expm_multiply_work.h (cc/core/expm_multiply.h on a range of matrices), sharded over the batch or,
// for batches smaller than the pool, over each matrix's products.
#include <complex>
#include <cstdint>
#include <functional>

#include "batch_util.h"
#include "expm_multiply_checks.h"
#include "expm_multiply_work.h"
#include "tensorflow/core/framework/op_kernel.h"

namespace detexp {

using ::tensorflow::DEVICE_CPU;
using ::tensorflow::OpKernel;
using ::tensorflow::OpKernelConstruction;
using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;

// The intra-op pool as ParallelBlocks, and RunExpmMultiply over it.
template <class Work>
void RunOnIntraOpPool(OpKernelContext* ctx, int64_t batch, const Work& work) {
  auto* pool = ctx->device()->tensorflow_cpu_worker_threads()->workers;
  const ParallelBlocks blocks = [pool](int64_t count, int64_t cost, const std::function<void(int64_t, int64_t)>& fn) {
    pool->ParallelFor(count, cost, fn);
  };
  RunExpmMultiply(work, batch, pool->NumThreads(), blocks, [&](const Work& w) { ForEachMatrix(ctx, batch, w); });
}

template <class T>
class ExpmMultiplyOp : public OpKernel {
 public:
  explicit ExpmMultiplyOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor &a = ctx->input(0), &b = ctx->input(1), &t = ctx->input(2);
    ExpmMultiplyShape sh;
    Tensor *f, *choice;
    OP_REQUIRES_OK(ctx, PrepareExpmMultiply(ctx, &sh, &f, &choice));
    RunOnIntraOpPool(ctx, sh.a.batch,
                     ExpmMultiplyWork<T>{a.flat<T>().data(), b.flat<T>().data(), t.flat<T>().data(), sh.a.n, sh.k,
                                         f->flat<T>().data(), choice->flat<int>().data()});
  }
};

template <class T>
class ExpmMultiplyGradOp : public OpKernel {
 public:
  explicit ExpmMultiplyGradOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor &a = ctx->input(0), &b = ctx->input(1), &t = ctx->input(2), &g = ctx->input(3);
    const Tensor& choice = ctx->input(4);
    ExpmMultiplyShape sh;
    Tensor *grad_a, *grad_b, *grad_t;
    OP_REQUIRES_OK(ctx, PrepareExpmMultiplyGrad(ctx, &sh, &grad_a, &grad_b, &grad_t));
    RunOnIntraOpPool(ctx, sh.a.batch,
                     ExpmMultiplyGradWork<T>{a.flat<T>().data(), b.flat<T>().data(), t.flat<T>().data(),
                                             g.flat<T>().data(), choice.flat<int>().data(), sh.a.n, sh.k,
                                             grad_a->flat<T>().data(), grad_b->flat<T>().data(),
                                             grad_t->flat<T>().data()});
  }
};

#define DETEXP_REGISTER_EXPM_MULTIPLY_CPU(T)                                                                \
  REGISTER_KERNEL_BUILDER(Name("Detexp>ExpmMultiply").Device(DEVICE_CPU).TypeConstraint<T>("T"),         \
                          ExpmMultiplyOp<T>);                                                             \
  REGISTER_KERNEL_BUILDER(Name("Detexp>ExpmMultiplyGrad").Device(DEVICE_CPU).TypeConstraint<T>("T"),     \
                          ExpmMultiplyGradOp<T>);

DETEXP_REGISTER_EXPM_MULTIPLY_CPU(float);
DETEXP_REGISTER_EXPM_MULTIPLY_CPU(double);
DETEXP_REGISTER_EXPM_MULTIPLY_CPU(std::complex<float>);
DETEXP_REGISTER_EXPM_MULTIPLY_CPU(std::complex<double>);

}  // namespace detexp
