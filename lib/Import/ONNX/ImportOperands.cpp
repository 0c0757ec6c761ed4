//===- ImportOperands.cpp - Node operands and shape values ----------------===//
//
// The current node's operands, results and attributes; constants and
// small integer tensors tracked element by element (shape values), so that
// reshapes get exact result shapes; index arithmetic on them.
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
// Node operands and attributes
//===----------------------------------------------------------------------===//

std::string Importer::nodeDesc() const {
  std::string s = node->op_type();
  if (!node->name().empty())
    s += " node '" + node->name() + "'";
  else
    for (const std::string &o : node->output())
      if (!o.empty()) {
        s += " node producing '" + o + "'";
        break;
      }
  return s;
}

bool Importer::hasInput(int i) const {
  return i < node->input_size() && !node->input(i).empty();
}

bool Importer::hasOutput(int i) const {
  return i < node->output_size() && !node->output(i).empty();
}

TV &Importer::in(int i) {
  assert(hasInput(i) && "the handler reads an input the node lacks");
  auto it = values.find(node->input(i));
  assert(it != values.end() && "importNode checks that inputs are defined");
  return it->second;
}

LogicalResult Importer::requireInput(int i) {
  if (hasInput(i))
    return success();
  return error(nodeDesc() + " lacks its input #" + std::to_string(i));
}

void Importer::setOut(int i, Value v) {
  TV tv;
  tv.v = v;
  setOut(i, tv);
}

LogicalResult Importer::setOut(int i, FailureOr<Value> v) {
  if (failed(v))
    return failure();
  setOut(i, *v);
  return success();
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
      tv.v = refineChecked(tv.v, refined,
                           nodeDesc() + ": output '" + node->output(i) +
                               "' (declared type)");
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

FailureOr<SmallVector<OpFoldResult>> Importer::elemsOf(TV &tv) {
  if (tv.elems)
    return *tv.elems;
  auto type = typeOf(tv.v);
  if (type.getRank() > 1 || !type.hasStaticShape() ||
      !isa<IntegerType>(type.getElementType()) || type.getNumElements() > 64)
    return error(
        "cannot resolve the result shape of " + nodeDesc() +
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
    (void)elemsOf(tv); // Cannot fail: a constant 1-D integer tensor.
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

/// True when the index `v` cannot be negative (sizes and their products,
/// sums, quotients, minima and maxima).
static bool isNonNegative(OpFoldResult v, int depth = 8) {
  if (std::optional<int64_t> c = getConstantIntValue(v))
    return *c >= 0;
  Operation *def = cast<Value>(v).getDefiningOp();
  if (!def || depth == 0)
    return false;
  if (isa<tensor::DimOp>(def))
    return true;
  if (isa<arith::MulIOp, arith::AddIOp, arith::DivSIOp, arith::DivUIOp,
          arith::MinSIOp, arith::MaxSIOp>(def))
    return isNonNegative(def->getOperand(0), depth - 1) &&
           isNonNegative(def->getOperand(1), depth - 1);
  if (isa<arith::SelectOp>(def))
    return isNonNegative(def->getOperand(1), depth - 1) &&
           isNonNegative(def->getOperand(2), depth - 1);
  return false;
}

/// Sizes stay below this; larger constants stand for "to the end".
static constexpr int64_t kHugeSize = int64_t(1) << 40;

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
      assert(c != 0 && "foldDiv checks the divisor");
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
  if (op == '+' && cx && *cx == 0)
    return y;
  if (op == '/' && cy && *cy == 1)
    return x;
  if (op == '-' && x == y)
    return b.getIndexAttr(0);
  if ((op == 'm' || op == 'M') && x == y)
    return x;
  if (op == 'm' || op == 'M') {
    // A constant against a size: 0 or less is the smaller, "huge" the
    // larger.
    std::optional<int64_t> c = cx ? cx : cy;
    OpFoldResult other = cx ? y : x;
    if (c && isNonNegative(other)) {
      if (*c <= 0)
        return op == 'm' ? b.getIndexAttr(*c) : other;
      if (*c >= kHugeSize)
        return op == 'm' ? other : b.getIndexAttr(*c);
    }
  }
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
  llvm_unreachable("bad shape operation");
}

FailureOr<OpFoldResult> Importer::foldDiv(OpFoldResult x, OpFoldResult y) {
  std::optional<int64_t> cy = getConstantIntValue(y);
  if (cy && *cy == 0)
    return error(nodeDesc() + " divides a shape value by zero");
  return foldBin(x, y, '/');
}

SmallVector<OpFoldResult> Importer::dims(Value v) {
  return tensor::getMixedSizes(b, loc, v);
}

OpFoldResult Importer::dim(Value v, int64_t i) { return dims(v)[i]; }

FailureOr<int64_t> Importer::normAxis(int64_t axis, int64_t rank) {
  if (rank == 0 || axis < -rank || axis >= rank)
    return error(llvm::formatv("{0}: axis {1} is out of range for rank {2}",
                               nodeDesc(), axis, rank)
                     .str());
  return axis < 0 ? axis + rank : axis;
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
  // A size compared with 0.
  if (cy && *cy == 0 && isNonNegative(x)) {
    if (pred == arith::CmpIPredicate::slt)
      return b.getIndexAttr(0);
    if (pred == arith::CmpIPredicate::sge)
      return b.getIndexAttr(1);
  }
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
      llvm_unreachable("unexpected predicate");
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

FailureOr<SmallVector<int64_t>> Importer::axesFromDeclaredShape(Value x,
                                                                bool keepDims) {
  RankedTensorType t = declaredOut(0);
  auto in = typeOf(x);
  if (!t || !t.hasStaticShape() || !in.hasStaticShape())
    return error(nodeDesc() +
                 ": axes must be constant, or the shapes static and the "
                 "result shape declared");
  ArrayRef<int64_t> is = in.getShape(), os = t.getShape();
  SmallVector<int64_t> axes;
  if (keepDims) {
    if (is.size() != os.size())
      return error(nodeDesc() +
                   ": the declared result rank disagrees with keepdims");
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
    return error(
        nodeDesc() +
        ": run-time axes are ambiguous given the declared result shape");
  return left;
}
