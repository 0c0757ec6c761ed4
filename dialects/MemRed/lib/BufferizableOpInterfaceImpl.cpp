//===- BufferizableOpInterfaceImpl.cpp - Bufferizing memred ops -----------===//

#include "lathe/Dialect/MemRed/MemRedOps.h"
#include "lathe/Interfaces/DpsBufferization.h"

#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::lathe::memred;

namespace {

/// memred.bank_append: the bank is updated in place (DPS init); the new count
/// is an index result that the memref form keeps.
struct BankAppendBufferization
    : public bufferization::DstBufferizableOpInterfaceExternalModel<
          BankAppendBufferization, BankAppendOp> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const bufferization::BufferizationOptions &options,
                          bufferization::BufferizationState &state) const {
    auto bankOp = cast<BankAppendOp>(op);
    SmallVector<Value> buffers;
    for (Value operand :
         {bankOp.getFrame(), bankOp.getQueries(), bankOp.getBank()}) {
      FailureOr<Value> buffer =
          bufferization::getBuffer(rewriter, operand, options, state);
      if (failed(buffer))
        return failure();
      buffers.push_back(*buffer);
    }
    rewriter.setInsertionPoint(op);
    auto newOp = BankAppendOp::create(
        rewriter, op->getLoc(), TypeRange{rewriter.getIndexType()}, buffers[0],
        buffers[1], buffers[2], bankOp.getCount(), bankOp.getStep(),
        bankOp.getRecentAttr(), bankOp.getKeepAttr(), bankOp.getScaleAttr(),
        bankOp.getPolicyAttr(), bankOp.getSeedAttr());
    newOp->setDiscardableAttrs(op->getDiscardableAttrDictionary());
    bufferization::replaceOpWithBufferizedValues(
        rewriter, op, {buffers[2], newOp.getNewCount()});
    return success();
  }
};

} // namespace

void mlir::lathe::memred::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, MemRedDialect *) {
    AttentionOp::attachInterface<lathe::DpsKernelBufferization<AttentionOp>>(
        *ctx);
    ChunkedAttentionOp::attachInterface<
        lathe::DpsKernelBufferization<ChunkedAttentionOp>>(*ctx);
    AttentionGradOp::attachInterface<
        lathe::DpsKernelBufferization<AttentionGradOp>>(*ctx);
    CrossModalReduceOp::attachInterface<
        lathe::DpsKernelBufferization<CrossModalReduceOp>>(*ctx);
    BankAppendOp::attachInterface<BankAppendBufferization>(*ctx);
  });
}
