//===- ImportElementwise.cpp - Elementwise operators ----------------------===//
//
// Arithmetic, comparisons, logic, activations, casts, Where and Clip as
// linalg.generic with numpy broadcasting maps; integer shape values stay
// element by element; Add/Relu after a MatMul are computed on its 2-D form.
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

/// Scalar binary operation for elementwise operators.
Value onnx_import::binary(OpBuilder &b, Location loc, StringRef op, Value x,
                          Value y, bool uns) {
  bool f = isF(x.getType());
  if (op == "Add")
    return f ? (Value)arith::AddFOp::create(b, loc, x, y)
             : (Value)arith::AddIOp::create(b, loc, x, y);
  if (op == "Sub")
    return f ? (Value)arith::SubFOp::create(b, loc, x, y)
             : (Value)arith::SubIOp::create(b, loc, x, y);
  if (op == "Mul")
    return f ? (Value)arith::MulFOp::create(b, loc, x, y)
             : (Value)arith::MulIOp::create(b, loc, x, y);
  if (op == "Div")
    return f     ? (Value)arith::DivFOp::create(b, loc, x, y)
           : uns ? (Value)arith::DivUIOp::create(b, loc, x, y)
                 : (Value)arith::DivSIOp::create(b, loc, x, y);
  if (op == "Max")
    return f     ? (Value)arith::MaximumFOp::create(b, loc, x, y)
           : uns ? (Value)arith::MaxUIOp::create(b, loc, x, y)
                 : (Value)arith::MaxSIOp::create(b, loc, x, y);
  if (op == "Min")
    return f     ? (Value)arith::MinimumFOp::create(b, loc, x, y)
           : uns ? (Value)arith::MinUIOp::create(b, loc, x, y)
                 : (Value)arith::MinSIOp::create(b, loc, x, y);
  if (op == "And")
    return arith::AndIOp::create(b, loc, x, y);
  if (op == "Or")
    return arith::OrIOp::create(b, loc, x, y);
  if (op == "Xor")
    return arith::XOrIOp::create(b, loc, x, y);
  struct Pred {
    const char *name;
    arith::CmpFPredicate f;
    arith::CmpIPredicate i;
  };
  static const Pred preds[] = {
      {"Equal", arith::CmpFPredicate::OEQ, arith::CmpIPredicate::eq},
      {"Less", arith::CmpFPredicate::OLT, arith::CmpIPredicate::slt},
      {"LessOrEqual", arith::CmpFPredicate::OLE, arith::CmpIPredicate::sle},
      {"Greater", arith::CmpFPredicate::OGT, arith::CmpIPredicate::sgt},
      {"GreaterOrEqual", arith::CmpFPredicate::OGE, arith::CmpIPredicate::sge}};
  for (const Pred &p : preds) {
    if (op != p.name)
      continue;
    if (f)
      return arith::CmpFOp::create(b, loc, p.f, x, y);
    auto ip = p.i;
    if (x.getType().isInteger(1) || uns) // bools compare unsigned
      ip = arith::invertPredicate(arith::invertPredicate(ip)) == ip
               ? (ip == arith::CmpIPredicate::slt   ? arith::CmpIPredicate::ult
                  : ip == arith::CmpIPredicate::sle ? arith::CmpIPredicate::ule
                  : ip == arith::CmpIPredicate::sgt ? arith::CmpIPredicate::ugt
                  : ip == arith::CmpIPredicate::sge ? arith::CmpIPredicate::uge
                                                    : ip)
               : ip;
    return arith::CmpIOp::create(b, loc, ip, x, y);
  }
  return {};
}

bool onnx_import::isCompare(StringRef op) {
  return op == "Equal" || op == "Less" || op == "LessOrEqual" ||
         op == "Greater" || op == "GreaterOrEqual";
}

