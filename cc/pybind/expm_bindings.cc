// dx.numpy.expm / expm_frechet over cc/core, without TF. Arrays are C-contiguous row-major; each
// slice goes to cc/core as its transpose, which commutes with expm and the Fréchet derivative
// (cc/core/expm.h), so no copies are needed.
#include <complex>
#include <string>
#include <vector>

#include "array_util.h"
#include "cc/core/expm.h"
#include "parallel.h"

namespace detexp {

template <class T>
CArray<T> expm_np(const CArray<T>& a) {
  return map_matrices(a, "expm: input", 2e4, [](const T* in, int n, T* out) { expm_matrix(in, n, out, nullptr); });
}

template <class T>
py::object expm_frechet_np(const CArray<T>& a, const CArray<T>& e, bool compute_expm) {
  const BatchDims d = square_batch(a, "expm_frechet: a");
  if (a.ndim() != e.ndim() || !std::equal(a.shape(), a.shape() + a.ndim(), e.shape())) {
    throw py::value_error("expm_frechet: a and e must have the same shape; got " + shape_string(a) +
                          " and " + shape_string(e));
  }
  std::vector<py::ssize_t> shape(a.shape(), a.shape() + a.ndim());
  CArray<T> r(compute_expm ? shape : std::vector<py::ssize_t>{0});
  CArray<T> l(shape);
  const int n = d.n;
  const int64_t nn = int64_t{n} * n;
  const T* pa = a.data();
  const T* pe = e.data();
  T* pr = compute_expm ? r.mutable_data() : nullptr;
  T* pl = l.mutable_data();
  {
    py::gil_scoped_release release;
    parallel_for(d.batch, min_chunk_for(n, 1e4), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        expm_frechet_matrix(pa + i * nn, pe + i * nn, n, pr ? pr + i * nn : nullptr, pl + i * nn);
      }
    });
  }
  if (compute_expm) return py::make_tuple(r, l);
  return l;
}

template <class T>
void bind_expm_dtype(py::module_& m) {
  m.def("expm", &expm_np<T>, py::arg("a").noconvert());
  m.def("expm_frechet", &expm_frechet_np<T>, py::arg("a").noconvert(), py::arg("e").noconvert(),
        py::arg("compute_expm") = true);
}

void register_expm(py::module_& m) {
  bind_expm_dtype<float>(m);
  bind_expm_dtype<double>(m);
  bind_expm_dtype<std::complex<float>>(m);
  bind_expm_dtype<std::complex<double>>(m);
}

}  // namespace detexp
