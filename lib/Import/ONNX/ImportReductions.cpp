//===- ImportReductions.cpp - Reductions ----------------------------------===//
//
// ReduceSum/Mean/Max/Min/Prod, ReduceL1/L2/LogSum/LogSumExp/SumSquare,
// ArgMax/ArgMin and CumSum.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <numeric>
#include <set>

using namespace mlir;
using namespace mlir::lathe;
using namespace mlir::lathe::onnx_import;

using K = Importer::ReduceKind;

LogicalResult Importer::importCumSum(const onnx::NodeProto &) {
  MLIRContext *ctx = b.getContext();
  Value x = inV(0);
  int64_t r = rankOf(x);
  auto axisC = constInts(in(1));
  bool exclusive = attrInt("exclusive", 0), reverse = attrInt("reverse", 0);
  Type elt = eltOf(x);
  // out[.., i, ..] = sum over j of x[.., j, ..] for j in the prefix.
  SmallVector<OpFoldResult> d = dims(x);
  auto along = [&](int64_t axis) -> Value {
    Value init = filled(d, fc(b, loc, elt, 0));
    SmallVector<AffineExpr> inE, outE;
    for (int64_t i = 0; i < r; ++i) {
      inE.push_back(getAffineDimExpr(i == axis ? r : i, ctx));
      outE.push_back(getAffineDimExpr(i, ctx));
    }
    SmallVector<utils::IteratorType> it(r + 1, utils::IteratorType::parallel);
    it[r] = utils::IteratorType::reduction;
    // The extra loop runs over the whole axis; the body adds only the prefix.
    Value lenAxis = empty({d[axis]}, elt);
    SmallVector<AffineExpr> lenE = {getAffineDimExpr(r, ctx)};
    auto g = linalg::GenericOp::create(
        b, loc, TypeRange{init.getType()}, ValueRange{x, lenAxis},
        ValueRange{init},
        SmallVector<AffineMap>{AffineMap::get(r + 1, 0, inE, ctx),
                               AffineMap::get(r + 1, 0, lenE, ctx),
                               AffineMap::get(r + 1, 0, outE, ctx)},
        it, [&](OpBuilder &nb, Location nl, ValueRange a) {
          Value i = linalg::IndexOp::create(nb, nl, axis);
          Value j = linalg::IndexOp::create(nb, nl, r);
          auto pred = reverse ? (exclusive ? arith::CmpIPredicate::sgt
                                           : arith::CmpIPredicate::sge)
                              : (exclusive ? arith::CmpIPredicate::slt
                                           : arith::CmpIPredicate::sle);
          Value in = arith::CmpIOp::create(nb, nl, pred, j, i);
          Value sum = binary(nb, nl, "Add", a[2], a[0]);
          linalg::YieldOp::create(
              nb, nl,
              arith::SelectOp::create(nb, nl, in, sum, a[2]).getResult());
        });
    return g.getResult(0);
  };
  if (axisC) {
    FailureOr<int64_t> axis = normAxis((*axisC)[0], r);
    if (failed(axis))
      return failure();
    setOut(0, along(*axis));
    return success();
  }
  // A run-time axis: every candidate, selected by the axis' value.
  FailureOr<SmallVector<OpFoldResult>> axisIn = elemsOf(in(1));
  if (failed(axisIn))
    return failure();
  if (axisIn->empty())
    return error(nodeDesc() + ": input 'axis' has no element");
  OpFoldResult axisV = (*axisIn)[0];
  OpFoldResult axisN =
      select(cmp(arith::CmpIPredicate::slt, axisV, b.getIndexAttr(0)),
             foldBin(axisV, b.getIndexAttr(r), '+'), axisV);
  Value y = along(0);
  for (int64_t i = 1; i < r; ++i) {
    Value c =
        cast<Value>(cmp(arith::CmpIPredicate::eq, axisN, b.getIndexAttr(i)));
    Value yi = along(i);
    FailureOr<Value> yOr = elementwise(
        {yi, y}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
          return arith::SelectOp::create(nb, nl, c, a[0], a[1]).getResult();
        });
    if (failed(yOr))
      return failure();
    y = *yOr;
  }
  setOut(0, y);
  return success();
}