TV Importer::castTensor(const TV &x, Type to, bool toUnsigned) {
  bool fromUnsigned = x.isUnsigned;
  TV tv;
  tv.isUnsigned = toUnsigned;
  tv.v =
      eltOf(x.v) == to && fromUnsigned == toUnsigned
          ? x.v
          : mapElements(x.v, to, [&](OpBuilder &nb, Location nl, ValueRange a) {
              return castScalar(nb, nl, a[0], to, fromUnsigned, toUnsigned);
            });
  return tv;
}

LogicalResult Importer::importBinary(const onnx::NodeProto &n) {
  StringRef op = n.op_type();
  TV &x = in(0), &y = in(1);
  Type elt = eltOf(x.v);
  if (eltOf(y.v) != elt)
    return error(nodeDesc() + ": operands have different element types");
  // Shape arithmetic stays element by element.
  bool shapeLike = isa<IntegerType>(elt) && !elt.isInteger(1) &&
                   rankOf(x.v) <= 1 && rankOf(y.v) <= 1 &&
                   (x.elems || y.elems) &&
                   (op == "Add" || op == "Sub" || op == "Mul" || op == "Div");
  if (shapeLike && typeOf(x.v).hasStaticShape() &&
      typeOf(y.v).hasStaticShape() && typeOf(x.v).getNumElements() <= 64 &&
      typeOf(y.v).getNumElements() <= 64) {
    FailureOr<SmallVector<OpFoldResult>> exOr = elemsOf(x);
    if (failed(exOr))
      return failure();
    FailureOr<SmallVector<OpFoldResult>> eyOr = elemsOf(y);
    if (failed(eyOr))
      return failure();
    SmallVector<OpFoldResult> ex = *exOr, ey = *eyOr, out;
    size_t len = std::max(ex.size(), ey.size());
    if ((ex.size() != len && ex.size() != 1) ||
        (ey.size() != len && ey.size() != 1))
      return error(nodeDesc() + ": shapes do not broadcast");
    char c = op == "Add" ? '+' : op == "Sub" ? '-' : op == "Mul" ? '*' : '/';
    for (size_t i = 0; i < len; ++i) {
      OpFoldResult xi = ex[ex.size() == 1 ? 0 : i],
                   yi = ey[ey.size() == 1 ? 0 : i];
      if (c != '/') {
        out.push_back(foldBin(xi, yi, c));
        continue;
      }
      FailureOr<OpFoldResult> q = foldDiv(xi, yi);
      if (failed(q))
        return failure();
      out.push_back(*q);
    }
    setOut(0, fromElems(out, elt, rankOf(x.v) == 0 && rankOf(y.v) == 0));
    return success();
  }
  if (op == "Add") {
    FailureOr<bool> flat = importFlatEpilogue(op);
    if (failed(flat))
      return failure();
    if (*flat)
      return success();
  }
  Type outElt = isCompare(op) ? b.getI1Type() : elt;
  std::string name = op.str();
  return setOut(0, elementwise({x.v, y.v}, outElt,
                               [&](OpBuilder &nb, Location nl, ValueRange a) {
                                 return binary(nb, nl, name, a[0], a[1], uns);
                               }));
}

LogicalResult Importer::importVariadic(const onnx::NodeProto &n) {
  StringRef op = n.op_type();
  SmallVector<Value> ins;
  for (int i = 0; i < n.input_size(); ++i) {
    if (failed(requireInput(i)))
      return failure();
    ins.push_back(inV(i));
  }
  std::string name = op == "Sum" ? "Add" : op.str();
  return setOut(0, elementwise(ins, eltOf(ins[0]),
                               [&](OpBuilder &nb, Location nl, ValueRange a) {
                                 Value r = a[0];
                                 for (size_t i = 1; i < a.size(); ++i)
                                   r = binary(nb, nl, name, r, a[i], uns);
                                 return r;
                               }));
}

