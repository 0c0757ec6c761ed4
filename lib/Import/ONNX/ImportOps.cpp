//===- ImportOps.cpp - ONNX operators to linalg/tensor/arith/math ---------===//
//
// One importer per ONNX operator, each at the semantics of the opset the
// model imports (opsets 11-17). Elementwise operators become linalg.generic
// with numpy broadcasting maps; contractions and windows become linalg named
// ops (matmul, batch_matmul, conv_2d_*, pooling_*), softmax linalg.softmax,
// data movement tensor ops. Small integer tensors (shape computations) are
// also tracked element by element so that reshapes get exact result shapes.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <limits>
#include <set>

using namespace mlir;
using namespace mlir::lathe;
using namespace mlir::lathe::onnx_import;

Type elementTypeOrFail(MLIRContext *ctx, int t, const std::string &what);
DenseElementsAttr onnx_import_tensorAttr(MLIRContext *ctx,
                                         const onnx::TensorProto &t);

// clang-format off
static const std::set<std::string> kSupported = {
    "Abs", "Add", "And", "AveragePool", "BatchNormalization", "Cast", "Ceil",
    "Clip", "Concat", "Constant", "ConstantOfShape", "Conv", "Div", "Dropout",
    "Equal", "Erf", "Exp", "Expand", "Flatten", "Floor", "Gather", "Gemm",
    "GlobalAveragePool", "GlobalMaxPool", "Greater", "GreaterOrEqual",
    "Identity", "LayerNormalization", "LeakyRelu", "Less", "LessOrEqual", "Log",
    "LogSoftmax", "MatMul", "Max", "MaxPool", "Min", "Mul", "Neg", "Not", "Or",
    "Pad", "Pow", "Reciprocal", "ReduceMax", "ReduceMean", "ReduceMin",
    "ReduceProd", "ReduceSum", "Relu", "Reshape", "ScatterElements", "Shape",
    "Sigmoid", "Size", "Slice", "Softmax", "Split", "Sqrt", "Squeeze", "Sub",
    "Sum", "Tanh", "Transpose", "Unsqueeze", "Where", "Xor",
    // Beyond the issue's list.
    "ArgMax", "ArgMin", "Celu", "Cos", "Elu", "HardSigmoid", "HardSwish",
    "IsInf", "IsNaN", "Mean", "ReduceL1", "ReduceL2", "ReduceLogSum",
    "ReduceLogSumExp", "ReduceSumSquare", "Round", "Selu", "Sign", "Sin",
    "Softplus", "Softsign", "Tan", "ThresholdedRelu", "CastLike", "PRelu",
    "Mod", "GatherElements", "Tile", "Range", "Trilu", "CumSum"};
// clang-format on

bool onnx_import::isSupportedOp(StringRef opType) {
  return kSupported.count(opType.str());
}

//===----------------------------------------------------------------------===//
// Node operands and attributes
//===----------------------------------------------------------------------===//

std::string Importer::nodeDesc() const {
  std::string s = node->op_type();
  if (!node->name().empty())
    s += " node '" + node->name() + "'";
  else if (node->output_size())
    s += " node producing '" + node->output(0) + "'";
  return s;
}

bool Importer::hasInput(int i) const {
  return i < node->input_size() && !node->input(i).empty();
}

bool Importer::hasOutput(int i) const {
  return i < node->output_size() && !node->output(i).empty();
}

TV &Importer::in(int i) {
  if (!hasInput(i))
    fail(nodeDesc() + " lacks its input #" + std::to_string(i));
  auto it = values.find(node->input(i));
  if (it == values.end())
    fail(nodeDesc() + " uses '" + node->input(i) +
         "', which no node, input or initializer defines");
  return it->second;
}

void Importer::setOut(int i, Value v) {
  TV tv;
  tv.v = v;
  setOut(i, tv);
}

