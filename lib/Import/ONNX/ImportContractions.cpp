//===- ImportContractions.cpp - Contractions ------------------------------===//
//
// MatMul (linalg.matmul over collapsed rows, batch_matmul, or a generic
// for broadcast batches) and Gemm.
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

LogicalResult Importer::importMatMul(const onnx::NodeProto &n) {
  MLIRContext *ctx = b.getContext();
  Value a = inV(0), bm = inV(1);
  Type elt = eltOf(a);
  int64_t ra = rankOf(a), rb = rankOf(bm);
  if (ra == 0 || rb == 0)
    return error(nodeDesc() +
                 ": MatMul operands must have rank >= 1, got ranks " +
                 std::to_string(ra) + " and " + std::to_string(rb));
  SmallVector<OpFoldResult> da = dims(a), db = dims(bm);
  if (ra == 1) {
    FailureOr<Value> aOr = reshape(a, {b.getIndexAttr(1), da[0]});
    if (failed(aOr))
      return failure();
    a = *aOr;
    da = dims(a);
  }
  if (rb == 1) {
    FailureOr<Value> bmOr = reshape(bm, {db[0], b.getIndexAttr(1)});
    if (failed(bmOr))
      return failure();
    bm = *bmOr;
    db = dims(bm);
  }
  int64_t pa = rankOf(a), pb = rankOf(bm);
  // The contracted sizes must agree: a static mismatch is an import
  // error, a symbolic one a run-time check (never a matmul that reads
  // past the shorter operand).
  if (failed(checkDim(db[pb - 2], da[pa - 1],
                      nodeDesc() + ": the contracted dimension of input '" +
                          n.input(1) + "' (its " +
                          (rb == 1 ? "only" : "second-to-last") +
                          " dimension) must equal the last dimension of '" +
                          n.input(0) + "'")))
    return failure();
  Value zero = fc(b, loc, elt, 0);
  Value y, flatY;
  SmallVector<OpFoldResult> outShape;
  if (pa >= 2 && pb == 2) {
    // [..., M, K] x [K, N]: one matmul over the collapsed rows.
    OpFoldResult rows = b.getIndexAttr(1);
    for (int64_t i = 0; i < pa - 1; ++i)
      rows = foldBin(rows, da[i], '*');
    // An operand that is itself a flat epilogue result is used as it is.
    Value a2 = a;
    if (pa != 2 && ra == pa && in(0).flat && !in(0).elems) {
      a2 = in(0).flat;
    } else if (pa != 2) {
      FailureOr<Value> a2Or = reshape(a, {rows, da[pa - 1]});
      if (failed(a2Or))
        return failure();
      a2 = *a2Or;
    }
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
      FailureOr<Value> yOr = reshape(y, outShape);
      if (failed(yOr))
        return failure();
      y = *yOr;
    }
  } else {
    SmallVector<OpFoldResult> ba(da.begin(), da.end() - 2),
        bb(db.begin(), db.end() - 2);
    FailureOr<SmallVector<OpFoldResult>> batchOr = broadcastShape({ba, bb});
    if (failed(batchOr))
      return failure();
    SmallVector<OpFoldResult> batch = *batchOr;
    // Symbolic batch sizes on both sides must agree (the smaller is used).
    for (size_t j = 0; j < batch.size(); ++j) {
      int64_t ia = j + ba.size() - batch.size(),
              ib = j + bb.size() - batch.size();
      if (ia < 0 || ib < 0 || getConstantIntValue(ba[ia]) ||
          getConstantIntValue(bb[ib]))
        continue;
      if (failed(checkDim(bb[ib], ba[ia],
                          nodeDesc() + ": batch dimension " +
                              std::to_string(ib) + " of input '" + n.input(1) +
                              "' must equal that of '" + n.input(0) +
                              "' (a run-time 1 does not broadcast)")))
        return failure();
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
      Value a3 = a, b3 = bm;
      if (batch.size() != 1) {
        FailureOr<Value> a3Or = reshape(a, {nb, da[pa - 2], da[pa - 1]});
        if (failed(a3Or))
          return failure();
        FailureOr<Value> b3Or = reshape(bm, {nb, db[pb - 2], db[pb - 1]});
        if (failed(b3Or))
          return failure();
        a3 = *a3Or;
        b3 = *b3Or;
      }
      Value init = filled({nb, da[pa - 2], db[pb - 1]}, zero);
      y = linalg::BatchMatmulOp::create(b, loc, TypeRange{init.getType()},
                                        ValueRange{a3, b3}, ValueRange{init})
              .getResult(0);
      if (batch.size() != 1) {
        FailureOr<Value> yOr2 = reshape(y, outShape);
        if (failed(yOr2))
          return failure();
        y = *yOr2;
      }
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
      SmallVector<utils::IteratorType> it(loops, utils::IteratorType::parallel);
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
    FailureOr<Value> yOr3 = reshape(y, final);
    if (failed(yOr3))
      return failure();
    y = *yOr3;
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
    return error(nodeDesc() + ": Gemm inputs A and B must be 2-D, got ranks " +
                 std::to_string(rankOf(a)) + " and " +
                 std::to_string(rankOf(bm)));
  if (hasInput(2) && rankOf(inV(2)) > 2)
    return error(nodeDesc() + ": Gemm input C must have rank <= 2, got rank " +
                 std::to_string(rankOf(inV(2))));
  if (ta)
    a = transpose(a, {1, 0});
  SmallVector<OpFoldResult> da = dims(a), db = dims(bm);
  OpFoldResult nDim = tb ? db[0] : db[1];
  if (failed(checkDim(tb ? db[1] : db[0], da[1],
                      nodeDesc() + ": the contracted dimension of B ('" +
                          n.input(1) + "'" + (tb ? ", transposed" : "") +
                          ") must equal that of A ('" + n.input(0) + "'" +
                          (ta ? ", transposed" : "") + ")")))
    return failure();
  Value init = filled({da[0], nDim}, fc(b, loc, elt, 0));
  auto mm = linalg::MatmulOp::create(b, loc, TypeRange{init.getType()},
                                     ValueRange{a, bm}, ValueRange{init});
  if (tb) {
    // C[m, n] += A[m, k] * B[n, k]
    AffineExpr m = getAffineDimExpr(0, ctx), nn = getAffineDimExpr(1, ctx),
               k = getAffineDimExpr(2, ctx);
    mm.setIndexingMapsAttr(b.getAffineMapArrayAttr(
        {AffineMap::get(3, 0, {m, k}, ctx), AffineMap::get(3, 0, {nn, k}, ctx),
         AffineMap::get(3, 0, {m, nn}, ctx)}));
  }
  Value y = mm.getResult(0);
  bool hasC = hasInput(2) && beta != 0.0;
  if (hasC || alpha != 1.0) {
    SmallVector<Value> ins = {y};
    if (hasC)
      ins.push_back(inV(2));
    FailureOr<Value> yOr4 = elementwise(
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
    if (failed(yOr4))
      return failure();
    y = *yOr4;
  }
  setOut(0, y);
  return success();
}

void onnx_import::registerContractionOps(OpRegistry &r) {
  r.add("MatMul", 1, &Importer::importMatMul);
  r.add("Gemm", 1, &Importer::importGemm);
}