LogicalResult Importer::importPow(const onnx::NodeProto &) {
  Value x = inV(0);
  TV &yt = in(1);
  Type elt = eltOf(x);
  auto cy = constFloats(yt);
  if (isF(elt) && cy && cy->size() == 1 && (*cy)[0] == 2.0) {
    setOut(0,
           mapElements(x, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
             return arith::MulFOp::create(nb, nl, a[0], a[0]).getResult();
           }));
    return success();
  }
  Type ft = isF(elt) ? elt : b.getF64Type();
  return setOut(0, elementwise({x, yt.v}, elt,
                               [&](OpBuilder &nb, Location nl, ValueRange a) {
                                 Value bx = castScalar(nb, nl, a[0], ft);
                                 Value by = castScalar(nb, nl, a[1], ft);
                                 Value r = math::PowFOp::create(nb, nl, bx, by);
                                 return castScalar(nb, nl, r, elt);
                               }));
}

LogicalResult Importer::importActivation(const onnx::NodeProto &n) {
  StringRef op = n.op_type();
  Value x = inV(0);
  Type elt = eltOf(x);
  std::string name = op.str();
  if (!isF(elt) && name != "Sign")
    return error(nodeDesc() + ": integer operands are not supported");
  bool isTest = name == "IsNaN" || name == "IsInf";
  double alpha =
      attrFloat("alpha", name == "HardSigmoid" ? 0.2f
                         : name == "Selu"      ? 1.67326319217681884765625f
                                               : 1.0f);
  double beta = attrFloat("beta", 0.5f);
  double gamma = attrFloat("gamma", 1.05070102214813232421875f);
  bool detectPos = attrInt("detect_positive", 1),
       detectNeg = attrInt("detect_negative", 1);
  Type outElt = isTest ? b.getI1Type() : elt;
  setOut(
      0,
      mapElements(
          x, outElt, [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
            Value v = a[0];
            auto c = [&](double d) { return fc(nb, nl, elt, d); };
            auto mul = [&](Value p, Value q) {
              return arith::MulFOp::create(nb, nl, p, q).getResult();
            };
            auto add = [&](Value p, Value q) {
              return arith::AddFOp::create(nb, nl, p, q).getResult();
            };
            auto clamp01 = [&](Value p) {
              p = arith::MaximumFOp::create(nb, nl, p, c(0));
              return arith::MinimumFOp::create(nb, nl, p, c(1)).getResult();
            };
            auto expm1 = [&](Value p) {
              return arith::SubFOp::create(nb, nl,
                                           math::ExpOp::create(nb, nl, p), c(1))
                  .getResult();
            };
            auto lt0 = [&](Value p) {
              return arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OLT, p,
                                           c(0))
                  .getResult();
            };
            if (name == "Cos")
              return math::CosOp::create(nb, nl, v);
            if (name == "Sin")
              return math::SinOp::create(nb, nl, v);
            if (name == "Tan")
              return math::TanOp::create(nb, nl, v);
            if (name == "Round")
              return math::RoundEvenOp::create(nb, nl, v);
            if (name == "Sign") {
              if (!isF(elt)) {
                Value zero = fc(nb, nl, elt, 0);
                auto pred = [&](arith::CmpIPredicate p) {
                  Value bit = arith::CmpIOp::create(nb, nl, p, v, zero);
                  return uns ? (Value)arith::ExtUIOp::create(nb, nl, elt, bit)
                             : (Value)arith::ExtUIOp::create(nb, nl, elt, bit);
                };
                Value pos = pred(uns ? arith::CmpIPredicate::ugt
                                     : arith::CmpIPredicate::sgt);
                Value neg = pred(arith::CmpIPredicate::slt);
                return arith::SubIOp::create(nb, nl, pos, uns ? zero : neg);
              }
              Value pos = arith::CmpFOp::create(
                  nb, nl, arith::CmpFPredicate::OGT, v, c(0));
              Value r = arith::SelectOp::create(nb, nl, pos, c(1), c(0));
              return arith::SelectOp::create(nb, nl, lt0(v), c(-1), r);
            }
            if (name == "Softplus")
              return math::Log1pOp::create(nb, nl,
                                           math::ExpOp::create(nb, nl, v));
            if (name == "Softsign")
              return arith::DivFOp::create(
                  nb, nl, v, add(c(1), math::AbsFOp::create(nb, nl, v)));
            if (name == "HardSigmoid")
              return clamp01(add(mul(v, c(alpha)), c(beta)));
            if (name == "HardSwish")
              return mul(v, clamp01(add(mul(v, c(1.0 / 6)), c(0.5))));
            if (name == "Elu")
              return arith::SelectOp::create(nb, nl, lt0(v),
                                             mul(c(alpha), expm1(v)), v);
            if (name == "Selu")
              return mul(c(gamma),
                         arith::SelectOp::create(
                             nb, nl,
                             arith::CmpFOp::create(
                                 nb, nl, arith::CmpFPredicate::OLE, v, c(0)),
                             mul(c(alpha), expm1(v)), v));
            if (name == "Celu") {
              Value e = mul(c(alpha),
                            expm1(arith::DivFOp::create(nb, nl, v, c(alpha))));
              return add(arith::MaximumFOp::create(nb, nl, v, c(0)),
                         arith::MinimumFOp::create(nb, nl, e, c(0)));
            }
            if (name == "ThresholdedRelu")
              return arith::SelectOp::create(
                  nb, nl,
                  arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OGT, v,
                                        c(alpha)),
                  v, c(0));
            if (name == "IsNaN")
              return arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::UNO, v,
                                           v);
            // IsInf
            Value inf = c(std::numeric_limits<double>::infinity());
            Value isPos = arith::CmpFOp::create(
                nb, nl, arith::CmpFPredicate::OEQ, v, inf);
            Value isNeg =
                arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, v,
                                      arith::NegFOp::create(nb, nl, inf));
            Value f = arith::ConstantOp::create(nb, nl, nb.getBoolAttr(false));
            return arith::OrIOp::create(nb, nl, detectPos ? isPos : f,
                                        detectNeg ? isNeg : f);
          }));
  return success();
}

