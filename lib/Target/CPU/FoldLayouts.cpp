//===- FoldLayouts.cpp - Layout changes and scales into lathe.matmul ------===//
//
// Multi-head attention written on tensors splits heads with
//   expand_shape [B*S, H*D] -> [B, S, H, D], transpose -> [B, H, S, D],
//   collapse_shape -> [B*H, S, D]
// and merges them back the same way. Each transpose is a full copy once
// bufferized, although oneDNN can read and write the [B, S, H, D] layout in
// place through strides. These patterns move such layout changes into the
// matmul (rank-4 operands read through `lhs_perm` / `rhs_perm` / `init_perm`)
// and fold a constant scale of the product (attention's 1/sqrt(d)) into
// `alpha`, so the head split and merge cost nothing at run time.
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Target/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

#include "llvm/ADT/SmallBitVector.h"

#include <cmath>
#include <optional>
#include <set>

using namespace mlir;
using namespace mlir::lathe;

namespace {

/// `value` is `tensor.collapse_shape %src [[0, 1], [2], [3]]` of a statically
/// shaped rank-4 tensor: returns %src.
static Value collapsedBatchSource(Value value) {
  auto collapse = value.getDefiningOp<tensor::CollapseShapeOp>();
  if (!collapse)
    return {};
  auto srcType = dyn_cast<RankedTensorType>(collapse.getSrc().getType());
  if (!srcType || srcType.getRank() != 4 || !srcType.hasStaticShape())
    return {};
  SmallVector<ReassociationIndices> reassoc =
      collapse.getReassociationIndices();
  if (reassoc.size() != 3 || reassoc[0] != ReassociationIndices{0, 1} ||
      reassoc[1] != ReassociationIndices{2} ||
      reassoc[2] != ReassociationIndices{3})
    return {};
  return collapse.getSrc();
}

static SmallVector<ReassociationIndices> batchReassociation() {
  return {{0, 1}, {2}, {3}};
}

/// `value` ([B1*B2, X, Y]) as [B1, B2, X, Y] (a view once bufferized).
static Value expandBatch(PatternRewriter &rewriter, Location loc, Value value,
                         int64_t b1, int64_t b2) {
  if (Value src = collapsedBatchSource(value)) {
    auto shape = cast<RankedTensorType>(src.getType()).getShape();
    if (shape[0] == b1 && shape[1] == b2)
      return src;
  }
  auto type = cast<RankedTensorType>(value.getType());
  auto expanded = RankedTensorType::get(
      {b1, b2, type.getDimSize(1), type.getDimSize(2)}, type.getElementType());
  return tensor::ExpandShapeOp::create(rewriter, loc, expanded, value,
                                       batchReassociation());
}

/// A rank-3 lathe.matmul with an operand that is the batch-collapse of a
/// transposed rank-4 tensor (heads split by transpose) becomes a rank-4
/// lathe.matmul, so the transpose can fold into it; its result is collapsed
/// back for the old users.
struct ExpandHeadBatch : public OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (op.hasPureBufferSemantics() || op.getLhsPerm() || op.getRhsPerm() ||
        op.getInitPerm())
      return rewriter.notifyMatchFailure(op, "not a plain tensor matmul");
    auto initType = cast<RankedTensorType>(op.getInit().getType());
    if (initType.getRank() != 3 || !initType.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "not a static batched matmul");
    Value lhsSrc = collapsedBatchSource(op.getLhs());
    Value rhsSrc = cast<ShapedType>(op.getRhs().getType()).getRank() == 3
                       ? collapsedBatchSource(op.getRhs())
                       : Value();
    auto fromTranspose = [](Value v) {
      return v && v.getDefiningOp<linalg::TransposeOp>();
    };
    if (!fromTranspose(lhsSrc) && !fromTranspose(rhsSrc))
      return rewriter.notifyMatchFailure(op, "no transposed head operand");
    auto batchDims = cast<RankedTensorType>(
                         (fromTranspose(lhsSrc) ? lhsSrc : rhsSrc).getType())
                         .getShape()
                         .take_front(2);
    int64_t b1 = batchDims[0], b2 = batchDims[1];

    Location loc = op.getLoc();
    Value lhs = expandBatch(rewriter, loc, op.getLhs(), b1, b2);
    Value rhs = cast<ShapedType>(op.getRhs().getType()).getRank() == 3
                    ? expandBatch(rewriter, loc, op.getRhs(), b1, b2)
                    : op.getRhs();
    Value init = expandBatch(rewriter, loc, op.getInit(), b1, b2);
    Value residual = op.getResidual()
                         ? expandBatch(rewriter, loc, op.getResidual(), b1, b2)
                         : Value();
    auto matmul =
        MatmulOp::create(rewriter, loc, TypeRange{init.getType()}, lhs, rhs,
                         op.getBias(), residual, init, op.getTransposeLhs(),
                         op.getTransposeRhs(), op.getActivation());
    matmul.setAlphaAttr(op.getAlphaAttr());
    Value collapsed = tensor::CollapseShapeOp::create(
        rewriter, loc, initType, matmul.getResult().front(),
        batchReassociation());
    rewriter.replaceOp(op, collapsed);
    return success();
  }
};

/// perm' such that transpose(transpose(x, inner), outer) == transpose(x,
/// perm').
static SmallVector<int64_t> compose(ArrayRef<int64_t> inner,
                                    ArrayRef<int64_t> outer) {
  SmallVector<int64_t> result;
  for (int64_t o : outer)
    result.push_back(inner[o]);
  return result;
}

static SmallVector<int64_t> identityPerm(int64_t rank) {
  return llvm::to_vector(llvm::seq<int64_t>(0, rank));
}

/// A rank-4 `linalg.transpose` feeding lhs or rhs of a lathe.matmul folds into
/// `lhs_perm` / `rhs_perm` (the runtime reads the strided view).
struct FoldOperandTranspose : public OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (op.hasPureBufferSemantics())
      return failure();
    auto folded = [](Value operand, DenseI64ArrayAttr perm)
        -> std::optional<std::pair<Value, SmallVector<int64_t>>> {
      auto transpose = operand.getDefiningOp<linalg::TransposeOp>();
      if (!transpose || transpose.getPermutation().size() != 4)
        return std::nullopt;
      SmallVector<int64_t> outer =
          perm ? llvm::to_vector(perm.asArrayRef()) : identityPerm(4);
      return std::make_pair(transpose.getInput(),
                            compose(transpose.getPermutation(), outer));
    };
    auto lhs = folded(op.getLhs(), op.getLhsPermAttr());
    auto rhs = folded(op.getRhs(), op.getRhsPermAttr());
    if (!lhs && !rhs)
      return rewriter.notifyMatchFailure(op, "no rank-4 transposed operand");
    rewriter.modifyOpInPlace(op, [&] {
      if (lhs) {
        op.getLhsMutable().assign(lhs->first);
        op.setLhsPerm(lhs->second);
      }
      if (rhs) {
        op.getRhsMutable().assign(rhs->first);
        op.setRhsPerm(rhs->second);
      }
    });
    return success();
  }
};

/// A rank-4 lathe.matmul whose only user transposes its result writes the
/// transposed layout directly: the transpose's init becomes the matmul's init,
/// read through the inverse permutation.
struct FoldResultTranspose : public OpRewritePattern<linalg::TransposeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::TransposeOp transpose,
                                PatternRewriter &rewriter) const override {
    auto matmul = transpose.getInput().getDefiningOp<MatmulOp>();
    if (!matmul || !matmul->hasOneUse() || matmul.hasPureBufferSemantics() ||
        matmul.getResidual() || matmul.getInitPerm() ||
        transpose.getPermutation().size() != 4 ||
        !isa<RankedTensorType>(transpose->getResult(0).getType()))
      return rewriter.notifyMatchFailure(transpose, "no foldable matmul");
    // result = transpose(C, q)  <=>  C = transpose(result, inverse(q)).
    ArrayRef<int64_t> q = transpose.getPermutation();
    SmallVector<int64_t> inverse(q.size());
    for (size_t i = 0; i < q.size(); ++i)
      inverse[q[i]] = static_cast<int64_t>(i);
    Value init = transpose.getInit();
    auto fused =
        MatmulOp::create(rewriter, matmul.getLoc(), TypeRange{init.getType()},
                         matmul.getLhs(), matmul.getRhs(), matmul.getBias(),
                         Value(), init, matmul.getTransposeLhs(),
                         matmul.getTransposeRhs(), matmul.getActivation());
    fused.setLhsPermAttr(matmul.getLhsPermAttr());
    fused.setRhsPermAttr(matmul.getRhsPermAttr());
    fused.setInitPerm(inverse);
    fused.setAlphaAttr(matmul.getAlphaAttr());
    rewriter.replaceOp(transpose, fused.getResults());
    rewriter.eraseOp(matmul);
    return success();
  }
};

