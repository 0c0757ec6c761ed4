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
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"
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
// Run-time checks
//===----------------------------------------------------------------------===//

static constexpr StringLiteral kCheckFailed = "lathe_rt_shape_check_failed";
static constexpr StringLiteral kIndexCheckFailed =
    "lathe_rt_index_check_failed";

namespace {
/// A size as c * (product of opaque factors), each factor a dimension of a
/// tensor the size was traced back to or an index value nothing more is known
/// about. Two sizes with equal monomials are equal whatever the run-time
/// values, so no check is emitted for them (the shape chains PyTorch exports
/// around a symbolic batch stay check-free).
struct Monomial {
  int64_t c = 1;
  SmallVector<std::pair<const void *, int64_t>> factors;

  void mul(const Monomial &o) {
    c *= o.c;
    factors.append(o.factors.begin(), o.factors.end());
  }
  void sort() { llvm::sort(factors); }
  bool operator==(const Monomial &o) const {
    return c == o.c && factors == o.factors;
  }
};

Monomial monomialOf(OpFoldResult ofr, int depth);

Monomial dimMonomial(Value t, int64_t i, int depth) {
  Monomial m;
  while (depth-- > 0) {
    auto type = dyn_cast<RankedTensorType>(t.getType());
    if (!type || i >= type.getRank())
      break;
    if (!type.isDynamicDim(i)) {
      m.c = type.getDimSize(i);
      return m;
    }
    Operation *def = t.getDefiningOp();
    if (!def)
      break;
    if (auto c = dyn_cast<tensor::CastOp>(def)) {
      t = c.getSource();
      continue;
    }
    // Every list indexed by `i` below has one entry per result dimension
    // when the op verifies; the importer asks before verification, so each
    // access is checked (an op built with a wrong shape list must not be
    // read out of bounds; verification reports it afterwards).
    auto at = [&](auto list) -> std::optional<OpFoldResult> {
      if (i < 0 || i >= (int64_t)list.size())
        return std::nullopt;
      return OpFoldResult(list[i]);
    };
    if (auto e = dyn_cast<tensor::EmptyOp>(def)) {
      if (auto s = at(e.getMixedSizes()))
        return monomialOf(*s, depth);
      break;
    }
    if (auto ex = dyn_cast<tensor::ExpandShapeOp>(def)) {
      if (auto s = at(ex.getMixedOutputShape()))
        return monomialOf(*s, depth);
      break;
    }
    if (auto co = dyn_cast<tensor::CollapseShapeOp>(def)) {
      // A named copy: getReassociationIndices() returns a temporary, which
      // a range-for over its element would not keep alive.
      SmallVector<ReassociationIndices> groups = co.getReassociationIndices();
      if (i >= (int64_t)groups.size())
        break;
      for (int64_t j : groups[i])
        m.mul(dimMonomial(co.getSrc(), j, depth));
      return m;
    }
    if (auto re = dyn_cast<tensor::ReshapeOp>(def))
      if (auto fe = re.getShape().getDefiningOp<tensor::FromElementsOp>()) {
        if (auto s = at(fe.getElements()))
          return monomialOf(*s, depth);
        break;
      }
    if (auto dps = dyn_cast<DestinationStyleOpInterface>(def)) {
      t = dps.getTiedOpOperand(cast<OpResult>(t))->get();
      continue;
    }
    break;
  }
  m.factors.push_back({t.getAsOpaquePointer(), i});
  return m;
}

Monomial monomialOf(OpFoldResult ofr, int depth) {
  Monomial m;
  if (std::optional<int64_t> c = getConstantIntValue(ofr)) {
    m.c = *c;
    return m;
  }
  Value v = cast<Value>(ofr);
  if (depth > 0) {
    Operation *def = v.getDefiningOp();
    if (auto mul = dyn_cast_or_null<arith::MulIOp>(def)) {
      m = monomialOf(mul.getLhs(), depth - 1);
      m.mul(monomialOf(mul.getRhs(), depth - 1));
      return m;
    }
    if (isa_and_nonnull<arith::IndexCastOp, arith::IndexCastUIOp>(def))
      return monomialOf(def->getOperand(0), depth - 1);
    if (auto d = dyn_cast_or_null<tensor::DimOp>(def))
      if (std::optional<int64_t> i = d.getConstantIndex())
        return dimMonomial(d.getSource(), *i, depth - 1);
    if (auto ex = dyn_cast_or_null<tensor::ExtractOp>(def))
      if (auto fe = ex.getTensor().getDefiningOp<tensor::FromElementsOp>()) {
        std::optional<int64_t> i;
        if (ex.getIndices().empty())
          i = 0;
        else if (ex.getIndices().size() == 1)
          i = getConstantIntValue(OpFoldResult(ex.getIndices()[0]));
        if (i && *i >= 0 && *i < (int64_t)fe.getElements().size())
          return monomialOf(fe.getElements()[*i], depth - 1);
      }
    if (isa_and_nonnull<arith::DivSIOp, arith::DivUIOp>(def)) {
      Monomial n = monomialOf(def->getOperand(0), depth - 1),
               q = monomialOf(def->getOperand(1), depth - 1);
      if (q.c != 0 && n.c % q.c == 0) {
        // Exact when every factor of the divisor is one of the dividend.
        SmallVector<std::pair<const void *, int64_t>> rest = n.factors;
        bool all = true;
        for (auto f : q.factors) {
          auto it = llvm::find(rest, f);
          if (it == rest.end()) {
            all = false;
            break;
          }
          rest.erase(it);
        }
        if (all) {
          m.c = n.c / q.c;
          m.factors = rest;
          return m;
        }
      }
    }
    if (isa_and_nonnull<arith::MinSIOp, arith::MaxSIOp>(def)) {
      Monomial x = monomialOf(def->getOperand(0), depth - 1),
               y = monomialOf(def->getOperand(1), depth - 1);
      x.sort();
      y.sort();
      if (x == y)
        return x;
    }
  }
  m.factors.push_back({v.getAsOpaquePointer(), -1});
  return m;
}

/// True when `a` and `b` are equal whatever the run-time values.
bool provablyEqual(OpFoldResult a, OpFoldResult b) {
  if (a == b)
    return true;
  Monomial x = monomialOf(a, 32), y = monomialOf(b, 32);
  x.sort();
  y.sort();
  return x == y;
}
} // namespace

