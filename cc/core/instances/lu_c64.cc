#define DETEXP_INSTANCE_T std::complex<float>
#define DETEXP_INSTANCE_LU
#include "instantiate.h"
