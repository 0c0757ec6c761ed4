//===- AccelOps.cpp - Engine-level ops of the accelerator target ----------===//

#include "lathe/Target/Accel/IR/AccelOps.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::lathe::accel;

#include "lathe/Target/Accel/IR/AccelDialect.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "lathe/Target/Accel/IR/AccelTypes.cpp.inc"

void AccelDialect::initialize() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "lathe/Target/Accel/IR/AccelTypes.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "lathe/Target/Accel/IR/AccelOps.cpp.inc"
      >();
}

/// Tile counts are at least 1 and every size is positive: a zero-sized
/// tile has no cost the simulator could count.
static LogicalResult
verifySizes(Operation *op, ArrayRef<std::pair<StringRef, int64_t>> sizes) {
  for (auto [name, value] : sizes)
    if (value < 1)
      return op->emitOpError()
             << "expects '" << name << "' to be at least 1, got " << value;
  return success();
}

LogicalResult DmaLoadOp::verify() {
  return verifySizes(*this, {{"tiles", getTiles()},
                             {"bytes", getBytes()},
                             {"buffers", getBuffers()}});
}
LogicalResult DmaStoreOp::verify() {
  return verifySizes(*this, {{"tiles", getTiles()}, {"bytes", getBytes()}});
}
static LogicalResult verifyMatmul(Operation *op, int64_t tiles, int64_t m,
                                  int64_t n, int64_t k, StringRef type) {
  if (type != "f32" && type != "bf16")
    return op->emitOpError()
           << "expects element_type f32 or bf16, got '" << type << "'";
  return verifySizes(op, {{"tiles", tiles}, {"m", m}, {"n", n}, {"k", k}});
}
LogicalResult MmeMatmulOp::verify() {
  return verifyMatmul(*this, getTiles(), getM(), getN(), getK(),
                      getElementType());
}
LogicalResult TpcMatmulOp::verify() {
  return verifyMatmul(*this, getTiles(), getM(), getN(), getK(),
                      getElementType());
}
LogicalResult TpcElementwiseOp::verify() {
  if (getOpsPerElement().convertToDouble() <= 0)
    return emitOpError() << "expects a positive ops_per_element";
  return verifySizes(*this,
                     {{"tiles", getTiles()}, {"elements", getElements()}});
}
LogicalResult TpcReduceOp::verify() {
  if (getOpsPerElement().convertToDouble() <= 0)
    return emitOpError() << "expects a positive ops_per_element";
  return verifySizes(*this,
                     {{"tiles", getTiles()}, {"elements", getElements()}});
}
LogicalResult TpcSoftmaxOp::verify() {
  return verifySizes(
      *this, {{"tiles", getTiles()}, {"rows", getRows()}, {"cols", getCols()}});
}
LogicalResult TpcLayerNormOp::verify() {
  return verifySizes(
      *this, {{"tiles", getTiles()}, {"rows", getRows()}, {"cols", getCols()}});
}

LogicalResult SparseSpmmOp::verify() {
  return verifySizes(
      *this, {{"tiles", getTiles()}, {"nnz", getNnz()}, {"cols", getCols()}});
}

#define GET_OP_CLASSES
#include "lathe/Target/Accel/IR/AccelOps.cpp.inc"