/// An element-wise generic that only multiplies (or divides) the result of a
/// single-use, bias-free lathe.matmul - possibly seen through a
/// collapse_shape - by a constant folds into the matmul's `alpha`.
struct FoldScaleIntoAlpha : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 1 ||
        op.getNumDpsInits() != 1 ||
        op.getNumParallelLoops() != op.getNumLoops() ||
        !llvm::all_of(op.getIndexingMapsArray(),
                      [](AffineMap m) { return m.isIdentity(); }))
      return rewriter.notifyMatchFailure(op, "not a unary element-wise op");
    Value input = op.getDpsInputs()[0];
    auto collapse = input.getDefiningOp<tensor::CollapseShapeOp>();
    if (collapse && !collapse->hasOneUse())
      return rewriter.notifyMatchFailure(op, "shared collapse");
    auto matmul =
        (collapse ? collapse.getSrc() : input).getDefiningOp<MatmulOp>();
    if (!matmul || !matmul->hasOneUse() || matmul.getBias() ||
        matmul.getResidual() || matmul.getActivation() != Activation::none)
      return rewriter.notifyMatchFailure(op, "no plain single-use matmul");
    if (op.getResult(0).getType() != input.getType())
      return rewriter.notifyMatchFailure(op, "changes the type");

    Block &body = op.getRegion().front();
    auto ops =
        llvm::to_vector(llvm::make_pointer_range(body.without_terminator()));
    if (ops.size() != 1 ||
        body.getTerminator()->getOperand(0) != ops[0]->getResult(0))
      return rewriter.notifyMatchFailure(op, "body is not one operation");
    Value arg = body.getArgument(0);
    Operation *inner = ops[0];
    FloatAttr constant;
    auto isConst = [&](Value v) {
      return matchPattern(v, m_Constant(&constant));
    };
    double factor;
    if (isa<arith::MulFOp>(inner) &&
        ((inner->getOperand(0) == arg && isConst(inner->getOperand(1))) ||
         (inner->getOperand(1) == arg && isConst(inner->getOperand(0)))))
      factor = constant.getValueAsDouble();
    else if (isa<arith::DivFOp>(inner) && inner->getOperand(0) == arg &&
             isConst(inner->getOperand(1)) &&
             constant.getValueAsDouble() != 0.0)
      factor = 1.0 / constant.getValueAsDouble();
    else
      return rewriter.notifyMatchFailure(op, "not a scale by a constant");
    if (!std::isfinite(factor))
      return rewriter.notifyMatchFailure(op, "scale is not finite");

    float alpha =
        static_cast<float>(matmul.getAlpha().convertToFloat() * factor);
    rewriter.modifyOpInPlace(
        matmul, [&] { matmul.setAlphaAttr(rewriter.getF32FloatAttr(alpha)); });
    rewriter.replaceOp(op, input);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Views: what a chain of data movement computes
//===----------------------------------------------------------------------===//
//
// Frontends spell the head split and merge in many ways (PyTorch's exported
// attention works sequence-first: a transpose of the whole input, slices of
// the fused q/k/v projection, reshapes to [S, B*H, Dh], transposes of rank 3).
// Rather than matching spellings, the patterns below compute what a chain of
// tensor.expand_shape / collapse_shape / extract_slice, linalg.transpose and
// slicing generics does to the elements of a static source tensor: each
// dimension of the result is a row-major combination of "atoms" (size,
// stride in the flat source), plus an element offset. A matmul operand whose
// dimensions are single atoms is a strided view oneDNN reads in place; the
// patterns then rebuild it as reshape (+ slice) of the source read through a
// permutation attribute, so no copy is left.

/// One factor of a dimension: `size` indices `stride` elements apart.
struct Atom {
  int64_t size, stride;
};
using AtomDim = SmallVector<Atom, 2>;

struct View {
  Value source;
  SmallVector<AtomDim> dims; // outer atom first within a dimension
  int64_t offset = 0;
  bool copies = false; // the chain has a copy (transpose, slicing generic)
};

static bool isStatic(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && t.hasStaticShape();
}

static int64_t numElements(Value v) {
  return cast<RankedTensorType>(v.getType()).getNumElements();
}

/// Drops unit atoms and merges neighbours that are contiguous.
static AtomDim normalized(ArrayRef<Atom> dim) {
  AtomDim out;
  for (Atom a : dim) {
    if (a.size == 1)
      continue;
    if (!out.empty() && out.back().stride == a.stride * a.size)
      out.back() = {out.back().size * a.size, a.stride};
    else
      out.push_back(a);
  }
  return out;
}

static int64_t dimSize(ArrayRef<Atom> dim) {
  int64_t n = 1;
  for (Atom a : dim)
    n *= a.size;
  return n;
}

static View baseView(Value v) {
  View view;
  view.source = v;
  auto shape = cast<RankedTensorType>(v.getType()).getShape();
  int64_t stride = 1;
  view.dims.resize(shape.size());
  for (int64_t i = static_cast<int64_t>(shape.size()) - 1; i >= 0; --i) {
    view.dims[i] = normalized({{shape[i], stride}});
    stride *= shape[i];
  }
  return view;
}

/// Splits `dim` into row-major dimensions of `sizes`, or nothing when an atom
/// does not divide.
static std::optional<SmallVector<AtomDim>> splitDim(ArrayRef<Atom> dim,
                                                    ArrayRef<int64_t> sizes) {
  AtomDim atoms = normalized(dim);
  SmallVector<AtomDim> out(sizes.size());
  for (int64_t i = static_cast<int64_t>(sizes.size()) - 1; i >= 0; --i) {
    int64_t remaining = sizes[i];
    if (remaining <= 0)
      return std::nullopt;
    while (remaining > 1) {
      if (atoms.empty())
        return std::nullopt;
      Atom a = atoms.back();
      if (a.size <= remaining) {
        if (remaining % a.size)
          return std::nullopt;
        out[i].insert(out[i].begin(), a);
        atoms.pop_back();
        remaining /= a.size;
      } else {
        if (a.size % remaining)
          return std::nullopt;
        out[i].insert(out[i].begin(), Atom{remaining, a.stride});
        atoms.back() = {a.size / remaining, a.stride * remaining};
        remaining = 1;
      }
    }
  }
  if (!atoms.empty())
    return std::nullopt;
  return out;
}

