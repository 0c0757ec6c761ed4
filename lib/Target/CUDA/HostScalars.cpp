//===- HostScalars.cpp - Host code's scalar loads and stores of buffers ---===//
//
// lathe-cuda-host-scalars: a memref.load or memref.store in host code (an
// index read from an input tensor, a count stored into a result) reaches
// its device buffer through the runtime (lathe_cuda_read_scalar /
// lathe_cuda_write_scalar on the element's address).
//
//===----------------------------------------------------------------------===//

#include "lathe/Target/CUDA/Passes.h"

#include "lathe/Target/CPU/RuntimeCalls.h"
#include "lathe/Target/CUDA/HostBuffers.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECUDAHOSTSCALARS
#include "lathe/Target/CUDA/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

/// The bytes of one element of `type` when the runtime moves it (index is
/// 64-bit, i1 a byte); 0 when it cannot.
int64_t scalarBytes(Type type) {
  if (isa<IndexType>(type))
    return 8;
  if (!isa<IntegerType, FloatType>(type))
    return 0;
  unsigned width = type.getIntOrFloatBitWidth();
  bool fits =
      (width % 8 == 0 || (width == 1 && isa<IntegerType>(type))) && width <= 64;
  return fits ? (width + 7) / 8 : 0;
}

/// The address (i64) of the element at `indices` of `memref`: its aligned
/// pointer plus its offset in elements of `bytes` bytes. One ABI for every
/// element type.
Value elementAddress(OpBuilder &b, Location loc, Value memref,
                     ValueRange indices, int64_t bytes) {
  auto type = cast<MemRefType>(memref.getType());
  Value view = memref;
  if (type.getRank() > 0) {
    SmallVector<OpFoldResult> offsets(indices.begin(), indices.end());
    SmallVector<OpFoldResult> ones(type.getRank(), b.getIndexAttr(1));
    view = memref::SubViewOp::create(b, loc, memref, offsets, ones, ones);
  }
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, view);
  auto metadata = memref::ExtractStridedMetadataOp::create(b, loc, view);
  Value width = arith::ConstantIndexOp::create(b, loc, bytes);
  Value offset =
      arith::MulIOp::create(b, loc, metadata.getOffset(), width).getResult();
  Value address = arith::AddIOp::create(b, loc, base, offset);
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), address);
}

/// i64 bits of a scalar (zero-extended), and back.
Value toBits(OpBuilder &b, Location loc, Value v) {
  Type t = v.getType(), i64 = b.getI64Type();
  if (isa<IndexType>(t))
    return arith::IndexCastOp::create(b, loc, i64, v);
  if (auto f = dyn_cast<FloatType>(t))
    v = arith::BitcastOp::create(b, loc, b.getIntegerType(f.getWidth()), v);
  if (v.getType() != i64)
    v = arith::ExtUIOp::create(b, loc, i64, v);
  return v;
}

Value fromBits(OpBuilder &b, Location loc, Value bits, Type t) {
  if (isa<IndexType>(t))
    return arith::IndexCastOp::create(b, loc, t, bits);
  unsigned width = t.getIntOrFloatBitWidth();
  Type it = b.getIntegerType(width);
  if (width < 64)
    bits = arith::TruncIOp::create(b, loc, it, bits);
  if (isa<FloatType>(t))
    bits = arith::BitcastOp::create(b, loc, t, bits);
  return bits;
}

struct LatheCUDAHostScalars
    : public lathe::impl::LatheCUDAHostScalarsBase<LatheCUDAHostScalars> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Operation *> accesses;
    llvm::DenseSet<Value> host = findHostBuffers(module);
    module.walk([&](Operation *op) {
      if (!isa<memref::LoadOp, memref::StoreOp>(op) || !onHostCode(op))
        return;
      Value memref = isa<memref::LoadOp>(op)
                         ? cast<memref::LoadOp>(op).getMemRef()
                         : cast<memref::StoreOp>(op).getMemRef();
      // Stack memory of host code and host bookkeeping are host memory.
      if (!memref.getDefiningOp<memref::AllocaOp>() &&
          !isHostBuffer(host, memref))
        accesses.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (Operation *op : accesses) {
      rewriter.setInsertionPoint(op);
      Location loc = op->getLoc();
      auto load = dyn_cast<memref::LoadOp>(op);
      auto store = dyn_cast<memref::StoreOp>(op);
      Type t = load ? load.getType() : store.getValueToStore().getType();
      int64_t bytes = scalarBytes(t);
      if (!bytes) {
        op->emitError() << "host code " << (load ? "reads" : "writes") << " a "
                        << t << (load ? " from" : " into")
                        << " a device buffer (the CUDA target moves integers, "
                           "floats and indices of up to 8 bytes)";
        return signalPassFailure();
      }
      Value address = load ? elementAddress(rewriter, loc, load.getMemRef(),
                                            load.getIndices(), bytes)
                           : elementAddress(rewriter, loc, store.getMemRef(),
                                            store.getIndices(), bytes);
      Value width = arith::ConstantIntOp::create(rewriter, loc, bytes, 64);
      if (load) {
        Value bits = emitRuntimeCall(module, rewriter, loc,
                                     "lathe_cuda_read_scalar", {address, width},
                                     TypeRange{rewriter.getI64Type()})[0];
        rewriter.replaceOp(load, fromBits(rewriter, loc, bits, t));
        continue;
      }
      Value bits = toBits(rewriter, loc, store.getValueToStore());
      emitRuntimeCall(module, rewriter, loc, "lathe_cuda_write_scalar",
                      {address, width, bits});
      rewriter.eraseOp(store);
    }
  }
};

} // namespace
