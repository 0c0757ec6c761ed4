//===- RaiseGenerics.cpp - Named linalg ops from other exporters' IR ------===//
//
// JAX and torch-mlir write contractions and convolutions as linalg.generic
// and element-wise arith/math ops directly on tensors; backends (and Lathe's
// kernel formation) recognise named ops. This pass lowers the element-wise
// ops to linalg and raises generics whose maps and payload make them a
// contraction or a convolution. Recognition is structural: indexing maps,
// iterator types, element types and the payload's ops, never values.
//
//===----------------------------------------------------------------------===//

#include "lathe/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHERAISEGENERICS
#include "lathe/Transforms/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;

namespace {

//===----------------------------------------------------------------------===//
// Payloads
//===----------------------------------------------------------------------===//

/// True when the payload of `op` (two inputs, one init) is exactly
/// `out + ext(a) * ext(b)`, operands of the mul and the add in either order.
/// Float: mulf/addf with optional extf; integer: muli/addi with optional
/// extsi. This is what linalg's named contractions and convolutions compute
/// (their default cast is signed); extui payloads are not.
bool hasMulAddPayload(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  if (body.getNumArguments() != 3)
    return false;
  Value a = body.getArgument(0), b = body.getArgument(1),
        acc = body.getArgument(2);
  if (!acc.getType().isIntOrFloat() || acc.getType().isInteger(1))
    return false;
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (yield.getNumOperands() != 1)
    return false;
  Operation *add = yield.getOperand(0).getDefiningOp();
  if (!add || add->getBlock() != &body ||
      !isa<arith::AddFOp, arith::AddIOp>(add))
    return false;
  bool isFloat = isa<arith::AddFOp>(add);
  Value product = add->getOperand(0) == acc   ? add->getOperand(1)
                  : add->getOperand(1) == acc ? add->getOperand(0)
                                              : Value();
  if (!product)
    return false;
  Operation *mul = product.getDefiningOp();
  if (!mul || mul->getBlock() != &body ||
      !(isFloat ? isa<arith::MulFOp>(mul) : isa<arith::MulIOp>(mul)))
    return false;
  unsigned numExts = 0;
  // The block argument under an optional extension.
  auto stripExt = [&](Value value) -> Value {
    Operation *def = value.getDefiningOp();
    if (!def)
      return value;
    if (def->getBlock() != &body ||
        !(isFloat ? isa<arith::ExtFOp>(def) : isa<arith::ExtSIOp>(def)))
      return Value();
    ++numExts;
    return def->getOperand(0);
  };
  Value x = stripExt(mul->getOperand(0)), y = stripExt(mul->getOperand(1));
  if (!((x == a && y == b) || (x == b && y == a)))
    return false;
  // Nothing else is computed (a use of the product elsewhere, a second
  // result, ops feeding nothing).
  size_t numOps = std::distance(body.begin(), body.end()) - 1;
  return numOps == 2 + numExts;
}

/// True when the payload is `maximumf(out, in)` (either order) and the
/// second input (the window) is unused: a max pooling.
bool hasMaxPoolPayload(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  if (body.getNumArguments() != 3 || !body.getArgument(1).use_empty() ||
      std::distance(body.begin(), body.end()) != 2)
    return false;
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto max = yield.getOperand(0).getDefiningOp<arith::MaximumFOp>();
  if (!max)
    return false;
  Value in = body.getArgument(0), out = body.getArgument(2);
  return (max.getLhs() == in && max.getRhs() == out) ||
         (max.getLhs() == out && max.getRhs() == in);
}

//===----------------------------------------------------------------------===//
// Upstream specialization, tried on a copy
//===----------------------------------------------------------------------===//

/// Whether linalg::specializeGenericOp turns `op` into a named op that
/// verifies and satisfies `accept`. Tried on a detached copy: MLIR 22 builds
/// a default-map linalg.matmul for transposed maps (an op that does not
/// verify), so the real IR is only touched once the result is known good.
bool specializesCleanly(linalg::GenericOp op,
                        function_ref<bool(Operation *)> accept) {
  Block scratch;
  OpBuilder builder(op.getContext());
  builder.setInsertionPointToEnd(&scratch);
  auto copy = cast<linalg::GenericOp>(builder.clone(*op));
  IRRewriter rewriter(builder);
  rewriter.setInsertionPoint(copy);
  FailureOr<linalg::LinalgOp> named =
      linalg::specializeGenericOp(rewriter, copy);
  if (failed(named) || isa<linalg::GenericOp>(*named) ||
      !accept(named->getOperation()))
    return false;
  ScopedDiagnosticHandler silence(op.getContext(),
                                  [](Diagnostic &) { return success(); });
  return succeeded(verify(named->getOperation()));
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

/// Loop positions of a map whose results are distinct loop dimensions.
std::optional<SmallVector<unsigned>> permutedDims(AffineMap map) {
  if (map.getNumSymbols() != 0)
    return std::nullopt;
  SmallVector<unsigned> dims;
  for (AffineExpr expr : map.getResults()) {
    auto dim = dyn_cast<AffineDimExpr>(expr);
    if (!dim || llvm::is_contained(dims, dim.getPosition()))
      return std::nullopt;
    dims.push_back(dim.getPosition());
  }
  return dims;
}

/// The loops of a contraction `out[batch, m, n] += lhs[batch, m, k] *
/// rhs[batch, k, n]`, each group in the order the result (batch, m, n) or
/// the lhs (k) lists them, and the loops each operand's dimensions are.
struct Contraction {
  SmallVector<unsigned> batch, m, n, k;
  SmallVector<unsigned> lhs, rhs, out;
};

FailureOr<Contraction> classifyContraction(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op->getNumResults() != 1 ||
      !hasMulAddPayload(op))
    return failure();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  auto lhs = permutedDims(maps[0]), rhs = permutedDims(maps[1]),
       out = permutedDims(maps[2]);
  if (!lhs || !rhs || !out)
    return failure();
  Contraction c{{}, {}, {}, {}, *lhs, *rhs, *out};
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  SmallVector<unsigned> batch, m, n;
  for (unsigned loop = 0, e = op.getNumLoops(); loop < e; ++loop) {
    bool inLhs = llvm::is_contained(c.lhs, loop);
    bool inRhs = llvm::is_contained(c.rhs, loop);
    bool inOut = llvm::is_contained(c.out, loop);
    bool parallel = iterators[loop] == utils::IteratorType::parallel;
    if (inLhs && inRhs && !inOut && !parallel)
      continue; // k, ordered below
    if (!inOut || !parallel)
      return failure();
    if (!inLhs && !inRhs)
      return failure(); // a broadcast of the result
  }
  for (unsigned loop : c.out) {
    bool inLhs = llvm::is_contained(c.lhs, loop);
    bool inRhs = llvm::is_contained(c.rhs, loop);
    (inLhs && inRhs ? c.batch : inLhs ? c.m : c.n).push_back(loop);
  }
  for (unsigned loop : c.lhs)
    if (!llvm::is_contained(c.out, loop))
      c.k.push_back(loop);
  // A matrix-vector product (no m or no n loop) gets a unit dimension; a
  // dot product (neither) is not worth a kernel.
  if ((c.m.empty() && c.n.empty()) || c.k.empty())
    return failure();
  return c;
}

SmallVector<unsigned> concat(ArrayRef<unsigned> a, ArrayRef<unsigned> b,
                             ArrayRef<unsigned> c) {
  SmallVector<unsigned> all(a);
  all.append(b.begin(), b.end());
  all.append(c.begin(), c.end());
  return all;
}

/// `value`, whose dimension i is loop `dims[i]`, with its dimensions in the
/// order `want`: itself, or a linalg.transpose.
Value permuteTo(RewriterBase &rewriter, Location loc, Value value,
                ArrayRef<unsigned> dims, ArrayRef<unsigned> want) {
  if (dims == want)
    return value;
  SmallVector<int64_t> perm;
  for (unsigned loop : want)
    perm.push_back(llvm::find(dims, loop) - dims.begin());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, value);
  SmallVector<OpFoldResult> permuted;
  for (int64_t p : perm)
    permuted.push_back(sizes[p]);
  Value init = tensor::EmptyOp::create(
      rewriter, loc, permuted,
      cast<ShapedType>(value.getType()).getElementType());
  return linalg::TransposeOp::create(rewriter, loc, value, init, perm)
      ->getResult(0);
}