Importer::Message Importer::messageGlobal(const std::string &text) {
  auto i8 = b.getI8Type();
  SmallVector<int8_t> bytes(text.begin(), text.end());
  bytes.push_back(0);
  auto memType = MemRefType::get({(int64_t)bytes.size()}, i8);
  std::string name;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());
  int id = 0;
  do
    name = "__lathe_check_msg_" + std::to_string(id++);
  while (module.lookupSymbol(name));
  memref::GlobalOp::create(
      b, loc, b.getStringAttr(name), b.getStringAttr("private"),
      TypeAttr::get(memType),
      DenseElementsAttr::get(RankedTensorType::get({(int64_t)bytes.size()}, i8),
                             ArrayRef<int8_t>(bytes)),
      b.getUnitAttr(), IntegerAttr());
  return {name, memType};
}

Value Importer::messageValue(OpBuilder &nb, Location nl, const Message &msg) {
  Value v = memref::GetGlobalOp::create(nb, nl, msg.type, msg.name);
  return memref::CastOp::create(nb, nl,
                                UnrankedMemRefType::get(nb.getI8Type(), 0), v);
}

void Importer::declareRuntime(StringRef name, ArrayRef<Type> args) {
  if (module.lookupSymbol<func::FuncOp>(name))
    return;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());
  auto fn = func::FuncOp::create(b, loc, name, b.getFunctionType(args, {}));
  fn.setPrivate();
}

Value Importer::checkDim(OpFoldResult given, OpFoldResult expected,
                         const std::string &what, bool orOne) {
  return checkSize(given, expected, what,
                   orOne ? SizeRelation::EqualOrOne : SizeRelation::Equal);
}

Value Importer::checkSize(OpFoldResult given, OpFoldResult expected,
                          const std::string &what, SizeRelation rel) {
  bool orOne = rel == SizeRelation::EqualOrOne;
  bool atMost = rel == SizeRelation::AtMost;
  std::optional<int64_t> g = getConstantIntValue(given),
                         e = getConstantIntValue(expected);
  if (g && e) {
    if (*g == *e || (orOne && *g == 1) || (atMost && *g <= *e))
      return arith::ConstantOp::create(b, loc, b.getBoolAttr(true));
    fail(llvm::formatv("{0}: expected {1}, given {2}", what, *e, *g).str());
  }
  if (provablyEqual(given, expected))
    return arith::ConstantOp::create(b, loc, b.getBoolAttr(true));
  Value gv = indexValue(given), ev = indexValue(expected);
  Value ok = arith::CmpIOp::create(
      b, loc, atMost ? arith::CmpIPredicate::ule : arith::CmpIPredicate::eq, gv,
      ev);
  if (orOne)
    ok = arith::OrIOp::create(
        b, loc, ok,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, gv,
                              arith::ConstantIndexOp::create(b, loc, 1)));
  auto i8 = b.getI8Type(), i64 = b.getI64Type();
  declareRuntime(kCheckFailed, {UnrankedMemRefType::get(i8, 0), i64, i64});
  Message msg = messageGlobal(what);
  Value bad = arith::XOrIOp::create(
      b, loc, ok, arith::ConstantOp::create(b, loc, b.getBoolAttr(true)));
  scf::IfOp::create(b, loc, bad, [&](OpBuilder &nb, Location nl) {
    func::CallOp::create(
        nb, nl, kCheckFailed, TypeRange{},
        ValueRange{messageValue(nb, nl, msg),
                   arith::IndexCastOp::create(nb, nl, i64, ev),
                   arith::IndexCastOp::create(nb, nl, i64, gv)});
    scf::YieldOp::create(nb, nl);
  });
  return ok;
}

