//===- FakeDriver.cpp - A stand-in libcuda.so.1 for tests without a GPU ---===//
//
// Tests only (build/lib/fake-cuda/libcuda.so.1, put first on
// LD_LIBRARY_PATH): the driver API entry points libLatheRuntimeCUDA.so
// loads, on host memory. "Device" memory is malloc'ed, copies are memcpy,
// modules and kernels are dummies and launches do nothing. It exercises the
// host side of the CUDA runtime (loading .lathe files, constants kept on the
// device, argument and result descriptors, the allocator) on machines
// without a GPU; no kernel runs, so results are right only where no kernel
// writes them (constants, inputs returned as they are).
//
// LATHE_FAKE_CUDA_LOG=1 prints every allocation, copy and launch to stderr,
// one line each ("fake-cuda: memcpy 1024"), for tests that count them;
// LATHE_FAKE_CUDA_LOG=2 also prints each copy's source bytes in hex after
// its line ("fake-cuda: data 0100...", the first 256), for tests that check
// what went to the device.
//
//===----------------------------------------------------------------------===//

#include <cuda.h>

// The runtime resolves the unversioned name (CudaRuntime.cpp).
#undef cuEventElapsedTime

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

/// LATHE_FAKE_CUDA_LOG: 1 logs each call, 2 also each copy's bytes.
int logLevel() {
  static const int level = [] {
    const char *v = std::getenv("LATHE_FAKE_CUDA_LOG");
    return v && (*v == '1' || *v == '2') ? *v - '0' : 0;
  }();
  return level;
}

bool logging() { return logLevel() > 0; }

/// "fake-cuda: data HEX" (at most the first 256 bytes).
void logData(const void *p, size_t bytes) {
  if (logLevel() < 2)
    return;
  const auto *b = static_cast<const unsigned char *>(p);
  std::fprintf(stderr, "fake-cuda: data ");
  for (size_t i = 0; i < bytes && i < 256; ++i)
    std::fprintf(stderr, "%02x", b[i]);
  std::fprintf(stderr, "\n");
}

void log(const char *what, size_t bytes) {
  if (logging())
    std::fprintf(stderr, "fake-cuda: %s %zu\n", what, bytes);
}

int dummy;

} // namespace

extern "C" {

CUresult cuInit(unsigned int) { return CUDA_SUCCESS; }
CUresult cuGetErrorName(CUresult, const char **name) {
  *name = "CUDA_ERROR_FAKE";
  return CUDA_SUCCESS;
}
CUresult cuGetErrorString(CUresult, const char **text) {
  *text = "an error of the fake driver";
  return CUDA_SUCCESS;
}
CUresult cuDeviceGetCount(int *count) {
  *count = 1;
  return CUDA_SUCCESS;
}
CUresult cuDeviceGet(CUdevice *device, int) {
  *device = 0;
  return CUDA_SUCCESS;
}
CUresult cuDeviceGetName(char *name, int len, CUdevice) {
  std::snprintf(name, len, "Fake GPU (host memory, no kernels)");
  return CUDA_SUCCESS;
}
CUresult cuDeviceGetAttribute(int *value, CUdevice_attribute attribute,
                              CUdevice) {
  switch (attribute) {
  case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR:
    *value = 9;
    break;
  case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR:
    *value = 0;
    break;
  default:
    *value = 0;
  }
  return CUDA_SUCCESS;
}
CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice) {
  *bytes = size_t(1) << 30;
  return CUDA_SUCCESS;
}
CUresult cuDevicePrimaryCtxRetain(CUcontext *context, CUdevice) {
  *context = reinterpret_cast<CUcontext>(&dummy);
  return CUDA_SUCCESS;
}
CUresult cuCtxSetCurrent(CUcontext) { return CUDA_SUCCESS; }
CUresult cuStreamCreate(CUstream *stream, unsigned int) {
  *stream = reinterpret_cast<CUstream>(&dummy);
  return CUDA_SUCCESS;
}
CUresult cuStreamSynchronize(CUstream) { return CUDA_SUCCESS; }
CUresult cuStreamWaitEvent(CUstream, CUevent, unsigned int) {
  return CUDA_SUCCESS;
}
CUresult cuMemAlloc_v2(CUdeviceptr *ptr, size_t bytes) {
  log("alloc", bytes);
  void *p = std::malloc(bytes ? bytes : 1);
  if (!p)
    return CUDA_ERROR_OUT_OF_MEMORY;
  *ptr = reinterpret_cast<CUdeviceptr>(p);
  return CUDA_SUCCESS;
}
CUresult cuMemFree_v2(CUdeviceptr ptr) {
  std::free(reinterpret_cast<void *>(ptr));
  return CUDA_SUCCESS;
}
CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes,
                       CUstream) {
  log("memcpy", bytes);
  logData(reinterpret_cast<const void *>(src), bytes);
  std::memmove(reinterpret_cast<void *>(dst), reinterpret_cast<void *>(src),
               bytes);
  return CUDA_SUCCESS;
}
CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned int value, size_t count,
                          CUstream) {
  auto *p = reinterpret_cast<unsigned int *>(dst);
  for (size_t i = 0; i < count; ++i)
    p[i] = value;
  return CUDA_SUCCESS;
}
CUresult cuMemsetD16Async(CUdeviceptr dst, unsigned short value, size_t count,
                          CUstream) {
  auto *p = reinterpret_cast<unsigned short *>(dst);
  for (size_t i = 0; i < count; ++i)
    p[i] = value;
  return CUDA_SUCCESS;
}
CUresult cuModuleLoadData(CUmodule *module, const void *) {
  log("module_load", 0);
  *module = reinterpret_cast<CUmodule>(&dummy);
  return CUDA_SUCCESS;
}
CUresult cuModuleUnload(CUmodule) { return CUDA_SUCCESS; }
CUresult cuModuleGetFunction(CUfunction *fn, CUmodule, const char *) {
  *fn = reinterpret_cast<CUfunction>(&dummy);
  return CUDA_SUCCESS;
}
CUresult cuLaunchKernel(CUfunction, unsigned, unsigned, unsigned, unsigned,
                        unsigned, unsigned, unsigned, CUstream, void **,
                        void **) {
  log("launch", 0);
  return CUDA_SUCCESS;
}
CUresult cuEventCreate(CUevent *event, unsigned int) {
  *event = reinterpret_cast<CUevent>(&dummy);
  return CUDA_SUCCESS;
}
CUresult cuEventDestroy_v2(CUevent) { return CUDA_SUCCESS; }
CUresult cuEventRecord(CUevent, CUstream) { return CUDA_SUCCESS; }
CUresult cuEventSynchronize(CUevent) { return CUDA_SUCCESS; }
CUresult cuEventElapsedTime(float *ms, CUevent, CUevent) {
  *ms = 0.001f;
  return CUDA_SUCCESS;
}
CUresult cuEventElapsedTime_v2(float *ms, CUevent start, CUevent end) {
  return cuEventElapsedTime(ms, start, end);
}

} // extern "C"