/// Reassociation that merges consecutive groups of the given sizes (empty
/// groups vanish).
SmallVector<ReassociationIndices> groupsOf(ArrayRef<size_t> sizes) {
  SmallVector<ReassociationIndices> groups;
  int64_t next = 0;
  for (size_t size : sizes) {
    if (size == 0)
      continue;
    ReassociationIndices group;
    for (size_t i = 0; i < size; ++i)
      group.push_back(next++);
    groups.push_back(group);
  }
  return groups;
}

Value collapse(RewriterBase &rewriter, Location loc, Value value,
               ArrayRef<size_t> sizes) {
  SmallVector<ReassociationIndices> groups = groupsOf(sizes);
  if (groups.size() ==
      static_cast<size_t>(cast<ShapedType>(value.getType()).getRank()))
    return value;
  return tensor::CollapseShapeOp::create(rewriter, loc, value, groups);
}

/// Where one of the two matrix groups `sizes[1]`, `sizes[2]` is empty (a
/// matrix-vector product), the reassociation that turns the collapsed
/// [batch?, X] into [batch?, X, 1] or [batch?, 1, X] (and back).
std::optional<SmallVector<ReassociationIndices>>
unitDimGroups(ArrayRef<size_t> sizes) {
  if (sizes[1] != 0 && sizes[2] != 0)
    return std::nullopt;
  SmallVector<ReassociationIndices> groups;
  int64_t next = 0;
  if (sizes[0] != 0)
    groups.push_back({next++});
  groups.push_back({next, next + 1});
  return groups;
}

