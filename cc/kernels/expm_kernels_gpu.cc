// GPU kernels of the matrix exponential family: TF glue over the launchers of cuda/expm_launch.h
// (built only with DETEXP_CUDA=ON). Same op signatures and checks as the CPU kernels
// (cc/kernels/expm_kernels.cc); row-major slices go to the launchers unchanged (every result
// commutes with transposition, see cc/core/small_expm.h). Stream from the OpKernelContext,
// scratch via allocate_temp; nothing synchronises with the host.
#if GOOGLE_CUDA

#include <algorithm>
#include <complex>

#include "batch_util.h"
#include "expm_choice.h"
#include "gpu_util.h"
#include "cuda/expm_launch.h"
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
class ExpmGpuOp : public OpKernel {
 public:
  explicit ExpmGpuOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    SquareBatchShape sh;
    Tensor *out, *choice;
    OP_REQUIRES_OK(ctx, AllocateExpmOutputs(ctx, &sh, &out, &choice));
    // The device kernels select (m, s) inside and do not report it; ExpmGrad selects again.
    std::fill_n(choice->flat<int>().data(), sh.batch, kExpmChoiceNone);
    if (sh.batch == 0 || sh.n == 0) return;
    RunLauncher(ctx, [&](cudaStream_t stream, int device, gpu::ScratchFn scratch) {
      return gpu::expm<T>(stream, device, a.flat<T>().data(), out->flat<T>().data(), sh.batch, sh.n, scratch);
    });
  }
};

template <class T>
class ExpmFrechetGpuOp : public OpKernel {
 public:
  explicit ExpmFrechetGpuOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    const Tensor& e = ctx->input(1);
    SquareBatchShape sh;
    OP_REQUIRES_OK(ctx, CheckPair(a, e, "expm_frechet", &sh));
    Tensor *r, *l;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, a.shape(), &r));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, a.shape(), &l));
    if (sh.batch == 0 || sh.n == 0) return;
    RunLauncher(ctx, [&](cudaStream_t stream, int device, gpu::ScratchFn scratch) {
      return gpu::expm_frechet<T>(stream, device, a.flat<T>().data(), e.flat<T>().data(), r->flat<T>().data(),
                                  l->flat<T>().data(), sh.batch, sh.n, scratch);
    });
  }
};

template <class T>
class ExpmGradGpuOp : public OpKernel {
 public:
  explicit ExpmGradGpuOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    const Tensor& g = ctx->input(1);
    SquareBatchShape sh;
    OP_REQUIRES_OK(ctx, CheckPair(a, g, "expm_grad", &sh));
    OP_REQUIRES_OK(ctx, CheckExpmChoice<real_t<T>>(ctx->input(2), sh));  // valid; the kernels select again
    Tensor* out;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, a.shape(), &out));
    if (sh.batch == 0 || sh.n == 0) return;
    RunLauncher(ctx, [&](cudaStream_t stream, int device, gpu::ScratchFn scratch) {
      return gpu::expm_grad<T>(stream, device, a.flat<T>().data(), g.flat<T>().data(), out->flat<T>().data(),
                               sh.batch, sh.n, scratch);
    });
  }
};

#define DETEXP_REGISTER_EXPM_GPU(T)                                                               \
  REGISTER_KERNEL_BUILDER(                                                                        \
      Name("Detexp>Expm").Device(DEVICE_GPU).TypeConstraint<T>("T").HostMemory("choice"), ExpmGpuOp<T>); \
  REGISTER_KERNEL_BUILDER(Name("Detexp>ExpmFrechet").Device(DEVICE_GPU).TypeConstraint<T>("T"),  \
                          ExpmFrechetGpuOp<T>);                                                   \
  REGISTER_KERNEL_BUILDER(                                                                        \
      Name("Detexp>ExpmGrad").Device(DEVICE_GPU).TypeConstraint<T>("T").HostMemory("choice"),    \
      ExpmGradGpuOp<T>);

DETEXP_REGISTER_EXPM_GPU(float);
DETEXP_REGISTER_EXPM_GPU(double);
DETEXP_REGISTER_EXPM_GPU(std::complex<float>);
DETEXP_REGISTER_EXPM_GPU(std::complex<double>);

}  // namespace detexp

#endif  // GOOGLE_CUDA
