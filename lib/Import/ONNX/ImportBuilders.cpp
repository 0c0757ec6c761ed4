//===- ImportBuilders.cpp - Tensor building blocks ------------------------===//
//
// The linalg/tensor building blocks the handlers share: elementwise generics
// with numpy broadcasting, reductions, checked reshapes, transposes, casts,
// padding, slicing and concatenation as generics, and the GELU body.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <limits>
#include <set>

using namespace mlir;
using namespace mlir::lathe;
using namespace mlir::lathe::onnx_import;

//===----------------------------------------------------------------------===//
// Building blocks
//===----------------------------------------------------------------------===//

Value Importer::empty(ArrayRef<OpFoldResult> shape, Type elt) {
  return tensor::EmptyOp::create(b, loc, shape, elt);
}

Value Importer::generate(ArrayRef<OpFoldResult> shape, Type elt,
                         function_ref<Value(OpBuilder &, Location)> element) {
  Value init = empty(shape, elt);
  int64_t rank = shape.size();
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
             SmallVector<AffineMap>{
                 AffineMap::getMultiDimIdentityMap(rank, b.getContext())},
             SmallVector<utils::IteratorType>(rank,
                                              utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location nl, ValueRange) {
               linalg::YieldOp::create(nb, nl, element(nb, nl));
             })
      .getResult(0);
}

Value Importer::filled(ArrayRef<OpFoldResult> shape, Value scalar) {
  Value e = empty(shape, scalar.getType());
  return linalg::FillOp::create(b, loc, ValueRange{scalar}, ValueRange{e})
      .getResult(0);
}

FailureOr<SmallVector<OpFoldResult>>
Importer::broadcastShape(ArrayRef<SmallVector<OpFoldResult>> shapes) {
  size_t rank = 0;
  for (const auto &s : shapes)
    rank = std::max(rank, s.size());
  SmallVector<OpFoldResult> out;
  for (size_t j = 0; j < rank; ++j) {
    std::optional<int64_t> stat;
    SmallVector<OpFoldResult> dyn;
    for (const auto &s : shapes) {
      if (j + s.size() < rank)
        continue;
      OpFoldResult d = s[j + s.size() - rank];
      std::optional<int64_t> c = getConstantIntValue(d);
      if (!c) {
        dyn.push_back(d);
        continue;
      }
      if (*c == 1)
        continue;
      if (stat && *stat != *c)
        return error(llvm::formatv("{0}: shapes do not broadcast ({1} vs {2})",
                                   nodeDesc(), *stat, *c)
                         .str());
      stat = *c;
    }
    if (stat)
      out.push_back(b.getIndexAttr(*stat));
    else if (dyn.empty())
      out.push_back(b.getIndexAttr(1));
    else {
      // Symbolic sizes must agree at run time (elementwise checks them); the
      // smallest keeps every read in bounds when they do not.
      OpFoldResult d = dyn[0];
      for (size_t k = 1; k < dyn.size(); ++k)
        if (dyn[k] != d)
          d = foldBin(d, dyn[k], 'm');
      out.push_back(d);
    }
  }
  return out;
}

Value Importer::mapElements(Value x, Type outElt, BodyFn body) {
  FailureOr<Value> y = elementwise({x}, outElt, body);
  assert(succeeded(y) && "one operand always broadcasts to its own shape");
  return *y;
}

