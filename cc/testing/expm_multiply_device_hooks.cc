// Test hook over cc/core/expm_multiply_device.h (the GPU's host-driven cuBLAS path of
// expm_multiply) with the CPU device of expm_multiply_cpu_device.h. CI so checks the layouts, the GEMM arguments and the order of work that the GPU runs:
// _detexp_testing.device_expm_multiply / device_expm_multiply_grad, tests/test_expm_multiply_device.py.
// plan "cpu": the CPU's dense ratio (the codes must then equal the CPU op's); "gpu": the cuBLAS
// path's (cuda/gpu_plan.h).
#include <algorithm>
#include <complex>
#include <cstdint>
#include <string>
#include <vector>

#include "cc/core/expm_multiply_device.h"
#include "cc/pybind/array_util.h"
#include "cuda/gpu_plan.h"
#include "expm_multiply_cpu_device.h"
#include "expm_multiply_hooks_common.h"

namespace detexp {
namespace {

using expm_multiply_hooks::check_shapes;
using expm_multiply_hooks::CpuDenseRatio;

template <class Plan, class T>
py::tuple forward(const CArray<T>& a, const CArray<T>& b, const CArray<T>& t) {
  int n = 0, k = 0;
  int64_t batch = 0;
  check_shapes("device_expm_multiply", a, b, t, &n, &k, &batch);
  CArray<T> f({static_cast<py::ssize_t>(batch), static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(k)});
  py::array_t<int> choice(static_cast<py::ssize_t>(batch));
  std::vector<T> ws(static_cast<size_t>(expm_multiply::device_layout(n, k, false, Plan::template kDenseRatio<T>).total));
  CpuDevice<T> dev(n);
  {
    py::gil_scoped_release release;
    expm_multiply::expm_multiply_device<Plan>(dev, batch, n, k, a.data(), b.data(), t.data(), f.mutable_data(),
                                              choice.mutable_data(), ws.data());
  }
  return py::make_tuple(f, choice, dev.reads);
}

template <class Plan, class T>
py::tuple backward(const CArray<T>& a, const CArray<T>& b, const CArray<T>& t, const CArray<T>& g,
                   const py::array_t<int>& choice) {
  int n = 0, k = 0;
  int64_t batch = 0;
  check_shapes("device_expm_multiply", a, b, t, &n, &k, &batch);
  if (g.ndim() != 3 || !std::equal(g.shape(), g.shape() + 3, b.shape()) || choice.ndim() != 1 ||
      choice.shape(0) != batch) {
    throw py::value_error("device_expm_multiply_grad: g must be b's shape and choice [B]");
  }
  CArray<T> ga({static_cast<py::ssize_t>(batch), static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(n)});
  CArray<T> gb({static_cast<py::ssize_t>(batch), static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(k)});
  CArray<T> gt(static_cast<py::ssize_t>(batch));
  std::vector<T> ws(static_cast<size_t>(expm_multiply::device_layout(n, k, true, Plan::template kDenseRatio<T>).total));
  CpuDevice<T> dev(n);
  {
    py::gil_scoped_release release;
    expm_multiply::expm_multiply_grad_device<Plan>(dev, batch, n, k, a.data(), b.data(), t.data(), g.data(),
                                                   choice.data(), ga.mutable_data(), gb.mutable_data(),
                                                   gt.mutable_data(), ws.data());
  }
  return py::make_tuple(ga, gb, gt);
}

template <class T>
py::tuple device_forward(const CArray<T>& a, const CArray<T>& b, const CArray<T>& t, const std::string& plan) {
  if (plan == "cpu") return forward<CpuDenseRatio>(a, b, t);
  if (plan == "gpu") return forward<gpu::plan::ExpmMultiplyBlasDenseRatio>(a, b, t);
  throw py::value_error("device_expm_multiply: plan must be 'cpu' or 'gpu'");
}

template <class T>
py::tuple device_backward(const CArray<T>& a, const CArray<T>& b, const CArray<T>& t, const CArray<T>& g,
                          const py::array_t<int>& choice, const std::string& plan) {
  if (plan == "cpu") return backward<CpuDenseRatio>(a, b, t, g, choice);
  if (plan == "gpu") return backward<gpu::plan::ExpmMultiplyBlasDenseRatio>(a, b, t, g, choice);
  throw py::value_error("device_expm_multiply_grad: plan must be 'cpu' or 'gpu'");
}

template <class T>
void bind(py::module_& m) {
  m.def("device_expm_multiply", &device_forward<T>, py::arg("a").noconvert(), py::arg("b").noconvert(),
        py::arg("t").noconvert(), py::arg("plan") = "cpu");
  m.def("device_expm_multiply_grad", &device_backward<T>, py::arg("a").noconvert(), py::arg("b").noconvert(),
        py::arg("t").noconvert(), py::arg("g").noconvert(), py::arg("choice"), py::arg("plan") = "cpu");
}

}  // namespace

void register_expm_multiply_device_hooks(py::module_& m) {
  bind<float>(m);
  bind<double>(m);
  bind<std::complex<float>>(m);
  bind<std::complex<double>>(m);
}

}  // namespace detexp
