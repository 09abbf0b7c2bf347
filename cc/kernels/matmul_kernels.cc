// CPU kernel of Detexp>MatMul: thin TF glue (matmul_op.h) over the work of matmul_work.h, sharded
// over the batch.
#include <complex>

#include "matmul_op.h"
#include "matmul_work.h"

namespace detexp {

template <class T>
class MatMulOp : public MatMulOpBase {
 public:
  using MatMulOpBase::MatMulOpBase;

 protected:
  void Multiply(::tensorflow::OpKernelContext* ctx, const ::tensorflow::Tensor& a, const ::tensorflow::Tensor& b,
                const SquareBatchShape& sh, ::tensorflow::Tensor* out) override {
    ForEachMatrix(ctx, sh.batch,
                  MatMulWork<T>{a.flat<T>().data(), b.flat<T>().data(), sh.n, adjoint_a_, adjoint_b_,
                                out->flat<T>().data()});
  }
};

#define DETEXP_REGISTER_MATMUL_CPU(T)                                                                      \
  REGISTER_KERNEL_BUILDER(Name("Detexp>MatMul").Device(::tensorflow::DEVICE_CPU).TypeConstraint<T>("T"), \
                          MatMulOp<T>);

DETEXP_REGISTER_MATMUL_CPU(float);
DETEXP_REGISTER_MATMUL_CPU(double);
DETEXP_REGISTER_MATMUL_CPU(std::complex<float>);
DETEXP_REGISTER_MATMUL_CPU(std::complex<double>);

}  // namespace detexp
