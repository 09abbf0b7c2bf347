// XLA lowerings of the log-determinant family: under tf.function(jit_compile=True) each op becomes
// one typed-FFI custom call (lowering.h) to the handlers of slogdet_ffi.cc (CPU) or
// slogdet_ffi_gpu.cc (GPU), with the shape checks of the TF kernels done at compile time.
//
// Registered as ordinary kernels of the XLA JIT devices, not with REGISTER_XLA_OP, which only
// records the op in XLA's registry: that registry turns its entries into JIT-device kernels once
// per process (XlaOpRegistry::RegisterCompilationKernels, when the first jit function compiles), so
// ops recorded by a library loaded later (import detexp after a jit function ran) never compile.
#include <string>
#include <vector>

#include "cc/xla/ffi_targets.h"
#include "cc/xla/lowering.h"
#include "tensorflow/compiler/tf2xla/type_util.h"
#include "tensorflow/compiler/tf2xla/xla_op_kernel.h"
#include "tensorflow/compiler/tf2xla/xla_op_registry.h"
#include "tensorflow/core/framework/op_kernel.h"

namespace detexp {
namespace xla_lowering {
namespace {

using ::tensorflow::OpKernelConstruction;
using ::tensorflow::XlaOpKernel;

// The XLA element type of output `index`'s dtype.
bool OutputType(XlaOpKernelContext* ctx, int index, xla::PrimitiveType* out) {
  const absl::Status s = ::tensorflow::DataTypeToPrimitiveType(ctx->expected_output_dtype(index), out);
  if (!s.ok()) ctx->SetStatus(s);
  return s.ok();
}

// a -> (sign, logabsdet, lu, perm). tf2xla's graph compiler marks every output required (no
// output_required as the TF kernel has), so the Python wrappers that drop the factors say so with
// the node attribute kFactorsUnusedAttr, and the op's registered gradient removes it again when it
// reads them (python/detexp/_slogdet.py). With the hint, sign and logabsdet come from a call
// without factors and the factors from a second call, which XLA's dead-code elimination removes
// when nothing reads them: the hint saves the factors' write-out, and a wrong hint costs a second
// factorization, never a wrong result.
constexpr char kFactorsUnusedAttr[] = "_detexp_factors_unused";

class SlogdetXlaOp : public XlaOpKernel {
 public:
  explicit SlogdetXlaOp(OpKernelConstruction* ctx) : XlaOpKernel(ctx) {
    if (ctx->HasAttr(kFactorsUnusedAttr)) OP_REQUIRES_OK(ctx, ctx->GetAttr(kFactorsUnusedAttr, &factors_unused_));
  }

  void Compile(XlaOpKernelContext* ctx) override {
    xla::Shape a;
    xla::PrimitiveType real;
    if (!SquareBatchInput(ctx, 0, "slogdet: input", &a) || !OutputType(ctx, 1, &real)) return;
    const std::vector<xla::Shape> values = {RowMajor(a.element_type(), BatchDims(a)), RowMajor(real, BatchDims(a))};
    std::vector<xla::Shape> with_factors = values;
    with_factors.push_back(RowMajor(a.element_type(), a.dimensions()));
    with_factors.push_back(RowMajor(xla::S32, BatchDims(a, {a.dimensions().back()})));
    std::vector<xla::XlaOp> out = CustomCall(ctx, xla_ffi::kSlogdetTarget, {ctx->Input(0)}, with_factors);
    if (out.size() != 4) return;
    if (factors_unused_) {
      const std::vector<xla::XlaOp> lean = CustomCall(ctx, xla_ffi::kSlogdetTarget, {ctx->Input(0)}, values);
      if (lean.size() != 2) return;
      out[0] = lean[0];
      out[1] = lean[1];
    }
    for (int i = 0; i < 4; ++i) ctx->SetOutput(i, out[i]);
  }

