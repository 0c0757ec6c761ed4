//===- ImportShape.cpp - Constants and shape operators --------------------===//
//
// Constant, Identity, Dropout (inference), Shape, Size, ConstantOfShape,
// Range, Expand, Reshape, Flatten, Squeeze and Unsqueeze.
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

LogicalResult Importer::importConstant(const onnx::NodeProto &) {
  if (const auto *a = attr("value")) {
    FailureOr<DenseElementsAttr> value = tensorAttr(loc, a->t());
    if (failed(value))
      return failure();
    TV tv = constantTV(*value);
    tv.isUnsigned = a->t().data_type() == onnx::TensorProto::UINT8;
    setOut(0, tv);
    return success();
  }
  if (const auto *a = attr("value_float")) {
    auto type = RankedTensorType::get({}, b.getF32Type());
    setOut(0, constantTV(DenseElementsAttr::get(type, a->f())));
    return success();
  }
  if (const auto *a = attr("value_int")) {
    auto type = RankedTensorType::get({}, b.getI64Type());
    setOut(0, constantTV(DenseElementsAttr::get(type, (int64_t)a->i())));
    return success();
  }
  if (const auto *a = attr("value_floats")) {
    SmallVector<float> v(a->floats().begin(), a->floats().end());
    auto type = RankedTensorType::get({(int64_t)v.size()}, b.getF32Type());
    setOut(0, constantTV(DenseElementsAttr::get(type, ArrayRef<float>(v))));
    return success();
  }
  if (const auto *a = attr("value_ints")) {
    SmallVector<int64_t> v(a->ints().begin(), a->ints().end());
    auto type = RankedTensorType::get({(int64_t)v.size()}, b.getI64Type());
    setOut(0, constantTV(DenseElementsAttr::get(type, ArrayRef<int64_t>(v))));
    return success();
  }
  return error(nodeDesc() +
               ": only tensor, float(s) and int(s) values are supported "
               "(not sparse or string constants)");
}

LogicalResult Importer::importIdentity(const onnx::NodeProto &) {
  setOut(0, in(0));
  return success();
}

LogicalResult Importer::importDropout(const onnx::NodeProto &) {
  TV x = in(0);
  if (hasInput(2)) {
    auto training = constInts(in(2));
    if (!training)
      return error(nodeDesc() + ": training_mode must be a constant");
    std::optional<SmallVector<double>> ratio;
    if (hasInput(1))
      ratio = constFloats(in(1));
    if ((*training)[0] && (!ratio || (*ratio)[0] != 0.0))
      return error(nodeDesc() +
                   ": training-mode dropout (random) is not supported; "
                   "export the model in eval mode");
  }
  setOut(0, x);
  if (hasOutput(1))
    setOut(1, filled(dims(x.v), fc(b, loc, b.getI1Type(), 1)));
  return success();
}

LogicalResult Importer::importShape(const onnx::NodeProto &) {
  Value x = inV(0);
  int64_t r = rankOf(x);
  int64_t start = attrInt("start", 0), end = attrInt("end", r);
  if (start < 0)
    start += r;
  if (end < 0)
    end += r;
  start = std::clamp<int64_t>(start, 0, r);
  end = std::clamp<int64_t>(end, start, r);
  SmallVector<OpFoldResult> d = dims(x);
  setOut(0, fromElems(ArrayRef<OpFoldResult>(d).slice(start, end - start),
                      b.getI64Type()));
  return success();
}

LogicalResult Importer::importSize(const onnx::NodeProto &) {
  OpFoldResult n = b.getIndexAttr(1);
  for (OpFoldResult d : dims(inV(0)))
    n = foldBin(n, d, '*');
  setOut(0, fromElems({n}, b.getI64Type(), /*scalar=*/true));
  return success();
}

