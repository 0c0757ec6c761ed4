//===- SeqShardUlysses.cpp - DeepSpeed-Ulysses sequence parallelism -------===//
//
// Rebuilds a model function so that each of P ranks computes on its block of
// the sequence: the sequence input is sliced by the process index, the ops
// the sequence flows through are retyped from N to N/P, each attention gets
// the Ulysses all-to-alls (seqshard.scatter_heads / gather_heads) around it,
// and each returned value is all-gathered along the sequence. The function
// keeps its signature, so a launcher runs it unchanged on every rank.
//
// The function is rebuilt op by op into a new block; a value of the new
// block is either replicated (every rank holds all of it) or sharded along
// one dimension, as `shards` records: that dimension is [outer, M, inner]
// flattened (outer = inner = 1 unless the sequence was merged with other
// dimensions, e.g. [batch, seq, h] collapsed into [batch * seq, h] for a
// matmul) and rank k holds [outer, block k of M, inner] of it.
//
//===----------------------------------------------------------------------===//

#include "lathe/Transforms/Passes.h"

#include "lathe/Dialect/MemRed/MemRedOps.h"
#include "lathe/Dialect/MemRed/Passes.h"
#include "lathe/Dialect/SeqShard/SeqShardOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_SEQSHARDULYSSES
#include "lathe/Transforms/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

constexpr StringLiteral kGridName = "seqshard";
constexpr StringLiteral kPass = "seqshard-ulysses: ";

/// How a value of the rebuilt function is distributed: replicated (dim < 0)
/// or sharded along `dim`, which reads as [outer, M, inner] of which each
/// rank holds [outer, M / P, inner].
struct Shard {
  int64_t dim = -1;
  int64_t outer = 1;
  int64_t inner = 1;
  bool merged() const { return outer != 1 || inner != 1; }
  bool sameSplit(const Shard &o) const {
    return outer == o.outer && inner == o.inner;
  }
  Shard at(int64_t d) const { return {d, outer, inner}; }
};

/// A `linalg.generic` that only copies a box of one tensor (the ONNX
/// importer's Split and Slice: `tensor.extract %src[i0 + c0, i1 + c1, ...]`
/// of the loop indices, with constant offsets) as the
/// `tensor.extract_slice` it is, so that the sequence can be followed
/// through it.
struct RaiseCopyToExtractSlice : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getNumDpsInputs() != 0 || op.getNumDpsInits() != 1 ||
        !op.hasPureTensorSemantics() ||
        !op.getIndexingMapsArray()[0].isIdentity() ||
        op.getNumReductionLoops() != 0)
      return failure();
    Block &body = op.getRegion().front();
    auto yield = cast<linalg::YieldOp>(body.getTerminator());
    auto extract = yield.getValues()[0].getDefiningOp<tensor::ExtractOp>();
    auto resultType = cast<RankedTensorType>(op.getResult(0).getType());
    if (!extract || extract->getBlock() != &body ||
        extract.getTensor().getParentBlock() == &body ||
        extract.getTensor().getType().getRank() != resultType.getRank() ||
        !resultType.hasStaticShape())
      return failure();
    // Each index: linalg.index d (of its own dimension) [* 1] [+ constant].
    SmallVector<int64_t> offsets;
    for (auto [d, index] : llvm::enumerate(extract.getIndices())) {
      Value v = index;
      int64_t offset = 0;
      while (true) {
        if (auto add = v.getDefiningOp<arith::AddIOp>()) {
          std::optional<int64_t> c = getConstantIntValue(add.getRhs());
          Value other = add.getLhs();
          if (!c) {
            c = getConstantIntValue(add.getLhs());
            other = add.getRhs();
          }
          if (!c)
            return failure();
          offset += *c;
          v = other;
          continue;
        }
        if (auto mul = v.getDefiningOp<arith::MulIOp>()) {
          if (getConstantIntValue(mul.getRhs()) == 1) {
            v = mul.getLhs();
            continue;
          }
          if (getConstantIntValue(mul.getLhs()) == 1) {
            v = mul.getRhs();
            continue;
          }
          return failure();
        }
        break;
      }
      auto loop = v.getDefiningOp<linalg::IndexOp>();
      if (!loop || loop.getDim() != d)
        return failure();
      offsets.push_back(offset);
    }
    // Nothing else in the body has an effect.
    for (Operation &inner : body.without_terminator())
      if (!isPure(&inner) && &inner != extract.getOperation())
        return failure();
    SmallVector<OpFoldResult> offs, sizes, strides;
    for (auto [d, o] : llvm::enumerate(offsets)) {
      offs.push_back(rewriter.getIndexAttr(o));
      sizes.push_back(rewriter.getIndexAttr(resultType.getDimSize(d)));
      strides.push_back(rewriter.getIndexAttr(1));
    }
    rewriter.replaceOpWithNewOp<tensor::ExtractSliceOp>(
        op, resultType, extract.getTensor(), offs, sizes, strides);
    return success();
  }
};

