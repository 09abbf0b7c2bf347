#define DETEXP_INSTANCE_T std::complex<double>
#include "avx512_instantiate.h"
