// The CUDA backend's core: device and stream setup, memory, elementwise fill/add, and the
// factory functions the registry calls.
#include <cstdint>
#include <memory>
#include <string>

#include "tandem/backend/cuda/common.cuh"
#include "tandem/backend/cuda/cuda_backend.h"
#include "tandem/backend/factories.h"

namespace tandem {
namespace cuda {
namespace {

__global__ void fill_kernel(float* x, float value, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x)
    x[i] = value;
}

__global__ void add_kernel(float* y, const float* x, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x)
    y[i] += x[i];
}

}  // namespace

CudaBackend::CudaBackend(int device) : device_(device) {
  TANDEM_CUDA_CHECK("init", cudaSetDevice(device_));
  int optin = 0;
  TANDEM_CUDA_CHECK(
      "init", cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device_));
  max_smem_optin_ = static_cast<size_t>(optin);
  // Allocations come from the device's stream-ordered pool. Keep freed memory in the pool
  // rather than returning it to the driver at every synchronisation: training frees and
  // re-allocates the same sizes each step.
  cudaMemPool_t pool = nullptr;
  TANDEM_CUDA_CHECK("init", cudaDeviceGetDefaultMemPool(&pool, device_));
  uint64_t threshold = UINT64_MAX;
  TANDEM_CUDA_CHECK("init",
                    cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
  TANDEM_CUDA_CHECK("init", cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  try {
    TANDEM_CUBLAS_CHECK("init", cublas().create(&blas_));
    TANDEM_CUBLAS_CHECK("init", cublas().set_stream(blas_, stream_));
    // fp32 stays fp32: the default math mode never lowers precision to TF32 for SGEMM (only
    // CUBLAS_TF32_TENSOR_OP_MATH would), so results match the fp32 CPU reference.
    TANDEM_CUBLAS_CHECK("init", cublas().set_math_mode(blas_, CUBLAS_DEFAULT_MATH));
    // Host-side alpha/beta; no device pointers for scalars.
    TANDEM_CUBLAS_CHECK("init", cublas().set_pointer_mode(blas_, CUBLAS_POINTER_MODE_HOST));
  } catch (...) {
    if (blas_) cublas().destroy(blas_);
    cudaStreamDestroy(stream_);
    throw;
  }
}

CudaBackend::~CudaBackend() {
  // A destructor must not throw: errors here (a device already lost) are ignored on purpose.
  if (scratch_) cudaFreeAsync(scratch_, stream_);
  if (stream_) cudaStreamSynchronize(stream_);
  if (blas_) cublas().destroy(blas_);
  if (stream_) cudaStreamDestroy(stream_);
}

void* CudaBackend::scratch(size_t bytes) {
  if (bytes <= scratch_bytes_) return scratch_;
  // Stream-ordered free and malloc: work still queued that reads the old buffer runs first.
  if (scratch_) TANDEM_CUDA_CHECK("scratch", cudaFreeAsync(scratch_, stream_));
  scratch_ = nullptr;
  scratch_bytes_ = 0;
  const size_t grown = bytes + bytes / 2;  // headroom, so slowly growing sizes reallocate rarely
  TANDEM_CUDA_CHECK("scratch", cudaMallocAsync(&scratch_, grown, stream_));
  scratch_bytes_ = grown;
  return scratch_;
}

void* CudaBackend::alloc(size_t bytes) {
  if (bytes == 0) return nullptr;
  void* ptr = nullptr;
  TANDEM_CUDA_CHECK("alloc", cudaMallocAsync(&ptr, bytes, stream_));
  if (reinterpret_cast<uintptr_t>(ptr) % 64 != 0) {
    cudaFreeAsync(ptr, stream_);
    fail_arg("alloc", "device allocator returned memory not aligned to 64 bytes");
  }
  // The contract says zero-initialised; the memset is ordered before any later use on the stream.
  TANDEM_CUDA_CHECK("alloc", cudaMemsetAsync(ptr, 0, bytes, stream_));
  return ptr;
}

void CudaBackend::release(void* ptr) {
  // Never throws: DeviceBuffer calls this from its destructor, where an exception would end the
  // process. cudaFreeAsync only fails on a bad pointer or after an earlier fault, which the next
  // synchronising call reports anyway.
  // Clear a non-sticky error so the next launch check does not report it as its own.
  if (ptr && cudaFreeAsync(ptr, stream_) != cudaSuccess) cudaGetLastError();
}

void CudaBackend::to_device(void* dst, const void* host_src, size_t bytes) {
  if (bytes == 0) return;
  TANDEM_CUDA_CHECK("to_device",
                    cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream_));
  // Wait, so the caller may reuse or free host_src at once even when it is pinned memory (an
  // asynchronous copy from pinned memory would still be reading it). Uploads are rare: weights
  // once, a batch of token ids per step.
  TANDEM_CUDA_CHECK("to_device", cudaStreamSynchronize(stream_));
}

void CudaBackend::to_host(void* host_dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  TANDEM_CUDA_CHECK("to_host",
                    cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
  TANDEM_CUDA_CHECK("to_host", cudaStreamSynchronize(stream_));
}

void CudaBackend::copy(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  TANDEM_CUDA_CHECK("copy", cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
}

void CudaBackend::fill(float* x, float value, size_t n) {
  if (n == 0) return;
  fill_kernel<<<elementwise_blocks(n, 256), 256, 0, stream_>>>(x, value, n);
  TANDEM_CUDA_LAUNCH_CHECK("fill");
}

void CudaBackend::add(float* y, const float* x, size_t n) {
  if (n == 0) return;
  add_kernel<<<elementwise_blocks(n, 256), 256, 0, stream_>>>(y, x, n);
  TANDEM_CUDA_LAUNCH_CHECK("add");
}

void CudaBackend::synchronize() {
  TANDEM_CUDA_CHECK("synchronize", cudaStreamSynchronize(stream_));
}

// Number of visible devices, or 0 with the reason when none can be used. Never prints: on a
// machine without a driver cudaGetDeviceCount just returns an error code.
static int visible_devices(cudaError_t* why) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (why) *why = err;
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the (non-sticky) error so later calls start clean
    return 0;
  }
  return count;
}

}  // namespace cuda

bool cuda_backend_available() {
  // Asked once per process: the answer cannot change while it runs, and the first query
  // initialises the runtime, which is slow.
  static const bool available = cuda::visible_devices(nullptr) > 0;
  return available;
}

std::unique_ptr<Backend> make_cuda_backend() {
  cudaError_t why = cudaSuccess;
  if (cuda::visible_devices(&why) <= 0) {
    const std::string reason =
        why == cudaSuccess ? std::string("no device found")
                           : std::string(cudaGetErrorName(why)) + ": " + cudaGetErrorString(why);
    cuda::fail_arg("init", "no CUDA device is visible (" + reason +
                               "); use backend 'cpu' or check the driver and "
                               "CUDA_VISIBLE_DEVICES");
  }
  // Device 0 of those visible; choose another with CUDA_VISIBLE_DEVICES.
  return std::make_unique<cuda::CudaBackend>(0);
}

}  // namespace tandem