LogicalResult Importer::importConstantOfShape(const onnx::NodeProto &) {
  FailureOr<SmallVector<OpFoldResult>> shape = elemsOf(in(0));
  if (failed(shape))
    return failure();
  Value scalar;
  DenseElementsAttr value;
  if (const auto *a = attr("value")) {
    FailureOr<DenseElementsAttr> v = tensorAttr(loc, a->t());
    if (failed(v))
      return failure();
    value = *v;
  }
  if (value) {
    Type t = value.getElementType();
    if (isa<FloatType>(t))
      scalar = arith::ConstantOp::create(
          b, loc, b.getFloatAttr(t, *value.getValues<APFloat>().begin()));
    else
      scalar = arith::ConstantOp::create(
          b, loc, b.getIntegerAttr(t, *value.getValues<APInt>().begin()));
  } else {
    scalar = fc(b, loc, b.getF32Type(), 0.0);
  }
  TV tv;
  tv.v = filled(*shape, scalar);
  auto type = typeOf(tv.v);
  if (type.hasStaticShape() && type.getNumElements() <= 4096) {
    if (auto ta = dyn_cast<TypedAttr>(
            cast<arith::ConstantOp>(scalar.getDefiningOp()).getValue()))
      tv.cst = DenseElementsAttr::get(type, ta);
    if (isa<IntegerType>(type.getElementType()) && type.getRank() <= 1 &&
        type.getNumElements() <= 64)
      (void)elemsOf(tv); // Cannot fail: a constant 1-D integer tensor.
  }
  setOut(0, tv);
  return success();
}

LogicalResult Importer::importRange(const onnx::NodeProto &) {
  Value start = inV(0), limit = inV(1), delta = inV(2);
  Type elt = eltOf(start);
  auto scalar = [&](Value v) {
    return tensor::ExtractOp::create(b, loc, v, ValueRange{}).getResult();
  };
  Value s = scalar(start), l = scalar(limit), dl = scalar(delta);
  OpFoldResult len;
  auto cs = constFloats(in(0)), cl = constFloats(in(1)),
       cd = constFloats(in(2));
  if (cs && cl && cd) {
    double n = std::ceil(((*cl)[0] - (*cs)[0]) / (*cd)[0]);
    len = b.getIndexAttr(std::max<int64_t>((int64_t)n, 0));
  } else {
    Value fs = castScalar(b, loc, s, b.getF64Type()),
          fl = castScalar(b, loc, l, b.getF64Type()),
          fd = castScalar(b, loc, dl, b.getF64Type());
    Value q = arith::DivFOp::create(b, loc,
                                    arith::SubFOp::create(b, loc, fl, fs), fd);
    q = math::CeilOp::create(b, loc, q);
    q = arith::MaximumFOp::create(b, loc, q, fc(b, loc, b.getF64Type(), 0));
    Value n = arith::FPToSIOp::create(b, loc, b.getI64Type(), q);
    len = arith::IndexCastOp::create(b, loc, b.getIndexType(), n).getResult();
  }
  Value g = generate({len}, elt, [&](OpBuilder &nb, Location nl) {
    Value i = linalg::IndexOp::create(nb, nl, 0);
    Value iv = arith::IndexCastOp::create(nb, nl, nb.getI64Type(), i);
    Value ie = castScalar(nb, nl, iv, elt);
    Value v = binary(nb, nl, "Add", s, binary(nb, nl, "Mul", ie, dl));
    return v;
  });
  setOut(0, g);
  return success();
}

LogicalResult Importer::importExpand(const onnx::NodeProto &n) {
  TV &x = in(0);
  FailureOr<SmallVector<OpFoldResult>> shapeOr = elemsOf(in(1));
  if (failed(shapeOr))
    return failure();
  SmallVector<OpFoldResult> shape = *shapeOr;
  SmallVector<OpFoldResult> xd = dims(x.v), out;
  int64_t rank = std::max(xd.size(), shape.size());
  int64_t offX = rank - xd.size(), offS = rank - shape.size();
  std::string shapeName = "the shape input '" + n.input(1) + "'";
  for (int64_t j = 0; j < rank; ++j) {
    OpFoldResult e = j >= offS ? shape[j - offS] : b.getIndexAttr(1);
    std::optional<int64_t> ce = getConstantIntValue(e);
    std::string what = nodeDesc() + ": element " + std::to_string(j - offS) +
                       " of " + shapeName;
    if (ce && *ce < 0)
      return error(what + " is negative (" + std::to_string(*ce) + ")");
    if (j < offX) {
      out.push_back(ce ? e : foldBin(e, b.getIndexAttr(0), 'M'));
      continue;
    }
    OpFoldResult d = xd[j - offX];
    std::optional<int64_t> cd = getConstantIntValue(d);
    if (cd && *cd == 1) {
      out.push_back(ce ? e : foldBin(e, b.getIndexAttr(0), 'M'));
    } else if (cd || (ce && *ce == 1)) {
      if (cd && failed(checkDim(e, d, what, /*orOne=*/true)))
        return failure();
      out.push_back(d);
    } else if (ce) {
      out.push_back(e); // elementwise checks the input's size against it
    } else {
      // Both at run time: a 1 in the shape keeps the input's size; any
      // other value must equal it (a run-time 1 of the input does not
      // broadcast). The size never exceeds the input's.
      Value isOne =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, indexValue(e),
                                arith::ConstantIndexOp::create(b, loc, 1));
      Value want =
          arith::SelectOp::create(b, loc, isOne, indexValue(d), indexValue(e));
      if (failed(checkDim(d, want,
                          nodeDesc() + ": dimension " +
                              std::to_string(j - offX) + " of input '" +
                              n.input(0) + "' against element " +
                              std::to_string(j - offS) + " of " + shapeName +
                              " (broadcasting a run-time 1 is not supported)")))
        return failure();
      out.push_back(foldBin(want, d, 'm'));
    }
  }
  return setOut(0, elementwise(
                       {x.v}, eltOf(x.v),
                       [](OpBuilder &, Location, ValueRange a) { return a[0]; },
                       out));
}

