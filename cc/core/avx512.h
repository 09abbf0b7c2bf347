// The cc/core entry points compiled a second time for AVX-512 and chosen at run time.
//
// The build targets AVX (TF's own baseline): 8-wide float32 without FMA. On a CPU with AVX-512
// every entry point of cc/core/instances/instantiate.h is also compiled with AVX-512, AVX2 and
// FMA (cc/core/instances/avx512_*.cc: a private copy of cc/core and Eigen under other namespace
// names, so nothing instantiated there can stand in for the AVX build's at link time). The
// AVX build's entry points hand over to that copy first thing (DETEXP_USE_AVX512), so a call runs
// wholly in one copy. Compiled without contracting our multiply-adds (CMakeLists.txt): the real
// log-determinant family gives the same bits either way; Eigen's packet math fuses on its own.
// Measured against the AVX build:
//   - Eigen GEMM (expm's products for n > 16), n = 32..256, one thread of a 2-core Xeon: 2-3x.
//   - the lanes slogdet of batch_lu.h, float32, one thread of a 2-core EPYC: 15-25% (vpternlog
//     for the and/andnot/or selects, fewer instructions per step).
//   - python -m detexp.bench on that EPYC: expm geomean vs tf.linalg, forward 3.2 -> 3.8x,
//     forward+backward 3.5 -> 4.4x.
#pragma once

#include "entry_points.h"

namespace detexp {
namespace avx512 {

// True when the CPU and OS support AVX-512 F/DQ/VL/BW, AVX2 and FMA, unless the environment
// variable DETEXP_AVX512=0 turns the AVX-512 copy off (read once).
bool available();

// The entry points of cc/core (entry_points.h; same contracts as the templates of the same
// names), as overloads.
#define DETEXP_AVX512_DECLARE_ENTRY_POINT(T, ret, name, params, args) ret name params;
#define DETEXP_AVX512_DECLARE(T, R) DETEXP_CORE_ENTRY_POINTS(DETEXP_AVX512_DECLARE_ENTRY_POINT, T, R)
DETEXP_CORE_FOR_EACH_DTYPE(DETEXP_AVX512_DECLARE)
#undef DETEXP_AVX512_DECLARE
#undef DETEXP_AVX512_DECLARE_ENTRY_POINT

}  // namespace avx512
}  // namespace detexp

// First statement of an entry point of the AVX build: `DETEXP_USE_AVX512(f(args));` returns
// avx512::f(args) where available(). Empty inside the AVX-512 copy (DETEXP_AVX512_BUILD).
#ifdef DETEXP_AVX512_BUILD
#define DETEXP_USE_AVX512(call)
#else
#define DETEXP_USE_AVX512(call) \
  if (::detexp::avx512::available()) return ::detexp::avx512::call
#endif
