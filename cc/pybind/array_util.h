// Checking and allocating [..., n, n] NumPy arrays for the pybind11 bindings.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "parallel.h"

#include <cstdint>
#include <utility>
#include <stdexcept>
#include <string>
#include <vector>

namespace detexp {

namespace py = pybind11;

template <class T>
using CArray = py::array_t<T, py::array::c_style | py::array::forcecast>;

struct BatchDims {
  std::vector<py::ssize_t> batch_shape;
  int64_t batch = 1;
  int n = 0;
};

inline std::string shape_string(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

// ValueError naming the shape unless `a` is [..., n, n].
inline BatchDims square_batch(const py::array& a, const char* what) {
  if (a.ndim() < 2 || a.shape(a.ndim() - 1) != a.shape(a.ndim() - 2)) {
    throw py::value_error(std::string(what) + " must be a batch of square matrices [..., n, n]; got shape " +
                          shape_string(a));
  }
  BatchDims d;
  d.n = static_cast<int>(a.shape(a.ndim() - 1));
  for (py::ssize_t i = 0; i + 2 < a.ndim(); ++i) {
    d.batch_shape.push_back(a.shape(i));
    d.batch *= a.shape(i);
  }
  return d;
}

template <class T>
CArray<T> empty_like_shape(std::vector<py::ssize_t> shape) {
  return CArray<T>(shape);
}

// out[b] = fn(a[b]) for every [n, n] slice, fn(in, n, out) called without the GIL over threads;
// `min_work` is the flops per thread below which the batch is not split further.
template <class T, class Fn>
CArray<T> map_matrices(const CArray<T>& a, const char* what, double min_work, Fn&& fn) {
  const BatchDims d = square_batch(a, what);
  CArray<T> out(std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim()));
  const int n = d.n;
  const int64_t nn = int64_t{n} * n;
  const T* in = a.data();
  T* o = out.mutable_data();
  {
    py::gil_scoped_release release;
    parallel_for(d.batch, min_chunk_for(n, min_work), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) fn(in + i * nn, n, o + i * nn);
    });
  }
  return out;
}

}  // namespace detexp