LogicalResult Importer::importReshape(const onnx::NodeProto &n) {
  TV &x = in(0);
  auto specType = typeOf(inV(1));
  if (!specType.hasStaticShape() && !in(1).elems) {
    auto decl = staticDeclaredShape(0);
    if (!decl)
      return error(
          "cannot resolve the result shape of " + nodeDesc() +
          ": the length of its shape operand is only known at run time "
          "and the result shape is not declared");
    // The shape's length and elements must give the declared shape.
    std::string shapeName = "the shape input '" + n.input(1) + "'";
    Value spec = inV(1);
    FailureOr<Value> lenOkOr =
        checkDim(dim(spec, 0), b.getIndexAttr(decl->size()),
                 nodeDesc() + ": the length of " + shapeName);
    if (failed(lenOkOr))
      return failure();
    Value lenOk = *lenOkOr;
    SmallVector<OpFoldResult> xd = dims(x.v);
    bool allowZero = attrInt("allowzero", 0);
    for (size_t k = 0; k < decl->size(); ++k) {
      Value want = indexValue((*decl)[k]);
      auto ifOp = scf::IfOp::create(b, loc, TypeRange{b.getIndexType()}, lenOk,
                                    /*withElseRegion=*/true);
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(ifOp.thenBlock());
        Value e = tensor::ExtractOp::create(
            b, loc, spec,
            ValueRange{arith::ConstantIndexOp::create(b, loc, k)});
        if (!e.getType().isIndex())
          e = arith::IndexCastOp::create(b, loc, b.getIndexType(), e);
        scf::YieldOp::create(b, loc, e);
        b.setInsertionPointToStart(ifOp.elseBlock());
        scf::YieldOp::create(b, loc, want);
      }
      Value e = ifOp.getResult(0);
      // -1 is inferred (the element count is checked by the reshape); 0
      // copies the input's dimension unless allowzero.
      Value given = indexValue(select(
          cmp(arith::CmpIPredicate::eq, e, b.getIndexAttr(-1)), want, e));
      if (!allowZero && k < xd.size())
        given = indexValue(select(
            cmp(arith::CmpIPredicate::eq, e, b.getIndexAttr(0)), xd[k], given));
      if (failed(checkDim(given, want,
                          nodeDesc() + ": element " + std::to_string(k) +
                              " of " + shapeName + " (declared result shape)")))
        return failure();
    }
    return setOut(0, reshape(x.v, *decl));
  }
  FailureOr<SmallVector<OpFoldResult>> specOr = elemsOf(in(1));
  if (failed(specOr))
    return failure();
  SmallVector<OpFoldResult> spec = *specOr;
  bool allowZero = attrInt("allowzero", 0);
  SmallVector<OpFoldResult> in = dims(x.v), out;
  int inferAt = -1;
  OpFoldResult known = b.getIndexAttr(1);
  SmallVector<std::pair<size_t, Value>> runtimeInfer;
  for (size_t i = 0; i < spec.size(); ++i) {
    std::optional<int64_t> c = getConstantIntValue(spec[i]);
    OpFoldResult d = spec[i];
    if (c && *c == -1) {
      if (inferAt >= 0)
        return error(nodeDesc() + ": more than one -1 in the shape");
      inferAt = i;
      out.push_back(d);
      continue;
    }
    if (c && *c == 0 && !allowZero) {
      if (i >= in.size())
        return error(nodeDesc() + ": 0 in the shape beyond the input's rank");
      d = in[i];
    } else if (!c && !allowZero && i < in.size()) {
      // A run-time 0 copies the input dimension.
      Value v = indexValue(d);
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      Value isZero =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, v, zero);
      d = arith::SelectOp::create(b, loc, isZero, indexValue(in[i]), v)
              .getResult();
    }
    if (!c) {
      // A run-time -1 is inferred like a constant one.
      Value v = indexValue(d);
      Value m1 = arith::ConstantIndexOp::create(b, loc, -1);
      Value isInfer =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, v, m1);
      runtimeInfer.push_back({out.size(), isInfer});
      Value one = arith::ConstantIndexOp::create(b, loc, 1);
      known = foldBin(
          known, arith::SelectOp::create(b, loc, isInfer, one, v).getResult(),
          '*');
      out.push_back(d);
      continue;
    }
    out.push_back(d);
    known = foldBin(known, d, '*');
  }
  OpFoldResult total = b.getIndexAttr(1);
  for (OpFoldResult d : in)
    total = foldBin(total, d, '*');
  // The inferred size: total / known. A run-time `known` may be 0 (a 0 kept
  // by allowzero, or copied from an empty input dimension): then divide by
  // 1 instead -- the element-count check of the reshape reports a shape
  // that does not fit, and no division by zero traps or is undefined.
  if (!getConstantIntValue(known)) {
    Value k = indexValue(known);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value isZero =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, k,
                              arith::ConstantIndexOp::create(b, loc, 0));
    known = arith::SelectOp::create(b, loc, isZero, one, k).getResult();
  }
  if (inferAt >= 0) {
    FailureOr<OpFoldResult> inferred = foldDiv(total, known);
    if (failed(inferred))
      return failure();
    out[inferAt] = *inferred;
  }
  for (auto [i, isInfer] : runtimeInfer) {
    FailureOr<OpFoldResult> inferredSize = foldDiv(total, known);
    if (failed(inferredSize))
      return failure();
    Value inferred = indexValue(*inferredSize);
    out[i] =
        arith::SelectOp::create(b, loc, isInfer, inferred, indexValue(out[i]))
            .getResult();
  }
  if (x.elems && out.size() <= 1) {
    // Shape values keep their elements.
    setOut(0, fromElems(*x.elems, eltOf(x.v), out.empty()));
    return success();
  }
  return setOut(0, reshape(x.v, out));
}