LogicalResult Importer::importCastLike(const onnx::NodeProto &) {
  TV &x = in(0), &like = in(1);
  setOut(0, castTensor(x, eltOf(like.v), like.isUnsigned));
  return success();
}

LogicalResult Importer::importPRelu(const onnx::NodeProto &) {
  Value x = inV(0), slope = inV(1);
  Type elt = eltOf(x);
  if (!isF(elt))
    return error(nodeDesc() + ": needs a float input");
  return setOut(
      0, elementwise(
             {x, slope}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
               Value neg = arith::CmpFOp::create(
                   nb, nl, arith::CmpFPredicate::OLT, a[0], fc(nb, nl, elt, 0));
               Value m = arith::MulFOp::create(nb, nl, a[0], a[1]);
               return arith::SelectOp::create(nb, nl, neg, m, a[0]).getResult();
             }));
}

LogicalResult Importer::importMod(const onnx::NodeProto &) {
  Value x = inV(0), y = inV(1);
  Type elt = eltOf(x);
  bool fmod = attrInt("fmod", 0);
  if (isF(elt) && !fmod)
    return error(nodeDesc() + ": float operands need fmod=1");
  return setOut(
      0,
      elementwise({x, y}, elt,
                  [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                    if (isF(elt))
                      return arith::RemFOp::create(nb, nl, a[0], a[1]);
                    if (uns)
                      return arith::RemUIOp::create(nb, nl, a[0], a[1]);
                    Value r = arith::RemSIOp::create(nb, nl, a[0], a[1]);
                    if (fmod)
                      return r;
                    // Python's modulo: the result takes the divisor's sign.
                    Value zero = fc(nb, nl, elt, 0);
                    Value rNeg = arith::CmpIOp::create(
                        nb, nl, arith::CmpIPredicate::slt, r, zero);
                    Value yNeg = arith::CmpIOp::create(
                        nb, nl, arith::CmpIPredicate::slt, a[1], zero);
                    Value nz = arith::CmpIOp::create(
                        nb, nl, arith::CmpIPredicate::ne, r, zero);
                    Value fix = arith::AndIOp::create(
                        nb, nl, nz, arith::XOrIOp::create(nb, nl, rNeg, yNeg));
                    return arith::SelectOp::create(
                        nb, nl, fix, arith::AddIOp::create(nb, nl, r, a[1]), r);
                  }));
}

