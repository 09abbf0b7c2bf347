// XLA lowerings of the matrix exponential family: under tf.function(jit_compile=True) each op
// becomes one typed-FFI custom call (lowering.h) to the handlers of expm_ffi.cc (CPU) or
// expm_ffi_gpu.cc (GPU), with the shape checks of the TF kernels done at compile time. Registered
// as kernels of the XLA JIT devices (see slogdet_xla_ops.cc for why not REGISTER_XLA_OP).
#include <vector>

#include "cc/xla/ffi_targets.h"
#include "cc/xla/lowering.h"
#include "tensorflow/compiler/tf2xla/xla_op_kernel.h"
#include "tensorflow/compiler/tf2xla/xla_op_registry.h"
#include "tensorflow/core/framework/op_kernel.h"

namespace detexp {
namespace xla_lowering {
namespace {

using ::tensorflow::OpKernelConstruction;
using ::tensorflow::XlaOpKernel;

// Inputs 0 and 1: [..., n, n] of one shape (the TF kernels' CheckPair).
bool SquarePair(XlaOpKernelContext* ctx, const char* op, xla::Shape* a) {
  xla::Shape b;
  return SquareBatchInput(ctx, 0, op, a) && InputWithDims(ctx, 1, op, a->dimensions(), &b);
}

// a -> (exp(a), choice): the degree and squarings per matrix, for ExpmGrad.
class ExpmXlaOp : public XlaOpKernel {
 public:
  explicit ExpmXlaOp(OpKernelConstruction* ctx) : XlaOpKernel(ctx) {}

  void Compile(XlaOpKernelContext* ctx) override {
    xla::Shape a;
    if (!SquareBatchInput(ctx, 0, "expm: input", &a)) return;
    SetCustomCallOutputs(ctx, xla_ffi::kExpmTarget, {ctx->Input(0)},
                         {RowMajor(a.element_type(), a.dimensions()), RowMajor(xla::S32, BatchDims(a))});
  }
};

// (a, e) -> (exp(a), L(a, e)).
class ExpmFrechetXlaOp : public XlaOpKernel {
 public:
  explicit ExpmFrechetXlaOp(OpKernelConstruction* ctx) : XlaOpKernel(ctx) {}

  void Compile(XlaOpKernelContext* ctx) override {
    xla::Shape a;
    if (!SquarePair(ctx, "expm_frechet", &a)) return;
    const xla::Shape r = RowMajor(a.element_type(), a.dimensions());
    SetCustomCallOutputs(ctx, xla_ffi::kExpmFrechetTarget, {ctx->Input(0), ctx->Input(1)}, {r, r});
  }
};

// (a, g, choice) -> L(a^H, g); the handler checks the choice codes (run-time values).
class ExpmGradXlaOp : public XlaOpKernel {
 public:
  explicit ExpmGradXlaOp(OpKernelConstruction* ctx) : XlaOpKernel(ctx) {}

  void Compile(XlaOpKernelContext* ctx) override {
    xla::Shape a, choice;
    if (!SquarePair(ctx, "expm_grad", &a) || !InputWithDims(ctx, 2, "expm_grad: choice", BatchDims(a), &choice)) {
      return;
    }
    SetCustomCallOutputs(ctx, xla_ffi::kExpmGradTarget, {ctx->Input(0), ctx->Input(1), ctx->Input(2)},
                         {RowMajor(a.element_type(), a.dimensions())});
  }
};

#define DETEXP_REGISTER_EXPM_XLA(DEVICE)                                                \
  REGISTER_KERNEL_BUILDER(Name("Detexp>Expm").Device(DEVICE), ExpmXlaOp);               \
  REGISTER_KERNEL_BUILDER(Name("Detexp>ExpmFrechet").Device(DEVICE), ExpmFrechetXlaOp); \
  REGISTER_KERNEL_BUILDER(Name("Detexp>ExpmGrad").Device(DEVICE), ExpmGradXlaOp);

DETEXP_REGISTER_EXPM_XLA(::tensorflow::DEVICE_CPU_XLA_JIT);
#if GOOGLE_CUDA
DETEXP_REGISTER_EXPM_XLA(::tensorflow::DEVICE_GPU_XLA_JIT);
#endif

}  // namespace
}  // namespace xla_lowering
}  // namespace detexp
