//===- BufferizableOpInterfaceImpl.cpp - Bufferizing memred ops -----------===//

#include "lathe/Dialect/MemRed/MemRedOps.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::bufferization;
using namespace mlir::lathe::memred;

namespace {

/// Every memred op reads all operands and writes `init` (the DPS init) in
/// place; its memref form is the same op with buffer operands and no result.
template <typename OpTy>
struct MemRedOpInterface
    : public DstBufferizableOpInterfaceExternalModel<MemRedOpInterface<OpTy>,
                                                     OpTy> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    SmallVector<Value> buffers;
    for (Value operand : op->getOperands()) {
      FailureOr<Value> buffer = getBuffer(rewriter, operand, options, state);
      if (failed(buffer))
        return failure();
      buffers.push_back(*buffer);
    }
    Value init = buffers[cast<OpTy>(op).getInitMutable().getOperandNumber()];
    rewriter.setInsertionPoint(op);
    OperationState result(op->getLoc(), op->getName());
    result.addOperands(buffers);
    result.propertiesAttr = op->getPropertiesAsAttribute();
    result.addAttributes(op->getDiscardableAttrDictionary().getValue());
    rewriter.create(result);
    replaceOpWithBufferizedValues(rewriter, op, init);
    return success();
  }
};

} // namespace

void mlir::lathe::memred::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, MemRedDialect *) {
    AttentionOp::attachInterface<MemRedOpInterface<AttentionOp>>(*ctx);
    ChunkedAttentionOp::attachInterface<MemRedOpInterface<ChunkedAttentionOp>>(
        *ctx);
    CrossModalReduceOp::attachInterface<MemRedOpInterface<CrossModalReduceOp>>(
        *ctx);
  });
}
