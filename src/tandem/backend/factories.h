#pragma once
// Constructors of the device backends, one per folder, each named by one line of the table in
// registry.cpp. The no_cuda/ stub stands in for cuda/ when CMake does not build it, so the
// registry never needs an #ifdef.
#include <memory>

#include "tandem/backend/backend.h"

namespace tandem {

std::unique_ptr<Backend> make_cpu_backend();
// Throws tandem::Error when CUDA is not built or no GPU is visible.
std::unique_ptr<Backend> make_cuda_backend();
bool cuda_backend_available();

}  // namespace tandem
