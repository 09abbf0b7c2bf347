// Test hooks over the per-matrix __host__ __device__ templates of cc/core/small_lu.h, exactly as
// the CUDA kernels instantiate them (fixed N = 1..8 with register-friendly select swaps, and the
// run-time-n variant), so CI checks the GPU's per-matrix math on the CPU against NumPy.
// Not public API: reached as detexp._detexp_numpy._core_* by tests/test_core_shared.py.
#include <algorithm>
#include <complex>
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

// The team algorithm of cc/core/small_expm.h (what the CUDA expm kernels run) on one thread:
// mode 0 exp(a); 1 (exp(a), L(a, e)); 2 L(a^H, e), expm's backward. Row-major slices are passed
// as they are (see small_expm.h on transposition).
template <class T>
py::object core_small_expm(const CArray<T>& a, const CArray<T>& e, int mode) {
  const BatchDims d = square_batch(a, "_core_small_expm: a");
  if (mode != 0 && (e.ndim() != a.ndim() || !std::equal(a.shape(), a.shape() + a.ndim(), e.shape()))) {
    throw py::value_error("_core_small_expm: a and e must have the same shape");
  }
  const int n = d.n;
  const int64_t nn = int64_t{n} * n, b = d.batch;
  std::vector<py::ssize_t> shape(a.shape(), a.shape() + a.ndim());
  CArray<T> r(shape), l(shape);
  std::vector<unsigned char> ws_bytes(static_cast<size_t>(expm_team_workspace_bytes<T>(n, mode != 0)) + 16);
  void* ws = ws_bytes.data() + (16 - reinterpret_cast<uintptr_t>(ws_bytes.data()) % 16) % 16;
  const SerialTeam team;
  for (int64_t i = 0; i < b; ++i) {
    const T* ai = a.data() + i * nn;
    T* ri = r.mutable_data() + i * nn;
    T* li = l.mutable_data() + i * nn;
    if (mode == 0) {
      expm_team(team, n, ai, static_cast<const T*>(nullptr), false, ri, static_cast<T*>(nullptr), ws);
    } else {
      expm_team(team, n, ai, e.data() + i * nn, mode == 2, mode == 1 ? ri : nullptr, li, ws);
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
        py::arg("mode"));
}

void register_core_test(py::module_& m) {
  bind_core_dtype<float>(m);
  bind_core_dtype<double>(m);
  bind_core_dtype<std::complex<float>>(m);
  bind_core_dtype<std::complex<double>>(m);
}

}  // namespace detexp
