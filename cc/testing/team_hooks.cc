// Test hook over cc/core/small_expm.h's expm_team (what the GPU's fused expm kernels run), by one
// CPU thread or by a team of OS threads with the GPU teams' work split and barriers:
// _detexp_testing.team_expm, tests/test_core_small_expm.py.
#include <algorithm>
#include <complex>
#include <cstdint>
#include <vector>

#include "cc/core/small_expm.h"
#include "cc/pybind/array_util.h"
#include "thread_team.h"

namespace detexp {

// mode 0 exp(a); 1 (exp(a), L(a, e)); 2 L(a^H, e), expm's backward. Row-major slices are passed as
// they are (see small_expm.h). Returns (results, choices): the choice code (m + 256 s, or -1
// where no chain ran) per matrix.
template <class T>
py::tuple team_expm(const CArray<T>& a, const CArray<T>& e, int mode, int threads) {
  const BatchDims d = square_batch(a, "team_expm: a");
  if (mode != 0 && (e.ndim() != a.ndim() || !std::equal(a.shape(), a.shape() + a.ndim(), e.shape()))) {
    throw py::value_error("team_expm: a and e must have the same shape");
  }
  if (threads < 1 || threads > 64) throw py::value_error("team_expm: threads must be in 1..64");
  const int n = d.n;
  const int64_t nn = int64_t{n} * n, b = d.batch;
  std::vector<py::ssize_t> shape(a.shape(), a.shape() + a.ndim());
  CArray<T> r(shape), l(shape);
  py::array_t<int> choice(d.batch_shape);
  std::vector<unsigned char> ws_bytes(static_cast<size_t>(expm_team_workspace_bytes<T>(n, mode != 0)) + 16);
  void* ws = ws_bytes.data() + (16 - reinterpret_cast<uintptr_t>(ws_bytes.data()) % 16) % 16;
  const T* pa = a.data();
  const T* pe = e.data();
  T* pr = r.mutable_data();
  T* pl = l.mutable_data();
  int* pc = choice.mutable_data();
  auto run = [&](const auto& team) {
    for (int64_t i = 0; i < b; ++i) {
      const T* ai = pa + i * nn;
      if (mode == 0) {
        expm_team(team, n, ai, static_cast<const T*>(nullptr), false, pr + i * nn, static_cast<T*>(nullptr), ws,
                  pc + i);
      } else {
        expm_team(team, n, ai, pe + i * nn, mode == 2, mode == 1 ? pr + i * nn : nullptr, pl + i * nn, ws, pc + i);
      }
    }
  };
  {
    py::gil_scoped_release release;
    run_team(threads, run);
  }
  if (mode == 0) return py::make_tuple(r, choice);
  if (mode == 1) return py::make_tuple(py::make_tuple(r, l), choice);
  return py::make_tuple(l, choice);
}

template <class T>
void bind_team(py::module_& m) {
  m.def("team_expm", &team_expm<T>, py::arg("a").noconvert(), py::arg("e").noconvert(), py::arg("mode"),
        py::arg("threads") = 1);
}

void register_team_hooks(py::module_& m) {
  bind_team<float>(m);
  bind_team<double>(m);
  bind_team<std::complex<float>>(m);
  bind_team<std::complex<double>>(m);
}

}  // namespace detexp
