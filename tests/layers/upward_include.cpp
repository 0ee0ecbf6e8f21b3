// Compiled by tests/layers with the model layer's include root: model/ may not see train/, so
// this must fail to compile. If it compiles, the layer rule is no longer enforced.
#include "tandem/model/weights.h"
#include "tandem/train/trainer.h"
