// CPU kernels of the matrix exponential family: thin TF glue over the work of expm_work.h
// (cc/core/expm.h on a range of matrices), sharded over the batch.
#include <complex>

#include "batch_util.h"
#include "expm_choice.h"
#include "expm_work.h"
#include "tensorflow/core/framework/op_kernel.h"

namespace detexp {

using ::tensorflow::DEVICE_CPU;
using ::tensorflow::OpKernel;
using ::tensorflow::OpKernelConstruction;
using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;

// Outputs exp(a) and, per matrix, the degree and squarings chosen (expm_coefficients.h's
// choice code) for Detexp>ExpmGrad, which then skips the selection.
template <class T>
class ExpmOp : public OpKernel {
 public:
  explicit ExpmOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    SquareBatchShape sh;
    Tensor *out, *choice;
    OP_REQUIRES_OK(ctx, AllocateExpmOutputs(ctx, &sh, &out, &choice));
    ForEachMatrix(ctx, sh.batch,
                  ExpmWork<T>{ctx->input(0).flat<T>().data(), sh.n, out->flat<T>().data(), choice->flat<int>().data()});
  }
};

template <class T>
class ExpmFrechetOp : public OpKernel {
 public:
  explicit ExpmFrechetOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    const Tensor& e = ctx->input(1);
    SquareBatchShape sh;
    OP_REQUIRES_OK(ctx, CheckPair(a, e, "expm_frechet", &sh));
    Tensor *r, *l;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, a.shape(), &r));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, a.shape(), &l));
    ForEachMatrix(ctx, sh.batch,
                  ExpmFrechetWork<T>{a.flat<T>().data(), e.flat<T>().data(), sh.n, r->flat<T>().data(),
                                     l->flat<T>().data()});
  }
};

template <class T>
class ExpmGradOp : public OpKernel {
 public:
  explicit ExpmGradOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    const Tensor& g = ctx->input(1);
    const Tensor& choice = ctx->input(2);
    SquareBatchShape sh;
    OP_REQUIRES_OK(ctx, CheckPair(a, g, "expm_grad", &sh));
    OP_REQUIRES_OK(ctx, CheckExpmChoice<real_t<T>>(choice, sh));
    Tensor* out;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, a.shape(), &out));
    ForEachMatrix(ctx, sh.batch,
                  ExpmGradWork<T>{a.flat<T>().data(), g.flat<T>().data(), choice.flat<int>().data(), sh.n,
                                  out->flat<T>().data()});
  }
};

#define DETEXP_REGISTER_EXPM_CPU(T)                                                               \
  REGISTER_KERNEL_BUILDER(Name("Detexp>Expm").Device(DEVICE_CPU).TypeConstraint<T>("T"),         \
                          ExpmOp<T>);                                                                     \
  REGISTER_KERNEL_BUILDER(Name("Detexp>ExpmFrechet").Device(DEVICE_CPU).TypeConstraint<T>("T"),  \
                          ExpmFrechetOp<T>);                                                      \
  REGISTER_KERNEL_BUILDER(Name("Detexp>ExpmGrad").Device(DEVICE_CPU).TypeConstraint<T>("T"),     \
                          ExpmGradOp<T>);

DETEXP_REGISTER_EXPM_CPU(float);
DETEXP_REGISTER_EXPM_CPU(double);
DETEXP_REGISTER_EXPM_CPU(std::complex<float>);
DETEXP_REGISTER_EXPM_CPU(std::complex<double>);

}  // namespace detexp
