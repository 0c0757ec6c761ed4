//===- BoundMemory.cpp - Bound attention memory to a budget ---------------===//

#include "lathe/Dialect/MemRed/MemRedOps.h"
#include "lathe/Dialect/MemRed/Passes.h"
#include "lathe/Interfaces/Target.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Dominance.h"
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

//===----------------------------------------------------------------------===//
// Streaming caches -> bounded banks
//===----------------------------------------------------------------------===//

/// A loop-carried cache [?, C] that grows by `tensor.concat` of a frame
/// [F, C] each iteration and is the key and value of one memred.attention.
struct StreamCache {
  scf::ForOp loop;
  unsigned iterIndex = 0;
  tensor::ConcatOp concat;
  Value frame;
  AttentionOp attention;
  int64_t width = 0, frameRows = 0;
  /// Rows the unbounded cache reaches (static trip count), or -1.
  int64_t finalRows = -1;
  // Chosen by the budget split.
  int64_t layer = 0, minCapacity = 0, capacity = 0;
  double keep = 0;
};

/// True when `v` is an empty tensor (zero rows), through tensor.cast.
bool isEmptyTensor(Value v) {
  while (auto cast = v.getDefiningOp<tensor::CastOp>())
    v = cast.getSource();
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || type.getRank() < 1)
    return false;
  if (type.getDimSize(0) == 0)
    return true;
  auto empty = v.getDefiningOp<tensor::EmptyOp>();
  if (!empty)
    return false;
  std::optional<int64_t> rows =
      getConstantIntValue(empty.getMixedSizes().front());
  return rows && *rows == 0;
}

/// Why the loop-carried `arg` (a tensor with a dynamic leading dimension
/// that the loop yields grown) cannot become a bank, or success with `out`
/// filled in.
LogicalResult matchStreamCache(scf::ForOp loop, unsigned index,
                               StreamCache &out, std::string &why) {
  llvm::raw_string_ostream os(why);
  BlockArgument arg = loop.getRegionIterArgs()[index];
  auto type = cast<RankedTensorType>(arg.getType());
  Value yielded = loop.getYieldedValues()[index];
  auto concat = yielded.getDefiningOp<tensor::ConcatOp>();
  if (!concat) {
    if (yielded.getDefiningOp<tensor::InsertSliceOp>())
      os << "it grows by tensor.insert_slice; only a cache that grows by "
            "tensor.concat of itself and the frame is supported";
    else
      os << "its next value is not a tensor.concat of the cache and a frame";
    return failure();
  }
  if (concat.getDim() != 0 || concat.getInputs().size() != 2 ||
      concat.getInputs()[0] != arg) {
    os << "it is not grown by appending rows (expected tensor.concat dim(0) "
          "of the cache and one frame)";
    return failure();
  }
  if (type.getRank() != 2 || ShapedType::isDynamic(type.getDimSize(1)) ||
      !type.getElementType().isF32()) {
    os << "its type " << type << " is not an f32 cache [?, C] with static C";
    return failure();
  }
  Value frame = concat.getInputs()[1];
  auto frameType = cast<RankedTensorType>(frame.getType());
  if (!frameType.hasStaticShape()) {
    os << "its frame " << frameType << " does not have a static shape";
    return failure();
  }
  if (!arg.hasOneUse()) {
    os << "the cache has uses besides the append";
    return failure();
  }
  if (!isEmptyTensor(loop.getInitArgs()[index])) {
    os << "it does not start empty (expected a tensor with 0 rows)";
    return failure();
  }
  AttentionOp attention;
  for (OpOperand &use : concat.getResult().getUses()) {
    Operation *user = use.getOwner();
    if (isa<scf::YieldOp>(user) && user->getParentOp() == loop.getOperation())
      continue;
    auto attn = dyn_cast<AttentionOp>(user);
    if (attn && attn == attention)
      continue; // key and value
    if (!attn || attention) {
      os << "the grown cache is used by '" << user->getName()
         << "' (expected one memred.attention and the loop's yield)";
      return failure();
    }
    attention = attn;
  }
  if (!attention) {
    os << "no memred.attention reads the grown cache (the reduction scores "
          "tokens by the query's cross-attention)";
    return failure();
  }
  if (attention->getParentOp() != loop.getOperation()) {
    os << "its memred.attention is not directly in the loop body";
    return failure();
  }
  if (attention.getKey() != concat.getResult() ||
      attention.getValue() != concat.getResult() ||
      attention.getQuery() == concat.getResult() ||
      llvm::is_contained(attention.getBiases(), concat.getResult()) ||
      cast<ShapedType>(attention.getQuery().getType()).getRank() != 2) {
    os << "its memred.attention does not use it as both key and value of a "
          "rank-2 attention [Lq, C] x [?, C]";
    return failure();
  }
  out.loop = loop;
  out.iterIndex = index;
  out.concat = concat;
  out.frame = frame;
  out.attention = attention;
  out.width = type.getDimSize(1);
  out.frameRows = frameType.getDimSize(0);
  std::optional<int64_t> lb = getConstantIntValue(loop.getLowerBound());
  std::optional<int64_t> ub = getConstantIntValue(loop.getUpperBound());
  std::optional<int64_t> step = getConstantIntValue(loop.getStep());
  if (lb && ub && step && *step > 0)
    out.finalRows =
        std::max<int64_t>(0, (*ub - *lb + *step - 1) / *step) * out.frameRows;
  return success();
}

