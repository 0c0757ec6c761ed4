//===- ImportChecks.cpp - Run-time checks ---------------------------------===//
//
// What the importer takes on trust is checked when the model runs: sizes
// (lathe_rt_shape_check_failed) and data-dependent indices
// (lathe_rt_index_check_failed); sizes provably equal get no check.
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

FailureOr<Value> Importer::checkDim(OpFoldResult given, OpFoldResult expected,
                                    const std::string &what, bool orOne) {
  return checkSize(given, expected, what,
                   orOne ? SizeRelation::EqualOrOne : SizeRelation::Equal);
}

FailureOr<Value> Importer::checkSize(OpFoldResult given, OpFoldResult expected,
                                     const std::string &what,
                                     SizeRelation rel) {
  std::optional<int64_t> g = getConstantIntValue(given),
                         e = getConstantIntValue(expected);
  if (!g || !e)
    return runtimeSizeCheck(given, expected, what, rel);
  if (*g == *e || (rel == SizeRelation::EqualOrOne && *g == 1) ||
      (rel == SizeRelation::AtMost && *g <= *e))
    return Value(arith::ConstantOp::create(b, loc, b.getBoolAttr(true)));
  return error(
      llvm::formatv("{0}: expected {1}, given {2}", what, *e, *g).str());
}

Value Importer::runtimeSizeCheck(OpFoldResult given, OpFoldResult expected,
                                 const std::string &what, SizeRelation rel) {
  bool orOne = rel == SizeRelation::EqualOrOne;
  bool atMost = rel == SizeRelation::AtMost;
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
    return v.getType() == type ? v
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
  Value zero =
      arith::ConstantOp::create(b, loc, cast<TypedAttr>(b.getZeroAttr(elt)));
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
      oks.push_back(runtimeSizeCheck(
          dim(v, i), b.getIndexAttr(to.getDimSize(i)),
          what + " dimension " + std::to_string(i), SizeRelation::Equal));
  return guarded(allOf(oks), to, [&] { return v; });
}

FailureOr<Value> Importer::checkAxes(int i, int64_t rank,
                                     ArrayRef<uint64_t> candidates,
                                     uint64_t ignore) {
  auto type = typeOf(inV(i));
  if (candidates.empty())
    return error(nodeDesc() + ": no axes give the declared result shape");
  if (type.getRank() != 1 || !type.hasStaticShape() || rank > 60)
    return Value(arith::ConstantOp::create(b, loc, b.getBoolAttr(true)));
  FailureOr<SmallVector<OpFoldResult>> axes = elemsOf(in(i));
  if (failed(axes))
    return failure();
  auto cst = [&](int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v).getResult();
  };
  // Bit k set for axis k (negative axes count from the end); an axis out of
  // range sets bit 62, which no candidate has.
  Value mask = cst(0);
  for (OpFoldResult a : *axes) {
    Value ai = indexValue(a);
    Value neg =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, ai, cst(0));
    ai = arith::SelectOp::create(
        b, loc, neg, arith::AddIOp::create(b, loc, ai, cst(rank)), ai);
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
  Value given =
      arith::SelectOp::create(b, loc, any, cst((int64_t)candidates[0]), mask);
  return checkDim(given, b.getIndexAttr((int64_t)candidates[0]),
                  nodeDesc() + ": the axes input '" + node->input(i) +
                      "' as a bit mask (bit k for axis k; the declared "
                      "result shape needs axes {" +
                      want + "}" +
                      (candidates.size() > 1 ? " or equivalent" : "") + ")");
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

FailureOr<Value> Importer::checkIndicesFitData(Value indices, Value data,
                                               int64_t axis) {
  return checkSize(dim(indices, axis), dim(data, axis),
                   nodeDesc() + ": dimension " + std::to_string(axis) + " of " +
                       operandName(indices) + " may not exceed that of " +
                       operandName(data),
                   SizeRelation::AtMost);
}
