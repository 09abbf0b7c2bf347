// Op registrations for the log-determinant family. Kernels: cc/kernels/slogdet_kernels.cc.
//
// Detexp>Slogdet keeps its LU factors as extra outputs so that the backward is a solve, not a
// second factorization (python/detexp/_slogdet.py hides them from users).
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace detexp {

using ::tensorflow::Status;
using ::tensorflow::shape_inference::DimensionHandle;
using ::tensorflow::shape_inference::InferenceContext;
using ::tensorflow::shape_inference::ShapeHandle;

// [..., n, n] -> (batch shape [...], n). Unknown rank stays unknown.
static Status SquareBatch(InferenceContext* c, ShapeHandle* batch, DimensionHandle* n) {
  ShapeHandle a;
  TF_RETURN_IF_ERROR(c->WithRankAtLeast(c->input(0), 2, &a));
  TF_RETURN_IF_ERROR(c->Merge(c->Dim(a, -1), c->Dim(a, -2), n));
  TF_RETURN_IF_ERROR(c->Subshape(a, 0, -2, batch));
  return Status();
}

REGISTER_OP("Detexp>Slogdet")
    .Input("a: T")
    .Output("sign: T")
    .Output("logabsdet: Treal")
    .Output("lu: T")
    .Output("perm: int32")
    .Attr("T: {float, double, complex64, complex128}")
    .Attr("Treal: {float, double}")
    .SetShapeFn([](InferenceContext* c) {
      ShapeHandle batch, lu, perm;
      DimensionHandle n;
      TF_RETURN_IF_ERROR(SquareBatch(c, &batch, &n));
      TF_RETURN_IF_ERROR(c->Concatenate(batch, c->Matrix(n, n), &lu));
      TF_RETURN_IF_ERROR(c->Concatenate(batch, c->Vector(n), &perm));
      c->set_output(0, batch);
      c->set_output(1, batch);
      c->set_output(2, lu);
      c->set_output(3, perm);
      return Status();
    })
    .Doc(R"doc(
Sign and log|det| of a batch of square matrices by partial-pivot LU, plus the factors.
lu and perm are an internal format consumed by Detexp>InverseFromLu.
)doc");

REGISTER_OP("Detexp>InverseFromLu")
    .Input("lu: T")
    .Input("perm: int32")
    .Input("a: T")
    .Output("inverse: T")
    .Attr("T: {float, double, complex64, complex128}")
    .SetShapeFn([](InferenceContext* c) {
      c->set_output(0, c->input(0));
      return Status();
    })
    .Doc(R"doc(
inv(a) from the factors saved by Detexp>Slogdet. `a` is not read: it is the input the
registered gradient differentiates against.
)doc");

REGISTER_OP("Detexp>SlogdetBackward")
    .Input("lu: T")
    .Input("perm: int32")
    .Input("a: T")
    .Input("k: T")
    .Output("grad: T")
    .Attr("T: {float, double, complex64, complex128}")
    .SetShapeFn([](InferenceContext* c) {
      c->set_output(0, c->input(0));
      return Status();
    })
    .Doc(R"doc(
k[..., None, None] * inv(a)^H from the factors saved by Detexp>Slogdet, in one pass: the backward
of slogdet. `a` is not read (see Detexp>InverseFromLu).
)doc");

REGISTER_OP("Detexp>Adjugate")
    .Input("a: T")
    .Output("adjugate: T")
    .Attr("T: {float, double, complex64, complex128}")
    .SetShapeFn([](InferenceContext* c) {
      ShapeHandle batch;
      DimensionHandle n;
      TF_RETURN_IF_ERROR(SquareBatch(c, &batch, &n));
      c->set_output(0, c->input(0));
      return Status();
    })
    .Doc(R"doc(
adj(a), with a adj(a) = det(a) I, exact at singular matrices (SVD based).
)doc");

}  // namespace detexp