LogicalResult Importer::importTrilu(const onnx::NodeProto &) {
  Value x = inV(0);
  int64_t r = rankOf(x);
  bool upper = attrInt("upper", 1);
  OpFoldResult k = b.getIndexAttr(0);
  if (hasInput(1)) {
    FailureOr<SmallVector<OpFoldResult>> kIn = elemsOf(in(1));
    if (failed(kIn))
      return failure();
    if (kIn->empty())
      return error(nodeDesc() + ": input 'k' has no element");
    k = (*kIn)[0];
  }
  Value kv = indexValue(k);
  Type elt = eltOf(x);
  setOut(0, mapElements(x, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
           // Keep j - i >= k (upper) or j - i <= k (lower).
           Value i = linalg::IndexOp::create(nb, nl, r - 2);
           Value j = linalg::IndexOp::create(nb, nl, r - 1);
           Value diff = arith::SubIOp::create(nb, nl, j, i);
           Value keep = arith::CmpIOp::create(nb, nl,
                                              upper ? arith::CmpIPredicate::sge
                                                    : arith::CmpIPredicate::sle,
                                              diff, kv);
           return arith::SelectOp::create(nb, nl, keep, a[0],
                                          fc(nb, nl, elt, 0))
               .getResult();
         }));
  return success();
}

LogicalResult Importer::importMean(const onnx::NodeProto &n) {
  SmallVector<Value> ins;
  for (int i = 0; i < n.input_size(); ++i) {
    if (failed(requireInput(i)))
      return failure();
    ins.push_back(inV(i));
  }
  Type elt = eltOf(ins[0]);
  if (!isF(elt))
    return error(nodeDesc() + ": needs float operands");
  double count = ins.size();
  return setOut(
      0, elementwise(ins, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value r = a[0];
        for (size_t i = 1; i < a.size(); ++i)
          r = arith::AddFOp::create(nb, nl, r, a[i]);
        return arith::DivFOp::create(nb, nl, r, fc(nb, nl, elt, count))
            .getResult();
      }));
}

LogicalResult Importer::importNeg(const onnx::NodeProto &n) {
  // Shape arithmetic on integer shape values stays element by element.
  if (in(0).elems && isa<IntegerType>(eltOf(inV(0)))) {
    SmallVector<OpFoldResult> el;
    for (OpFoldResult e : *in(0).elems)
      el.push_back(foldBin(b.getIndexAttr(0), e, '-'));
    setOut(0, fromElems(el, eltOf(inV(0)), rankOf(inV(0)) == 0));
    return success();
  }
  return importUnary(n);
}

LogicalResult Importer::importRelu(const onnx::NodeProto &n) {
  FailureOr<bool> flat = importFlatEpilogue(n.op_type());
  if (failed(flat))
    return failure();
  if (*flat)
    return success();
  return importUnary(n);
}