/// A generic that only copies a static box of one tensor (how the ONNX
/// importer spells Slice and Split): out[i] = src[i + c] per dimension, a
/// constant index where the result dimension has size 1. Returns the source
/// and the offsets.
static std::optional<std::pair<Value, SmallVector<int64_t>>>
matchSliceGeneric(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 0 ||
      op.getNumDpsInits() != 1 ||
      op.getNumParallelLoops() != op.getNumLoops() ||
      !op.getIndexingMapsArray()[0].isIdentity() || !isStatic(op.getResult(0)))
    return std::nullopt;
  Block &body = op.getRegion().front();
  auto yield = body.getTerminator();
  auto extract = yield->getOperand(0).getDefiningOp<tensor::ExtractOp>();
  if (!extract || extract->getBlock() != &body ||
      extract.getTensor().getParentBlock() == &body ||
      !isStatic(extract.getTensor()))
    return std::nullopt;
  for (Operation &inner : body.without_terminator())
    if (!isa<linalg::IndexOp, arith::AddIOp, arith::ConstantOp,
             tensor::ExtractOp>(inner) ||
        (isa<tensor::ExtractOp>(inner) && &inner != extract.getOperation()))
      return std::nullopt;
  auto srcShape = extract.getTensor().getType().getShape();
  auto outShape = cast<RankedTensorType>(op.getResult(0).getType()).getShape();
  if (srcShape.size() != outShape.size())
    return std::nullopt;
  SmallVector<int64_t> offsets;
  for (auto [j, index] : llvm::enumerate(extract.getIndices())) {
    auto loopOf = [&](Value v) -> int64_t {
      auto idx = v.getDefiningOp<linalg::IndexOp>();
      return idx && idx->getBlock() == &body
                 ? static_cast<int64_t>(idx.getDim())
                 : -1;
    };
    int64_t loop = -1, c = 0;
    APInt value;
    if ((loop = loopOf(index)) >= 0) {
      c = 0;
    } else if (matchPattern(index, m_ConstantInt(&value))) {
      c = value.getSExtValue();
    } else if (auto add = index.getDefiningOp<arith::AddIOp>()) {
      for (int side = 0; side < 2 && loop < 0; ++side)
        if ((loop = loopOf(add->getOperand(side))) >= 0 &&
            matchPattern(add->getOperand(1 - side), m_ConstantInt(&value)))
          c = value.getSExtValue();
        else
          loop = -1;
      if (loop < 0)
        return std::nullopt;
    } else {
      return std::nullopt;
    }
    if (loop >= 0 ? loop != static_cast<int64_t>(j) : outShape[j] != 1)
      return std::nullopt;
    if (c < 0 || c + outShape[j] > srcShape[j])
      return std::nullopt;
    offsets.push_back(c);
  }
  return std::make_pair(extract.getTensor(), offsets);
}

static bool isMovement(Operation *op) {
  if (!op)
    return false;
  if (isa<linalg::TransposeOp, tensor::ExpandShapeOp, tensor::CollapseShapeOp,
          tensor::ExtractSliceOp>(op))
    return true;
  auto generic = dyn_cast<linalg::GenericOp>(op);
  return generic && matchSliceGeneric(generic).has_value();
}

/// Applies a box (static offsets, unit strides) to `view`; `dropped` dims are
/// removed afterwards.
static bool applySlice(View &view, ArrayRef<int64_t> offsets,
                       ArrayRef<int64_t> sizes,
                       const llvm::SmallBitVector &dropped) {
  for (size_t i = 0; i < view.dims.size(); ++i) {
    AtomDim dim = normalized(view.dims[i]);
    int64_t full = dimSize(dim);
    if (offsets[i] == 0 && sizes[i] == full)
      continue;
    if (dim.size() != 1)
      return false; // only a single atom can be cut
    view.offset += offsets[i] * dim[0].stride;
    view.dims[i] = normalized({{sizes[i], dim[0].stride}});
  }
  SmallVector<AtomDim> kept;
  for (size_t i = 0; i < view.dims.size(); ++i)
    if (!dropped.test(i))
      kept.push_back(view.dims[i]);
  view.dims = std::move(kept);
  return true;
}

/// The view `v` is of the furthest static source that data movement reaches.
static std::optional<View> traceView(Value v, int depth = 0) {
  if (!isStatic(v))
    return std::nullopt;
  Operation *def = v.getDefiningOp();
  if (!def || depth > 64 || !isMovement(def))
    return baseView(v);
  auto fallback = [&]() -> std::optional<View> { return baseView(v); };
  if (auto transpose = dyn_cast<linalg::TransposeOp>(def)) {
    std::optional<View> in = traceView(transpose.getInput(), depth + 1);
    if (!in)
      return fallback();
    View out = *in;
    out.dims.clear();
    for (int64_t p : transpose.getPermutation())
      out.dims.push_back(in->dims[p]);
    out.copies = true;
    return out;
  }
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(def)) {
    std::optional<View> in = traceView(collapse.getSrc(), depth + 1);
    if (!in)
      return fallback();
    View out = *in;
    out.dims.clear();
    for (const ReassociationIndices &group :
         collapse.getReassociationIndices()) {
      AtomDim dim;
      for (int64_t i : group)
        dim.append(in->dims[i].begin(), in->dims[i].end());
      out.dims.push_back(normalized(dim));
    }
    return out;
  }
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(def)) {
    std::optional<View> in = traceView(expand.getSrc(), depth + 1);
    if (!in)
      return fallback();
    View out = *in;
    out.dims.clear();
    auto shape = expand.getResultType().getShape();
    for (auto [i, group] : llvm::enumerate(expand.getReassociationIndices())) {
      SmallVector<int64_t> sizes;
      for (int64_t d : group)
        sizes.push_back(shape[d]);
      auto parts = splitDim(in->dims[i], sizes);
      if (!parts)
        return fallback();
      out.dims.append(parts->begin(), parts->end());
    }
    return out;
  }
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(def)) {
    if (!slice.hasUnitStride() || !isStatic(slice.getSource()) ||
        ShapedType::isDynamicShape(slice.getStaticOffsets()) ||
        ShapedType::isDynamicShape(slice.getStaticSizes()))
      return fallback();
    std::optional<View> in = traceView(slice.getSource(), depth + 1);
    if (!in || !applySlice(*in, slice.getStaticOffsets(),
                           slice.getStaticSizes(), slice.getDroppedDims()))
      return fallback();
    return in;
  }
  auto generic = cast<linalg::GenericOp>(def);
  auto match = matchSliceGeneric(generic);
  std::optional<View> in = traceView(match->first, depth + 1);
  auto sizes = cast<RankedTensorType>(v.getType()).getShape();
  if (!in || !applySlice(*in, match->second, sizes,
                         llvm::SmallBitVector(sizes.size())))
    return fallback();
  in->copies = true;
  return in;
}

/// Reshapes static `value` to `shape` (one collapse or expand where the
/// shapes nest, else through rank 1).
static Value reshapeTo(PatternRewriter &rewriter, Location loc, Value value,
                       ArrayRef<int64_t> shape) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getShape() == shape)
    return value;
  auto target = RankedTensorType::get(shape, type.getElementType());
  if (type.getRank() > 0 && !shape.empty()) {
    if (auto reassoc = getReassociationIndicesForReshape(type, target)) {
      // An identical reshape already before the insertion point serves.
      Block *block = rewriter.getInsertionBlock();
      Block::iterator point = rewriter.getInsertionPoint();
      for (Operation *user : value.getUsers()) {
        if (user->getBlock() != block ||
            user->getResult(0).getType() != target ||
            (point != block->end() && !user->isBeforeInBlock(&*point)))
          continue;
        if (auto e = dyn_cast<tensor::ExpandShapeOp>(user))
          if (e.getReassociationIndices() == *reassoc)
            return e.getResult();
        if (auto c = dyn_cast<tensor::CollapseShapeOp>(user))
          if (c.getReassociationIndices() == *reassoc)
            return c.getResult();
      }
      if (type.getRank() > target.getRank())
        return tensor::CollapseShapeOp::create(rewriter, loc, target, value,
                                               *reassoc);
      if (type.getRank() < target.getRank())
        return tensor::ExpandShapeOp::create(rewriter, loc, target, value,
                                             *reassoc);
    }
  }
  Value flat = value;
  auto flatType =
      RankedTensorType::get({type.getNumElements()}, type.getElementType());
  if (type.getRank() != 1) {
    SmallVector<ReassociationIndices> all(1);
    for (int64_t i = 0; i < type.getRank(); ++i)
      all[0].push_back(i);
    flat = tensor::CollapseShapeOp::create(rewriter, loc, flatType, value, all);
  }
  if (shape.size() == 1)
    return flat;
  SmallVector<ReassociationIndices> all(1);
  for (size_t i = 0; i < shape.size(); ++i)
    all[0].push_back(static_cast<int64_t>(i));
  return tensor::ExpandShapeOp::create(rewriter, loc, target, flat, all);
}

