//===- HostScalars.cpp - One element of a device buffer, from host code ---===//
//
// What lathe-cuda-host-scalars makes of a memref.load / memref.store in
// host code: the element's view (any rank, every size 1) and its width.
//
//===----------------------------------------------------------------------===//

#include "lathe/runtime/CUDA.h"
#include "lathe/runtime/CUDAKernels.h"

#include "CudaInternal.h"
#include "LaunchGeometry.h"

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

extern "C" int64_t lathe_cuda_read_scalar(int64_t rank, void *view,
                                          int64_t bytes) {
  uint64_t bits = 0;
  if (!validWidth(bytes, "lathe_cuda_read_scalar"))
    return 0;
  Ref r = ref(rank, view, bytes);
  if (lathe_cuda_copy_to_host(&bits, r.data, size_t(bytes)) != LATHE_CUDA_OK)
    setPending(std::string("reading a scalar of host code: ") +
               lathe_cuda_last_error());
  return int64_t(bits);
}

extern "C" void lathe_cuda_write_scalar(int64_t rank, void *view, int64_t bytes,
                                        int64_t bits) {
  if (!validWidth(bytes, "lathe_cuda_write_scalar"))
    return;
  Ref r = ref(rank, view, bytes);
  if (lathe_cuda_copy_to_device(r.data, &bits, size_t(bytes)) != LATHE_CUDA_OK)
    setPending(std::string("writing a scalar of host code: ") +
               lathe_cuda_last_error());
}
