// GPU kernels of the log-determinant family: TF glue over the launchers in cuda/ (built only with
// DETEXP_CUDA=ON, compiled with TF's headers and GOOGLE_CUDA=1). The stream comes from the
// OpKernelContext and every scratch buffer from allocate_temp, so TF's stream-ordered allocator
// owns all device memory. Outputs, perm included, live in device memory; the LU/perm format is
// the CPU path's (cc/core/small_lu.h), so the Python gradients are device-agnostic.
#if GOOGLE_CUDA

#include <complex>
#include <vector>

#include "batch_util.h"
#include "gpu_util.h"
#include "cc/core/scalar.h"
#include "cuda/slogdet_launch.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"

namespace detexp {

using ::tensorflow::DEVICE_GPU;
using ::tensorflow::OpKernel;
using ::tensorflow::OpKernelConstruction;
using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;
using ::tensorflow::TensorShape;
using gpu_glue::RunLauncher;

template <class T>
class SlogdetGpuOp : public OpKernel {
 public:
  explicit SlogdetGpuOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    SquareBatchShape sh;
    OP_REQUIRES_OK(ctx, CheckSquareBatch(a, "slogdet: input", &sh));
    Tensor *sign, *logabsdet, *lu, *perm;
    TensorShape perm_shape = sh.batch_shape;
    perm_shape.AddDim(sh.n);
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, sh.batch_shape, &sign));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, sh.batch_shape, &logabsdet));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, a.shape(), &lu));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(3, perm_shape, &perm));
    if (sh.batch == 0) return;
    RunLauncher(ctx, [&](cudaStream_t stream, int device, gpu::ScratchFn scratch) {
      return gpu::slogdet<T, real_t<T>>(stream, device, a.flat<T>().data(), lu->flat<T>().data(),
                                        perm->flat<int>().data(), sign->flat<T>().data(),
                                        logabsdet->flat<real_t<T>>().data(), sh.batch, sh.n, scratch);
    });
  }
};

template <class T>
class InverseFromLuGpuOp : public OpKernel {
 public:
  explicit InverseFromLuGpuOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& lu = ctx->input(0);
    const Tensor& perm = ctx->input(1);
    SquareBatchShape sh;
    OP_REQUIRES_OK(ctx, CheckLuFactors(lu, perm, nullptr, "inverse_from_lu", &sh));
    Tensor* inv;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, lu.shape(), &inv));
    if (sh.batch == 0 || sh.n == 0) return;
    RunLauncher(ctx, [&](cudaStream_t stream, int device, gpu::ScratchFn scratch) {
      return gpu::inverse_from_lu<T>(stream, device, lu.flat<T>().data(), perm.flat<int>().data(),
                                     inv->flat<T>().data(), sh.batch, sh.n, scratch);
    });
  }
};

template <class T>
class SlogdetBackwardGpuOp : public OpKernel {
 public:
  explicit SlogdetBackwardGpuOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& lu = ctx->input(0);
    const Tensor& perm = ctx->input(1);
    const Tensor& k = ctx->input(3);
    SquareBatchShape sh;
    OP_REQUIRES_OK(ctx, CheckLuFactors(lu, perm, &k, "slogdet_backward", &sh));
    Tensor* grad;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, lu.shape(), &grad));
    if (sh.batch == 0 || sh.n == 0) return;
    RunLauncher(ctx, [&](cudaStream_t stream, int device, gpu::ScratchFn scratch) {
      return gpu::slogdet_backward<T>(stream, device, lu.flat<T>().data(), perm.flat<int>().data(),
                                      k.flat<T>().data(), grad->flat<T>().data(), sh.batch, sh.n, scratch);
    });
  }
};

template <class T>
class AdjugateGpuOp : public OpKernel {
 public:
  explicit AdjugateGpuOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    SquareBatchShape sh;
    OP_REQUIRES_OK(ctx, CheckSquareBatch(a, "adjugate: input", &sh));
    Tensor* adj;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, a.shape(), &adj));
    if (sh.batch == 0 || sh.n == 0) return;
    RunLauncher(ctx, [&](cudaStream_t stream, int device, gpu::ScratchFn scratch) {
      return gpu::adjugate<T>(stream, device, a.flat<T>().data(), adj->flat<T>().data(), sh.batch, sh.n, scratch);
    });
  }
};

#define DETEXP_REGISTER_SLOGDET_GPU(T)                                                            \
  REGISTER_KERNEL_BUILDER(                                                                        \
      Name("Detexp>Slogdet").Device(DEVICE_GPU).TypeConstraint<T>("T").TypeConstraint<real_t<T>>( \
          "Treal"),                                                                               \
      SlogdetGpuOp<T>);                                                                           \
  REGISTER_KERNEL_BUILDER(Name("Detexp>InverseFromLu").Device(DEVICE_GPU).TypeConstraint<T>("T"), \
                          InverseFromLuGpuOp<T>);                                                 \
  REGISTER_KERNEL_BUILDER(Name("Detexp>SlogdetBackward").Device(DEVICE_GPU).TypeConstraint<T>("T"), \
                          SlogdetBackwardGpuOp<T>);                                                 \
  REGISTER_KERNEL_BUILDER(Name("Detexp>Adjugate").Device(DEVICE_GPU).TypeConstraint<T>("T"),      \
                          AdjugateGpuOp<T>);

DETEXP_REGISTER_SLOGDET_GPU(float);
DETEXP_REGISTER_SLOGDET_GPU(double);
DETEXP_REGISTER_SLOGDET_GPU(std::complex<float>);
DETEXP_REGISTER_SLOGDET_GPU(std::complex<double>);

}  // namespace detexp

#endif  // GOOGLE_CUDA
