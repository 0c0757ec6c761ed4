//===- ImportNodes.cpp - The per-operator importers -----------------------===//

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

Type elementTypeOrFail(MLIRContext *ctx, int t, const std::string &what);
DenseElementsAttr onnx_import_tensorAttr(MLIRContext *ctx,
                                         const onnx::TensorProto &t);

namespace {
using K = Importer::ReduceKind;

Value fc(OpBuilder &b, Location loc, Type t, double v) {
  if (isa<FloatType>(t))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(t, v));
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(t, (int64_t)v));
}
bool isF(Type t) { return isa<FloatType>(t); }

/// Scalar binary operation for elementwise operators.
Value binary(OpBuilder &b, Location loc, StringRef op, Value x, Value y,
             bool uns = false) {
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

bool isCompare(StringRef op) {
  return op == "Equal" || op == "Less" || op == "LessOrEqual" ||
         op == "Greater" || op == "GreaterOrEqual";
}
} // namespace

TV Importer::castTensor(const TV &x, Type to, bool toUnsigned) {
  bool fromUnsigned = x.isUnsigned;
  TV tv;
  tv.isUnsigned = toUnsigned;
  tv.v = eltOf(x.v) == to && fromUnsigned == toUnsigned
             ? x.v
             : elementwise({x.v}, to,
                           [&](OpBuilder &nb, Location nl, ValueRange a) {
                             return castScalar(nb, nl, a[0], to, fromUnsigned,
                                               toUnsigned);
                           });
  return tv;
}

void OpRegistry::add(StringRef opType, int64_t sinceVersion,
                     OpHandler handler) {
  SmallVector<Entry, 1> &entries = ops[opType];
  auto it = llvm::find_if(entries, [&](const Entry &e) {
    return e.sinceVersion > sinceVersion;
  });
  entries.insert(it, Entry{sinceVersion, handler});
}

OpHandler OpRegistry::lookup(StringRef domain, StringRef opType,
                             int64_t opset) const {
  if (!domain.empty() && domain != "ai.onnx")
    return nullptr;
  auto it = ops.find(opType);
  if (it == ops.end())
    return nullptr;
  OpHandler handler = nullptr;
  for (const Entry &e : it->second)
    if (e.sinceVersion <= opset)
      handler = e.handler;
  return handler;
}

const OpRegistry &OpRegistry::get() {
  static const OpRegistry registry = [] {
    OpRegistry r;
    registerONNXOps(r);
    return r;
  }();
  return registry;
}

bool onnx_import::isSupportedOp(StringRef opType, int64_t opset) {
  return OpRegistry::get().lookup("", opType, opset) != nullptr;
}

LogicalResult Importer::importNode(const onnx::NodeProto &n) {
  OpHandler handler = OpRegistry::get().lookup(n.domain(), n.op_type(), opset);
  if (!handler)
    fail(nodeDesc() + ": operator " + n.op_type() + " is not supported");
  uns = false;
  if (hasInput(0)) {
    auto it = values.find(n.input(0));
    uns = it != values.end() && it->second.isUnsigned;
  }
  if (failed((this->*handler)(n)))
    return failure();
  // Results of the input's element type stay unsigned (Cast sets its own).
  if (!uns || n.op_type() == "Cast")
    return success();
  Type inElt = eltOf(values.find(n.input(0))->second.v);
  for (const std::string &o : n.output()) {
    auto it = values.find(o);
    if (!o.empty() && it != values.end() && it->second.v &&
        eltOf(it->second.v) == inElt)
      it->second.isUnsigned = true;
  }
  return success();
}

/// The attributes and weights of a Conv or pooling node agree with the input
/// (fuzz findings: a Conv whose weights have other channels than its input
/// gave IR that does not verify; a zero stride divides by zero).
void Importer::checkWindow(StringRef op, Value x, Value w, int64_t sp,
                           ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                           ArrayRef<int64_t> dil, ArrayRef<int64_t> pads) {
  auto count = [](int64_t n) { return std::to_string(n); };
  if (op == "Conv") {
    auto wt = typeOf(w);
    int64_t group = attrInt("group", 1);
    int64_t c = typeOf(x).getDimSize(1);
    if (wt.getRank() != sp + 2 || group < 1 || wt.getDimSize(0) % group != 0 ||
        (!ShapedType::isDynamic(c) && c != wt.getDimSize(1) * group))
      fail(nodeDesc() + ": weights of rank " + count(wt.getRank()) + " with " +
           count(wt.getRank() > 1 ? wt.getDimSize(1) : 0) +
           " input channels per group do not fit a rank-" + count(sp + 2) +
           " input with " + (ShapedType::isDynamic(c) ? "?" : count(c)) +
           " channels in " + count(group) + " group(s)");
  }
  if (int64_t(kernel.size()) != sp || int64_t(strides.size()) != sp ||
      int64_t(dil.size()) != sp || int64_t(pads.size()) != 2 * sp)
    fail(nodeDesc() + ": kernel, strides and dilations need " + count(sp) +
         " entries and pads " + count(2 * sp) + " for a rank-" +
         count(sp + 2) + " input");
  // The bound keeps the window arithmetic (span, padded size) in int64.
  constexpr int64_t kMax = int64_t(1) << 31;
  auto bad = [&](int64_t v, int64_t lo) { return v < lo || v >= kMax; };
  for (int64_t i = 0; i < sp; ++i)
    if (bad(kernel[i], 1) || bad(strides[i], 1) || bad(dil[i], 1) ||
        bad(pads[i], 0) || bad(pads[i + sp], 0))
      fail(nodeDesc() + ": kernel sizes, strides and dilations must be in "
                        "[1, 2^31) and pads in [0, 2^31)");
}

LogicalResult Importer::importConstant(const onnx::NodeProto &) {
  MLIRContext *ctx = b.getContext();
  if (const auto *a = attr("value")) {
    TV tv = constantTV(onnx_import_tensorAttr(ctx, a->t()));
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
  fail(nodeDesc() + ": only tensor, float(s) and int(s) values are supported "
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
      fail(nodeDesc() + ": training_mode must be a constant");
    std::optional<SmallVector<double>> ratio;
    if (hasInput(1))
      ratio = constFloats(in(1));
    if ((*training)[0] && (!ratio || (*ratio)[0] != 0.0))
      fail(nodeDesc() + ": training-mode dropout (random) is not supported; "
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
  MLIRContext *ctx = b.getContext();
  SmallVector<OpFoldResult> shape = elemsOf(in(0));
  Value scalar;
  DenseElementsAttr value;
  if (const auto *a = attr("value"))
    value = onnx_import_tensorAttr(ctx, a->t());
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
  tv.v = filled(shape, scalar);
  auto type = typeOf(tv.v);
  if (type.hasStaticShape() && type.getNumElements() <= 4096) {
    if (auto ta = dyn_cast<TypedAttr>(
            cast<arith::ConstantOp>(scalar.getDefiningOp()).getValue()))
      tv.cst = DenseElementsAttr::get(type, ta);
    if (isa<IntegerType>(type.getElementType()) && type.getRank() <= 1 &&
        type.getNumElements() <= 64)
      elemsOf(tv);
  }
  setOut(0, tv);
  return success();
}

LogicalResult Importer::importBinary(const onnx::NodeProto &n) {
  StringRef op = n.op_type();
  TV &x = in(0), &y = in(1);
  Type elt = eltOf(x.v);
  if (eltOf(y.v) != elt)
    fail(nodeDesc() + ": operands have different element types");
  // Shape arithmetic stays element by element.
  bool shapeLike = isa<IntegerType>(elt) && !elt.isInteger(1) &&
                   rankOf(x.v) <= 1 && rankOf(y.v) <= 1 &&
                   (x.elems || y.elems) &&
                   (op == "Add" || op == "Sub" || op == "Mul" || op == "Div");
  if (shapeLike && typeOf(x.v).hasStaticShape() &&
      typeOf(y.v).hasStaticShape() && typeOf(x.v).getNumElements() <= 64 &&
      typeOf(y.v).getNumElements() <= 64) {
    SmallVector<OpFoldResult> ex = elemsOf(x), ey = elemsOf(y), out;
    size_t len = std::max(ex.size(), ey.size());
    if ((ex.size() != len && ex.size() != 1) ||
        (ey.size() != len && ey.size() != 1))
      fail(nodeDesc() + ": shapes do not broadcast");
    char c = op == "Add" ? '+' : op == "Sub" ? '-' : op == "Mul" ? '*' : '/';
    for (size_t i = 0; i < len; ++i)
      out.push_back(
          foldBin(ex[ex.size() == 1 ? 0 : i], ey[ey.size() == 1 ? 0 : i], c));
    setOut(0, fromElems(out, elt, rankOf(x.v) == 0 && rankOf(y.v) == 0));
    return success();
  }
  if (op == "Add" && importFlatEpilogue(op))
    return success();
  Type outElt = isCompare(op) ? b.getI1Type() : elt;
  std::string name = op.str();
  setOut(0, elementwise({x.v, y.v}, outElt,
                        [&](OpBuilder &nb, Location nl, ValueRange a) {
                          return binary(nb, nl, name, a[0], a[1], uns);
                        }));
  return success();
}

LogicalResult Importer::importVariadic(const onnx::NodeProto &n) {
  StringRef op = n.op_type();
  SmallVector<Value> ins;
  for (int i = 0; i < n.input_size(); ++i)
    ins.push_back(inV(i));
  std::string name = op == "Sum" ? "Add" : op.str();
  setOut(0, elementwise(ins, eltOf(ins[0]),
                        [&](OpBuilder &nb, Location nl, ValueRange a) {
                          Value r = a[0];
                          for (size_t i = 1; i < a.size(); ++i)
                            r = binary(nb, nl, name, r, a[i], uns);
                          return r;
                        }));
  return success();
}

LogicalResult Importer::importPow(const onnx::NodeProto &) {
  Value x = inV(0);
  TV &yt = in(1);
  Type elt = eltOf(x);
  auto cy = constFloats(yt);
  if (isF(elt) && cy && cy->size() == 1 && (*cy)[0] == 2.0) {
    setOut(
        0,
        elementwise({x}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
          return arith::MulFOp::create(nb, nl, a[0], a[0]).getResult();
        }));
    return success();
  }
  Type ft = isF(elt) ? elt : b.getF64Type();
  setOut(0, elementwise({x, yt.v}, elt,
                        [&](OpBuilder &nb, Location nl, ValueRange a) {
                          Value bx = castScalar(nb, nl, a[0], ft);
                          Value by = castScalar(nb, nl, a[1], ft);
                          Value r = math::PowFOp::create(nb, nl, bx, by);
                          return castScalar(nb, nl, r, elt);
                        }));
  return success();
}

LogicalResult Importer::importActivation(const onnx::NodeProto &n) {
  StringRef op = n.op_type();
  Value x = inV(0);
  Type elt = eltOf(x);
  std::string name = op.str();
  if (!isF(elt) && name != "Sign")
    fail(nodeDesc() + ": integer operands are not supported");
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
      elementwise(
          {x}, outElt,
          [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
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
              return arith::SubFOp::create(
                         nb, nl, math::ExpOp::create(nb, nl, p), c(1))
                  .getResult();
            };
            auto lt0 = [&](Value p) {
              return arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OLT,
                                           p, c(0))
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
                             : (Value)arith::ExtUIOp::create(nb, nl, elt,
                                                             bit);
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
              Value e =
                  mul(c(alpha),
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
              return arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::UNO,
                                           v, v);
            // IsInf
            Value inf = c(std::numeric_limits<double>::infinity());
            Value isPos = arith::CmpFOp::create(
                nb, nl, arith::CmpFPredicate::OEQ, v, inf);
            Value isNeg =
                arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, v,
                                      arith::NegFOp::create(nb, nl, inf));
            Value f =
                arith::ConstantOp::create(nb, nl, nb.getBoolAttr(false));
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
    fail(nodeDesc() + ": needs a float input");
  setOut(
      0,
      elementwise(
          {x, slope}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
            Value neg = arith::CmpFOp::create(
                nb, nl, arith::CmpFPredicate::OLT, a[0], fc(nb, nl, elt, 0));
            Value m = arith::MulFOp::create(nb, nl, a[0], a[1]);
            return arith::SelectOp::create(nb, nl, neg, m, a[0]).getResult();
          }));
  return success();
}

LogicalResult Importer::importMod(const onnx::NodeProto &) {
  Value x = inV(0), y = inV(1);
  Type elt = eltOf(x);
  bool fmod = attrInt("fmod", 0);
  if (isF(elt) && !fmod)
    fail(nodeDesc() + ": float operands need fmod=1");
  setOut(0, elementwise(
                {x, y}, elt,
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
  return success();
}

LogicalResult Importer::importGatherElements(const onnx::NodeProto &) {
  MLIRContext *ctx = b.getContext();
  Value data = inV(0), indices = inV(1);
  int64_t r = rankOf(data);
  int64_t axis = normAxis(attrInt("axis", 0), r);
  if (rankOf(indices) != r)
    fail(nodeDesc() + ": indices must have the rank of data");
  // Along the other axes the output (indices' shape) reads data at the
  // same position: indices may not be larger there.
  SmallVector<Value> shapeOks;
  for (int64_t k = 0; k < r; ++k)
    if (k != axis)
      shapeOks.push_back(checkIndicesFitData(indices, data, k));
  Value axisDim = indexValue(dim(data, axis));
  Message msg = indexCheckMessage(nodeDesc());
  auto build = [&]() -> Value {
    Value init = empty(dims(indices), eltOf(data));
    AffineMap id = AffineMap::getMultiDimIdentityMap(r, ctx);
    auto g = linalg::GenericOp::create(
        b, loc, TypeRange{init.getType()}, ValueRange{indices},
        ValueRange{init}, SmallVector<AffineMap>{id, id},
        SmallVector<utils::IteratorType>(r, utils::IteratorType::parallel),
        [&](OpBuilder &nb, Location nl, ValueRange a) {
          Value i =
              arith::IndexCastOp::create(nb, nl, nb.getIndexType(), a[0]);
          auto [ok, w] = checkIndex(nb, nl, i, axisDim, msg);
          SmallVector<Value> coords;
          for (int64_t k = 0; k < r; ++k)
            coords.push_back(
                k == axis ? w : (Value)linalg::IndexOp::create(nb, nl, k));
          linalg::YieldOp::create(nb, nl,
                                  guardedExtract(nb, nl, ok, data, coords));
        });
    return g.getResult(0);
  };
  setOut(0, guarded(allOf(shapeOks),
                    RankedTensorType::get(typeOf(indices).getShape(),
                                          eltOf(data)),
                    build));
  return success();
}

LogicalResult Importer::importTile(const onnx::NodeProto &) {
  MLIRContext *ctx = b.getContext();
  Value x = inV(0);
  int64_t r = rankOf(x);
  SmallVector<OpFoldResult> reps = elemsOf(in(1)), d = dims(x), out;
  if ((int64_t)reps.size() != r)
    fail(nodeDesc() + ": repeats must have one entry per dimension");
  SmallVector<Value> dv;
  for (int64_t i = 0; i < r; ++i) {
    out.push_back(foldBin(d[i], reps[i], '*'));
    dv.push_back(indexValue(d[i]));
  }
  Value init = empty(out, eltOf(x));
  auto g = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
      SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(r, ctx)},
      SmallVector<utils::IteratorType>(r, utils::IteratorType::parallel),
      [&](OpBuilder &nb, Location nl, ValueRange) {
        SmallVector<Value> idx;
        for (int64_t i = 0; i < r; ++i)
          idx.push_back(arith::RemUIOp::create(
              nb, nl, linalg::IndexOp::create(nb, nl, i), dv[i]));
        linalg::YieldOp::create(
            nb, nl, tensor::ExtractOp::create(nb, nl, x, idx).getResult());
      });
  setOut(0, g.getResult(0));
  return success();
}

LogicalResult Importer::importRange(const onnx::NodeProto &) {
  MLIRContext *ctx = b.getContext();
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
    Value q = arith::DivFOp::create(
        b, loc, arith::SubFOp::create(b, loc, fl, fs), fd);
    q = math::CeilOp::create(b, loc, q);
    q = arith::MaximumFOp::create(b, loc, q, fc(b, loc, b.getF64Type(), 0));
    Value n = arith::FPToSIOp::create(b, loc, b.getI64Type(), q);
    len = arith::IndexCastOp::create(b, loc, b.getIndexType(), n).getResult();
  }
  Value init = empty({len}, elt);
  auto g = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
      SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(1, ctx)},
      SmallVector<utils::IteratorType>{utils::IteratorType::parallel},
      [&](OpBuilder &nb, Location nl, ValueRange) {
        Value i = linalg::IndexOp::create(nb, nl, 0);
        Value iv = arith::IndexCastOp::create(nb, nl, nb.getI64Type(), i);
        Value ie = castScalar(nb, nl, iv, elt);
        Value v = binary(nb, nl, "Add", s, binary(nb, nl, "Mul", ie, dl));
        linalg::YieldOp::create(nb, nl, v);
      });
  setOut(0, g.getResult(0));
  return success();
}

