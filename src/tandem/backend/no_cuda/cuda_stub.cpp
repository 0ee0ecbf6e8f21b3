// Stands in for backend/cuda/ when this build has no CUDA compiler.
#include "tandem/backend/factories.h"
#include "tandem/core/error.h"

namespace tandem {

std::unique_ptr<Backend> make_cuda_backend() {
  fail("backend 'cuda' is not built in this binary (configure with a CUDA toolkit, TANDEM_CUDA=ON)");
}
bool cuda_backend_available() { return false; }

}  // namespace tandem
