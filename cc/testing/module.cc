// `_detexp_testing`: test hooks over the per-matrix templates the GPU runs (small_lu.h's LU, the
// expm team code on OS threads, the batched expm driver on a CPU backend, expm_multiply's teams and host-driven path), so CI checks the GPU's
// math on the CPU. Built by CMake next to the tests (tests/native/), never installed or shipped.
#include <pybind11/pybind11.h>

namespace detexp {
void register_lu_hooks(pybind11::module_& m);
void register_team_hooks(pybind11::module_& m);
void register_expm_blas_hooks(pybind11::module_& m);
void register_expm_multiply_team_hooks(pybind11::module_& m);
void register_expm_multiply_device_hooks(pybind11::module_& m);
}  // namespace detexp

PYBIND11_MODULE(_detexp_testing, m) {
  m.doc() = "detexp test hooks (not shipped): the GPU's per-matrix templates run on the CPU";
  detexp::register_lu_hooks(m);
  detexp::register_team_hooks(m);
  detexp::register_expm_blas_hooks(m);
  detexp::register_expm_multiply_team_hooks(m);
  detexp::register_expm_multiply_device_hooks(m);
}