void Importer::setOut(int i, TV tv) {
  if (!hasOutput(i))
    return;
  // Take static sizes from the declared type where the computed one has
  // none (run-time shape operands).
  RankedTensorType want = declaredOut(i);
  auto have =
      dyn_cast_or_null<RankedTensorType>(tv.v ? tv.v.getType() : Type());
  if (want && have && want.getRank() == have.getRank() &&
      want.getElementType() == have.getElementType() && want != have) {
    SmallVector<int64_t> shape;
    bool conflict = false;
    for (auto [w, h] : llvm::zip(want.getShape(), have.getShape())) {
      conflict |=
          !ShapedType::isDynamic(w) && !ShapedType::isDynamic(h) && w != h;
      shape.push_back(ShapedType::isDynamic(h) ? w : h);
    }
    auto refined = RankedTensorType::get(shape, have.getElementType());
    if (!conflict && refined != have)
      tv.v = tensor::CastOp::create(b, loc, refined, tv.v);
  }
  values[node->output(i)] = tv;
}

const onnx::AttributeProto *Importer::attr(StringRef name) const {
  for (const auto &a : node->attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

int64_t Importer::attrInt(StringRef name, int64_t def) const {
  const auto *a = attr(name);
  return a ? a->i() : def;
}

float Importer::attrFloat(StringRef name, float def) const {
  const auto *a = attr(name);
  return a ? a->f() : def;
}

std::string Importer::attrString(StringRef name, const std::string &def) const {
  const auto *a = attr(name);
  return a ? a->s() : def;
}

std::optional<SmallVector<int64_t>> Importer::attrInts(StringRef name) const {
  const auto *a = attr(name);
  if (!a)
    return std::nullopt;
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

//===----------------------------------------------------------------------===//
// Constants and shape values
//===----------------------------------------------------------------------===//

std::optional<SmallVector<int64_t>> Importer::constInts(const TV &tv) {
  if (tv.cst && isa<IntegerType>(tv.cst.getElementType())) {
    SmallVector<int64_t> out;
    bool isBool = tv.cst.getElementType().isInteger(1);
    for (const APInt &v : tv.cst.getValues<APInt>())
      out.push_back(isBool ? v.getZExtValue() : v.getSExtValue());
    return out;
  }
  if (tv.elems) {
    SmallVector<int64_t> out;
    for (OpFoldResult e : *tv.elems) {
      std::optional<int64_t> c = getConstantIntValue(e);
      if (!c)
        return std::nullopt;
      out.push_back(*c);
    }
    return out;
  }
  return std::nullopt;
}

std::optional<SmallVector<double>> Importer::constFloats(const TV &tv) {
  if (tv.cst && isa<FloatType>(tv.cst.getElementType())) {
    SmallVector<double> out;
    for (const APFloat &v : tv.cst.getValues<APFloat>())
      out.push_back(v.convertToDouble());
    return out;
  }
  if (auto ints = constInts(tv))
    return SmallVector<double>(ints->begin(), ints->end());
  return std::nullopt;
}

SmallVector<OpFoldResult> Importer::elemsOf(TV &tv) {
  if (tv.elems)
    return *tv.elems;
  auto type = typeOf(tv.v);
  if (type.getRank() > 1 || !type.hasStaticShape() ||
      !isa<IntegerType>(type.getElementType()) || type.getNumElements() > 64)
    fail("cannot resolve the result shape of " + nodeDesc() +
         ": a shape operand is not a 1-D integer tensor of static length "
         "(its rank, not only its values, must be known at import time)");
  SmallVector<OpFoldResult> out;
  if (auto ints = constInts(tv)) {
    for (int64_t v : *ints)
      out.push_back(b.getIndexAttr(v));
  } else {
    for (int64_t i = 0; i < type.getNumElements(); ++i) {
      SmallVector<Value> idx;
      if (type.getRank() == 1)
        idx.push_back(arith::ConstantIndexOp::create(b, loc, i));
      Value e = tensor::ExtractOp::create(b, loc, tv.v, idx);
      if (!e.getType().isIndex())
        e = arith::IndexCastOp::create(b, loc, b.getIndexType(), e);
      out.push_back(e);
    }
  }
  tv.elems = out;
  return out;
}

TV Importer::fromElems(ArrayRef<OpFoldResult> elems, Type eltType,
                       bool scalar) {
  TV tv;
  tv.elems = SmallVector<OpFoldResult>(elems);
  SmallVector<int64_t> shape;
  if (!scalar)
    shape.push_back(elems.size());
  auto type = RankedTensorType::get(shape, eltType);
  bool allConst = llvm::all_of(
      elems, [](OpFoldResult e) { return getConstantIntValue(e).has_value(); });
  if (allConst) {
    SmallVector<APInt> vals;
    for (OpFoldResult e : elems)
      vals.push_back(APInt(eltType.getIntOrFloatBitWidth(),
                           *getConstantIntValue(e), /*isSigned=*/true));
    tv.cst = DenseElementsAttr::get(type, vals);
    tv.v = arith::ConstantOp::create(b, loc, tv.cst);
    return tv;
  }
  SmallVector<Value> vals;
  for (OpFoldResult e : elems) {
    Value v = indexValue(e);
    vals.push_back(arith::IndexCastOp::create(b, loc, eltType, v));
  }
  tv.v = tensor::FromElementsOp::create(b, loc, type, vals);
  return tv;
}

TV Importer::constantTV(DenseElementsAttr attr) {
  TV tv;
  tv.v = arith::ConstantOp::create(b, loc, attr);
  auto type = cast<RankedTensorType>(attr.getType());
  if (type.getNumElements() <= 4096)
    tv.cst = attr;
  if (isa<IntegerType>(type.getElementType()) && type.getRank() <= 1 &&
      type.getNumElements() <= 64)
    elemsOf(tv);
  return tv;
}

Value Importer::constantScalar(Type type, double value) {
  if (isa<FloatType>(type))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, value));
  return arith::ConstantOp::create(b, loc,
                                   b.getIntegerAttr(type, (int64_t)value));
}

Value Importer::indexValue(OpFoldResult ofr) {
  return getValueOrCreateConstantIndexOp(b, loc, ofr);
}

OpFoldResult Importer::foldBin(OpFoldResult x, OpFoldResult y, char op) {
  std::optional<int64_t> cx = getConstantIntValue(x),
                         cy = getConstantIntValue(y);
  if (cx && cy) {
    int64_t a = *cx, c = *cy, r = 0;
    switch (op) {
    case '+':
      r = a + c;
      break;
    case '-':
      r = a - c;
      break;
    case '*':
      r = a * c;
      break;
    case '/':
      if (c == 0)
        fail(nodeDesc() + " divides a shape value by zero");
      r = a / c;
      break;
    case 'M':
      r = std::max(a, c);
      break;
    case 'm':
      r = std::min(a, c);
      break;
    case '=':
      r = a == c;
      break;
    }
    return b.getIndexAttr(r);
  }
  if (op == '*' && ((cx && *cx == 1) || (cy && *cy == 1)))
    return cx ? y : x;
  if ((op == '+' || op == '-') && cy && *cy == 0)
    return x;
  Value a = indexValue(x), c = indexValue(y);
  switch (op) {
  case '+':
    return arith::AddIOp::create(b, loc, a, c).getResult();
  case '-':
    return arith::SubIOp::create(b, loc, a, c).getResult();
  case '*':
    return arith::MulIOp::create(b, loc, a, c).getResult();
  case '/':
    return arith::DivSIOp::create(b, loc, a, c).getResult();
  case 'M':
    return arith::MaxSIOp::create(b, loc, a, c).getResult();
  case 'm':
    return arith::MinSIOp::create(b, loc, a, c).getResult();
  case '=': {
    Value eq = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, a, c);
    return arith::IndexCastUIOp::create(
               b, loc, b.getIndexType(),
               arith::ExtUIOp::create(b, loc, b.getI64Type(), eq))
        .getResult();
  }
  }
  fail("internal: bad shape operation");
}