LogicalResult Importer::importTrilu(const onnx::NodeProto &) {
  Value x = inV(0);
  int64_t r = rankOf(x);
  bool upper = attrInt("upper", 1);
  OpFoldResult k = b.getIndexAttr(0);
  if (hasInput(1))
    k = elemsOf(in(1))[0];
  Value kv = indexValue(k);
  Type elt = eltOf(x);
  setOut(
      0, elementwise({x}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
        // Keep j - i >= k (upper) or j - i <= k (lower).
        Value i = linalg::IndexOp::create(nb, nl, r - 2);
        Value j = linalg::IndexOp::create(nb, nl, r - 1);
        Value diff = arith::SubIOp::create(nb, nl, j, i);
        Value keep = arith::CmpIOp::create(nb, nl,
                                           upper ? arith::CmpIPredicate::sge
                                                 : arith::CmpIPredicate::sle,
                                           diff, kv);
        return arith::SelectOp::create(nb, nl, keep, a[0], fc(nb, nl, elt, 0))
            .getResult();
      }));
  return success();
}

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
    setOut(0, along(normAxis((*axisC)[0], r)));
    return success();
  }
  // A run-time axis: every candidate, selected by the axis' value.
  OpFoldResult axisV = elemsOf(in(1))[0];
  OpFoldResult axisN =
      select(cmp(arith::CmpIPredicate::slt, axisV, b.getIndexAttr(0)),
             foldBin(axisV, b.getIndexAttr(r), '+'), axisV);
  Value y = along(0);
  for (int64_t i = 1; i < r; ++i) {
    Value c =
        cast<Value>(cmp(arith::CmpIPredicate::eq, axisN, b.getIndexAttr(i)));
    Value yi = along(i);
    y = elementwise(
        {yi, y}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
          return arith::SelectOp::create(nb, nl, c, a[0], a[1]).getResult();
        });
  }
  setOut(0, y);
  return success();
}

LogicalResult Importer::importMean(const onnx::NodeProto &n) {
  SmallVector<Value> ins;
  for (int i = 0; i < n.input_size(); ++i)
    ins.push_back(inV(i));
  Type elt = eltOf(ins[0]);
  if (!isF(elt))
    fail(nodeDesc() + ": needs float operands");
  double count = ins.size();
  setOut(0,
         elementwise(ins, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
           Value r = a[0];
           for (size_t i = 1; i < a.size(); ++i)
             r = arith::AddFOp::create(nb, nl, r, a[i]);
           return arith::DivFOp::create(nb, nl, r, fc(nb, nl, elt, count))
               .getResult();
         }));
  return success();
}

LogicalResult Importer::importArgMaxMin(const onnx::NodeProto &n) {
  StringRef op = n.op_type();
  MLIRContext *ctx = b.getContext();
  Value x = inV(0);
  int64_t r = rankOf(x);
  int64_t axis = normAxis(attrInt("axis", 0), r);
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
      SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(r, ctx), om,
                             om},
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
    y = reshape(y, ks);
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
  if (auto axes = attrInts("axes"); axes && !axes->empty())
    for (int64_t a : *axes)
      ax.push_back(normAxis(a, r));
  else
    for (int64_t i = 0; i < r; ++i)
      ax.push_back(i);
  bool f = isF(elt);
  if (!f && (name == "ReduceLogSum" || name == "ReduceLogSumExp" ||
             name == "ReduceL2"))
    fail(nodeDesc() + ": needs a float input");
  Value shift;
  Value pre = x;
  if (name == "ReduceLogSumExp") {
    // log(sum(exp(x - m))) + m with m the maximum: no overflow.
    shift = reduce(x, ax, K::Max, true);
    pre = elementwise({x, shift}, elt,
                      [&](OpBuilder &nb, Location nl, ValueRange a) {
                        Value d = arith::SubFOp::create(nb, nl, a[0], a[1]);
                        return math::ExpOp::create(nb, nl, d).getResult();
                      });
  } else if (name != "ReduceLogSum") {
    pre = elementwise(
        {x}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          if (name == "ReduceL1")
            return f ? (Value)math::AbsFOp::create(nb, nl, a[0])
                     : (Value)math::AbsIOp::create(nb, nl, a[0]);
          return binary(nb, nl, "Mul", a[0], a[0]);
        });
  }
  Value s = reduce(pre, ax, K::Sum, true);
  if (name == "ReduceL2" || name == "ReduceLogSum")
    s = elementwise({s}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
      return name == "ReduceL2"
                 ? math::SqrtOp::create(nb, nl, a[0]).getResult()
                 : math::LogOp::create(nb, nl, a[0]).getResult();
    });
  if (name == "ReduceLogSumExp")
    s = elementwise(
        {s, shift}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
          Value l = math::LogOp::create(nb, nl, a[0]);
          return arith::AddFOp::create(nb, nl, l, a[1]).getResult();
        });
  if (!keep) {
    SmallVector<OpFoldResult> d = dims(s), out;
    for (int64_t i = 0; i < r; ++i)
      if (!llvm::is_contained(ax, i))
        out.push_back(d[i]);
    s = reshape(s, out);
  }
  setOut(0, s);
  return success();
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
  if (importFlatEpilogue(n.op_type()))
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
    fail(nodeDesc() + ": integer operands are not supported");
  double alpha = attrFloat("alpha", 0.01f);
  setOut(
      0,
      elementwise(
          {x}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
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
              Value e = math::ExpOp::create(nb, nl,
                                            arith::NegFOp::create(nb, nl, v));
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
                  arith::MulFOp::create(nb, nl, v, fc(nb, nl, elt, alpha)),
                  v);
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
            Value lt = arith::CmpFOp::create(
                nb, nl, arith::CmpFPredicate::OLT, v, zero);
            return arith::SelectOp::create(nb, nl, lt, zero, v);
          }));
  return success();
}

LogicalResult Importer::importCast(const onnx::NodeProto &) {
  MLIRContext *ctx = b.getContext();
  TV &x = in(0);
  Type to =
      elementTypeOrFail(ctx, attrInt("to", 0), nodeDesc() + "'s target");
  if (x.elems && isa<IntegerType>(to) && !to.isInteger(1) &&
      isa<IntegerType>(eltOf(x.v))) {
    setOut(0, fromElems(*x.elems, to, rankOf(x.v) == 0));
    return success();
  }
  setOut(0, castTensor(x, to,
                       attrInt("to", 0) == onnx::TensorProto::UINT8));
  return success();
}