/// How the atoms of a view tile its source: all atoms (the view's and the
/// "gaps" between them that a slice skips), outer first.
struct Layout {
  SmallVector<Atom> atoms;
  SmallVector<int64_t> gapIndex; // -1 for a view atom, the sliced index else
  SmallVector<int64_t> viewAtom; // view atom i sits at atoms[viewAtom[i]]
};

/// `viewAtoms` (no unit atoms) as a tiling of a source of `numel` elements
/// read from `offset`: fails when atoms overlap or the offset is not a corner
/// of the gaps.
static std::optional<Layout> buildLayout(ArrayRef<Atom> viewAtoms,
                                         int64_t numel, int64_t offset) {
  SmallVector<int64_t> order = llvm::to_vector(
      llvm::seq<int64_t>(0, static_cast<int64_t>(viewAtoms.size())));
  llvm::stable_sort(order, [&](int64_t a, int64_t b) {
    return viewAtoms[a].stride < viewAtoms[b].stride;
  });
  SmallVector<Atom> ascending;
  SmallVector<int64_t> source; // view atom index or -1
  int64_t cur = 1;
  for (int64_t i : order) {
    Atom a = viewAtoms[i];
    if (a.size <= 1 || a.stride < cur || a.stride % cur)
      return std::nullopt;
    if (a.stride > cur) {
      ascending.push_back({a.stride / cur, cur});
      source.push_back(-1);
    }
    ascending.push_back(a);
    source.push_back(i);
    cur = a.stride * a.size;
  }
  if (numel % cur)
    return std::nullopt;
  if (numel / cur > 1) {
    ascending.push_back({numel / cur, cur});
    source.push_back(-1);
  }
  Layout layout;
  layout.viewAtom.assign(viewAtoms.size(), -1);
  int64_t rest = offset;
  for (int64_t i = static_cast<int64_t>(ascending.size()) - 1; i >= 0; --i) {
    Atom a = ascending[i];
    int64_t q = rest / a.stride;
    if (source[i] >= 0) {
      if (q != 0)
        return std::nullopt;
      layout.viewAtom[source[i]] = static_cast<int64_t>(layout.atoms.size());
      layout.gapIndex.push_back(-1);
    } else {
      if (q >= a.size)
        return std::nullopt;
      rest -= q * a.stride;
      layout.gapIndex.push_back(q);
    }
    layout.atoms.push_back(a);
  }
  if (rest != 0)
    return std::nullopt;
  return layout;
}

/// The source of `view` reshaped to the layout's atoms with the gaps sliced
/// away: a tensor whose dimensions are the view atoms in source order.
/// `position[i]` is the dimension holding view atom i.
static Value materializeLayout(PatternRewriter &rewriter, Location loc,
                               const View &view, const Layout &layout,
                               SmallVector<int64_t> &position) {
  SmallVector<int64_t> shape;
  for (Atom a : layout.atoms)
    shape.push_back(a.size);
  Value value = reshapeTo(rewriter, loc, view.source, shape);
  SmallVector<int64_t> kept; // layout index of each result dimension
  for (size_t i = 0; i < layout.atoms.size(); ++i)
    if (layout.gapIndex[i] < 0)
      kept.push_back(static_cast<int64_t>(i));
  if (kept.size() != layout.atoms.size()) {
    SmallVector<OpFoldResult> offsets, sizes, strides;
    SmallVector<int64_t> resultShape;
    for (size_t i = 0; i < layout.atoms.size(); ++i) {
      bool gap = layout.gapIndex[i] >= 0;
      offsets.push_back(rewriter.getIndexAttr(gap ? layout.gapIndex[i] : 0));
      sizes.push_back(rewriter.getIndexAttr(gap ? 1 : layout.atoms[i].size));
      strides.push_back(rewriter.getIndexAttr(1));
      if (!gap)
        resultShape.push_back(layout.atoms[i].size);
    }
    auto type = RankedTensorType::get(
        resultShape, cast<RankedTensorType>(value.getType()).getElementType());
    value = tensor::ExtractSliceOp::create(rewriter, loc, type, value, offsets,
                                           sizes, strides);
  }
  position.assign(layout.viewAtom.size(), -1);
  for (size_t i = 0; i < layout.viewAtom.size(); ++i)
    position[i] = llvm::find(kept, layout.viewAtom[i]) - kept.begin();
  return value;
}

/// All atoms of `view`, outer dimension first.
static SmallVector<Atom> flatAtoms(const View &view) {
  SmallVector<Atom> atoms;
  for (const AtomDim &dim : view.dims)
    for (Atom a : normalized(dim))
      atoms.push_back(a);
  return atoms;
}

/// Builds the value `view` describes with reshapes, at most one slice and one
/// transpose; nothing when its atoms do not tile the source.
static Value materializeView(PatternRewriter &rewriter, Location loc,
                             const View &view) {
  SmallVector<Atom> atoms = flatAtoms(view);
  auto layout = buildLayout(atoms, numElements(view.source), view.offset);
  if (!layout)
    return {};
  SmallVector<int64_t> position;
  Value value = materializeLayout(rewriter, loc, view, *layout, position);
  bool identity = true;
  for (size_t i = 0; i < position.size(); ++i)
    identity &= position[i] == static_cast<int64_t>(i);
  if (!identity) {
    auto type = cast<RankedTensorType>(value.getType());
    SmallVector<int64_t> shape;
    for (int64_t p : position)
      shape.push_back(type.getDimSize(p));
    Value init =
        tensor::EmptyOp::create(rewriter, loc, shape, type.getElementType());
    value = linalg::TransposeOp::create(rewriter, loc, value, init, position)
                ->getResult(0);
  }
  SmallVector<int64_t> shape;
  for (const AtomDim &dim : view.dims)
    shape.push_back(dimSize(dim));
  return reshapeTo(rewriter, loc, value, shape);
}

/// `dims` with dimension i taken from dims[perm[i]] (linalg.transpose).
static SmallVector<AtomDim> permuted(ArrayRef<AtomDim> dims,
                                     DenseI64ArrayAttr perm) {
  if (!perm)
    return llvm::to_vector(dims);
  SmallVector<AtomDim> out;
  for (int64_t p : perm.asArrayRef())
    out.push_back(dims[p]);
  return out;
}

/// Follows single-use data movement (transposes and reshapes) from `value`
/// and returns the last value; `transposes` tells whether a transpose was
/// passed.
static Value forwardChainEnd(Value value, bool &transposes) {
  transposes = false;
  while (value.hasOneUse()) {
    Operation *user = *value.getUsers().begin();
    if (auto transpose = dyn_cast<linalg::TransposeOp>(user)) {
      if (transpose.getInput() != value ||
          !isa<RankedTensorType>(transpose->getResult(0).getType()))
        break;
      transposes = true;
    } else if (!isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(user)) {
      break;
    }
    value = user->getResult(0);
  }
  return value;
}

