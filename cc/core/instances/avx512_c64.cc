#define DETEXP_INSTANCE_T std::complex<float>
#include "avx512_instantiate.h"