LogicalResult Importer::importWhere(const onnx::NodeProto &) {
  Value c = inV(0), x = inV(1), y = inV(2);
  setOut(0, elementwise({c, x, y}, eltOf(x),
                        [&](OpBuilder &nb, Location nl, ValueRange a) {
                          return arith::SelectOp::create(nb, nl, a[0], a[1],
                                                         a[2])
                              .getResult();
                        }));
  return success();
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
  setOut(0,
         elementwise(ins, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
           Value v = a[0];
           int k = 1;
           bool f = isF(elt);
           if (hasMin) {
             Value lo = a[k++];
             Value lt = f ? (Value)arith::CmpFOp::create(
                                nb, nl, arith::CmpFPredicate::OLT, v, lo)
                          : (Value)arith::CmpIOp::create(
                                nb, nl,
                                uns ? arith::CmpIPredicate::ult
                                    : arith::CmpIPredicate::slt,
                                v, lo);
             v = arith::SelectOp::create(nb, nl, lt, lo, v);
           }
           if (hasMax) {
             Value hi = a[k++];
             Value gt = f ? (Value)arith::CmpFOp::create(
                                nb, nl, arith::CmpFPredicate::OGT, v, hi)
                          : (Value)arith::CmpIOp::create(
                                nb, nl,
                                uns ? arith::CmpIPredicate::ugt
                                    : arith::CmpIPredicate::sgt,
                                v, hi);
             v = arith::SelectOp::create(nb, nl, gt, hi, v);
           }
           return v;
         }));
  return success();
}

LogicalResult Importer::importExpand(const onnx::NodeProto &n) {
  TV &x = in(0);
  SmallVector<OpFoldResult> shape = elemsOf(in(1));
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
      fail(what + " is negative (" + std::to_string(*ce) + ")");
    if (j < offX) {
      out.push_back(ce ? e : foldBin(e, b.getIndexAttr(0), 'M'));
      continue;
    }
    OpFoldResult d = xd[j - offX];
    std::optional<int64_t> cd = getConstantIntValue(d);
    if (cd && *cd == 1) {
      out.push_back(ce ? e : foldBin(e, b.getIndexAttr(0), 'M'));
    } else if (cd || (ce && *ce == 1)) {
      if (cd)
        (void)checkDim(e, d, what, /*orOne=*/true);
      out.push_back(d);
    } else if (ce) {
      out.push_back(e); // elementwise checks the input's size against it
    } else {
      // Both at run time: a 1 in the shape keeps the input's size; any
      // other value must equal it (a run-time 1 of the input does not
      // broadcast). The size never exceeds the input's.
      Value isOne = arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::eq, indexValue(e),
          arith::ConstantIndexOp::create(b, loc, 1));
      Value want = arith::SelectOp::create(b, loc, isOne, indexValue(d),
                                           indexValue(e));
      (void)checkDim(d, want,
                     nodeDesc() + ": dimension " +
                         std::to_string(j - offX) + " of input '" +
                         n.input(0) + "' against element " +
                         std::to_string(j - offS) + " of " + shapeName +
                         " (broadcasting a run-time 1 is not supported)");
      out.push_back(foldBin(want, d, 'm'));
    }
  }
  setOut(0,
         elementwise(
             {x.v}, eltOf(x.v),
             [](OpBuilder &, Location, ValueRange a) { return a[0]; }, out));
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
        (void)checkAxes(1, r, masks);
        SmallVector<OpFoldResult> av = elemsOf(in(1));
        Value y;
        for (const auto &cand : cands) {
          Value yi = reduce(x, cand, K::Sum, false);
          if (!y) {
            y = yi;
            continue;
          }
          // Every run-time axis (normalised) is in this candidate.
          Value all =
              arith::ConstantOp::create(b, loc, b.getBoolAttr(true));
          for (OpFoldResult a : av) {
            Value ai = indexValue(a);
            Value zero = arith::ConstantIndexOp::create(b, loc, 0);
            Value neg = arith::CmpIOp::create(
                b, loc, arith::CmpIPredicate::slt, ai, zero);
            ai = arith::SelectOp::create(
                b, loc, neg,
                arith::AddIOp::create(
                    b, loc, ai, arith::ConstantIndexOp::create(b, loc, r)),
                ai);
            Value any =
                arith::ConstantOp::create(b, loc, b.getBoolAttr(false));
            for (int64_t c : cand)
              any = arith::OrIOp::create(
                  b, loc, any,
                  arith::CmpIOp::create(
                      b, loc, arith::CmpIPredicate::eq, ai,
                      arith::ConstantIndexOp::create(b, loc, c)));
            all = arith::AndIOp::create(b, loc, all, any);
          }
          y = elementwise({yi, y}, eltOf(x),
                          [&](OpBuilder &nb, Location nl, ValueRange v) {
                            return arith::SelectOp::create(nb, nl, all,
                                                           v[0], v[1])
                                .getResult();
                          });
        }
        setOut(0, y);
        return success();
      }
    }
    if (!axes) {
      bool keep = attrInt("keepdims", 1);
      axes = axesFromDeclaredShape(x, keep);
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
        (void)checkAxes(1, r, {want}, ones);
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
    for (int64_t a : *axes)
      ax.push_back(normAxis(a, r));
  K kind = op == "ReduceMax"    ? K::Max
           : op == "ReduceMin"  ? K::Min
           : op == "ReduceProd" ? K::Prod
                                : K::Sum;
  Value s = reduce(x, ax, kind, keep);
  if (op == "ReduceMean") {
    Value cnt = countOf(x, ax, eltOf(x));
    Type elt = eltOf(x);
    s = elementwise({s}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
      return isF(elt) ? (Value)arith::DivFOp::create(nb, nl, a[0], cnt)
                      : (Value)arith::DivSIOp::create(nb, nl, a[0], cnt);
    });
  }
  setOut(0, s);
  return success();
}

/// Softmax-1/11 and LogSoftmax-1/11: the input is coerced to 2-D at `axis`
/// (default 1).
LogicalResult Importer::importSoftmax11(const onnx::NodeProto &n) {
  return importSoftmax(n, /*coerce2D=*/true);
}

/// Softmax-13 and LogSoftmax-13: along `axis` (default -1).
LogicalResult Importer::importSoftmax13(const onnx::NodeProto &n) {
  return importSoftmax(n, /*coerce2D=*/false);
}

LogicalResult Importer::importSoftmax(const onnx::NodeProto &n,
                                      bool coerce2D) {
  StringRef op = n.op_type();
  Value x = inV(0);
  int64_t r = rankOf(x);
  int64_t axis = normAxis(attrInt("axis", coerce2D ? 1 : -1), r);
  Type elt = eltOf(x);
  if (!isF(elt))
    fail(nodeDesc() + ": needs a float operand");
  SmallVector<OpFoldResult> orig = dims(x);
  Value v = x;
  if (coerce2D && axis != r - 1) {
    OpFoldResult outer = b.getIndexAttr(1), inner = b.getIndexAttr(1);
    for (int64_t i = 0; i < r; ++i)
      (i < axis ? outer : inner) =
          foldBin(i < axis ? outer : inner, orig[i], '*');
    v = reshape(x, {outer, inner});
    axis = 1;
  }
  Value y;
  if (op == "Softmax") {
    Value init = empty(dims(v), elt);
    y = linalg::SoftmaxOp::create(b, loc, TypeRange{init.getType()}, v, init,
                                  (uint64_t)axis)
            .getResult()[0];
  } else {
    Value m = reduce(v, {axis}, K::Max, true);
    Value s = elementwise(
        {v, m}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
          return arith::SubFOp::create(nb, nl, a[0], a[1]).getResult();
        });
    Value e =
        elementwise({s}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
          return math::ExpOp::create(nb, nl, a[0]).getResult();
        });
    Value sum = reduce(e, {axis}, K::Sum, true);
    y = elementwise(
        {s, sum}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
          return arith::SubFOp::create(nb, nl, a[0],
                                       math::LogOp::create(nb, nl, a[1]))
              .getResult();
        });
  }
  if (v != x)
    y = reshape(y, orig);
  setOut(0, y);
  return success();
}

LogicalResult Importer::importLayerNormalization(const onnx::NodeProto &) {
  Value x = inV(0);
  int64_t r = rankOf(x);
  int64_t axis = normAxis(attrInt("axis", -1), r);
  double eps = attrFloat("epsilon", 1e-5f);
  Type elt = eltOf(x);
  SmallVector<int64_t> ax;
  for (int64_t i = axis; i < r; ++i)
    ax.push_back(i);
  Value cnt = countOf(x, ax, elt);
  Value mean = reduce(x, ax, K::Sum, true);
  mean =
      elementwise({mean}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
        return arith::DivFOp::create(nb, nl, a[0], cnt).getResult();
      });
  Value d = elementwise(
      {x, mean}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
        return arith::SubFOp::create(nb, nl, a[0], a[1]).getResult();
      });
  Value sq =
      elementwise({d}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
        return arith::MulFOp::create(nb, nl, a[0], a[0]).getResult();
      });
  Value var = reduce(sq, ax, K::Sum, true);
  Value inv =
      elementwise({var}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value v = arith::DivFOp::create(nb, nl, a[0], cnt);
        v = arith::AddFOp::create(nb, nl, v, fc(nb, nl, elt, eps));
        return math::RsqrtOp::create(nb, nl, v).getResult();
      });
  SmallVector<Value> ins = {d, inv, inV(1)};
  bool bias = hasInput(2);
  if (bias)
    ins.push_back(inV(2));
  Value y =
      elementwise(ins, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value v = arith::MulFOp::create(
            nb, nl, arith::MulFOp::create(nb, nl, a[0], a[1]), a[2]);
        return bias ? (Value)arith::AddFOp::create(nb, nl, v, a[3]) : v;
      });
  setOut(0, y);
  if (hasOutput(1))
    setOut(1, mean);
  if (hasOutput(2))
    setOut(2, inv);
  return success();
}

LogicalResult Importer::importBatchNormalization(const onnx::NodeProto &) {
  Value x = inV(0);
  int64_t r = rankOf(x);
  Type elt = eltOf(x);
  double eps = attrFloat("epsilon", 1e-5f);
  bool training = attrInt("training_mode", 0);
  if (!training && hasOutput(1))
    fail(nodeDesc() + ": running statistics outputs need training_mode=1");
  SmallVector<Value> stats = {inV(3), inV(4)};
  if (training) {
    // BatchNormalization-14/15 training mode: normalise with the batch's
    // statistics (population variance) and update the running ones.
    double momentum = attrFloat("momentum", 0.9f);
    SmallVector<int64_t> ax = {0};
    for (int64_t i = 2; i < r; ++i)
      ax.push_back(i);
    Value cnt = countOf(x, ax, elt);
    auto divBy = [&](Value v) {
      return elementwise(
          {v}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
            return arith::DivFOp::create(nb, nl, a[0], cnt).getResult();
          });
    };
    Value mean = divBy(reduce(x, ax, K::Sum, false));
    SmallVector<OpFoldResult> cshape = {dim(x, 1)};
    for (int64_t i = 2; i < r; ++i)
      cshape.push_back(b.getIndexAttr(1));
    Value meanB = reshape(mean, cshape);
    Value sq = elementwise(
        {x, meanB}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
          Value d = arith::SubFOp::create(nb, nl, a[0], a[1]);
          return arith::MulFOp::create(nb, nl, d, d).getResult();
        });
    Value var = divBy(reduce(sq, ax, K::Sum, false));
    auto running = [&](Value old, Value cur) {
      return elementwise(
          {old, cur}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
            Value o = arith::MulFOp::create(nb, nl, a[0],
                                            fc(nb, nl, elt, momentum));
            Value c = arith::MulFOp::create(nb, nl, a[1],
                                            fc(nb, nl, elt, 1.0 - momentum));
            return arith::AddFOp::create(nb, nl, o, c).getResult();
          });
    };
    if (hasOutput(1))
      setOut(1, running(inV(3), mean));
    if (hasOutput(2))
      setOut(2, running(inV(4), var));
    stats = {mean, var};
  }
  SmallVector<Value> ins = {x};
  for (int i = 1; i <= 4; ++i) {
    Value p = i <= 2 ? inV(i) : stats[i - 3];
    SmallVector<OpFoldResult> shape = dims(p);
    for (int64_t k = 2; k < r; ++k)
      shape.push_back(b.getIndexAttr(1));
    ins.push_back(reshape(p, shape));
  }
  setOut(
      0, elementwise(ins, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
        // (x - mean) * scale / sqrt(var + eps) + bias
        Value s = arith::AddFOp::create(nb, nl, a[4], fc(nb, nl, elt, eps));
        s = arith::DivFOp::create(nb, nl, a[1],
                                  math::SqrtOp::create(nb, nl, s));
        Value v = arith::MulFOp::create(
            nb, nl, arith::SubFOp::create(nb, nl, a[0], a[3]), s);
        return arith::AddFOp::create(nb, nl, v, a[2]).getResult();
      }));
  return success();
}

