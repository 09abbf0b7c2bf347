// CPU kernels of the matrix exponential family: thin TF glue over cc/core/expm.h, sharded over
// the batch. The row-major slices go to cc/core as column-major matrices (their transposes);
// expm and the Fréchet derivative commute with transposition, and for the backward
// L(A^H, G)^T = L(view(A)^H, view(G)), so every result comes out right without copies.
#include <complex>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "batch_util.h"
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

struct ExpmMap {
  static constexpr const char* kWhat = "expm: input";
  static int64_t Cost(int n) { return ExpmCost(n); }
  template <class T>
  static void Apply(const T* in, int n, T* out) { expm_matrix(in, n, out); }
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
    SquareBatchShape sh;
    OP_REQUIRES_OK(ctx, CheckPair(a, g, "expm_grad", &sh));
    Tensor* out;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, a.shape(), &out));
    const int n = sh.n;
    const index_t nn = static_cast<index_t>(n) * n;
    const T* pa = a.flat<T>().data();
    const T* pg = g.flat<T>().data();
    T* o = out->flat<T>().data();
    ForEachMatrix(ctx, sh.batch, 3 * ExpmCost(n), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        expm_frechet_adjoint_matrix(pa + i * nn, pg + i * nn, n, o + i * nn);
      }
    });
  }
};

#define DETEXP_REGISTER_EXPM_CPU(T)                                                               \
  REGISTER_KERNEL_BUILDER(Name("Detexp>Expm").Device(DEVICE_CPU).TypeConstraint<T>("T"),         \
                          PerMatrixOp<T, ExpmMap>);                                                       \
  REGISTER_KERNEL_BUILDER(Name("Detexp>ExpmFrechet").Device(DEVICE_CPU).TypeConstraint<T>("T"),  \
                          ExpmFrechetOp<T>);                                                      \
  REGISTER_KERNEL_BUILDER(Name("Detexp>ExpmGrad").Device(DEVICE_CPU).TypeConstraint<T>("T"),     \
                          ExpmGradOp<T>);

DETEXP_REGISTER_EXPM_CPU(float);
DETEXP_REGISTER_EXPM_CPU(double);
DETEXP_REGISTER_EXPM_CPU(std::complex<float>);
DETEXP_REGISTER_EXPM_CPU(std::complex<double>);

}  // namespace detexp
