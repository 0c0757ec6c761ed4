//===- CudaRuntime.cpp - Lathe's CUDA runtime -----------------------------===//
//
// The driver API through dlopen("libcuda.so.1"), one context and one stream,
// a caching allocator with a high-water mark, per-kernel event timing, MLIR's
// mgpu* wrappers and the lathe_cuda_* kernels (cuBLASLt through dlopen, own
// kernels from an embedded fatbin). cuda.h is included for its types only:
// nothing links against libcuda, so the library loads on machines without a
// driver and says "no CUDA device" there.
//
//===----------------------------------------------------------------------===//

#include "lathe/runtime/CUDA.h"

#include "CudaInternal.h"

#include <dlfcn.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

using namespace lathe_cuda;

namespace lathe_cuda {
Driver drv;
} // namespace lathe_cuda

namespace {

thread_local std::string lastError;
std::mutex pendingMutex;
std::string pendingError, pendingTaken;
bool hasPending = false;

std::once_flag initOnce;
int initStatus = LATHE_CUDA_ERROR;
std::string initError;
std::string deviceDescription;
int computeCapability = 0;
CUcontext context = nullptr;
CUstream stream = nullptr;
CUmodule ownKernels = nullptr;

int setError(int status, const char *fmt, ...) {
  char buffer[1024];
  va_list args;
  va_start(args, fmt);
  vsnprintf(buffer, sizeof(buffer), fmt, args);
  va_end(args);
  lastError = buffer;
  return status;
}

int doInit() {
  void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    return setError(LATHE_CUDA_NO_DEVICE, "libcuda.so.1 not found: %s",
                    dlerror());
  bool ok = true;
#define LOAD(field, sym) ok &= loadSymbol(lib, drv.field, sym)
  LOAD(init, "cuInit");
  LOAD(getErrorName, "cuGetErrorName");
  LOAD(getErrorString, "cuGetErrorString");
  LOAD(deviceGetCount, "cuDeviceGetCount");
  LOAD(deviceGet, "cuDeviceGet");
  LOAD(deviceGetName, "cuDeviceGetName");
  LOAD(deviceGetAttribute, "cuDeviceGetAttribute");
  LOAD(deviceTotalMem, "cuDeviceTotalMem_v2");
  LOAD(primaryCtxRetain, "cuDevicePrimaryCtxRetain");
  LOAD(ctxSetCurrent, "cuCtxSetCurrent");
  LOAD(streamCreate, "cuStreamCreate");
  LOAD(streamSynchronize, "cuStreamSynchronize");
  LOAD(memAlloc, "cuMemAlloc_v2");
  LOAD(memFree, "cuMemFree_v2");
  LOAD(memcpyAsync, "cuMemcpyAsync");
  LOAD(memsetD32Async, "cuMemsetD32Async");
  LOAD(memsetD16Async, "cuMemsetD16Async");
  LOAD(moduleLoadData, "cuModuleLoadData");
  LOAD(moduleUnload, "cuModuleUnload");
  LOAD(moduleGetFunction, "cuModuleGetFunction");
  LOAD(launchKernel, "cuLaunchKernel");
  LOAD(eventCreate, "cuEventCreate");
  LOAD(eventDestroy, "cuEventDestroy_v2");
  LOAD(eventRecord, "cuEventRecord");
  LOAD(eventSynchronize, "cuEventSynchronize");
  LOAD(eventElapsedTime, "cuEventElapsedTime");
  LOAD(streamWaitEvent, "cuStreamWaitEvent");
#undef LOAD
  if (!ok)
    return setError(LATHE_CUDA_NO_DEVICE,
                    "libcuda.so.1 lacks driver API entry points (%s)",
                    dlerror());
  CUresult r = drv.init(0);
  // A stub library (the toolkit's, or a container without a driver) and a
  // machine without a device mean the same to the user.
  if (r == CUDA_ERROR_STUB_LIBRARY || r == CUDA_ERROR_NO_DEVICE ||
      r == CUDA_ERROR_NOT_INITIALIZED || r == CUDA_ERROR_INVALID_DEVICE ||
      r == CUDA_ERROR_SYSTEM_DRIVER_MISMATCH ||
      r == CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE)
    return setError(LATHE_CUDA_NO_DEVICE, "cuInit: %s", describe(r).c_str());
  if (r != CUDA_SUCCESS)
    return setError(LATHE_CUDA_ERROR, "cuInit: %s", describe(r).c_str());
  int count = 0;
  if ((r = drv.deviceGetCount(&count)) != CUDA_SUCCESS || count == 0)
    return setError(LATHE_CUDA_NO_DEVICE, "cuDeviceGetCount: %s",
                    r ? describe(r).c_str() : "0 devices");
  CUdevice device;
  char name[256] = {0};
  int major = 0, minor = 0;
  size_t total = 0;
  if ((r = drv.deviceGet(&device, 0)) ||
      (r = drv.deviceGetName(name, sizeof(name), device)) ||
      (r = drv.deviceGetAttribute(
           &major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device)) ||
      (r = drv.deviceGetAttribute(
           &minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device)) ||
      (r = drv.deviceTotalMem(&total, device)) ||
      (r = drv.primaryCtxRetain(&context, device)) ||
      (r = drv.ctxSetCurrent(context)) ||
      (r = drv.streamCreate(&stream, CU_STREAM_NON_BLOCKING)))
    return setError(LATHE_CUDA_ERROR, "setting up device 0: %s",
                    describe(r).c_str());
  computeCapability = major * 10 + minor;
  char text[512];
  snprintf(text, sizeof(text), "%s, sm_%d%d, %.1f GiB", name, major, minor,
           total / double(1ull << 30));
  deviceDescription = text;
  if ((r = drv.moduleLoadData(&ownKernels, ownKernelImage())))
    return setError(LATHE_CUDA_ERROR,
                    "loading Lathe's own kernels for sm_%d%d: %s", major, minor,
                    describe(r).c_str());
  return LATHE_CUDA_OK;
}

/// Per-kernel timing.
struct Profile {
  std::mutex mutex;
  bool on = false;
  struct Pending {
    std::string name;
    CUevent start, end;
  };
  std::vector<Pending> pending;
  std::map<std::string, std::pair<int64_t, double>> totals;
  std::vector<std::string> names; // keeps collect()'s strings alive
} profile;

/// Size classes of the caching allocator: 512-byte multiples up to 1 MiB,
/// then powers of two (so a block is reused for any request of its class).
size_t sizeClass(size_t bytes) {
  if (bytes <= (1u << 20))
    return (bytes + 511) & ~size_t(511);
  size_t c = 1u << 20;
  while (c < bytes)
    c <<= 1;
  return c;
}

struct Allocator {
  std::mutex mutex;
  std::multimap<size_t, CUdeviceptr> freeBlocks;
  std::map<CUdeviceptr, size_t> liveBlocks;
  int64_t live = 0, peak = 0, cached = 0;
} allocator;

} // namespace

