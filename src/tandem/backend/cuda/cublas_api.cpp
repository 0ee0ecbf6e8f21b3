// Host-compiled: opens libcublas with dlopen and resolves the table of cublas_api.h.
#include "tandem/backend/cuda/cublas_api.h"

#include <dlfcn.h>

#include <string>

#include "tandem/core/error.h"

// The exported name of a cuBLAS function: cublas_v2.h maps several to their _v2 symbols by macro,
// so the name is taken after expansion.
#define TANDEM_CUBLAS_NAME_(f) #f
#define TANDEM_CUBLAS_NAME(f) TANDEM_CUBLAS_NAME_(f)

namespace tandem::cuda {
namespace {

// The soname of the cuBLAS these headers belong to, found the way the dynamic linker would (the
// binary's run path, LD_LIBRARY_PATH, the system's cache), then in the toolkit it was built with.
void* open_cublas() {
  const std::string soname = "libcublas.so." TANDEM_CUBLAS_NAME(CUBLAS_VER_MAJOR);
  if (void* h = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL)) return h;
  const std::string first_error = dlerror();
#ifdef TANDEM_CUDA_LIBRARY_DIR
  const std::string in_toolkit = std::string(TANDEM_CUDA_LIBRARY_DIR) + "/" + soname;
  if (void* h = dlopen(in_toolkit.c_str(), RTLD_NOW | RTLD_LOCAL)) return h;
#endif
  fail(
      "[cuda] cannot load cuBLAS ({}): {}; the CUDA backend needs the CUDA toolkit's libraries "
      "on the library path (LD_LIBRARY_PATH)",
      soname, first_error);
}

template <typename F>
void resolve(void* lib, F& f, const char* name) {
  f = reinterpret_cast<F>(dlsym(lib, name));
  if (!f) fail("[cuda] cuBLAS has no function {}: {}", name, dlerror());
}

CublasApi load() {
  void* lib = open_cublas();  // kept open for the life of the process
  CublasApi api{};
  resolve(lib, api.create, TANDEM_CUBLAS_NAME(cublasCreate));
  resolve(lib, api.destroy, TANDEM_CUBLAS_NAME(cublasDestroy));
  resolve(lib, api.set_stream, TANDEM_CUBLAS_NAME(cublasSetStream));
  resolve(lib, api.set_math_mode, TANDEM_CUBLAS_NAME(cublasSetMathMode));
  resolve(lib, api.set_pointer_mode, TANDEM_CUBLAS_NAME(cublasSetPointerMode));
  resolve(lib, api.sgemm, TANDEM_CUBLAS_NAME(cublasSgemm));
  resolve(lib, api.sgemm_strided_batched, TANDEM_CUBLAS_NAME(cublasSgemmStridedBatched));
  resolve(lib, api.status_name, TANDEM_CUBLAS_NAME(cublasGetStatusName));
  resolve(lib, api.status_string, TANDEM_CUBLAS_NAME(cublasGetStatusString));
  return api;
}

}  // namespace

const CublasApi& cublas() {
  static const CublasApi api = load();  // a throw leaves it unset: the next call tries again
  return api;
}

}  // namespace tandem::cuda