LogicalResult Importer::importUnary(const onnx::NodeProto &n) {
  StringRef op = n.op_type();
  Value x = inV(0);
  Type elt = eltOf(x);
  std::string name = op.str();
  bool floatOnly =
      !(name == "Neg" || name == "Relu" || name == "Abs" || name == "Not");
  if (floatOnly && !isF(elt))
    return error(nodeDesc() + ": integer operands are not supported");
  double alpha = attrFloat("alpha", 0.01f);
  setOut(
      0,
      mapElements(
          x, elt, [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
            Value v = a[0];
            if (name == "Sqrt")
              return math::SqrtOp::create(nb, nl, v);
            if (name == "Exp")
              return math::ExpOp::create(nb, nl, v);
            if (name == "Log")
              return math::LogOp::create(nb, nl, v);
            if (name == "Erf")
              return math::ErfOp::create(nb, nl, v);
            if (name == "Tanh")
              return math::TanhOp::create(nb, nl, v);
            if (name == "Floor")
              return math::FloorOp::create(nb, nl, v);
            if (name == "Ceil")
              return math::CeilOp::create(nb, nl, v);
            if (name == "Reciprocal")
              return arith::DivFOp::create(nb, nl, fc(nb, nl, elt, 1.0), v);
            if (name == "Sigmoid") {
              Value e =
                  math::ExpOp::create(nb, nl, arith::NegFOp::create(nb, nl, v));
              return arith::DivFOp::create(
                  nb, nl, fc(nb, nl, elt, 1.0),
                  arith::AddFOp::create(nb, nl, fc(nb, nl, elt, 1.0), e));
            }
            if (name == "LeakyRelu") {
              Value zero = fc(nb, nl, elt, 0.0);
              Value neg = arith::CmpFOp::create(
                  nb, nl, arith::CmpFPredicate::OLT, v, zero);
              return arith::SelectOp::create(
                  nb, nl, neg,
                  arith::MulFOp::create(nb, nl, v, fc(nb, nl, elt, alpha)), v);
            }
            if (name == "Not")
              return arith::XOrIOp::create(nb, nl, v, fc(nb, nl, elt, 1));
            bool f = isF(elt);
            if (name == "Neg")
              return f ? (Value)arith::NegFOp::create(nb, nl, v)
                       : (Value)arith::SubIOp::create(nb, nl,
                                                      fc(nb, nl, elt, 0), v);
            if (name == "Abs")
              return f ? (Value)math::AbsFOp::create(nb, nl, v)
                       : (Value)math::AbsIOp::create(nb, nl, v);
            // Relu: NaN stays NaN.
            Value zero = fc(nb, nl, elt, 0);
            if (!f)
              return arith::MaxSIOp::create(nb, nl, v, zero);
            Value lt = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OLT,
                                             v, zero);
            return arith::SelectOp::create(nb, nl, lt, zero, v);
          }));
  return success();
}

LogicalResult Importer::importCast(const onnx::NodeProto &) {
  TV &x = in(0);
  FailureOr<Type> toOr =
      elementTypeOf(loc, attrInt("to", 0), nodeDesc() + "'s target");
  if (failed(toOr))
    return failure();
  Type to = *toOr;
  if (x.elems && isa<IntegerType>(to) && !to.isInteger(1) &&
      isa<IntegerType>(eltOf(x.v))) {
    setOut(0, fromElems(*x.elems, to, rankOf(x.v) == 0));
    return success();
  }
  setOut(0, castTensor(x, to, attrInt("to", 0) == onnx::TensorProto::UINT8));
  return success();
}

LogicalResult Importer::importWhere(const onnx::NodeProto &) {
  Value c = inV(0), x = inV(1), y = inV(2);
  return setOut(0, elementwise({c, x, y}, eltOf(x),
                               [&](OpBuilder &nb, Location nl, ValueRange a) {
                                 return arith::SelectOp::create(nb, nl, a[0],
                                                                a[1], a[2])
                                     .getResult();
                               }));
}

