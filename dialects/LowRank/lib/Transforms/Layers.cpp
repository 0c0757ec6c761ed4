//===- Layers.cpp - The layers lowrank-select-ranks considers -------------===//

#include "lathe/Dialect/LowRank/Layers.h"

using namespace mlir;
using namespace mlir::lowrank;

std::optional<LinearLayerShape>
mlir::lowrank::matchLinearLayer(linalg::MatmulOp op) {
  if (op.getNumDpsInputs() != 2 || op->getNumResults() != 1)
    return std::nullopt;
  auto lhsType = dyn_cast<RankedTensorType>(op.getDpsInputs()[0].getType());
  auto rhsType = dyn_cast<RankedTensorType>(op.getDpsInputs()[1].getType());
  if (!lhsType || !rhsType || !lhsType.getElementType().isF32() ||
      !rhsType.getElementType().isF32() || !rhsType.hasStaticShape() ||
      rhsType.getRank() != 2 || rhsType.getNumElements() == 0)
    return std::nullopt;
  MLIRContext *ctx = op.getContext();
  auto map = [&](unsigned a, unsigned b) {
    return AffineMap::get(
        3, 0, {getAffineDimExpr(a, ctx), getAffineDimExpr(b, ctx)}, ctx);
  };
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (maps[0] != map(0, 2) || maps[2] != map(0, 1))
    return std::nullopt;
  LinearLayerShape shape;
  shape.transposed = maps[1] == map(1, 2);
  if (!shape.transposed && maps[1] != map(2, 1))
    return std::nullopt;
  shape.n = rhsType.getDimSize(shape.transposed ? 0 : 1);
  shape.k = rhsType.getDimSize(shape.transposed ? 1 : 0);
  return shape;
}

std::optional<ConvShape>
mlir::lowrank::matchConvLayer(linalg::Conv2DNchwFchwOp op) {
  auto inType = dyn_cast<RankedTensorType>(op.getDpsInputs()[0].getType());
  auto fType = dyn_cast<RankedTensorType>(op.getDpsInputs()[1].getType());
  auto resType = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!inType || !fType || !resType || !fType.getElementType().isF32() ||
      !inType.getElementType().isF32() || !fType.hasStaticShape() ||
      !resType.hasStaticShape() || !inType.hasStaticShape() ||
      fType.getNumElements() == 0)
    return std::nullopt;
  auto strides = llvm::to_vector(op.getStrides().getValues<int64_t>());
  auto dilations = llvm::to_vector(op.getDilations().getValues<int64_t>());
  ConvShape s;
  s.n = inType.getDimSize(0);
  s.c = inType.getDimSize(1);
  s.h = inType.getDimSize(2);
  s.w = inType.getDimSize(3);
  s.f = fType.getDimSize(0);
  s.kh = fType.getDimSize(2);
  s.kw = fType.getDimSize(3);
  s.sh = strides[0];
  s.sw = strides[1];
  s.dh = dilations[0];
  s.dw = dilations[1];
  return s;
}
