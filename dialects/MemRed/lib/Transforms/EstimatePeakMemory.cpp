//===- EstimatePeakMemory.cpp - Static peak memory of bufferized code -----===//

#include "lathe/Dialect/MemRed/MemRedOps.h"
#include "lathe/Dialect/MemRed/Passes.h"
#include "lathe/Interfaces/Target.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mlir::lathe::memred {
#define GEN_PASS_DEF_MEMREDESTIMATEPEAKMEMORY
#include "lathe/Dialect/MemRed/Passes.h.inc"
} // namespace mlir::lathe::memred

using namespace mlir;
using namespace mlir::lathe::memred;

namespace {

/// Runtime scratch of lathe_rt_chunked_attention_f32 for one call: per
/// worker a bq x bk score block, a bq x Dv accumulator and two row
/// statistics (f32), with the runtime's default chunks for memred.attention.
template <typename OpTy>
int64_t attentionScratch(OpTy op, int64_t qChunk, int64_t kvChunk,
                         int64_t workers) {
  int64_t lq = op.getQueryLength(), lk = op.getKeyLength(),
          dv = op.getValueDim(), batch = op.getBatchSize();
  // Keys that are the valid rows of a bank (a subview of a static buffer):
  // at most the buffer's rows.
  if (ShapedType::isDynamic(lk))
    if (auto view = op.getKey().template getDefiningOp<memref::SubViewOp>()) {
      MemRefType source = view.getSourceType();
      if (source.getRank() == view.getType().getRank())
        lk = source.getDimSize(source.getRank() - 2);
    }
  if (ShapedType::isDynamic(lq) || ShapedType::isDynamic(lk) ||
      ShapedType::isDynamic(dv) || ShapedType::isDynamic(batch))
    return 0;
  int64_t bq = std::min(lq, qChunk > 0 ? qChunk : int64_t(64));
  int64_t bk =
      std::max<int64_t>(1, std::min(lk, kvChunk > 0 ? kvChunk : int64_t(256)));
  int64_t tasks = batch * ((lq + bq - 1) / std::max<int64_t>(bq, 1));
  int64_t team = std::max<int64_t>(1, std::min(workers, tasks));
  return team * 4 * (bq * bk + bq * dv + 2 * bq);
}

/// Runtime scratch of lathe_rt_chunked_attention_backward_f32: per worker
/// two bq x bk blocks (probabilities and their gradient), the bk-row dK/dV
/// accumulators, one batch element's dQ and row statistic D.
int64_t attentionGradScratch(AttentionGradOp op, int64_t workers) {
  auto qt = cast<ShapedType>(op.getQuery().getType());
  auto kt = cast<ShapedType>(op.getKey().getType());
  auto vt = cast<ShapedType>(op.getValue().getType());
  if (!qt.hasStaticShape() || !kt.hasStaticShape() || !vt.hasStaticShape())
    return 0;
  int64_t rank = qt.getRank(), batch = 1;
  for (int64_t s : qt.getShape().drop_back(2))
    batch *= s;
  int64_t lq = qt.getDimSize(rank - 2), d = qt.getDimSize(rank - 1),
          lk = kt.getDimSize(rank - 2), dv = vt.getDimSize(rank - 1);
  int64_t qChunk = op.getQChunkSize(), kvChunk = op.getKvChunkSize();
  int64_t bq = std::min(lq, qChunk > 0 ? qChunk : int64_t(64));
  int64_t bk = std::min(lk, kvChunk > 0 ? kvChunk : int64_t(128));
  int64_t team = std::max<int64_t>(1, std::min(workers, batch));
  return team * 4 *
         (2 * bq * bk + std::max<int64_t>(1, bk * d) +
          std::max<int64_t>(1, bk * dv) + std::max<int64_t>(1, lq * d) + lq);
}

struct Estimate {
  int64_t live = 0, peak = 0, allocations = 0, dynamic = 0;
  DenseMap<Value, int64_t> sizes;
};

Value traceToAllocation(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (auto view = dyn_cast<ViewLikeOpInterface>(def)) {
      v = view.getViewSource();
      continue;
    }
    if (isa<memref::CastOp>(def)) {
      v = def->getOperand(0);
      continue;
    }
    break;
  }
  return v;
}

