// Test hook over cc/core/expm_multiply_team.h (what the GPU's fused expm_multiply kernels run), by
// one CPU thread or by a team of OS threads with the GPU teams' work split and barriers:
// _detexp_testing.team_expm_multiply / team_expm_multiply_grad, tests/test_expm_multiply_team.py.
// plan "cpu": the CPU's dense ratio (the choice codes must then equal the CPU op's); "gpu": the
// GPU teams' (cuda/gpu_plan.h), as the kernels run it.
#include <algorithm>
#include <complex>
#include <cstdint>
#include <string>
#include <vector>

#include "cc/core/expm_multiply_team.h"
#include "cc/pybind/array_util.h"
#include "cuda/gpu_plan.h"
#include "expm_multiply_hooks_common.h"
#include "thread_team.h"

namespace detexp {
namespace {

using expm_multiply_hooks::CpuDenseRatio;

// The hooks' shapes, n within the team backend's limit.
template <class T>
void check_shapes(const CArray<T>& a, const CArray<T>& b, const CArray<T>& t, int* n, int* k, int64_t* batch) {
  expm_multiply_hooks::check_shapes("team_expm_multiply", a, b, t, n, k, batch);
  if (*n > expm_multiply::kTeamMaxN) throw py::value_error("team_expm_multiply: n > kTeamMaxN");
}

struct AlignedBytes {
  explicit AlignedBytes(int64_t bytes) : v(static_cast<size_t>(bytes) + 16) {}
  void* get() { return v.data() + (16 - reinterpret_cast<uintptr_t>(v.data()) % 16) % 16; }
  std::vector<unsigned char> v;
};

template <class Plan, class T>
py::tuple forward(const CArray<T>& a, const CArray<T>& b, const CArray<T>& t, int threads) {
  int n = 0, k = 0;
  int64_t batch = 0;
  check_shapes(a, b, t, &n, &k, &batch);
  CArray<T> f({static_cast<py::ssize_t>(batch), static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(k)});
  py::array_t<int> choice(static_cast<py::ssize_t>(batch));
  AlignedBytes ws(expm_multiply::expm_multiply_team_workspace_bytes<T>(n, k, threads, false,
                                                                       Plan::template kDenseRatio<T>));
  const T *pa = a.data(), *pb = b.data(), *pt = t.data();
  T* pf = f.mutable_data();
  int* pc = choice.mutable_data();
  const int64_t nn = int64_t{n} * n, nk = int64_t{n} * k;
  {
    py::gil_scoped_release release;
    run_team(threads, [&](const auto& team) {
      for (int64_t i = 0; i < batch; ++i) {
        const int code =
            expm_multiply::expm_multiply_team<Plan>(team, n, k, pa + i * nn, pb + i * nk, pt[i], pf + i * nk, ws.get());
        if (team.rank() == 0) pc[i] = code;
      }
    });
  }
  return py::make_tuple(f, choice);
}

template <class Plan, class T>
py::tuple backward(const CArray<T>& a, const CArray<T>& b, const CArray<T>& t, const CArray<T>& g,
                   const py::array_t<int>& choice, int threads) {
  int n = 0, k = 0;
  int64_t batch = 0;
  check_shapes(a, b, t, &n, &k, &batch);
  if (g.ndim() != 3 || !std::equal(g.shape(), g.shape() + 3, b.shape()) || choice.ndim() != 1 ||
      choice.shape(0) != batch) {
    throw py::value_error("team_expm_multiply_grad: g must be b's shape and choice [B]");
  }
  CArray<T> ga({static_cast<py::ssize_t>(batch), static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(n)});
  CArray<T> gb({static_cast<py::ssize_t>(batch), static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(k)});
  CArray<T> gt(static_cast<py::ssize_t>(batch));
  AlignedBytes ws(
      expm_multiply::expm_multiply_team_workspace_bytes<T>(n, k, threads, true, Plan::template kDenseRatio<T>));
  const T *pa = a.data(), *pb = b.data(), *pt = t.data(), *pg = g.data();
  const int* pc = choice.data();
  T *pga = ga.mutable_data(), *pgb = gb.mutable_data(), *pgt = gt.mutable_data();
  const int64_t nn = int64_t{n} * n, nk = int64_t{n} * k;
  {
    py::gil_scoped_release release;
    run_team(threads, [&](const auto& team) {
      for (int64_t i = 0; i < batch; ++i) {
        expm_multiply::expm_multiply_grad_team<Plan>(team, n, k, pa + i * nn, pb + i * nk, pt[i], pg + i * nk, pc[i],
                                                     pga + i * nn, pgb + i * nk, pgt + i, ws.get());
      }
    });
  }
  return py::make_tuple(ga, gb, gt);
}

void check_threads(int threads) {
  if (threads < 1 || threads > 256) throw py::value_error("team_expm_multiply: threads must be in 1..256");
}

template <class T>
py::tuple team_forward(const CArray<T>& a, const CArray<T>& b, const CArray<T>& t, int threads,
                       const std::string& plan) {
  check_threads(threads);
  if (plan == "cpu") return forward<CpuDenseRatio>(a, b, t, threads);
  if (plan == "gpu") return forward<gpu::plan::ExpmMultiplyTeamDenseRatio>(a, b, t, threads);
  throw py::value_error("team_expm_multiply: plan must be 'cpu' or 'gpu'");
}

template <class T>
py::tuple team_backward(const CArray<T>& a, const CArray<T>& b, const CArray<T>& t, const CArray<T>& g,
                        const py::array_t<int>& choice, int threads, const std::string& plan) {
  check_threads(threads);
  if (plan == "cpu") return backward<CpuDenseRatio>(a, b, t, g, choice, threads);
  if (plan == "gpu") return backward<gpu::plan::ExpmMultiplyTeamDenseRatio>(a, b, t, g, choice, threads);
  throw py::value_error("team_expm_multiply_grad: plan must be 'cpu' or 'gpu'");
}

template <class T>
void bind(py::module_& m) {
  m.def("team_expm_multiply", &team_forward<T>, py::arg("a").noconvert(), py::arg("b").noconvert(),
        py::arg("t").noconvert(), py::arg("threads") = 1, py::arg("plan") = "cpu");
  m.def("team_expm_multiply_grad", &team_backward<T>, py::arg("a").noconvert(), py::arg("b").noconvert(),
        py::arg("t").noconvert(), py::arg("g").noconvert(), py::arg("choice"), py::arg("threads") = 1,
        py::arg("plan") = "cpu");
}

}  // namespace

void register_expm_multiply_team_hooks(py::module_& m) {
  bind<float>(m);
  bind<double>(m);
  bind<std::complex<float>>(m);
  bind<std::complex<double>>(m);
}

}  // namespace detexp