class Sharder {
public:
  Sharder(func::FuncOp func, int64_t degree, bool gatherResults)
      : func(func), p(degree), gatherResults(gatherResults),
        b(func.getContext()),
        grid(FlatSymbolRefAttr::get(func.getContext(), kGridName)) {}

  LogicalResult run(int64_t seqArg, int64_t seqDim);

private:
  func::FuncOp func;
  int64_t p;
  bool gatherResults;
  OpBuilder b;
  FlatSymbolRefAttr grid;
  IRMapping map;
  DenseMap<Value, Shard> shards;
  Value rank;

  Shard shardOf(Value v) const {
    auto it = shards.find(v);
    return it == shards.end() ? Shard() : it->second;
  }
  int64_t dimOf(Value v) const { return shardOf(v).dim; }
  Value setShard(Value v, Shard s) {
    if (s.dim >= 0)
      shards[v] = s;
    return v;
  }
  Value setDim(Value v, int64_t dim) { return setShard(v, Shard{dim}); }

  /// `v` with dimension `dim` split into [outer, size / (outer * inner),
  /// inner].
  Value splitDim(Location loc, Value v, int64_t dim, int64_t outer,
                 int64_t inner) {
    auto type = cast<RankedTensorType>(v.getType());
    SmallVector<int64_t> shape;
    SmallVector<ReassociationIndices> groups;
    for (int64_t d = 0; d < type.getRank(); ++d) {
      if (d != dim) {
        groups.push_back({static_cast<int64_t>(shape.size())});
        shape.push_back(type.getDimSize(d));
        continue;
      }
      int64_t at = shape.size();
      groups.push_back({at, at + 1, at + 2});
      shape.append({outer, type.getDimSize(d) / (outer * inner), inner});
    }
    return tensor::ExpandShapeOp::create(b, loc, type.clone(shape), v, groups);
  }
  /// The inverse of splitDim.
  Value mergeDim(Location loc, Value v, int64_t dim) {
    auto type = cast<RankedTensorType>(v.getType());
    SmallVector<int64_t> shape;
    SmallVector<ReassociationIndices> groups;
    for (int64_t d = 0; d < type.getRank(); ++d) {
      if (d == dim) {
        groups.push_back({d, d + 1, d + 2});
        shape.push_back(type.getDimSize(d) * type.getDimSize(d + 1) *
                        type.getDimSize(d + 2));
        d += 2;
        continue;
      }
      groups.push_back({d});
      shape.push_back(type.getDimSize(d));
    }
    return tensor::CollapseShapeOp::create(b, loc, type.clone(shape), v,
                                           groups);
  }

  /// `type` with dimension `dim` divided by P.
  RankedTensorType shrink(RankedTensorType type, int64_t dim) {
    SmallVector<int64_t> shape(type.getShape());
    shape[dim] /= p;
    return type.clone(shape);
  }

  /// k · size / P, the first position of this rank's block of `size`.
  Value blockStart(Location loc, int64_t size) {
    return arith::MulIOp::create(
        b, loc, rank, arith::ConstantIndexOp::create(b, loc, size / p));
  }

  /// This rank's part of replicated `v` as `s` distributes it.
  Value slice(Location loc, Value v, Shard s) {
    if (!s.merged())
      return slice(loc, v, s.dim);
    Value split = splitDim(loc, v, s.dim, s.outer, s.inner);
    Value part = slice(loc, split, s.dim + 1);
    shards.erase(part);
    return setShard(mergeDim(loc, part, s.dim), s);
  }

  /// This rank's block of replicated `v` along `dim`.
  Value slice(Location loc, Value v, int64_t dim) {
    auto type = cast<RankedTensorType>(v.getType());
    SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
    SmallVector<OpFoldResult> sizes, strides(type.getRank(), b.getIndexAttr(1));
    for (int64_t d = 0; d < type.getRank(); ++d)
      sizes.push_back(b.getIndexAttr(d == dim ? type.getDimSize(d) / p
                                              : type.getDimSize(d)));
    offsets[dim] = blockStart(loc, type.getDimSize(dim));
    return setDim(
        tensor::ExtractSliceOp::create(b, loc, v, offsets, sizes, strides),
        dim);
  }

  /// The rank's part of an init: a smaller tensor.empty (filled as before)
  /// when it is one, a slice otherwise.
  Value shardInit(Location loc, Value v, Shard s) {
    if (auto empty = v.getDefiningOp<tensor::EmptyOp>())
      return setShard(tensor::EmptyOp::create(
                          b, loc, shrink(empty.getType(), s.dim), ValueRange{}),
                      s);
    if (auto fill = v.getDefiningOp<linalg::FillOp>())
      if (auto empty = fill.getOutputs()[0].getDefiningOp<tensor::EmptyOp>()) {
        Value e = tensor::EmptyOp::create(
            b, loc, shrink(empty.getType(), s.dim), ValueRange{});
        return setShard(
            linalg::FillOp::create(b, loc, fill.getInputs()[0], e).getResult(0),
            s);
      }
    return slice(loc, v, s);
  }

