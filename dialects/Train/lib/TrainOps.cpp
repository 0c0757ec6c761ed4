//===- TrainOps.cpp - Optimizer ops ---------------------------------------===//

#include "lathe/Dialect/Train/TrainOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"

using namespace mlir;
using namespace mlir::lathe::train;

#include "lathe/Dialect/Train/TrainDialect.cpp.inc"

void TrainDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "lathe/Dialect/Train/TrainOps.cpp.inc"
      >();
}

/// Optimizer state and parameters must be floating-point tensors.
static LogicalResult verifyFloatTensor(Operation *op, Type type) {
  auto tensor = cast<RankedTensorType>(type);
  if (!isa<FloatType>(tensor.getElementType()))
    return op->emitOpError("expects floating-point tensors, got ") << type;
  return success();
}

LogicalResult SGDOp::verify() {
  if (getMomentum().convertToFloat() < 0 ||
      getWeightDecay().convertToFloat() < 0)
    return emitOpError("momentum and weight_decay must be >= 0");
  if (getNesterov() && getMomentum().convertToFloat() <= 0)
    return emitOpError("nesterov needs a positive momentum");
  return verifyFloatTensor(*this, getParam().getType());
}

LogicalResult AdamWOp::verify() {
  float b1 = getBeta1().convertToFloat(), b2 = getBeta2().convertToFloat();
  if (!(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1))
    return emitOpError("beta1 and beta2 must be in [0, 1), got ")
           << b1 << " and " << b2;
  if (!(getEps().convertToFloat() > 0))
    return emitOpError("eps must be > 0");
  if (getWeightDecay().convertToFloat() < 0)
    return emitOpError("weight_decay must be >= 0");
  return verifyFloatTensor(*this, getParam().getType());
}

LogicalResult ClipByGlobalNormOp::verify() {
  if (getGrads().size() != getClipped().size())
    return emitOpError("expects one result per gradient, got ")
           << getClipped().size() << " for " << getGrads().size();
  if (!(getMaxNorm().convertToFloat() > 0))
    return emitOpError("max_norm must be > 0");
  for (auto [g, c] : llvm::zip(getGrads(), getClipped())) {
    if (g.getType() != c.getType())
      return emitOpError("result type ")
             << c.getType() << " differs from its gradient's " << g.getType();
    if (failed(verifyFloatTensor(*this, g.getType())))
      return failure();
  }
  return success();
}

LogicalResult ClipByGlobalNormOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location>, ValueRange operands,
    DictionaryAttr, OpaqueProperties, RegionRange,
    SmallVectorImpl<Type> &inferred) {
  for (Value g : operands)
    inferred.push_back(g.getType());
  inferred.push_back(Float32Type::get(context));
  return success();
}

LogicalResult WarmupCosineOp::verify() {
  if (getWarmupSteps() < 0 || getTotalSteps() < 1 ||
      getWarmupSteps() > getTotalSteps())
    return emitOpError("needs 0 <= warmup_steps <= total_steps and "
                       "total_steps >= 1, got ")
           << getWarmupSteps() << " and " << getTotalSteps();
  if (getMinLr().convertToFloat() > getBaseLr().convertToFloat())
    return emitOpError("min_lr must not exceed base_lr");
  return success();
}

#define GET_OP_CLASSES
#include "lathe/Dialect/Train/TrainOps.cpp.inc"
