//===- ExpandRecurrences.cpp - LSTM/GRU layers for the accelerator --------===//
//
// accel-expand-recurrences (include/lathe/Target/Accel/Passes.td): each
// lathe.rnn as the engines run it, step by step: the input projection of all
// steps as one product, then per step the recurrent product (the matrix
// engine's) and the gates as element-wise kernels (the vector cores'), each
// step reading the previous step's state; the step's state inserted into y.
// Also the importer's element-wise Concat as tensor.insert_slices, which the
// engine program copies (how layers and directions join their states).
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Target/Accel/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"

#include <map>

namespace mlir::lathe {
#define GEN_PASS_DEF_ACCELEXPANDRECURRENCES
#include "lathe/Target/Accel/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

using Body = function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// An element-wise [rows, cols] f32 kernel of `ins` (all [rows, cols]).
Value elementwise(OpBuilder &b, Location loc, ValueRange ins, int64_t rows,
                  int64_t cols, Body body) {
  Type f32 = b.getF32Type();
  auto type = RankedTensorType::get({rows, cols}, f32);
  Value empty = tensor::EmptyOp::create(b, loc, {rows, cols}, f32);
  SmallVector<AffineMap> maps(ins.size() + 1,
                              b.getMultiDimIdentityMap(/*rank=*/2));
  auto g = linalg::GenericOp::create(
      b, loc, TypeRange{type}, ins, ValueRange{empty}, maps,
      ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                    utils::IteratorType::parallel},
      [&](OpBuilder &nb, Location l, ValueRange args) {
        linalg::YieldOp::create(nb, l, body(nb, l, args));
      });
  return g.getResult(0);
}

Value constF(OpBuilder &b, Location loc, double v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

/// 1 / (1 + exp(-v)), the form the CPU importer writes (and the payload's).
Value sigmoid(OpBuilder &b, Location loc, Value v) {
  Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, v));
  Value one = constF(b, loc, 1.0);
  return arith::DivFOp::create(b, loc, one,
                               arith::AddFOp::create(b, loc, one, e));
}

Value add(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::AddFOp::create(b, loc, x, y);
}
Value mul(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::MulFOp::create(b, loc, x, y);
}

/// (1 - z) * n + z * h.
Value blend(OpBuilder &b, Location loc, Value z, Value n, Value h) {
  Value keep = arith::SubFOp::create(b, loc, constF(b, loc, 1.0), z);
  return add(b, loc, mul(b, loc, keep, n), mul(b, loc, z, h));
}

/// lhs [rows, K] times rhs [cols, K] transposed (+ bias [cols]).
Value productT(OpBuilder &b, Location loc, Value lhs, Value rhs, Value bias) {
  auto lt = cast<RankedTensorType>(lhs.getType());
  auto rt = cast<RankedTensorType>(rhs.getType());
  SmallVector<int64_t, 2> shape{lt.getDimSize(0), rt.getDimSize(0)};
  Value init = tensor::EmptyOp::create(b, loc, shape, b.getF32Type());
  auto mm = lathe::MatmulOp::create(
      b, loc, TypeRange{RankedTensorType::get(shape, b.getF32Type())}, lhs, rhs,
      bias, Value(), init, /*transposeLhs=*/false, /*transposeRhs=*/true,
      Activation::none);
  return mm->getResult(0);
}