FailureOr<Value>
Importer::elementwise(ArrayRef<Value> inputs, Type outElt, BodyFn body,
                      std::optional<SmallVector<OpFoldResult>> outShape) {
  SmallVector<SmallVector<OpFoldResult>> shapes;
  for (Value v : inputs)
    shapes.push_back(dims(v));
  SmallVector<OpFoldResult> out;
  if (outShape) {
    // The inputs must broadcast to the requested shape.
    out = *outShape;
    shapes.push_back(out);
    if (failed(broadcastShape(shapes)))
      return failure();
    shapes.pop_back();
  } else {
    FailureOr<SmallVector<OpFoldResult>> shape = broadcastShape(shapes);
    if (failed(shape))
      return failure();
    out = *shape;
  }
  int64_t rank = out.size();
  MLIRContext *ctx = b.getContext();
  // Run-time sizes the maps below take as equal to the result's: checked,
  // and an input whose size meets a static one is refined (guarded) to it.
  SmallVector<Value> checkedInputs;
  for (Value v : inputs) {
    auto type = typeOf(v);
    int64_t r = type.getRank();
    if (r > rank)
      return error(nodeDesc() +
                   ": an operand has a higher rank than the result");
    SmallVector<int64_t> refined(type.getShape());
    SmallVector<Value> oks;
    for (int64_t i = 0; i < r; ++i) {
      int64_t j = rank - r + i;
      if (!type.isDynamicDim(i))
        continue;
      OpFoldResult d = dim(v, i);
      std::optional<int64_t> outDim = getConstantIntValue(out[j]);
      std::string what =
          nodeDesc() + ": dimension " + std::to_string(i) + " of " +
          operandName(v) +
          (outShape ? " (result dimension " + std::to_string(j) + ")" : "");
      if (outDim) {
        FailureOr<Value> ok = checkDim(d, out[j], what);
        if (failed(ok))
          return failure();
        oks.push_back(*ok);
        refined[i] = *outDim;
        continue;
      }
      if (outShape) {
        // The caller's sizes (Expand) never exceed the input's.
        if (failed(checkDim(d, out[j], what)))
          return failure();
        continue;
      }
      // Another symbolic size of the same result dimension.
      for (Value w : inputs) {
        if (w == v)
          break;
        int64_t rw = rankOf(w), iw = i + rw - r;
        if (iw < 0 || !typeOf(w).isDynamicDim(iw))
          continue;
        OpFoldResult e = dim(w, iw);
        if (e != d &&
            failed(checkDim(d, e,
                            what + " must equal that of " + operandName(w) +
                                " (a run-time 1 does not broadcast)")))
          return failure();
        break;
      }
    }
    if (!oks.empty())
      v = guarded(allOf(oks),
                  RankedTensorType::get(refined, type.getElementType()),
                  [&] { return v; });
    checkedInputs.push_back(v);
  }
  inputs = checkedInputs;
  SmallVector<AffineMap> maps;
  for (Value v : inputs) {
    auto type = typeOf(v);
    int64_t r = type.getRank();
    assert(r <= rank && "checked above");
    SmallVector<AffineExpr> exprs;
    for (int64_t i = 0; i < r; ++i) {
      int64_t j = rank - r + i;
      std::optional<int64_t> outDim = getConstantIntValue(out[j]);
      if (type.getDimSize(i) == 1 && (!outDim || *outDim != 1))
        exprs.push_back(getAffineConstantExpr(0, ctx));
      else
        exprs.push_back(getAffineDimExpr(j, ctx));
    }
    maps.push_back(AffineMap::get(rank, 0, exprs, ctx));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  Value init = empty(out, outElt);
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  size_t n = inputs.size();
  auto op = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps, iters,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value r = body(nb, nl, args.take_front(n));
        linalg::YieldOp::create(nb, nl, r);
      });
  return Value(op.getResult(0));
}

static TypedAttr reduceInit(Builder &b, Type t, Importer::ReduceKind kind) {
  using K = Importer::ReduceKind;
  if (auto ft = dyn_cast<FloatType>(t)) {
    const llvm::fltSemantics &sem = ft.getFloatSemantics();
    switch (kind) {
    case K::Sum:
      return b.getFloatAttr(t, 0.0);
    case K::Prod:
      return b.getFloatAttr(t, 1.0);
    case K::Max:
      return b.getFloatAttr(t, APFloat::getInf(sem, true));
    case K::Min:
      return b.getFloatAttr(t, APFloat::getInf(sem, false));
    }
  }
  unsigned w = t.getIntOrFloatBitWidth();
  switch (kind) {
  case K::Sum:
    return b.getIntegerAttr(t, 0);
  case K::Prod:
    return b.getIntegerAttr(t, 1);
  case K::Max:
    return b.getIntegerAttr(t,
                            w == 1 ? APInt(1, 0) : APInt::getSignedMinValue(w));
  case K::Min:
    return b.getIntegerAttr(t,
                            w == 1 ? APInt(1, 1) : APInt::getSignedMaxValue(w));
  }
  return {};
}

