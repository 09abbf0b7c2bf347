// Op registrations for the matrix exponential family. Kernels: cc/kernels/expm_kernels.cc.
//
// Detexp>ExpmGrad is the backward of Detexp>Expm: L(a^H, g) for the degree and scaling that
// Detexp>Expm picks for a, i.e. the exact adjoint of the forward's chain. Its own gradient (and
// that of Detexp>ExpmFrechet) is registered in python/detexp/_expm.py, so all orders work.
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace detexp {

using ::tensorflow::Status;
using ::tensorflow::shape_inference::DimensionHandle;
using ::tensorflow::shape_inference::InferenceContext;
using ::tensorflow::shape_inference::ShapeHandle;

// Input `index` is [..., n, n]; `out` is its shape with the last two dimensions merged.
static Status SquareInput(InferenceContext* c, int index, ShapeHandle* out) {
  ShapeHandle a;
  TF_RETURN_IF_ERROR(c->WithRankAtLeast(c->input(index), 2, &a));
  DimensionHandle n;
  TF_RETURN_IF_ERROR(c->Merge(c->Dim(a, -1), c->Dim(a, -2), &n));
  ShapeHandle batch;
  TF_RETURN_IF_ERROR(c->Subshape(a, 0, -2, &batch));
  return c->Concatenate(batch, c->Matrix(n, n), out);
}

// Two [..., n, n] inputs of the same shape.
static Status SquarePair(InferenceContext* c, ShapeHandle* out) {
  ShapeHandle a, b;
  TF_RETURN_IF_ERROR(SquareInput(c, 0, &a));
  TF_RETURN_IF_ERROR(SquareInput(c, 1, &b));
  return c->Merge(a, b, out);
}

REGISTER_OP("Detexp>Expm")
    .Input("a: T")
    .Output("expm: T")
    .Output("choice: int32")
    .Attr("T: {float, double, complex64, complex128}")
    .SetShapeFn([](InferenceContext* c) {
      ShapeHandle out, batch;
      TF_RETURN_IF_ERROR(SquareInput(c, 0, &out));
      TF_RETURN_IF_ERROR(c->Subshape(out, 0, -2, &batch));
      c->set_output(0, out);
      c->set_output(1, batch);
      return Status();
    })
    .Doc(R"doc(
exp(a) for a batch of square matrices: scaling and squaring with Padé approximants (for real
float32 with n >= 9, the Taylor T_18 as top degree), degree and scaling
chosen per matrix (Al-Mohy & Higham 2009). NaN/Inf in a matrix gives NaN for it.
choice: per matrix, the degree m and squarings s chosen, m + 256 s (m = 18: Taylor; -1 where no
Padé or Taylor chain ran, and always -1 from the GPU kernel), for Detexp>ExpmGrad.
)doc");

REGISTER_OP("Detexp>ExpmFrechet")
    .Input("a: T")
    .Input("e: T")
    .Output("expm: T")
    .Output("frechet: T")
    .Attr("T: {float, double, complex64, complex128}")
    .SetShapeFn([](InferenceContext* c) {
      ShapeHandle out;
      TF_RETURN_IF_ERROR(SquarePair(c, &out));
      c->set_output(0, out);
      c->set_output(1, out);
      return Status();
    })
    .Doc(R"doc(
(exp(a), L(a, e)), L the Fréchet derivative of exp at a in the direction e (Al-Mohy & Higham 2009b).
)doc");

REGISTER_OP("Detexp>ExpmGrad")
    .Input("a: T")
    .Input("g: T")
    .Input("choice: int32")
    .Output("grad: T")
    .Attr("T: {float, double, complex64, complex128}")
    .SetShapeFn([](InferenceContext* c) {
      ShapeHandle out, batch, choice;
      TF_RETURN_IF_ERROR(SquarePair(c, &out));
      TF_RETURN_IF_ERROR(c->Subshape(out, 0, -2, &batch));
      TF_RETURN_IF_ERROR(c->Merge(c->input(2), batch, &choice));
      c->set_output(0, out);
      return Status();
    })
    .Doc(R"doc(
L(a^H, g): the gradient of Re tr(g^H exp(a)) with respect to a, for the degree and scaling
Detexp>Expm uses for a. choice: Detexp>Expm's choice output for a (the selection is skipped), or
-1 per matrix to select again (same result); other values are an InvalidArgument error.
)doc");

}  // namespace detexp
