// The check of Detexp>ExpmGrad's choice input (the (m, s) Detexp>Expm chose per matrix), shared
// by the CPU and GPU kernels.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "batch_util.h"
#include "expm_choice_codes.h"
#include "cc/core/scalar.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"

namespace detexp {

// Checks Detexp>Expm's input `a` and allocates its outputs: exp(a) and the choice, [batch].
inline ::tensorflow::Status AllocateExpmOutputs(::tensorflow::OpKernelContext* ctx, SquareBatchShape* sh,
                                                ::tensorflow::Tensor** out, ::tensorflow::Tensor** choice) {
  const ::tensorflow::Tensor& a = ctx->input(0);
  TF_RETURN_IF_ERROR(CheckSquareBatch(a, "expm: input", sh));
  TF_RETURN_IF_ERROR(ctx->allocate_output(0, a.shape(), out));
  return ctx->allocate_output(1, sh->batch_shape, choice);
}

// InvalidArgument unless `choice` has a's batch shape and every entry is a code expm could have
// produced for precision R (expm_choice_valid): a wrong (m, s) would silently give the
// derivative of another approximant. Host memory.
template <class R>
::tensorflow::Status CheckExpmChoice(const ::tensorflow::Tensor& choice, const SquareBatchShape& sh) {
  if (choice.shape() != sh.batch_shape) {
    return absl::InvalidArgumentError(absl::StrCat("expm_grad: choice must have the batch shape ",
                                                   sh.batch_shape.DebugString(), " of a; got ",
                                                   choice.shape().DebugString()));
  }
  const int* c = choice.flat<int>().data();
  const int64_t bad = first_invalid_expm_choice<R>(c, sh.batch);
  if (bad >= 0) return absl::InvalidArgumentError(expm_choice_error(bad, c[bad]));
  return ::tensorflow::Status();
}

}  // namespace detexp
