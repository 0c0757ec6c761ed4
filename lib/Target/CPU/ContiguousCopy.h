//===- ContiguousCopy.h - Dense copies of strided buffers -------*- C++ -*-===//
//
// Runtime kernels that take a flat pointer (collectives, qcomm kernels) need
// their operands dense and row-major. Shared by the CPU target's lowerings.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_LIB_TARGET_CPU_CONTIGUOUSCOPY_H
#define LATHE_LIB_TARGET_CPU_CONTIGUOUSCOPY_H

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"
#include "mlir/IR/Builders.h"

namespace mlir::lathe {

/// True when a kernel may read `type`'s buffer as one dense row-major array
/// (an identity layout, or a static contiguous view, whose offset the
/// kernel's descriptor carries).
inline bool isDenseRowMajor(MemRefType type) {
  return type.getLayout().isIdentity() ||
         memref::isStaticShapeAndContiguousRowMajor(type);
}

/// A dense row-major copy of `buffer` (a fresh 64-byte-aligned allocation
/// the caller frees or returns), made at the builder's insertion point.
inline Value copyToDenseBuffer(OpBuilder &b, Location loc, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  SmallVector<Value> sizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      sizes.push_back(memref::DimOp::create(b, loc, buffer, d));
  auto dense = MemRefType::get(type.getShape(), type.getElementType());
  Value copy =
      memref::AllocOp::create(b, loc, dense, sizes, b.getI64IntegerAttr(64));
  memref::CopyOp::create(b, loc, buffer, copy);
  return copy;
}

} // namespace mlir::lathe

#endif // LATHE_LIB_TARGET_CPU_CONTIGUOUSCOPY_H
