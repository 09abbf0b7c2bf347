// What every detexp FFI handler (CPU and GPU) does with its buffers: the host type of a buffer's
// dtype, the batch and n of a [..., n, n] buffer, typed pointers. The lowering (lowering.h) has
// checked every shape when the computation was built, so handlers only read them.
#pragma once

#include <complex>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "xla/ffi/api/ffi.h"

namespace detexp {
namespace xla_ffi {

namespace ffi = ::xla::ffi;

// A [..., n, n] buffer as `batch` matrices of n x n (batch = 1 for a single matrix).
struct Matrices {
  int64_t batch = 1;
  int n = 0;
};

inline Matrices MatricesOf(const ffi::AnyBuffer& a) {
  const auto dims = a.dimensions();
  Matrices m;
  m.n = static_cast<int>(dims[dims.size() - 1]);
  for (size_t i = 0; i + 2 < dims.size(); ++i) m.batch *= dims[i];
  return m;
}

// The last dimension of a buffer (k of expm_multiply's b [..., n, k]).
inline int ColumnsOf(const ffi::AnyBuffer& b) {
  const auto dims = b.dimensions();
  return static_cast<int>(dims[dims.size() - 1]);
}

template <class T>
T* Data(const ffi::AnyBuffer& b) {
  return static_cast<T*>(b.untyped_data());
}

// fn(T{}) for the host type T of the matrices' dtype (float, double, std::complex<float|double>):
// one handler serves the four dtypes the ops accept.
template <class Fn>
ffi::Error ForDtype(ffi::DataType dtype, const char* target, Fn&& fn) {
  switch (dtype) {
    case ffi::DataType::F32: return fn(float{});
    case ffi::DataType::F64: return fn(double{});
    case ffi::DataType::C64: return fn(std::complex<float>{});
    case ffi::DataType::C128: return fn(std::complex<double>{});
    default:
      return ffi::Error::InvalidArgument(std::string(target) + ": unsupported element type " +
                                         std::to_string(static_cast<int>(dtype)));
  }
}

// The binding `b` (its context parameters) followed by kArgs buffer arguments and kRets buffer
// results, the signature of every handler here (HostBinding, CudaBinding). Each step returns the
// next binding as a prvalue (bindings cannot be moved by others than their own kind).
template <int kArgs, int kRets, class B>
auto WithBuffers(B&& b) {
  static_assert(kArgs >= 0 && kRets >= 0 && kArgs + kRets > 0, "a handler has buffers");
  if constexpr (kArgs > 0 && kArgs + kRets == 1) {
    return std::move(b).template Arg<ffi::AnyBuffer>();
  } else if constexpr (kArgs > 0) {
    return WithBuffers<kArgs - 1, kRets>(std::move(b).template Arg<ffi::AnyBuffer>());
  } else if constexpr (kRets == 1) {
    return std::move(b).template Ret<ffi::AnyBuffer>();
  } else {
    return WithBuffers<0, kRets - 1>(std::move(b).template Ret<ffi::AnyBuffer>());
  }
}

// detexp_slogdet's results after sign and logabsdet: the LU factors, where the lowering asked for them.
using OptionalBuffer = std::optional<ffi::Result<ffi::AnyBuffer>>;

}  // namespace xla_ffi
}  // namespace detexp