/// `value` (grouped as [batch, X, Y] with the given group sizes) as a
/// matrix operand of rank 2, or 3 with a batch: groups collapsed, an empty
/// X or Y group a unit dimension.
Value toMatrix(RewriterBase &rewriter, Location loc, Value value,
               ArrayRef<size_t> sizes) {
  Value collapsed = collapse(rewriter, loc, value, sizes);
  auto unitGroups = unitDimGroups(sizes);
  if (!unitGroups)
    return collapsed;
  auto type = cast<RankedTensorType>(collapsed.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape.insert(sizes[1] == 0 ? shape.end() - 1 : shape.end(), 1);
  return tensor::ExpandShapeOp::create(
      rewriter, loc, RankedTensorType::get(shape, type.getElementType()),
      collapsed, *unitGroups);
}

/// A contraction with the default matmul / batch_matmul maps: upstream's
/// specialization builds the named op.
bool hasDefaultMatmulMaps(const Contraction &c) {
  if (c.m.size() != 1 || c.n.size() != 1 || c.k.size() != 1 ||
      c.batch.size() > 1)
    return false;
  return c.lhs == concat(c.batch, c.m, c.k) &&
         c.rhs == concat(c.batch, c.k, c.n) &&
         c.out == concat(c.batch, c.m, c.n);
}

/// A linalg.generic contraction -> linalg.matmul / batch_matmul (see the
/// pass description).
struct RaiseGenericContraction : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    FailureOr<Contraction> c = classifyContraction(op);
    if (failed(c))
      return rewriter.notifyMatchFailure(op, "not a mul-add contraction");

    // Upstream's specialization where it is right; otherwise (it declines)
    // the general path below builds the same op.
    auto isMatmul = [](Operation *named) {
      return isa<linalg::MatmulOp, linalg::BatchMatmulOp>(named);
    };
    if (hasDefaultMatmulMaps(*c) && specializesCleanly(op, isMatmul) &&
        succeeded(linalg::specializeGenericOp(rewriter, op)))
      return success();

    bool batched = !c->batch.empty();
    bool reshapes = c->m.empty() || c->n.empty() || c->batch.size() > 1 ||
                    c->m.size() > 1 || c->n.size() > 1 || c->k.size() > 1;
    if (reshapes && !llvm::all_of(op->getOperandTypes(), [](Type type) {
          return cast<ShapedType>(type).hasStaticShape();
        }))
      return rewriter.notifyMatchFailure(op, "dynamic sizes to reshape");

    Location loc = op.getLoc();
    // Each operand in a grouped layout: [batch, m, k] or [batch, k, m] for
    // the lhs (the latter read through transposed maps), likewise the rhs;
    // anything else is transposed to the plain layout first.
    auto layout = [&](Value value, ArrayRef<unsigned> dims,
                      ArrayRef<unsigned> outer, ArrayRef<unsigned> inner,
                      bool &transposed) -> Value {
      SmallVector<unsigned> plain = concat(c->batch, outer, inner);
      SmallVector<unsigned> swapped = concat(c->batch, inner, outer);
      transposed = dims != ArrayRef<unsigned>(plain) &&
                   dims == ArrayRef<unsigned>(swapped);
      Value grouped =
          transposed ? value : permuteTo(rewriter, loc, value, dims, plain);
      SmallVector<size_t> sizes = {c->batch.size(), outer.size(), inner.size()};
      if (transposed)
        std::swap(sizes[1], sizes[2]);
      return toMatrix(rewriter, loc, grouped, sizes);
    };
    bool transposeLhs = false, transposeRhs = false, transposeOut = false;
    Value lhs = layout(op.getDpsInputs()[0], c->lhs, c->m, c->k, transposeLhs);
    Value rhs = layout(op.getDpsInputs()[1], c->rhs, c->k, c->n, transposeRhs);
    SmallVector<unsigned> plainOut = concat(c->batch, c->m, c->n);
    Value init = op.getDpsInits()[0];
    Value groupedInit = permuteTo(rewriter, loc, init, c->out, plainOut);
    transposeOut = groupedInit != init;
    SmallVector<size_t> outSizes = {c->batch.size(), c->m.size(), c->n.size()};
    Value acc = toMatrix(rewriter, loc, groupedInit, outSizes);

    MLIRContext *ctx = op.getContext();
    unsigned numDims = batched ? 4 : 3;
    auto dim = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    AffineExpr b = dim(0), m = dim(batched), n = dim(batched + 1),
               k = dim(batched + 2);
    auto mapOf = [&](AffineExpr x, AffineExpr y) {
      SmallVector<AffineExpr> results;
      if (batched)
        results.push_back(b);
      results.append({x, y});
      return AffineMap::get(numDims, 0, results, ctx);
    };
    SmallVector<AffineMap> maps = {transposeLhs ? mapOf(k, m) : mapOf(m, k),
                                   transposeRhs ? mapOf(n, k) : mapOf(k, n),
                                   mapOf(m, n)};
    Value product;
    if (batched) {
      auto mm = linalg::BatchMatmulOp::create(
          rewriter, loc, TypeRange{acc.getType()}, ValueRange{lhs, rhs}, acc);
      if (transposeLhs || transposeRhs)
        mm.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps));
      product = mm->getResult(0);
    } else {
      auto mm = linalg::MatmulOp::create(
          rewriter, loc, TypeRange{acc.getType()}, ValueRange{lhs, rhs}, acc);
      if (transposeLhs || transposeRhs)
        mm.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps));
      product = mm->getResult(0);
    }
    if (auto unitGroups = unitDimGroups(outSizes))
      product =
          tensor::CollapseShapeOp::create(rewriter, loc, product, *unitGroups);
    if (product.getType() != groupedInit.getType())
      product = tensor::ExpandShapeOp::create(
          rewriter, loc, groupedInit.getType(), product, groupsOf(outSizes));
    if (transposeOut)
      product = permuteTo(rewriter, loc, product, plainOut, c->out);
    rewriter.replaceOp(op, product);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Convolutions and poolings
