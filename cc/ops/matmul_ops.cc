// Op registration of Detexp>MatMul, the batched product of the gradients. Kernels:
// cc/kernels/matmul_kernels.cc (CPU), matmul_kernels_gpu.cc (GPU).
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace detexp {

using ::tensorflow::Status;
using ::tensorflow::shape_inference::InferenceContext;
using ::tensorflow::shape_inference::ShapeHandle;

REGISTER_OP("Detexp>MatMul")
    .Input("a: T")
    .Input("b: T")
    .Output("product: T")
    .Attr("adjoint_a: bool = false")
    .Attr("adjoint_b: bool = false")
    .Attr("T: {float, double, complex64, complex128}")
    .SetShapeFn([](InferenceContext* c) {
      ShapeHandle a, b, out;
      TF_RETURN_IF_ERROR(c->WithRankAtLeast(c->input(0), 2, &a));
      TF_RETURN_IF_ERROR(c->Merge(a, c->input(1), &out));
      ::tensorflow::shape_inference::DimensionHandle n;
      TF_RETURN_IF_ERROR(c->Merge(c->Dim(out, -1), c->Dim(out, -2), &n));
      c->set_output(0, out);
      return Status();
    })
    .Doc(R"doc(
op(a) op(b) for batches [..., n, n] of one shape, op the adjoint where asked. Each product is
summed in a fixed order, so a matrix's result does not depend on the batch it sits in (TF's
BatchMatMul does, on the CPU); the gradients of the detexp ops use it.
)doc");

}  // namespace detexp