  Value transpose(Location loc, Value x, ArrayRef<int64_t> perm) {
    auto type = cast<RankedTensorType>(x.getType());
    if (llvm::equal(perm, llvm::seq<int64_t>(0, perm.size())))
      return x;
    SmallVector<int64_t> shape;
    for (int64_t d : perm)
      shape.push_back(type.getDimSize(d));
    Value init = tensor::EmptyOp::create(b, loc, shape, type.getElementType());
    return linalg::TransposeOp::create(b, loc, x, init, perm).getResult()[0];
  }

  /// The whole of sharded `v`, gathered along its sharded dimension (moved
  /// to the front and back when it is not the outermost of size > 1: the
  /// CPU target gathers contiguous blocks).
  Value gather(Location loc, Value v) {
    Shard s = shardOf(v);
    if (s.merged()) {
      // [outer, M/P, inner] -> gather the middle -> merge again.
      Value split = splitDim(loc, v, s.dim, s.outer, s.inner);
      setDim(split, s.dim + 1);
      return mergeDim(loc, gather(loc, split), s.dim);
    }
    int64_t dim = s.dim;
    auto type = cast<RankedTensorType>(v.getType());
    bool outermost = llvm::all_of(type.getShape().take_front(dim),
                                  [](int64_t s) { return s == 1; });
    SmallVector<int64_t> perm = {dim}, inverse(type.getRank());
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (d != dim)
        perm.push_back(d);
    for (auto [i, d] : llvm::enumerate(perm))
      inverse[d] = i;
    Value x = outermost ? v : transpose(loc, v, perm);
    int64_t axis = outermost ? dim : 0;
    auto xt = cast<RankedTensorType>(x.getType());
    SmallVector<int64_t> shape(xt.getShape());
    shape[axis] *= p;
    Value g = shard::AllGatherOp::create(
                  b, loc, xt.clone(shape), StringRef(kGridName),
                  ArrayRef<int16_t>{0}, x, APInt(64, axis))
                  .getResult();
    return outermost ? g : transpose(loc, g, inverse);
  }

  LogicalResult visit(Operation *op);
  LogicalResult visitLinalg(linalg::LinalgOp op);
  LogicalResult visitReshape(Operation *op);
  LogicalResult visitExtractSlice(tensor::ExtractSliceOp op);
  LogicalResult visitElementwise(Operation *op);
  LogicalResult visitSoftmax(linalg::SoftmaxOp op);
  template <typename OpTy> LogicalResult visitAttention(OpTy op);
  LogicalResult visitReturn(func::ReturnOp op);

  InFlightDiagnostic fail(Operation *op, const Twine &why) {
    return op->emitOpError() << kPass << why;
  }
};

LogicalResult Sharder::run(int64_t seqArg, int64_t seqDim) {
  Block &old = func.getBody().front();
  if (seqArg < 0 || seqArg >= static_cast<int64_t>(old.getNumArguments()))
    return func.emitError()
           << kPass << "@" << func.getSymName() << " has "
           << old.getNumArguments() << " arguments, no seq-arg " << seqArg;
  auto seqType = dyn_cast<RankedTensorType>(old.getArgument(seqArg).getType());
  if (!seqType || !seqType.hasStaticShape() || seqDim < 0 ||
      seqDim >= seqType.getRank())
    return func.emitError()
           << kPass << "argument #" << seqArg
           << " must be a static tensor with a sequence dimension " << seqDim
           << ", got " << old.getArgument(seqArg).getType();
  int64_t n = seqType.getDimSize(seqDim);
  if (n % p != 0)
    return func.emitError()
           << kPass << "the sequence of " << n << " positions (argument #"
           << seqArg << ", dimension " << seqDim
           << ") is not divisible by the degree " << p
           << ": pad it to a multiple of " << p << " or pick a degree that "
           << "divides " << n;

  auto *block = new Block();
  for (BlockArgument arg : old.getArguments())
    map.map(arg, block->addArgument(arg.getType(), arg.getLoc()));
  b.setInsertionPointToStart(block);
  Location loc = func.getLoc();
  rank = shard::ProcessLinearIndexOp::create(b, loc, grid);
  map.map(old.getArgument(seqArg),
          slice(loc, block->getArgument(seqArg), seqDim));
  for (Operation &op : old.without_terminator())
    if (failed(visit(&op))) {
      delete block;
      return failure();
    }
  if (failed(visitReturn(cast<func::ReturnOp>(old.getTerminator())))) {
    delete block;
    return failure();
  }
  // What the rebuilt ops no longer read (the full-size inits).
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(*block)))
    if (isOpTriviallyDead(&op))
      op.erase();
  func.getBody().push_back(block);
  old.dropAllDefinedValueUses();
  old.erase();
  return success();
}