static Value combine(OpBuilder &b, Location loc, Importer::ReduceKind kind,
                     Value x, Value y, bool uns) {
  using K = Importer::ReduceKind;
  bool fp = isa<FloatType>(x.getType());
  switch (kind) {
  case K::Sum:
    return fp ? (Value)arith::AddFOp::create(b, loc, x, y)
              : (Value)arith::AddIOp::create(b, loc, x, y);
  case K::Prod:
    return fp ? (Value)arith::MulFOp::create(b, loc, x, y)
              : (Value)arith::MulIOp::create(b, loc, x, y);
  case K::Max:
    return fp    ? (Value)arith::MaximumFOp::create(b, loc, x, y)
           : uns ? (Value)arith::MaxUIOp::create(b, loc, x, y)
                 : (Value)arith::MaxSIOp::create(b, loc, x, y);
  case K::Min:
    return fp    ? (Value)arith::MinimumFOp::create(b, loc, x, y)
           : uns ? (Value)arith::MinUIOp::create(b, loc, x, y)
                 : (Value)arith::MinSIOp::create(b, loc, x, y);
  }
  return {};
}

Value Importer::reduce(Value x, ArrayRef<int64_t> axes, ReduceKind kind,
                       bool keepDims) {
  int64_t rank = rankOf(x);
  std::set<int64_t> red(axes.begin(), axes.end());
  SmallVector<OpFoldResult> in = dims(x), outShape, keepShape;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iters;
  MLIRContext *ctx = b.getContext();
  for (int64_t i = 0; i < rank; ++i) {
    if (red.count(i)) {
      iters.push_back(utils::IteratorType::reduction);
      keepShape.push_back(b.getIndexAttr(1));
      continue;
    }
    iters.push_back(utils::IteratorType::parallel);
    outShape.push_back(in[i]);
    keepShape.push_back(in[i]);
    outExprs.push_back(getAffineDimExpr(i, ctx));
  }
  Type elt = eltOf(x);
  bool unsignedInit = uns;
  TypedAttr initAttr = reduceInit(b, elt, kind);
  if (uns && (kind == ReduceKind::Max || kind == ReduceKind::Min))
    initAttr = b.getIntegerAttr(
        elt, kind == ReduceKind::Max
                 ? APInt::getMinValue(elt.getIntOrFloatBitWidth())
                 : APInt::getMaxValue(elt.getIntOrFloatBitWidth()));
  Value init = arith::ConstantOp::create(b, loc, initAttr);
  Value acc = filled(outShape, init);
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, ctx),
                                 AffineMap::get(rank, 0, outExprs, ctx)};
  auto op = linalg::GenericOp::create(
      b, loc, TypeRange{acc.getType()}, ValueRange{x}, ValueRange{acc}, maps,
      iters, [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(
            nb, nl, combine(nb, nl, kind, args[1], args[0], unsignedInit));
      });
  Value r = op.getResult(0);
  if (!keepDims)
    return r;
  FailureOr<Value> kept = reshape(r, keepShape);
  assert(succeeded(kept) && "size-1 dimensions keep the element count");
  return *kept;
}

FailureOr<Value> Importer::reshape(Value x, ArrayRef<OpFoldResult> shape) {
  OpFoldResult have = b.getIndexAttr(1), want = b.getIndexAttr(1);
  for (OpFoldResult d : dims(x))
    have = foldBin(have, d, '*');
  for (OpFoldResult d : shape)
    want = foldBin(want, d, '*');
  std::string what = (node ? nodeDesc() + ": " : std::string()) +
                     "the element count of the new shape";
  FailureOr<Value> checked = checkDim(want, have, what);
  if (failed(checked))
    return failure();
  Value ok = *checked;
  if (matchPattern(ok, m_One()))
    return reshapeUnchecked(x, shape);
  SmallVector<int64_t> staticShape;
  for (OpFoldResult d : shape) {
    std::optional<int64_t> c = getConstantIntValue(d);
    staticShape.push_back(c ? *c : ShapedType::kDynamic);
  }
  auto target = RankedTensorType::get(staticShape, eltOf(x));
  // After a failed check a dynamic size of 0 makes the result an empty view
  // (no scf.if, so reshape chains around matmuls stay visible to kernel
  // formation); an all-static result is guarded instead.
  for (size_t i = 0; i < shape.size(); ++i)
    if (target.isDynamicDim(i)) {
      SmallVector<OpFoldResult> safe(shape.begin(), shape.end());
      safe[i] =
          arith::SelectOp::create(b, loc, ok, indexValue(shape[i]),
                                  arith::ConstantIndexOp::create(b, loc, 0))
              .getResult();
      return reshapeUnchecked(x, safe);
    }
  return guarded(ok, target, [&] { return reshapeUnchecked(x, shape); });
}