LogicalResult Importer::importTranspose(const onnx::NodeProto &) {
  Value x = inV(0);
  int64_t r = rankOf(x);
  SmallVector<int64_t> perm;
  if (auto p = attrInts("perm"))
    perm = *p;
  else
    for (int64_t i = r - 1; i >= 0; --i)
      perm.push_back(i);
  SmallVector<int64_t> sorted(perm);
  llvm::sort(sorted);
  for (int64_t i = 0; i < std::max<int64_t>(r, sorted.size()); ++i)
    if (int64_t(sorted.size()) != r || sorted[i] != i)
      fail(nodeDesc() + ": perm is not a permutation of the input's " +
           std::to_string(r) + " dimensions");
  setOut(0, transpose(x, perm));
  return success();
}

LogicalResult Importer::importReshape(const onnx::NodeProto &n) {
  TV &x = in(0);
  auto specType = typeOf(inV(1));
  if (!specType.hasStaticShape() && !in(1).elems) {
    auto decl = staticDeclaredShape(0);
    if (!decl)
      fail("cannot resolve the result shape of " + nodeDesc() +
           ": the length of its shape operand is only known at run time "
           "and the result shape is not declared");
    // The shape's length and elements must give the declared shape.
    std::string shapeName = "the shape input '" + n.input(1) + "'";
    Value spec = inV(1);
    Value lenOk =
        checkDim(dim(spec, 0), b.getIndexAttr(decl->size()),
                 nodeDesc() + ": the length of " + shapeName);
    SmallVector<OpFoldResult> xd = dims(x.v);
    bool allowZero = attrInt("allowzero", 0);
    for (size_t k = 0; k < decl->size(); ++k) {
      Value want = indexValue((*decl)[k]);
      auto ifOp = scf::IfOp::create(b, loc, TypeRange{b.getIndexType()},
                                    lenOk, /*withElseRegion=*/true);
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
            cmp(arith::CmpIPredicate::eq, e, b.getIndexAttr(0)), xd[k],
            given));
      (void)checkDim(given, want,
                     nodeDesc() + ": element " + std::to_string(k) + " of " +
                         shapeName + " (declared result shape)");
    }
    setOut(0, reshape(x.v, *decl));
    return success();
  }
  SmallVector<OpFoldResult> spec = elemsOf(in(1));
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
        fail(nodeDesc() + ": more than one -1 in the shape");
      inferAt = i;
      out.push_back(d);
      continue;
    }
    if (c && *c == 0 && !allowZero) {
      if (i >= in.size())
        fail(nodeDesc() + ": 0 in the shape beyond the input's rank");
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
  if (inferAt >= 0)
    out[inferAt] = foldBin(total, known, '/');
  for (auto [i, isInfer] : runtimeInfer) {
    Value inferred = indexValue(foldBin(total, known, '/'));
    out[i] =
        arith::SelectOp::create(b, loc, isInfer, inferred, indexValue(out[i]))
            .getResult();
  }
  if (x.elems && out.size() <= 1) {
    // Shape values keep their elements.
    setOut(0, fromElems(*x.elems, eltOf(x.v), out.empty()));
    return success();
  }
  setOut(0, reshape(x.v, out));
  return success();
}

LogicalResult Importer::importFlatten(const onnx::NodeProto &) {
  Value x = inV(0);
  int64_t r = rankOf(x);
  int64_t axis = attrInt("axis", 1);
  if (axis < 0)
    axis += r;
  if (axis < 0 || axis > r)
    fail(nodeDesc() + ": axis out of range");
  OpFoldResult outer = b.getIndexAttr(1), inner = b.getIndexAttr(1);
  SmallVector<OpFoldResult> d = dims(x);
  for (int64_t i = 0; i < r; ++i) {
    if (i < axis)
      outer = foldBin(outer, d[i], '*');
    else
      inner = foldBin(inner, d[i], '*');
  }
  setOut(0, reshape(x, {outer, inner}));
  return success();
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
        fail(nodeDesc() +
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
                     (big[k] == small[j] ||
                      ShapedType::isDynamic(big[k]) ||
                      ShapedType::isDynamic(small[j]));
            if (!(mask >> k & 1))
              ++j;
          }
          if (fits)
            cands.push_back(mask);
        }
      if (R <= 16)
        (void)checkAxes(1, R, cands);
      setOut(0, reshape(x.v, *decl));
      return success();
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
      for (int64_t a : *axes)
        drop.insert(normAxis(a, r));
    for (int64_t i = 0; i < r; ++i) {
      std::optional<int64_t> c = getConstantIntValue(d[i]);
      bool squeeze = axes ? drop.count(i) > 0 : (c && *c == 1);
      if (squeeze && c && *c != 1)
        fail(nodeDesc() + ": cannot squeeze a dimension that is not 1");
      if (!squeeze)
        out.push_back(d[i]);
    }
  } else {
    if (!axes)
      fail(nodeDesc() + ": needs axes");
    int64_t outRank = r + axes->size();
    std::set<int64_t> ins;
    for (int64_t a : *axes)
      ins.insert(normAxis(a, outRank));
    int64_t k = 0;
    for (int64_t i = 0; i < outRank; ++i)
      out.push_back(ins.count(i) ? (OpFoldResult)b.getIndexAttr(1) : d[k++]);
  }
  if (x.elems && out.size() <= 1 && r <= 1) {
    setOut(0, fromElems(*x.elems, eltOf(x.v), out.empty()));
    return success();
  }
  setOut(0, reshape(x.v, out));
  return success();
}

LogicalResult Importer::importConcat(const onnx::NodeProto &n) {
  SmallVector<TV *> ins;
  for (int i = 0; i < n.input_size(); ++i)
    if (hasInput(i))
      ins.push_back(&in(i));
  int64_t r = rankOf(ins[0]->v);
  for (TV *t : ins)
    if (rankOf(t->v) != r)
      fail(nodeDesc() + ": inputs have different ranks (" +
           std::to_string(r) + " and " + std::to_string(rankOf(t->v)) + ")");
  int64_t axis = normAxis(attrInt("axis", 0), r);
  Type elt = eltOf(ins[0]->v);
  bool allElems = r == 1 && isa<IntegerType>(elt);
  for (TV *t : ins)
    allElems = allElems && typeOf(t->v).hasStaticShape() &&
               (t->elems || t->cst) && typeOf(t->v).getNumElements() <= 64;
  if (allElems) {
    SmallVector<OpFoldResult> all;
    for (TV *t : ins)
      llvm::append_range(all, elemsOf(*t));
    setOut(0, fromElems(all, elt));
    return success();
  }
  SmallVector<Value> vals;
  for (TV *t : ins) {
    std::optional<int64_t> len = getConstantIntValue(dim(t->v, axis));
    if (!len || *len > 0)
      vals.push_back(t->v);
  }
  if (vals.empty())
    vals.push_back(ins[0]->v);
  setOut(0, vals.size() == 1 ? vals[0] : concat(vals, axis));
  return success();
}

/// Split-1/11: the sizes are an attribute.
LogicalResult Importer::importSplit11(const onnx::NodeProto &n) {
  return splitInto(n, attrInts("split"), {});
}

/// Split-13: the sizes are an optional input; run-time sizes are taken from
/// the declared result shapes (and checked).
LogicalResult Importer::importSplit13(const onnx::NodeProto &n) {
  Value x = inV(0);
  int64_t r = rankOf(x);
  if (r == 0)
    fail(nodeDesc() + ": Split needs an input of rank >= 1");
  int64_t axis = normAxis(attrInt("axis", 0), r);
  int outs = n.output_size();
  std::optional<SmallVector<int64_t>> split;
  SmallVector<Value> splitOks;
  if (hasInput(1)) {
    split = constInts(in(1));
    if (!split) {
      // Run-time sizes: take them from the declared result shapes.
      split.emplace();
      for (int i = 0; i < outs; ++i) {
        RankedTensorType t = declaredOut(i);
        if (!t || t.getRank() != r || t.isDynamicDim(axis))
          fail(nodeDesc() + ": split sizes must be constant, or the result "
                            "shapes declared");
        split->push_back(t.getDimSize(axis));
      }
      // The run-time sizes must be the declared ones.
      auto st = typeOf(inV(1));
      if (st.hasStaticShape() && st.getRank() == 1) {
        if (st.getNumElements() != outs)
          fail(nodeDesc() + ": the split input has " +
               std::to_string(st.getNumElements()) + " sizes for " +
               std::to_string(outs) + " outputs");
        SmallVector<OpFoldResult> given = elemsOf(in(1));
        for (int i = 0; i < outs; ++i)
          splitOks.push_back(checkDim(
              given[i], b.getIndexAttr((*split)[i]),
              nodeDesc() + ": element " + std::to_string(i) +
                  " of the split input '" + n.input(1) +
                  "' (declared size of output '" + n.output(i) + "')"));
      }
    }
  }
  return splitInto(n, split, splitOks);
}

LogicalResult Importer::splitInto(const onnx::NodeProto &n,
                                  std::optional<SmallVector<int64_t>> split,
                                  SmallVector<Value> splitOks) {
  Value x = inV(0);
  int64_t r = rankOf(x);
  if (r == 0)
    fail(nodeDesc() + ": Split needs an input of rank >= 1");
  int64_t axis = normAxis(attrInt("axis", 0), r);
  int outs = n.output_size();
  SmallVector<OpFoldResult> sizes;
  OpFoldResult d = dim(x, axis);
  if (split) {
    int64_t total = 0;
    for (int64_t s : *split) {
      sizes.push_back(b.getIndexAttr(s));
      total += s;
    }
    // The parts must cover the dimension (a static mismatch fails here).
    splitOks.push_back(checkDim(d, b.getIndexAttr(total),
                                nodeDesc() + ": dimension " +
                                    std::to_string(axis) + " of input '" +
                                    n.input(0) +
                                    "' (the sum of the split sizes)"));
  } else {
    std::optional<int64_t> c = getConstantIntValue(d);
    if (c && *c % outs)
      fail(nodeDesc() + ": the dimension does not split evenly");
    for (int i = 0; i < outs; ++i)
      sizes.push_back(foldBin(d, b.getIndexAttr(outs), '/'));
  }
  OpFoldResult offset = b.getIndexAttr(0);
  for (int i = 0; i < outs; ++i) {
    SmallVector<OpFoldResult> offs(r, b.getIndexAttr(0)),
        strides(r, b.getIndexAttr(1));
    SmallVector<OpFoldResult> sz = dims(x);
    offs[axis] = offset;
    sz[axis] = sizes[i];
    SmallVector<int64_t> shape;
    for (OpFoldResult v : sz)
      shape.push_back(getConstantIntValue(v).value_or(ShapedType::kDynamic));
    setOut(i, guarded(allOf(splitOks),
                      RankedTensorType::get(shape, eltOf(x)),
                      [&] { return slice(x, offs, sz, strides); }));
    offset = foldBin(offset, sizes[i], '+');
  }
  return success();
}