LogicalResult Importer::importArgMaxMin(const onnx::NodeProto &n) {
  StringRef op = n.op_type();
  MLIRContext *ctx = b.getContext();
  Value x = inV(0);
  int64_t r = rankOf(x);
  FailureOr<int64_t> axisOr = normAxis(attrInt("axis", 0), r);
  if (failed(axisOr))
    return failure();
  int64_t axis = *axisOr;
  bool keep = attrInt("keepdims", 1), last = attrInt("select_last_index", 0);
  bool isMax = op == "ArgMax";
  Type elt = eltOf(x);
  SmallVector<OpFoldResult> d = dims(x), outShape;
  SmallVector<AffineExpr> outE;
  SmallVector<utils::IteratorType> it;
  for (int64_t i = 0; i < r; ++i) {
    if (i == axis) {
      it.push_back(utils::IteratorType::reduction);
      continue;
    }
    it.push_back(utils::IteratorType::parallel);
    outShape.push_back(d[i]);
    outE.push_back(getAffineDimExpr(i, ctx));
  }
  Value best = filled(outShape, fc(b, loc, elt, 0));
  Value idx = filled(outShape, fc(b, loc, b.getI64Type(), -1));
  AffineMap om = AffineMap::get(r, 0, outE, ctx);
  auto g = linalg::GenericOp::create(
      b, loc, TypeRange{best.getType(), idx.getType()}, ValueRange{x},
      ValueRange{best, idx},
      SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(r, ctx), om, om},
      it, [&](OpBuilder &nb, Location nl, ValueRange a) {
        // The first element seeds the search (index -1 means "none yet").
        Value i = arith::IndexCastOp::create(
            nb, nl, nb.getI64Type(), linalg::IndexOp::create(nb, nl, axis));
        Value none =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt, a[2],
                                  fc(nb, nl, nb.getI64Type(), 0));
        Value better;
        if (isF(elt)) {
          auto pred = isMax ? (last ? arith::CmpFPredicate::OGE
                                    : arith::CmpFPredicate::OGT)
                            : (last ? arith::CmpFPredicate::OLE
                                    : arith::CmpFPredicate::OLT);
          better = arith::CmpFOp::create(nb, nl, pred, a[0], a[1]);
        } else {
          auto pred = isMax ? (last ? arith::CmpIPredicate::sge
                                    : arith::CmpIPredicate::sgt)
                            : (last ? arith::CmpIPredicate::sle
                                    : arith::CmpIPredicate::slt);
          better = arith::CmpIOp::create(nb, nl, pred, a[0], a[1]);
        }
        Value take = arith::OrIOp::create(nb, nl, none, better);
        linalg::YieldOp::create(
            nb, nl,
            ValueRange{arith::SelectOp::create(nb, nl, take, a[0], a[1]),
                       arith::SelectOp::create(nb, nl, take, i, a[2])});
      });
  Value y = g.getResult(1);
  if (keep) {
    SmallVector<OpFoldResult> ks = d;
    ks[axis] = b.getIndexAttr(1);
    FailureOr<Value> yOr2 = reshape(y, ks);
    if (failed(yOr2))
      return failure();
    y = *yOr2;
  }
  setOut(0, y);
  return success();
}

LogicalResult Importer::importReduceComposite(const onnx::NodeProto &n) {
  StringRef op = n.op_type();
  Value x = inV(0);
  int64_t r = rankOf(x);
  Type elt = eltOf(x);
  std::string name = op.str();
  bool keep = attrInt("keepdims", 1);
  SmallVector<int64_t> ax;
  if (auto axes = attrInts("axes"); axes && !axes->empty()) {
    for (int64_t a : *axes) {
      FailureOr<int64_t> axis = normAxis(a, r);
      if (failed(axis))
        return failure();
      ax.push_back(*axis);
    }
  } else {
    for (int64_t i = 0; i < r; ++i)
      ax.push_back(i);
  }
  bool f = isF(elt);
  if (!f && (name == "ReduceLogSum" || name == "ReduceLogSumExp" ||
             name == "ReduceL2"))
    return error(nodeDesc() + ": needs a float input");
  Value shift;
  Value pre = x;
  if (name == "ReduceLogSumExp") {
    // log(sum(exp(x - m))) + m with m the maximum: no overflow.
    shift = reduce(x, ax, K::Max, true);
    FailureOr<Value> preOr = elementwise(
        {x, shift}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
          Value d = arith::SubFOp::create(nb, nl, a[0], a[1]);
          return math::ExpOp::create(nb, nl, d).getResult();
        });
    if (failed(preOr))
      return failure();
    pre = *preOr;
  } else if (name != "ReduceLogSum") {
    pre = mapElements(x, elt,
                      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                        if (name == "ReduceL1")
                          return f ? (Value)math::AbsFOp::create(nb, nl, a[0])
                                   : (Value)math::AbsIOp::create(nb, nl, a[0]);
                        return binary(nb, nl, "Mul", a[0], a[0]);
                      });
  }
  Value s = reduce(pre, ax, K::Sum, true);
  if (name == "ReduceL2" || name == "ReduceLogSum")
    s = mapElements(s, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
      return name == "ReduceL2" ? math::SqrtOp::create(nb, nl, a[0]).getResult()
                                : math::LogOp::create(nb, nl, a[0]).getResult();
    });
  if (name == "ReduceLogSumExp") {
    FailureOr<Value> sOr = elementwise(
        {s, shift}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
          Value l = math::LogOp::create(nb, nl, a[0]);
          return arith::AddFOp::create(nb, nl, l, a[1]).getResult();
        });
    if (failed(sOr))
      return failure();
    s = *sOr;
  }
  if (!keep) {
    SmallVector<OpFoldResult> d = dims(s), out;
    for (int64_t i = 0; i < r; ++i)
      if (!llvm::is_contained(ax, i))
        out.push_back(d[i]);
    FailureOr<Value> sOr2 = reshape(s, out);
    if (failed(sOr2))
      return failure();
    s = *sOr2;
  }
  setOut(0, s);
  return success();
}