int64_t rowBytes(const StreamCache &c) { return 4 * c.width; }

/// Runtime scratch of one reduction of a full bank plus a frame.
int64_t reduceScratch(const StreamCache &c, int64_t capacity,
                      BankPolicy policy) {
  return BankAppendOp::getScratchBytes(capacity + c.frameRows, c.frameRows,
                                       c.width, policy);
}

/// Bytes of the banks plus the largest reduction's scratch (one at a time).
int64_t bankCost(ArrayRef<StreamCache> caches, ArrayRef<int64_t> caps,
                 BankPolicy policy) {
  int64_t banks = 0, scratch = 0;
  for (auto [c, cap] : llvm::zip(caches, caps)) {
    banks += cap * rowBytes(c);
    scratch = std::max(scratch, reduceScratch(c, cap, policy));
  }
  return banks + scratch;
}

/// The random policy's step: the frame loop's iteration, with the
/// iterations of the scf.for loops around it in the higher bits
/// (iv + 2^20 · outer iv + 2^40 · the next one out ...), so that each
/// reduction of each stream draws anew.
Value randomStep(scf::ForOp loop, IRRewriter &rewriter, Location loc) {
  Value key = loop.getInductionVar();
  int64_t shift = 20;
  for (auto outer = loop->getParentOfType<scf::ForOp>(); outer && shift < 63;
       outer = outer->getParentOfType<scf::ForOp>(), shift += 20) {
    Value mult =
        arith::ConstantIndexOp::create(rewriter, loc, int64_t(1) << shift);
    Value scaled =
        arith::MulIOp::create(rewriter, loc, outer.getInductionVar(), mult);
    key = arith::AddIOp::create(rewriter, loc, key, scaled);
  }
  return key;
}

