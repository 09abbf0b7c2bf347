#define DETEXP_INSTANCE_T std::complex<double>
#include "instantiate.h"