/// `target` (a static value that data movement computes from `produced`
/// alone, element for element) seen from the other side: the dimensions of
/// `produced` as atoms over the dense row-major layout of `target`.
static std::optional<SmallVector<AtomDim>> invertView(Value produced,
                                                      Value target) {
  std::optional<View> view = traceView(target);
  if (!view || view->source != produced || view->offset != 0)
    return std::nullopt;
  // Atoms of target in its own order, with their stride in `produced` (c)
  // and in `target` (f).
  struct Pair {
    int64_t size, c, f;
  };
  SmallVector<Atom> flat = flatAtoms(*view);
  SmallVector<Pair> pairs;
  int64_t f = 1;
  for (int64_t i = static_cast<int64_t>(flat.size()) - 1; i >= 0; --i) {
    pairs.insert(pairs.begin(), Pair{flat[i].size, flat[i].stride, f});
    f *= flat[i].size;
  }
  if (f != numElements(produced) || f != numElements(target))
    return std::nullopt;
  auto shape = cast<RankedTensorType>(produced.getType()).getShape();
  SmallVector<int64_t> cStride(shape.size());
  int64_t s = 1;
  for (int64_t i = static_cast<int64_t>(shape.size()) - 1; i >= 0; --i) {
    cStride[i] = s;
    s *= shape[i];
  }
  // Cut atoms that straddle a dimension boundary of `produced`.
  for (size_t d = 0; d < shape.size(); ++d) {
    int64_t boundary = cStride[d];
    for (size_t i = 0; i < pairs.size(); ++i) {
      Pair p = pairs[i];
      if (p.c < boundary && boundary < p.c * p.size) {
        if (boundary % p.c || p.size % (boundary / p.c))
          return std::nullopt;
        int64_t q = boundary / p.c;
        pairs[i] = {p.size / q, p.c * q, p.f * q};
        pairs.insert(pairs.begin() + i + 1, Pair{q, p.c, p.f});
      }
    }
  }
  SmallVector<AtomDim> dims(shape.size());
  for (size_t d = 0; d < shape.size(); ++d) {
    SmallVector<Pair> mine;
    for (Pair p : pairs)
      if (p.c >= cStride[d] && p.c < cStride[d] * shape[d])
        mine.push_back(p);
    llvm::sort(mine, [](Pair a, Pair b) { return a.c > b.c; });
    int64_t expect = cStride[d];
    for (auto it = mine.rbegin(); it != mine.rend(); ++it) {
      if (it->c != expect)
        return std::nullopt;
      expect *= it->size;
    }
    if (expect != cStride[d] * shape[d])
      return std::nullopt;
    for (Pair p : mine)
      dims[d].push_back({p.size, p.f});
    dims[d] = normalized(dims[d]);
  }
  return dims;
}

/// Splits the batch dimensions of all `views` (the dimensions before the last
/// two) at the same places and merges what is contiguous in every view;
/// afterwards each view has exactly two batch dimensions of at most one atom.
static bool refineBatch(MutableArrayRef<SmallVector<AtomDim>> views,
                        int64_t numBatch) {
  SmallVector<SmallVector<Atom>> batch;
  std::set<int64_t> cuts;
  int64_t total = -1;
  for (auto &dims : views) {
    AtomDim all;
    for (int64_t i = 0; i < numBatch; ++i)
      all.append(dims[i].begin(), dims[i].end());
    all = normalized(all);
    int64_t p = 1;
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      p *= it->size;
      cuts.insert(p);
    }
    if (total >= 0 && p != total)
      return false;
    total = p;
    batch.push_back(SmallVector<Atom>(all.begin(), all.end()));
  }
  cuts.erase(total);
  int64_t prev = 1;
  for (int64_t c : cuts) {
    if (c % prev)
      return false;
    prev = c;
  }
  if (total % prev)
    return false;
  // Refine every view at every cut (inner atom first).
  for (auto &atoms : batch) {
    SmallVector<Atom> refined;
    int64_t p = 1;
    for (auto it = atoms.rbegin(); it != atoms.rend(); ++it) {
      Atom a = *it;
      int64_t end = p * a.size;
      for (int64_t c : cuts) {
        if (c <= p || c >= end)
          continue;
        int64_t q = c / p;
        if (c % p || a.size % q)
          return false;
        refined.insert(refined.begin(), Atom{q, a.stride});
        a = {a.size / q, a.stride * q};
        p = c;
      }
      refined.insert(refined.begin(), a);
      p = end;
    }
    atoms = refined;
  }
  size_t n = batch.front().size();
  for (auto &atoms : batch)
    if (atoms.size() != n)
      return false;
  // Runs of factors contiguous in every view.
  SmallVector<std::pair<size_t, size_t>> runs; // [begin, end)
  for (size_t i = 0; i < n; ++i) {
    bool join = !runs.empty() && llvm::all_of(batch, [&](auto &atoms) {
      return atoms[i - 1].stride == atoms[i].stride * atoms[i].size &&
             atoms[i - 1].size == batch.front()[i - 1].size;
    });
    if (join)
      runs.back().second = i + 1;
    else
      runs.push_back({i, i + 1});
  }
  if (runs.size() > 2)
    return false;
  for (auto [v, dims] : llvm::enumerate(views)) {
    SmallVector<AtomDim> out(2 - runs.size());
    for (auto [b, e] : runs) {
      int64_t size = 1;
      for (size_t i = b; i < e; ++i)
        size *= batch[v][i].size;
      out.push_back(AtomDim{{size, batch[v][e - 1].stride}});
    }
    out.append(dims.begin() + numBatch, dims.end());
    dims = std::move(out);
  }
  return true;
}

/// How to read a matmul operand whose every dimension is at most one atom:
/// the source's layout and the permutation from logical to stored
/// dimensions (unit dimensions are stored first).
struct OperandPlan {
  Layout layout;
  SmallVector<int64_t> perm;
  SmallVector<int64_t> storedShape;
};

static std::optional<OperandPlan> planOperand(ArrayRef<AtomDim> dims,
                                              int64_t numel, int64_t offset) {
  SmallVector<Atom> atoms;
  SmallVector<int64_t> atomOf(dims.size(), -1);
  int64_t units = 0;
  for (auto [i, dim] : llvm::enumerate(dims)) {
    AtomDim d = normalized(dim);
    if (d.size() > 1)
      return std::nullopt;
    if (d.empty()) {
      ++units;
      continue;
    }
    atomOf[i] = static_cast<int64_t>(atoms.size());
    atoms.push_back(d.front());
  }
  auto layout = buildLayout(atoms, numel, offset);
  if (!layout || atoms.empty())
    return std::nullopt;
  OperandPlan plan;
  plan.layout = *layout;
  SmallVector<int64_t> kept;
  for (size_t i = 0; i < layout->atoms.size(); ++i)
    if (layout->gapIndex[i] < 0)
      kept.push_back(static_cast<int64_t>(i));
  plan.storedShape.assign(units, 1);
  for (int64_t k : kept)
    plan.storedShape.push_back(layout->atoms[k].size);
  int64_t nextUnit = 0;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (atomOf[i] < 0) {
      plan.perm.push_back(nextUnit++);
      continue;
    }
    int64_t at = layout->viewAtom[atomOf[i]];
    plan.perm.push_back(units + (llvm::find(kept, at) - kept.begin()));
  }
  return plan;
}

static Value emitOperand(PatternRewriter &rewriter, Location loc,
                         const View &view, const OperandPlan &plan) {
  SmallVector<int64_t> position;
  Value value = materializeLayout(rewriter, loc, view, plan.layout, position);
  return reshapeTo(rewriter, loc, value, plan.storedShape);
}

static DenseI64ArrayAttr permAttr(PatternRewriter &rewriter,
                                  ArrayRef<int64_t> perm) {
  for (size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != static_cast<int64_t>(i))
      return rewriter.getDenseI64ArrayAttr(perm);
  return {};
}

/// Erases the now unused chain from `end` back to `stop` (exclusive).
static void eraseDeadChain(PatternRewriter &rewriter, Value end,
                           Operation *stop) {
  Operation *cur = end.getDefiningOp();
  while (cur && cur != stop && cur->use_empty()) {
    Value in = cur->getOperand(0);
    rewriter.eraseOp(cur);
    cur = in.getDefiningOp();
  }
}