/// Columns [col, col + cols) of a [rows, *] value (a view).
Value columns(OpBuilder &b, Location loc, Value v, int64_t col, int64_t cols) {
  int64_t rows = cast<RankedTensorType>(v.getType()).getDimSize(0);
  return tensor::ExtractSliceOp::create(
      b, loc, v, ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(col)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(rows), b.getIndexAttr(cols)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
}

SmallVector<OpFoldResult> indexAttrs(OpBuilder &b, ArrayRef<int64_t> v) {
  SmallVector<OpFoldResult> out;
  for (int64_t x : v)
    out.push_back(b.getIndexAttr(x));
  return out;
}

LogicalResult expandRnn(RnnOp op) {
  auto xType = dyn_cast<RankedTensorType>(op.getInput().getType());
  auto rType = dyn_cast<RankedTensorType>(op.getRecurrentWeights().getType());
  auto f32Static = [](Type t) {
    auto rt = dyn_cast<RankedTensorType>(t);
    return rt && rt.hasStaticShape() && rt.getElementType().isF32();
  };
  if (!xType || !rType || !llvm::all_of(op->getOperandTypes(), f32Static) ||
      !llvm::all_of(op->getResultTypes(), f32Static))
    return op.emitOpError()
           << "has an operand or result that is not a static f32 tensor (the "
              "accelerator expands a recurrence of static shapes)";
  bool bf = op.getBatchFirst();
  int64_t T = xType.getDimSize(bf ? 1 : 0), N = xType.getDimSize(bf ? 0 : 1);
  int64_t I = xType.getDimSize(2), H = rType.getDimSize(1);
  int64_t G = op.getNumGates(), GH = G * H;
  ArrayRef<int64_t> gates = op.getGates();
  RnnCell cell = op.getCell();
  Location loc = op.getLoc();
  OpBuilder b(op);
  // The input projection of every step: [T*N, I] x W^T + b.
  Value x2d = tensor::CollapseShapeOp::create(
      b, loc, op.getInput(), ArrayRef<ReassociationIndices>{{0, 1}, {2}});
  (void)I;
  Value xp = productT(b, loc, x2d, op.getWeights(), op.getBias());
  Value xp3 = tensor::ExpandShapeOp::create(
      b, loc,
      RankedTensorType::get(bf ? ArrayRef<int64_t>{N, T, GH}
                               : ArrayRef<int64_t>{T, N, GH},
                            b.getF32Type()),
      xp, ArrayRef<ReassociationIndices>{{0, 1}, {2}});
  Value h = op.getInitialH(), c = op.getInitialC();
  Value rb = op.getRecurrentBias();
  SmallVector<int64_t, 3> yShape =
      bf ? SmallVector<int64_t, 3>{N, T, H} : SmallVector<int64_t, 3>{T, N, H};
  Value y = tensor::EmptyOp::create(b, loc, yShape, b.getF32Type());
  auto stepSlice = [&](int64_t t, int64_t width) {
    return std::make_tuple(indexAttrs(b, bf ? ArrayRef<int64_t>{0, t, 0}
                                            : ArrayRef<int64_t>{t, 0, 0}),
                           indexAttrs(b, bf ? ArrayRef<int64_t>{N, 1, width}
                                            : ArrayRef<int64_t>{1, N, width}),
                           indexAttrs(b, {1, 1, 1}));
  };
  for (int64_t s = 0; s < T; ++s) {
    int64_t t = op.getReverse() ? T - 1 - s : s;
    auto [xOff, xSizes, xStrides] = stepSlice(t, GH);
    Value xs = tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get({N, GH}, b.getF32Type()), xp3, xOff,
        xSizes, xStrides);
    Value hp = productT(b, loc, h, op.getRecurrentWeights(), rb);
    // Block k (canonical gate order) of the two projections.
    auto x = [&](int k) { return columns(b, loc, xs, gates[k] * H, H); };
    auto r = [&](int k) { return columns(b, loc, hp, gates[k] * H, H); };
    Value next;
    if (cell == RnnCell::lstm) {
      // i, f, c, o: c' = f*c + i*tanh(.), h' = o*tanh(c').
      c = elementwise(
          b, loc, {x(0), r(0), x(1), r(1), x(2), r(2), c}, N, H,
          [](OpBuilder &nb, Location l, ValueRange a) {
            Value i = sigmoid(nb, l, add(nb, l, a[0], a[1]));
            Value f = sigmoid(nb, l, add(nb, l, a[2], a[3]));
            Value g = math::TanhOp::create(nb, l, add(nb, l, a[4], a[5]));
            return add(nb, l, mul(nb, l, f, a[6]), mul(nb, l, i, g));
          });
      next =
          elementwise(b, loc, {x(3), r(3), c}, N, H,
                      [](OpBuilder &nb, Location l, ValueRange a) {
                        Value o = sigmoid(nb, l, add(nb, l, a[0], a[1]));
                        return mul(nb, l, o, math::TanhOp::create(nb, l, a[2]));
                      });
    } else if (cell == RnnCell::lbr_gru) {
      // z, r, h: h~ = tanh(x[h] + r*(h R[h]^T + rb[h])).
      next = elementwise(b, loc, {x(0), r(0), x(1), r(1), x(2), r(2), h}, N, H,
                         [](OpBuilder &nb, Location l, ValueRange a) {
                           Value z = sigmoid(nb, l, add(nb, l, a[0], a[1]));
                           Value rr = sigmoid(nb, l, add(nb, l, a[2], a[3]));
                           Value n = math::TanhOp::create(
                               nb, l, add(nb, l, a[4], mul(nb, l, rr, a[5])));
                           return blend(nb, l, z, n, a[6]);
                         });
    } else {
      // gru: h~ = tanh(x[h] + (r*h) R[h]^T + rb[h]).
      Value rh = elementwise(b, loc, {x(1), r(1), h}, N, H,
                             [](OpBuilder &nb, Location l, ValueRange a) {
                               Value rr =
                                   sigmoid(nb, l, add(nb, l, a[0], a[1]));
                               return mul(nb, l, rr, a[2]);
                             });
      Value rBlock = tensor::ExtractSliceOp::create(
          b, loc, op.getRecurrentWeights(), indexAttrs(b, {gates[2] * H, 0}),
          indexAttrs(b, {H, H}), indexAttrs(b, {1, 1}));
      Value rbBlock;
      if (rb)
        rbBlock = tensor::ExtractSliceOp::create(
            b, loc, RankedTensorType::get({H}, b.getF32Type()), rb,
            indexAttrs(b, {gates[2] * H}), indexAttrs(b, {H}),
            indexAttrs(b, {1}));
      Value hn = productT(b, loc, rh, rBlock, rbBlock);
      next = elementwise(b, loc, {x(0), r(0), x(2), hn, h}, N, H,
                         [](OpBuilder &nb, Location l, ValueRange a) {
                           Value z = sigmoid(nb, l, add(nb, l, a[0], a[1]));
                           Value n = math::TanhOp::create(
                               nb, l, add(nb, l, a[2], a[3]));
                           return blend(nb, l, z, n, a[4]);
                         });
    }
    h = next;
    auto [yOff, ySizes, yStrides] = stepSlice(t, H);
    y = tensor::InsertSliceOp::create(b, loc, h, y, yOff, ySizes, yStrides);
  }
  SmallVector<Value, 3> results{y, h};
  if (op.isLstm())
    results.push_back(c);
  if (op->getNumResults() != results.size())
    return op.emitOpError() << "has " << op->getNumResults()
                            << " results; the expansion gives y, h"
                            << (op.isLstm() ? " and c" : "");
  op->replaceAllUsesWith(results);
  op->erase();
  return success();
}

