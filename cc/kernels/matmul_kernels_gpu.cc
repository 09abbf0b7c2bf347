// GPU kernel of Detexp>MatMul: TF glue over cuda/matmul_kernels.cu (DETEXP_CUDA=ON builds only).
#if GOOGLE_CUDA

#include <complex>

#include "batch_util.h"
#include "gpu_util.h"
#include "cuda/matmul_launch.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"

namespace detexp {

using ::tensorflow::DEVICE_GPU;
using ::tensorflow::OpKernel;
using ::tensorflow::OpKernelConstruction;
using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;

template <class T>
class MatMulGpuOp : public OpKernel {
 public:
  explicit MatMulGpuOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("adjoint_a", &adjoint_a_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("adjoint_b", &adjoint_b_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    const Tensor& b = ctx->input(1);
    SquareBatchShape sh;
    OP_REQUIRES_OK(ctx, CheckPair(a, b, "matmul", &sh));
    Tensor* out;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, a.shape(), &out));
    if (sh.batch == 0 || sh.n == 0) return;
    gpu_glue::RunLauncher(ctx, [&](cudaStream_t stream, gpu::ScratchFn) {
      return gpu::matmul<T>(stream, a.flat<T>().data(), b.flat<T>().data(), out->flat<T>().data(), sh.batch, sh.n,
                            adjoint_a_, adjoint_b_);
    });
  }

 private:
  bool adjoint_a_ = false, adjoint_b_ = false;
};

#define DETEXP_REGISTER_MATMUL_GPU(T) \
  REGISTER_KERNEL_BUILDER(Name("Detexp>MatMul").Device(DEVICE_GPU).TypeConstraint<T>("T"), MatMulGpuOp<T>);

DETEXP_REGISTER_MATMUL_GPU(float);
DETEXP_REGISTER_MATMUL_GPU(double);
DETEXP_REGISTER_MATMUL_GPU(std::complex<float>);
DETEXP_REGISTER_MATMUL_GPU(std::complex<double>);

}  // namespace detexp

#endif  // GOOGLE_CUDA
