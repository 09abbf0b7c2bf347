// GPU kernel of Detexp>MatMul: thin TF glue (matmul_op.h) over cuda/matmul_kernels.cu
// (DETEXP_CUDA=ON builds only).
#if GOOGLE_CUDA

#include <complex>

#include "gpu_util.h"
#include "matmul_op.h"
#include "cuda/matmul_launch.h"

namespace detexp {

template <class T>
class MatMulGpuOp : public MatMulOpBase {
 public:
  using MatMulOpBase::MatMulOpBase;

 protected:
  void Multiply(::tensorflow::OpKernelContext* ctx, const ::tensorflow::Tensor& a, const ::tensorflow::Tensor& b,
                const SquareBatchShape& sh, ::tensorflow::Tensor* out) override {
    gpu_glue::RunLauncher(ctx, [&](cudaStream_t stream, int /*device*/, gpu::ScratchFn) {
      return gpu::matmul<T>(stream, a.flat<T>().data(), b.flat<T>().data(), out->flat<T>().data(), sh.batch, sh.n,
                            adjoint_a_, adjoint_b_);
    });
  }
};

#define DETEXP_REGISTER_MATMUL_GPU(T)                                                                      \
  REGISTER_KERNEL_BUILDER(Name("Detexp>MatMul").Device(::tensorflow::DEVICE_GPU).TypeConstraint<T>("T"), \
                          MatMulGpuOp<T>);

DETEXP_REGISTER_MATMUL_GPU(float);
DETEXP_REGISTER_MATMUL_GPU(double);
DETEXP_REGISTER_MATMUL_GPU(std::complex<float>);
DETEXP_REGISTER_MATMUL_GPU(std::complex<double>);

}  // namespace detexp

#endif  // GOOGLE_CUDA
