// Checking and allocating [..., n, n] NumPy arrays for the pybind11 bindings.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
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

}  // namespace detexp
