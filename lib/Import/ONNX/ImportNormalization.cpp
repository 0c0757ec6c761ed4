//===- ImportNormalization.cpp - Softmax and normalizations ---------------===//
//
// Softmax, LogSoftmax, LayerNormalization and BatchNormalization.
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

/// Softmax-1/11 and LogSoftmax-1/11: the input is coerced to 2-D at `axis`
/// (default 1).
LogicalResult Importer::importSoftmax11(const onnx::NodeProto &n) {
  return importSoftmax(n, /*coerce2D=*/true);
}

/// Softmax-13 and LogSoftmax-13: along `axis` (default -1).
LogicalResult Importer::importSoftmax13(const onnx::NodeProto &n) {
  return importSoftmax(n, /*coerce2D=*/false);
}

LogicalResult Importer::importSoftmax(const onnx::NodeProto &n, bool coerce2D) {
  StringRef op = n.op_type();
  Value x = inV(0);
  int64_t r = rankOf(x);
  FailureOr<int64_t> axisOr = normAxis(attrInt("axis", coerce2D ? 1 : -1), r);
  if (failed(axisOr))
    return failure();
  int64_t axis = *axisOr;
  Type elt = eltOf(x);
  if (!isF(elt))
    return error(nodeDesc() + ": needs a float operand");
  SmallVector<OpFoldResult> orig = dims(x);
  Value v = x;
  if (coerce2D && axis != r - 1) {
    OpFoldResult outer = b.getIndexAttr(1), inner = b.getIndexAttr(1);
    for (int64_t i = 0; i < r; ++i)
      (i < axis ? outer : inner) =
          foldBin(i < axis ? outer : inner, orig[i], '*');
    FailureOr<Value> vOr = reshape(x, {outer, inner});
    if (failed(vOr))
      return failure();
    v = *vOr;
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
    FailureOr<Value> sOr =
        elementwise({v, m}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
          return arith::SubFOp::create(nb, nl, a[0], a[1]).getResult();
        });
    if (failed(sOr))
      return failure();
    Value s = *sOr;
    Value e =
        mapElements(s, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
          return math::ExpOp::create(nb, nl, a[0]).getResult();
        });
    Value sum = reduce(e, {axis}, K::Sum, true);
    FailureOr<Value> yOr = elementwise(
        {s, sum}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
          return arith::SubFOp::create(nb, nl, a[0],
                                       math::LogOp::create(nb, nl, a[1]))
              .getResult();
        });
    if (failed(yOr))
      return failure();
    y = *yOr;
  }
  if (v != x) {
    FailureOr<Value> yOr2 = reshape(y, orig);
    if (failed(yOr2))
      return failure();
    y = *yOr2;
  }
  setOut(0, y);
  return success();
}

