// The run-time check of avx512.h (compiled for the AVX baseline: safe to call on any CPU).
#include "avx512.h"

#include <cstdlib>
#include <cstring>

namespace detexp {
namespace avx512 {

bool available() {
  static const bool ok = [] {
    const char* choice = std::getenv("DETEXP_AVX512");
    if (choice != nullptr && std::strcmp(choice, "0") == 0) return false;
    // libgcc's checks include the OS's XSAVE support of the AVX-512 state (XGETBV).
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("fma") && __builtin_cpu_supports("avx2");
  }();
  return ok;
}

}  // namespace avx512
}  // namespace detexp
