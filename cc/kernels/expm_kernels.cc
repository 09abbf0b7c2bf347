// CPU kernels of the matrix exponential family: thin TF glue over cc/core/expm.h, sharded over
// the batch. The row-major slices go to cc/core as column-major matrices (their transposes);
// expm and the Fréchet derivative commute with transposition, and for the backward
// L(A^H, G)^T = L(view(A)^H, view(G)), so every result comes out right without copies.
#include <complex>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "batch_util.h"
#include "expm_choice.h"
#include "cc/core/expm.h"
#include "tensorflow/core/framework/op_kernel.h"

namespace detexp {

using ::tensorflow::DEVICE_CPU;
using ::tensorflow::OpKernel;
using ::tensorflow::OpKernelConstruction;
using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;

// Products of one expm (Padé 13 plus a few squarings), in cycles per matrix for the sharder.
inline int64_t ExpmCost(int n) { return 12 * CubicCost(n); }

// Outputs exp(a) and, per matrix, the degree and squarings chosen (expm_coefficients.h's
// choice code) for Detexp>ExpmGrad, which then skips the selection.
template <class T>
class ExpmOp : public OpKernel {
 public:
  explicit ExpmOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    SquareBatchShape sh;
    Tensor *out, *choice;
    OP_REQUIRES_OK(ctx, AllocateExpmOutputs(ctx, &sh, &out, &choice));
    const int n = sh.n;
    const index_t nn = static_cast<index_t>(n) * n;
    const T* pa = ctx->input(0).flat<T>().data();
    T* o = out->flat<T>().data();
    int* c = choice->flat<int>().data();
    ForEachMatrix(ctx, sh.batch, ExpmCost(n), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) expm_matrix(pa + i * nn, n, o + i * nn, c + i);
    });
  }
};

template <class T>
class ExpmFrechetOp : public OpKernel {
 public:
  explicit ExpmFrechetOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    const Tensor& e = ctx->input(1);
    SquareBatchShape sh;
    OP_REQUIRES_OK(ctx, CheckPair(a, e, "expm_frechet", &sh));
    Tensor *r, *l;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, a.shape(), &r));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, a.shape(), &l));
    const int n = sh.n;
    const index_t nn = static_cast<index_t>(n) * n;
    const T* pa = a.flat<T>().data();
    const T* pe = e.flat<T>().data();
    T* pr = r->flat<T>().data();
    T* pl = l->flat<T>().data();
    ForEachMatrix(ctx, sh.batch, 3 * ExpmCost(n), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        expm_frechet_matrix(pa + i * nn, pe + i * nn, n, pr + i * nn, pl + i * nn);
      }
    });
  }
};

template <class T>
class ExpmGradOp : public OpKernel {
 public:
  explicit ExpmGradOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    const Tensor& g = ctx->input(1);
    const Tensor& choice = ctx->input(2);
    SquareBatchShape sh;
    OP_REQUIRES_OK(ctx, CheckPair(a, g, "expm_grad", &sh));
    OP_REQUIRES_OK(ctx, CheckExpmChoice<real_t<T>>(choice, sh));
    Tensor* out;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, a.shape(), &out));
    const int n = sh.n;
    const index_t nn = static_cast<index_t>(n) * n;
    const T* pa = a.flat<T>().data();
    const T* pg = g.flat<T>().data();
    const int* pc = choice.flat<int>().data();
    T* o = out->flat<T>().data();
    ForEachMatrix(ctx, sh.batch, 3 * ExpmCost(n), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        expm_frechet_adjoint_matrix(pa + i * nn, pg + i * nn, n, pc[i], o + i * nn);
      }
    });
  }
};

#define DETEXP_REGISTER_EXPM_CPU(T)                                                               \
  REGISTER_KERNEL_BUILDER(Name("Detexp>Expm").Device(DEVICE_CPU).TypeConstraint<T>("T"),         \
                          ExpmOp<T>);                                                                     \
  REGISTER_KERNEL_BUILDER(Name("Detexp>ExpmFrechet").Device(DEVICE_CPU).TypeConstraint<T>("T"),  \
                          ExpmFrechetOp<T>);                                                      \
  REGISTER_KERNEL_BUILDER(Name("Detexp>ExpmGrad").Device(DEVICE_CPU).TypeConstraint<T>("T"),     \
                          ExpmGradOp<T>);

DETEXP_REGISTER_EXPM_CPU(float);
DETEXP_REGISTER_EXPM_CPU(double);
DETEXP_REGISTER_EXPM_CPU(std::complex<float>);
DETEXP_REGISTER_EXPM_CPU(std::complex<double>);

}  // namespace detexp
