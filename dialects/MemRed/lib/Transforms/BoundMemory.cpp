//===- BoundMemory.cpp - Bound attention memory to a budget ---------------===//

#include "lathe/Dialect/MemRed/MemRedOps.h"
#include "lathe/Dialect/MemRed/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>

namespace mlir::lathe::memred {
#define GEN_PASS_DEF_MEMREDBOUNDMEMORY
#include "lathe/Dialect/MemRed/Passes.h.inc"
} // namespace mlir::lathe::memred

using namespace mlir;
using namespace mlir::lathe::memred;

FailureOr<int64_t> mlir::lathe::memred::parseByteSize(StringRef text) {
  text = text.trim();
  double multiplier = 1.0;
  for (auto [suffix, m] : {std::pair<StringRef, double>{"KiB", 1024.0},
                           {"MiB", 1024.0 * 1024.0},
                           {"GiB", 1024.0 * 1024.0 * 1024.0},
                           {"B", 1.0}}) {
    if (text.consume_back(suffix)) {
      multiplier = m;
      break;
    }
  }
  text = text.trim();
  double value;
  if (text.empty() || text.getAsDouble(value) || !std::isfinite(value) ||
      value < 0)
    return failure();
  double bytes = value * multiplier;
  if (bytes > 9.0e18)
    return failure();
  return static_cast<int64_t>(bytes);
}

namespace {

/// Working set of the chunked kernel: per worker, a qc x kc score block,
/// a qc x dv accumulator and two qc row statistics (f32).
int64_t workingSet(int64_t qc, int64_t kc, int64_t dv, int64_t workers) {
  return workers * 4 * (qc * kc + qc * dv + 2 * qc);
}

struct Choice {
  int64_t qChunk = 0, kvChunk = 0, bytes = 0;
};

/// The largest chunks (q <= 128, kv <= 512, powers of two clamped to the
/// sequence) whose working set fits; kv first (fewer rescalings).
std::optional<Choice> chooseChunks(int64_t lq, int64_t lk, int64_t dv,
                                   int64_t workers, int64_t budget) {
  std::optional<Choice> best;
  for (int64_t kc = 512; kc >= 1; kc /= 2) {
    int64_t k = std::min(kc, lk);
    for (int64_t qcand = 128; qcand >= 1; qcand /= 2) {
      int64_t q = std::min(qcand, lq);
      int64_t bytes = workingSet(q, k, dv, workers);
      if (bytes > budget)
        continue;
      // Prefer more scores per block; ties: the larger kv chunk (seen first).
      if (!best || q * k > best->qChunk * best->kvChunk)
        best = Choice{q, k, bytes};
      break;
    }
  }
  return best;
}

struct MemRedBoundMemory
    : public lathe::memred::impl::MemRedBoundMemoryBase<MemRedBoundMemory> {
  using MemRedBoundMemoryBase::MemRedBoundMemoryBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    FailureOr<int64_t> budgetBytes = parseByteSize(budget);
    if (failed(budgetBytes)) {
      func.emitError() << "memred-bound-memory: cannot parse budget '" << budget
                       << "' (expected bytes, or a number with a KiB, MiB or "
                          "GiB suffix, e.g. budget=64MiB)";
      return signalPassFailure();
    }
    if (workers < 1) {
      func.emitError() << "memred-bound-memory: expects workers >= 1, got "
                       << static_cast<int64_t>(workers);
      return signalPassFailure();
    }
    SmallVector<AttentionOp> ops;
    func.walk([&](AttentionOp op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    bool failedAny = false;
    for (AttentionOp op : ops) {
      Builder b(&getContext());
      FailureOr<int64_t> scoreBytes = op.getScoreBytes();
      if (failed(scoreBytes) || ShapedType::isDynamic(op.getValueDim())) {
        op.emitOpError("has dynamic sizes: memred-bound-memory cannot tell "
                       "whether its scores fit the budget of ")
            << *budgetBytes << " bytes (make the sequence lengths static)";
        failedAny = true;
        continue;
      }
      SmallVector<NamedAttribute> decision = {
          b.getNamedAttr("pass", b.getStringAttr("memred-bound-memory")),
          b.getNamedAttr("score_bytes", b.getI64IntegerAttr(*scoreBytes)),
          b.getNamedAttr("budget_bytes", b.getI64IntegerAttr(*budgetBytes))};
      if (*scoreBytes <= *budgetBytes) {
        decision.push_back(
            b.getNamedAttr("action", b.getStringAttr("kept: scores fit")));
        op->setAttr("lathe.decision", b.getDictionaryAttr(decision));
        continue;
      }
      std::optional<Choice> choice =
          chooseChunks(op.getQueryLength(), op.getKeyLength(), op.getValueDim(),
                       workers, *budgetBytes);
      if (!choice) {
        op.emitOpError("cannot be bounded to ")
            << *budgetBytes << " bytes: even a 1 x 1 chunk needs "
            << workingSet(1, 1, op.getValueDim(), workers) << " bytes with "
            << static_cast<int64_t>(workers) << " workers (score block, "
            << op.getValueDim()
            << "-wide accumulator, row statistics); raise the budget";
        failedAny = true;
        continue;
      }
      decision.push_back(b.getNamedAttr("action", b.getStringAttr("chunked")));
      decision.push_back(
          b.getNamedAttr("q_chunk", b.getI64IntegerAttr(choice->qChunk)));
      decision.push_back(
          b.getNamedAttr("kv_chunk", b.getI64IntegerAttr(choice->kvChunk)));
      decision.push_back(b.getNamedAttr("working_set_bytes",
                                        b.getI64IntegerAttr(choice->bytes)));
      decision.push_back(
          b.getNamedAttr("workers", b.getI64IntegerAttr(workers)));
      rewriter.setInsertionPoint(op);
      auto chunked = ChunkedAttentionOp::create(
          rewriter, op.getLoc(), op->getResultTypes(), op.getQuery(),
          op.getKey(), op.getValue(), op.getBiases(), op.getInit(),
          op.getScaleAttr(), b.getI64IntegerAttr(choice->qChunk),
          b.getI64IntegerAttr(choice->kvChunk));
      chunked->setAttr("lathe.decision", b.getDictionaryAttr(decision));
      rewriter.replaceOp(op, chunked->getResults());
    }
    if (failedAny)
      signalPassFailure();
  }
};

} // namespace
