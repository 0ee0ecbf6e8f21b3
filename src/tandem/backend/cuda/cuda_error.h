#pragma once
// Error plumbing of the CUDA backend. fmt (used by tandem/core/error.h) does not compile under
// nvcc, so the .cu files call these plain functions and cuda_error.cpp, compiled by the host
// compiler, builds the tandem::Error. Every failure names the op, the failing call and the place.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "tandem/backend/cuda/cublas_api.h"

namespace tandem::cuda {

[[noreturn]] void fail_api(const char* op, const char* call, const char* error_name,
                           const char* error_text, const char* file, int line);
// A bad argument or an unsupported shape, found on the host before any launch.
[[noreturn]] void fail_arg(const char* op, const std::string& message);

}  // namespace tandem::cuda

// TANDEM_CUDA_CHECK("op", cudaMemcpyAsync(...)): throws tandem::Error naming op, call and error.
#define TANDEM_CUDA_CHECK(op, call)                                                  \
  do {                                                                               \
    const cudaError_t tandem_err_ = (call);                                          \
    if (tandem_err_ != cudaSuccess)                                                  \
      ::tandem::cuda::fail_api(op, #call, cudaGetErrorName(tandem_err_),             \
                               cudaGetErrorString(tandem_err_), __FILE__, __LINE__); \
  } while (0)

#define TANDEM_CUBLAS_CHECK(op, call)                                                        \
  do {                                                                                       \
    const cublasStatus_t tandem_st_ = (call);                                                \
    if (tandem_st_ != CUBLAS_STATUS_SUCCESS)                                                 \
      ::tandem::cuda::fail_api(op, #call, ::tandem::cuda::cublas().status_name(tandem_st_),  \
                               ::tandem::cuda::cublas().status_string(tandem_st_), __FILE__, \
                               __LINE__);                                                    \
  } while (0)

// After a kernel launch: catches bad launch configurations at once. Faults inside a kernel
// surface at the next synchronising call (to_host, synchronize), which checks them too.
#define TANDEM_CUDA_LAUNCH_CHECK(op) TANDEM_CUDA_CHECK(op, cudaGetLastError())