/// ReduceSum-1/11, and ReduceMean/Max/Min/Prod up to opset 17: the axes are
/// an attribute.
LogicalResult Importer::importReduce(const onnx::NodeProto &n) {
  return reduceAlong(n, attrInts("axes"));
}

/// ReduceSum-13: the axes are an optional input; run-time axes are taken from
/// the declared result shape (and checked).
LogicalResult Importer::importReduceSum13(const onnx::NodeProto &n) {
  Value x = inV(0);
  int64_t r = rankOf(x);
  std::optional<SmallVector<int64_t>> axes;
  if (hasInput(1)) {
    axes = constInts(in(1));
    RankedTensorType decl = declaredOut(0);
    auto axesType = typeOf(inV(1));
    if (!axes && !attrInt("keepdims", 1) && decl && decl.hasStaticShape() &&
        typeOf(x).hasStaticShape() && axesType.hasStaticShape() &&
        axesType.getNumElements() == r - decl.getRank() && r <= 8) {
      // Run-time axes without keepdims: every set of axes whose removal
      // leaves the declared shape, selected by the axes' values.
      ArrayRef<int64_t> is = typeOf(x).getShape(), os = decl.getShape();
      SmallVector<SmallVector<int64_t>> cands;
      for (unsigned mask = 0; mask < (1u << r); ++mask) {
        SmallVector<int64_t> red, kept;
        for (int64_t i = 0; i < r; ++i)
          (mask >> i & 1 ? red : kept).push_back(is[i]);
        if (SmallVector<int64_t>(os.begin(), os.end()) != kept)
          continue;
        SmallVector<int64_t> ax;
        for (int64_t i = 0; i < r; ++i)
          if (mask >> i & 1)
            ax.push_back(i);
        cands.push_back(ax);
      }
      if (cands.size() > 1) {
        SmallVector<uint64_t> masks;
        for (const auto &cand : cands) {
          uint64_t m = 0;
          for (int64_t a : cand)
            m |= uint64_t(1) << a;
          masks.push_back(m);
        }
        if (failed(checkAxes(1, r, masks)))
          return failure();
        FailureOr<SmallVector<OpFoldResult>> avOr = elemsOf(in(1));
        if (failed(avOr))
          return failure();
        SmallVector<OpFoldResult> av = *avOr;
        Value y;
        for (const auto &cand : cands) {
          Value yi = reduce(x, cand, K::Sum, false);
          if (!y) {
            y = yi;
            continue;
          }
          // Every run-time axis (normalised) is in this candidate.
          Value all = arith::ConstantOp::create(b, loc, b.getBoolAttr(true));
          for (OpFoldResult a : av) {
            Value ai = indexValue(a);
            Value zero = arith::ConstantIndexOp::create(b, loc, 0);
            Value neg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                              ai, zero);
            ai = arith::SelectOp::create(
                b, loc, neg,
                arith::AddIOp::create(
                    b, loc, ai, arith::ConstantIndexOp::create(b, loc, r)),
                ai);
            Value any = arith::ConstantOp::create(b, loc, b.getBoolAttr(false));
            for (int64_t c : cand)
              any = arith::OrIOp::create(
                  b, loc, any,
                  arith::CmpIOp::create(
                      b, loc, arith::CmpIPredicate::eq, ai,
                      arith::ConstantIndexOp::create(b, loc, c)));
            all = arith::AndIOp::create(b, loc, all, any);
          }
          FailureOr<Value> yOr3 = elementwise(
              {yi, y}, eltOf(x), [&](OpBuilder &nb, Location nl, ValueRange v) {
                return arith::SelectOp::create(nb, nl, all, v[0], v[1])
                    .getResult();
              });
          if (failed(yOr3))
            return failure();
          y = *yOr3;
        }
        setOut(0, y);
        return success();
      }
    }
    if (!axes) {
      bool keep = attrInt("keepdims", 1);
      FailureOr<SmallVector<int64_t>> declAxes = axesFromDeclaredShape(x, keep);
      if (failed(declAxes))
        return failure();
      axes = *declAxes;
      // The run-time axes must be these (with keepdims, reducing a
      // size-1 dimension or not gives the same result).
      uint64_t want = 0, ones = 0;
      for (int64_t a : *axes)
        want |= uint64_t(1) << a;
      if (keep)
        for (int64_t i = 0; i < r; ++i)
          if (typeOf(x).getDimSize(i) == 1)
            ones |= uint64_t(1) << i;
      // (An axes input of length 0 means every axis, or none with
      // noop_with_empty_axes: known here, nothing to check.)
      auto axesType = typeOf(inV(1));
      bool emptyAxes =
          axesType.hasStaticShape() && axesType.getNumElements() == 0;
      if (!emptyAxes)
        if (failed(checkAxes(1, r, {want}, ones)))
          return failure();
      if (axes->empty()) {
        setOut(0, x);
        return success();
      }
    }
  }
  return reduceAlong(n, axes);
}

