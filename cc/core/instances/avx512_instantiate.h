// The AVX-512 copy of cc/core's entry points for one dtype and family (see instantiate.h and
// cc/core/avx512.h), compiled with AVX-512 flags (CMakeLists.txt). cc/core and Eigen are renamed
// for this translation unit alone; the functions declared by avx512.h forward to the renamed
// templates.
#define DETEXP_AVX512_BUILD  // before avx512.h: DETEXP_USE_AVX512 is empty in this copy
#include "cc/core/avx512.h"  // then, before the renaming: its declarations keep namespace detexp

#define Eigen detexp_eigen_avx512
#define detexp detexp_avx512_private
#include "instantiate.h"
#undef detexp

namespace detexp {
namespace avx512 {

namespace copy = ::detexp_avx512_private;
using T = DETEXP_INSTANCE_T;
using R = copy::real_t<T>;

#define DETEXP_AVX512_FORWARD(T, ret, name, params, args) \
  ret name params { return copy::name<T> args; }
DETEXP_INSTANCE_FAMILY_ENTRY_POINTS(DETEXP_AVX512_FORWARD, T, R)
#undef DETEXP_AVX512_FORWARD

}  // namespace avx512
}  // namespace detexp
