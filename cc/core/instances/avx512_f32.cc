#define DETEXP_INSTANCE_T float
#include "avx512_instantiate.h"