//===----------------------------------------------------------------------===//

/// A linalg.generic convolution (mul-add payload) or max pooling that
/// upstream's specialization recognises -> the named op.
struct RaiseGenericConvolution : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
        op.getNumDpsInits() != 1 || op->getNumResults() != 1)
      return rewriter.notifyMatchFailure(op, "not a two-input generic");
    bool pooling = hasMaxPoolPayload(op);
    if (!pooling &&
        !(hasMulAddPayload(op) && linalg::isaConvolutionOpInterface(op)))
      return rewriter.notifyMatchFailure(op, "not a convolution");
    auto isConvolution = [](Operation *named) {
      return isa<linalg::ConvolutionOpInterface>(named);
    };
    if (!specializesCleanly(op, isConvolution))
      return rewriter.notifyMatchFailure(op, "upstream does not specialize");
    if (failed(linalg::specializeGenericOp(rewriter, op)))
      return failure();
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Element-wise generics, in the form kernel formation reads epilogues
//===----------------------------------------------------------------------===//

/// An all-parallel generic with one result and an identity output map: what
/// convert-elementwise-to-linalg produces.
bool isElementwiseGeneric(linalg::GenericOp op) {
  return op.hasPureTensorSemantics() && op.getNumDpsInits() == 1 &&
         op->getNumResults() == 1 &&
         op.getNumParallelLoops() == op.getNumLoops() &&
         op.getIndexingMapsArray().back().isIdentity();
}