LogicalResult Importer::reduceAlong(const onnx::NodeProto &n,
                                    std::optional<SmallVector<int64_t>> axes) {
  StringRef op = n.op_type();
  Value x = inV(0);
  int64_t r = rankOf(x);
  bool keep = attrInt("keepdims", 1);
  if ((!axes || axes->empty()) && attrInt("noop_with_empty_axes", 0)) {
    setOut(0, x);
    return success();
  }
  SmallVector<int64_t> ax;
  if (!axes || axes->empty())
    for (int64_t i = 0; i < r; ++i)
      ax.push_back(i);
  else
    for (int64_t a : *axes) {
      FailureOr<int64_t> axis = normAxis(a, r);
      if (failed(axis))
        return failure();
      ax.push_back(*axis);
    }
  K kind = op == "ReduceMax"    ? K::Max
           : op == "ReduceMin"  ? K::Min
           : op == "ReduceProd" ? K::Prod
                                : K::Sum;
  Value s = reduce(x, ax, kind, keep);
  if (op == "ReduceMean") {
    Value cnt = countOf(x, ax, eltOf(x));
    Type elt = eltOf(x);
    s = mapElements(s, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
      return isF(elt) ? (Value)arith::DivFOp::create(nb, nl, a[0], cnt)
                      : (Value)arith::DivSIOp::create(nb, nl, a[0], cnt);
    });
  }
  setOut(0, s);
  return success();
}

void onnx_import::registerReductionOps(OpRegistry &r) {
  r.add("CumSum", 1, &Importer::importCumSum);
  r.add("ArgMax", 1, &Importer::importArgMaxMin);
  r.add("ArgMin", 1, &Importer::importArgMaxMin);
  r.add("ReduceL1", 1, &Importer::importReduceComposite);
  r.add("ReduceL2", 1, &Importer::importReduceComposite);
  r.add("ReduceLogSum", 1, &Importer::importReduceComposite);
  r.add("ReduceLogSumExp", 1, &Importer::importReduceComposite);
  r.add("ReduceSumSquare", 1, &Importer::importReduceComposite);
  r.add("ReduceSum", 1, &Importer::importReduce);
  r.add("ReduceSum", 13, &Importer::importReduceSum13);
  r.add("ReduceMean", 1, &Importer::importReduce);
  r.add("ReduceMax", 1, &Importer::importReduce);
  r.add("ReduceMin", 1, &Importer::importReduce);
  r.add("ReduceProd", 1, &Importer::importReduce);
}
