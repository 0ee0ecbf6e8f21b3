#pragma once
// The table of device backends that make_backend(), available_backends(), backend_choices() and
// the conformance suite read. Bringing up a chip: a folder backend/<chip>/ defining its factory
// and availability check (declared in factories.h), one line of the table in registry.cpp, and a
// CMake switch that builds the folder or a no_<chip>/ stub.
#include <memory>
#include <span>
#include <string>

#include "tandem/backend/backend.h"

namespace tandem {

struct BackendEntry {
  const char* name;         // what --backend takes: "cuda"
  const char* description;  // one line for help texts
  // Constructs the backend; when it is not available here, throws tandem::Error saying why
  // (not built into this binary, no device, no driver).
  std::unique_ptr<Backend> (*make)();
  // Whether make() would succeed on this machine; cheap after the first call.
  bool (*available)();
};

// Every known backend, built or not, in the order help texts and available_backends() list them.
std::span<const BackendEntry> backend_table();

// One line per known backend: name, description, and whether it is available here.
std::string describe_backends();

}  // namespace tandem