/// The operand a broadcast reads and the map from the broadcast's result
/// dimensions to it: a linalg.broadcast, or a generic that only yields its
/// one input read through a projected permutation (JAX's broadcast_in_dim).
std::optional<std::pair<Value, AffineMap>> broadcastSource(Value value) {
  Operation *def = value.getDefiningOp();
  if (auto broadcast = dyn_cast_or_null<linalg::BroadcastOp>(def)) {
    if (!broadcast.hasPureTensorSemantics())
      return std::nullopt;
    return std::make_pair(broadcast.getInput(),
                          broadcast.getIndexingMapsArray().front());
  }
  auto generic = dyn_cast_or_null<linalg::GenericOp>(def);
  if (!generic || !isElementwiseGeneric(generic) ||
      generic.getNumDpsInputs() != 1)
    return std::nullopt;
  Block &body = generic.getRegion().front();
  AffineMap map = generic.getIndexingMapsArray().front();
  if (std::distance(body.begin(), body.end()) != 1 ||
      body.getTerminator()->getOperand(0) != body.getArgument(0) ||
      !map.isProjectedPermutation())
    return std::nullopt;
  return std::make_pair(generic.getDpsInputs()[0], map);
}

/// A generic that only copies its input through a permutation (torch-mlir's
/// transposes of weights and attention heads) -> linalg.transpose, which
/// kernel formation folds into matmul operands.
struct RaiseGenericTranspose : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || op->getNumResults() != 1)
      return rewriter.notifyMatchFailure(op, "not on tensors");
    std::optional<SmallVector<int64_t>> perm =
        linalg::isaTransposeOpInterface(op);
    if (!perm)
      return rewriter.notifyMatchFailure(op, "not a transpose");
    // An element-wise generic reads a transposing copy through its own map
    // (FoldBroadcastIntoElementwise): better than a transpose op.
    if (llvm::any_of(op->getUsers(), [](Operation *user) {
          auto generic = dyn_cast<linalg::GenericOp>(user);
          return generic && isElementwiseGeneric(generic);
        }))
      return rewriter.notifyMatchFailure(op, "read by an element-wise op");
    auto transpose =
        linalg::TransposeOp::create(rewriter, op.getLoc(), op.getDpsInputs()[0],
                                    op.getDpsInits()[0], *perm);
    rewriter.replaceOp(op, transpose->getResults());
    return success();
  }
};

