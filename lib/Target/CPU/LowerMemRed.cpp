//===- LowerMemRed.cpp - memred ops on memrefs to CPU runtime calls -------===//
//
// The CPU target's lowering of the memred dialect (the dialect itself knows
// nothing of the runtime).
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/MemRed/MemRedOps.h"
#include "lathe/Target/CPU/Passes.h"
#include "lathe/Target/CPU/RuntimeCalls.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECPULOWERMEMRED
#include "lathe/Target/CPU/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe::memred;

namespace {

Value i64(RewriterBase &rewriter, Location loc, int64_t value) {
  return arith::ConstantIntOp::create(rewriter, loc, value, 64);
}

template <typename OpTy>
void lowerAttention(ModuleOp module, OpTy op, int64_t qChunk, int64_t kvChunk,
                    IRRewriter &rewriter) {
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  ValueRange biases = op.getBiases();
  Value b0 = biases.size() > 0 ? biases[0] : op.getQuery();
  Value b1 = biases.size() > 1 ? biases[1] : op.getQuery();
  Value scale = arith::ConstantOp::create(rewriter, loc, op.getScaleAttr());
  SmallVector<Value> args = {op.getQuery(), op.getKey(), op.getValue(), b0, b1,
                             op.getInit()};
  // With a log-sum-exp init (a forward kept for memred.attention_grad), the
  // kernel variant that writes it.
  if (op.getLse())
    args.push_back(op.getLse());
  args.append({scale, i64(rewriter, loc, qChunk), i64(rewriter, loc, kvChunk),
               i64(rewriter, loc, static_cast<int64_t>(biases.size()))});
  lathe::emitRuntimeCall(module, rewriter, loc,
                         op.getLse() ? "lathe_rt_chunked_attention_lse_f32"
                                     : "lathe_rt_chunked_attention_f32",
                         args);
  rewriter.eraseOp(op);
}

/// memred.attention_grad -> lathe_rt_chunked_attention_backward_f32; the
/// gradient of bias i goes in slot i, flagged in the mask (unused slots get
/// a placeholder the kernel ignores).
void lowerAttentionGrad(ModuleOp module, AttentionGradOp op,
                        IRRewriter &rewriter) {
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  ValueRange biases = op.getBiases();
  Value placeholder = op.getQuery();
  Value b[2] = {placeholder, placeholder}, db[2] = {placeholder, placeholder};
  for (auto [i, bias] : llvm::enumerate(biases))
    b[i] = bias;
  int64_t mask = 0;
  for (auto [pos, i] : llvm::enumerate(op.getBiasGradIndices())) {
    db[i] = op.getBiasGrads()[pos];
    mask |= int64_t(1) << i;
  }
  Value scale = arith::ConstantOp::create(rewriter, loc, op.getScaleAttr());
  lathe::emitRuntimeCall(
      module, rewriter, loc, "lathe_rt_chunked_attention_backward_f32",
      {op.getQuery(), op.getKey(), op.getValue(), op.getOut(), op.getOutGrad(),
       op.getLse(), b[0], b[1], op.getQueryGrad(), op.getKeyGrad(),
       op.getValueGrad(), db[0], db[1], scale,
       i64(rewriter, loc, op.getQChunkSize()),
       i64(rewriter, loc, op.getKvChunkSize()),
       i64(rewriter, loc, static_cast<int64_t>(biases.size())),
       i64(rewriter, loc, mask)});
  rewriter.eraseOp(op);
}

void lowerReduce(ModuleOp module, CrossModalReduceOp op, IRRewriter &rewriter) {
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  Value recent = arith::ConstantOp::create(rewriter, loc, op.getRecentAttr());
  Value keep = arith::ConstantOp::create(rewriter, loc, op.getKeepAttr());
  Value scale = arith::ConstantOp::create(rewriter, loc, op.getScaleAttr());
  lathe::emitRuntimeCall(module, rewriter, loc,
                         "lathe_rt_cross_modal_reduce_f32",
                         {op.getQueries(), op.getKeys(), op.getTokens(),
                          op.getInit(), recent, keep, scale});
  rewriter.eraseOp(op);
}

/// memref.bank_append -> `%n = call @lathe_rt_bank_append_policy_f32(...)
/// -> i64`
/// (the one memred kernel with a result: the new count).
void lowerBankAppend(ModuleOp module, BankAppendOp op, IRRewriter &rewriter) {
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  Value count = arith::IndexCastOp::create(rewriter, loc, rewriter.getI64Type(),
                                           op.getCount());
  Value recent = arith::ConstantOp::create(rewriter, loc, op.getRecentAttr());
  Value keep = arith::ConstantOp::create(rewriter, loc, op.getKeepAttr());
  Value scale = arith::ConstantOp::create(rewriter, loc, op.getScaleAttr());
  Value step = op.getStep() ? arith::IndexCastOp::create(rewriter, loc,
                                                         rewriter.getI64Type(),
                                                         op.getStep())
                                  .getResult()
                            : i64(rewriter, loc, 0);
  Value newCount = lathe::emitRuntimeCall(
      module, rewriter, loc, "lathe_rt_bank_append_policy_f32",
      {op.getFrame(), op.getQueries(), op.getBank(), count, recent, keep, scale,
       i64(rewriter, loc, static_cast<int64_t>(op.getPolicy())),
       i64(rewriter, loc, op.getSeed()), step},
      rewriter.getI64Type())[0];
  newCount = arith::IndexCastOp::create(rewriter, loc, rewriter.getIndexType(),
                                        newCount);
  rewriter.replaceOp(op, newCount);
}

struct LatheCPULowerMemRed
    : public lathe::impl::LatheCPULowerMemRedBase<LatheCPULowerMemRed> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      auto dps = dyn_cast<DestinationStyleOpInterface>(op);
      if (dps && isa<MemRedDialect>(op->getDialect()) &&
          dps.hasPureBufferSemantics())
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (Operation *op : ops) {
      if (auto attn = dyn_cast<AttentionOp>(op))
        lowerAttention(module, attn, /*qChunk=*/0, /*kvChunk=*/0, rewriter);
      else if (auto chunked = dyn_cast<ChunkedAttentionOp>(op))
        lowerAttention(module, chunked, chunked.getQChunkSize(),
                       chunked.getKvChunkSize(), rewriter);
      else if (auto grad = dyn_cast<AttentionGradOp>(op))
        lowerAttentionGrad(module, grad, rewriter);
      else if (auto bank = dyn_cast<BankAppendOp>(op))
        lowerBankAppend(module, bank, rewriter);
      else
        lowerReduce(module, cast<CrossModalReduceOp>(op), rewriter);
    }
  }
};

} // namespace