std::string lathe_cuda::describe(CUresult r) {
  const char *name = nullptr, *text = nullptr;
  if (drv.getErrorName)
    drv.getErrorName(r, &name);
  if (drv.getErrorString)
    drv.getErrorString(r, &text);
  // A stub libcuda answers nothing, not even its own error names.
  if (!name && r == CUDA_ERROR_STUB_LIBRARY) {
    name = "CUDA_ERROR_STUB_LIBRARY";
    text = "libcuda.so.1 is the toolkit's stub, not a driver";
  } else if (!name && r == CUDA_ERROR_NO_DEVICE) {
    name = "CUDA_ERROR_NO_DEVICE";
  }
  std::string s = name ? name : ("CUresult " + std::to_string(int(r)));
  if (text)
    s += std::string(": ") + text;
  return s;
}

void lathe_cuda::setLastError(const std::string &message) {
  lastError = message;
}

void lathe_cuda::setPending(const std::string &message) {
  std::lock_guard<std::mutex> lock(pendingMutex);
  if (!hasPending) {
    pendingError = message;
    hasPending = true;
  }
}

bool lathe_cuda::check(CUresult r, const char *what) {
  if (r == CUDA_SUCCESS)
    return true;
  setPending(std::string(what) + ": " + describe(r));
  return false;
}

CUstream lathe_cuda::theStream() { return stream; }