/// linalg.batch_matmul whose rhs is a rank-2 tensor broadcast over the batch
/// (torch-mlir's linear layers on 3-D inputs: the weight broadcast to
/// [batch, K, N] on every call) reads the rank-2 tensor directly through a
/// rank-2 indexing map, which kernel formation turns into one matmul with a
/// shared, pre-packed weight.
struct FoldBroadcastIntoBatchMatmul
    : public OpRewritePattern<linalg::BatchMatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::BatchMatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "not on tensors");
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    MLIRContext *ctx = op.getContext();
    auto dims = [&](std::initializer_list<unsigned> ds) {
      SmallVector<AffineExpr> exprs;
      for (unsigned d : ds)
        exprs.push_back(getAffineDimExpr(d, ctx));
      return AffineMap::get(4, 0, exprs, ctx);
    };
    // (b, m, n, k): the default maps only.
    if (maps[0] != dims({0, 1, 3}) || maps[1] != dims({0, 3, 2}) ||
        maps[2] != dims({0, 1, 2}))
      return rewriter.notifyMatchFailure(op, "not the default maps");
    auto source = broadcastSource(op.getDpsInputs()[1]);
    if (!source)
      return rewriter.notifyMatchFailure(op, "rhs is not a broadcast");
    auto [value, map] = *source;
    // The broadcast result [b, k, n] reads value[k, n] (or value[n, k], a
    // transposed weight).
    auto read = [&](unsigned a, unsigned b) {
      return AffineMap::get(
          3, 0, {getAffineDimExpr(a, ctx), getAffineDimExpr(b, ctx)}, ctx);
    };
    AffineMap rhsMap;
    if (map == read(1, 2))
      rhsMap = dims({3, 2});
    else if (map == read(2, 1))
      rhsMap = dims({2, 3});
    else
      return rewriter.notifyMatchFailure(op, "not a batch broadcast");
    auto mm = linalg::BatchMatmulOp::create(
        rewriter, op.getLoc(), op->getResultTypes(),
        ValueRange{op.getDpsInputs()[0], value}, op.getDpsInits()[0]);
    mm.setIndexingMapsAttr(
        rewriter.getAffineMapArrayAttr({maps[0], rhsMap, maps[2]}));
    rewriter.replaceOp(op, mm->getResults());
    return success();
  }
};

/// An element-wise generic reading a broadcast reads the broadcast's operand
/// through the composed map instead (`x + broadcast(bias)` becomes
/// `x + bias[c]`, the per-channel bias that kernel formation fuses).
struct FoldBroadcastIntoElementwise
    : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!isElementwiseGeneric(op))
      return rewriter.notifyMatchFailure(op, "not element-wise");
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    for (OpOperand *input : op.getDpsInputOperands()) {
      auto source = broadcastSource(input->get());
      unsigned index = input->getOperandNumber();
      if (!source || getElementTypeOrSelf(source->first.getType()) !=
                         getElementTypeOrSelf(input->get().getType()))
        continue;
      maps[index] = source->second.compose(maps[index]);
      rewriter.modifyOpInPlace(op, [&] {
        input->set(source->first);
        op.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps));
      });
      return success();
    }
    return rewriter.notifyMatchFailure(op, "no broadcast input");
  }
};

/// An element-wise generic's input that is a splat constant becomes that
/// scalar constant in the payload (`max(x, splat 0)` is then the ReLU
/// kernel formation fuses); the operand, now unused, is erased by
/// populateEraseUnusedOperandsAndResultsPatterns.
struct InlineSplatIntoElementwise : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!isElementwiseGeneric(op))
      return rewriter.notifyMatchFailure(op, "not element-wise");
    Block &body = op.getRegion().front();
    for (OpOperand *input : op.getDpsInputOperands()) {
      BlockArgument arg = body.getArgument(input->getOperandNumber());
      SplatElementsAttr splat;
      if (arg.use_empty() || !matchPattern(input->get(), m_Constant(&splat)))
        continue;
      // Complex splats are no TypedAttr; arith.constant does not take them.
      auto value = dyn_cast<TypedAttr>(splat.getSplatValue<Attribute>());
      if (!value || value.getType() != arg.getType() ||
          !arith::ConstantOp::isBuildableWith(value, value.getType()))
        continue;
      rewriter.setInsertionPointToStart(&body);
      Value scalar = arith::ConstantOp::create(rewriter, op.getLoc(), value);
      rewriter.replaceAllUsesWith(arg, scalar);
      return success();
    }
    return rewriter.notifyMatchFailure(op, "no splat constant input");
  }
};

