// CPU kernel of Detexp>MatMul: thin TF glue over cc/core/batch_matmul.h, sharded over the batch.
#include <complex>

#include "batch_util.h"
#include "cc/core/batch_matmul.h"
#include "tensorflow/core/framework/op_kernel.h"

namespace detexp {

using ::tensorflow::DEVICE_CPU;
using ::tensorflow::OpKernel;
using ::tensorflow::OpKernelConstruction;
using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;

template <class T>
class MatMulOp : public OpKernel {
 public:
  explicit MatMulOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("adjoint_a", &adjoint_a_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("adjoint_b", &adjoint_b_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    const Tensor& b = ctx->input(1);
    SquareBatchShape sh;
    OP_REQUIRES_OK(ctx, CheckPair(a, b, "matmul", &sh));
    Tensor* out;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, a.shape(), &out));
    const int n = sh.n;
    const index_t nn = static_cast<index_t>(n) * n;
    const T* pa = a.flat<T>().data();
    const T* pb = b.flat<T>().data();
    T* pc = out->flat<T>().data();
    ForEachMatrix(ctx, sh.batch, CubicCost(n), [&](int64_t begin, int64_t end) {
      matmul_batch(pa + begin * nn, pb + begin * nn, end - begin, n, adjoint_a_, adjoint_b_, pc + begin * nn);
    });
  }

 private:
  bool adjoint_a_ = false, adjoint_b_ = false;
};

#define DETEXP_REGISTER_MATMUL_CPU(T) \
  REGISTER_KERNEL_BUILDER(Name("Detexp>MatMul").Device(DEVICE_CPU).TypeConstraint<T>("T"), MatMulOp<T>);

DETEXP_REGISTER_MATMUL_CPU(float);
DETEXP_REGISTER_MATMUL_CPU(double);
DETEXP_REGISTER_MATMUL_CPU(std::complex<float>);
DETEXP_REGISTER_MATMUL_CPU(std::complex<double>);

}  // namespace detexp