LogicalResult Importer::importClip(const onnx::NodeProto &) {
  Value x = inV(0);
  Type elt = eltOf(x);
  SmallVector<Value> ins = {x};
  bool hasMin = hasInput(1), hasMax = hasInput(2);
  if (hasMin)
    ins.push_back(inV(1));
  if (hasMax)
    ins.push_back(inV(2));
  return setOut(
      0, elementwise(ins, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value v = a[0];
        int k = 1;
        bool f = isF(elt);
        if (hasMin) {
          Value lo = a[k++];
          Value lt =
              f ? (Value)arith::CmpFOp::create(nb, nl,
                                               arith::CmpFPredicate::OLT, v, lo)
                : (Value)arith::CmpIOp::create(nb, nl,
                                               uns ? arith::CmpIPredicate::ult
                                                   : arith::CmpIPredicate::slt,
                                               v, lo);
          v = arith::SelectOp::create(nb, nl, lt, lo, v);
        }
        if (hasMax) {
          Value hi = a[k++];
          Value gt =
              f ? (Value)arith::CmpFOp::create(nb, nl,
                                               arith::CmpFPredicate::OGT, v, hi)
                : (Value)arith::CmpIOp::create(nb, nl,
                                               uns ? arith::CmpIPredicate::ugt
                                                   : arith::CmpIPredicate::sgt,
                                               v, hi);
          v = arith::SelectOp::create(nb, nl, gt, hi, v);
        }
        return v;
      }));
}

FailureOr<bool> Importer::importFlatEpilogue(StringRef op) {
  TV &x = in(0);
  Type elt = eltOf(x.v);
  if (!isa<Float32Type, Float64Type>(elt))
    return false;
  auto addBody = [&](OpBuilder &nb, Location nl, ValueRange a) {
    return arith::AddFOp::create(nb, nl, a[0], a[1]).getResult();
  };
  auto finish = [&](FailureOr<Value> flatOr, Value like) -> FailureOr<bool> {
    if (failed(flatOr))
      return failure();
    Value flat = *flatOr;
    // The sizes `like` was built with, not tensor.dim ops on it: those would
    // keep the matmul's own expand alive, and kernel formation fuses only
    // into a matmul with one user.
    SmallVector<OpFoldResult> shape;
    while (auto c = like.getDefiningOp<tensor::CastOp>())
      like = c.getSource();
    if (auto ex = like.getDefiningOp<tensor::ExpandShapeOp>())
      shape = ex.getMixedOutputShape();
    else
      shape = dims(like);
    for (auto [i, d] : llvm::enumerate(shape))
      if (!typeOf(like).isDynamicDim(i))
        d = b.getIndexAttr(typeOf(like).getDimSize(i));
    FailureOr<Value> v = reshape(flat, shape);
    if (failed(v))
      return failure();
    TV tv;
    tv.flat = flat;
    tv.v = *v;
    setOut(0, tv);
    return true;
  };
  if (op == "Relu") {
    if (!x.flat || rankOf(x.v) < 3)
      return false;
    Value r =
        mapElements(x.flat, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
          Value zero =
              arith::ConstantOp::create(nb, nl, nb.getFloatAttr(elt, 0));
          return arith::MaximumFOp::create(nb, nl, a[0], zero).getResult();
        });
    return finish(r, x.v);
  }
  TV &y = in(1);
  if (eltOf(y.v) != elt)
    return false;
  bool mIsX = x.flat && rankOf(x.v) >= 3;
  if (!mIsX && !(y.flat && rankOf(y.v) >= 3))
    return false;
  TV &m = mIsX ? x : y, &o = mIsX ? y : x;
  auto mt = typeOf(m.v), ft = typeOf(m.flat), ot = typeOf(o.v);
  Value o2;
  if (ot.getRank() == 1 && !ot.isDynamicDim(0) && !ft.isDynamicDim(1) &&
      ot.getDimSize(0) == ft.getDimSize(1)) {
    o2 = o.v; // a bias along the last dimension
  } else if (ot.getShape() == mt.getShape()) {
    // A residual of the same shape: flat as well.
    if (o.flat && typeOf(o.flat) == ft) {
      o2 = o.flat;
    } else {
      OpFoldResult rows = b.getIndexAttr(1);
      SmallVector<OpFoldResult> od = dims(o.v);
      for (size_t i = 0; i + 1 < od.size(); ++i)
        rows = foldBin(rows, od[i], '*');
      FailureOr<Value> o2Or = reshape(o.v, {rows, od.back()});
      if (failed(o2Or))
        return failure();
      o2 = *o2Or;
    }
  } else {
    return false;
  }
  return finish(mIsX ? elementwise({m.flat, o2}, elt, addBody)
                     : elementwise({o2, m.flat}, elt, addBody),
                m.v);
}