 private:
  bool factors_unused_ = false;
};

// A lowering reading the saved factors lu [..., n, n] and perm [..., n] (inputs 0, 1). With the node
// attribute kInPlaceAttr (python/detexp/_slogdet.py: where lu is the graph's own intermediate) its
// result takes lu's buffer, as the TF kernels' forward_input_or_allocate_output does; without it
// (lu a parameter of the compiled function, which XLA would copy first) a new buffer.
constexpr char kInPlaceAttr[] = "_detexp_in_place";

class FromLuXlaOp : public XlaOpKernel {
 public:
  explicit FromLuXlaOp(OpKernelConstruction* ctx) : XlaOpKernel(ctx) {
    if (ctx->HasAttr(kInPlaceAttr)) OP_REQUIRES_OK(ctx, ctx->GetAttr(kInPlaceAttr, &in_place_));
  }

 protected:
  bool in_place_ = false;
};

// Checks the saved factors lu [..., n, n] and perm [..., n] (inputs 0, 1): the TF kernels' check.
bool LuFactors(XlaOpKernelContext* ctx, const std::string& op, xla::Shape* lu) {
  xla::Shape perm;
  return SquareBatchInput(ctx, 0, op.c_str(), lu) &&
         InputWithDims(ctx, 1, (op + ": perm").c_str(), BatchDims(*lu, {lu->dimensions().back()}), &perm);
}

// (lu, perm, a) -> inv(a); `a` is not read (it is what the registered gradient differentiates).
class InverseFromLuXlaOp : public FromLuXlaOp {
 public:
  explicit InverseFromLuXlaOp(OpKernelConstruction* ctx) : FromLuXlaOp(ctx) {}

  void Compile(XlaOpKernelContext* ctx) override {
    xla::Shape lu;
    if (!LuFactors(ctx, "inverse_from_lu", &lu)) return;
    SetCustomCallOutputs(ctx, xla_ffi::kInverseFromLuTarget, {ctx->Input(0), ctx->Input(1)},
                         {RowMajor(lu.element_type(), lu.dimensions())}, in_place_);
  }
};

// (lu, perm, a, k) -> k inv(a)^H; `a` is not read.
class SlogdetBackwardXlaOp : public FromLuXlaOp {
 public:
  explicit SlogdetBackwardXlaOp(OpKernelConstruction* ctx) : FromLuXlaOp(ctx) {}

  void Compile(XlaOpKernelContext* ctx) override {
    xla::Shape lu, k;
    if (!LuFactors(ctx, "slogdet_backward", &lu) ||
        !InputWithDims(ctx, 3, "slogdet_backward: k", BatchDims(lu), &k)) {
      return;
    }
    SetCustomCallOutputs(ctx, xla_ffi::kSlogdetBackwardTarget, {ctx->Input(0), ctx->Input(1), ctx->Input(3)},
                         {RowMajor(lu.element_type(), lu.dimensions())}, in_place_);
  }
};

class AdjugateXlaOp : public XlaOpKernel {
 public:
  explicit AdjugateXlaOp(OpKernelConstruction* ctx) : XlaOpKernel(ctx) {}

  void Compile(XlaOpKernelContext* ctx) override {
    xla::Shape a;
    if (!SquareBatchInput(ctx, 0, "adjugate: input", &a)) return;
    SetCustomCallOutputs(ctx, xla_ffi::kAdjugateTarget, {ctx->Input(0)}, {RowMajor(a.element_type(), a.dimensions())});
  }
};

#define DETEXP_REGISTER_SLOGDET_XLA(DEVICE)                                                     \
  REGISTER_KERNEL_BUILDER(Name("Detexp>Slogdet").Device(DEVICE), SlogdetXlaOp);                 \
  REGISTER_KERNEL_BUILDER(Name("Detexp>InverseFromLu").Device(DEVICE), InverseFromLuXlaOp);     \
  REGISTER_KERNEL_BUILDER(Name("Detexp>SlogdetBackward").Device(DEVICE), SlogdetBackwardXlaOp); \
  REGISTER_KERNEL_BUILDER(Name("Detexp>Adjugate").Device(DEVICE), AdjugateXlaOp);

DETEXP_REGISTER_SLOGDET_XLA(::tensorflow::DEVICE_CPU_XLA_JIT);
#if GOOGLE_CUDA
DETEXP_REGISTER_SLOGDET_XLA(::tensorflow::DEVICE_GPU_XLA_JIT);
#endif

}  // namespace
}  // namespace xla_lowering
}  // namespace detexp