SmallVector<OpFoldResult> Importer::dims(Value v) {
  return tensor::getMixedSizes(b, loc, v);
}

OpFoldResult Importer::dim(Value v, int64_t i) { return dims(v)[i]; }

int64_t Importer::normAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1))
    fail(llvm::formatv("{0}: axis {1} is out of range for rank {2}", nodeDesc(),
                       axis, rank)
             .str());
  return axis < 0 ? axis + rank : axis;
}

//===----------------------------------------------------------------------===//
// Building blocks
//===----------------------------------------------------------------------===//

Value Importer::empty(ArrayRef<OpFoldResult> shape, Type elt) {
  return tensor::EmptyOp::create(b, loc, shape, elt);
}

Value Importer::filled(ArrayRef<OpFoldResult> shape, Value scalar) {
  Value e = empty(shape, scalar.getType());
  return linalg::FillOp::create(b, loc, ValueRange{scalar}, ValueRange{e})
      .getResult(0);
}

SmallVector<OpFoldResult>
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
        fail(llvm::formatv("{0}: shapes do not broadcast ({1} vs {2})",
                           nodeDesc(), *stat, *c)
                 .str());
      stat = *c;
    }
    if (stat)
      out.push_back(b.getIndexAttr(*stat));
    else if (dyn.empty())
      out.push_back(b.getIndexAttr(1));
    else {
      OpFoldResult d = dyn[0];
      for (size_t k = 1; k < dyn.size(); ++k)
        if (dyn[k] != d)
          d = foldBin(d, dyn[k], 'M');
      out.push_back(d);
    }
  }
  return out;
}

