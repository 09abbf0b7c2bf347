#define DETEXP_INSTANCE_T float
#define DETEXP_INSTANCE_LU
#include "avx512_instantiate.h"
