//===- RuntimeCalls.cpp - Emitting calls into the Lathe runtime -----------===//

#include "lathe/Target/CPU/RuntimeCalls.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;

/// A memref as an unranked memref (the runtime's (rank, descriptor) pair);
/// other values unchanged.
static Value asRuntimeArgument(OpBuilder &builder, Location loc,
                               Value operand) {
  auto type = dyn_cast<MemRefType>(operand.getType());
  if (!type)
    return operand;
  auto unranked =
      UnrankedMemRefType::get(type.getElementType(), type.getMemorySpace());
  return memref::CastOp::create(builder, loc, unranked, operand);
}

/// `@name` of `module`: the function already there, or a private
/// declaration of `type` added at the start of the module.
static func::FuncOp declareRuntimeFunction(OpBuilder &builder, ModuleOp module,
                                           Location loc, StringRef name,
                                           FunctionType type) {
  if (auto existing = module.lookupSymbol<func::FuncOp>(name))
    return existing;
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(module.getBody());
  auto callee = func::FuncOp::create(builder, loc, name, type);
  callee.setPrivate();
  return callee;
}

ValueRange mlir::lathe::emitRuntimeCall(ModuleOp module, OpBuilder &builder,
                                        Location loc, StringRef name,
                                        ArrayRef<Value> operands,
                                        TypeRange resultTypes) {
  SmallVector<Value> args;
  for (Value operand : operands)
    args.push_back(asRuntimeArgument(builder, loc, operand));
  func::FuncOp callee = declareRuntimeFunction(
      builder, module, loc, name,
      builder.getFunctionType(ValueRange(args).getTypes(), resultTypes));
  return func::CallOp::create(builder, loc, callee, args).getResults();
}

void mlir::lathe::emitRuntimeCall(ModuleOp module, OpBuilder &builder,
                                  Location loc, StringRef name,
                                  ArrayRef<Value> operands,
                                  ArrayRef<int64_t> scalars) {
  SmallVector<Value> args;
  for (Value operand : operands)
    args.push_back(asRuntimeArgument(builder, loc, operand));
  for (int64_t scalar : scalars)
    args.push_back(arith::ConstantIntOp::create(builder, loc, scalar, 64));
  emitRuntimeCall(module, builder, loc, name, args);
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