Value Importer::elementwise(ArrayRef<Value> inputs, Type outElt, BodyFn body,
                            std::optional<SmallVector<OpFoldResult>> outShape) {
  SmallVector<SmallVector<OpFoldResult>> shapes;
  for (Value v : inputs)
    shapes.push_back(dims(v));
  SmallVector<OpFoldResult> out = outShape ? *outShape : broadcastShape(shapes);
  if (outShape) {
    // The inputs must broadcast to the requested shape.
    shapes.push_back(out);
    (void)broadcastShape(shapes);
    shapes.pop_back();
  }
  int64_t rank = out.size();
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps;
  for (Value v : inputs) {
    auto type = typeOf(v);
    int64_t r = type.getRank();
    if (r > rank)
      fail(nodeDesc() + ": an operand has a higher rank than the result");
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
  return op.getResult(0);
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
  return keepDims ? reshape(r, keepShape) : r;
}

Value Importer::reshape(Value x, ArrayRef<OpFoldResult> shape) {
  auto type = typeOf(x);
  SmallVector<int64_t> staticShape;
  for (OpFoldResult d : shape) {
    std::optional<int64_t> c = getConstantIntValue(d);
    staticShape.push_back(c ? *c : ShapedType::kDynamic);
  }
  auto target = RankedTensorType::get(staticShape, type.getElementType());
  if (target == type && type.hasStaticShape())
    return x;
  if (type.hasStaticShape() && !target.hasStaticShape() &&
      target.getRank() > 0) {
    // expand_shape from a static size to dynamic sizes crashes upstream's
    // expand-strided-metadata (MLIR 22); tensor.reshape takes the sizes as
    // a tensor instead.
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
  return elementwise({x}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
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

static bool isFloat(Value v) { return isa<FloatType>(v.getType()); }

static Value fconst(OpBuilder &b, Location loc, Type t, double v) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(t, v));
}

static Value iconst(OpBuilder &b, Location loc, Type t, int64_t v) {
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(t, v));
}

static Value geluBody(OpBuilder &b, Location loc, Value x, bool tanhApprox) {
  Type t = x.getType();
  Value half = fconst(b, loc, t, 0.5), one = fconst(b, loc, t, 1.0);
  Value inner;
  if (tanhApprox) {
    Value x3 =
        arith::MulFOp::create(b, loc, x, arith::MulFOp::create(b, loc, x, x));
    Value s = arith::AddFOp::create(
        b, loc, x,
        arith::MulFOp::create(b, loc, x3, fconst(b, loc, t, 0.044715)));
    inner = math::TanhOp::create(
        b, loc,
        arith::MulFOp::create(b, loc, s,
                              fconst(b, loc, t, 0.7978845608028654)));
  } else {
    inner = math::ErfOp::create(
        b, loc, arith::MulFOp::create(b, loc, x, fconst(b, loc, t, M_SQRT1_2)));
  }
  Value y = arith::MulFOp::create(b, loc, x,
                                  arith::AddFOp::create(b, loc, one, inner));
  return arith::MulFOp::create(b, loc, half, y);
}

void Importer::importGelu(const std::string &x, const std::string &out,
                          bool tanhApprox) {
  auto it = values.find(x);
  if (it == values.end())
    fail("GELU input '" + x + "' is not defined");
  Value xv = it->second.v;
  if (!isa<FloatType>(eltOf(xv)))
    fail("GELU on a non-float tensor");
  Value y = elementwise({xv}, eltOf(xv),
                        [&](OpBuilder &nb, Location nl, ValueRange a) {
                          return geluBody(nb, nl, a[0], tanhApprox);
                        });
  y.getDefiningOp()->setAttr(
      "lathe.activation", b.getStringAttr(tanhApprox ? "gelu_tanh" : "gelu"));
  TV tv;
  tv.v = y;
  values[out] = tv;
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
  MLIRContext *ctx = b.getContext();
  Value init = empty(out, eltOf(x));
  auto g = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
      SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(r, ctx)},
      SmallVector<utils::IteratorType>(r, utils::IteratorType::parallel),
      [&](OpBuilder &nb, Location nl, ValueRange) {
        Value zero = arith::ConstantIndexOp::create(nb, nl, 0);
        Value one = arith::ConstantIndexOp::create(nb, nl, 1);
        Value inside = arith::ConstantOp::create(nb, nl, nb.getBoolAttr(true));
        SmallVector<Value> idx;
        for (int64_t i = 0; i < r; ++i) {
          Value iv = arith::SubIOp::create(
              nb, nl, linalg::IndexOp::create(nb, nl, i), lv[i]);
          Value ge = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sge,
                                           iv, zero);
          Value lt = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt,
                                           iv, dv[i]);
          inside = arith::AndIOp::create(nb, nl, inside,
                                         arith::AndIOp::create(nb, nl, ge, lt));
          Value last = arith::SubIOp::create(nb, nl, dv[i], one);
          iv = arith::MinSIOp::create(
              nb, nl, arith::MaxSIOp::create(nb, nl, iv, zero), last);
          idx.push_back(iv);
        }
        Value v = tensor::ExtractOp::create(nb, nl, x, idx);
        linalg::YieldOp::create(
            nb, nl,
            arith::SelectOp::create(nb, nl, inside, v, padValue).getResult());
      });
  return g.getResult(0);
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
  MLIRContext *ctx = b.getContext();
  Value init = empty(shape, eltOf(inputs[0]));
  auto g = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
      SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(r, ctx)},
      SmallVector<utils::IteratorType>(r, utils::IteratorType::parallel),
      [&](OpBuilder &nb, Location nl, ValueRange) {
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
          Value nonEmpty = arith::CmpIOp::create(
              nb, nl, arith::CmpIPredicate::sgt, lens[k], zero);
          Value ge = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sge,
                                           local, zero);
          Value use = arith::AndIOp::create(nb, nl, ge, nonEmpty);
          // Reading a zero-length input is never selected; guard the read.
          Value safe = arith::SelectOp::create(nb, nl, nonEmpty, clamped, zero);
          at[axis] = safe;
          Value v = tensor::ExtractOp::create(nb, nl, inputs[k], at);
          result = arith::SelectOp::create(nb, nl, use, v, result);
        }
        linalg::YieldOp::create(nb, nl, result);
      });
  return g.getResult(0);
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
  MLIRContext *ctx = b.getContext();
  Value init = empty(sizes, eltOf(x));
  SmallVector<int64_t> rev(reversed);
  auto g = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
      SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(r, ctx)},
      SmallVector<utils::IteratorType>(r, utils::IteratorType::parallel),
      [&](OpBuilder &nb, Location nl, ValueRange) {
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
        linalg::YieldOp::create(
            nb, nl, tensor::ExtractOp::create(nb, nl, x, idx).getResult());
      });
  return g.getResult(0);
}

