//===- RuntimeCalls.cpp - Emitting calls into the Lathe runtime -----------===//

#include "lathe/Target/CPU/RuntimeCalls.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;

/// A memref as an unranked memref (the runtime's (rank, descriptor) pair);
/// other values unchanged.
static Value asRuntimeArgument(RewriterBase &rewriter, Location loc,
                               Value operand) {
  auto type = dyn_cast<MemRefType>(operand.getType());
  if (!type)
    return operand;
  auto unranked =
      UnrankedMemRefType::get(type.getElementType(), type.getMemorySpace());
  return memref::CastOp::create(rewriter, loc, unranked, operand);
}

ValueRange mlir::lathe::emitRuntimeCall(ModuleOp module, RewriterBase &rewriter,
                                        Location loc, StringRef name,
                                        ArrayRef<Value> operands,
                                        TypeRange resultTypes) {
  SmallVector<Value> args;
  for (Value operand : operands)
    args.push_back(asRuntimeArgument(rewriter, loc, operand));
  auto callee = module.lookupSymbol<func::FuncOp>(name);
  if (!callee) {
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(module.getBody());
    callee = func::FuncOp::create(
        rewriter, loc, name,
        rewriter.getFunctionType(ValueRange(args).getTypes(), resultTypes));
    callee.setPrivate();
  }
  return func::CallOp::create(rewriter, loc, callee, args).getResults();
}

void mlir::lathe::emitRuntimeCall(ModuleOp module, RewriterBase &rewriter,
                                  Location loc, StringRef name,
                                  ArrayRef<Value> operands,
                                  ArrayRef<int64_t> scalars) {
  SmallVector<Value> args;
  for (Value operand : operands)
    args.push_back(asRuntimeArgument(rewriter, loc, operand));
  for (int64_t scalar : scalars)
    args.push_back(arith::ConstantIntOp::create(rewriter, loc, scalar, 64));
  emitRuntimeCall(module, rewriter, loc, name, args);
}

bool mlir::lathe::isConstantBuffer(Value value) {
  while (Operation *def = value.getDefiningOp()) {
    if (isa<memref::GetGlobalOp>(def))
      return true;
    if (!isa<memref::TransposeOp, memref::CastOp, memref::SubViewOp,
             memref::ReinterpretCastOp, memref::CollapseShapeOp,
             memref::ExpandShapeOp>(def))
      return false;
    value = def->getOperand(0);
  }
  return false;
}
