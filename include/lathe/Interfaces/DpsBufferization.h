//===- DpsBufferization.h - Bufferizing Lathe's DPS kernel ops --*- C++ -*-===//
//
// Lathe's kernel ops (lathe.matmul, memred's attention ops, sparsegcn's
// aggregations) are in destination style and work on tensors or on memrefs:
// the memref form is the same op with buffer operands and no results. One
// bufferization model serves them all.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_INTERFACES_DPSBUFFERIZATION_H
#define LATHE_INTERFACES_DPSBUFFERIZATION_H

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir {
namespace lathe {

/// Verifies the two forms of a kernel op: all operands tensors (then one
/// result of `init`'s type) or all memrefs (then no results).
inline LogicalResult verifyDpsKernelForm(Operation *op, Value init,
                                         ResultRange results) {
  auto initType = cast<ShapedType>(init.getType());
  bool buffers = isa<MemRefType>(initType);
  for (Value v : op->getOperands())
    if (isa<MemRefType>(v.getType()) != buffers)
      return op->emitOpError("expects all operands to be tensors or all to be "
                             "memrefs");
  if (buffers && !results.empty())
    return op->emitOpError("on memrefs has no results");
  if (!buffers &&
      (results.size() != 1 || results.front().getType() != initType))
    return op->emitOpError("on tensors returns one result of the init type ")
           << initType;
  return success();
}

/// Memory effects of a kernel op in its memref form: it reads every memref
/// operand and writes `init`; in its tensor form it has none. (Non-memref
/// operands, e.g. a bank's count, have no memory effects.)
inline void getDpsKernelEffects(
    Operation *op, Value init,
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  if (!isa<MemRefType>(init.getType()))
    return;
  for (OpOperand &operand : op->getOpOperands()) {
    if (!isa<MemRefType>(operand.get().getType()))
      continue;
    effects.emplace_back(MemoryEffects::Read::get(), &operand,
                         SideEffects::DefaultResource::get());
    if (operand.get() == init)
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
  }
}

/// Memory effects of a kernel op with several inits (lathe.rnn,
/// sparsegcn.transpose) in its memref form: it reads every memref operand and
/// writes each of its DPS inits; in its tensor form it has none.
inline void getDpsKernelEffects(
    DestinationStyleOpInterface op,
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  if (!op.hasPureBufferSemantics())
    return;
  for (OpOperand &operand : op->getOpOperands()) {
    if (!isa<MemRefType>(operand.get().getType()))
      continue;
    effects.emplace_back(MemoryEffects::Read::get(), &operand,
                         SideEffects::DefaultResource::get());
    if (op.isDpsInit(&operand))
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
  }
}

/// Reads every tensor operand, writes its inits in place, and bufferizes to
/// the same op (same properties and attributes) on the operands' buffers;
/// scalar operands (a seed, a count) are kept as they are.
template <typename OpTy>
struct DpsKernelBufferization
    : public bufferization::DstBufferizableOpInterfaceExternalModel<
          DpsKernelBufferization<OpTy>, OpTy> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const bufferization::BufferizationOptions &options,
                          bufferization::BufferizationState &state) const {
    SmallVector<Value> buffers;
    for (Value operand : op->getOperands()) {
      if (!isa<TensorType>(operand.getType())) {
        buffers.push_back(operand);
        continue;
      }
      FailureOr<Value> buffer =
          bufferization::getBuffer(rewriter, operand, options, state);
      if (failed(buffer))
        return failure();
      buffers.push_back(*buffer);
    }
    SmallVector<Value> inits;
    for (OpOperand &init :
         cast<DestinationStyleOpInterface>(op).getDpsInitsMutable())
      inits.push_back(buffers[init.getOperandNumber()]);
    rewriter.setInsertionPoint(op);
    OperationState result(op->getLoc(), op->getName());
    result.addOperands(buffers);
    result.propertiesAttr = op->getPropertiesAsAttribute();
    result.addAttributes(op->getDiscardableAttrDictionary().getValue());
    rewriter.create(result);
    bufferization::replaceOpWithBufferizedValues(rewriter, op, inits);
    return success();
  }
};

} // namespace lathe
} // namespace mlir

#endif // LATHE_INTERFACES_DPSBUFFERIZATION_H