LogicalResult Sharder::visit(Operation *op) {
  // A region reading a sharded value directly (e.g. tensor.extract in a
  // generic's body) would index it with global positions.
  bool captures = false;
  op->walk([&](Operation *inner) {
    if (inner != op)
      for (Value v : inner->getOperands())
        captures |= dimOf(map.lookupOrDefault(v)) >= 0;
  });
  if (captures)
    return fail(op, "reads a sequence-sharded value inside its region");
  bool sharded = llvm::any_of(op->getOperands(), [&](Value v) {
    return dimOf(map.lookupOrDefault(v)) >= 0;
  });
  if (!sharded) {
    b.clone(*op, map);
    return success();
  }
  if (auto a = dyn_cast<memred::AttentionOp>(op))
    return visitAttention(a);
  if (auto a = dyn_cast<memred::ChunkedAttentionOp>(op))
    return visitAttention(a);
  if (auto s = dyn_cast<linalg::SoftmaxOp>(op))
    return visitSoftmax(s);
  if (auto l = dyn_cast<linalg::LinalgOp>(op))
    return visitLinalg(l);
  if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(op))
    return visitReshape(op);
  if (auto e = dyn_cast<tensor::ExtractSliceOp>(op))
    return visitExtractSlice(e);
  if (op->hasTrait<OpTrait::Elementwise>() && op->getNumRegions() == 0)
    return visitElementwise(op);
  return fail(op, "does not know how the sequence dimension flows through "
                  "this op");
}

LogicalResult Sharder::visitLinalg(linalg::LinalgOp op) {
  if (!op.hasPureTensorSemantics())
    return fail(op, "expects linalg ops on tensors");
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  // The loop the sequence runs along, and how it is split (the same for
  // every operand that reads it).
  int64_t loop = -1;
  Shard split;
  for (OpOperand &operand : op->getOpOperands()) {
    Shard s = shardOf(map.lookupOrDefault(operand.get()));
    int64_t dim = s.dim;
    if (dim < 0)
      continue;
    if (loop >= 0 && !split.sameSplit(s))
      return fail(op, "reads operands whose sequence is merged with other "
                      "dimensions in different ways");
    split = s;
    AffineMap m = maps[operand.getOperandNumber()];
    auto expr = dyn_cast<AffineDimExpr>(m.getResult(dim));
    if (!expr)
      return fail(op, "reads the sequence of operand #")
             << operand.getOperandNumber()
             << " through an index expression, not a loop";
    if (loop >= 0 && loop != static_cast<int64_t>(expr.getPosition()))
      return fail(op, "mixes the sequences of two operands in different "
                      "loops (an attention pattern that was not raised?)");
    loop = expr.getPosition();
  }
  // A reduction over the sequence (a loss) runs replicated on the gathered
  // operands: every rank computes the same value.
  if (op.getIteratorTypesArray()[loop] != utils::IteratorType::parallel) {
    IRMapping gathered = map;
    for (Value v : op->getOperands()) {
      Value m = map.lookupOrDefault(v);
      if (dimOf(m) >= 0)
        gathered.map(v, gather(op.getLoc(), m));
    }
    Operation *clone = b.clone(*op, gathered);
    for (auto [from, to] : llvm::zip(op->getResults(), clone->getResults()))
      map.map(from, to);
    return success();
  }
  int64_t loopSize = op.getStaticLoopRanges()[loop];

  IRMapping local = map;
  for (OpOperand &operand : op->getOpOperands()) {
    Value v = map.lookupOrDefault(operand.get());
    AffineMap m = maps[operand.getOperandNumber()];
    int64_t at = -1;
    for (auto [r, e] : llvm::enumerate(m.getResults())) {
      if (auto d = dyn_cast<AffineDimExpr>(e);
          d && static_cast<int64_t>(d.getPosition()) == loop) {
        if (at >= 0)
          return fail(op, "reads operand #")
                 << operand.getOperandNumber()
                 << " along the sequence in two dimensions";
        at = r;
      } else if (e.isFunctionOfDim(loop)) {
        return fail(op, "reads operand #")
               << operand.getOperandNumber()
               << " through an index expression of the sequence loop";
      }
    }
    int64_t dim = dimOf(v);
    if (dim >= 0 && dim != at)
      return fail(op, "reads the sequence of operand #")
             << operand.getOperandNumber() << " outside the sequence loop";
    if (dim < 0 && at >= 0)
      v = op.isDpsInit(&operand) ? shardInit(op.getLoc(), v, split.at(at))
                                 : slice(op.getLoc(), v, split.at(at));
    local.map(operand.get(), v);
  }
  Value start = blockStart(op.getLoc(), loopSize);
  Operation *clone = b.clone(*op, local);
  for (auto [i, result] : llvm::enumerate(clone->getResults())) {
    auto dps = cast<DestinationStyleOpInterface>(clone);
    Value init = dps.getDpsInits()[i];
    result.setType(init.getType());
    setShard(result, shardOf(init));
    if (dimOf(init) < 0)
      return fail(op, "result #") << i << " does not keep the sequence";
    map.map(op->getResult(i), result);
  }
  // Positions read by the body are global positions.
  bool mergedIndex = false;
  clone->walk([&](linalg::IndexOp index) {
    if (static_cast<int64_t>(index.getDim()) == loop && split.merged())
      mergedIndex = true;
  });
  if (mergedIndex)
    return fail(op, "reads the positions (linalg.index) of a sequence merged "
                    "with other dimensions");
  clone->walk([&](linalg::IndexOp index) {
    if (static_cast<int64_t>(index.getDim()) != loop)
      return;
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointAfter(index);
    auto add = arith::AddIOp::create(b, index.getLoc(), index, start);
    index.getResult().replaceAllUsesExcept(add, add);
  });
  return success();
}

