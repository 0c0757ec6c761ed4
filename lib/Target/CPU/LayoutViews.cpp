//===- LayoutViews.cpp - Data movement chains as views -------------------===//
//
// See LayoutViews.h.
//
//===----------------------------------------------------------------------===//

#include "LayoutViews.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/Matchers.h"

#include "llvm/ADT/SmallBitVector.h"

namespace mlir::lathe::views {

/// A permutation attribute as a list (empty: the identity).
ArrayRef<int64_t> permOf(DenseI64ArrayAttr perm) {
  return perm ? perm.asArrayRef() : ArrayRef<int64_t>();
}

bool isStatic(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && t.hasStaticShape();
}

int64_t numElements(Value v) {
  return cast<RankedTensorType>(v.getType()).getNumElements();
}

View baseView(Value v) {
  View view;
  view.source = v;
  view.dims = denseDims(cast<RankedTensorType>(v.getType()).getShape());
  return view;
}

/// A generic that only copies a static box of one tensor (how the ONNX
/// importer spells Slice and Split): out[i] = src[i + c] per dimension, a
/// constant index where the result dimension has size 1. Returns the source
/// and the offsets.
std::optional<std::pair<Value, SmallVector<int64_t>>>
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

bool isMovement(Operation *op) {
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
  return views::applySlice(view.dims, view.offset, offsets, sizes, dropped);
}

/// The view `v` is of the furthest static source that data movement reaches.
std::optional<View> traceView(Value v, int depth) {
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
Value reshapeTo(PatternRewriter &rewriter, Location loc, Value value,
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

/// The source of `view` reshaped to the layout's atoms with the gaps sliced
/// away: a tensor whose dimensions are the view atoms in source order.
/// `position[i]` is the dimension holding view atom i.
Value materializeLayout(PatternRewriter &rewriter, Location loc,
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

/// Builds the value `view` describes with reshapes, at most one slice and one
/// transpose; nothing when its atoms do not tile the source.
Value materializeView(PatternRewriter &rewriter, Location loc,
                      const View &view) {
  SmallVector<Atom> atoms = flatAtoms(view.dims);
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

/// Follows single-use data movement (transposes and reshapes) from `value`
/// and returns the last value; `transposes` tells whether a transpose was
/// passed.
Value forwardChainEnd(Value value, bool &transposes) {
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
std::optional<SmallVector<AtomDim>> invertView(Value produced, Value target) {
  std::optional<View> view = traceView(target);
  if (!view || view->source != produced || view->offset != 0)
    return std::nullopt;
  return invertAtoms(flatAtoms(view->dims),
                     cast<RankedTensorType>(produced.getType()).getShape(),
                     numElements(target));
}

Value emitOperand(PatternRewriter &rewriter, Location loc, const View &view,
                  const OperandPlan &plan) {
  SmallVector<int64_t> position;
  Value value = materializeLayout(rewriter, loc, view, plan.layout, position);
  return reshapeTo(rewriter, loc, value, plan.storedShape);
}

DenseI64ArrayAttr permAttr(PatternRewriter &rewriter, ArrayRef<int64_t> perm) {
  for (size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != static_cast<int64_t>(i))
      return rewriter.getDenseI64ArrayAttr(perm);
  return {};
}

/// Erases the now unused chain from `end` back to `stop` (exclusive).
void eraseDeadChain(PatternRewriter &rewriter, Value end, Operation *stop) {
  Operation *cur = end.getDefiningOp();
  while (cur && cur != stop && cur->use_empty()) {
    Value in = cur->getOperand(0);
    rewriter.eraseOp(cur);
    cur = in.getDefiningOp();
  }
}

} // namespace mlir::lathe::views
