// XLA lowering of Detexp>MatMul, the gradients' batch-invariant product: under
// tf.function(jit_compile=True) it becomes the typed-FFI custom call of matmul_ffi.cc (CPU) or
// matmul_ffi_gpu.cc (GPU), so a jit-compiled gradient gives the same bits as the TF kernel (XLA's
// own dot picks its blocking by shape). The adjoints the attributes ask for are formed by XLA
// (transpose and conjugate: exact), which leaves the handler one product, a b.
#include <cstdint>
#include <vector>

#include "cc/xla/ffi_targets.h"
#include "cc/xla/lowering.h"
#include "tensorflow/compiler/tf2xla/xla_op_kernel.h"
#include "tensorflow/compiler/tf2xla/xla_op_registry.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "xla/primitive_util.h"

namespace detexp {
namespace xla_lowering {
namespace {

using ::tensorflow::OpKernelConstruction;
using ::tensorflow::XlaOpKernel;

// x^H over the last two dimensions of a [..., n, n] shape.
xla::XlaOp Adjoint(xla::XlaOp x, const xla::Shape& shape) {
  const int64_t rank = shape.dimensions().size();
  std::vector<int64_t> order(rank);
  for (int64_t i = 0; i < rank; ++i) order[i] = i;
  std::swap(order[rank - 2], order[rank - 1]);
  const xla::XlaOp t = xla::Transpose(x, order);
  return xla::primitive_util::IsComplexType(shape.element_type()) ? xla::Conj(t) : t;
}

class MatMulXlaOp : public XlaOpKernel {
 public:
  explicit MatMulXlaOp(OpKernelConstruction* ctx) : XlaOpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("adjoint_a", &adjoint_a_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("adjoint_b", &adjoint_b_));
  }

  void Compile(XlaOpKernelContext* ctx) override {
    xla::Shape a, b;
    if (!SquareBatchInput(ctx, 0, "matmul", &a) || !InputWithDims(ctx, 1, "matmul", a.dimensions(), &b)) return;
    const xla::XlaOp x = adjoint_a_ ? Adjoint(ctx->Input(0), a) : ctx->Input(0);
    const xla::XlaOp y = adjoint_b_ ? Adjoint(ctx->Input(1), b) : ctx->Input(1);
    SetCustomCallOutputs(ctx, xla_ffi::kMatMulTarget, {x, y}, {RowMajor(a.element_type(), a.dimensions())});
  }

 private:
  bool adjoint_a_ = false, adjoint_b_ = false;
};

REGISTER_KERNEL_BUILDER(Name("Detexp>MatMul").Device(::tensorflow::DEVICE_CPU_XLA_JIT), MatMulXlaOp);
#if GOOGLE_CUDA
REGISTER_KERNEL_BUILDER(Name("Detexp>MatMul").Device(::tensorflow::DEVICE_GPU_XLA_JIT), MatMulXlaOp);
#endif

}  // namespace
}  // namespace xla_lowering
}  // namespace detexp
