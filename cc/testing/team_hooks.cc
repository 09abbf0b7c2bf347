// Test hook over cc/core/small_expm.h's expm_team (what the GPU's fused expm kernels run), by one
// CPU thread or by a team of OS threads with the GPU teams' work split and barriers:
// _detexp_testing.team_expm, tests/test_core_small_expm.py.
#include <algorithm>
#include <complex>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "cc/core/small_expm.h"
#include "cc/pybind/array_util.h"

namespace detexp {

// A reusable barrier for the CPU emulation of a GPU team (C++17 has no std::barrier).
class CpuBarrier {
 public:
  explicit CpuBarrier(int count) : count_(count) {}
  void wait() {
    std::unique_lock<std::mutex> lock(m_);
    const long gen = gen_;
    if (++waiting_ == count_) {
      waiting_ = 0;
      ++gen_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return gen_ != gen; });
    }
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  int count_, waiting_ = 0;
  long gen_ = 0;
};

// `size` OS threads as one team: the same interface and the same work split as the GPU's warp and
// block teams (cuda/expm_teams.h), so CI exercises the team decomposition — every member's share
// of each loop, every barrier — on the CPU. max() goes through a shared array between two
// barriers, like BlockTeam's.
struct ThreadTeam {
  int r, s;
  CpuBarrier* barrier;
  double* red;
  int rank() const { return r; }
  int size() const { return s; }
  void sync() const { barrier->wait(); }
  template <class V>
  V max(V v) const {
    red[r] = static_cast<double>(v);
    barrier->wait();
    double x = red[0];
    for (int i = 1; i < s; ++i) x = nan_max(x, red[i]);
    barrier->wait();
    return static_cast<V>(x);
  }
};

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
    if (threads == 1) {
      run(SerialTeam());
    } else {
      CpuBarrier barrier(threads);
      std::vector<double> red(threads);
      std::vector<std::thread> pool;
      for (int t = 1; t < threads; ++t) pool.emplace_back([&, t] { run(ThreadTeam{t, threads, &barrier, red.data()}); });
      run(ThreadTeam{0, threads, &barrier, red.data()});
      for (auto& th : pool) th.join();
    }
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