LogicalResult Sharder::visitReshape(Operation *op) {
  Value src = map.lookupOrDefault(op->getOperand(0));
  Shard from = shardOf(src);
  auto srcType = cast<RankedTensorType>(src.getType());
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  SmallVector<int64_t> shape(resultType.getShape());
  // Global sizes: the source's dimension is [outer, M, inner].
  int64_t seq = srcType.getDimSize(from.dim) * p / (from.outer * from.inner);
  Shard to;
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
    ReassociationIndices group = expand.getReassociationIndices()[from.dim];
    int64_t before = 1;
    for (int64_t d : group) {
      int64_t size = shape[d];
      // The whole sequence inside dimension d: [outer', M, inner'].
      if (size != 1 && from.outer % before == 0 &&
          size % (from.outer / before * seq) == 0 &&
          from.inner % (size / (from.outer / before * seq)) == 0) {
        to = {d, from.outer / before, size / (from.outer / before * seq)};
        break;
      }
      // Dimension d is the outer part of the sequence (block k of M is
      // block k of it).
      if (size != 1 && before == from.outer && seq % size == 0 &&
          size % p == 0) {
        to = {d, 1, 1};
        break;
      }
      before *= size;
      if (before > from.outer)
        break;
    }
    if (to.dim < 0)
      return fail(op, "splits the sequence into dimensions whose outermost "
                      "is not divisible by the degree");
    shape[to.dim] /= p;
    Value v =
        tensor::ExpandShapeOp::create(b, op->getLoc(), resultType.clone(shape),
                                      src, expand.getReassociationIndices());
    map.map(op->getResult(0), setShard(v, to));
    return success();
  }
  // Collapsing merges the sequence with its neighbours: they become part of
  // the outer and inner factors.
  auto collapse = cast<tensor::CollapseShapeOp>(op);
  for (auto [g, group] : llvm::enumerate(collapse.getReassociationIndices())) {
    if (!llvm::is_contained(group, from.dim))
      continue;
    to = {static_cast<int64_t>(g), from.outer, from.inner};
    for (int64_t d : group) {
      if (d < from.dim)
        to.outer *= srcType.getDimSize(d);
      else if (d > from.dim)
        to.inner *= srcType.getDimSize(d);
    }
  }
  shape[to.dim] /= p;
  Value v =
      tensor::CollapseShapeOp::create(b, op->getLoc(), resultType.clone(shape),
                                      src, collapse.getReassociationIndices());
  map.map(op->getResult(0), setShard(v, to));
  return success();
}

LogicalResult Sharder::visitExtractSlice(tensor::ExtractSliceOp op) {
  Value src = map.lookupOrDefault(op.getSource());
  Shard s = shardOf(src);
  if (dimOf(src) < 0)
    return fail(op, "expects a sequence-sharded source");
  auto srcType = op.getSourceType();
  if (op.getResultType().getRank() != srcType.getRank() ||
      !op.hasUnitStride() ||
      getConstantIntValue(op.getMixedOffsets()[s.dim]) != 0 ||
      getConstantIntValue(op.getMixedSizes()[s.dim]) !=
          srcType.getDimSize(s.dim))
    return fail(op, "takes part of the sequence dimension (a slice must "
                    "keep all of it, rank and unit strides)");
  for (Value v : op.getOffsets())
    if (dimOf(map.lookupOrDefault(v)) >= 0)
      return fail(op, "has offsets computed from the sharded sequence");
  SmallVector<OpFoldResult> mixedSizes = op.getMixedSizes();
  mixedSizes[s.dim] = b.getIndexAttr(srcType.getDimSize(s.dim) / p);
  auto offsetsIn = op.getMixedOffsets();
  for (OpFoldResult &o : offsetsIn)
    if (auto v = dyn_cast<Value>(o))
      o = map.lookupOrDefault(v);
  for (OpFoldResult &o : mixedSizes)
    if (auto v = dyn_cast<Value>(o))
      o = map.lookupOrDefault(v);
  Value v = tensor::ExtractSliceOp::create(b, op.getLoc(), src, offsetsIn,
                                           mixedSizes, op.getMixedStrides());
  map.map(op.getResult(), setShard(v, s));
  return success();
}