//===----------------------------------------------------------------------===//
// The importer's Concat: select(index_d - off >= 0, extract(S_k[.., clamp(
// index_d - off), ..]), ...) over a tensor.empty.
//===----------------------------------------------------------------------===//

/// What the importer's element-wise generators (Concat, Slice) compute per
/// element: `g` has no inputs, one init read through the identity map, no
/// reduction and a static result type (`outType`), and yields one value,
/// returned; null when `g` is not such a generator.
Value generatedElement(linalg::GenericOp g, RankedTensorType &outType) {
  if (g.getNumDpsInputs() != 0 || g.getNumDpsInits() != 1 ||
      g.getNumReductionLoops() != 0 ||
      !g.getIndexingMapsArray()[0].isIdentity())
    return {};
  outType = dyn_cast<RankedTensorType>(g.getResult(0).getType());
  if (!outType || !outType.hasStaticShape())
    return {};
  auto yield = cast<linalg::YieldOp>(g.getBody()->getTerminator());
  return yield.getNumOperands() == 1 ? yield.getOperand(0) : Value();
}

/// Replaces the generator `g` by `v`, computed without it.
void replaceGenerator(linalg::GenericOp g, Value v) {
  g.getResult(0).replaceAllUsesWith(v);
  g.erase();
}

/// The offset `off` of `v` = index_d (off 0) or index_d - off, with d.
bool indexMinus(Value v, Block *body, int64_t &dim, int64_t &off) {
  APInt c;
  off = 0;
  if (auto sub = v.getDefiningOp<arith::SubIOp>()) {
    if (!matchPattern(sub.getRhs(), m_ConstantInt(&c)))
      return false;
    off = c.getSExtValue();
    v = sub.getLhs();
  }
  auto idx = v.getDefiningOp<linalg::IndexOp>();
  if (!idx || idx->getBlock() != body)
    return false;
  dim = idx.getDim();
  return true;
}

