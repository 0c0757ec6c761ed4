//===- LowerQComm.cpp - qcomm ops on memrefs to CPU runtime calls ---------===//
//
// The CPU target's lowering of the qcomm compute ops to the quantization
// kernels of runtime/include/lathe/runtime/Quant.h (the dialect itself knows
// nothing of the runtime). The communication ops are expanded into compute
// ops and shard collectives on tensors (qcomm-expand-collectives); the shard
// collectives are lowered by their own bufferization models.
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/QComm/QCommOps.h"
#include "lathe/Target/CPU/Passes.h"
#include "lathe/Target/CPU/RuntimeCalls.h"

#include "ContiguousCopy.h"
#include "lathe/runtime/Quant.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECPULOWERQCOMM
#include "lathe/Target/CPU/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;
using namespace mlir::lathe::qcomm;

namespace {

constexpr int64_t kStochastic = LATHE_QUANT_STOCHASTIC;
constexpr int64_t kAccumulate = LATHE_QUANT_ACCUMULATE;

Value i64(RewriterBase &rewriter, Location loc, int64_t value) {
  return arith::ConstantIntOp::create(rewriter, loc, value, 64);
}

/// The kernels read and write contiguous buffers. Operands of another layout
/// go through a fresh identity-layout copy: copied in before the call, inits
/// copied back after it, freed after that.
class ContiguousOperands {
public:
  ContiguousOperands(IRRewriter &rewriter, Operation *op)
      : rewriter(rewriter), op(op) {}

  Value get(Value buffer, bool isInit) {
    if (isDenseRowMajor(cast<MemRefType>(buffer.getType())))
      return buffer;
    rewriter.setInsertionPoint(op);
    Value copy = copyToDenseBuffer(rewriter, op->getLoc(), buffer);
    copies.push_back({copy, isInit ? buffer : Value()});
    return copy;
  }

  /// Copies inits back and frees the copies, after `op`.
  void finish() {
    if (copies.empty())
      return;
    rewriter.setInsertionPointAfter(op);
    Location loc = op->getLoc();
    for (auto [copy, init] : copies) {
      if (init)
        memref::CopyOp::create(rewriter, loc, copy, init);
      memref::DeallocOp::create(rewriter, loc, copy);
    }
  }

private:
  IRRewriter &rewriter;
  Operation *op;
  SmallVector<std::pair<Value, Value>> copies;
};

void lowerQuantize(ModuleOp module, QuantizeOp op, IRRewriter &rewriter) {
  Location loc = op.getLoc();
  ContiguousOperands operands(rewriter, op);
  Value x = operands.get(op.getInput(), false);
  Value q = operands.get(op.getQInit(), true);
  Value scales = operands.get(op.getScalesInit(), true);
  operands.finish();
  rewriter.setInsertionPoint(op);
  Value seed = op.getSeed() ? op.getSeed() : i64(rewriter, loc, 0);
  lathe::emitRuntimeCall(
      module, rewriter, loc, "lathe_rt_quantize_f32",
      {x, q, scales, i64(rewriter, loc, op.getBits()),
       i64(rewriter, loc, op.getGroupSize()),
       i64(rewriter, loc, op.isStochastic() ? kStochastic : 0), seed});
  rewriter.eraseOp(op);
}

void lowerDequantize(ModuleOp module, DequantizeOp op, IRRewriter &rewriter) {
  Location loc = op.getLoc();
  ContiguousOperands operands(rewriter, op);
  Value q = operands.get(op.getQ(), false);
  Value scales = operands.get(op.getScales(), false);
  Value y = operands.get(op.getInit(), true);
  operands.finish();
  rewriter.setInsertionPoint(op);
  lathe::emitRuntimeCall(module, rewriter, loc, "lathe_rt_dequantize_f32",
                         {q, scales, y},
                         {static_cast<int64_t>(op.getBits()),
                          static_cast<int64_t>(op.getGroupSize()),
                          op.getAccumulate() ? kAccumulate : 0});
  rewriter.eraseOp(op);
}

void lowerDequantizeReduce(ModuleOp module, DequantizeReduceOp op,
                           IRRewriter &rewriter) {
  Location loc = op.getLoc();
  ContiguousOperands operands(rewriter, op);
  Value q = operands.get(op.getQ(), false);
  Value scales = operands.get(op.getScales(), false);
  Value y = operands.get(op.getInit(), true);
  operands.finish();
  rewriter.setInsertionPoint(op);
  lathe::emitRuntimeCall(
      module, rewriter, loc, "lathe_rt_dequantize_reduce_f32", {q, scales, y},
      {static_cast<int64_t>(op.getParts()), static_cast<int64_t>(op.getBits()),
       static_cast<int64_t>(op.getGroupSize()),
       op.getAccumulate() ? kAccumulate : 0});
  rewriter.eraseOp(op);
}

void lowerDequantizeReduceRequantize(ModuleOp module,
                                     DequantizeReduceRequantizeOp op,
                                     IRRewriter &rewriter) {
  Location loc = op.getLoc();
  ContiguousOperands operands(rewriter, op);
  Value q = operands.get(op.getQ(), false);
  Value scales = operands.get(op.getScales(), false);
  Value qOut = operands.get(op.getQInit(), true);
  Value scalesOut = operands.get(op.getScalesInit(), true);
  operands.finish();
  rewriter.setInsertionPoint(op);
  Value seed = op.getSeed() ? op.getSeed() : i64(rewriter, loc, 0);
  auto constant = [&](int64_t v) { return i64(rewriter, loc, v); };
  lathe::emitRuntimeCall(
      module, rewriter, loc, "lathe_rt_dequantize_reduce_requantize_f32",
      {q, scales, qOut, scalesOut, constant(op.getParts()),
       constant(op.getBits()), constant(op.getGroupSize()),
       constant(op.getOutBits()), constant(op.getOutGroupSize()),
       constant(op.isStochastic() ? kStochastic : 0), seed});
  rewriter.eraseOp(op);
}

void lowerHadamard(ModuleOp module, HadamardOp op, IRRewriter &rewriter) {
  Location loc = op.getLoc();
  ContiguousOperands operands(rewriter, op);
  Value x = operands.get(op.getInput(), false);
  Value y = operands.get(op.getInit(), true);
  operands.finish();
  rewriter.setInsertionPoint(op);
  lathe::emitRuntimeCall(module, rewriter, loc, "lathe_rt_hadamard32_f32",
                         {x, y});
  rewriter.eraseOp(op);
}

struct LatheCPULowerQComm
    : public lathe::impl::LatheCPULowerQCommBase<LatheCPULowerQComm> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      auto dps = dyn_cast<DestinationStyleOpInterface>(op);
      if (dps && isa<QCommDialect>(op->getDialect()) &&
          dps.hasPureBufferSemantics())
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (Operation *op : ops) {
      if (auto quantize = dyn_cast<QuantizeOp>(op))
        lowerQuantize(module, quantize, rewriter);
      else if (auto dequantize = dyn_cast<DequantizeOp>(op))
        lowerDequantize(module, dequantize, rewriter);
      else if (auto reduce = dyn_cast<DequantizeReduceOp>(op))
        lowerDequantizeReduce(module, reduce, rewriter);
      else if (auto fused = dyn_cast<DequantizeReduceRequantizeOp>(op))
        lowerDequantizeReduceRequantize(module, fused, rewriter);
      else
        lowerHadamard(module, cast<HadamardOp>(op), rewriter);
    }
  }
};

} // namespace
