// The input checks of Detexp>ExpmMultiply and its backward, shared by the CPU and GPU kernels:
// a [..., n, n], b (and g) [..., n, k] with a's batch dimensions, t [...] (one per matrix), the
// backward's choice [...] of codes the forward can produce.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "batch_util.h"
#include "expm_multiply_work.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"
#include "tensorflow/core/framework/tensor_shape.h"

namespace detexp {

struct ExpmMultiplyShape {
  SquareBatchShape a;
  int k = 0;
};

inline ::tensorflow::Status CheckExpmMultiplyInputs(const ::tensorflow::Tensor& a, const ::tensorflow::Tensor& b,
                                                    const ::tensorflow::Tensor& t, const ::tensorflow::Tensor* g,
                                                    const char* op, ExpmMultiplyShape* out) {
  TF_RETURN_IF_ERROR(CheckSquareBatch(a, absl::StrCat(op, ": a").c_str(), &out->a));
  const ::tensorflow::TensorShape& bs = b.shape();
  bool ok = bs.dims() == a.dims() && bs.dim_size(bs.dims() - 2) == out->a.n;
  for (int i = 0; ok && i + 2 < a.dims(); ++i) ok = bs.dim_size(i) == a.dim_size(i);
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": b must be [..., n, k] with the batch dimensions and n of a ",
                                                   a.shape().DebugString(), "; got shape ", bs.DebugString()));
  }
  if (bs.dim_size(bs.dims() - 1) >= (int64_t{1} << 31)) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": b has too many columns: ", bs.DebugString()));
  }
  out->k = static_cast<int>(bs.dim_size(bs.dims() - 1));
  if (t.shape() != out->a.batch_shape) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": t must have the batch shape ", out->a.batch_shape.DebugString(),
                                                   " of a ", a.shape().DebugString(), "; got shape ",
                                                   t.shape().DebugString()));
  }
  if (g != nullptr && g->shape() != bs) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": the upstream gradient must have the shape ", bs.DebugString(),
                                                   " of b; got shape ", g->shape().DebugString()));
  }
  return ::tensorflow::Status();
}

// The backward's choice: a's batch shape, every code one the forward can produce (host memory).
inline ::tensorflow::Status CheckExpmMultiplyChoice(const ::tensorflow::Tensor& choice, const ExpmMultiplyShape& sh) {
  if (choice.shape() != sh.a.batch_shape) {
    return absl::InvalidArgumentError(absl::StrCat("expm_multiply_grad: choice must have the batch shape ",
                                                   sh.a.batch_shape.DebugString(), "; got ",
                                                   choice.shape().DebugString()));
  }
  const int* c = choice.flat<int>().data();
  const int64_t bad = FirstInvalidExpmMultiplyChoice(c, sh.a.batch);
  if (bad >= 0) return absl::InvalidArgumentError(ExpmMultiplyChoiceError(bad, c[bad]));
  return ::tensorflow::Status();
}

// The forward's checks and outputs (f like b; choice, one code per matrix), for the CPU and GPU
// kernels: inputs a, b, t.
inline ::tensorflow::Status PrepareExpmMultiply(::tensorflow::OpKernelContext* ctx, ExpmMultiplyShape* sh,
                                                ::tensorflow::Tensor** f, ::tensorflow::Tensor** choice) {
  const ::tensorflow::Tensor &a = ctx->input(0), &b = ctx->input(1), &t = ctx->input(2);
  TF_RETURN_IF_ERROR(CheckExpmMultiplyInputs(a, b, t, nullptr, "expm_multiply", sh));
  TF_RETURN_IF_ERROR(ctx->allocate_output(0, b.shape(), f));
  return ctx->allocate_output(1, sh->a.batch_shape, choice);
}

// The backward's checks (shapes, then the codes, in host memory) and outputs: inputs a, b, t, g,
// choice.
inline ::tensorflow::Status PrepareExpmMultiplyGrad(::tensorflow::OpKernelContext* ctx, ExpmMultiplyShape* sh,
                                                    ::tensorflow::Tensor** grad_a, ::tensorflow::Tensor** grad_b,
                                                    ::tensorflow::Tensor** grad_t) {
  const ::tensorflow::Tensor &a = ctx->input(0), &b = ctx->input(1), &t = ctx->input(2), &g = ctx->input(3);
  TF_RETURN_IF_ERROR(CheckExpmMultiplyInputs(a, b, t, &g, "expm_multiply_grad", sh));
  TF_RETURN_IF_ERROR(CheckExpmMultiplyChoice(ctx->input(4), *sh));
  TF_RETURN_IF_ERROR(ctx->allocate_output(0, a.shape(), grad_a));
  TF_RETURN_IF_ERROR(ctx->allocate_output(1, b.shape(), grad_b));
  return ctx->allocate_output(2, t.shape(), grad_t);
}

}  // namespace detexp
