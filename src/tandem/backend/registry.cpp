// The backend table and the lookups on it (registry.h). This is the only place that lists the
// backends, so adding one is one line here.
#include "tandem/backend/registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tandem/backend/factories.h"
#include "tandem/core/error.h"

namespace tandem {

namespace {

bool always_available() {
  return true;
}

const BackendEntry kBackends[] = {
    {"cpu", "fp32 kernels on OpenMP threads, GEMM through OpenBLAS", make_cpu_backend,
     always_available},
    {"cuda", "NVIDIA GPU (device 0 of CUDA_VISIBLE_DEVICES), GEMM through cuBLAS",
     make_cuda_backend, cuda_backend_available},
};

// "a, b or c"; `last` joins the final pair.
std::string join_names(const char* last) {
  std::string out;
  const std::span<const BackendEntry> table = backend_table();
  for (size_t i = 0; i < table.size(); ++i) {
    if (i > 0) out += i + 1 == table.size() ? last : ", ";
    out += table[i].name;
  }
  return out;
}

}  // namespace

std::span<const BackendEntry> backend_table() {
  return kBackends;
}

std::unique_ptr<Backend> make_backend(const std::string& name) {
  for (const BackendEntry& e : backend_table())
    if (name == e.name) return e.make();
  fail("unknown backend '{}': expected one of {}", name, join_names(", "));
}

std::vector<std::string> available_backends() {
  std::vector<std::string> names;
  for (const BackendEntry& e : backend_table())
    if (e.available()) names.emplace_back(e.name);
  return names;
}

std::string backend_choices() {
  return join_names(" or ");
}

std::string describe_backends() {
  size_t width = 0;
  for (const BackendEntry& e : backend_table()) width = std::max(width, std::string(e.name).size());
  std::string out;
  for (const BackendEntry& e : backend_table())
    out += fmt::format("  {:<{}}  {}{}\n", e.name, width, e.description,
                       e.available() ? "" : " (not available here)");
  return out;
}

}  // namespace tandem
