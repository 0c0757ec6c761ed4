//===- HostTensor.h - Host tensor helpers shared by the I/O code -*- C++
//-*-===//

#ifndef LATHE_RUNTIME_LIB_HOSTTENSOR_H
#define LATHE_RUNTIME_LIB_HOSTTENSOR_H

#include "Internal.h"

namespace lathe::rt {

bool isValidDtype(lathe_dtype dtype);

/// Element count of a shape; throws (naming `what`) on a bad rank, a negative
/// dimension or overflow of count * elementSize.
int64_t checkedNumel(int32_t rank, const int64_t *shape, size_t elementSize,
                     const std::string &what);

/// Fills `t` with freshly calloc'ed storage; `t` is untouched on failure.
void allocHostTensor(lathe_host_tensor &t, lathe_dtype dtype, int32_t rank,
                     const int64_t *shape, const std::string &what);

/// Owns a host tensor until release() (frees it on an exception path).
class HostTensorHolder {
public:
  HostTensorHolder() = default;
  ~HostTensorHolder() { lathe_host_tensor_free(&tensor); }
  HostTensorHolder(const HostTensorHolder &) = delete;
  HostTensorHolder &operator=(const HostTensorHolder &) = delete;

  lathe_host_tensor &get() { return tensor; }
  lathe_host_tensor release() {
    lathe_host_tensor t = tensor;
    tensor = lathe_host_tensor{};
    return t;
  }

private:
  lathe_host_tensor tensor{};
};

} // namespace lathe::rt

#endif // LATHE_RUNTIME_LIB_HOSTTENSOR_H
