#define DETEXP_INSTANCE_T float
#define DETEXP_INSTANCE_EXPM
#include "avx512_instantiate.h"