bool lathe_cuda::ownsBlock(const void *ptr) {
  std::lock_guard<std::mutex> lock(allocator.mutex);
  return allocator.liveBlocks.count(reinterpret_cast<CUdeviceptr>(ptr)) != 0;
}

CUfunction lathe_cuda::ownKernel(const char *name) {
  CUfunction fn = nullptr;
  if (!ownKernels || !check(drv.moduleGetFunction(&fn, ownKernels, name), name))
    return nullptr;
  return fn;
}

void lathe_cuda::launch(const char *name, CUfunction fn, unsigned grid,
                        unsigned block, void **params) {
  TimedRegion timed(name);
  check(
      drv.launchKernel(fn, grid, 1, 1, block, 1, 1, 0, stream, params, nullptr),
      name);
}

lathe_cuda::TimedRegion::TimedRegion(const char *name) {
  std::lock_guard<std::mutex> lock(profile.mutex);
  if (!profile.on)
    return;
  this->name = name;
  drv.eventCreate(&start, CU_EVENT_DEFAULT);
  drv.eventCreate(&end, CU_EVENT_DEFAULT);
  drv.eventRecord(start, stream);
  active = true;
}

lathe_cuda::TimedRegion::~TimedRegion() {
  if (!active)
    return;
  drv.eventRecord(end, stream);
  std::lock_guard<std::mutex> lock(profile.mutex);
  profile.pending.push_back({name, start, end});
}

extern "C" {

int lathe_cuda_init(void) {
  std::call_once(initOnce, [] {
    initStatus = doInit();
    initError = lastError;
  });
  if (initStatus != LATHE_CUDA_OK)
    lastError = initError;
  return initStatus;
}

const char *lathe_cuda_last_error(void) { return lastError.c_str(); }

const char *lathe_cuda_take_pending_error(void) {
  std::lock_guard<std::mutex> lock(pendingMutex);
  if (!hasPending)
    return nullptr;
  hasPending = false;
  pendingTaken = pendingError;
  return pendingTaken.c_str();
}

const char *lathe_cuda_device_description(void) {
  return deviceDescription.c_str();
}

int lathe_cuda_compute_capability(void) { return computeCapability; }

double lathe_cuda_peak_bandwidth(void) {
  if (lathe_cuda_init() != LATHE_CUDA_OK)
    return 0;
  CUdevice device;
  int clockKHz = 0, busBits = 0;
  if (drv.deviceGet(&device, 0) ||
      drv.deviceGetAttribute(&clockKHz, CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE,
                             device) ||
      drv.deviceGetAttribute(
          &busBits, CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH, device))
    return 0;
  // Double data rate.
  return 2.0 * clockKHz * 1e3 * busBits / 8.0;
}

int lathe_cuda_alloc(size_t bytes, void **ptr) {
  *ptr = nullptr;
  if (lathe_cuda_init() != LATHE_CUDA_OK)
    return LATHE_CUDA_ERROR;
  size_t size = sizeClass(bytes ? bytes : 1);
  std::lock_guard<std::mutex> lock(allocator.mutex);
  CUdeviceptr p = 0;
  auto it = allocator.freeBlocks.find(size);
  if (it != allocator.freeBlocks.end()) {
    p = it->second;
    allocator.freeBlocks.erase(it);
    allocator.cached -= size;
  } else {
    CUresult r = drv.memAlloc(&p, size);
    if (r == CUDA_ERROR_OUT_OF_MEMORY && allocator.cached) {
      // Give the cache back and try once more.
      drv.streamSynchronize(stream);
      for (auto &block : allocator.freeBlocks)
        drv.memFree(block.second);
      allocator.freeBlocks.clear();
      allocator.cached = 0;
      r = drv.memAlloc(&p, size);
    }
    if (r != CUDA_SUCCESS)
      return setError(r == CUDA_ERROR_OUT_OF_MEMORY ? LATHE_CUDA_OUT_OF_MEMORY
                                                    : LATHE_CUDA_ERROR,
                      "cuMemAlloc(%zu bytes): %s", size, describe(r).c_str());
  }
  allocator.liveBlocks[p] = size;
  allocator.live += size;
  if (allocator.live > allocator.peak)
    allocator.peak = allocator.live;
  *ptr = reinterpret_cast<void *>(p);
  return LATHE_CUDA_OK;
}

void lathe_cuda_free(void *ptr) {
  if (!ptr)
    return;
  std::lock_guard<std::mutex> lock(allocator.mutex);
  auto it = allocator.liveBlocks.find(reinterpret_cast<CUdeviceptr>(ptr));
  if (it == allocator.liveBlocks.end()) {
    setPending("lathe_cuda_free: not a block of the CUDA runtime's allocator");
    return;
  }
  // One stream: work queued before this free is ordered before any reuse.
  allocator.freeBlocks.emplace(it->second, it->first);
  allocator.live -= it->second;
  allocator.cached += it->second;
  allocator.liveBlocks.erase(it);
}

int64_t lathe_cuda_live_bytes(void) {
  std::lock_guard<std::mutex> lock(allocator.mutex);
  return allocator.live;
}
int64_t lathe_cuda_peak_bytes(void) {
  std::lock_guard<std::mutex> lock(allocator.mutex);
  return allocator.peak;
}
void lathe_cuda_reset_peak(void) {
  std::lock_guard<std::mutex> lock(allocator.mutex);
  allocator.peak = allocator.live;
}
void lathe_cuda_release_cached(void) {
  if (lathe_cuda_init() != LATHE_CUDA_OK)
    return;
  drv.streamSynchronize(stream);
  std::lock_guard<std::mutex> lock(allocator.mutex);
  for (auto &block : allocator.freeBlocks)
    drv.memFree(block.second);
  allocator.freeBlocks.clear();
  allocator.cached = 0;
}

int lathe_cuda_copy_to_device(void *dst, const void *src, size_t bytes) {
  if (lathe_cuda_init() != LATHE_CUDA_OK)
    return LATHE_CUDA_ERROR;
  CUresult r =
      drv.memcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                      reinterpret_cast<CUdeviceptr>(src), bytes, stream);
  if (r != CUDA_SUCCESS)
    return setError(LATHE_CUDA_ERROR, "copy to the device: %s",
                    describe(r).c_str());
  return LATHE_CUDA_OK;
}