Value Importer::reshapeUnchecked(Value x, ArrayRef<OpFoldResult> shape) {
  auto type = typeOf(x);
  SmallVector<int64_t> staticShape;
  for (OpFoldResult d : shape) {
    std::optional<int64_t> c = getConstantIntValue(d);
    staticShape.push_back(c ? *c : ShapedType::kDynamic);
  }
  auto target = RankedTensorType::get(staticShape, type.getElementType());
  if (target == type && type.hasStaticShape())
    return x;
  int64_t dynamicOut = llvm::count_if(target.getShape(), ShapedType::isDynamic);
  if ((type.hasStaticShape() || dynamicOut > 1) && !target.hasStaticShape() &&
      target.getRank() > 0) {
    // expand_shape from a static size to dynamic sizes, or to more than one
    // dynamic size, crashes upstream's canonicalisation of the bufferized
    // form (MLIR 22); tensor.reshape takes the sizes as a tensor instead.
    SmallVector<Value> sizes;
    for (OpFoldResult d : shape)
      sizes.push_back(indexValue(d));
    Value shapeTensor = tensor::FromElementsOp::create(
        b, loc,
        RankedTensorType::get({(int64_t)sizes.size()}, b.getIndexType()),
        sizes);
    return tensor::ReshapeOp::create(b, loc, target, x, shapeTensor);
  }
  // Through a 1-D tensor: rank-0 and rank-1 ends need no reassociation.
  Value flat = x;
  Type elt = type.getElementType();
  if (type.getRank() == 0) {
    flat = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({1}, elt), x,
        ArrayRef<ReassociationIndices>{},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
  } else if (type.getRank() > 1) {
    ReassociationIndices all;
    for (int64_t i = 0; i < type.getRank(); ++i)
      all.push_back(i);
    flat = tensor::CollapseShapeOp::create(b, loc, x,
                                           ArrayRef<ReassociationIndices>{all});
  }
  auto flatType = typeOf(flat);
  if (target.getRank() == 0) {
    if (flatType.isDynamicDim(0))
      flat =
          tensor::CastOp::create(b, loc, RankedTensorType::get({1}, elt), flat);
    return tensor::CollapseShapeOp::create(b, loc, target, flat,
                                           ArrayRef<ReassociationIndices>{});
  }
  if (target.getRank() == 1)
    return flatType == target
               ? flat
               : (Value)tensor::CastOp::create(b, loc, target, flat);
  int64_t n = 1;
  bool allStatic = target.hasStaticShape();
  if (allStatic)
    n = target.getNumElements();
  auto wantFlat =
      RankedTensorType::get({allStatic ? n : ShapedType::kDynamic}, elt);
  if (wantFlat != flatType)
    flat = tensor::CastOp::create(b, loc, wantFlat, flat);
  ReassociationIndices all;
  for (int64_t i = 0; i < target.getRank(); ++i)
    all.push_back(i);
  return tensor::ExpandShapeOp::create(
      b, loc, target, flat, ArrayRef<ReassociationIndices>{all}, shape);
}

Value Importer::transpose(Value x, ArrayRef<int64_t> perm) {
  SmallVector<OpFoldResult> in = dims(x), out;
  for (int64_t p : perm)
    out.push_back(in[p]);
  Value init = empty(out, eltOf(x));
  return linalg::TransposeOp::create(b, loc, x, init, perm).getResult()[0];
}

Value Importer::castScalar(OpBuilder &nb, Location nl, Value x, Type to,
                           bool fromUnsigned, bool toUnsigned) {
  Type from = x.getType();
  if (from == to)
    return x;
  bool fromF = isa<FloatType>(from), toF = isa<FloatType>(to);
  if (fromF && toF)
    return from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth()
               ? (Value)arith::ExtFOp::create(nb, nl, to, x)
               : (Value)arith::TruncFOp::create(nb, nl, to, x);
  if (!fromF && !toF) {
    if (to.isInteger(1)) {
      Value zero =
          arith::ConstantOp::create(nb, nl, nb.getIntegerAttr(from, 0));
      return arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ne, x, zero);
    }
    if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
      return from.isInteger(1) || fromUnsigned
                 ? (Value)arith::ExtUIOp::create(nb, nl, to, x)
                 : (Value)arith::ExtSIOp::create(nb, nl, to, x);
    return arith::TruncIOp::create(nb, nl, to, x);
  }
  if (!fromF)
    return from.isInteger(1) || fromUnsigned
               ? (Value)arith::UIToFPOp::create(nb, nl, to, x)
               : (Value)arith::SIToFPOp::create(nb, nl, to, x);
  if (to.isInteger(1)) {
    Value zero = arith::ConstantOp::create(nb, nl, nb.getFloatAttr(from, 0.0));
    return arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::UNE, x, zero);
  }
  if (toUnsigned)
    return arith::FPToUIOp::create(nb, nl, to, x);
  return arith::FPToSIOp::create(nb, nl, to, x);
}