LogicalResult Importer::importFlatten(const onnx::NodeProto &) {
  Value x = inV(0);
  int64_t r = rankOf(x);
  int64_t axis = attrInt("axis", 1);
  if (axis < 0)
    axis += r;
  if (axis < 0 || axis > r)
    return error(nodeDesc() + ": axis out of range");
  OpFoldResult outer = b.getIndexAttr(1), inner = b.getIndexAttr(1);
  SmallVector<OpFoldResult> d = dims(x);
  for (int64_t i = 0; i < r; ++i) {
    if (i < axis)
      outer = foldBin(outer, d[i], '*');
    else
      inner = foldBin(inner, d[i], '*');
  }
  return setOut(0, reshape(x, {outer, inner}));
}

/// Squeeze-1/11 and Unsqueeze-1/11: the axes are an attribute.
LogicalResult Importer::importSqueeze11(const onnx::NodeProto &n) {
  return squeezeOrUnsqueeze(n, attrInts("axes"));
}

/// Squeeze-13 and Unsqueeze-13: the axes are an optional input; run-time axes
/// are taken from the declared result shape (and checked).
LogicalResult Importer::importSqueeze13(const onnx::NodeProto &n) {
  StringRef op = n.op_type();
  TV &x = in(0);
  std::optional<SmallVector<int64_t>> axes;
  if (hasInput(1)) {
    axes = constInts(in(1));
    if (!axes) {
      // Run-time axes: the declared result shape says what they do.
      auto decl = staticDeclaredShape(0);
      if (!decl)
        return error(nodeDesc() +
                     ": axes must be constant, or the result shape declared");
      // Every set of axes that gives the declared shape (they all give
      // the same result); the run-time axes must be one of them.
      bool sq = op == "Squeeze";
      ArrayRef<int64_t> is = typeOf(x.v).getShape();
      SmallVector<int64_t> os;
      for (OpFoldResult d : *decl)
        os.push_back(*getConstantIntValue(d));
      ArrayRef<int64_t> big = sq ? is : ArrayRef<int64_t>(os),
                        small = sq ? ArrayRef<int64_t>(os) : is;
      int64_t R = big.size();
      SmallVector<uint64_t> cands;
      if (R <= 16 && small.size() <= big.size())
        for (uint64_t mask = 0; mask < (uint64_t(1) << R); ++mask) {
          if ((int64_t)llvm::popcount(mask) != R - (int64_t)small.size())
            continue;
          bool fits = true;
          size_t j = 0;
          for (int64_t k = 0; k < R && fits; ++k) {
            if (mask >> k & 1)
              fits = big[k] == 1;
            else
              fits = j < small.size() &&
                     (big[k] == small[j] || ShapedType::isDynamic(big[k]) ||
                      ShapedType::isDynamic(small[j]));
            if (!(mask >> k & 1))
              ++j;
          }
          if (fits)
            cands.push_back(mask);
        }
      if (R <= 16)
        if (failed(checkAxes(1, R, cands)))
          return failure();
      return setOut(0, reshape(x.v, *decl));
    }
  }
  return squeezeOrUnsqueeze(n, axes);
}

