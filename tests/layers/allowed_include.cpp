// The control for upward_include.cpp: the same include root, headers of model/ and below.
#include "tandem/backend/backend.h"
#include "tandem/model/weights.h"
