// The TF glue of Detexp>MatMul that the CPU and GPU kernels share: the adjoint attributes, the
// shape check and the output; each kernel supplies only Multiply (matmul_kernels.cc, *_gpu.cc).
#pragma once

#include "batch_util.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"

namespace detexp {

class MatMulOpBase : public ::tensorflow::OpKernel {
 public:
  explicit MatMulOpBase(::tensorflow::OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("adjoint_a", &adjoint_a_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("adjoint_b", &adjoint_b_));
  }

  void Compute(::tensorflow::OpKernelContext* ctx) override {
    const ::tensorflow::Tensor& a = ctx->input(0);
    const ::tensorflow::Tensor& b = ctx->input(1);
    SquareBatchShape sh;
    OP_REQUIRES_OK(ctx, CheckPair(a, b, "matmul", &sh));
    ::tensorflow::Tensor* out;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, a.shape(), &out));
    if (sh.batch == 0 || sh.n == 0) return;
    Multiply(ctx, a, b, sh, out);
  }

 protected:
  // out := op(a) op(b), batch and n as in sh (both nonzero).
  virtual void Multiply(::tensorflow::OpKernelContext* ctx, const ::tensorflow::Tensor& a,
                        const ::tensorflow::Tensor& b, const SquareBatchShape& sh, ::tensorflow::Tensor* out) = 0;

  bool adjoint_a_ = false, adjoint_b_ = false;
};

}  // namespace detexp
