#include "tandem/backend/factories.h"
#include "tandem/core/error.h"

namespace tandem {

std::unique_ptr<Backend> make_backend(const std::string& name) {
  if (name == "cpu") return make_cpu_backend();
  if (name == "cuda") return make_cuda_backend();
  fail("unknown backend '{}': expected one of cpu, cuda", name);
}

std::vector<std::string> available_backends() {
  std::vector<std::string> names = {"cpu"};
  if (cuda_backend_available()) names.push_back("cuda");
  return names;
}

}  // namespace tandem
