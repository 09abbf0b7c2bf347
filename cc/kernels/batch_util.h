// Shared pieces of the CPU OpKernels: checking a [..., n, n] input and sharding a batch of
// matrices (a Work of batch_work.h) over TF's intra-op thread pool.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "batch_work.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"
#include "tensorflow/core/framework/tensor_shape.h"

namespace detexp {

struct SquareBatchShape {
  int64_t batch = 0;  // number of matrices (64-bit: batches may exceed 2^31 elements)
  int n = 0;
  ::tensorflow::TensorShape batch_shape;  // the leading dimensions
};

// InvalidArgument naming the shape unless `t` is [..., n, n]; use with OP_REQUIRES_OK.
inline ::tensorflow::Status CheckSquareBatch(const ::tensorflow::Tensor& t, const char* what,
                                             SquareBatchShape* out) {
  const ::tensorflow::TensorShape& s = t.shape();
  if (s.dims() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " must be a batch of square matrices [..., n, n] (rank >= 2); got shape ", s.DebugString()));
  }
  const int64_t rows = s.dim_size(s.dims() - 2), cols = s.dim_size(s.dims() - 1);
  if (rows != cols) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " must be square in its last two dimensions; got shape ", s.DebugString()));
  }
  if (rows >= (int64_t{1} << 31)) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is too large: n = ", rows));
  }
  out->n = static_cast<int>(rows);
  out->batch_shape = s;
  out->batch_shape.RemoveLastDims(2);
  out->batch = out->batch_shape.num_elements();
  return ::tensorflow::Status();
}

// The saved factors of Detexp>Slogdet: lu [..., n, n] and perm [..., n], and, when k is given, a
// per-matrix scale k [...]. InvalidArgument naming the shapes otherwise.
inline ::tensorflow::Status CheckLuFactors(const ::tensorflow::Tensor& lu, const ::tensorflow::Tensor& perm,
                                           const ::tensorflow::Tensor* k, const char* what,
                                           SquareBatchShape* out) {
  TF_RETURN_IF_ERROR(CheckSquareBatch(lu, what, out));
  ::tensorflow::TensorShape perm_shape = out->batch_shape;
  perm_shape.AddDim(out->n);
  if (perm.shape() != perm_shape || (k != nullptr && k->shape() != out->batch_shape)) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": perm must have shape ", perm_shape.DebugString(), (k ? " and k shape " : ""),
        (k ? out->batch_shape.DebugString() : ""), "; got ", perm.shape().DebugString(),
        (k ? " and " : ""), (k ? k->shape().DebugString() : "")));
  }
  return ::tensorflow::Status();
}

// Both inputs [..., n, n] of one shape.
inline ::tensorflow::Status CheckPair(const ::tensorflow::Tensor& a, const ::tensorflow::Tensor& b, const char* op,
                                      SquareBatchShape* sh) {
  TF_RETURN_IF_ERROR(CheckSquareBatch(a, op, sh));
  if (a.shape() != b.shape()) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": both inputs must have the same shape; got ",
                                                   a.shape().DebugString(), " and ",
                                                   b.shape().DebugString()));
  }
  return ::tensorflow::Status();
}

// Runs work(begin, end) over [0, batch) on the intra-op pool, sharded by work.cost() per matrix
// (a Work of batch_work.h).
template <class Work>
void ForEachMatrix(::tensorflow::OpKernelContext* ctx, int64_t batch, const Work& work) {
  if (batch <= 0) return;
  auto* pool = ctx->device()->tensorflow_cpu_worker_threads()->workers;
  pool->ParallelFor(batch, work.cost(), [&work](int64_t b, int64_t e) { work(b, e); });
}

// A kernel mapping each [n, n] slice of its one input to the same slice of a same-shape output:
// the Work<T>{in, n, out} of batch_work.h; Work<T>::kWhat names the input in errors.
template <class T, template <class> class Work>
class PerMatrixOp : public ::tensorflow::OpKernel {
 public:
  explicit PerMatrixOp(::tensorflow::OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(::tensorflow::OpKernelContext* ctx) override {
    const ::tensorflow::Tensor& a = ctx->input(0);
    SquareBatchShape sh;
    OP_REQUIRES_OK(ctx, CheckSquareBatch(a, Work<T>::kWhat, &sh));
    ::tensorflow::Tensor* out;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, a.shape(), &out));
    ForEachMatrix(ctx, sh.batch, Work<T>{a.flat<T>().data(), sh.n, out->flat<T>().data()});
  }
};

}  // namespace detexp