LogicalResult Importer::importSlice(const onnx::NodeProto &) {
  TV &x = in(0);
  int64_t r = rankOf(x.v);
  SmallVector<OpFoldResult> starts = elemsOf(in(1)), ends = elemsOf(in(2));
  size_t n = starts.size();
  if (ends.size() != n)
    fail(nodeDesc() + ": starts and ends differ in length");
  SmallVector<OpFoldResult> axes, steps(n, b.getIndexAttr(1));
  if (hasInput(3)) {
    for (OpFoldResult a : elemsOf(in(3))) {
      if (std::optional<int64_t> c = getConstantIntValue(a)) {
        axes.push_back(b.getIndexAttr(normAxis(*c, r)));
        continue;
      }
      axes.push_back(
          select(cmp(arith::CmpIPredicate::slt, a, b.getIndexAttr(0)),
                 foldBin(a, b.getIndexAttr(r), '+'), a));
    }
  } else {
    for (size_t k = 0; k < n; ++k)
      axes.push_back(b.getIndexAttr(k));
  }
  if (hasInput(4))
    steps = elemsOf(in(4));
  if (axes.size() != n || steps.size() != n)
    fail(nodeDesc() + ": axes/steps differ in length from starts");
  for (OpFoldResult st : steps)
    if (getConstantIntValue(st) == 0)
      fail(nodeDesc() + ": step 0");
  // Huge constants (INT64_MAX/MIN mean "to the end") stay huge but safe.
  auto big = [&](OpFoldResult v) -> OpFoldResult {
    if (std::optional<int64_t> c = getConstantIntValue(v))
      return b.getIndexAttr(
          std::clamp<int64_t>(*c, -(int64_t(1) << 40), int64_t(1) << 40));
    return v;
  };
  auto norm = [&](OpFoldResult v, OpFoldResult d) {
    return select(cmp(arith::CmpIPredicate::slt, v, b.getIndexAttr(0)),
                  foldBin(v, d, '+'), v);
  };
  auto clampTo = [&](OpFoldResult v, OpFoldResult lo, OpFoldResult hi) {
    return foldBin(foldBin(v, lo, 'M'), hi, 'm');
  };
  SmallVector<OpFoldResult> d = dims(x.v), offs, sizes, strides;
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  for (int64_t i = 0; i < r; ++i) {
    OpFoldResult s = zero, en = d[i], st = one;
    for (size_t k = 0; k < n; ++k) {
      OpFoldResult here =
          cmp(arith::CmpIPredicate::eq, axes[k], b.getIndexAttr(i));
      if (getConstantIntValue(here) == 0)
        continue;
      s = select(here, big(starts[k]), s);
      en = select(here, big(ends[k]), en);
      st = select(here, steps[k], st);
    }
    s = norm(s, d[i]);
    en = norm(en, d[i]);
    OpFoldResult isPos = cmp(arith::CmpIPredicate::sgt, st, zero);
    OpFoldResult off, len;
    if (getConstantIntValue(isPos) != 0) {
      OpFoldResult sp = clampTo(s, zero, d[i]), ep = clampTo(en, zero, d[i]);
      OpFoldResult l = foldBin(
          foldBin(foldBin(ep, sp, '-'), foldBin(st, one, '-'), '+'), st, '/');
      off = sp;
      len = foldBin(l, zero, 'M');
    }
    if (getConstantIntValue(isPos) != 1) {
      OpFoldResult dm1 = foldBin(d[i], one, '-');
      OpFoldResult ns = foldBin(zero, st, '-');
      OpFoldResult sn = clampTo(s, zero, dm1),
                   enn = clampTo(en, b.getIndexAttr(-1), dm1);
      OpFoldResult l =
          foldBin(foldBin(foldBin(sn, enn, '-'), foldBin(ns, one, '-'), '+'),
                  ns, '/');
      l = foldBin(l, zero, 'M');
      off = off ? select(isPos, off, sn) : sn;
      len = len ? select(isPos, len, l) : l;
    }
    offs.push_back(off);
    sizes.push_back(len);
    strides.push_back(st);
  }
  SmallVector<Value> sliceOks;
  if (auto decl = staticDeclaredShape(0))
    if ((int64_t)decl->size() == r)
      for (int64_t i = 0; i < r; ++i)
        if (!getConstantIntValue(sizes[i])) {
          // The run-time starts/ends must select the declared length.
          sliceOks.push_back(checkDim(
              sizes[i], (*decl)[i],
              nodeDesc() + ": the length selected along dimension " +
                  std::to_string(i) + " (declared result shape)"));
          sizes[i] = (*decl)[i];
        }
  // Shape values keep their elements.
  if (x.elems && r == 1) {
    auto o = getConstantIntValue(offs[0]), sz = getConstantIntValue(sizes[0]),
         st = getConstantIntValue(strides[0]);
    if (o && sz && st) {
      SmallVector<OpFoldResult> el;
      for (int64_t i = 0; i < *sz; ++i)
        el.push_back((*x.elems)[*o + i * *st]);
      setOut(0, fromElems(el, eltOf(x.v)));
      return success();
    }
  }
  SmallVector<int64_t> sliceShape;
  for (OpFoldResult v : sizes)
    sliceShape.push_back(
        getConstantIntValue(v).value_or(ShapedType::kDynamic));
  setOut(0, guarded(allOf(sliceOks),
                    RankedTensorType::get(sliceShape, eltOf(x.v)),
                    [&] { return slice(x.v, offs, sizes, strides); }));
  return success();
}

LogicalResult Importer::importGather(const onnx::NodeProto &) {
  MLIRContext *ctx = b.getContext();
  TV &data = in(0), &indices = in(1);
  int64_t r = rankOf(data.v);
  int64_t axis = normAxis(attrInt("axis", 0), r);
  auto idxConst = constInts(indices);
  if (data.elems && r == 1 && idxConst && rankOf(indices.v) <= 1) {
    SmallVector<OpFoldResult> el;
    int64_t len = data.elems->size();
    for (int64_t i : *idxConst) {
      if (i < -len || i >= len)
        fail(llvm::formatv("{0}: index {1} out of range [{2}, {3})",
                           nodeDesc(), i, -len, len)
                 .str());
      el.push_back((*data.elems)[i < 0 ? i + len : i]);
    }
    setOut(0, fromElems(el, eltOf(data.v), rankOf(indices.v) == 0));
    return success();
  }
  int64_t ri = rankOf(indices.v);
  SmallVector<OpFoldResult> dd = dims(data.v), id = dims(indices.v), out;
  for (int64_t i = 0; i < axis; ++i)
    out.push_back(dd[i]);
  llvm::append_range(out, id);
  for (int64_t i = axis + 1; i < r; ++i)
    out.push_back(dd[i]);
  int64_t ro = out.size();
  SmallVector<AffineExpr> ie;
  for (int64_t i = 0; i < ri; ++i)
    ie.push_back(getAffineDimExpr(axis + i, ctx));
  Value init = empty(out, eltOf(data.v));
  Value axisDim = indexValue(dd[axis]);
  Value dv = data.v;
  Message msg = indexCheckMessage(nodeDesc());
  auto g = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{indices.v},
      ValueRange{init},
      SmallVector<AffineMap>{AffineMap::get(ro, 0, ie, ctx),
                             AffineMap::getMultiDimIdentityMap(ro, ctx)},
      SmallVector<utils::IteratorType>(ro, utils::IteratorType::parallel),
      [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value i = arith::IndexCastOp::create(nb, nl, nb.getIndexType(), a[0]);
        auto [ok, w] = checkIndex(nb, nl, i, axisDim, msg);
        SmallVector<Value> coords;
        for (int64_t k = 0; k < axis; ++k)
          coords.push_back(linalg::IndexOp::create(nb, nl, k));
        coords.push_back(w);
        for (int64_t k = axis + 1; k < r; ++k)
          coords.push_back(linalg::IndexOp::create(nb, nl, k + ri - 1));
        linalg::YieldOp::create(nb, nl,
                                guardedExtract(nb, nl, ok, dv, coords));
      });
  setOut(0, g.getResult(0));
  return success();
}

LogicalResult Importer::importScatterElements(const onnx::NodeProto &) {
  Value data = inV(0), indices = inV(1), updates = inV(2);
  int64_t r = rankOf(data);
  if (rankOf(indices) != r || rankOf(updates) != r)
    fail(nodeDesc() + ": data, indices and updates must have the same rank");
  int64_t axis = normAxis(attrInt("axis", 0), r);
  std::string red = attrString("reduction", "none");
  if (red != "none" && red != "add" && red != "mul")
    fail(nodeDesc() + ": reduction '" + red + "' is not supported");
  if (rankOf(indices) != r || rankOf(updates) != r)
    fail(nodeDesc() + ": indices and updates must have the rank of data");
  // updates has indices' shape; along the other axes an update is written
  // at its own position, so indices may not be larger than data there.
  SmallVector<Value> shapeOks;
  for (int64_t k = 0; k < r; ++k) {
    shapeOks.push_back(checkDim(dim(updates, k), dim(indices, k),
                                nodeDesc() + ": dimension " +
                                    std::to_string(k) + " of " +
                                    operandName(updates) + " (that of " +
                                    operandName(indices) + ")"));
    if (k != axis)
      shapeOks.push_back(checkIndicesFitData(indices, data, k));
  }
  Message msg = indexCheckMessage(nodeDesc());
  auto build = [&]() -> Value {
    SmallVector<Value> lbs, ubs, steps;
    for (OpFoldResult d : dims(indices)) {
      lbs.push_back(arith::ConstantIndexOp::create(b, loc, 0));
      ubs.push_back(indexValue(d));
      steps.push_back(arith::ConstantIndexOp::create(b, loc, 1));
    }
    auto dataType = typeOf(data);
    scf::LoopNest nest = scf::buildLoopNest(
        b, loc, lbs, ubs, steps, ValueRange{data},
        [&](OpBuilder &nb, Location nl, ValueRange ivs,
            ValueRange iter) -> scf::ValueVector {
          Value acc = iter[0];
          Value i = tensor::ExtractOp::create(nb, nl, indices, ivs);
          i = arith::IndexCastOp::create(nb, nl, nb.getIndexType(), i);
          Value size = dataType.isDynamicDim(axis)
                           ? (Value)tensor::DimOp::create(nb, nl, acc, axis)
                           : (Value)arith::ConstantIndexOp::create(
                                 nb, nl, dataType.getDimSize(axis));
          auto [ok, w] = checkIndex(nb, nl, i, size, msg);
          SmallVector<Value> coords(ivs.begin(), ivs.end());
          coords[axis] = w;
          Value u = tensor::ExtractOp::create(nb, nl, updates, ivs);
          // An out-of-range update is skipped.
          auto ifOp = scf::IfOp::create(nb, nl, TypeRange{acc.getType()}, ok,
                                        /*withElseRegion=*/true);
          OpBuilder::InsertionGuard guard(nb);
          nb.setInsertionPointToStart(ifOp.thenBlock());
          if (red != "none") {
            Value old = tensor::ExtractOp::create(nb, nl, acc, coords);
            u = binary(nb, nl, red == "add" ? "Add" : "Mul", old, u);
          }
          scf::YieldOp::create(
              nb, nl,
              tensor::InsertOp::create(nb, nl, u, acc, coords).getResult());
          nb.setInsertionPointToStart(ifOp.elseBlock());
          scf::YieldOp::create(nb, nl, acc);
          return {ifOp.getResult(0)};
        });
    return nest.results.empty() ? data : nest.results[0];
  };
  setOut(0, guarded(allOf(shapeOks), typeOf(data), build));
  return success();
}

