//===- BufferizableOpInterfaceImpl.cpp - Bufferizing sparsegcn ops --------===//

#include "lathe/Dialect/SparseGCN/SparseGCNOps.h"
#include "lathe/Interfaces/DpsBufferization.h"

#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::lathe::sparsegcn;

void mlir::lathe::sparsegcn::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, SparseGCNDialect *) {
    AggregateOp::attachInterface<lathe::DpsKernelBufferization<AggregateOp>>(
        *ctx);
    TiledAggregateOp::attachInterface<
        lathe::DpsKernelBufferization<TiledAggregateOp>>(*ctx);
    TransposeOp::attachInterface<lathe::DpsKernelBufferization<TransposeOp>>(
        *ctx);
  });
}
