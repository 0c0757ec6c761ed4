//===- BufferizableOpInterfaceImpl.cpp - Bufferizing sparsegcn ops --------===//

#include "lathe/Dialect/SparseGCN/SparseGCNOps.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::bufferization;
using namespace mlir::lathe::sparsegcn;

namespace {

/// Both aggregation ops read every operand and write `init` in place; the
/// memref form is the same op with no results and buffer operands.
template <typename OpTy>
struct AggregateOpInterface
    : public DstBufferizableOpInterfaceExternalModel<AggregateOpInterface<OpTy>,
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
    // `init` is the last operand of both ops.
    Value init = buffers.back();
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

void mlir::lathe::sparsegcn::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, SparseGCNDialect *) {
    AggregateOp::attachInterface<AggregateOpInterface<AggregateOp>>(*ctx);
    TiledAggregateOp::attachInterface<AggregateOpInterface<TiledAggregateOp>>(
        *ctx);
  });
}