std::pair<Value, Value> Importer::checkIndex(OpBuilder &nb, Location nl,
                                             Value index, Value size,
                                             const Message &msg) {
  Value zero = arith::ConstantIndexOp::create(nb, nl, 0);
  Value neg =
      arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt, index, zero);
  Value wrapped = arith::SelectOp::create(
      nb, nl, neg, arith::AddIOp::create(nb, nl, index, size), index);
  // -size <= index < size, as one unsigned compare of the wrapped index.
  Value ok =
      arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, wrapped, size);
  Value bad = arith::XOrIOp::create(
      nb, nl, ok, arith::ConstantOp::create(nb, nl, nb.getBoolAttr(true)));
  scf::IfOp::create(nb, nl, bad, [&](OpBuilder &ib, Location il) {
    auto i64 = ib.getI64Type();
    Value n = arith::IndexCastOp::create(ib, il, i64, size);
    func::CallOp::create(
        ib, il, kIndexCheckFailed, TypeRange{},
        ValueRange{messageValue(ib, il, msg),
                   arith::IndexCastOp::create(ib, il, i64, index),
                   arith::SubIOp::create(
                       ib, il, arith::ConstantIntOp::create(ib, il, 0, 64), n),
                   n});
    scf::YieldOp::create(ib, il);
  });
  return {ok, wrapped};
}

Value Importer::guardedExtract(OpBuilder &nb, Location nl, Value ok, Value t,
                               ValueRange coords) {
  Type elt = cast<RankedTensorType>(t.getType()).getElementType();
  auto ifOp = scf::IfOp::create(nb, nl, TypeRange{elt}, ok,
                                /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(nb);
  nb.setInsertionPointToStart(ifOp.thenBlock());
  scf::YieldOp::create(
      nb, nl, tensor::ExtractOp::create(nb, nl, t, coords).getResult());
  nb.setInsertionPointToStart(ifOp.elseBlock());
  scf::YieldOp::create(
      nb, nl,
      arith::ConstantOp::create(nb, nl, cast<TypedAttr>(nb.getZeroAttr(elt)))
          .getResult());
  return ifOp.getResult(0);
}

Importer::Message Importer::indexCheckMessage(const std::string &what) {
  auto i64 = b.getI64Type();
  declareRuntime(kIndexCheckFailed,
                 {UnrankedMemRefType::get(b.getI8Type(), 0), i64, i64, i64});
  return messageGlobal(what);
}

Value Importer::allOf(ArrayRef<Value> conds) {
  Value all;
  for (Value c : conds) {
    if (matchPattern(c, m_One()))
      continue;
    all = all ? arith::AndIOp::create(b, loc, all, c).getResult() : c;
  }
  return all ? all : arith::ConstantOp::create(b, loc, b.getBoolAttr(true));
}

Value Importer::guarded(Value ok, RankedTensorType type,
                        function_ref<Value()> build) {
  auto fit = [&](Value v) {
    return v.getType() == type
               ? v
               : (Value)tensor::CastOp::create(b, loc, type, v);
  };
  if (matchPattern(ok, m_One()))
    return fit(build());
  auto ifOp = scf::IfOp::create(b, loc, TypeRange{type}, ok,
                                /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  scf::YieldOp::create(b, loc, fit(build()));
  b.setInsertionPointToStart(ifOp.elseBlock());
  SmallVector<OpFoldResult> shape;
  for (int64_t d : type.getShape())
    shape.push_back(b.getIndexAttr(ShapedType::isDynamic(d) ? 0 : d));
  Type elt = type.getElementType();
  Value zero = arith::ConstantOp::create(b, loc, cast<TypedAttr>(b.getZeroAttr(elt)));
  scf::YieldOp::create(b, loc, fit(filled(shape, zero)));
  return ifOp.getResult(0);
}

Value Importer::refineChecked(Value v, RankedTensorType to,
                              const std::string &what) {
  auto have = typeOf(v);
  if (have == to)
    return v;
  SmallVector<Value> oks;
  for (int64_t i = 0; i < have.getRank(); ++i)
    if (have.isDynamicDim(i) && !to.isDynamicDim(i))
      oks.push_back(checkDim(dim(v, i), b.getIndexAttr(to.getDimSize(i)),
                             what + " dimension " + std::to_string(i)));
  return guarded(allOf(oks), to, [&] { return v; });
}

Value Importer::checkAxes(int i, int64_t rank, ArrayRef<uint64_t> candidates,
                          uint64_t ignore) {
  auto type = typeOf(inV(i));
  if (candidates.empty())
    fail(nodeDesc() + ": no axes give the declared result shape");
  if (type.getRank() != 1 || !type.hasStaticShape() || rank > 60)
    return arith::ConstantOp::create(b, loc, b.getBoolAttr(true));
  SmallVector<OpFoldResult> axes = elemsOf(in(i));
  auto cst = [&](int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v).getResult();
  };
  // Bit k set for axis k (negative axes count from the end); an axis out of
  // range sets bit 62, which no candidate has.
  Value mask = cst(0);
  for (OpFoldResult a : axes) {
    Value ai = indexValue(a);
    Value neg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, ai,
                                      cst(0));
    ai = arith::SelectOp::create(b, loc, neg,
                                 arith::AddIOp::create(b, loc, ai, cst(rank)),
                                 ai);
    Value inRange = arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, ai, cst(0)),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, ai,
                              cst(rank)));
    Value bit = arith::SelectOp::create(
        b, loc, inRange,
        arith::ShLIOp::create(
            b, loc, cst(1),
            arith::SelectOp::create(b, loc, inRange, ai, cst(0))),
        cst(int64_t(1) << 62));
    mask = arith::OrIOp::create(b, loc, mask, bit);
  }
  if (ignore)
    mask = arith::AndIOp::create(b, loc, mask, cst(~(int64_t)ignore));
  Value any;
  for (uint64_t c : candidates) {
    Value eq = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, mask,
                                     cst((int64_t)c));
    any = any ? arith::OrIOp::create(b, loc, any, eq).getResult() : eq;
  }
  std::string want;
  for (int64_t k = 0; k < rank; ++k)
    if (candidates[0] >> k & 1)
      want += (want.empty() ? "" : ", ") + std::to_string(k);
  Value given = arith::SelectOp::create(b, loc, any,
                                        cst((int64_t)candidates[0]), mask);
  return checkDim(given, b.getIndexAttr((int64_t)candidates[0]),
                  nodeDesc() + ": the axes input '" + node->input(i) +
                      "' as a bit mask (bit k for axis k; the declared "
                      "result shape needs axes {" +
                      want + "}" + (candidates.size() > 1 ? " or equivalent" : "") +
                      ")");
}

