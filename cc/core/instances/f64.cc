#define DETEXP_INSTANCE_T double
#include "instantiate.h"