LogicalResult Sharder::visitElementwise(Operation *op) {
  Shard s;
  for (Value v : op->getOperands())
    if (Shard o = shardOf(map.lookupOrDefault(v)); o.dim > s.dim)
      s = o;
  IRMapping local = map;
  for (Value v : op->getOperands()) {
    Value m = map.lookupOrDefault(v);
    Shard o = shardOf(m);
    if (o.dim >= 0 && (o.dim != s.dim || !o.sameSplit(s)))
      return fail(op, "combines operands sharded along different dimensions");
    if (o.dim < 0 && isa<RankedTensorType>(m.getType()))
      m = slice(op->getLoc(), m, s);
    local.map(v, m);
  }
  Operation *clone = b.clone(*op, local);
  for (auto [i, result] : llvm::enumerate(clone->getResults())) {
    result.setType(shrink(cast<RankedTensorType>(result.getType()), s.dim));
    map.map(op->getResult(i), setShard(result, s));
  }
  return success();
}

LogicalResult Sharder::visitSoftmax(linalg::SoftmaxOp op) {
  Value in = map.lookupOrDefault(op.getInput());
  Shard shard = shardOf(in);
  if (shard.dim < 0 || static_cast<int64_t>(op.getDimension()) == shard.dim)
    return fail(op, "normalizes over the sequence dimension");
  Value init = map.lookupOrDefault(op.getOutput());
  if (dimOf(init) < 0)
    init = shardInit(op.getLoc(), init, shard);
  auto s = linalg::SoftmaxOp::create(b, op.getLoc(), init.getType(), in, init,
                                     op.getDimension());
  map.map(op.getResult()[0], setShard(s.getResult()[0], shard));
  return success();
}

