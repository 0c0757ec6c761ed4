//===- BufferizableOpInterfaceImpl.cpp - Bufferizing qcomm ops ------------===//
//
// The compute ops bufferize to the same op on buffers (the CPU target lowers
// that form to runtime calls). The communication ops have no model: they are
// expanded into compute ops and shard collectives on tensors first.
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/QComm/QCommOps.h"
#include "lathe/Interfaces/DpsBufferization.h"

#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::lathe::qcomm;

namespace {

/// qcomm.quantize: two inits (bytes and scales) written in place, and an
/// optional scalar seed that stays as it is (DpsKernelBufferization would ask
/// for a buffer of every operand).
struct QuantizeBufferization
    : public bufferization::DstBufferizableOpInterfaceExternalModel<
          QuantizeBufferization, QuantizeOp> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const bufferization::BufferizationOptions &options,
                          bufferization::BufferizationState &state) const {
    auto quantize = cast<QuantizeOp>(op);
    SmallVector<Value> buffers;
    for (Value operand :
         {quantize.getInput(), quantize.getQInit(), quantize.getScalesInit()}) {
      FailureOr<Value> buffer =
          bufferization::getBuffer(rewriter, operand, options, state);
      if (failed(buffer))
        return failure();
      buffers.push_back(*buffer);
    }
    rewriter.setInsertionPoint(op);
    auto newOp =
        QuantizeOp::create(rewriter, op->getLoc(), TypeRange{}, buffers[0],
                           buffers[1], buffers[2], quantize.getSeed(),
                           quantize.getBitsAttr(), quantize.getGroupSizeAttr());
    newOp->setDiscardableAttrs(op->getDiscardableAttrDictionary());
    bufferization::replaceOpWithBufferizedValues(rewriter, op,
                                                 {buffers[1], buffers[2]});
    return success();
  }
};

} // namespace

void mlir::lathe::qcomm::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, QCommDialect *) {
    QuantizeOp::attachInterface<QuantizeBufferization>(*ctx);
    DequantizeOp::attachInterface<lathe::DpsKernelBufferization<DequantizeOp>>(
        *ctx);
    DequantizeReduceOp::attachInterface<
        lathe::DpsKernelBufferization<DequantizeReduceOp>>(*ctx);
    HadamardOp::attachInterface<lathe::DpsKernelBufferization<HadamardOp>>(
        *ctx);
  });
}
