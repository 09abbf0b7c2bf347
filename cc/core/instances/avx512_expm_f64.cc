#define DETEXP_INSTANCE_T double
#define DETEXP_INSTANCE_EXPM
#include "avx512_instantiate.h"