/// A generic that only multiplies (or divides) one tensor element-wise by a
/// constant (an arith.constant in the body, or a constant splat input such
/// as the 0-d tensor the ONNX importer broadcasts): that tensor and the
/// factor.
static std::optional<std::pair<Value, double>>
constantScale(linalg::GenericOp op) {
  if (!op || !op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumDpsInputs() < 1 || op.getNumDpsInputs() > 2 ||
      op.getNumParallelLoops() != op.getNumLoops())
    return std::nullopt;
  Block &body = op.getRegion().front();
  auto ops =
      llvm::to_vector(llvm::make_pointer_range(body.without_terminator()));
  if (ops.size() != 1 ||
      body.getTerminator()->getOperand(0) != ops[0]->getResult(0))
    return std::nullopt;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (!maps.back().isIdentity())
    return std::nullopt;
  // The data input: identity map, the result's type.
  std::optional<unsigned> data;
  for (unsigned i = 0; i < op.getNumDpsInputs(); ++i)
    if (!data && maps[i].isIdentity() &&
        op.getDpsInputs()[i].getType() == op.getResult(0).getType())
      data = i;
  if (!data)
    return std::nullopt;
  Value arg = body.getArgument(*data);
  auto constantOf = [&](Value v) -> std::optional<double> {
    FloatAttr attr;
    if (matchPattern(v, m_Constant(&attr)))
      return attr.getValueAsDouble();
    auto blockArg = dyn_cast<BlockArgument>(v);
    if (!blockArg || blockArg.getOwner() != &body ||
        blockArg.getArgNumber() >= op.getNumDpsInputs() ||
        blockArg.getArgNumber() == *data)
      return std::nullopt;
    DenseElementsAttr dense;
    if (!matchPattern(op.getDpsInputs()[blockArg.getArgNumber()],
                      m_Constant(&dense)) ||
        !dense.isSplat() || !isa<FloatType>(dense.getElementType()))
      return std::nullopt;
    return dense.getSplatValue<APFloat>().convertToDouble();
  };
  Operation *inner = ops[0];
  if (inner->getNumOperands() != 2 ||
      llvm::any_of(inner->getOperands(), [&](Value v) {
        return isa<BlockArgument>(v) &&
               cast<BlockArgument>(v).getOwner() == &body &&
               cast<BlockArgument>(v).getArgNumber() >= op.getNumDpsInputs();
      }))
    return std::nullopt;
  std::optional<double> factor;
  if (isa<arith::MulFOp>(inner)) {
    if (inner->getOperand(0) == arg)
      factor = constantOf(inner->getOperand(1));
    else if (inner->getOperand(1) == arg)
      factor = constantOf(inner->getOperand(0));
  } else if (isa<arith::DivFOp>(inner) && inner->getOperand(0) == arg) {
    std::optional<double> divisor = constantOf(inner->getOperand(1));
    if (divisor && *divisor != 0.0)
      factor = 1.0 / *divisor;
  }
  // A second input that the body does not read as the constant is not a
  // scale.
  if (!factor || !std::isfinite(*factor))
    return std::nullopt;
  if (op.getNumDpsInputs() == 2 &&
      !llvm::is_contained(inner->getOperands(), body.getArgument(1 - *data)))
    return std::nullopt;
  return std::make_pair(op.getDpsInputs()[*data], *factor);
}

/// A constant scale of a bias-free matmul's lhs or rhs (PyTorch scales q
/// before the scores) folds into `alpha`.
struct FoldOperandScale : public OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (op.hasPureBufferSemantics() || op.getBias())
      return rewriter.notifyMatchFailure(op, "not a bias-free tensor matmul");
    auto scaleOf = [](Value v) -> std::optional<std::pair<Value, double>> {
      auto generic = v.getDefiningOp<linalg::GenericOp>();
      if (!generic || !generic->hasOneUse())
        return std::nullopt;
      return constantScale(generic);
    };
    auto lhs = scaleOf(op.getLhs());
    auto rhs = op.getRhs() != op.getLhs() ? scaleOf(op.getRhs()) : std::nullopt;
    if (!lhs && !rhs)
      return rewriter.notifyMatchFailure(op, "no scaled operand");
    double factor = (lhs ? lhs->second : 1.0) * (rhs ? rhs->second : 1.0);
    float alpha = static_cast<float>(op.getAlpha().convertToFloat() * factor);
    rewriter.modifyOpInPlace(op, [&] {
      if (lhs)
        op.getLhsMutable().assign(lhs->first);
      if (rhs)
        op.getRhsMutable().assign(rhs->first);
      op.setAlphaAttr(rewriter.getF32FloatAttr(alpha));
    });
    return success();
  }
};

static bool hasFoldableScale(MatmulOp op) {
  if (op.getBias())
    return false;
  for (Value v : {op.getLhs(), op.getRhs()}) {
    auto generic = v.getDefiningOp<linalg::GenericOp>();
    if (generic && generic->hasOneUse() && constantScale(generic))
      return true;
  }
  return false;
}

/// A linalg.transpose that only moves unit dimensions is a reshape (a view
/// once bufferized, not a copy).
struct TransposeOfUnitDims : public OpRewritePattern<linalg::TransposeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::TransposeOp op,
                                PatternRewriter &rewriter) const override {
    Value input = op.getInput();
    if (!isStatic(input) || !isStatic(op->getResult(0)))
      return rewriter.notifyMatchFailure(op, "not static tensors");
    View view = baseView(input);
    AtomDim all;
    for (int64_t p : op.getPermutation())
      all.append(view.dims[p].begin(), view.dims[p].end());
    all = normalized(all);
    if (all.size() > 1 || (all.size() == 1 && all[0].stride != 1))
      return rewriter.notifyMatchFailure(op, "moves data");
    auto shape = cast<RankedTensorType>(op->getResult(0).getType()).getShape();
    rewriter.replaceOp(op, reshapeTo(rewriter, op.getLoc(), input, shape));
    return success();
  }
};

static bool plainRank2(MatmulOp op) {
  return !op.hasPureBufferSemantics() && !op.getResidual() &&
         !op.getLhsPerm() && !op.getRhsPerm() && !op.getInitPerm() &&
         !op.getTransposeLhs() && isStatic(op.getInit()) &&
         isStatic(op.getLhs()) &&
         cast<RankedTensorType>(op.getInit().getType()).getRank() == 2 &&
         cast<ShapedType>(op.getRhs().getType()).getRank() == 2;
}

static MatmulOp cloneMatmul(PatternRewriter &rewriter, MatmulOp op, Value lhs,
                            Value rhs, Value init) {
  auto mm =
      MatmulOp::create(rewriter, op.getLoc(), TypeRange{init.getType()}, lhs,
                       rhs, op.getBias(), Value(), init, op.getTransposeLhs(),
                       op.getTransposeRhs(), op.getActivation());
  mm.setAlphaAttr(op.getAlphaAttr());
  return mm;
}

/// A matmul with a shared [K, N] rhs works row by row, so a permutation of
/// its lhs rows (PyTorch's [B, S, D] -> [S, B, D] before the projections)
/// can move to its result, where the next layout fold takes it.
struct MoveRowPermutationToResult : public OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (!plainRank2(op))
      return rewriter.notifyMatchFailure(op, "not a plain 2-D matmul");
    std::optional<View> lhs = traceView(op.getLhs());
    if (!lhs || !lhs->copies || lhs->offset != 0)
      return rewriter.notifyMatchFailure(op, "lhs rows are not permuted");
    // A batched producer writes the order itself (MoveRowPermutationToLhs).
    if (lhs->source.getDefiningOp<MatmulOp>())
      return rewriter.notifyMatchFailure(op, "lhs comes from a matmul");
    // Only where data movement follows anyway, which takes the permutation
    // along (else the copy would just move to the possibly wider result).
    if (op.getResult().front().use_empty() ||
        !llvm::all_of(op.getResult().front().getUsers(), isMovement))
      return rewriter.notifyMatchFailure(op, "result is not moved further");
    AtomDim rows = normalized(lhs->dims[0]), cols = normalized(lhs->dims[1]);
    if (rows.size() < 2 || cols.size() != 1 || cols[0].stride != 1)
      return rewriter.notifyMatchFailure(op, "not a pure row permutation");
    int64_t k = cols[0].size;
    int64_t numel = numElements(lhs->source);
    auto layout = buildLayout(flatAtoms(*lhs), numel, 0);
    if (!layout ||
        llvm::any_of(layout->gapIndex, [](int64_t g) { return g >= 0; }))
      return rewriter.notifyMatchFailure(op, "lhs is not all of its source");
    auto initType = cast<RankedTensorType>(op.getInit().getType());
    int64_t n = initType.getDimSize(1);
    View result;
    AtomDim resultRows;
    for (Atom a : rows)
      resultRows.push_back({a.size, a.stride / k * n});
    result.dims = {resultRows, normalized({{n, 1}})};
    if (!buildLayout(flatAtoms(result), numel / k * n, 0))
      return rewriter.notifyMatchFailure(op, "result layout");

    Location loc = op.getLoc();
    Value newLhs = reshapeTo(rewriter, loc, lhs->source, {numel / k, k});
    Value init = tensor::EmptyOp::create(rewriter, loc, {numel / k, n},
                                         initType.getElementType());
    result.source = cloneMatmul(rewriter, op, newLhs, op.getRhs(), init)
                        .getResult()
                        .front();
    rewriter.replaceOp(op, materializeView(rewriter, loc, result));
    return success();
  }
};