std::string Importer::operandName(Value v) const {
  if (node)
    for (int i = 0; i < node->input_size(); ++i) {
      if (node->input(i).empty())
        continue;
      auto it = values.find(node->input(i));
      if (it != values.end() && it->second.v == v)
        return "input '" + node->input(i) + "'";
    }
  return "an operand";
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
  // Run-time sizes the maps below take as equal to the result's: checked,
  // and an input whose size meets a static one is refined (guarded) to it.
  SmallVector<Value> checkedInputs;
  for (Value v : inputs) {
    auto type = typeOf(v);
    int64_t r = type.getRank();
    if (r > rank)
      fail(nodeDesc() + ": an operand has a higher rank than the result");
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
        oks.push_back(checkDim(d, out[j], what));
        refined[i] = *outDim;
        continue;
      }
      if (outShape) {
        // The caller's sizes (Expand) never exceed the input's.
        (void)checkDim(d, out[j], what);
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
        if (e != d)
          (void)checkDim(d, e,
                         what + " must equal that of " + operandName(w) +
                             " (a run-time 1 does not broadcast)");
        break;
      }
    }
    if (!oks.empty())
      v = guarded(allOf(oks), RankedTensorType::get(refined, type.getElementType()),
                  [&] { return v; });
    checkedInputs.push_back(v);
  }
  inputs = checkedInputs;
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
  OpFoldResult have = b.getIndexAttr(1), want = b.getIndexAttr(1);
  for (OpFoldResult d : dims(x))
    have = foldBin(have, d, '*');
  for (OpFoldResult d : shape)
    want = foldBin(want, d, '*');
  std::string what =
      (node ? nodeDesc() + ": " : std::string()) +
      "the element count of the new shape";
  Value ok = checkDim(want, have, what);
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
      safe[i] = arith::SelectOp::create(b, loc, ok, indexValue(shape[i]),
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

Value Importer::checkIndicesFitData(Value indices, Value data, int64_t axis) {
  return checkSize(dim(indices, axis), dim(data, axis),
                   nodeDesc() + ": dimension " + std::to_string(axis) + " of " +
                       operandName(indices) + " may not exceed that of " +
                       operandName(data),
                   SizeRelation::AtMost);
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
