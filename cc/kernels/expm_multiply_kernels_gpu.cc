// GPU kernels of dx.expm_multiply and its backward: TF glue over the launchers of
// cuda/expm_multiply_launch.h (built only with DETEXP_CUDA=ON). Same op signatures and checks as
// the CPU kernels (expm_multiply_kernels.cc); `choice` lives in host memory: the forward reports
// the codes the host-driven path chose (-1 where the teams chose on the device), and the backward
// checks the codes it is given, as on the CPU.
#if GOOGLE_CUDA

#include <complex>

#include "expm_multiply_checks.h"
#include "gpu_util.h"
#include "cuda/expm_multiply_launch.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"

namespace detexp {

using ::tensorflow::DEVICE_GPU;
using ::tensorflow::OpKernel;
using ::tensorflow::OpKernelConstruction;
using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;
using gpu_glue::RunLauncher;

template <class T>
class ExpmMultiplyGpuOp : public OpKernel {
 public:
  explicit ExpmMultiplyGpuOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor &a = ctx->input(0), &b = ctx->input(1), &t = ctx->input(2);
    ExpmMultiplyShape sh;
    Tensor *f, *choice;
    OP_REQUIRES_OK(ctx, PrepareExpmMultiply(ctx, &sh, &f, &choice));
    RunLauncher(ctx, [&](cudaStream_t stream, int device, gpu::ScratchFn scratch) {
      return gpu::expm_multiply<T>(stream, device, a.flat<T>().data(), b.flat<T>().data(), t.flat<T>().data(),
                                   f->flat<T>().data(), choice->flat<int>().data(), sh.a.batch, sh.a.n, sh.k, scratch);
    });
  }
};

template <class T>
class ExpmMultiplyGradGpuOp : public OpKernel {
 public:
  explicit ExpmMultiplyGradGpuOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor &a = ctx->input(0), &b = ctx->input(1), &t = ctx->input(2), &g = ctx->input(3);
    const Tensor& choice = ctx->input(4);
    ExpmMultiplyShape sh;
    Tensor *grad_a, *grad_b, *grad_t;
    OP_REQUIRES_OK(ctx, PrepareExpmMultiplyGrad(ctx, &sh, &grad_a, &grad_b, &grad_t));
    RunLauncher(ctx, [&](cudaStream_t stream, int device, gpu::ScratchFn scratch) {
      return gpu::expm_multiply_grad<T>(stream, device, a.flat<T>().data(), b.flat<T>().data(), t.flat<T>().data(),
                                        g.flat<T>().data(), choice.flat<int>().data(), grad_a->flat<T>().data(),
                                        grad_b->flat<T>().data(), grad_t->flat<T>().data(), sh.a.batch, sh.a.n, sh.k,
                                        scratch);
    });
  }
};

#define DETEXP_REGISTER_EXPM_MULTIPLY_GPU(T)                                                                     \
  REGISTER_KERNEL_BUILDER(                                                                                       \
      Name("Detexp>ExpmMultiply").Device(DEVICE_GPU).TypeConstraint<T>("T").HostMemory("choice"),               \
      ExpmMultiplyGpuOp<T>);                                                                                     \
  REGISTER_KERNEL_BUILDER(                                                                                       \
      Name("Detexp>ExpmMultiplyGrad").Device(DEVICE_GPU).TypeConstraint<T>("T").HostMemory("choice"),           \
      ExpmMultiplyGradGpuOp<T>);

DETEXP_REGISTER_EXPM_MULTIPLY_GPU(float);
DETEXP_REGISTER_EXPM_MULTIPLY_GPU(double);
DETEXP_REGISTER_EXPM_MULTIPLY_GPU(std::complex<float>);
DETEXP_REGISTER_EXPM_MULTIPLY_GPU(std::complex<double>);

}  // namespace detexp

#endif  // GOOGLE_CUDA