struct Piece {
  Value source;
  int64_t dim, offset;
  Value shifted; ///< index_d - offset (the select's condition's operand)
};

/// extract(S[index_0, ..., minsi(maxsi(index_d - off, 0), size - 1), ...]).
bool clampedExtract(Value v, Block *body, Piece &piece) {
  auto ex = v.getDefiningOp<tensor::ExtractOp>();
  if (!ex || ex->getBlock() != body || ex.getTensor().getParentBlock() == body)
    return false;
  auto type = cast<RankedTensorType>(ex.getTensor().getType());
  piece.source = ex.getTensor();
  piece.dim = -1;
  for (auto [i, index] : llvm::enumerate(ex.getIndices())) {
    auto idx = index.getDefiningOp<linalg::IndexOp>();
    if (idx && idx->getBlock() == body && idx.getDim() == i)
      continue;
    auto mn = index.getDefiningOp<arith::MinSIOp>();
    auto mx = mn ? mn.getLhs().getDefiningOp<arith::MaxSIOp>() : nullptr;
    APInt lo, hi;
    int64_t d, off;
    if (piece.dim >= 0 || !mx ||
        !matchPattern(mn.getRhs(), m_ConstantInt(&hi)) ||
        !matchPattern(mx.getRhs(), m_ConstantInt(&lo)) || !lo.isZero() ||
        hi.getSExtValue() != type.getDimSize(i) - 1 ||
        !indexMinus(mx.getLhs(), body, d, off) || d != int64_t(i))
      return false;
    piece.dim = d;
    piece.offset = off;
    piece.shifted = mx.getLhs();
  }
  return piece.dim >= 0;
}

/// The pieces of a select chain, highest offset first.
bool concatPieces(Value v, Block *body, SmallVector<Piece> &pieces) {
  Piece p;
  if (clampedExtract(v, body, p)) {
    if (p.offset != 0)
      return false;
    pieces.push_back(p);
    return true;
  }
  auto sel = v.getDefiningOp<arith::SelectOp>();
  if (!sel || sel->getBlock() != body ||
      !clampedExtract(sel.getTrueValue(), body, p) || p.offset <= 0)
    return false;
  auto cmp = sel.getCondition().getDefiningOp<arith::CmpIOp>();
  if (!cmp || cmp.getPredicate() != arith::CmpIPredicate::sge ||
      cmp.getLhs() != p.shifted || !matchPattern(cmp.getRhs(), m_Zero()))
    return false;
  pieces.push_back(p);
  return concatPieces(sel.getFalseValue(), body, pieces);
}

/// Replaces the importer's element-wise Concat by insert_slices into its
/// output; false (and nothing changed) when `g` is not one.
bool rewriteConcat(linalg::GenericOp g) {
  RankedTensorType outType;
  Value element = generatedElement(g, outType);
  SmallVector<Piece> pieces;
  if (!element || !concatPieces(element, g.getBody(), pieces))
    return false;
  // Ascending offsets, one dimension, each source the output's shape but
  // along it, the sources tiling it exactly.
  std::reverse(pieces.begin(), pieces.end());
  int64_t dim = pieces.front().dim, at = 0;
  for (const Piece &p : pieces) {
    auto st = cast<RankedTensorType>(p.source.getType());
    if (p.dim != dim || p.offset != at || st.getRank() != outType.getRank() ||
        !st.hasStaticShape())
      return false;
    for (int64_t i = 0; i < st.getRank(); ++i)
      if (i != dim && st.getDimSize(i) != outType.getDimSize(i))
        return false;
    at += st.getDimSize(dim);
  }
  if (at != outType.getDimSize(dim))
    return false;
  OpBuilder b(g);
  Value acc = g.getDpsInitOperand(0)->get();
  for (const Piece &p : pieces) {
    auto st = cast<RankedTensorType>(p.source.getType());
    SmallVector<int64_t> offsets(st.getRank(), 0), ones(st.getRank(), 1);
    offsets[dim] = p.offset;
    acc = tensor::InsertSliceOp::create(
        b, g.getLoc(), p.source, acc, indexAttrs(b, offsets),
        indexAttrs(b, st.getShape()), indexAttrs(b, ones));
  }
  replaceGenerator(g, acc);
  return true;
}