LogicalResult Importer::importPad(const onnx::NodeProto &) {
  MLIRContext *ctx = b.getContext();
  Value x = inV(0);
  int64_t r = rankOf(x);
  std::string mode = attrString("mode", "constant");
  SmallVector<OpFoldResult> pads = elemsOf(in(1));
  if ((int64_t)pads.size() != 2 * r)
    fail(nodeDesc() + ": pads must have 2*rank entries");
  for (OpFoldResult p : pads)
    if (std::optional<int64_t> c = getConstantIntValue(p); c && *c < 0)
      fail(nodeDesc() + ": negative pads are not supported");
  Type elt = eltOf(x);
  SmallVector<OpFoldResult> lo, hi, d = dims(x), out;
  for (int64_t i = 0; i < r; ++i) {
    lo.push_back(pads[i]);
    hi.push_back(pads[i + r]);
    out.push_back(foldBin(foldBin(d[i], lo[i], '+'), hi[i], '+'));
  }
  if (mode == "constant") {
    Value cv;
    if (hasInput(2)) {
      Value c = inV(2);
      SmallVector<Value> idx(rankOf(c),
                             arith::ConstantIndexOp::create(b, loc, 0));
      cv = tensor::ExtractOp::create(b, loc, c, idx);
    } else {
      cv = fc(b, loc, elt, 0);
    }
    setOut(0, pad(x, lo, hi, cv));
    return success();
  }
  if (mode != "edge" && mode != "reflect")
    fail(nodeDesc() + ": mode '" + mode + "' is not supported");
  SmallVector<Value> dv;
  for (OpFoldResult v : d)
    dv.push_back(indexValue(v));
  Value init = empty(out, elt);
  bool edge = mode == "edge";
  SmallVector<Value> lows;
  for (int64_t i = 0; i < r; ++i)
    lows.push_back(indexValue(lo[i]));
  auto g = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
      SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(r, ctx)},
      SmallVector<utils::IteratorType>(r, utils::IteratorType::parallel),
      [&](OpBuilder &nb, Location nl, ValueRange) {
        SmallVector<Value> idx;
        Value zero = arith::ConstantIndexOp::create(nb, nl, 0);
        Value one = arith::ConstantIndexOp::create(nb, nl, 1);
        for (int64_t i = 0; i < r; ++i) {
          Value iv = linalg::IndexOp::create(nb, nl, i);
          iv = arith::SubIOp::create(nb, nl, iv, lows[i]);
          Value last = arith::SubIOp::create(nb, nl, dv[i], one);
          if (edge) {
            iv = arith::MaxSIOp::create(nb, nl, iv, zero);
            iv = arith::MinSIOp::create(nb, nl, iv, last);
          } else {
            // reflect: -i below, 2(d-1) - i above.
            Value neg = arith::CmpIOp::create(
                nb, nl, arith::CmpIPredicate::slt, iv, zero);
            iv = arith::SelectOp::create(
                nb, nl, neg, arith::SubIOp::create(nb, nl, zero, iv), iv);
            Value over = arith::CmpIOp::create(
                nb, nl, arith::CmpIPredicate::sgt, iv, last);
            Value twice = arith::AddIOp::create(nb, nl, last, last);
            iv = arith::SelectOp::create(
                nb, nl, over, arith::SubIOp::create(nb, nl, twice, iv), iv);
          }
          idx.push_back(iv);
        }
        linalg::YieldOp::create(
            nb, nl, tensor::ExtractOp::create(nb, nl, x, idx).getResult());
      });
  setOut(0, g.getResult(0));
  return success();
}

LogicalResult Importer::importMatMul(const onnx::NodeProto &n) {
  MLIRContext *ctx = b.getContext();
  Value a = inV(0), bm = inV(1);
  Type elt = eltOf(a);
  int64_t ra = rankOf(a), rb = rankOf(bm);
  if (ra == 0 || rb == 0)
    fail(nodeDesc() + ": MatMul operands must have rank >= 1, got ranks " +
         std::to_string(ra) + " and " + std::to_string(rb));
  SmallVector<OpFoldResult> da = dims(a), db = dims(bm);
  if (ra == 1) {
    a = reshape(a, {b.getIndexAttr(1), da[0]});
    da = dims(a);
  }
  if (rb == 1) {
    bm = reshape(bm, {db[0], b.getIndexAttr(1)});
    db = dims(bm);
  }
  int64_t pa = rankOf(a), pb = rankOf(bm);
  // The contracted sizes must agree: a static mismatch is an import
  // error, a symbolic one a run-time check (never a matmul that reads
  // past the shorter operand).
  (void)checkDim(db[pb - 2], da[pa - 1],
                 nodeDesc() + ": the contracted dimension of input '" +
                     n.input(1) + "' (its " +
                     (rb == 1 ? "only" : "second-to-last") +
                     " dimension) must equal the last dimension of '" +
                     n.input(0) + "'");
  Value zero = fc(b, loc, elt, 0);
  Value y, flatY;
  SmallVector<OpFoldResult> outShape;
  if (pa >= 2 && pb == 2) {
    // [..., M, K] x [K, N]: one matmul over the collapsed rows.
    OpFoldResult rows = b.getIndexAttr(1);
    for (int64_t i = 0; i < pa - 1; ++i)
      rows = foldBin(rows, da[i], '*');
    // An operand that is itself a flat epilogue result is used as it is.
    Value a2 = pa == 2                                  ? a
               : ra == pa && in(0).flat && !in(0).elems ? in(0).flat
                                       : reshape(a, {rows, da[pa - 1]});
    if (a2 != a && a2 == in(0).flat)
      rows = dim(a2, 0);
    Value init = filled({rows, db[1]}, zero);
    y = linalg::MatmulOp::create(b, loc, TypeRange{init.getType()},
                                 ValueRange{a2, bm}, ValueRange{init})
            .getResult(0);
    outShape.assign(da.begin(), da.end() - 1);
    outShape.push_back(db[1]);
    if (pa != 2) {
      flatY = y;
      y = reshape(y, outShape);
    }
  } else {
    SmallVector<OpFoldResult> ba(da.begin(), da.end() - 2),
        bb(db.begin(), db.end() - 2);
    SmallVector<OpFoldResult> batch = broadcastShape({ba, bb});
    // Symbolic batch sizes on both sides must agree (the smaller is used).
    for (size_t j = 0; j < batch.size(); ++j) {
      int64_t ia = j + ba.size() - batch.size(),
              ib = j + bb.size() - batch.size();
      if (ia < 0 || ib < 0 || getConstantIntValue(ba[ia]) ||
          getConstantIntValue(bb[ib]))
        continue;
      (void)checkDim(bb[ib], ba[ia],
                     nodeDesc() + ": batch dimension " + std::to_string(ib) +
                         " of input '" + n.input(1) + "' must equal that of '" +
                         n.input(0) + "' (a run-time 1 does not broadcast)");
    }
    outShape = batch;
    outShape.push_back(da[pa - 2]);
    outShape.push_back(db[pb - 1]);
    bool same = ba.size() == bb.size() && ba.size() == batch.size();
    for (size_t i = 0; same && i < ba.size(); ++i)
      same = ba[i] == bb[i] ||
             (getConstantIntValue(ba[i]) &&
              getConstantIntValue(ba[i]) == getConstantIntValue(bb[i]));
    if (same) {
      OpFoldResult nb = b.getIndexAttr(1);
      for (OpFoldResult d : batch)
        nb = foldBin(nb, d, '*');
      Value a3 =
          batch.size() == 1 ? a : reshape(a, {nb, da[pa - 2], da[pa - 1]});
      Value b3 =
          batch.size() == 1 ? bm : reshape(bm, {nb, db[pb - 2], db[pb - 1]});
      Value init = filled({nb, da[pa - 2], db[pb - 1]}, zero);
      y = linalg::BatchMatmulOp::create(b, loc, TypeRange{init.getType()},
                                        ValueRange{a3, b3}, ValueRange{init})
              .getResult(0);
      if (batch.size() != 1)
        y = reshape(y, outShape);
    } else {
      // Broadcast batch dimensions: a generic contraction.
      int64_t nbat = batch.size(), loops = nbat + 3;
      auto mapFor = [&](Value v, bool isA) {
        auto t = typeOf(v);
        int64_t rv = t.getRank(), bv = rv - 2;
        SmallVector<AffineExpr> ex;
        for (int64_t i = 0; i < bv; ++i) {
          int64_t j = nbat - bv + i;
          auto od = getConstantIntValue(batch[j]);
          if (t.getDimSize(i) == 1 && (!od || *od != 1))
            ex.push_back(getAffineConstantExpr(0, ctx));
          else
            ex.push_back(getAffineDimExpr(j, ctx));
        }
        if (isA) {
          ex.push_back(getAffineDimExpr(nbat, ctx));
          ex.push_back(getAffineDimExpr(nbat + 2, ctx));
        } else {
          ex.push_back(getAffineDimExpr(nbat + 2, ctx));
          ex.push_back(getAffineDimExpr(nbat + 1, ctx));
        }
        return AffineMap::get(loops, 0, ex, ctx);
      };
      SmallVector<AffineExpr> oe;
      for (int64_t i = 0; i < nbat + 2; ++i)
        oe.push_back(getAffineDimExpr(i, ctx));
      SmallVector<utils::IteratorType> it(loops,
                                          utils::IteratorType::parallel);
      it.back() = utils::IteratorType::reduction;
      Value init = filled(outShape, zero);
      y = linalg::GenericOp::create(
              b, loc, TypeRange{init.getType()}, ValueRange{a, bm},
              ValueRange{init},
              SmallVector<AffineMap>{mapFor(a, true), mapFor(bm, false),
                                     AffineMap::get(loops, 0, oe, ctx)},
              it,
              [&](OpBuilder &nb, Location nl, ValueRange args) {
                Value m = binary(nb, nl, "Mul", args[0], args[1]);
                linalg::YieldOp::create(nb, nl,
                                        binary(nb, nl, "Add", args[2], m));
              })
              .getResult(0);
    }
  }
  if (ra == 1 || rb == 1) {
    SmallVector<OpFoldResult> final;
    int64_t outRank = outShape.size();
    for (int64_t i = 0; i < outRank; ++i) {
      if (ra == 1 && i == outRank - 2)
        continue;
      if (rb == 1 && i == outRank - 1)
        continue;
      final.push_back(outShape[i]);
    }
    y = reshape(y, final);
  }
  TV out;
  out.v = y;
  if (ra != 1 && rb != 1)
    out.flat = flatY;
  setOut(0, out);
  return success();
}

