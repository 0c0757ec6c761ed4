//===- BufferizableOpInterfaceImpl.cpp - Bufferizing Lathe core ops -------===//

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Interfaces/DpsBufferization.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::bufferization;
using namespace mlir::lathe;

namespace {

/// lathe.weight becomes a read-only view of a public, uninitialised
/// memref.global that carries the source; the runtime provides the storage.
/// Weights with the same source and type share one global, whose name is
/// stable so that the driver finds it without running the pipeline.
struct WeightOpInterface
    : public BufferizableOpInterface::ExternalModel<WeightOpInterface,
                                                    WeightOp> {
  bool isWritable(Operation *, Value, const AnalysisState &) const {
    return false;
  }

  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto weight = cast<WeightOp>(op);
    auto module = op->getParentOfType<ModuleOp>();
    if (!module)
      return op->emitOpError("must be nested in a module to be bufferized");
    auto tensorType = cast<RankedTensorType>(weight.getType());
    auto memrefType =
        MemRefType::get(tensorType.getShape(), tensorType.getElementType());

    std::string name = getExternalWeightSymbol(weight.getSource(), memrefType);
    SymbolTable &symbols = state.getSymbolTables().getSymbolTable(module);
    if (!symbols.lookup(name)) {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(module.getBody());
      auto global = memref::GlobalOp::create(
          rewriter, weight.getLoc(), name, /*sym_visibility=*/{}, memrefType,
          /*initial_value=*/{}, /*constant=*/false,
          rewriter.getI64IntegerAttr(64));
      global->setAttr(kExternalSourceAttrName, weight.getSource());
      symbols.insert(global);
    }
    replaceOpWithNewBufferizedOp<memref::GetGlobalOp>(rewriter, op, memrefType,
                                                      name);
    return success();
  }
};

} // namespace

void mlir::lathe::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, LatheDialect *) {
    WeightOp::attachInterface<WeightOpInterface>(*ctx);
    MatmulOp::attachInterface<DpsKernelBufferization<MatmulOp>>(*ctx);
    LayerNormOp::attachInterface<DpsKernelBufferization<LayerNormOp>>(*ctx);
    Conv2DOp::attachInterface<DpsKernelBufferization<Conv2DOp>>(*ctx);
    MaxPool2DOp::attachInterface<DpsKernelBufferization<MaxPool2DOp>>(*ctx);
    RnnOp::attachInterface<DpsKernelBufferization<RnnOp>>(*ctx);
  });
}