/// An element-wise generic whose init is also one of its inputs (as
/// convert-elementwise-to-linalg writes `arith.addf %a, %b`) and whose
/// payload does not read the init writes into a tensor.empty instead, so its
/// producer keeps a single use (kernel formation fuses only single-use
/// producers).
struct UseEmptyInitForElementwise : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!isElementwiseGeneric(op))
      return rewriter.notifyMatchFailure(op, "not element-wise");
    OpOperand &init = op.getDpsInitsMutable()[0];
    if (op.payloadUsesValueFromOperand(&init) ||
        !llvm::is_contained(op.getDpsInputs(), init.get()))
      return rewriter.notifyMatchFailure(op, "init is read or not an input");
    Value empty = tensor::EmptyOp::create(
        rewriter, op.getLoc(),
        tensor::getMixedSizes(rewriter, op.getLoc(), init.get()),
        getElementTypeOrSelf(init.get().getType()));
    rewriter.modifyOpInPlace(op, [&] { init.set(empty); });
    return success();
  }
};

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

bool isElementwiseOnTensors(Operation *op) {
  return OpTrait::hasElementwiseMappableTraits(op) &&
         llvm::any_of(op->getOperandTypes(), llvm::IsaPred<RankedTensorType>);
}

/// Named contractions and convolutions in `root` (for the statistics).
std::pair<unsigned, unsigned> countNamed(Operation *root) {
  unsigned contractions = 0, convolutions = 0;
  root->walk([&](linalg::LinalgOp op) {
    if (isa<linalg::GenericOp>(op))
      return;
    if (isa<linalg::MatmulOp, linalg::BatchMatmulOp>(op))
      ++contractions;
    else if (isa<linalg::ConvolutionOpInterface>(op.getOperation()))
      ++convolutions;
  });
  return {contractions, convolutions};
}

struct LatheRaiseGenerics
    : public lathe::impl::LatheRaiseGenericsBase<LatheRaiseGenerics> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    Operation *root = getOperation();
    auto countElementwise = [&] {
      unsigned count = 0;
      root->walk([&](Operation *op) { count += isElementwiseOnTensors(op); });
      return count;
    };

    unsigned elementwiseBefore = countElementwise();
    if (elementwiseBefore) {
      RewritePatternSet patterns(ctx);
      linalg::populateElementwiseToLinalgConversionPatterns(patterns);
      if (failed(applyPatternsGreedily(root, std::move(patterns))))
        return signalPassFailure();
      unsigned after = countElementwise();
      numElementwise +=
          elementwiseBefore > after ? elementwiseBefore - after : 0;
    }

    auto [contractionsBefore, convolutionsBefore] = countNamed(root);
    RewritePatternSet patterns(ctx);
    lathe::populateRaiseGenericsPatterns(patterns);
    if (failed(applyPatternsGreedily(root, std::move(patterns))))
      return signalPassFailure();
    auto [contractions, convolutions] = countNamed(root);
    numContractions += contractions > contractionsBefore
                           ? contractions - contractionsBefore
                           : 0;
    numConvolutions += convolutions > convolutionsBefore
                           ? convolutions - convolutionsBefore
                           : 0;
  }
};

} // namespace

void mlir::lathe::populateRaiseGenericsPatterns(RewritePatternSet &patterns) {
  patterns.add<RaiseGenericContraction, RaiseGenericConvolution,
               RaiseGenericTranspose, FoldBroadcastIntoBatchMatmul,
               FoldBroadcastIntoElementwise, InlineSplatIntoElementwise,
               UseEmptyInitForElementwise>(patterns.getContext());
  linalg::populateEraseUnusedOperandsAndResultsPatterns(patterns);
}
