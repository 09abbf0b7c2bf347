// XLA lowerings of dx.expm_multiply and its backward: under tf.function(jit_compile=True) each op
// becomes one typed-FFI custom call (lowering.h) to the handlers of expm_multiply_ffi.cc (CPU) and
// expm_multiply_ffi_gpu.cc (GPU), with the TF kernels' shape checks at compile time.
#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cc/xla/ffi_targets.h"
#include "cc/xla/lowering.h"
#include "tensorflow/compiler/tf2xla/xla_op_kernel.h"
#include "tensorflow/compiler/tf2xla/xla_op_registry.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "xla/shape_util.h"

namespace detexp {
namespace xla_lowering {
namespace {

using ::tensorflow::OpKernelConstruction;
using ::tensorflow::XlaOpKernel;

// a [..., n, n], b [..., n, k] (a's batch and n), t [...]: the static shapes of a and b.
bool ExpmMultiplyInputs(XlaOpKernelContext* ctx, const char* op, xla::Shape* a, xla::Shape* b) {
  if (!SquareBatchInput(ctx, 0, absl::StrCat(op, ": a").c_str(), a)) return false;
  absl::StatusOr<xla::Shape> bs = ctx->InputXlaShape(1);
  if (!bs.ok()) {
    ctx->SetStatus(bs.status());
    return false;
  }
  const auto ad = a->dimensions();
  const auto bd = bs->dimensions();
  bool ok = bs->IsArray() && !bs->is_dynamic() && bd.size() == ad.size() && bd[bd.size() - 2] == ad[ad.size() - 1];
  for (size_t i = 0; ok && i + 2 < ad.size(); ++i) ok = bd[i] == ad[i];
  if (!ok) {
    ctx->SetStatus(absl::InvalidArgumentError(absl::StrCat(
        op, ": b must be [..., n, k] with the batch dimensions and n of a ", xla::ShapeUtil::HumanString(*a),
        "; got shape ", xla::ShapeUtil::HumanString(*bs))));
    return false;
  }
  *b = *bs;
  xla::Shape t;
  return InputWithDims(ctx, 2, absl::StrCat(op, ": t").c_str(), BatchDims(*a), &t);
}

// (a, b, t) -> (exp(t a) b, choice).
class ExpmMultiplyXlaOp : public XlaOpKernel {
 public:
  explicit ExpmMultiplyXlaOp(OpKernelConstruction* ctx) : XlaOpKernel(ctx) {}

  void Compile(XlaOpKernelContext* ctx) override {
    xla::Shape a, b;
    if (!ExpmMultiplyInputs(ctx, "expm_multiply", &a, &b)) return;
    SetCustomCallOutputs(ctx, xla_ffi::kExpmMultiplyTarget, {ctx->Input(0), ctx->Input(1), ctx->Input(2)},
                         {RowMajor(b.element_type(), b.dimensions()), RowMajor(xla::S32, BatchDims(a))});
  }
};

// (a, b, t, g, choice) -> (grad_a, grad_b, grad_t); the handler checks the choice codes.
class ExpmMultiplyGradXlaOp : public XlaOpKernel {
 public:
  explicit ExpmMultiplyGradXlaOp(OpKernelConstruction* ctx) : XlaOpKernel(ctx) {}

  void Compile(XlaOpKernelContext* ctx) override {
    xla::Shape a, b, g, choice;
    if (!ExpmMultiplyInputs(ctx, "expm_multiply_grad", &a, &b) ||
        !InputWithDims(ctx, 3, "expm_multiply_grad: g", b.dimensions(), &g) ||
        !InputWithDims(ctx, 4, "expm_multiply_grad: choice", BatchDims(a), &choice)) {
      return;
    }
    const xla::PrimitiveType type = a.element_type();
    SetCustomCallOutputs(ctx, xla_ffi::kExpmMultiplyGradTarget,
                         {ctx->Input(0), ctx->Input(1), ctx->Input(2), ctx->Input(3), ctx->Input(4)},
                         {RowMajor(type, a.dimensions()), RowMajor(type, b.dimensions()), RowMajor(type, BatchDims(a))});
  }
};

#define DETEXP_REGISTER_EXPM_MULTIPLY_XLA(DEVICE)                                           \
  REGISTER_KERNEL_BUILDER(Name("Detexp>ExpmMultiply").Device(DEVICE), ExpmMultiplyXlaOp); \
  REGISTER_KERNEL_BUILDER(Name("Detexp>ExpmMultiplyGrad").Device(DEVICE), ExpmMultiplyGradXlaOp);

DETEXP_REGISTER_EXPM_MULTIPLY_XLA(::tensorflow::DEVICE_CPU_XLA_JIT);
#if GOOGLE_CUDA
DETEXP_REGISTER_EXPM_MULTIPLY_XLA(::tensorflow::DEVICE_GPU_XLA_JIT);
#endif

}  // namespace
}  // namespace xla_lowering
}  // namespace detexp