/// The converse: when a 2-D matmul's result only has its rows permuted by
/// the data movement after it, the matmul reads its lhs rows in that order
/// and writes the final layout directly.
struct MoveRowPermutationToLhs : public OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (!plainRank2(op) || !op.getResult().front().hasOneUse())
      return rewriter.notifyMatchFailure(op, "not a plain 2-D matmul");
    // Only towards a batched producer, which then writes the rows in this
    // order through init_perm (FoldViewsIntoBatchedMatmul).
    std::optional<View> lhsView = traceView(op.getLhs());
    auto producer =
        lhsView ? lhsView->source.getDefiningOp<MatmulOp>() : MatmulOp();
    if (!producer ||
        cast<ShapedType>(producer.getInit().getType()).getRank() < 3)
      return rewriter.notifyMatchFailure(op, "lhs is not a batched matmul's");
    Value result = op.getResult().front();
    bool transposes;
    Value end = forwardChainEnd(result, transposes);
    if (end == result || !transposes)
      return rewriter.notifyMatchFailure(op, "no permutation after it");
    std::optional<View> view = traceView(end);
    if (!view || view->source != result || view->offset != 0)
      return rewriter.notifyMatchFailure(op, "not a view of the result");
    auto initType = cast<RankedTensorType>(op.getInit().getType());
    int64_t m = initType.getDimSize(0), n = initType.getDimSize(1);
    AtomDim flat = normalized(flatAtoms(*view));
    if (flat.size() < 2 || flat.back().stride != 1 || flat.back().size % n)
      return rewriter.notifyMatchFailure(op, "columns are not kept together");
    if (flat.back().size > n)
      flat.back() = {flat.back().size / n, n};
    else
      flat.pop_back();
    auto lhsType = cast<RankedTensorType>(op.getLhs().getType());
    int64_t k = lhsType.getDimSize(1);
    View lhs;
    lhs.source = op.getLhs();
    AtomDim rows;
    for (Atom a : flat) {
      if (a.stride % n)
        return rewriter.notifyMatchFailure(op, "columns are split");
      rows.push_back({a.size, a.stride / n * k});
    }
    lhs.dims = {rows, normalized({{k, 1}})};
    if (dimSize(rows) != m || !buildLayout(flatAtoms(lhs), m * k, 0))
      return rewriter.notifyMatchFailure(op, "lhs layout");

    Location loc = op.getLoc();
    Value newLhs = materializeView(rewriter, loc, lhs);
    Value init = tensor::EmptyOp::create(rewriter, loc, {m, n},
                                         initType.getElementType());
    Value mm = cloneMatmul(rewriter, op, newLhs, op.getRhs(), init)
                   .getResult()
                   .front();
    auto shape = cast<RankedTensorType>(end.getType()).getShape();
    rewriter.replaceAllUsesWith(end, reshapeTo(rewriter, loc, mm, shape));
    eraseDeadChain(rewriter, end, op);
    rewriter.eraseOp(op);
    return success();
  }
};

/// A batched lathe.matmul (attention's scores and context) whose operands
/// and result reach their sources and destination through data movement is
/// rewritten as a rank-4 matmul that reads and writes those tensors in place
/// through lhs_perm / rhs_perm / init_perm, with the batch split as the
/// layouts need (the [B*H] of the spelling becomes [B, H]).
struct FoldViewsIntoBatchedMatmul : public OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (op.hasPureBufferSemantics() || op.getResidual())
      return rewriter.notifyMatchFailure(op, "not a residual-free tensor op");
    auto initType = dyn_cast<RankedTensorType>(op.getInit().getType());
    int64_t rank = initType ? initType.getRank() : 0;
    if (rank < 3 || cast<ShapedType>(op.getRhs().getType()).getRank() != rank ||
        !isStatic(op.getInit()) || !isStatic(op.getLhs()) ||
        !isStatic(op.getRhs()))
      return rewriter.notifyMatchFailure(op, "not a static batched matmul");
    if (hasFoldableScale(op))
      return rewriter.notifyMatchFailure(op, "operand scale folds first");
    std::optional<View> lhs = traceView(op.getLhs());
    std::optional<View> rhs = traceView(op.getRhs());
    if (!lhs || !rhs)
      return rewriter.notifyMatchFailure(op, "no view");
    Value result = op.getResult().front();
    bool forwardTransposes;
    Value end = forwardChainEnd(result, forwardTransposes);
    std::optional<SmallVector<AtomDim>> resultDims;
    if (end != result && forwardTransposes)
      resultDims = invertView(result, end);
    if (!resultDims) {
      end = result;
      resultDims = baseView(result).dims;
    }
    if (!lhs->copies && !rhs->copies && end == result)
      return rewriter.notifyMatchFailure(op, "nothing to fold");

    SmallVector<SmallVector<AtomDim>> views = {
        permuted(lhs->dims, op.getLhsPermAttr()),
        permuted(rhs->dims, op.getRhsPermAttr()),
        permuted(*resultDims, op.getInitPermAttr())};
    if (!refineBatch(views, rank - 2))
      return rewriter.notifyMatchFailure(op, "batch layouts do not agree");
    auto lhsPlan = planOperand(views[0], numElements(lhs->source), lhs->offset);
    auto rhsPlan = planOperand(views[1], numElements(rhs->source), rhs->offset);
    auto initPlan = planOperand(views[2], numElements(end), 0);
    if (!lhsPlan || !rhsPlan || !initPlan)
      return rewriter.notifyMatchFailure(op,
                                         "an operand is not a strided view");

    Location loc = op.getLoc();
    Value newLhs = emitOperand(rewriter, loc, *lhs, *lhsPlan);
    Value newRhs = emitOperand(rewriter, loc, *rhs, *rhsPlan);
    Value init = tensor::EmptyOp::create(rewriter, loc, initPlan->storedShape,
                                         initType.getElementType());
    MatmulOp mm = cloneMatmul(rewriter, op, newLhs, newRhs, init);
    mm.setLhsPermAttr(permAttr(rewriter, lhsPlan->perm));
    mm.setRhsPermAttr(permAttr(rewriter, rhsPlan->perm));
    mm.setInitPermAttr(permAttr(rewriter, initPlan->perm));
    auto shape = cast<RankedTensorType>(end.getType()).getShape();
    Value replacement = reshapeTo(rewriter, loc, mm.getResult().front(), shape);
    if (end == result) {
      rewriter.replaceOp(op, replacement);
      return success();
    }
    rewriter.replaceAllUsesWith(end, replacement);
    eraseDeadChain(rewriter, end, op);
    rewriter.eraseOp(op);
    return success();
  }
};