int lathe_cuda_copy_to_host(void *dst, const void *src, size_t bytes) {
  if (lathe_cuda_init() != LATHE_CUDA_OK)
    return LATHE_CUDA_ERROR;
  CUresult r =
      drv.memcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                      reinterpret_cast<CUdeviceptr>(src), bytes, stream);
  if (r == CUDA_SUCCESS)
    r = drv.streamSynchronize(stream);
  if (r != CUDA_SUCCESS)
    return setError(LATHE_CUDA_ERROR, "copy to the host: %s",
                    describe(r).c_str());
  return LATHE_CUDA_OK;
}

int lathe_cuda_synchronize(void) {
  if (lathe_cuda_init() != LATHE_CUDA_OK)
    return LATHE_CUDA_ERROR;
  CUresult r = drv.streamSynchronize(stream);
  if (r != CUDA_SUCCESS)
    return setError(LATHE_CUDA_ERROR, "synchronising the stream: %s",
                    describe(r).c_str());
  return LATHE_CUDA_OK;
}

int lathe_cuda_module_load(const void *image, size_t, void **module) {
  if (lathe_cuda_init() != LATHE_CUDA_OK)
    return LATHE_CUDA_ERROR;
  CUmodule m = nullptr;
  CUresult r = drv.moduleLoadData(&m, image);
  if (r != CUDA_SUCCESS)
    return setError(LATHE_CUDA_ERROR, "cuModuleLoadData: %s",
                    describe(r).c_str());
  *module = m;
  return LATHE_CUDA_OK;
}

int lathe_cuda_module_function(void *module, const char *name, void **fn) {
  CUfunction f = nullptr;
  CUresult r = drv.moduleGetFunction(&f, static_cast<CUmodule>(module), name);
  if (r != CUDA_SUCCESS)
    return setError(LATHE_CUDA_ERROR, "kernel '%s': %s", name,
                    describe(r).c_str());
  *fn = f;
  return LATHE_CUDA_OK;
}

void lathe_cuda_profile_enable(int on) {
  std::lock_guard<std::mutex> lock(profile.mutex);
  profile.on = on != 0;
}

