// Host-compiled half of the CUDA backend's error plumbing (see cuda_error.h for why).
#include "tandem/backend/cuda/cuda_error.h"

#include "tandem/core/error.h"

namespace tandem::cuda {

void fail_api(const char* op, const char* call, const char* error_name, const char* error_text,
              const char* file, int line) {
  fail("[{}] cuda: {} failed: {} ({}) at {}:{}", op, call, error_name, error_text, file, line);
}

// Same "[op] message" shape as every backend, so callers and tests match errors by op name.
void fail_arg(const char* op, const std::string& message) {
  fail("[{}] {}", op, message);
}

}  // namespace tandem::cuda
