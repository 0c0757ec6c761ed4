//===- BufferizableOpInterfaceImpl.cpp - Bufferizing qcomm ops ------------===//
//
// The compute ops bufferize to the same op on buffers (the CPU target lowers
// that form to runtime calls); a seed operand stays a scalar. The communication
// ops have no model: they are expanded into compute ops and shard collectives
// on tensors first.
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/QComm/QCommOps.h"
#include "lathe/Interfaces/DpsBufferization.h"

#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::lathe::qcomm;

void mlir::lathe::qcomm::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, QCommDialect *) {
    QuantizeOp::attachInterface<lathe::DpsKernelBufferization<QuantizeOp>>(
        *ctx);
    DequantizeOp::attachInterface<lathe::DpsKernelBufferization<DequantizeOp>>(
        *ctx);
    DequantizeReduceOp::attachInterface<
        lathe::DpsKernelBufferization<DequantizeReduceOp>>(*ctx);
    DequantizeReduceRequantizeOp::attachInterface<
        lathe::DpsKernelBufferization<DequantizeReduceRequantizeOp>>(*ctx);
    HadamardOp::attachInterface<lathe::DpsKernelBufferization<HadamardOp>>(
        *ctx);
  });
}
