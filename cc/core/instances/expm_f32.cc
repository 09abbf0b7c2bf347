#define DETEXP_INSTANCE_T float
#define DETEXP_INSTANCE_EXPM
#include "instantiate.h"
