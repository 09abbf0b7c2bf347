// Test hooks over the per-matrix __host__ __device__ templates of cc/core/small_lu.h, exactly as
// the CUDA kernels instantiate them (fixed N = 1..8 with register-friendly select swaps, and the
// run-time-n variant), so CI checks the GPU's per-matrix math on the CPU against NumPy.
// Not public API: reached as detexp._detexp_numpy._core_* by tests/test_core_shared.py.
#include <algorithm>
#include <complex>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "array_util.h"
#include "cc/core/small_expm.h"
#include "cc/core/small_lu.h"

namespace detexp {

template <int N, class T, bool kSelect>
int factor_fixed(T* a, int* perm) {
  return lu_factor_small<N, T, kSelect>(a, N, perm);
}

template <class T, bool kSelect>
int factor_dispatch(T* a, int n, int* perm, bool fixed) {
  if (fixed) {
    switch (n) {
      case 1: return factor_fixed<1, T, kSelect>(a, perm);
      case 2: return factor_fixed<2, T, kSelect>(a, perm);
      case 3: return factor_fixed<3, T, kSelect>(a, perm);
      case 4: return factor_fixed<4, T, kSelect>(a, perm);
      case 5: return factor_fixed<5, T, kSelect>(a, perm);
      case 6: return factor_fixed<6, T, kSelect>(a, perm);
      case 7: return factor_fixed<7, T, kSelect>(a, perm);
      case 8: return factor_fixed<8, T, kSelect>(a, perm);
      default: throw py::value_error("fixed-size templates cover n = 1..8");
    }
  }
  return lu_factor_small<0, T, kSelect>(a, n, perm);
}

template <int N, class T>
void inverse_fixed(const T* lu, const int* perm, T* inv) {
  inverse_from_lu_small<N>(lu, perm, N, inv);
}

template <class T>
void inverse_dispatch(const T* lu, const int* perm, int n, T* inv, bool fixed) {
  if (fixed) {
    switch (n) {
      case 1: return inverse_fixed<1>(lu, perm, inv);
      case 2: return inverse_fixed<2>(lu, perm, inv);
      case 3: return inverse_fixed<3>(lu, perm, inv);
      case 4: return inverse_fixed<4>(lu, perm, inv);
      case 5: return inverse_fixed<5>(lu, perm, inv);
      case 6: return inverse_fixed<6>(lu, perm, inv);
      case 7: return inverse_fixed<7>(lu, perm, inv);
      case 8: return inverse_fixed<8>(lu, perm, inv);
      default: throw py::value_error("fixed-size templates cover n = 1..8");
    }
  }
  inverse_from_lu_small<0>(lu, perm, n, inv);
}

// [b, n, n] -> (lu [b, n, n], perm [b, n], parity [b], sign [b], logabsdet [b], inverse [b, n, n]).
// As in the kernels, each row-major slice is factored as a column-major matrix (its transpose).
// The sign comes from the parity counted during elimination (the GPU path) and is checked here
// against the cycle-count parity of perm (the CPU path).
template <class T>
py::tuple core_lu(const CArray<T>& a, bool fixed, bool select_swap) {
  const BatchDims d = square_batch(a, "_core_lu: input");
  const int n = d.n;
  const int64_t nn = int64_t{n} * n, b = d.batch;
  CArray<T> lu({b, int64_t{n}, int64_t{n}}), inv({b, int64_t{n}, int64_t{n}}), sign({b});
  py::array_t<int> perm({b, int64_t{n}}), parity({b});
  py::array_t<real_t<T>> lad({b});
  std::copy(a.data(), a.data() + b * nn, lu.mutable_data());
  for (int64_t i = 0; i < b; ++i) {
    T* f = lu.mutable_data() + i * nn;
    int* p = perm.mutable_data() + i * n;
    const bool finite = all_finite(f, nn);
    const int par = select_swap ? factor_dispatch<T, true>(f, n, p, fixed)
                                : factor_dispatch<T, false>(f, n, p, fixed);
    std::vector<int> scratch(p, p + n);
    if (n > 0 && par != permutation_parity(scratch.data(), n)) {
      throw std::runtime_error("parity counted during elimination disagrees with perm");
    }
    const SlogdetValue<T> v = fixed ? (n == 4 ? slogdet_from_parity<4>(f, par, n, finite)
                                              : slogdet_from_parity<0>(f, par, n, finite))
                                    : slogdet_from_lu(f, scratch.data(), n, finite);
    parity.mutable_data()[i] = par;
    sign.mutable_data()[i] = v.sign;
    lad.mutable_data()[i] = v.logabsdet;
    inverse_dispatch(f, p, n, inv.mutable_data() + i * nn, fixed);
  }
  return py::make_tuple(lu, perm, parity, sign, lad, inv);
}

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
// block teams (cuda/expm_kernels.cu), so CI exercises the team decomposition — every member's
// share of each loop, every barrier — on the CPU. max() goes through a shared array between two
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
    for (int i = 1; i < s; ++i) x = small_expm::nan_max(x, red[i]);
    barrier->wait();
    return static_cast<V>(x);
  }
};

