// The work of a CPU kernel over a range of its batch, written once for both runtimes that shard it:
// the TF OpKernels (cc/kernels/*.cc, over TF's intra-op pool: ForEachMatrix in batch_util.h) and
// the XLA custom-call handlers (cc/xla/*_ffi.cc, over the pool XLA's FFI hands over:
// ForEachMatrix in cc/xla/ffi_parallel.h). Framework-free: no TF or XLA headers.
//
// A Work is a struct of the kernel's pointers and n with
//   int64_t cost() const                            cycles per matrix, for the sharder
//   void operator()(int64_t begin, int64_t end) const   matrices [begin, end) of the batch
// (slogdet_work.h, expm_work.h), so both runtimes call cc/core on the same slices.
#pragma once

#include <cstdint>

namespace detexp {

// A rough per-matrix cost in cycles for an O(n^3) factorization, for the sharder.
inline int64_t CubicCost(int n) {
  const int64_t m = n;
  return 16 + 2 * m * m * m;
}

}  // namespace detexp
