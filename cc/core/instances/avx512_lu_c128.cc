#define DETEXP_INSTANCE_T std::complex<double>
#define DETEXP_INSTANCE_LU
#include "avx512_instantiate.h"
