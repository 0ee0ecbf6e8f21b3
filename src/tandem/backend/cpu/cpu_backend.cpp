// placeholder, replaced by the CPU backend implementation
#include "tandem/backend/factories.h"
#include "tandem/core/error.h"
namespace tandem {
std::unique_ptr<Backend> make_cpu_backend() { fail("cpu backend not yet built"); }
}  // namespace tandem
