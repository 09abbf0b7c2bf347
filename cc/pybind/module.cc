// The `detexp._detexp_numpy` extension: dx.numpy.* over cc/core, no TF graph involved.
#include <pybind11/pybind11.h>

namespace detexp {
void register_slogdet(pybind11::module_& m);
void register_core_test(pybind11::module_& m);
void register_expm(pybind11::module_& m);
void register_core_expm_blas(pybind11::module_& m);
void register_expm_multiply(pybind11::module_& m);
}  // namespace detexp

PYBIND11_MODULE(_detexp_numpy, m) {
  m.doc() = "detexp kernels over NumPy arrays (cc/core through pybind11); see detexp.numpy";
  detexp::register_slogdet(m);
  detexp::register_core_test(m);
  detexp::register_expm(m);
  detexp::register_core_expm_blas(m);
  detexp::register_expm_multiply(m);
}
