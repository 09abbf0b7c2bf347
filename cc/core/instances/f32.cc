#define DETEXP_INSTANCE_T float
#include "instantiate.h"
