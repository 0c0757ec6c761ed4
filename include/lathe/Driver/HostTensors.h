//===- HostTensors.h - Tensors crossing the JIT boundary --------*- C++ -*-===//

#ifndef LATHE_DRIVER_HOSTTENSORS_H
#define LATHE_DRIVER_HOSTTENSORS_H

#include "lathe/runtime/Runtime.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringRef.h"

#include <memory>
#include <optional>
#include <string>

namespace mlir {
namespace lathe {

/// Owns a lathe_host_tensor.
struct HostTensor {
  lathe_host_tensor t{};
  HostTensor() = default;
  HostTensor(const HostTensor &) = delete;
  HostTensor &operator=(const HostTensor &) = delete;
  HostTensor(HostTensor &&other) noexcept : t(other.t) {
    other.t.data = nullptr;
  }
  ~HostTensor() { lathe_host_tensor_free(&t); }
  int64_t numElements() const { return lathe_host_tensor_numel(&t); }
  size_t numBytes() const {
    return static_cast<size_t>(numElements()) * lathe_dtype_size(t.dtype);
  }
};

/// The runtime dtype that holds elements of `type`, if any.
std::optional<lathe_dtype> dtypeFor(Type type);

/// The element type that holds a runtime dtype (ui8 for LATHE_U8, i1 for
/// LATHE_BOOL), for --fill-missing; null for an invalid dtype.
Type elementTypeFor(MLIRContext &ctx, lathe_dtype dtype);

/// "[2, 3]".
std::string shapeString(const lathe_host_tensor &t);

/// Reads "FILE.npy" or "FILE.h5:/dataset". On failure returns false and sets
/// `error`.
bool readTensorFile(llvm::StringRef spec, HostTensor &out, std::string &error);
bool writeTensorFile(llvm::StringRef spec, const HostTensor &t,
                     std::string &error);

/// Checks that `t` can be passed as a value of `type`; else sets `error`
/// naming what was expected and what was given.
bool checkMatchesType(const HostTensor &t, RankedTensorType type,
                      std::string &error);

/// Deterministic pseudo-random contents for `type` (static shape required).
bool fillRandom(RankedTensorType type, uint64_t seed, HostTensor &out,
                std::string &error);

/// "shape [2, 3] float32 min=... max=... mean=...".
std::string summarize(const HostTensor &t);

} // namespace lathe
} // namespace mlir

#endif // LATHE_DRIVER_HOSTTENSORS_H
