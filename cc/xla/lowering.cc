#include "cc/xla/lowering.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "xla/shape_util.h"
#include "xla/xla_data.pb.h"

namespace detexp {
namespace xla_lowering {

namespace {

bool Static(XlaOpKernelContext* ctx, int index, const char* what, xla::Shape* out) {
  absl::StatusOr<xla::Shape> shape = ctx->InputXlaShape(index);
  if (!shape.ok()) {
    ctx->SetStatus(shape.status());
    return false;
  }
  if (!shape->IsArray() || shape->is_dynamic()) {
    ctx->SetStatus(absl::UnimplementedError(
        absl::StrCat(what, ": detexp's XLA custom calls need static shapes; got ", xla::ShapeUtil::HumanString(*shape),
                     " (a bounded dynamic dimension, e.g. from tf.boolean_mask inside jit_compile)")));
    return false;
  }
  *out = *std::move(shape);
  return true;
}

}  // namespace

bool SquareBatchInput(XlaOpKernelContext* ctx, int index, const char* what, xla::Shape* out) {
  if (!Static(ctx, index, what, out)) return false;
  const int rank = out->dimensions().size();
  if (rank < 2) {
    ctx->SetStatus(absl::InvalidArgumentError(absl::StrCat(
        what, " must be a batch of square matrices [..., n, n] (rank >= 2); got shape ",
        xla::ShapeUtil::HumanString(*out))));
    return false;
  }
  if (out->dimensions(rank - 1) != out->dimensions(rank - 2)) {
    ctx->SetStatus(absl::InvalidArgumentError(absl::StrCat(
        what, " must be square in its last two dimensions; got shape ", xla::ShapeUtil::HumanString(*out))));
    return false;
  }
  if (out->dimensions(rank - 1) >= (int64_t{1} << 31)) {
    ctx->SetStatus(absl::InvalidArgumentError(absl::StrCat(what, " is too large: n = ", out->dimensions(rank - 1))));
    return false;
  }
  return true;
}

bool InputWithDims(XlaOpKernelContext* ctx, int index, const char* what, absl::Span<const int64_t> dims,
                   xla::Shape* out) {
  if (!Static(ctx, index, what, out)) return false;
  if (out->dimensions() != dims) {
    ctx->SetStatus(absl::InvalidArgumentError(absl::StrCat(what, " must have shape [", absl::StrJoin(dims, ","),
                                                           "]; got ", xla::ShapeUtil::HumanString(*out))));
    return false;
  }
  return true;
}

std::vector<int64_t> BatchDims(const xla::Shape& square, std::vector<int64_t> extra) {
  const auto dims = square.dimensions();
  std::vector<int64_t> out(dims.begin(), dims.end() - 2);
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

xla::Shape RowMajor(xla::PrimitiveType type, absl::Span<const int64_t> dims) {
  return xla::ShapeUtil::MakeShapeWithDescendingLayout(type, dims);
}

std::vector<xla::XlaOp> CustomCall(XlaOpKernelContext* ctx, const char* target, std::vector<xla::XlaOp> operands,
                                   const std::vector<xla::Shape>& results, bool in_place) {
  xla::XlaBuilder* b = ctx->builder();
  std::vector<xla::Shape> operand_shapes;
  operand_shapes.reserve(operands.size());
  for (const xla::XlaOp& op : operands) {
    absl::StatusOr<xla::Shape> shape = b->GetShape(op);
    if (!shape.ok()) {
      ctx->SetStatus(shape.status());
      return {};
    }
    operand_shapes.push_back(RowMajor(shape->element_type(), shape->dimensions()));
  }
  std::vector<std::pair<xla::ShapeIndex, std::pair<int64_t, xla::ShapeIndex>>> aliasing;
  if (in_place) aliasing.push_back({xla::ShapeIndex({0}), {0, xla::ShapeIndex({})}});
  const xla::XlaOp call = xla::CustomCallWithLayout(
      b, target, operands, xla::ShapeUtil::MakeTupleShape(results), operand_shapes,
      /*opaque=*/"{}", /*has_side_effect=*/false, aliasing, /*literal=*/nullptr,
      xla::CustomCallSchedule::SCHEDULE_NONE, xla::CustomCallApiVersion::API_VERSION_TYPED_FFI);
  std::vector<xla::XlaOp> out;
  out.reserve(results.size());
  for (size_t i = 0; i < results.size(); ++i) out.push_back(xla::GetTupleElement(call, static_cast<int64_t>(i)));
  return out;
}

void SetCustomCallOutputs(XlaOpKernelContext* ctx, const char* target, std::vector<xla::XlaOp> operands,
                          const std::vector<xla::Shape>& results, bool in_place) {
  const std::vector<xla::XlaOp> out = CustomCall(ctx, target, std::move(operands), results, in_place);
  for (size_t i = 0; i < out.size(); ++i) ctx->SetOutput(static_cast<int>(i), out[i]);
}

}  // namespace xla_lowering
}  // namespace detexp
