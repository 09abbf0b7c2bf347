// Test hook over the per-matrix __host__ __device__ templates of cc/core/small_lu.h, exactly as
// the CUDA kernels instantiate them (fixed N = 1..8 with register-friendly select swaps, and the
// run-time-n variant): _detexp_testing.lu, tests/test_core_shared.py.
#include <algorithm>
#include <complex>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "cc/core/small_lu.h"
#include "cc/pybind/array_util.h"

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
  const BatchDims d = square_batch(a, "lu: input");
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

template <class T>
void bind_lu(py::module_& m) {
  m.def("lu", &core_lu<T>, py::arg("a").noconvert(), py::arg("fixed"), py::arg("select_swap"));
}

void register_lu_hooks(py::module_& m) {
  bind_lu<float>(m);
  bind_lu<double>(m);
  bind_lu<std::complex<float>>(m);
  bind_lu<std::complex<double>>(m);
}

}  // namespace detexp
