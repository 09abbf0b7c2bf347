// log(m 2^e) for the log-determinants: a finite m > 0 of normal magnitude and an integer e (held in
// a double), to within one ulp; m Inf or NaN (an elimination that overflowed) comes back as it is,
// as log would give it. The reduction and minimax polynomial are fdlibm's __ieee754_log
// (e_log.c, Sun Microsystems 1993: m = 2^k (1 + f) with sqrt(2)/2 <= 1 + f < sqrt(2), s = f / (2 + f),
// log(1 + f) = 2s + s R(s^2)), with e added to its k: the scale costs no rounding of its own, where
// log(m) + e ln 2 rounds twice. k ln2_hi is exact while |k| < 2^21 (ln2_hi has 32 significant bits),
// i.e. |log det| < 1.4e6; beyond, within about one ulp (measured: <= 1.0 for |e| < 2^26).
//
// Written once over an Ops policy that supplies the bit casts and the select: ScalarLogOps below
// (per-matrix paths, CPU and GPU) and batch_lu.h's lanes::LogOps (one matrix per vector lane), so
// a matrix gets the same bits on either path.
#pragma once

#include <cstdint>
#include <cstring>

#include "scalar.h"

namespace detexp {

struct ScalarLogOps {
  using D = double;
  using I = std::int64_t;
  DETEXP_HD static I bits(D x) {
#if defined(__CUDA_ARCH__)
    return __double_as_longlong(x);
#else
    I b;
    std::memcpy(&b, &x, sizeof b);
    return b;
#endif
  }
  DETEXP_HD static D from_bits(I b) {
#if defined(__CUDA_ARCH__)
    return __longlong_as_double(b);
#else
    D x;
    std::memcpy(&x, &b, sizeof x);
    return x;
#endif
  }
  DETEXP_HD static D choose(bool c, D a, D b) { return c ? a : b; }
};

template <class Ops>
DETEXP_HD typename Ops::D log_scaled(typename Ops::D m, typename Ops::D e) {
  using D = typename Ops::D;
  using I = typename Ops::I;
  constexpr double ln2_hi = 6.93147180369123816490e-01;  // 3fe62e42 fee00000
  constexpr double ln2_lo = 1.90821492927058770002e-10;  // 3dea39ef 35793c76
  constexpr double lg1 = 6.666666666666735130e-01, lg2 = 3.999999999940941908e-01;
  constexpr double lg3 = 2.857142874366239149e-01, lg4 = 2.222219843214978396e-01;
  constexpr double lg5 = 1.818357216161805012e-01, lg6 = 1.531383769920937332e-01;
  constexpr double lg7 = 1.479819860511658591e-01;
  const I hx = Ops::bits(m);
  const I top = (hx >> 32) & 0xfffff;  // the high 20 bits of m's fraction
  // 0x100000 where 1.fraction >= sqrt(2): then 1 + f = 1.fraction / 2 and k one more.
  const I half = (top + 0x95f64) & 0x100000;
  const D x = Ops::from_bits((hx & 0x000fffffffffffffLL) | ((half ^ 0x3ff00000) << 32));
  // k + e exactly: the biased exponent field read as a double (2^52 + field, less 2^52).
  const D k = (Ops::from_bits(((hx >> 52) + (half >> 20)) | 0x4330000000000000LL) - 0x1p52) - 1023.0 + e;
  const D f = x - 1.0;
  const D s = f / (2.0 + f);
  const D z = s * s;
  const D w = z * z;
  const D t1 = w * (lg2 + w * (lg4 + w * lg6));
  const D t2 = z * (lg1 + w * (lg3 + w * (lg5 + w * lg7)));
  const D r = t2 + t1;
  const D hfsq = 0.5 * f * f;
  // fdlibm's two forms: f^2 / 2 split off where 1.fraction lies in [1.38, 1.42] (|f| largest).
  const I near_sqrt2 = (top - 0x6147a) | (0x6b851 - top);
  const D value = Ops::choose(near_sqrt2 > 0, k * ln2_hi - ((hfsq - (s * (hfsq + r) + k * ln2_lo)) - f),
                              k * ln2_hi - ((s * (f - r) - k * ln2_lo) - f));
  return Ops::choose(m - m == 0.0, value, m);
}

}  // namespace detexp