Value Importer::castTo(Value x, Type elt) {
  if (eltOf(x) == elt)
    return x;
  return mapElements(x, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
    return castScalar(nb, nl, a[0], elt);
  });
}

Value Importer::countOf(Value x, ArrayRef<int64_t> axes, Type elt) {
  OpFoldResult n = b.getIndexAttr(1);
  SmallVector<OpFoldResult> d = dims(x);
  for (int64_t a : axes)
    n = foldBin(n, d[a], '*');
  if (std::optional<int64_t> c = getConstantIntValue(n))
    return constantScalar(elt, (double)*c);
  Value i = arith::IndexCastOp::create(b, loc, b.getI64Type(), indexValue(n));
  return castScalar(b, loc, i, elt);
}

//===----------------------------------------------------------------------===//
// Scalar bodies
//===----------------------------------------------------------------------===//

static Value geluBody(OpBuilder &b, Location loc, Value x, bool tanhApprox) {
  Type t = x.getType();
  Value half = fc(b, loc, t, 0.5), one = fc(b, loc, t, 1.0);
  Value inner;
  if (tanhApprox) {
    Value x3 =
        arith::MulFOp::create(b, loc, x, arith::MulFOp::create(b, loc, x, x));
    Value s = arith::AddFOp::create(
        b, loc, x, arith::MulFOp::create(b, loc, x3, fc(b, loc, t, 0.044715)));
    inner = math::TanhOp::create(
        b, loc,
        arith::MulFOp::create(b, loc, s, fc(b, loc, t, 0.7978845608028654)));
  } else {
    inner = math::ErfOp::create(
        b, loc, arith::MulFOp::create(b, loc, x, fc(b, loc, t, M_SQRT1_2)));
  }
  Value y = arith::MulFOp::create(b, loc, x,
                                  arith::AddFOp::create(b, loc, one, inner));
  return arith::MulFOp::create(b, loc, half, y);
}

LogicalResult Importer::importGelu(const std::string &x, const std::string &out,
                                   bool tanhApprox) {
  auto it = values.find(x);
  if (it == values.end())
    return error("GELU input '" + x + "' is not defined");
  Value xv = it->second.v;
  if (!isa<FloatType>(eltOf(xv)))
    return error("GELU on a non-float tensor");
  Value y =
      mapElements(xv, eltOf(xv), [&](OpBuilder &nb, Location nl, ValueRange a) {
        return geluBody(nb, nl, a[0], tanhApprox);
      });
  y.getDefiningOp()->setAttr(
      "lathe.activation", b.getStringAttr(tanhApprox ? "gelu_tanh" : "gelu"));
  TV tv;
  tv.v = y;
  values[out] = tv;
  return success();
}

//===----------------------------------------------------------------------===//
// Padding, copies and concatenation as generics
//===----------------------------------------------------------------------===//

Value Importer::pad(Value x, ArrayRef<OpFoldResult> low,
                    ArrayRef<OpFoldResult> high, Value padValue) {
  int64_t r = rankOf(x);
  SmallVector<OpFoldResult> d = dims(x), out;
  SmallVector<Value> dv, lv;
  for (int64_t i = 0; i < r; ++i) {
    out.push_back(foldBin(foldBin(d[i], low[i], '+'), high[i], '+'));
    dv.push_back(indexValue(d[i]));
    lv.push_back(indexValue(low[i]));
  }
  return generate(out, eltOf(x), [&](OpBuilder &nb, Location nl) {
    Value zero = arith::ConstantIndexOp::create(nb, nl, 0);
    Value one = arith::ConstantIndexOp::create(nb, nl, 1);
    Value inside = arith::ConstantOp::create(nb, nl, nb.getBoolAttr(true));
    SmallVector<Value> idx;
    for (int64_t i = 0; i < r; ++i) {
      Value iv = arith::SubIOp::create(
          nb, nl, linalg::IndexOp::create(nb, nl, i), lv[i]);
      Value ge =
          arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sge, iv, zero);
      Value lt =
          arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt, iv, dv[i]);
      inside = arith::AndIOp::create(nb, nl, inside,
                                     arith::AndIOp::create(nb, nl, ge, lt));
      Value last = arith::SubIOp::create(nb, nl, dv[i], one);
      iv = arith::MinSIOp::create(
          nb, nl, arith::MaxSIOp::create(nb, nl, iv, zero), last);
      idx.push_back(iv);
    }
    Value v = tensor::ExtractOp::create(nb, nl, x, idx);
    return arith::SelectOp::create(nb, nl, inside, v, padValue);
  });
}

