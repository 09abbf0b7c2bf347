#define DETEXP_INSTANCE_T std::complex<float>
#include "instantiate.h"
