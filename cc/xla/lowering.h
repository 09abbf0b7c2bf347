// Shared pieces of the XLA lowerings (cc/xla/*_xla_ops.cc): shape checks at compile time and the
// typed-FFI custom call that every Detexp> op becomes under tf.function(jit_compile=True).
#pragma once

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "tensorflow/compiler/tf2xla/xla_op_kernel.h"
#include "xla/hlo/builder/xla_builder.h"
#include "xla/shape.h"

namespace detexp {
namespace xla_lowering {

using ::tensorflow::XlaOpKernelContext;

// The static shape of input `index` if it is [..., n, n]; otherwise false, with ctx's status set to
// InvalidArgument naming `what` and the shape (the TF kernels' message), or Unimplemented for a
// dynamic (bounded) dimension, which the custom call cannot take.
bool SquareBatchInput(XlaOpKernelContext* ctx, int index, const char* what, xla::Shape* out);

// The static shape of input `index` if its dimensions are `dims`; otherwise false, with ctx's
// status set to InvalidArgument naming `what`.
bool InputWithDims(XlaOpKernelContext* ctx, int index, const char* what, absl::Span<const int64_t> dims,
                   xla::Shape* out);

// The leading (batch) dimensions of a [..., n, n] shape, then `extra`.
std::vector<int64_t> BatchDims(const xla::Shape& square, std::vector<int64_t> extra = {});

// A row-major (descending layout) array shape.
xla::Shape RowMajor(xla::PrimitiveType type, absl::Span<const int64_t> dims);

// Emits the custom call `target` (a handler of cc/xla/ffi_targets.h, typed FFI) on `operands`,
// all row-major, with one row-major result per shape of `results`; returns the results in order.
// The ops' only attributes are dtypes, which the buffers carry, so the backend config (the FFI's
// attribute dictionary, in MLIR syntax) is empty. Pure: XLA may CSE and remove unused calls.
// `in_place`: result 0 may take operand 0's buffer (XLA copies the operand first where it is still
// needed), as the TF kernels forward their input with forward_input_or_allocate_output.
std::vector<xla::XlaOp> CustomCall(XlaOpKernelContext* ctx, const char* target, std::vector<xla::XlaOp> operands,
                                   const std::vector<xla::Shape>& results, bool in_place = false);

// The op's outputs 0, 1, ... := CustomCall(ctx, target, operands, results, in_place).
void SetCustomCallOutputs(XlaOpKernelContext* ctx, const char* target, std::vector<xla::XlaOp> operands,
                          const std::vector<xla::Shape>& results, bool in_place = false);

}  // namespace xla_lowering
}  // namespace detexp