LogicalResult Importer::importGemm(const onnx::NodeProto &n) {
  MLIRContext *ctx = b.getContext();
  Value a = inV(0), bm = inV(1);
  Type elt = eltOf(a);
  bool ta = attrInt("transA", 0), tb = attrInt("transB", 0);
  double alpha = attrFloat("alpha", 1.0f), beta = attrFloat("beta", 1.0f);
  if (rankOf(a) != 2 || rankOf(bm) != 2)
    fail(nodeDesc() + ": Gemm inputs A and B must be 2-D, got ranks " +
         std::to_string(rankOf(a)) + " and " + std::to_string(rankOf(bm)));
  if (hasInput(2) && rankOf(inV(2)) > 2)
    fail(nodeDesc() + ": Gemm input C must have rank <= 2, got rank " +
         std::to_string(rankOf(inV(2))));
  if (ta)
    a = transpose(a, {1, 0});
  SmallVector<OpFoldResult> da = dims(a), db = dims(bm);
  OpFoldResult nDim = tb ? db[0] : db[1];
  (void)checkDim(tb ? db[1] : db[0], da[1],
                 nodeDesc() + ": the contracted dimension of B ('" +
                     n.input(1) + "'" + (tb ? ", transposed" : "") +
                     ") must equal that of A ('" + n.input(0) + "'" +
                     (ta ? ", transposed" : "") + ")");
  Value init = filled({da[0], nDim}, fc(b, loc, elt, 0));
  auto mm = linalg::MatmulOp::create(b, loc, TypeRange{init.getType()},
                                     ValueRange{a, bm}, ValueRange{init});
  if (tb) {
    // C[m, n] += A[m, k] * B[n, k]
    AffineExpr m = getAffineDimExpr(0, ctx), nn = getAffineDimExpr(1, ctx),
               k = getAffineDimExpr(2, ctx);
    mm.setIndexingMapsAttr(
        b.getAffineMapArrayAttr({AffineMap::get(3, 0, {m, k}, ctx),
                                 AffineMap::get(3, 0, {nn, k}, ctx),
                                 AffineMap::get(3, 0, {m, nn}, ctx)}));
  }
  Value y = mm.getResult(0);
  bool hasC = hasInput(2) && beta != 0.0;
  if (hasC || alpha != 1.0) {
    SmallVector<Value> ins = {y};
    if (hasC)
      ins.push_back(inV(2));
    y = elementwise(
        ins, elt,
        [&](OpBuilder &nb, Location nl, ValueRange v) {
          Value r = v[0];
          if (alpha != 1.0)
            r = binary(nb, nl, "Mul", r, fc(nb, nl, elt, alpha));
          if (hasC) {
            Value c = v[1];
            if (beta != 1.0)
              c = binary(nb, nl, "Mul", c, fc(nb, nl, elt, beta));
            r = binary(nb, nl, "Add", r, c);
          }
          return r;
        },
        SmallVector<OpFoldResult>{da[0], nDim});
  }
  setOut(0, y);
  return success();
}

LogicalResult Importer::importWindow(const onnx::NodeProto &n) {
  StringRef op = n.op_type();
  MLIRContext *ctx = b.getContext();
  Value x = inV(0);
  int64_t r = rankOf(x);
  if (r != 3 && r != 4 && (r != 5 || op == "Conv"))
    fail(nodeDesc() +
         ": only 1-D and 2-D windows (and 3-D pooling) are supported");
  if (op == "MaxPool" && hasOutput(1) && r == 5)
    fail(nodeDesc() + ": the Indices output of 3-D pooling is not supported");
  Type elt = eltOf(x);
  if (!isF(elt) && op != "MaxPool")
    fail(nodeDesc() + ": needs a float input");
  bool intPool = !isF(elt);
  if (intPool && hasOutput(1))
    fail(nodeDesc() + ": the Indices output needs a float input");
  int64_t sp = r - 2;
  Value w;
  SmallVector<int64_t> kernel;
  if (op == "Conv") {
    w = inV(1);
    auto wt = typeOf(w);
    if (!wt.hasStaticShape())
      fail(nodeDesc() + ": the weights must have a static shape");
    for (int64_t i = 2; i < wt.getRank(); ++i)
      kernel.push_back(wt.getDimSize(i));
  } else {
    auto k = attrInts("kernel_shape");
    if (!k)
      fail(nodeDesc() + ": needs kernel_shape");
    kernel = *k;
  }
  SmallVector<int64_t> strides =
      attrInts("strides").value_or(SmallVector<int64_t>(sp, 1));
  SmallVector<int64_t> dil =
      attrInts("dilations").value_or(SmallVector<int64_t>(sp, 1));
  SmallVector<int64_t> pads =
      attrInts("pads").value_or(SmallVector<int64_t>(2 * sp, 0));
  checkWindow(op, x, w, sp, kernel, strides, dil, pads);
  std::string autoPad = attrString("auto_pad", "NOTSET");
  bool ceilMode = attrInt("ceil_mode", 0);
  auto xt = typeOf(x);
  SmallVector<int64_t> inSp;
  for (int64_t i = 0; i < sp; ++i)
    inSp.push_back(xt.getDimSize(2 + i));
  if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    for (int64_t i = 0; i < sp; ++i) {
      if (ShapedType::isDynamic(inSp[i]))
        fail(nodeDesc() + ": auto_pad SAME needs static spatial dimensions");
      int64_t out = (inSp[i] + strides[i] - 1) / strides[i];
      int64_t total = std::max<int64_t>(
          (out - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1 - inSp[i], 0);
      int64_t small = total / 2;
      pads[i] = autoPad == "SAME_UPPER" ? small : total - small;
      pads[i + sp] = total - pads[i];
    }
  } else if (autoPad == "VALID") {
    pads.assign(2 * sp, 0);
  }
  for (int64_t i = 0; i < sp; ++i) {
    int64_t span = (kernel[i] - 1) * dil[i] + 1;
    if (!ShapedType::isDynamic(inSp[i]) &&
        inSp[i] + pads[i] + pads[i + sp] < span)
      fail(nodeDesc() + ": the window spans " + std::to_string(span) +
           " elements of spatial dimension " + std::to_string(i) +
           ", which has " + std::to_string(inSp[i] + pads[i] + pads[i + sp]) +
           " with padding");
  }
  // ceil_mode: extra padding at the end so the last window fits.
  SmallVector<int64_t> extra(sp, 0);
  for (int64_t i = 0; i < sp && ceilMode; ++i) {
    if (ShapedType::isDynamic(inSp[i]))
      fail(nodeDesc() + ": ceil_mode needs static spatial dimensions");
    int64_t span = (kernel[i] - 1) * dil[i] + 1;
    int64_t padded = inSp[i] + pads[i] + pads[i + sp];
    int64_t out = (padded - span + strides[i] - 1) / strides[i] + 1;
    if ((out - 1) * strides[i] >= inSp[i] + pads[i])
      --out;
    extra[i] = std::max<int64_t>((out - 1) * strides[i] + span - padded, 0);
  }
  // 1-D windows run as 2-D ones with a unit height.
  auto to2d = [&](Value v) {
    SmallVector<OpFoldResult> d = dims(v);
    d.insert(d.begin() + 2, b.getIndexAttr(1));
    return reshape(v, d);
  };
  if (sp == 1) {
    x = to2d(x);
    if (w)
      w = to2d(w);
    kernel.insert(kernel.begin(), 1);
    strides.insert(strides.begin(), 1);
    dil.insert(dil.begin(), 1);
    pads = {0, pads[0], 0, pads[1]};
    extra.insert(extra.begin(), 0);
  }
  int64_t ns = std::max<int64_t>(sp, 2), rr = ns + 2;
  bool anyPad = llvm::any_of(pads, [](int64_t p) { return p != 0; }) ||
                llvm::any_of(extra, [](int64_t p) { return p != 0; });
  double padValue = 0.0;
  if (op == "MaxPool")
    padValue = -std::numeric_limits<double>::infinity();
  auto padTo = [&](Value v, double value, ArrayRef<int64_t> lowP,
                   ArrayRef<int64_t> highP) -> Value {
    SmallVector<OpFoldResult> lo(rr, b.getIndexAttr(0)),
        hi(rr, b.getIndexAttr(0));
    for (int64_t i = 0; i < ns; ++i) {
      lo[2 + i] = b.getIndexAttr(lowP[i]);
      hi[2 + i] = b.getIndexAttr(highP[i]);
    }
    Type vt = eltOf(v);
    Value pv;
    if (isF(vt) || !std::isinf(value)) {
      pv = fc(b, loc, vt, value);
    } else {
      unsigned w = vt.getIntOrFloatBitWidth();
      pv = arith::ConstantOp::create(
          b, loc,
          b.getIntegerAttr(vt, uns ? APInt::getMinValue(w)
                                   : APInt::getSignedMinValue(w)));
    }
    // tensor.pad (static sizes, a constant): the CPU backend folds a zero
    // pad of a convolution's input into the convolution.
    return tensor::PadOp::create(b, loc, Type(), v, lo, hi, pv).getResult();
  };
  SmallVector<int64_t> lowP, highP, explicitHigh;
  for (int64_t i = 0; i < ns; ++i) {
    lowP.push_back(pads[i]);
    highP.push_back(pads[i + ns] + extra[i]);
    explicitHigh.push_back(pads[i + ns]);
  }
  Value xp = anyPad ? padTo(x, padValue, lowP, highP) : x;
  SmallVector<OpFoldResult> dp = dims(xp);
  SmallVector<OpFoldResult> outShape(rr);
  outShape[0] = dp[0];
  for (int64_t i = 0; i < ns; ++i) {
    int64_t span = (kernel[i] - 1) * dil[i] + 1;
    outShape[2 + i] =
        foldBin(foldBin(foldBin(dp[2 + i], b.getIndexAttr(span), '-'),
                        b.getIndexAttr(strides[i]), '/'),
                b.getIndexAttr(1), '+');
  }
  auto stridesAttr = b.getI64TensorAttr(strides);
  auto dilAttr = b.getI64TensorAttr(dil);
  Value zero = fc(b, loc, elt, 0.0);
  Value y;
  if (op == "Conv") {
    int64_t group = attrInt("group", 1);
    auto wt = typeOf(w);
    int64_t m = wt.getDimSize(0);
    outShape[1] = b.getIndexAttr(m);
    if (group == 1) {
      Value init = filled(outShape, zero);
      y = linalg::Conv2DNchwFchwOp::create(
              b, loc, TypeRange{init.getType()}, ValueRange{xp, w},
              ValueRange{init}, stridesAttr, dilAttr)
              .getResult(0);
    } else {
      int64_t cg = wt.getDimSize(1);
      Value xg = reshape(xp, {dp[0], b.getIndexAttr(group),
                              b.getIndexAttr(cg), dp[2], dp[3]});
      Value wg = reshape(w, {b.getIndexAttr(group), b.getIndexAttr(m / group),
                             b.getIndexAttr(cg), b.getIndexAttr(kernel[0]),
                             b.getIndexAttr(kernel[1])});
      Value init =
          filled({dp[0], b.getIndexAttr(group), b.getIndexAttr(m / group),
                  outShape[2], outShape[3]},
                 zero);
      y = linalg::Conv2DNgchwGfchwOp::create(
              b, loc, TypeRange{init.getType()}, ValueRange{xg, wg},
              ValueRange{init}, stridesAttr, dilAttr)
              .getResult(0);
      y = reshape(y, outShape);
    }
    if (hasInput(2)) {
      Value bias = reshape(
          inV(2), {b.getIndexAttr(m), b.getIndexAttr(1), b.getIndexAttr(1)});
      y = elementwise(
          {y, bias}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
            return arith::AddFOp::create(nb, nl, a[0], a[1]).getResult();
          });
    }
  } else {
    outShape[1] = dp[1];
    SmallVector<OpFoldResult> kshape;
    for (int64_t k : kernel)
      kshape.push_back(b.getIndexAttr(k));
    Value window = empty(kshape, elt);
    // 2-D windows are linalg's named pooling ops; 3-D ones the same
    // computation as a generic (linalg has no NCDHW pooling).
    auto pool = [&](Value in, Value init, bool isMax) -> Value {
      if (ns == 2 && !intPool)
        return isMax ? linalg::PoolingNchwMaxOp::create(
                           b, loc, TypeRange{init.getType()},
                           ValueRange{in, window}, ValueRange{init},
                           stridesAttr, dilAttr)
                           .getResult(0)
                     : linalg::PoolingNchwSumOp::create(
                           b, loc, TypeRange{init.getType()},
                           ValueRange{in, window}, ValueRange{init},
                           stridesAttr, dilAttr)
                           .getResult(0);
      int64_t loops = 2 + 2 * ns;
      SmallVector<AffineExpr> inE = {getAffineDimExpr(0, ctx),
                                     getAffineDimExpr(1, ctx)},
                              wE, outE = inE;
      for (int64_t i = 0; i < ns; ++i) {
        AffineExpr o = getAffineDimExpr(2 + i, ctx),
                   k = getAffineDimExpr(2 + ns + i, ctx);
        inE.push_back(o * strides[i] + k * dil[i]);
        wE.push_back(k);
        outE.push_back(o);
      }
      SmallVector<utils::IteratorType> it(loops,
                                          utils::IteratorType::parallel);
      for (int64_t i = 0; i < ns; ++i)
        it[2 + ns + i] = utils::IteratorType::reduction;
      return linalg::GenericOp::create(
                 b, loc, TypeRange{init.getType()}, ValueRange{in, window},
                 ValueRange{init},
                 SmallVector<AffineMap>{AffineMap::get(loops, 0, inE, ctx),
                                        AffineMap::get(loops, 0, wE, ctx),
                                        AffineMap::get(loops, 0, outE, ctx)},
                 it,
                 [&](OpBuilder &nb, Location nl, ValueRange a) {
                   Value r = isMax ? binary(nb, nl, "Max", a[2], a[0], uns)
                                   : binary(nb, nl, "Add", a[2], a[0], uns);
                   linalg::YieldOp::create(nb, nl, r);
                 })
          .getResult(0);
    };
    if (op == "MaxPool" && hasOutput(1)) {
      // Values and the flat indices (into the unpadded input) of the
      // maxima: one generic with two results; the first maximum wins.
      bool colMajor = attrInt("storage_order", 0);
      Value init =
          filled(outShape,
                 fc(b, loc, elt, -std::numeric_limits<double>::infinity()));
      Value iinit = filled(outShape, fc(b, loc, b.getI64Type(), 0));
      SmallVector<Value> xd;
      for (OpFoldResult d : dims(x))
        xd.push_back(indexValue(d));
      SmallVector<AffineExpr> inE = {getAffineDimExpr(0, ctx),
                                     getAffineDimExpr(1, ctx)},
                              wE, outE = inE;
      for (int64_t i = 0; i < 2; ++i) {
        AffineExpr o = getAffineDimExpr(2 + i, ctx),
                   k = getAffineDimExpr(4 + i, ctx);
        inE.push_back(o * strides[i] + k * dil[i]);
        wE.push_back(k);
        outE.push_back(o);
      }
      SmallVector<utils::IteratorType> it(6, utils::IteratorType::parallel);
      it[4] = it[5] = utils::IteratorType::reduction;
      AffineMap om = AffineMap::get(6, 0, outE, ctx);
      auto g = linalg::GenericOp::create(
          b, loc, TypeRange{init.getType(), iinit.getType()},
          ValueRange{xp, window}, ValueRange{init, iinit},
          SmallVector<AffineMap>{AffineMap::get(6, 0, inE, ctx),
                                 AffineMap::get(6, 0, wE, ctx), om, om},
          it, [&](OpBuilder &nb, Location nl, ValueRange a) {
            SmallVector<Value> iv;
            for (int64_t i = 0; i < 6; ++i)
              iv.push_back(linalg::IndexOp::create(nb, nl, i));
            auto cst = [&](int64_t v) {
              return arith::ConstantIndexOp::create(nb, nl, v).getResult();
            };
            auto mul = [&](Value p, Value q) {
              return arith::MulIOp::create(nb, nl, p, q).getResult();
            };
            auto add = [&](Value p, Value q) {
              return arith::AddIOp::create(nb, nl, p, q).getResult();
            };
            Value h =
                add(mul(iv[2], cst(strides[0])), mul(iv[4], cst(dil[0])));
            Value w =
                add(mul(iv[3], cst(strides[1])), mul(iv[5], cst(dil[1])));
            h = arith::SubIOp::create(nb, nl, h, cst(lowP[0]));
            w = arith::SubIOp::create(nb, nl, w, cst(lowP[1]));
            Value nc = add(mul(iv[0], xd[1]), iv[1]);
            Value hw =
                colMajor ? add(mul(w, xd[2]), h) : add(mul(h, xd[3]), w);
            Value flat = add(mul(nc, mul(xd[2], xd[3])), hw);
            flat = arith::IndexCastOp::create(nb, nl, nb.getI64Type(), flat);
            Value take = arith::CmpFOp::create(
                nb, nl, arith::CmpFPredicate::OGT, a[0], a[2]);
            linalg::YieldOp::create(
                nb, nl,
                ValueRange{
                    arith::SelectOp::create(nb, nl, take, a[0], a[2]),
                    arith::SelectOp::create(nb, nl, take, flat, a[3])});
          });
      y = g.getResult(0);
      Value idx = g.getResult(1);
      if (sp == 1) {
        SmallVector<OpFoldResult> d = dims(idx);
        d.erase(d.begin() + 2);
        idx = reshape(idx, d);
      }
      setOut(1, idx);
    } else if (op == "MaxPool") {
      Value lowest;
      if (intPool) {
        unsigned w = elt.getIntOrFloatBitWidth();
        lowest = arith::ConstantOp::create(
            b, loc,
            b.getIntegerAttr(elt, uns ? APInt::getMinValue(w)
                                      : APInt::getSignedMinValue(w)));
      } else {
        lowest = fc(b, loc, elt, -std::numeric_limits<double>::infinity());
      }
      Value init = filled(outShape, lowest);
      y = pool(xp, init, true);
    } else {
      Value init = filled(outShape, zero);
      y = pool(xp, init, false);
      bool countPad = attrInt("count_include_pad", 0);
      bool uniform =
          !anyPad ||
          (countPad && llvm::all_of(extra, [](int64_t e) { return e == 0; }));
      Value count;
      if (uniform) {
        double kn = 1;
        for (int64_t k : kernel)
          kn *= k;
        count = filled({b.getIndexAttr(1)}, fc(b, loc, elt, kn));
      } else {
        // How many elements each window covers: pool a padded ones tensor.
        SmallVector<OpFoldResult> oshape = {b.getIndexAttr(1),
                                            b.getIndexAttr(1)},
                                  cshape = oshape;
        for (int64_t i = 0; i < ns; ++i) {
          oshape.push_back(dim(x, 2 + i));
          cshape.push_back(outShape[2 + i]);
        }
        Value ones = filled(oshape, fc(b, loc, elt, 1.0));
        if (countPad) {
          ones = padTo(ones, 1.0, lowP, explicitHigh);
          ones = padTo(ones, 0.0, SmallVector<int64_t>(ns, 0), extra);
        } else {
          ones = padTo(ones, 0.0, lowP, highP);
        }
        Value cinit = filled(cshape, zero);
        count = pool(ones, cinit, false);
      }
      y = elementwise(
          {y, count}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
            return arith::DivFOp::create(nb, nl, a[0], a[1]).getResult();
          });
    }
  }
  if (sp == 1) {
    SmallVector<OpFoldResult> d = dims(y);
    d.erase(d.begin() + 2);
    y = reshape(y, d);
  }
  setOut(0, y);
  return success();
}

