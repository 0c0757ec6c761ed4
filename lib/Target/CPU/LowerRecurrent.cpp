//===- LowerRecurrent.cpp - lathe.rnn on memrefs to a runtime call --------===//

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Target/CPU/Passes.h"
#include "lathe/Target/CPU/RuntimeCalls.h"
#include "lathe/runtime/Runtime.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECPULOWERRECURRENT
#include "lathe/Target/CPU/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

struct LatheCPULowerRecurrent
    : public lathe::impl::LatheCPULowerRecurrentBase<LatheCPULowerRecurrent> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    IRRewriter rewriter(&getContext());
    SmallVector<RnnOp> ops;
    module.walk([&](RnnOp op) {
      if (op.hasPureBufferSemantics())
        ops.push_back(op);
    });
    for (RnnOp op : ops) {
      rewriter.setInsertionPoint(op);
      int64_t flags = LATHE_RNN_LSTM;
      if (op.getCell() == RnnCell::gru)
        flags = LATHE_RNN_GRU;
      else if (op.getCell() == RnnCell::lbr_gru)
        flags = LATHE_RNN_LBR_GRU;
      if (op.getReverse())
        flags |= LATHE_RNN_REVERSE;
      if (op.getBatchFirst())
        flags |= LATHE_RNN_BATCH_FIRST;
      if (op.getRecurrentBias())
        flags |= LATHE_RNN_HAS_RECURRENT_BIAS;
      if (isConstantBuffer(op.getWeights()) &&
          isConstantBuffer(op.getRecurrentWeights()))
        flags |= LATHE_RNN_CONST_WEIGHTS;
      int64_t gates = 0;
      for (auto [i, k] : llvm::enumerate(op.getGates()))
        gates |= k << (4 * i);
      // Absent operands pass a present memref; the runtime ignores it.
      Value h0 = op.getInitialH();
      Value rb = op.getRecurrentBias() ? op.getRecurrentBias() : op.getBias();
      Value c0 = op.getInitialC() ? op.getInitialC() : h0;
      ValueRange inits = op.getInits();
      Value cT = inits.size() > 2 ? inits[2] : inits[1];
      emitRuntimeCall(module, rewriter, op.getLoc(), "lathe_rt_rnn_f32",
                      {op.getInput(), op.getWeights(), op.getRecurrentWeights(),
                       op.getBias(), rb, h0, c0, inits[0], inits[1], cT},
                      {flags, gates});
      rewriter.eraseOp(op);
      ++numCalls;
    }
  }
};

} // namespace
