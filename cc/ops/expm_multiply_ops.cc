// Op registrations of dx.expm_multiply. Kernels: cc/kernels/expm_multiply_kernels.cc (CPU),
// expm_multiply_kernels_gpu.cc (GPU); XLA lowering: cc/xla/expm_multiply_xla_ops.cc.
//
// Detexp>ExpmMultiplyGrad is the backward of Detexp>ExpmMultiply for the forward's (m, s) (its
// `choice` output): the exact derivative of the computed forward. Its own gradient is registered
// in python/detexp/_expm_multiply.py, so all orders work.
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace detexp {

using ::tensorflow::Status;
using ::tensorflow::shape_inference::DimensionHandle;
using ::tensorflow::shape_inference::InferenceContext;
using ::tensorflow::shape_inference::ShapeHandle;

// a [..., n, n], b [..., n, k] with the same batch dimensions, t [...]: sets *batch and *b_out.
static Status ExpmMultiplyShapes(InferenceContext* c, ShapeHandle* batch, ShapeHandle* a_out, ShapeHandle* b_out) {
  ShapeHandle a, b, a_batch, b_batch, t;
  TF_RETURN_IF_ERROR(c->WithRankAtLeast(c->input(0), 2, &a));
  TF_RETURN_IF_ERROR(c->WithRankAtLeast(c->input(1), 2, &b));
  DimensionHandle n;
  TF_RETURN_IF_ERROR(c->Merge(c->Dim(a, -1), c->Dim(a, -2), &n));
  TF_RETURN_IF_ERROR(c->Merge(n, c->Dim(b, -2), &n));
  TF_RETURN_IF_ERROR(c->Subshape(a, 0, -2, &a_batch));
  TF_RETURN_IF_ERROR(c->Subshape(b, 0, -2, &b_batch));
  TF_RETURN_IF_ERROR(c->Merge(a_batch, b_batch, batch));
  TF_RETURN_IF_ERROR(c->Merge(*batch, c->input(2), batch));
  TF_RETURN_IF_ERROR(c->Concatenate(*batch, c->Matrix(n, n), a_out));
  return c->Concatenate(*batch, c->Matrix(n, c->Dim(b, -1)), b_out);
}

REGISTER_OP("Detexp>ExpmMultiply")
    .Input("a: T")
    .Input("b: T")
    .Input("t: T")
    .Output("f: T")
    .Output("choice: int32")
    .Attr("T: {float, double, complex64, complex128}")
    .SetShapeFn([](InferenceContext* c) {
      ShapeHandle batch, a, b;
      TF_RETURN_IF_ERROR(ExpmMultiplyShapes(c, &batch, &a, &b));
      c->set_output(0, b);
      c->set_output(1, batch);
      return Status();
    })
    .Doc(R"doc(
exp(t a) b for a batch: a [..., n, n], b [..., n, k], t [...]; Al-Mohy & Higham 2011 (truncated
Taylor steps with the degree m and the steps s chosen per matrix), or exp(t a) by scaling and
squaring where that costs less. NaN/Inf in a matrix or its t gives NaN for it.
choice: per matrix, m + 64 s (63: the dense route; -1: nothing chosen), for Detexp>ExpmMultiplyGrad.
)doc");

REGISTER_OP("Detexp>ExpmMultiplyGrad")
    .Input("a: T")
    .Input("b: T")
    .Input("t: T")
    .Input("g: T")
    .Input("choice: int32")
    .Output("grad_a: T")
    .Output("grad_b: T")
    .Output("grad_t: T")
    .Attr("T: {float, double, complex64, complex128}")
    .SetShapeFn([](InferenceContext* c) {
      ShapeHandle batch, a, b, g, choice;
      TF_RETURN_IF_ERROR(ExpmMultiplyShapes(c, &batch, &a, &b));
      TF_RETURN_IF_ERROR(c->Merge(b, c->input(3), &g));
      TF_RETURN_IF_ERROR(c->Merge(batch, c->input(4), &choice));
      c->set_output(0, a);
      c->set_output(1, g);
      c->set_output(2, batch);
      return Status();
    })
    .Doc(R"doc(
The gradients of Re <g, exp(t a) b> with respect to a, b and t (TF's convention for complex), for
the forward that choice describes (Detexp>ExpmMultiply's output; -1 per matrix: select again).
Invalid codes are an InvalidArgument error.
)doc");

}  // namespace detexp
