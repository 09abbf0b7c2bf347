#define DETEXP_INSTANCE_T double
#include "avx512_instantiate.h"