void walkBlock(Block &block, Estimate &e, int64_t workers) {
  for (Operation &op : block) {
    if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
      MemRefType type = alloc.getType();
      ++e.allocations;
      if (!type.hasStaticShape() || !type.getElementType().isIntOrFloat()) {
        ++e.dynamic;
        continue;
      }
      int64_t bytes =
          type.getNumElements() * ((type.getElementTypeBitWidth() + 7) / 8);
      e.sizes[alloc.getResult()] = bytes;
      e.live += bytes;
      e.peak = std::max(e.peak, e.live);
      continue;
    }
    if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
      Value root = traceToAllocation(dealloc.getMemref());
      auto it = e.sizes.find(root);
      if (it != e.sizes.end()) {
        e.live -= it->second;
        e.sizes.erase(it);
      }
      continue;
    }
    int64_t transient = 0;
    if (auto attn = dyn_cast<AttentionOp>(op);
        attn && attn.hasPureBufferSemantics())
      transient = attentionScratch(attn, 0, 0, workers);
    if (auto attn = dyn_cast<ChunkedAttentionOp>(op);
        attn && attn.hasPureBufferSemantics())
      transient = attentionScratch(attn, attn.getQChunkSize(),
                                   attn.getKvChunkSize(), workers);
    if (auto grad = dyn_cast<AttentionGradOp>(op);
        grad && grad.hasPureBufferSemantics())
      transient = attentionGradScratch(grad, workers);
    if (auto bank = dyn_cast<BankAppendOp>(op);
        bank && bank.hasPureBufferSemantics())
      transient = BankAppendOp::getScratchBytes(
          bank.getCapacity() + bank.getFrameRows(), bank.getFrameRows(),
          bank.getRowWidth(), bank.getPolicy());
    e.peak = std::max(e.peak, e.live + transient);
    for (Region &region : op.getRegions())
      for (Block &inner : region)
        walkBlock(inner, e, workers);
  }
}

} // namespace

FailureOr<PeakMemoryEstimate>
mlir::lathe::memred::estimatePeakMemory(func::FuncOp func, int64_t workers) {
  if (func.isExternal())
    return failure();
  bool tensors = false;
  func.walk([&](Operation *op) {
    for (Type t : op->getResultTypes())
      tensors |= isa<TensorType>(t);
  });
  if (tensors)
    return failure();
  Estimate e;
  for (Block &block : func.getBody())
    walkBlock(block, e, workers);
  return PeakMemoryEstimate{e.peak, e.allocations, e.dynamic};
}

namespace {

struct MemRedEstimatePeakMemory
    : public lathe::memred::impl::MemRedEstimatePeakMemoryBase<
          MemRedEstimatePeakMemory> {
  using MemRedEstimatePeakMemoryBase::MemRedEstimatePeakMemoryBase;

  void runOnOperation() override {
    FailureOr<int64_t> targetWorkers =
        workers == -1 ? mlir::lathe::getTargetInteger(getOperation(), "memred",
                                                      "workers", 1)
                      : FailureOr<int64_t>(workers);
    if (failed(targetWorkers))
      return signalPassFailure();
    int64_t w = *targetWorkers;
    if (w < 1) {
      getOperation().emitError()
          << "memred-estimate-peak-memory: expects workers >= 1, got " << w;
      return signalPassFailure();
    }
    getOperation().walk([&](func::FuncOp func) {
      if (func.isExternal())
        return;
      FailureOr<PeakMemoryEstimate> e = estimatePeakMemory(func, w);
      if (failed(e)) {
        func.emitWarning() << "memred-estimate-peak-memory: '" << func.getName()
                           << "' still has tensors; run it after "
                              "bufferization (e.g. on lathe-run "
                              "--compile-to=bufferize output)";
        return;
      }
      Builder b(func.getContext());
      func->setAttr("lathe.predicted_peak_bytes",
                    b.getI64IntegerAttr(e->peakBytes));
      func->setAttr("lathe.predicted_peak_complete",
                    b.getBoolAttr(e->dynamicAllocations == 0));
      InFlightDiagnostic remark =
          func.emitRemark() << "predicted peak memory of '" << func.getName()
                            << "': " << e->peakBytes << " bytes ("
                            << e->allocations << " allocations";
      if (e->dynamicAllocations)
        remark << ", " << e->dynamicAllocations << " dynamic ones not counted";
      remark << "; memred kernel scratch for " << w
             << " workers included, other kernels' scratch not modelled)";
    });
  }
};

} // namespace
