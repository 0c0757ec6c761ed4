//===- MemRefDescriptor.h - Host-side strided memref descriptors -*- C++
//-*-===//
//
// The words of a ranked memref descriptor as generated code and the runtime
// take it: {allocated, aligned, offset, sizes[rank], strides[rank]}, 8 bytes
// each. The one builder of such descriptors on the host (the driver's calls
// into compiled code, the CUDA driver, lathe-calibrate's kernel calls).
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_SUPPORT_MEMREFDESCRIPTOR_H
#define LATHE_SUPPORT_MEMREFDESCRIPTOR_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mlir::lathe {

/// A descriptor over `data` with `sizes`, row-major unless `strides` (of the
/// same rank) are given; offset 0.
inline std::vector<int64_t>
makeMemRefDescriptor(const void *data, const std::vector<int64_t> &sizes,
                     std::vector<int64_t> strides = {}) {
  std::size_t rank = sizes.size();
  if (strides.empty()) {
    strides.assign(rank, 1);
    for (std::size_t i = rank; i-- > 1;)
      strides[i - 1] = strides[i] * sizes[i];
  }
  std::vector<int64_t> words = {reinterpret_cast<int64_t>(data),
                                reinterpret_cast<int64_t>(data), 0};
  words.insert(words.end(), sizes.begin(), sizes.end());
  words.insert(words.end(), strides.begin(), strides.end());
  return words;
}

/// The rank of a descriptor's words.
inline int64_t memRefDescriptorRank(const std::vector<int64_t> &words) {
  return (static_cast<int64_t>(words.size()) - 3) / 2;
}

} // namespace mlir::lathe

#endif // LATHE_SUPPORT_MEMREFDESCRIPTOR_H