void onnx_import::registerElementwiseOps(OpRegistry &r) {
  r.add("Add", 1, &Importer::importBinary);
  r.add("Sub", 1, &Importer::importBinary);
  r.add("Mul", 1, &Importer::importBinary);
  r.add("Div", 1, &Importer::importBinary);
  r.add("Equal", 1, &Importer::importBinary);
  r.add("Less", 1, &Importer::importBinary);
  r.add("LessOrEqual", 1, &Importer::importBinary);
  r.add("Greater", 1, &Importer::importBinary);
  r.add("GreaterOrEqual", 1, &Importer::importBinary);
  r.add("And", 1, &Importer::importBinary);
  r.add("Or", 1, &Importer::importBinary);
  r.add("Xor", 1, &Importer::importBinary);
  r.add("Max", 1, &Importer::importVariadic);
  r.add("Min", 1, &Importer::importVariadic);
  r.add("Sum", 1, &Importer::importVariadic);
  r.add("Pow", 1, &Importer::importPow);
  r.add("Cos", 1, &Importer::importActivation);
  r.add("Sin", 1, &Importer::importActivation);
  r.add("Tan", 1, &Importer::importActivation);
  r.add("Round", 1, &Importer::importActivation);
  r.add("Sign", 1, &Importer::importActivation);
  r.add("Softplus", 1, &Importer::importActivation);
  r.add("Softsign", 1, &Importer::importActivation);
  r.add("HardSigmoid", 1, &Importer::importActivation);
  r.add("HardSwish", 1, &Importer::importActivation);
  r.add("Elu", 1, &Importer::importActivation);
  r.add("Selu", 1, &Importer::importActivation);
  r.add("Celu", 1, &Importer::importActivation);
  r.add("ThresholdedRelu", 1, &Importer::importActivation);
  r.add("IsNaN", 1, &Importer::importActivation);
  r.add("IsInf", 1, &Importer::importActivation);
  r.add("CastLike", 1, &Importer::importCastLike);
  r.add("PRelu", 1, &Importer::importPRelu);
  r.add("Mod", 1, &Importer::importMod);
  r.add("Trilu", 1, &Importer::importTrilu);
  r.add("Mean", 1, &Importer::importMean);
  r.add("Neg", 1, &Importer::importNeg);
  r.add("Relu", 1, &Importer::importRelu);
  r.add("Sqrt", 1, &Importer::importUnary);
  r.add("Reciprocal", 1, &Importer::importUnary);
  r.add("Exp", 1, &Importer::importUnary);
  r.add("Log", 1, &Importer::importUnary);
  r.add("Erf", 1, &Importer::importUnary);
  r.add("Sigmoid", 1, &Importer::importUnary);
  r.add("Tanh", 1, &Importer::importUnary);
  r.add("Abs", 1, &Importer::importUnary);
  r.add("Floor", 1, &Importer::importUnary);
  r.add("Ceil", 1, &Importer::importUnary);
  r.add("Not", 1, &Importer::importUnary);
  r.add("LeakyRelu", 1, &Importer::importUnary);
  r.add("Cast", 1, &Importer::importCast);
  r.add("Where", 1, &Importer::importWhere);
  r.add("Clip", 1, &Importer::importClip);
}
