#define DETEXP_INSTANCE_T double
#define DETEXP_INSTANCE_LU
#include "instantiate.h"
