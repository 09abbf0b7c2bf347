// CPU kernels of the log-determinant family: thin TF glue over cc/core, sharded over the batch.
// The row-major [n, n] slices are handed to cc/core as column-major matrices, i.e. transposed;
// see cc/core/small_lu.h for why every result comes out right regardless.
#include <algorithm>
#include <complex>
#include <vector>

#include "batch_util.h"
#include "cc/core/adjugate.h"
#include "cc/core/batch_lu.h"
#include "tensorflow/core/framework/op_kernel.h"

namespace detexp {

using ::tensorflow::DEVICE_CPU;
using ::tensorflow::OpKernel;
using ::tensorflow::OpKernelConstruction;
using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;
using ::tensorflow::TensorShape;

template <class T>
class SlogdetOp : public OpKernel {
 public:
  explicit SlogdetOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    SquareBatchShape sh;
    OP_REQUIRES_OK(ctx, CheckSquareBatch(a, "slogdet: input", &sh));
    Tensor *sign, *logabsdet, *lu = nullptr, *perm = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, sh.batch_shape, &sign));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, sh.batch_shape, &logabsdet));
    // The factors are for the gradients. In a graph where nothing reads them (a forward without a
    // tape) the executor marks them not required; skipping them saves their n^2 write-out.
    // Eager execution marks every output required.
    const bool keep_factors = ctx->output_required(2) || ctx->output_required(3);
    if (keep_factors) {
      TensorShape perm_shape = sh.batch_shape;
      perm_shape.AddDim(sh.n);
      OP_REQUIRES_OK(ctx, ctx->allocate_output(2, a.shape(), &lu));
      OP_REQUIRES_OK(ctx, ctx->allocate_output(3, perm_shape, &perm));
    }
    const int n = sh.n;
    const index_t nn = static_cast<index_t>(n) * n;
    const T* in = a.flat<T>().data();
    T* lu_out = keep_factors ? lu->flat<T>().data() : nullptr;
    int* perm_out = keep_factors ? perm->flat<int>().data() : nullptr;
    T* sign_out = sign->flat<T>().data();
    real_t<T>* lad_out = logabsdet->flat<real_t<T>>().data();
    ForEachMatrix(ctx, sh.batch, CubicCost(n), [&](int64_t begin, int64_t end) {
      slogdet_batch(in + begin * nn, end - begin, n, keep_factors ? lu_out + begin * nn : nullptr,
                    keep_factors ? perm_out + begin * n : nullptr, sign_out + begin, lad_out + begin);
    });
  }
};

template <class T>
class InverseFromLuOp : public OpKernel {
 public:
  explicit InverseFromLuOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& lu = ctx->input(0);
    const Tensor& perm = ctx->input(1);
    SquareBatchShape sh;
    OP_REQUIRES_OK(ctx, CheckLuFactors(lu, perm, nullptr, "inverse_from_lu", &sh));
    Tensor* inv;
    OP_REQUIRES_OK(ctx, ctx->forward_input_or_allocate_output({0}, 0, lu.shape(), &inv));
    const int n = sh.n;
    const index_t nn = static_cast<index_t>(n) * n;
    const T* f = lu.flat<T>().data();
    const int* p = perm.flat<int>().data();
    T* out = inv->flat<T>().data();
    ForEachMatrix(ctx, sh.batch, 2 * CubicCost(n), [&](int64_t begin, int64_t end) {
      inverse_from_lu_batch(f + begin * nn, p + begin * n, end - begin, n, out + begin * nn);
    });
  }
};

template <class T>
class SlogdetBackwardOp : public OpKernel {
 public:
  explicit SlogdetBackwardOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& lu = ctx->input(0);
    const Tensor& perm = ctx->input(1);
    const Tensor& k = ctx->input(3);
    SquareBatchShape sh;
    OP_REQUIRES_OK(ctx, CheckLuFactors(lu, perm, &k, "slogdet_backward", &sh));
    // The gradient may take over the factors' buffer when nothing else reads them (the usual
    // backward): each matrix's factors are read before its gradient is written, and one buffer
    // of tens of MB less stays live and in cache (TF reuses freed blocks, so this saves memory
    // footprint, not page faults). Same above for the inverse.
    Tensor* grad;
    OP_REQUIRES_OK(ctx, ctx->forward_input_or_allocate_output({0}, 0, lu.shape(), &grad));
    const int n = sh.n;
    const index_t nn = static_cast<index_t>(n) * n;
    const T* f = lu.flat<T>().data();
    const int* p = perm.flat<int>().data();
    const T* kv = k.flat<T>().data();
    T* out = grad->flat<T>().data();
    ForEachMatrix(ctx, sh.batch, 2 * CubicCost(n), [&](int64_t begin, int64_t end) {
      scaled_inverse_adjoint_batch(f + begin * nn, p + begin * n, kv + begin, end - begin, n, out + begin * nn);
    });
  }
};

// SVD based (cc/core/adjugate.h): about 20 LU factorizations' worth of work per matrix.
struct AdjugateMap {
  static constexpr const char* kWhat = "adjugate: input";
  static int64_t Cost(int n) { return 20 * CubicCost(n); }
  template <class T>
  static void Apply(const T* in, int n, T* out) { adjugate(in, n, out); }
};

#define DETEXP_REGISTER_SLOGDET_CPU(T)                                                            \
  REGISTER_KERNEL_BUILDER(                                                                        \
      Name("Detexp>Slogdet").Device(DEVICE_CPU).TypeConstraint<T>("T").TypeConstraint<real_t<T>>( \
          "Treal"),                                                                               \
      SlogdetOp<T>);                                                                              \
  REGISTER_KERNEL_BUILDER(Name("Detexp>InverseFromLu").Device(DEVICE_CPU).TypeConstraint<T>("T"), \
                          InverseFromLuOp<T>);                                                    \
  REGISTER_KERNEL_BUILDER(Name("Detexp>SlogdetBackward").Device(DEVICE_CPU).TypeConstraint<T>("T"), \
                          SlogdetBackwardOp<T>);                                                  \
  REGISTER_KERNEL_BUILDER(Name("Detexp>Adjugate").Device(DEVICE_CPU).TypeConstraint<T>("T"),      \
                          PerMatrixOp<T, AdjugateMap>);

DETEXP_REGISTER_SLOGDET_CPU(float);
DETEXP_REGISTER_SLOGDET_CPU(double);
DETEXP_REGISTER_SLOGDET_CPU(std::complex<float>);
DETEXP_REGISTER_SLOGDET_CPU(std::complex<double>);

}  // namespace detexp
