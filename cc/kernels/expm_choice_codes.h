// The check of ExpmGrad's choice codes, framework-free: one scan and one message for the TF
// kernels (expm_choice.h) and the XLA handlers (cc/xla/expm_ffi.cc).
#pragma once

#include <cstdint>
#include <string>

#include "cc/core/expm_coefficients.h"

namespace detexp {

// The index of the first of `count` choice codes that expm could not have produced for precision R
// (expm_choice_valid), or -1: a wrong (m, s) would silently give the derivative of another
// approximant. With expm_choice_error, the one check of ExpmGrad's choice for both runtimes.
template <class R>
int64_t first_invalid_expm_choice(const int* choice, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    if (!expm_choice_valid<R>(choice[i])) return i;
  }
  return -1;
}

inline std::string expm_choice_error(int64_t index, int code) {
  return "expm_grad: choice[" + std::to_string(index) + "] = " + std::to_string(code) +
         " is not a degree and squaring count that expm chooses (m + 256 s, or -1 to select again)";
}

}  // namespace detexp