// The team algorithm of cc/core/small_expm.h (what the CUDA expm kernels run) on the CPU, by one
// thread (threads = 1) or by a team of `threads` OS threads: mode 0 exp(a); 1 (exp(a), L(a, e));
// 2 L(a^H, e), expm's backward. Row-major slices are passed as they are (see small_expm.h).
template <class T>
py::object core_small_expm(const CArray<T>& a, const CArray<T>& e, int mode, int threads) {
  const BatchDims d = square_batch(a, "_core_small_expm: a");
  if (mode != 0 && (e.ndim() != a.ndim() || !std::equal(a.shape(), a.shape() + a.ndim(), e.shape()))) {
    throw py::value_error("_core_small_expm: a and e must have the same shape");
  }
  if (threads < 1 || threads > 64) throw py::value_error("_core_small_expm: threads must be in 1..64");
  const int n = d.n;
  const int64_t nn = int64_t{n} * n, b = d.batch;
  std::vector<py::ssize_t> shape(a.shape(), a.shape() + a.ndim());
  CArray<T> r(shape), l(shape);
  std::vector<unsigned char> ws_bytes(static_cast<size_t>(expm_team_workspace_bytes<T>(n, mode != 0)) + 16);
  void* ws = ws_bytes.data() + (16 - reinterpret_cast<uintptr_t>(ws_bytes.data()) % 16) % 16;
  const T* pa = a.data();
  const T* pe = e.data();
  T* pr = r.mutable_data();
  T* pl = l.mutable_data();
  auto run = [&](const auto& team) {
    for (int64_t i = 0; i < b; ++i) {
      const T* ai = pa + i * nn;
      if (mode == 0) {
        expm_team(team, n, ai, static_cast<const T*>(nullptr), false, pr + i * nn, static_cast<T*>(nullptr), ws);
      } else {
        expm_team(team, n, ai, pe + i * nn, mode == 2, mode == 1 ? pr + i * nn : nullptr, pl + i * nn, ws);
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
  if (mode == 0) return r;
  if (mode == 1) return py::make_tuple(r, l);
  return l;
}

template <class T>
void bind_core_dtype(py::module_& m) {
  m.def("_core_lu", &core_lu<T>, py::arg("a").noconvert(), py::arg("fixed"), py::arg("select_swap"));
  m.def("_core_small_expm", &core_small_expm<T>, py::arg("a").noconvert(), py::arg("e").noconvert(),
        py::arg("mode"), py::arg("threads") = 1);
}

void register_core_test(py::module_& m) {
  bind_core_dtype<float>(m);
  bind_core_dtype<double>(m);
  bind_core_dtype<std::complex<float>>(m);
  bind_core_dtype<std::complex<double>>(m);
}

}  // namespace detexp
