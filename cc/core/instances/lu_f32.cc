#define DETEXP_INSTANCE_T float
#define DETEXP_INSTANCE_LU
#include "instantiate.h"
