#define DETEXP_INSTANCE_T std::complex<double>
#define DETEXP_INSTANCE_LU
#include "instantiate.h"