LogicalResult
Importer::squeezeOrUnsqueeze(const onnx::NodeProto &n,
                             std::optional<SmallVector<int64_t>> axes) {
  StringRef op = n.op_type();
  TV &x = in(0);
  int64_t r = rankOf(x.v);
  SmallVector<OpFoldResult> d = dims(x.v), out;
  if (op == "Squeeze") {
    std::set<int64_t> drop;
    if (axes)
      for (int64_t a : *axes) {
        FailureOr<int64_t> axis = normAxis(a, r);
        if (failed(axis))
          return failure();
        drop.insert(*axis);
      }
    for (int64_t i = 0; i < r; ++i) {
      std::optional<int64_t> c = getConstantIntValue(d[i]);
      bool squeeze = axes ? drop.count(i) > 0 : (c && *c == 1);
      if (squeeze && c && *c != 1)
        return error(nodeDesc() + ": cannot squeeze a dimension that is not 1");
      if (!squeeze)
        out.push_back(d[i]);
    }
  } else {
    if (!axes)
      return error(nodeDesc() + ": needs axes");
    int64_t outRank = r + axes->size();
    std::set<int64_t> ins;
    for (int64_t a : *axes) {
      FailureOr<int64_t> axis = normAxis(a, outRank);
      if (failed(axis))
        return failure();
      ins.insert(*axis);
    }
    int64_t k = 0;
    for (int64_t i = 0; i < outRank; ++i)
      out.push_back(ins.count(i) ? (OpFoldResult)b.getIndexAttr(1) : d[k++]);
  }
  if (x.elems && out.size() <= 1 && r <= 1) {
    setOut(0, fromElems(*x.elems, eltOf(x.v), out.empty()));
    return success();
  }
  return setOut(0, reshape(x.v, out));
}

void onnx_import::registerShapeOps(OpRegistry &r) {
  r.add("Constant", 1, &Importer::importConstant);
  r.add("Identity", 1, &Importer::importIdentity);
  r.add("Dropout", 1, &Importer::importDropout);
  r.add("Shape", 1, &Importer::importShape);
  r.add("Size", 1, &Importer::importSize);
  r.add("ConstantOfShape", 1, &Importer::importConstantOfShape);
  r.add("Range", 1, &Importer::importRange);
  r.add("Expand", 1, &Importer::importExpand);
  r.add("Reshape", 1, &Importer::importReshape);
  r.add("Flatten", 1, &Importer::importFlatten);
  r.add("Squeeze", 1, &Importer::importSqueeze11);
  r.add("Squeeze", 13, &Importer::importSqueeze13);
  r.add("Unsqueeze", 1, &Importer::importSqueeze11);
  r.add("Unsqueeze", 13, &Importer::importSqueeze13);
}
