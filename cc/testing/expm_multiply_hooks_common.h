// Shared pieces of the expm_multiply test hooks (expm_multiply_team_hooks.cc,
// expm_multiply_device_hooks.cc): the CPU's dense ratio as a plan, and the shapes they take.
#pragma once

#include <cstdint>
#include <string>

#include "cc/core/cpu_plan.h"
#include "cc/pybind/array_util.h"

namespace detexp {
namespace expm_multiply_hooks {

// The CPU op's dense ratio as a backend plan: with it a GPU backend must choose the CPU's codes.
struct CpuDenseRatio {
  template <class T>
  static constexpr double kDenseRatio = cpu_plan::kExpmMultiplyDenseRatio<T>;
};

// a [B, n, n], b [B, n, k], t [B] (the shapes the ops hand to the kernels), else ValueError.
template <class T>
void check_shapes(const char* what, const CArray<T>& a, const CArray<T>& b, const CArray<T>& t, int* n, int* k,
                  int64_t* batch) {
  if (a.ndim() != 3 || a.shape(1) != a.shape(2) || b.ndim() != 3 || b.shape(0) != a.shape(0) ||
      b.shape(1) != a.shape(1) || t.ndim() != 1 || t.shape(0) != a.shape(0)) {
    throw py::value_error(std::string(what) + ": a [B, n, n], b [B, n, k], t [B]; got " + shape_string(a) + ", " +
                          shape_string(b) + ", " + shape_string(t));
  }
  *batch = a.shape(0);
  *n = static_cast<int>(a.shape(1));
  *k = static_cast<int>(b.shape(2));
}

}  // namespace expm_multiply_hooks
}  // namespace detexp