/// An element-wise generic that reads a single-use lathe.matmul through an
/// expand_shape (PyTorch's residual add on [B, S, D] after a projection on
/// [B*S, D]) runs in the matmul's shape instead, so the epilogue fusion can
/// make it the matmul's residual / post-op.
struct CollapseEpilogueToMatmul : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
        op->getNumResults() != 1 ||
        op.getNumParallelLoops() != op.getNumLoops() ||
        !llvm::all_of(op.getIndexingMapsArray(),
                      [](AffineMap m) { return m.isIdentity(); }) ||
        !isStatic(op.getResult(0)))
      return rewriter.notifyMatchFailure(op, "not a static element-wise op");
    tensor::ExpandShapeOp expand;
    for (Value input : op.getDpsInputs()) {
      auto candidate = input.getDefiningOp<tensor::ExpandShapeOp>();
      auto mm =
          candidate ? candidate.getSrc().getDefiningOp<MatmulOp>() : MatmulOp();
      if (mm && candidate->hasOneUse() && mm->hasOneUse() &&
          !mm.getResidual() && isStatic(candidate.getSrc()) &&
          llvm::count(op.getDpsInputs(), input) == 1) {
        expand = candidate;
        break;
      }
    }
    if (!expand)
      return rewriter.notifyMatchFailure(op, "no expanded matmul input");
    if (llvm::any_of(op->getOperands(), [](Value v) { return !isStatic(v); }))
      return rewriter.notifyMatchFailure(op, "dynamic operand");
    SmallVector<ReassociationIndices> reassoc =
        expand.getReassociationIndices();
    auto srcType = cast<RankedTensorType>(expand.getSrc().getType());
    Location loc = op.getLoc();
    auto collapse = [&](Value v) -> Value {
      if (v == expand.getResult())
        return expand.getSrc();
      auto type = cast<RankedTensorType>(v.getType());
      return tensor::CollapseShapeOp::create(
          rewriter, loc,
          RankedTensorType::get(srcType.getShape(), type.getElementType()), v,
          reassoc);
    };
    SmallVector<Value> inputs, inits;
    for (Value v : op.getDpsInputs())
      inputs.push_back(collapse(v));
    inits.push_back(collapse(op.getDpsInits()[0]));
    int64_t rank = srcType.getRank();
    SmallVector<AffineMap> maps(
        inputs.size() + 1,
        AffineMap::getMultiDimIdentityMap(rank, rewriter.getContext()));
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    auto generic =
        linalg::GenericOp::create(rewriter, loc, TypeRange{inits[0].getType()},
                                  inputs, inits, maps, iterators);
    generic->setDiscardableAttrs(op->getDiscardableAttrDictionary());
    rewriter.inlineRegionBefore(op.getRegion(), generic.getRegion(),
                                generic.getRegion().begin());
    auto resultType = cast<RankedTensorType>(op.getResult(0).getType());
    Value expanded = tensor::ExpandShapeOp::create(
        rewriter, loc, resultType, generic.getResult(0), reassoc);
    rewriter.replaceOp(op, expanded);
    return success();
  }
};

/// A 2-D matmul with a constant weight whose result is only read as equal
/// column blocks (the fused q/k/v projection of an exported
/// MultiheadAttention, cut by the folds above into expand_shape +
/// extract_slice of [B*S, 3*D]) becomes one matmul per block on the weight's
/// columns (still pre-packed, a constant view) with its part of the bias:
/// each block is then dense, and the attention matmuls read rows of D
/// floats instead of 3*D.
struct SplitMatmulByColumnBlocks : public OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (!plainRank2(op) || !isStatic(op.getRhs()) ||
        !op.getRhs().getDefiningOp<arith::ConstantOp>() ||
        (op.getBias() && !isStatic(op.getBias())))
      return rewriter.notifyMatchFailure(op,
                                         "not a 2-D constant-weight matmul");
    Value result = op.getResult().front();
    auto initType = cast<RankedTensorType>(op.getInit().getType());
    int64_t m = initType.getDimSize(0), n = initType.getDimSize(1);
    // Every user: expand_shape [M, N] -> [..rows.., g, ..block..] whose users
    // all take one index of g.
    int64_t blocks = 0;
    SmallVector<std::pair<tensor::ExtractSliceOp, int64_t>> slices;
    for (Operation *user : result.getUsers()) {
      auto expand = dyn_cast<tensor::ExpandShapeOp>(user);
      if (!expand || !isStatic(expand.getResult()))
        return rewriter.notifyMatchFailure(op, "a user is not an expand_shape");
      SmallVector<ReassociationIndices> reassoc =
          expand.getReassociationIndices();
      ArrayRef<int64_t> shape = expand.getResultType().getShape();
      int64_t gDim = reassoc[1].front();
      if (reassoc[1].size() < 2 || shape[gDim] < 2 ||
          (blocks && blocks != shape[gDim]))
        return rewriter.notifyMatchFailure(op, "columns are not cut in blocks");
      blocks = shape[gDim];
      for (Operation *sliceUser : expand->getUsers()) {
        auto slice = dyn_cast<tensor::ExtractSliceOp>(sliceUser);
        if (!slice || !slice.hasUnitStride() ||
            ShapedType::isDynamicShape(slice.getStaticOffsets()) ||
            ShapedType::isDynamicShape(slice.getStaticSizes()))
          return rewriter.notifyMatchFailure(op,
                                             "a user is not a static slice");
        ArrayRef<int64_t> offsets = slice.getStaticOffsets();
        ArrayRef<int64_t> sizes = slice.getStaticSizes();
        llvm::SmallBitVector dropped = slice.getDroppedDims();
        for (size_t d = 0; d < shape.size(); ++d) {
          bool ok =
              d == static_cast<size_t>(gDim)
                  ? sizes[d] == 1 && dropped.test(d)
                  : offsets[d] == 0 && sizes[d] == shape[d] && !dropped.test(d);
          if (!ok)
            return rewriter.notifyMatchFailure(op, "a slice is not one block");
        }
        slices.push_back({slice, offsets[gDim]});
      }
    }
    if (slices.empty() || n % blocks)
      return rewriter.notifyMatchFailure(op, "nothing to split");
    int64_t width = n / blocks;

    Location loc = op.getLoc();
    auto elementType = initType.getElementType();
    SmallVector<Value> parts(blocks);
    auto part = [&](int64_t b) -> Value {
      if (parts[b])
        return parts[b];
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPoint(op);
      bool t = op.getTransposeRhs();
      auto rhsType = cast<RankedTensorType>(op.getRhs().getType());
      SmallVector<OpFoldResult> offsets = {
          rewriter.getIndexAttr(t ? b * width : 0),
          rewriter.getIndexAttr(t ? 0 : b * width)};
      SmallVector<OpFoldResult> sizes = {
          rewriter.getIndexAttr(t ? width : rhsType.getDimSize(0)),
          rewriter.getIndexAttr(t ? rhsType.getDimSize(1) : width)};
      SmallVector<OpFoldResult> ones(2, rewriter.getIndexAttr(1));
      Value rhs = tensor::ExtractSliceOp::create(rewriter, loc, op.getRhs(),
                                                 offsets, sizes, ones);
      Value bias;
      if (op.getBias())
        bias = tensor::ExtractSliceOp::create(
            rewriter, loc, op.getBias(),
            ArrayRef<OpFoldResult>{rewriter.getIndexAttr(b * width)},
            ArrayRef<OpFoldResult>{rewriter.getIndexAttr(width)},
            ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1)});
      Value init =
          tensor::EmptyOp::create(rewriter, loc, {m, width}, elementType);
      auto mm = MatmulOp::create(rewriter, loc, TypeRange{init.getType()},
                                 op.getLhs(), rhs, bias, Value(), init, false,
                                 t, op.getActivation());
      mm.setAlphaAttr(op.getAlphaAttr());
      return parts[b] = mm.getResult().front();
    };
    for (auto [slice, b] : slices) {
      auto shape = slice.getResultType().getShape();
      rewriter.setInsertionPoint(slice);
      rewriter.replaceOp(slice,
                         reshapeTo(rewriter, slice.getLoc(), part(b), shape));
    }
    return success();
  }
};

} // namespace

void mlir::lathe::populateFoldLayoutIntoMatmulPatterns(
    RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<ExpandHeadBatch, FoldOperandTranspose, FoldResultTranspose,
               FoldScaleIntoAlpha, FoldOperandScale, TransposeOfUnitDims,
               MoveRowPermutationToResult, MoveRowPermutationToLhs,
               FoldViewsIntoBatchedMatmul, CollapseEpilogueToMatmul,
               SplitMatmulByColumnBlocks>(ctx);
  // collapse_shape followed by the inverse expand_shape cancels, which
  // exposes the matmul to a head-merging transpose.
  tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, ctx);
  tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, ctx);
}
