// dx.numpy.slogdet / inverse / adjugate over cc/core, without TF. Arrays are C-contiguous
// row-major; like the TF kernels, each slice goes to cc/core as its (harmless) transpose.
#include <complex>

#include "array_util.h"
#include "cc/core/adjugate.h"
#include "cc/core/batch_lu.h"
#include "parallel.h"

namespace detexp {

template <class T>
py::tuple slogdet_np(const CArray<T>& a) {
  const BatchDims d = square_batch(a, "slogdet: input");
  CArray<T> sign(d.batch_shape);
  py::array_t<real_t<T>> lad(d.batch_shape);
  const int n = d.n;
  const int64_t nn = int64_t{n} * n;
  const T* in = a.data();
  T* s = sign.mutable_data();
  real_t<T>* l = lad.mutable_data();
  {
    py::gil_scoped_release release;
    parallel_for(d.batch, min_chunk_for(n), [&](int64_t begin, int64_t end) {
      slogdet_batch(in + begin * nn, end - begin, n, static_cast<T*>(nullptr), nullptr, s + begin, l + begin);
    });
  }
  return py::make_tuple(sign, lad);
}

template <class T>
CArray<T> adjugate_np(const CArray<T>& a) {
  return map_matrices(a, "adjugate: input", 2e4, [](const T* in, int n, T* out) { adjugate(in, n, out); });
}

template <class T>
void bind_slogdet_dtype(py::module_& m) {
  m.def("slogdet", &slogdet_np<T>, py::arg("a").noconvert());
  m.def("adjugate", &adjugate_np<T>, py::arg("a").noconvert());
}

void register_slogdet(py::module_& m) {
  bind_slogdet_dtype<float>(m);
  bind_slogdet_dtype<double>(m);
  bind_slogdet_dtype<std::complex<float>>(m);
  bind_slogdet_dtype<std::complex<double>>(m);
}

}  // namespace detexp