template <typename OpTy> LogicalResult Sharder::visitAttention(OpTy op) {
  Location loc = op.getLoc();
  Value q = map.lookupOrDefault(op.getQuery());
  Value k = map.lookupOrDefault(op.getKey());
  Value v = map.lookupOrDefault(op.getValue());
  auto qType = cast<RankedTensorType>(q.getType());
  int64_t rank = qType.getRank();
  // Rank 3 ([batch * heads, sequence, dim], as memred raises linalg
  // attention): the heads come from collapsing [batch, heads, ...] when
  // that is where q, k and v come from; otherwise (e.g. PyTorch's
  // MultiheadAttention, which reshapes [seq, batch, h] into [seq, batch *
  // heads, d]) the batch * heads independent problems are scattered as if
  // they were heads: [G, N/P, D] is read as [1, G, N/P, D].
  bool merged = rank == 3;
  bool grouped = false;
  if (merged) {
    auto unmerged = [&](Value x) -> Value {
      auto c = x.getDefiningOp<tensor::CollapseShapeOp>();
      if (!c || c.getSrcType().getRank() != 4 || dimOf(c.getSrc()) != 2 ||
          shardOf(c.getSrc()).merged() ||
          c.getReassociationIndices() !=
              SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}})
        return {};
      return c.getSrc();
    };
    Value uq = unmerged(q), uk = unmerged(k), uv = unmerged(v);
    if (uq && uk && uv) {
      q = uq, k = uk, v = uv;
    } else {
      grouped = true;
      auto lift = [&](Value x) -> Value {
        if (dimOf(x) != 1 || shardOf(x).merged())
          return x;
        auto t = cast<RankedTensorType>(x.getType());
        Value e = tensor::ExpandShapeOp::create(
            b, loc,
            t.clone({1, t.getDimSize(0), t.getDimSize(1), t.getDimSize(2)}), x,
            SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}});
        return setDim(e, 2);
      };
      q = lift(q), k = lift(k), v = lift(v);
    }
    qType = cast<RankedTensorType>(q.getType());
  } else if (rank != 4) {
    return fail(op, "expects [batch, heads, sequence, dim] operands (rank "
                    "4) to scatter the heads; got rank ")
           << rank;
  }
  for (Value x : {q, k, v})
    if (dimOf(x) != 2 || shardOf(x).merged())
      return fail(op, "expects query, key and value sharded along the "
                      "sequence (dimension 2 of [batch, heads, sequence, "
                      "dim])");
  for (Value bias : op.getBiases())
    if (dimOf(map.lookupOrDefault(bias)) >= 0)
      return fail(op, "has a bias computed from the sharded sequence; "
                      "biases must be whole (masks, position biases)");
  int64_t heads = qType.getDimSize(1);
  int64_t kvHeads = cast<RankedTensorType>(k.getType()).getDimSize(1);
  int64_t n = op.getQueryLength();
  std::string why = seqshard::checkUlyssesShape(p, n, heads, kvHeads);
  if (!why.empty() && grouped)
    return fail(op, "(rank-3 attention whose batch x heads = ")
           << heads << " count as the heads) " << why;
  if (!why.empty())
    return fail(op, why);
  if (kvHeads != heads)
    return fail(op, "grouped-query attention (")
           << kvHeads << " key/value heads for " << heads
           << " query heads) is not implemented by memred.attention";

  // [B, H, N/P, D] -> [B, N/P, H, D] -> scatter -> [B, N, H/P, D] ->
  // [B, H/P, N, D].
  SmallVector<int64_t> swap = {0, 2, 1, 3};
  // One all-to-all per distinct operand (self-attention may pass one value
  // twice).
  DenseMap<Value, Value> scattered;
  auto toHeads = [&](Value x) -> Value {
    if (Value done = scattered.lookup(x))
      return done;
    Value t = transpose(loc, x, swap);
    auto tt = cast<RankedTensorType>(t.getType());
    SmallVector<int64_t> shape(tt.getShape());
    shape[1] *= p;
    shape[2] /= p;
    Value s = seqshard::ScatterHeadsOp::create(
        b, loc, tt.clone(shape), t, grid, b.getDenseI16ArrayAttr({0}),
        seqshard::LayoutAttr::get(b.getContext(), seqshard::Layout::bshd),
        IntegerAttr());
    return scattered[x] = transpose(loc, s, swap);
  };
  IRMapping local = map;
  local.map(op.getQuery(), toHeads(q));
  local.map(op.getKey(), toHeads(k));
  local.map(op.getValue(), toHeads(v));
  for (Value bias : op.getBiases()) {
    Value m = map.lookupOrDefault(bias);
    auto bt = cast<RankedTensorType>(m.getType());
    if (merged) {
      if (bt.getRank() != 3 ||
          (bt.getDimSize(0) != 1 && !(grouped && bt.getDimSize(0) == heads)))
        return fail(op, "expects the biases of rank-3 attention to be "
                        "shared by all batch elements and heads ([1, Lq, "
                        "Lk])");
      m = tensor::ExpandShapeOp::create(
          b, loc,
          RankedTensorType::get(
              {1, bt.getDimSize(0), bt.getDimSize(1), bt.getDimSize(2)},
              bt.getElementType()),
          m, SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}});
      bt = cast<RankedTensorType>(m.getType());
    }
    if (bt.getRank() == 4 && bt.getDimSize(1) == heads && heads > 1)
      m = slice(loc, m, 1), shards.erase(m);
    local.map(bias, m);
  }
  Value init = map.lookupOrDefault(op.getInit());
  if (dimOf(init) >= 0)
    return fail(op, "expects a fresh init");
  auto initType = cast<RankedTensorType>(init.getType());
  SmallVector<int64_t> initShape(initType.getShape());
  if (merged)
    initShape = {qType.getDimSize(0), heads, initShape[1], initShape[2]};
  initShape[1] /= p;
  local.map(op.getInit(), tensor::EmptyOp::create(b, loc, initShape,
                                                  initType.getElementType())
                              .getResult());
  Operation *clone = b.clone(*op, local);
  Value out = clone->getResult(0);
  out.setType(clone->getOperand(clone->getNumOperands() - 1).getType());
  // [B, H/P, N, Dv] -> [B, N, H/P, Dv] -> gather -> [B, N/P, H, Dv] ->
  // [B, H, N/P, Dv].
  Value t = transpose(loc, out, swap);
  auto tt = cast<RankedTensorType>(t.getType());
  SmallVector<int64_t> shape(tt.getShape());
  shape[1] /= p;
  shape[2] *= p;
  Value g = seqshard::GatherHeadsOp::create(
      b, loc, tt.clone(shape), t, grid, b.getDenseI16ArrayAttr({0}),
      seqshard::LayoutAttr::get(b.getContext(), seqshard::Layout::bshd),
      IntegerAttr());
  Value result = setDim(transpose(loc, g, swap), 2);
  if (merged) {
    auto rt = cast<RankedTensorType>(result.getType());
    result =
        setDim(tensor::CollapseShapeOp::create(
                   b, loc,
                   RankedTensorType::get({rt.getDimSize(0) * rt.getDimSize(1),
                                          rt.getDimSize(2), rt.getDimSize(3)},
                                         rt.getElementType()),
                   result, SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}}),
               1);
  }
  map.map(op->getResult(0), result);
  return success();
}

