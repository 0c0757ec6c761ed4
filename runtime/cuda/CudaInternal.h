//===- CudaInternal.h - Shared inside libLatheRuntimeCUDA -----------------===//

#ifndef LATHE_RUNTIME_CUDA_INTERNAL_H
#define LATHE_RUNTIME_CUDA_INTERNAL_H

#include "LaunchGeometry.h"

#include <cuda.h>
#include <dlfcn.h>

#include <cstdint>
#include <string>

namespace lathe_cuda {

/// Resolves `name` in the dlopen'ed `lib` into the function pointer `fn`
/// (the driver, cuBLASLt and NCCL are all loaded this way); false when the
/// library lacks it.
template <typename T> bool loadSymbol(void *lib, T &fn, const char *name) {
  fn = reinterpret_cast<T>(dlsym(lib, name));
  return fn != nullptr;
}

/// Driver API entry points, resolved with dlsym (cuda.h gives the types).
struct Driver {
  decltype(&::cuInit) init = nullptr;
  decltype(&::cuGetErrorName) getErrorName = nullptr;
  decltype(&::cuGetErrorString) getErrorString = nullptr;
  decltype(&::cuDeviceGetCount) deviceGetCount = nullptr;
  decltype(&::cuDeviceGet) deviceGet = nullptr;
  decltype(&::cuDeviceGetName) deviceGetName = nullptr;
  decltype(&::cuDeviceGetAttribute) deviceGetAttribute = nullptr;
  decltype(&::cuDeviceTotalMem_v2) deviceTotalMem = nullptr;
  decltype(&::cuDevicePrimaryCtxRetain) primaryCtxRetain = nullptr;
  decltype(&::cuCtxSetCurrent) ctxSetCurrent = nullptr;
  decltype(&::cuStreamCreate) streamCreate = nullptr;
  decltype(&::cuStreamSynchronize) streamSynchronize = nullptr;
  decltype(&::cuStreamWaitEvent) streamWaitEvent = nullptr;
  decltype(&::cuMemAlloc_v2) memAlloc = nullptr;
  decltype(&::cuMemFree_v2) memFree = nullptr;
  CUresult (*memcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream) = nullptr;
  CUresult (*memsetD32Async)(CUdeviceptr, unsigned int, size_t,
                             CUstream) = nullptr;
  CUresult (*memsetD16Async)(CUdeviceptr, unsigned short, size_t,
                             CUstream) = nullptr;
  decltype(&::cuModuleLoadData) moduleLoadData = nullptr;
  decltype(&::cuModuleUnload) moduleUnload = nullptr;
  decltype(&::cuModuleGetFunction) moduleGetFunction = nullptr;
  decltype(&::cuLaunchKernel) launchKernel = nullptr;
  decltype(&::cuEventCreate) eventCreate = nullptr;
  decltype(&::cuEventDestroy_v2) eventDestroy = nullptr;
  decltype(&::cuEventRecord) eventRecord = nullptr;
  decltype(&::cuEventSynchronize) eventSynchronize = nullptr;
  CUresult (*eventElapsedTime)(float *, CUevent, CUevent) = nullptr;
};
extern Driver drv;

/// "CUDA_ERROR_X: text".
std::string describe(CUresult r);
/// Sets this thread's lathe_cuda_last_error().
void setLastError(const std::string &message);
/// Records the first error of a call that cannot return a status.
void setPending(const std::string &message);
/// True on success; otherwise records "what: error" as pending.
bool check(CUresult r, const char *what);
CUstream theStream();
/// A kernel of Kernels.cu (nullptr, pending error set, when missing).
CUfunction ownKernel(const char *name);
/// Launches a 1-D grid-stride kernel of Kernels.cu, timed under `name`.
void launch(const char *name, CUfunction fn, unsigned grid, unsigned block,
            void **params);
/// Launches a kernel of Kernels.cu with the shape (and shared memory) of
/// `l`, timed under `name`.
void launchShared(const char *name, CUfunction fn, const Launch &l,
                  void **params);
/// The embedded fatbin of Kernels.cu.
const void *ownKernelImage();
/// Whether `ptr` is the start of a live block of the caching allocator.
bool ownsBlock(const void *ptr);

/// Brackets work on the stream with two events when profiling is on.
struct TimedRegion {
  explicit TimedRegion(const char *name);
  ~TimedRegion();
  std::string name;
  CUevent start = nullptr, end = nullptr;
  bool active = false;
};

/// The memref descriptor behind the runtime's (rank, void *) convention.
struct View {
  float *data = nullptr; // aligned + offset
  int64_t rank = 0;
  const int64_t *sizes = nullptr;
  const int64_t *strides = nullptr;
  int64_t size(int64_t i) const { return sizes[i]; }
  int64_t stride(int64_t i) const { return strides[i]; }
};
inline View view(int64_t rank, void *descriptor) {
  struct Header {
    float *allocated, *aligned;
    int64_t offset;
  };
  auto *h = static_cast<Header *>(descriptor);
  auto *rest = reinterpret_cast<int64_t *>(h + 1);
  View v;
  v.data = h->aligned + h->offset;
  v.rank = rank;
  v.sizes = rest;
  v.strides = rest + rank;
  return v;
}

/// "[2x3x8]": a memref's sizes as the runtimes' messages print them.
inline std::string shapeOf(const Ref &r) {
  std::string s = "[";
  for (int64_t i = 0; i < r.rank; ++i)
    s += (i ? "x" : "") + std::to_string(r.size(i));
  return s + "]";
}

} // namespace lathe_cuda

#endif // LATHE_RUNTIME_CUDA_INTERNAL_H