LogicalResult Importer::importLayerNormalization(const onnx::NodeProto &) {
  Value x = inV(0);
  int64_t r = rankOf(x);
  FailureOr<int64_t> axisOr = normAxis(attrInt("axis", -1), r);
  if (failed(axisOr))
    return failure();
  int64_t axis = *axisOr;
  double eps = attrFloat("epsilon", 1e-5f);
  Type elt = eltOf(x);
  // X, Scale and B share one float type T (LayerNormalization-17).
  if (!isF(elt))
    return error(nodeDesc() + ": input '" + node->input(0) +
                 "' must be a float tensor");
  for (int i = 1; i <= 2; ++i)
    if (hasInput(i) && eltOf(inV(i)) != elt)
      return error(nodeDesc() + ": input '" + node->input(i) +
                   "' must have the element type of '" + node->input(0) + "'");
  SmallVector<int64_t> ax;
  for (int64_t i = axis; i < r; ++i)
    ax.push_back(i);
  Value cnt = countOf(x, ax, elt);
  Value mean = reduce(x, ax, K::Sum, true);
  mean = mapElements(mean, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
    return arith::DivFOp::create(nb, nl, a[0], cnt).getResult();
  });
  FailureOr<Value> dOr = elementwise(
      {x, mean}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
        return arith::SubFOp::create(nb, nl, a[0], a[1]).getResult();
      });
  if (failed(dOr))
    return failure();
  Value d = *dOr;
  Value sq = mapElements(d, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
    return arith::MulFOp::create(nb, nl, a[0], a[0]).getResult();
  });
  Value var = reduce(sq, ax, K::Sum, true);
  Value inv =
      mapElements(var, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value v = arith::DivFOp::create(nb, nl, a[0], cnt);
        v = arith::AddFOp::create(nb, nl, v, fc(nb, nl, elt, eps));
        return math::RsqrtOp::create(nb, nl, v).getResult();
      });
  SmallVector<Value> ins = {d, inv, inV(1)};
  bool bias = hasInput(2);
  if (bias)
    ins.push_back(inV(2));
  FailureOr<Value> y =
      elementwise(ins, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value v = arith::MulFOp::create(
            nb, nl, arith::MulFOp::create(nb, nl, a[0], a[1]), a[2]);
        return bias ? (Value)arith::AddFOp::create(nb, nl, v, a[3]) : v;
      });
  if (failed(setOut(0, y)))
    return failure();
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
  // Scale, bias, mean and var may have another float type than x (opset 15's
  // T2/T3); they are computed in x's. Integer operands are not BatchNorm's.
  for (int i = 0; i <= 4; ++i)
    if (!isF(eltOf(inV(i))))
      return error(nodeDesc() + ": input '" + node->input(i) +
                   "' must be a float tensor");
  double eps = attrFloat("epsilon", 1e-5f);
  bool training = attrInt("training_mode", 0);
  if (!training && hasOutput(1))
    return error(nodeDesc() +
                 ": running statistics outputs need training_mode=1");
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
      return mapElements(v, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
        return arith::DivFOp::create(nb, nl, a[0], cnt).getResult();
      });
    };
    Value mean = divBy(reduce(x, ax, K::Sum, false));
    SmallVector<OpFoldResult> cshape = {dim(x, 1)};
    for (int64_t i = 2; i < r; ++i)
      cshape.push_back(b.getIndexAttr(1));
    FailureOr<Value> meanBOr = reshape(mean, cshape);
    if (failed(meanBOr))
      return failure();
    Value meanB = *meanBOr;
    FailureOr<Value> sqOr = elementwise(
        {x, meanB}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
          Value d = arith::SubFOp::create(nb, nl, a[0], a[1]);
          return arith::MulFOp::create(nb, nl, d, d).getResult();
        });
    if (failed(sqOr))
      return failure();
    Value sq = *sqOr;
    Value var = divBy(reduce(sq, ax, K::Sum, false));
    auto running = [&](Value old, Value cur) {
      return elementwise(
          {old, cur}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
            Value o =
                arith::MulFOp::create(nb, nl, a[0], fc(nb, nl, elt, momentum));
            Value c = arith::MulFOp::create(nb, nl, a[1],
                                            fc(nb, nl, elt, 1.0 - momentum));
            return arith::AddFOp::create(nb, nl, o, c).getResult();
          });
    };
    if (hasOutput(1) && failed(setOut(1, running(castTo(inV(3), elt), mean))))
      return failure();
    if (hasOutput(2) && failed(setOut(2, running(castTo(inV(4), elt), var))))
      return failure();
    stats = {mean, var};
  }
  SmallVector<Value> ins = {x};
  for (int i = 1; i <= 4; ++i) {
    Value p = castTo(i <= 2 ? inV(i) : stats[i - 3], elt);
    SmallVector<OpFoldResult> shape = dims(p);
    for (int64_t k = 2; k < r; ++k)
      shape.push_back(b.getIndexAttr(1));
    FailureOr<Value> pr = reshape(p, shape);
    if (failed(pr))
      return failure();
    ins.push_back(*pr);
  }
  return setOut(
      0, elementwise(ins, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
        // (x - mean) * scale / sqrt(var + eps) + bias
        Value s = arith::AddFOp::create(nb, nl, a[4], fc(nb, nl, elt, eps));
        s = arith::DivFOp::create(nb, nl, a[1],
                                  math::SqrtOp::create(nb, nl, s));
        Value v = arith::MulFOp::create(
            nb, nl, arith::SubFOp::create(nb, nl, a[0], a[3]), s);
        return arith::AddFOp::create(nb, nl, v, a[2]).getResult();
      }));
}

void onnx_import::registerNormalizationOps(OpRegistry &r) {
  r.add("Softmax", 1, &Importer::importSoftmax11);
  r.add("Softmax", 13, &Importer::importSoftmax13);
  r.add("LogSoftmax", 1, &Importer::importSoftmax11);
  r.add("LogSoftmax", 13, &Importer::importSoftmax13);
  r.add("LayerNormalization", 1, &Importer::importLayerNormalization);
  r.add("BatchNormalization", 1, &Importer::importBatchNormalization);
}