RankedTensorType Importer::declaredOut(int i) const {
  if (!hasOutput(i))
    return {};
  auto it = declared.find(node->output(i));
  return it == declared.end() ? RankedTensorType() : it->second;
}

std::optional<SmallVector<OpFoldResult>> Importer::staticDeclaredShape(int i) {
  RankedTensorType t = declaredOut(i);
  if (!t || !t.hasStaticShape())
    return std::nullopt;
  SmallVector<OpFoldResult> out;
  for (int64_t d : t.getShape())
    out.push_back(b.getIndexAttr(d));
  return out;
}

OpFoldResult Importer::cmp(arith::CmpIPredicate pred, OpFoldResult x,
                           OpFoldResult y) {
  std::optional<int64_t> cx = getConstantIntValue(x),
                         cy = getConstantIntValue(y);
  if (cx && cy) {
    bool r = false;
    switch (pred) {
    case arith::CmpIPredicate::eq:
      r = *cx == *cy;
      break;
    case arith::CmpIPredicate::ne:
      r = *cx != *cy;
      break;
    case arith::CmpIPredicate::slt:
      r = *cx < *cy;
      break;
    case arith::CmpIPredicate::sle:
      r = *cx <= *cy;
      break;
    case arith::CmpIPredicate::sgt:
      r = *cx > *cy;
      break;
    case arith::CmpIPredicate::sge:
      r = *cx >= *cy;
      break;
    default:
      fail("internal: unexpected predicate");
    }
    return b.getIndexAttr(r);
  }
  return arith::CmpIOp::create(b, loc, pred, indexValue(x), indexValue(y))
      .getResult();
}