//===----------------------------------------------------------------------===//
// The importer's Slice: extract(S[off_0 + step_0 * index_0, ...]) over a
// tensor.empty.
//===----------------------------------------------------------------------===//

/// `v` = off + step * index_dim (any of the terms may be missing).
bool affineIndex(Value v, Block *body, int64_t &dim, int64_t &off,
                 int64_t &step) {
  APInt c;
  if (auto idx = v.getDefiningOp<linalg::IndexOp>()) {
    if (idx->getBlock() != body)
      return false;
    dim = idx.getDim();
    step = 1;
    off = 0;
    return true;
  }
  if (auto mul = v.getDefiningOp<arith::MulIOp>()) {
    Value other = matchPattern(mul.getRhs(), m_ConstantInt(&c))   ? mul.getLhs()
                  : matchPattern(mul.getLhs(), m_ConstantInt(&c)) ? mul.getRhs()
                                                                  : Value();
    int64_t inner;
    if (!other || !affineIndex(other, body, dim, off, inner) || off != 0)
      return false;
    step = inner * c.getSExtValue();
    return true;
  }
  if (auto addOp = v.getDefiningOp<arith::AddIOp>()) {
    Value other =
        matchPattern(addOp.getRhs(), m_ConstantInt(&c))   ? addOp.getLhs()
        : matchPattern(addOp.getLhs(), m_ConstantInt(&c)) ? addOp.getRhs()
                                                          : Value();
    if (!other || !affineIndex(other, body, dim, off, step))
      return false;
    off += c.getSExtValue();
    return true;
  }
  return false;
}

/// Replaces the importer's element-wise Slice of a captured tensor by a
/// tensor.extract_slice (a view); false when `g` is not one.
bool rewriteSlice(linalg::GenericOp g) {
  RankedTensorType outType;
  Value element = generatedElement(g, outType);
  auto ex = element ? element.getDefiningOp<tensor::ExtractOp>() : nullptr;
  Block *body = g.getBody();
  if (!ex || ex.getTensor().getParentBlock() == body ||
      ex.getIndices().size() != size_t(outType.getRank()))
    return false;
  auto srcType = cast<RankedTensorType>(ex.getTensor().getType());
  if (!srcType.hasStaticShape())
    return false;
  SmallVector<int64_t> offsets, strides;
  for (auto [i, index] : llvm::enumerate(ex.getIndices())) {
    int64_t dim, off, step;
    APInt c;
    // A dimension of size 1 reads a constant index (canonicalization folds
    // its linalg.index to 0).
    if (outType.getDimSize(i) == 1 && matchPattern(index, m_ConstantInt(&c))) {
      dim = i;
      off = c.getSExtValue();
      step = 1;
    } else if (!affineIndex(index, body, dim, off, step)) {
      return false;
    }
    if (dim != int64_t(i) || step < 1 || off < 0 ||
        off + step * (outType.getDimSize(i) - 1) >= srcType.getDimSize(i))
      return false;
    offsets.push_back(off);
    strides.push_back(step);
  }
  OpBuilder b(g);
  Value slice = tensor::ExtractSliceOp::create(
      b, g.getLoc(), outType, ex.getTensor(), indexAttrs(b, offsets),
      indexAttrs(b, outType.getShape()), indexAttrs(b, strides));
  replaceGenerator(g, slice);
  return true;
}

struct ExpandRecurrences
    : public mlir::lathe::impl::AccelExpandRecurrencesBase<ExpandRecurrences> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<RnnOp> rnns;
    getOperation().walk([&](RnnOp op) { rnns.push_back(op); });
    for (RnnOp op : rnns)
      if (failed(expandRnn(op)))
        return signalPassFailure();
    SmallVector<linalg::GenericOp> generics;
    getOperation().walk([&](linalg::GenericOp g) { generics.push_back(g); });
    for (linalg::GenericOp g : generics)
      if (!rewriteConcat(g))
        (void)rewriteSlice(g);
  }
};

} // namespace
