// CPU kernels of the log-determinant family: thin TF glue over the work of slogdet_work.h (cc/core
// on a range of matrices), sharded over the batch.
#include <complex>

#include "batch_util.h"
#include "slogdet_work.h"
#include "tensorflow/core/framework/op_kernel.h"

namespace detexp {

using ::tensorflow::DEVICE_CPU;
using ::tensorflow::OpKernel;
using ::tensorflow::OpKernelConstruction;
using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;
using ::tensorflow::TensorShape;

template <class T>
class SlogdetOp : public OpKernel {
 public:
  explicit SlogdetOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    SquareBatchShape sh;
    OP_REQUIRES_OK(ctx, CheckSquareBatch(a, "slogdet: input", &sh));
    Tensor *sign, *logabsdet, *lu = nullptr, *perm = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, sh.batch_shape, &sign));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, sh.batch_shape, &logabsdet));
    // The factors are for the gradients. In a graph where nothing reads them (a forward without a
    // tape) the executor marks them not required; skipping them saves their n^2 write-out.
    // Eager execution marks every output required.
    const bool keep_factors = ctx->output_required(2) || ctx->output_required(3);
    if (keep_factors) {
      TensorShape perm_shape = sh.batch_shape;
      perm_shape.AddDim(sh.n);
      OP_REQUIRES_OK(ctx, ctx->allocate_output(2, a.shape(), &lu));
      OP_REQUIRES_OK(ctx, ctx->allocate_output(3, perm_shape, &perm));
    }
    ForEachMatrix(ctx, sh.batch,
                  SlogdetWork<T>{a.flat<T>().data(), sh.n, keep_factors ? lu->flat<T>().data() : nullptr,
                                 keep_factors ? perm->flat<int>().data() : nullptr, sign->flat<T>().data(),
                                 logabsdet->flat<real_t<T>>().data()});
  }
};

template <class T>
class InverseFromLuOp : public OpKernel {
 public:
  explicit InverseFromLuOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& lu = ctx->input(0);
    const Tensor& perm = ctx->input(1);
    SquareBatchShape sh;
    OP_REQUIRES_OK(ctx, CheckLuFactors(lu, perm, nullptr, "inverse_from_lu", &sh));
    Tensor* inv;
    OP_REQUIRES_OK(ctx, ctx->forward_input_or_allocate_output({0}, 0, lu.shape(), &inv));
    ForEachMatrix(ctx, sh.batch,
                  InverseFromLuWork<T>{lu.flat<T>().data(), perm.flat<int>().data(), sh.n, inv->flat<T>().data()});
  }
};

template <class T>
class SlogdetBackwardOp : public OpKernel {
 public:
  explicit SlogdetBackwardOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& lu = ctx->input(0);
    const Tensor& perm = ctx->input(1);
    const Tensor& k = ctx->input(3);
    SquareBatchShape sh;
    OP_REQUIRES_OK(ctx, CheckLuFactors(lu, perm, &k, "slogdet_backward", &sh));
    // The gradient may take over the factors' buffer when nothing else reads them (the usual
    // backward): each matrix's factors are read before its gradient is written, and one buffer
    // of tens of MB less stays live and in cache (TF reuses freed blocks, so this saves memory
    // footprint, not page faults). Same above for the inverse.
    Tensor* grad;
    OP_REQUIRES_OK(ctx, ctx->forward_input_or_allocate_output({0}, 0, lu.shape(), &grad));
    ForEachMatrix(ctx, sh.batch,
                  SlogdetBackwardWork<T>{lu.flat<T>().data(), perm.flat<int>().data(), k.flat<T>().data(), sh.n,
                                         grad->flat<T>().data()});
  }
};

#define DETEXP_REGISTER_SLOGDET_CPU(T)                                                            \
  REGISTER_KERNEL_BUILDER(                                                                        \
      Name("Detexp>Slogdet").Device(DEVICE_CPU).TypeConstraint<T>("T").TypeConstraint<real_t<T>>( \
          "Treal"),                                                                               \
      SlogdetOp<T>);                                                                              \
  REGISTER_KERNEL_BUILDER(Name("Detexp>InverseFromLu").Device(DEVICE_CPU).TypeConstraint<T>("T"), \
                          InverseFromLuOp<T>);                                                    \
  REGISTER_KERNEL_BUILDER(Name("Detexp>SlogdetBackward").Device(DEVICE_CPU).TypeConstraint<T>("T"), \
                          SlogdetBackwardOp<T>);                                                  \
  REGISTER_KERNEL_BUILDER(Name("Detexp>Adjugate").Device(DEVICE_CPU).TypeConstraint<T>("T"),      \
                          PerMatrixOp<T, AdjugateWork>);

DETEXP_REGISTER_SLOGDET_CPU(float);
DETEXP_REGISTER_SLOGDET_CPU(double);
DETEXP_REGISTER_SLOGDET_CPU(std::complex<float>);
DETEXP_REGISTER_SLOGDET_CPU(std::complex<double>);

}  // namespace detexp
