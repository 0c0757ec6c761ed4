//===- BufferizableOpInterfaceImpl.cpp - Bufferizing memred ops -----------===//

#include "lathe/Dialect/Lathe/DpsBufferization.h"
#include "lathe/Dialect/MemRed/MemRedOps.h"

#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::lathe::memred;

void mlir::lathe::memred::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, MemRedDialect *) {
    AttentionOp::attachInterface<lathe::DpsKernelBufferization<AttentionOp>>(
        *ctx);
    ChunkedAttentionOp::attachInterface<
        lathe::DpsKernelBufferization<ChunkedAttentionOp>>(*ctx);
    CrossModalReduceOp::attachInterface<
        lathe::DpsKernelBufferization<CrossModalReduceOp>>(*ctx);
  });
}