int lathe_cuda_profile_collect(lathe_cuda_kernel_time *out, int max) {
  if (lathe_cuda_init() != LATHE_CUDA_OK)
    return 0;
  drv.streamSynchronize(stream);
  std::lock_guard<std::mutex> lock(profile.mutex);
  for (auto &p : profile.pending) {
    float ms = 0;
    drv.eventSynchronize(p.end);
    drv.eventElapsedTime(&ms, p.start, p.end);
    auto &total = profile.totals[p.name];
    total.first += 1;
    total.second += ms;
    drv.eventDestroy(p.start);
    drv.eventDestroy(p.end);
  }
  profile.pending.clear();
  profile.names.clear();
  int i = 0;
  for (auto &[name, total] : profile.totals) {
    profile.names.push_back(name);
    if (i < max)
      out[i] = {nullptr, total.first, total.second};
    ++i;
  }
  for (int j = 0; j < i && j < max; ++j)
    out[j].name = profile.names[j].c_str();
  return i;
}

void lathe_cuda_profile_reset(void) {
  std::lock_guard<std::mutex> lock(profile.mutex);
  profile.totals.clear();
}

//===----------------------------------------------------------------------===//
// MLIR's CUDA runtime ABI (what gpu-to-llvm calls), on the one stream.
//===----------------------------------------------------------------------===//

void *mgpuModuleLoad(void *data, size_t /*gpuBlobSize*/) {
  void *module = nullptr;
  if (lathe_cuda_module_load(data, 0, &module) != LATHE_CUDA_OK)
    setPending(lastError);
  return module;
}

void *mgpuModuleLoadJIT(void *data, int /*optLevel*/, size_t /*size*/) {
  return mgpuModuleLoad(data, 0);
}

void mgpuModuleUnload(void *module) {
  if (module)
    drv.moduleUnload(static_cast<CUmodule>(module));
}

void *mgpuModuleGetFunction(void *module, const char *name) {
  void *fn = nullptr;
  if (lathe_cuda_module_function(module, name, &fn) != LATHE_CUDA_OK)
    setPending(lastError);
  return fn;
}

void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, void * /*stream*/,
                      void **params, void **extra, size_t /*paramsCount*/) {
  if (!function)
    return;
  TimedRegion timed("generated");
  check(drv.launchKernel(static_cast<CUfunction>(function), gridX, gridY, gridZ,
                         blockX, blockY, blockZ, smem, stream, params, extra),
        "cuLaunchKernel (generated kernel)");
}

// Every "stream" of generated code is the runtime's one stream: work stays
// ordered, and nothing waits until the driver copies results to the host.
void *mgpuStreamCreate() {
  lathe_cuda_init();
  return stream;
}
void mgpuStreamDestroy(void *) {}
void mgpuStreamSynchronize(void *) {}
void mgpuStreamWaitEvent(void *, void *) {}
void *mgpuEventCreate() { return nullptr; }
void mgpuEventDestroy(void *) {}
void mgpuEventSynchronize(void *) {}
void mgpuEventRecord(void *, void *) {}

void *mgpuMemAlloc(uint64_t sizeBytes, void * /*stream*/,
                   bool /*isHostShared*/) {
  void *ptr = nullptr;
  if (lathe_cuda_alloc(sizeBytes, &ptr) != LATHE_CUDA_OK)
    setPending(lastError);
  return ptr;
}

void mgpuMemFree(void *ptr, void * /*stream*/) { lathe_cuda_free(ptr); }

void mgpuMemcpy(void *dst, void *src, size_t sizeBytes, void * /*stream*/) {
  check(drv.memcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                        reinterpret_cast<CUdeviceptr>(src), sizeBytes, stream),
        "mgpuMemcpy");
}

void mgpuMemset32(void *dst, unsigned int value, size_t count,
                  void * /*stream*/) {
  check(drv.memsetD32Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                           stream),
        "mgpuMemset32");
}

void mgpuMemset16(void *dst, unsigned short value, size_t count,
                  void * /*stream*/) {
  check(drv.memsetD16Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                           stream),
        "mgpuMemset16");
}

void mgpuSetDefaultDevice(int32_t) {}

} // extern "C"
