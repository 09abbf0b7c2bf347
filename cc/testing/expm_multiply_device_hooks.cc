// Test hook over cc/core/expm_multiply_device.h (the GPU's host-driven cuBLAS path of
// expm_multiply) with a CPU device: column-major xGEMM with BLAS's argument conventions, the
// functors run by loops, the reductions read back, and the dense route by small_expm.h's
// expm_team. CI so checks the layouts, the GEMM arguments and the order of work that the GPU runs:
// _detexp_testing.device_expm_multiply / device_expm_multiply_grad, tests/test_expm_multiply_device.py.
// plan "cpu": the CPU's dense ratio (the codes must then equal the CPU op's); "gpu": the cuBLAS
// path's (cuda/gpu_plan.h).
#include <algorithm>
#include <complex>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "cc/core/cpu_plan.h"
#include "cc/core/expm_multiply_device.h"
#include "cc/core/small_expm.h"
#include "cc/pybind/array_util.h"
#include "cuda/gpu_plan.h"

namespace detexp {
namespace {

struct CpuDenseRatio {
  template <class T>
  static constexpr double kDenseRatio = cpu_plan::kExpmMultiplyDenseRatio<T>;
};

template <class T>
class CpuDevice {
 public:
  using R = real_t<T>;
  explicit CpuDevice(int n) : n_(n), ws_(static_cast<size_t>(expm_team_workspace_bytes<T>(n, true)) / sizeof(T) + 2) {}

  int gemms = 0, reads = 0;

  void gemm(char op_a, char op_b, int m, int n, int k, T alpha, const T* a, int lda, const T* b, int ldb, T beta,
            T* c, int ldc) {
    ++gemms;
    auto at = [&](int i, int l) {  // op(a)(i, l)
      if (op_a == 'N') return a[i + static_cast<index_t>(l) * lda];
      const T v = a[l + static_cast<index_t>(i) * lda];
      return op_a == 'C' ? conj_of(v) : v;
    };
    auto bt = [&](int l, int j) {
      if (op_b == 'N') return b[l + static_cast<index_t>(j) * ldb];
      const T v = b[j + static_cast<index_t>(l) * ldb];
      return op_b == 'C' ? conj_of(v) : v;
    };
    for (int j = 0; j < n; ++j) {
      for (int i = 0; i < m; ++i) {
        T acc = T(0);
        for (int l = 0; l < k; ++l) acc += at(i, l) * bt(l, j);
        T& out = c[i + static_cast<index_t>(j) * ldc];
        out = beta == T(0) ? alpha * acc : alpha * acc + beta * out;
      }
    }
  }
  template <class F>
  void for_each(index_t count, const F& f) {
    for (index_t i = 0; i < count; ++i) f(i);
  }
  template <class F>
  T sum(index_t count, const F& f) {
    ++reads;
    T acc = T(0);
    for (index_t i = 0; i < count; ++i) acc += f(i);
    return acc;
  }
  template <class F>
  void max(index_t count, const F& f, R* out) {
    ++reads;
    R v[F::kWidth];
    for (int w = 0; w < F::kWidth; ++w) out[w] = 0;
    for (index_t i = 0; i < count; ++i) {
      f(i, v);
      for (int w = 0; w < F::kWidth; ++w) out[w] = nan_max(out[w], v[w]);
    }
  }
  void upload(T* dst, const T* host, index_t count) { std::memcpy(dst, host, count * sizeof(T)); }
  void download(T* host, const T* src, index_t count) {
    ++reads;
    std::memcpy(host, src, count * sizeof(T));
  }
  void expm(const T* x, T* e) {
    expm_team(SerialTeam(), n_, x, static_cast<const T*>(nullptr), false, e, static_cast<T*>(nullptr), ws());
  }
  void expm_adjoint(const T* x, const T* g, T* l) { expm_team(SerialTeam(), n_, x, g, true, static_cast<T*>(nullptr), l, ws()); }

 private:
  void* ws() { return ws_.data(); }  // std::vector<T>: aligned for T, 16 bytes for every T here
  int n_;
  std::vector<T> ws_;
};

template <class T>
void check_shapes(const CArray<T>& a, const CArray<T>& b, const CArray<T>& t, int* n, int* k, int64_t* batch) {
  if (a.ndim() != 3 || a.shape(1) != a.shape(2) || b.ndim() != 3 || b.shape(0) != a.shape(0) ||
      b.shape(1) != a.shape(1) || t.ndim() != 1 || t.shape(0) != a.shape(0)) {
    throw py::value_error("device_expm_multiply: a [B, n, n], b [B, n, k], t [B]; got " + shape_string(a) + ", " +
                          shape_string(b) + ", " + shape_string(t));
  }
  *batch = a.shape(0);
  *n = static_cast<int>(a.shape(1));
  *k = static_cast<int>(b.shape(2));
}

template <class Plan, class T>
py::tuple forward(const CArray<T>& a, const CArray<T>& b, const CArray<T>& t) {
  int n = 0, k = 0;
  int64_t batch = 0;
  check_shapes(a, b, t, &n, &k, &batch);
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
  check_shapes(a, b, t, &n, &k, &batch);
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