OpFoldResult Importer::select(OpFoldResult cond, OpFoldResult x,
                              OpFoldResult y) {
  if (std::optional<int64_t> c = getConstantIntValue(cond))
    return *c ? x : y;
  if (x == y)
    return x;
  return arith::SelectOp::create(b, loc, cast<Value>(cond), indexValue(x),
                                 indexValue(y))
      .getResult();
}

SmallVector<int64_t> Importer::axesFromDeclaredShape(Value x, bool keepDims) {
  RankedTensorType t = declaredOut(0);
  auto in = typeOf(x);
  if (!t || !t.hasStaticShape() || !in.hasStaticShape())
    fail(nodeDesc() + ": axes must be constant, or the shapes static and the "
                      "result shape declared");
  ArrayRef<int64_t> is = in.getShape(), os = t.getShape();
  SmallVector<int64_t> axes;
  if (keepDims) {
    if (is.size() != os.size())
      fail(nodeDesc() + ": the declared result rank disagrees with keepdims");
    for (size_t i = 0; i < is.size(); ++i)
      if (os[i] == 1 && is[i] != 1)
        axes.push_back(i);
    // Reducing over size-1 dimensions changes nothing, so this is exact.
    return axes;
  }
  // Without keepdims the kept dimensions must match in one way only.
  auto match = [&](bool fromLeft) {
    SmallVector<int64_t> red;
    size_t j = 0;
    std::vector<bool> kept(is.size(), false);
    if (fromLeft) {
      for (size_t i = 0; i < is.size() && j < os.size(); ++i)
        if (is[i] == os[j]) {
          kept[i] = true;
          ++j;
        }
    } else {
      int64_t jj = os.size() - 1;
      for (int64_t i = is.size() - 1; i >= 0 && jj >= 0; --i)
        if (is[i] == os[jj]) {
          kept[i] = true;
          --jj;
        }
      j = os.size() - 1 - jj;
    }
    for (size_t i = 0; i < is.size(); ++i)
      if (!kept[i])
        red.push_back(i);
    return std::make_pair(j == os.size(), red);
  };
  auto [okL, left] = match(true);
  auto [okR, right] = match(false);
  if (!okL || !okR || left != right)
    fail(nodeDesc() +
         ": run-time axes are ambiguous given the declared result shape");
  return left;
}