LogicalResult Importer::importGlobalPool(const onnx::NodeProto &n) {
  StringRef op = n.op_type();
  Value x = inV(0);
  SmallVector<int64_t> ax;
  for (int64_t i = 2; i < rankOf(x); ++i)
    ax.push_back(i);
  Type elt = eltOf(x);
  if (op == "GlobalMaxPool") {
    setOut(0, reduce(x, ax, K::Max, true));
    return success();
  }
  Value s = reduce(x, ax, K::Sum, true);
  Value cnt = countOf(x, ax, elt);
  setOut(0,
         elementwise({s}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
           return arith::DivFOp::create(nb, nl, a[0], cnt).getResult();
         }));
  return success();
}

void onnx_import::registerONNXOps(OpRegistry &r) {
  r.add("Constant", 1, &Importer::importConstant);
  r.add("Identity", 1, &Importer::importIdentity);
  r.add("Dropout", 1, &Importer::importDropout);
  r.add("Shape", 1, &Importer::importShape);
  r.add("Size", 1, &Importer::importSize);
  r.add("ConstantOfShape", 1, &Importer::importConstantOfShape);
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
  r.add("GatherElements", 1, &Importer::importGatherElements);
  r.add("Tile", 1, &Importer::importTile);
  r.add("Range", 1, &Importer::importRange);
  r.add("Trilu", 1, &Importer::importTrilu);
  r.add("CumSum", 1, &Importer::importCumSum);
  r.add("Mean", 1, &Importer::importMean);
  r.add("ArgMax", 1, &Importer::importArgMaxMin);
  r.add("ArgMin", 1, &Importer::importArgMaxMin);
  r.add("ReduceL1", 1, &Importer::importReduceComposite);
  r.add("ReduceL2", 1, &Importer::importReduceComposite);
  r.add("ReduceLogSum", 1, &Importer::importReduceComposite);
  r.add("ReduceLogSumExp", 1, &Importer::importReduceComposite);
  r.add("ReduceSumSquare", 1, &Importer::importReduceComposite);
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
  r.add("Expand", 1, &Importer::importExpand);
  r.add("ReduceSum", 1, &Importer::importReduce);
  r.add("ReduceSum", 13, &Importer::importReduceSum13);
  r.add("ReduceMean", 1, &Importer::importReduce);
  r.add("ReduceMax", 1, &Importer::importReduce);
  r.add("ReduceMin", 1, &Importer::importReduce);
  r.add("ReduceProd", 1, &Importer::importReduce);
  r.add("Softmax", 1, &Importer::importSoftmax11);
  r.add("Softmax", 13, &Importer::importSoftmax13);
  r.add("LogSoftmax", 1, &Importer::importSoftmax11);
  r.add("LogSoftmax", 13, &Importer::importSoftmax13);
  r.add("LayerNormalization", 1, &Importer::importLayerNormalization);
  r.add("BatchNormalization", 1, &Importer::importBatchNormalization);
  r.add("Transpose", 1, &Importer::importTranspose);
  r.add("Reshape", 1, &Importer::importReshape);
  r.add("Flatten", 1, &Importer::importFlatten);
  r.add("Squeeze", 1, &Importer::importSqueeze11);
  r.add("Squeeze", 13, &Importer::importSqueeze13);
  r.add("Unsqueeze", 1, &Importer::importSqueeze11);
  r.add("Unsqueeze", 13, &Importer::importSqueeze13);
  r.add("Concat", 1, &Importer::importConcat);
  r.add("Split", 1, &Importer::importSplit11);
  r.add("Split", 13, &Importer::importSplit13);
  r.add("Slice", 1, &Importer::importSlice);
  r.add("Gather", 1, &Importer::importGather);
  r.add("ScatterElements", 1, &Importer::importScatterElements);
  r.add("Pad", 1, &Importer::importPad);
  r.add("MatMul", 1, &Importer::importMatMul);
  r.add("Gemm", 1, &Importer::importGemm);
  r.add("Conv", 1, &Importer::importWindow);
  r.add("MaxPool", 1, &Importer::importWindow);
  r.add("AveragePool", 1, &Importer::importWindow);
  r.add("GlobalAveragePool", 1, &Importer::importGlobalPool);
  r.add("GlobalMaxPool", 1, &Importer::importGlobalPool);
}


bool Importer::importFlatEpilogue(StringRef op) {
  TV &x = in(0);
  Type elt = eltOf(x.v);
  if (!isa<Float32Type, Float64Type>(elt))
    return false;
  auto addBody = [&](OpBuilder &nb, Location nl, ValueRange a) {
    return arith::AddFOp::create(nb, nl, a[0], a[1]).getResult();
  };
  auto finish = [&](Value flat, Value like) {
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
    TV tv;
    tv.flat = flat;
    tv.v = reshape(flat, shape);
    setOut(0, tv);
    return true;
  };
  if (op == "Relu") {
    if (!x.flat || rankOf(x.v) < 3)
      return false;
    Value r = elementwise({x.flat}, elt, [&](OpBuilder &nb, Location nl,
                                             ValueRange a) {
      Value zero = arith::ConstantOp::create(nb, nl, nb.getFloatAttr(elt, 0));
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
      o2 = reshape(o.v, {rows, od.back()});
    }
  } else {
    return false;
  }
  Value r = mIsX ? elementwise({m.flat, o2}, elt, addBody)
                 : elementwise({o2, m.flat}, elt, addBody);
  return finish(r, m.v);
}
