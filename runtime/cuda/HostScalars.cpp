//===- HostScalars.cpp - One element of a device buffer, from host code ---===//
//
// What lathe-cuda-host-scalars makes of a memref.load / memref.store in
// host code: the element's (device) address and its width.
//
//===----------------------------------------------------------------------===//

#include "lathe/runtime/CUDA.h"
#include "lathe/runtime/CUDAKernels.h"

#include "CudaInternal.h"

#include <string>

using namespace lathe_cuda;

namespace {
bool validWidth(int64_t bytes, const char *what) {
  if (bytes >= 1 && bytes <= 8)
    return true;
  setPending(std::string(what) + ": an element of " + std::to_string(bytes) +
             " bytes (1 to 8 expected)");
  return false;
}
} // namespace

extern "C" int64_t lathe_cuda_read_scalar(int64_t address, int64_t bytes) {
  uint64_t bits = 0;
  if (!validWidth(bytes, "lathe_cuda_read_scalar"))
    return 0;
  const void *element = reinterpret_cast<const void *>(address);
  if (lathe_cuda_copy_to_host(&bits, element, size_t(bytes)) != LATHE_CUDA_OK)
    setPending(std::string("reading a scalar of host code: ") +
               lathe_cuda_last_error());
  return int64_t(bits);
}

extern "C" void lathe_cuda_write_scalar(int64_t address, int64_t bytes,
                                        int64_t bits) {
  if (!validWidth(bytes, "lathe_cuda_write_scalar"))
    return;
  void *element = reinterpret_cast<void *>(address);
  if (lathe_cuda_copy_to_device(element, &bits, size_t(bytes)) != LATHE_CUDA_OK)
    setPending(std::string("writing a scalar of host code: ") +
               lathe_cuda_last_error());
}