Value Importer::concat(ArrayRef<Value> inputs, int64_t axis) {
  int64_t r = rankOf(inputs[0]);
  SmallVector<OpFoldResult> shape = dims(inputs[0]);
  SmallVector<Value> starts, lens;
  OpFoldResult total = b.getIndexAttr(0);
  for (Value v : inputs) {
    starts.push_back(indexValue(total));
    OpFoldResult len = dim(v, axis);
    lens.push_back(indexValue(len));
    total = foldBin(total, len, '+');
  }
  shape[axis] = total;
  return generate(shape, eltOf(inputs[0]), [&](OpBuilder &nb, Location nl) {
    SmallVector<Value> idx;
    for (int64_t i = 0; i < r; ++i)
      idx.push_back(linalg::IndexOp::create(nb, nl, i));
    Value zero = arith::ConstantIndexOp::create(nb, nl, 0);
    Value one = arith::ConstantIndexOp::create(nb, nl, 1);
    Value result;
    // Later inputs win from their start on; zero-length inputs never do.
    for (size_t k = 0; k < inputs.size(); ++k) {
      Value local = arith::SubIOp::create(nb, nl, idx[axis], starts[k]);
      Value last = arith::MaxSIOp::create(
          nb, nl, arith::SubIOp::create(nb, nl, lens[k], one), zero);
      Value clamped = arith::MinSIOp::create(
          nb, nl, arith::MaxSIOp::create(nb, nl, local, zero), last);
      SmallVector<Value> at = idx;
      at[axis] = clamped;
      if (k == 0) {
        result = tensor::ExtractOp::create(nb, nl, inputs[k], at);
        continue;
      }
      Value nonEmpty = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sgt,
                                             lens[k], zero);
      Value ge =
          arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sge, local, zero);
      Value use = arith::AndIOp::create(nb, nl, ge, nonEmpty);
      // Reading a zero-length input is never selected; guard the read.
      Value safe = arith::SelectOp::create(nb, nl, nonEmpty, clamped, zero);
      at[axis] = safe;
      Value v = tensor::ExtractOp::create(nb, nl, inputs[k], at);
      result = arith::SelectOp::create(nb, nl, use, v, result);
    }
    return result;
  });
}

Value Importer::slice(Value x, ArrayRef<OpFoldResult> offsets,
                      ArrayRef<OpFoldResult> sizes,
                      ArrayRef<OpFoldResult> strides,
                      ArrayRef<int64_t> reversed) {
  int64_t r = rankOf(x);
  SmallVector<Value> off, str, len;
  for (int64_t i = 0; i < r; ++i) {
    off.push_back(indexValue(offsets[i]));
    str.push_back(indexValue(strides[i]));
    len.push_back(indexValue(sizes[i]));
  }
  SmallVector<int64_t> rev(reversed);
  return generate(sizes, eltOf(x), [&](OpBuilder &nb, Location nl) {
    SmallVector<Value> idx;
    for (int64_t i = 0; i < r; ++i) {
      Value iv = linalg::IndexOp::create(nb, nl, i);
      if (llvm::is_contained(rev, i)) {
        Value last = arith::SubIOp::create(
            nb, nl, len[i], arith::ConstantIndexOp::create(nb, nl, 1));
        iv = arith::SubIOp::create(nb, nl, last, iv);
      }
      iv = arith::AddIOp::create(nb, nl, off[i],
                                 arith::MulIOp::create(nb, nl, iv, str[i]));
      idx.push_back(iv);
    }
    return tensor::ExtractOp::create(nb, nl, x, idx);
  });
}
