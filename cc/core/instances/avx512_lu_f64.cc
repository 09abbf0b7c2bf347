#define DETEXP_INSTANCE_T double
#define DETEXP_INSTANCE_LU
#include "avx512_instantiate.h"
