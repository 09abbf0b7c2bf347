// dx.numpy.expm_multiply over cc/core/expm_multiply.h, without TF: a [..., n, n], b [..., n, k]
// (the same batch dimensions) and t [...] of one dtype, C-contiguous row-major (python/detexp/numpy.py
// promotes dtypes, broadcasts and handles a 1-D b). Matrices are split over threads; a batch with
// fewer matrices than threads spreads each matrix's products over threads instead.
#include <algorithm>
#include <complex>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "array_util.h"
#include "cc/core/expm_multiply.h"
#include "parallel.h"

namespace detexp {

namespace {

// Checks a, b and t; returns a's batch dims and k.
template <class T>
BatchDims expm_multiply_dims(const CArray<T>& a, const CArray<T>& b, const CArray<T>& t, int* k) {
  const BatchDims d = square_batch(a, "expm_multiply: a");
  bool ok = b.ndim() == a.ndim() && b.shape(b.ndim() - 2) == d.n;
  for (py::ssize_t i = 0; ok && i + 2 < a.ndim(); ++i) ok = b.shape(i) == a.shape(i);
  if (!ok) {
    throw py::value_error("expm_multiply: b must be [..., n, k] with the batch dimensions and n of a " +
                          shape_string(a) + "; got shape " + shape_string(b));
  }
  if (t.ndim() != static_cast<py::ssize_t>(d.batch_shape.size()) ||
      !std::equal(d.batch_shape.begin(), d.batch_shape.end(), t.shape())) {
    throw py::value_error("expm_multiply: t must have a's batch shape; got " + shape_string(t));
  }
  *k = static_cast<int>(b.shape(b.ndim() - 1));
  return d;
}

// Products split over std::threads (expm_multiply.h offers only those large enough to pay for it).
const ParallelBlocks& thread_blocks() {
  static const ParallelBlocks blocks = [](std::int64_t count, std::int64_t,
                                          const std::function<void(std::int64_t, std::int64_t)>& fn) {
    parallel_for(count, 1, [&fn](std::int64_t b, std::int64_t e) { fn(b, e); });
  };
  return blocks;
}

bool few_matrices(std::int64_t batch) {
  return batch < static_cast<std::int64_t>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace

template <class T>
CArray<T> expm_multiply_np(const CArray<T>& a, const CArray<T>& b, const CArray<T>& t) {
  int k = 0;
  const BatchDims d = expm_multiply_dims(a, b, t, &k);
  CArray<T> f(std::vector<py::ssize_t>(b.shape(), b.shape() + b.ndim()));
  const int n = d.n;
  const std::int64_t nn = std::int64_t{n} * n, nk = std::int64_t{n} * k;
  const T *pa = a.data(), *pb = b.data(), *pt = t.data();
  T* pf = f.mutable_data();
  {
    py::gil_scoped_release release;
    const ParallelBlocks* par = few_matrices(d.batch) ? &thread_blocks() : nullptr;
    parallel_for(d.batch, par ? d.batch : min_chunk_for(n, 2e4), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        expm_multiply_matrix(pa + i * nn, pb + i * nk, pt[i], n, k, expm_multiply::kChoiceNone, pf + i * nk, par);
      }
    });
  }
  return f;
}

template <class T>
void bind_expm_multiply_dtype(py::module_& m) {
  m.def("expm_multiply", &expm_multiply_np<T>, py::arg("a").noconvert(), py::arg("b").noconvert(),
        py::arg("t").noconvert());
}

void register_expm_multiply(py::module_& m) {
  bind_expm_multiply_dtype<float>(m);
  bind_expm_multiply_dtype<double>(m);
  bind_expm_multiply_dtype<std::complex<float>>(m);
  bind_expm_multiply_dtype<std::complex<double>>(m);
}

}  // namespace detexp