/// Rewrites `loop`, whose caches are `caches` (all of this loop), to carry a
/// bank [capacity, C] and a count per cache instead.
void rewriteLoop(scf::ForOp loop, MutableArrayRef<StreamCache> caches,
                 double recent, BankPolicy policy, int64_t seed,
                 int64_t budgetBytes, int64_t totalBytes,
                 IRRewriter &rewriter) {
  Builder b(loop.getContext());
  Location loc = loop.getLoc();
  rewriter.setInsertionPoint(loop);
  llvm::SmallDenseSet<unsigned> bounded;
  for (StreamCache &c : caches)
    bounded.insert(c.iterIndex);
  SmallVector<Value> inits;
  SmallVector<unsigned> keptIndices;
  for (auto [i, init] : llvm::enumerate(loop.getInitArgs()))
    if (!bounded.contains(i)) {
      inits.push_back(init);
      keptIndices.push_back(i);
    }
  unsigned firstBank = inits.size();
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  // bufferization.alloc_tensor, not tensor.empty: two banks of one type
  // would otherwise be CSE'd into one empty tensor, which bufferization then
  // gives both loop-carried banks as one buffer (its contents are undefined,
  // so no copy is made) and the layers overwrite each other's rows.
  for (StreamCache &c : caches) {
    inits.push_back(bufferization::AllocTensorOp::create(
        rewriter, loc,
        RankedTensorType::get({c.capacity, c.width}, rewriter.getF32Type()),
        ValueRange{}));
    inits.push_back(zero);
  }
  auto newLoop =
      scf::ForOp::create(rewriter, loc, loop.getLowerBound(),
                         loop.getUpperBound(), loop.getStep(), inits);
  newLoop->setDiscardableAttrs(loop->getDiscardableAttrDictionary());
  Block *newBody = newLoop.getBody();
  if (!newBody->empty())
    rewriter.eraseOp(newBody->getTerminator());
  SmallVector<Value> argValues = {newLoop.getInductionVar()};
  for (auto [i, arg] : llvm::enumerate(loop.getRegionIterArgs())) {
    (void)arg;
    if (bounded.contains(i)) {
      argValues.push_back(loop.getInitArgs()[i]); // only the concat used it
      continue;
    }
    unsigned pos = llvm::find(keptIndices, i) - keptIndices.begin();
    argValues.push_back(newLoop.getRegionIterArgs()[pos]);
  }
  rewriter.mergeBlocks(loop.getBody(), newBody, argValues);
  auto yield = cast<scf::YieldOp>(newBody->getTerminator());
  SmallVector<Value> yields;
  for (unsigned i : keptIndices)
    yields.push_back(yield.getOperand(i));
  for (auto [n, c] : llvm::enumerate(caches)) {
    Value bank = newLoop.getRegionIterArgs()[firstBank + 2 * n];
    Value count = newLoop.getRegionIterArgs()[firstBank + 2 * n + 1];
    rewriter.setInsertionPoint(c.attention);
    Location aloc = c.attention.getLoc();
    Value step = policy == BankPolicy::random
                     ? randomStep(newLoop, rewriter, aloc)
                     : Value();
    auto append = BankAppendOp::create(
        rewriter, aloc, TypeRange{bank.getType(), rewriter.getIndexType()},
        c.frame, c.attention.getQuery(), bank, count, step,
        b.getF64FloatAttr(recent), b.getF64FloatAttr(c.keep),
        c.attention.getScaleAttr(), BankPolicyAttr::get(b.getContext(), policy),
        b.getI64IntegerAttr(seed));
    std::optional<int64_t> unboundedBytes;
    if (c.finalRows >= 0)
      unboundedBytes = c.finalRows * rowBytes(c);
    mlir::lathe::setDecision(
        append,
        DecisionAttr::get(
            b.getContext(), "bounded streaming cache",
            /*bankBytes=*/c.capacity * rowBytes(c), budgetBytes, c.capacity,
            c.frameRows, /*keep=*/APFloat(c.keep),
            /*keyRowsBound=*/std::nullopt, /*kvChunk=*/std::nullopt, c.layer,
            stringifyBankPolicy(policy), /*qChunk=*/std::nullopt,
            APFloat(recent), reduceScratch(c, c.capacity, policy),
            /*scoreBytes=*/std::nullopt, totalBytes, unboundedBytes,
            /*workers=*/std::nullopt, /*workingSetBytes=*/std::nullopt));
    Value newBank = append.getResult().front();
    Value newCount = append.getNewCount();
    auto sliceOf = [&](Value bankValue, Value rows) -> Value {
      SmallVector<OpFoldResult> offsets = {rewriter.getIndexAttr(0),
                                           rewriter.getIndexAttr(0)};
      SmallVector<OpFoldResult> sizes = {rows, rewriter.getIndexAttr(c.width)};
      SmallVector<OpFoldResult> strides = {rewriter.getIndexAttr(1),
                                           rewriter.getIndexAttr(1)};
      return tensor::ExtractSliceOp::create(
          rewriter, aloc,
          RankedTensorType::get({ShapedType::kDynamic, c.width},
                                rewriter.getF32Type()),
          bankValue, offsets, sizes, strides);
    };
    Value slice = sliceOf(newBank, newCount);
    rewriter.modifyOpInPlace(c.attention, [&] {
      c.attention.getKeyMutable().assign(slice);
      c.attention.getValueMutable().assign(slice);
    });
    yields.push_back(newBank);
    yields.push_back(newCount);
  }
  rewriter.setInsertionPoint(yield);
  scf::YieldOp::create(rewriter, yield.getLoc(), yields);
  rewriter.eraseOp(yield);
  for (StreamCache &c : caches)
    rewriter.eraseOp(c.concat);
  // Results: the kept ones map over; a bounded cache read after the loop is
  // the final bank's valid rows.
  rewriter.setInsertionPointAfter(newLoop);
  SmallVector<Value> replacements(loop.getNumResults());
  for (auto [pos, i] : llvm::enumerate(keptIndices))
    replacements[i] = newLoop.getResult(pos);
  for (auto [n, c] : llvm::enumerate(caches)) {
    Value result = loop.getResult(c.iterIndex);
    if (result.use_empty()) {
      replacements[c.iterIndex] = loop.getInitArgs()[c.iterIndex];
      continue;
    }
    SmallVector<OpFoldResult> offsets = {rewriter.getIndexAttr(0),
                                         rewriter.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {newLoop.getResult(firstBank + 2 * n + 1),
                                       rewriter.getIndexAttr(c.width)};
    SmallVector<OpFoldResult> strides = {rewriter.getIndexAttr(1),
                                         rewriter.getIndexAttr(1)};
    Value slice = tensor::ExtractSliceOp::create(
        rewriter, loc,
        RankedTensorType::get({ShapedType::kDynamic, c.width},
                              rewriter.getF32Type()),
        newLoop.getResult(firstBank + 2 * n), offsets, sizes, strides);
    replacements[c.iterIndex] =
        result.getType() == slice.getType()
            ? slice
            : tensor::CastOp::create(rewriter, loc, result.getType(), slice)
                  .getResult();
  }
  rewriter.replaceOp(loop, replacements);
}

/// The key length of `op`, or for a key that is the valid rows of a bank,
/// the bank's capacity (an upper bound); kDynamic otherwise.
int64_t keyLengthBound(AttentionOp op) {
  int64_t lk = op.getKeyLength();
  if (!ShapedType::isDynamic(lk))
    return lk;
  if (auto slice = op.getKey().getDefiningOp<tensor::ExtractSliceOp>())
    if (auto bank = slice.getSource().getDefiningOp<BankAppendOp>())
      return bank.getCapacity();
  return ShapedType::kDynamic;
}

struct MemRedBoundMemory
    : public lathe::memred::impl::MemRedBoundMemoryBase<MemRedBoundMemory> {
  using MemRedBoundMemoryBase::MemRedBoundMemoryBase;

  /// Finds the streaming caches of `func`, splits the budget over them
  /// (layer l = their order; deeper layers get less), and rewrites their
  /// loops. Caches that cannot be bounded get a warning naming why.
  LogicalResult boundStreams(func::FuncOp func, int64_t budgetBytes,
                             IRRewriter &rewriter) {
    SmallVector<StreamCache> caches;
    func.walk<WalkOrder::PreOrder>([&](scf::ForOp loop) {
      SmallVector<StreamCache> found;
      for (auto [i, arg] : llvm::enumerate(loop.getRegionIterArgs())) {
        auto type = dyn_cast<RankedTensorType>(arg.getType());
        if (!type || type.getRank() < 1 ||
            !ShapedType::isDynamic(type.getDimSize(0)))
          continue;
        // Only tensors that grow (a concat or insert_slice each iteration)
        // are candidates; other dynamic loop-carried values are not caches.
        Value yielded = loop.getYieldedValues()[i];
        if (!yielded.getDefiningOp<tensor::ConcatOp>() &&
            !yielded.getDefiningOp<tensor::InsertSliceOp>())
          continue;
        StreamCache c;
        std::string why;
        if (failed(matchStreamCache(loop, i, c, why))) {
          loop.emitWarning() << "memred-bound-memory: loop-carried " << type
                             << " #" << i << " is not bounded: " << why;
          continue;
        }
        found.push_back(c);
      }
      // Layers in the order their attention runs.
      llvm::sort(found, [](const StreamCache &a, const StreamCache &b) {
        return a.attention->isBeforeInBlock(b.attention);
      });
      for (StreamCache &c : found)
        if (c.attention->getBlock() != found.front().attention->getBlock()) {
          loop.emitWarning() << "memred-bound-memory: the caches' attention "
                                "ops are in different blocks; not bounded";
          return;
        }
      caches.append(found.begin(), found.end());
    });
    if (caches.empty())
      return success();

    // Per layer: keep fraction and the smallest capacity that holds a frame
    // and that a full bank plus a frame reduces into.
    double weight = 1.0;
    for (auto [l, c] : llvm::enumerate(caches)) {
      c.layer = l;
      c.keep = std::round(keep * weight * 1e6) / 1e6; // printable
      weight *= depthDecay;
      int64_t cap = c.frameRows;
      while (CrossModalReduceOp::getKeptCount(cap + c.frameRows, recent,
                                              c.keep) > cap &&
             cap < (int64_t(1) << 40))
        cap = cap + std::max<int64_t>(1, cap / 8);
      if (cap >= (int64_t(1) << 40)) {
        c.attention.emitError()
            << "memred-bound-memory: with recent " << recent << " and keep "
            << c.keep << " a full bank never shrinks below its capacity "
            << "(lower recent or keep)";
        return failure();
      }
      c.minCapacity = cap;
    }
    auto capsFor = [&](int64_t scale) {
      SmallVector<int64_t> caps;
      double w = 1.0;
      for (StreamCache &c : caches) {
        int64_t cap =
            std::max(c.minCapacity, static_cast<int64_t>(double(scale) * w));
        // A cache whose whole stream fits needs no more than the stream.
        if (c.finalRows >= 0)
          cap = std::min(cap, std::max(c.minCapacity, c.finalRows));
        caps.push_back(cap);
        w *= depthDecay;
      }
      return caps;
    };
    SmallVector<int64_t> minCaps = capsFor(0);
    int64_t minBytes = bankCost(caches, minCaps, policy);
    if (minBytes > budgetBytes) {
      InFlightDiagnostic diag =
          caches.front().loop.emitError()
          << "memred-bound-memory: the streaming caches cannot be bounded to "
          << budgetBytes << " bytes: the smallest banks (";
      for (auto [i, c] : llvm::enumerate(caches))
        diag << (i ? ", " : "") << minCaps[i] << " rows of " << c.width;
      diag << " floats, one " << caches.front().frameRows
           << "-row frame each plus the reduction's room) and the reduction's "
              "scratch need "
           << minBytes << " bytes; raise the budget";
      return failure();
    }
    // The largest layer-0 capacity whose banks fit (binary search).
    int64_t lo = 0, hi = budgetBytes / 4 + 1;
    while (lo < hi) {
      int64_t mid = lo + (hi - lo + 1) / 2;
      if (bankCost(caches, capsFor(mid), policy) <= budgetBytes)
        lo = mid;
      else
        hi = mid - 1;
    }
    SmallVector<int64_t> caps = capsFor(lo);
    for (auto [c, cap] : llvm::zip(caches, caps))
      c.capacity = cap;
    int64_t total = bankCost(caches, caps, policy);
    // One rewrite per loop, with all of its caches.
    for (size_t i = 0; i < caches.size();) {
      size_t j = i;
      while (j < caches.size() && caches[j].loop == caches[i].loop)
        ++j;
      rewriteLoop(caches[i].loop,
                  MutableArrayRef<StreamCache>(caches).slice(i, j - i), recent,
                  policy, seed, budgetBytes, total, rewriter);
      i = j;
    }
    numBanks += caches.size();
    return success();
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    FailureOr<int64_t> budgetBytes = parseByteSize(budget);
    if (failed(budgetBytes)) {
      func.emitError() << "memred-bound-memory: cannot parse budget '" << budget
                       << "' (expected bytes, or a number with a KiB, MiB or "
                          "GiB suffix, e.g. budget=64MiB)";
      return signalPassFailure();
    }
    FailureOr<int64_t> targetWorkers =
        workers == -1
            ? mlir::lathe::getTargetInteger(func, "memred", "workers", 1)
            : FailureOr<int64_t>(workers);
    if (failed(targetWorkers))
      return signalPassFailure();
    if (*targetWorkers < 1) {
      func.emitError() << "memred-bound-memory: expects workers >= 1, got "
                       << *targetWorkers;
      return signalPassFailure();
    }
    int64_t workers = *targetWorkers;
    for (auto [name, value] : {std::pair<StringRef, double>{"recent", recent},
                               {"keep", keep},
                               {"depth-decay", depthDecay}})
      if (!(value > 0.0 && value <= 1.0)) {
        func.emitError() << "memred-bound-memory: expects " << name
                         << " in (0, 1], got " << value;
        return signalPassFailure();
      }
    IRRewriter rewriter(&getContext());
    if (failed(boundStreams(func, *budgetBytes, rewriter)))
      return signalPassFailure();

    SmallVector<AttentionOp> ops;
    func.walk([&](AttentionOp op) { ops.push_back(op); });
    bool failedAny = false;
    for (AttentionOp op : ops) {
      Builder b(&getContext());
      FailureOr<int64_t> scoreBytes = op.getScoreBytes();
      int64_t keyBound = keyLengthBound(op);
      bool boundedKeys = ShapedType::isDynamic(op.getKeyLength()) &&
                         !ShapedType::isDynamic(keyBound);
      if (boundedKeys && !ShapedType::isDynamic(op.getBatchSize()) &&
          !ShapedType::isDynamic(op.getQueryLength()))
        scoreBytes = op.getBatchSize() * op.getQueryLength() * keyBound * 4;
      if (failed(scoreBytes) || ShapedType::isDynamic(op.getValueDim())) {
        op.emitOpError("has dynamic sizes: memred-bound-memory cannot tell "
                       "whether its scores fit the budget of ")
            << *budgetBytes << " bytes (make the sequence lengths static)";
        failedAny = true;
        continue;
      }
      std::optional<int64_t> keyRowsBound;
      if (boundedKeys)
        keyRowsBound = keyBound;
      auto decision = [&](StringRef action, std::optional<int64_t> qChunk,
                          std::optional<int64_t> kvChunk,
                          std::optional<int64_t> workingSetBytes,
                          std::optional<int64_t> workerCount) {
        return DecisionAttr::get(
            b.getContext(), action, /*bankBytes=*/std::nullopt, *budgetBytes,
            /*capacity=*/std::nullopt, /*frameRows=*/std::nullopt,
            /*keep=*/std::nullopt, keyRowsBound, kvChunk,
            /*layer=*/std::nullopt,
            /*policy=*/"", qChunk, /*recent=*/std::nullopt,
            /*scratchBytes=*/std::nullopt, *scoreBytes,
            /*totalBytes=*/std::nullopt, /*unboundedBytes=*/std::nullopt,
            workerCount, workingSetBytes);
      };
      if (*scoreBytes <= *budgetBytes) {
        mlir::lathe::setDecision(op, decision("kept: scores fit", std::nullopt,
                                              std::nullopt, std::nullopt,
                                              std::nullopt));
        ++numFit;
        continue;
      }
      std::optional<Choice> choice =
          chooseChunks(op.getQueryLength(), keyBound, op.getValueDim(), workers,
                       *budgetBytes);
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
      rewriter.setInsertionPoint(op);
      auto chunked = ChunkedAttentionOp::create(
          rewriter, op.getLoc(), op->getResultTypes(), op.getQuery(),
          op.getKey(), op.getValue(), op.getBiases(), op.getInit(), op.getLse(),
          op.getScaleAttr(), b.getI64IntegerAttr(choice->qChunk),
          b.getI64IntegerAttr(choice->kvChunk));
      mlir::lathe::setDecision(
          chunked, decision("chunked", choice->qChunk, choice->kvChunk,
                            choice->bytes, static_cast<int64_t>(workers)));
      ++numChunked;
      rewriter.replaceOp(op, chunked->getResults());
    }
    if (failedAny)
      signalPassFailure();
  }
};

} // namespace