LogicalResult Sharder::visitReturn(func::ReturnOp op) {
  SmallVector<Value> results;
  SmallVector<int64_t> keptDims;
  for (Value v : op.getOperands()) {
    Value m = map.lookupOrDefault(v);
    Shard s = shardOf(m);
    keptDims.push_back(-1);
    if (s.dim < 0) {
      results.push_back(m);
      continue;
    }
    if (gatherResults) {
      results.push_back(gather(op.getLoc(), m));
      continue;
    }
    // The rank's block of one dimension (a strided part of a dimension
    // that merges the sequence with others is not a block).
    if (s.merged())
      return op.emitOpError()
             << kPass << "result #" << results.size()
             << " merges the sequence with other dimensions; it cannot stay "
                "sharded (gather-results=true gathers it)";
    keptDims.back() = s.dim;
    results.push_back(m);
  }
  func::ReturnOp::create(b, op.getLoc(), results);
  if (gatherResults)
    return success();
  // The results' types are now the rank's blocks.
  func.setType(FunctionType::get(func.getContext(), func.getArgumentTypes(),
                                 ValueRange(results).getTypes()));
  // Per result: the dimension each rank returns its block of, -1 when it is
  // whole (a function attribute: result attributes of a dialect would reach
  // the LLVM translation).
  func->setAttr("seqshard.sharded_results", b.getDenseI64ArrayAttr(keptDims));
  return success();
}

struct SeqShardUlysses
    : public lathe::impl::SeqShardUlyssesBase<SeqShardUlysses> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (degree < 1 || degree >= (1 << 16)) {
      module.emitError() << kPass << "degree must be in [1, 65535], got "
                         << int64_t(degree);
      return signalPassFailure();
    }
    auto func = module.lookupSymbol<func::FuncOp>(function);
    if (!func || func.isExternal()) {
      module.emitError() << kPass << "no function @" << function
                         << " to shard (option function=...)";
      return signalPassFailure();
    }
    if (!func.getBody().hasOneBlock()) {
      func.emitError() << kPass << "expects @" << function
                       << " to have one block";
      return signalPassFailure();
    }
    if (auto grid = module.lookupSymbol<shard::GridOp>(kGridName)) {
      if (grid.getShape() != ArrayRef<int64_t>{degree}) {
        grid.emitError() << kPass << "@" << kGridName
                         << " exists with another shape than " << degree;
        return signalPassFailure();
      }
    } else if (module.lookupSymbol(kGridName)) {
      module.emitError() << kPass << "the symbol @" << kGridName << " is taken";
      return signalPassFailure();
    } else {
      OpBuilder b(module.getBodyRegion());
      shard::GridOp::create(b, module.getLoc(), kGridName,
                            ArrayRef<int64_t>{degree});
    }
    {
      // The importer's forms: reshapes through a flat tensor, slices as
      // copies.
      RewritePatternSet patterns(&getContext());
      patterns.add<RaiseCopyToExtractSlice>(&getContext());
      tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns,
                                                           &getContext());
      tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns,
                                                         &getContext());
      // Without folding and constant hoisting: lathe-differentiate reads
      // the bodies of guarded reads (the importer's Gather) as written.
      GreedyRewriteConfig config;
      config.enableFolding(false).enableConstantCSE(false);
      config.setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
      (void)applyPatternsGreedily(func, std::move(patterns), config);
    }
    if (raiseAttention) {
      RewritePatternSet patterns(&getContext());
      memred::populateRaiseAttentionPatterns(patterns);
      (void)applyPatternsGreedily(func, std::move(patterns));
    }
    if (quantize != 0 && quantize != 4 && quantize != 8) {
      module.emitError() << kPass << "quantize must be 0 (f32), 4 or 8 bits, "
                         << "got " << int64_t(quantize);
      return signalPassFailure();
    }
    if (quantize == 0 && hadamard) {
      module.emitError() << kPass << "hadamard needs quantize=4 or 8";
      return signalPassFailure();
    }
    Sharder sharder(func, degree, gatherResults);
    if (failed(sharder.run(seqArg, seqDim)))
      return signalPassFailure();
    if (quantize != 0) {
      // Quantized all-to-alls (the ops' verifiers check the group size).
      OpBuilder b(&getContext());
      func.walk([&](Operation *op) {
        if (!isa<seqshard::ScatterHeadsOp, seqshard::GatherHeadsOp>(op))
          return;
        op->setAttr("quant_bits", b.getI64IntegerAttr(quantize));
        op->setAttr("quant_group_size", b.getI64IntegerAttr(quantGroupSize));
        if (hadamard)
          op->setAttr("hadamard", b.getUnitAttr());
      });
    }
  }
};

} // namespace
