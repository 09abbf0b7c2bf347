#define DETEXP_INSTANCE_T std::complex<float>
#define DETEXP_INSTANCE_EXPM_MULTIPLY
#include "avx512_instantiate.h"
