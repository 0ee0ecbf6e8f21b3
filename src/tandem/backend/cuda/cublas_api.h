#pragma once
// cuBLAS, loaded when the first CUDA backend is made rather than linked into the binary. Loading
// libcublas pulls in libcublasLt, whose static initialisers cost every process that maps it
// ~200 MB of resident memory at start, CPU-only runs and `tandem version` included. The backend
// calls the few functions it needs through this table instead.
#include <cublas_v2.h>

namespace tandem::cuda {

struct CublasApi {
  decltype(&cublasCreate) create;
  decltype(&cublasDestroy) destroy;
  decltype(&cublasSetStream) set_stream;
  decltype(&cublasSetMathMode) set_math_mode;
  decltype(&cublasSetPointerMode) set_pointer_mode;
  decltype(&cublasSgemm) sgemm;
  decltype(&cublasSgemmStridedBatched) sgemm_strided_batched;
  decltype(&cublasGetStatusName) status_name;
  decltype(&cublasGetStatusString) status_string;
};

// The table, libcublas opened on the first call (thread-safe). Throws tandem::Error naming the
// library and the loader's reason when it cannot be opened or lacks a function.
const CublasApi& cublas();

}  // namespace tandem::cuda
