//===- ImportWindows.cpp - Convolution and pooling ------------------------===//
//
// Conv, ConvTranspose, MaxPool, AveragePool (linalg named ops; 3-D pooling and
// integer pooling as generics), GlobalAveragePool and GlobalMaxPool.
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

/// The attributes and weights of a Conv or pooling node agree with the input
/// (fuzz findings: a Conv whose weights have other channels than its input
/// gave IR that does not verify; a zero stride divides by zero).
LogicalResult Importer::checkWindow(StringRef op, Value x, Value w, int64_t sp,
                                    ArrayRef<int64_t> kernel,
                                    ArrayRef<int64_t> strides,
                                    ArrayRef<int64_t> dil,
                                    ArrayRef<int64_t> pads) {
  auto count = [](int64_t n) { return std::to_string(n); };
  if (op == "Conv") {
    auto wt = typeOf(w);
    int64_t group = attrInt("group", 1);
    int64_t c = typeOf(x).getDimSize(1);
    if (wt.getRank() != sp + 2 || group < 1 || wt.getDimSize(0) % group != 0 ||
        (!ShapedType::isDynamic(c) && c != wt.getDimSize(1) * group))
      return error(nodeDesc() + ": weights of rank " + count(wt.getRank()) +
                   " with " + count(wt.getRank() > 1 ? wt.getDimSize(1) : 0) +
                   " input channels per group do not fit a rank-" +
                   count(sp + 2) + " input with " +
                   (ShapedType::isDynamic(c) ? "?" : count(c)) +
                   " channels in " + count(group) + " group(s)");
  }
  if (int64_t(kernel.size()) != sp || int64_t(strides.size()) != sp ||
      int64_t(dil.size()) != sp || int64_t(pads.size()) != 2 * sp)
    return error(nodeDesc() + ": kernel, strides and dilations need " +
                 count(sp) + " entries and pads " + count(2 * sp) +
                 " for a rank-" + count(sp + 2) + " input");
  // The bound keeps the window arithmetic (span, padded size) in int64.
  constexpr int64_t kMax = int64_t(1) << 31;
  auto bad = [&](int64_t v, int64_t lo) { return v < lo || v >= kMax; };
  for (int64_t i = 0; i < sp; ++i)
    if (bad(kernel[i], 1) || bad(strides[i], 1) || bad(dil[i], 1) ||
        bad(pads[i], 0) || bad(pads[i + sp], 0))
      return error(nodeDesc() +
                   ": kernel sizes, strides and dilations must be in "
                   "[1, 2^31) and pads in [0, 2^31)");
  return success();
}

LogicalResult Importer::importWindow(const onnx::NodeProto &n) {
  StringRef op = n.op_type();
  MLIRContext *ctx = b.getContext();
  Value x = inV(0);
  int64_t r = rankOf(x);
  if (r != 3 && r != 4 && (r != 5 || op == "Conv"))
    return error(nodeDesc() +
                 ": only 1-D and 2-D windows (and 3-D pooling) are supported");
  if (op == "MaxPool" && hasOutput(1) && r == 5)
    return error(nodeDesc() +
                 ": the Indices output of 3-D pooling is not supported");
  Type elt = eltOf(x);
  if (!isF(elt) && op != "MaxPool")
    return error(nodeDesc() + ": needs a float input");
  bool intPool = !isF(elt);
  if (intPool && hasOutput(1))
    return error(nodeDesc() + ": the Indices output needs a float input");
  int64_t sp = r - 2;
  Value w;
  SmallVector<int64_t> kernel;
  if (op == "Conv") {
    w = inV(1);
    auto wt = typeOf(w);
    if (!wt.hasStaticShape())
      return error(nodeDesc() + ": the weights must have a static shape");
    for (int64_t i = 2; i < wt.getRank(); ++i)
      kernel.push_back(wt.getDimSize(i));
  } else {
    auto k = attrInts("kernel_shape");
    if (!k)
      return error(nodeDesc() + ": needs kernel_shape");
    kernel = *k;
  }
  SmallVector<int64_t> strides =
      attrInts("strides").value_or(SmallVector<int64_t>(sp, 1));
  SmallVector<int64_t> dil =
      attrInts("dilations").value_or(SmallVector<int64_t>(sp, 1));
  SmallVector<int64_t> pads =
      attrInts("pads").value_or(SmallVector<int64_t>(2 * sp, 0));
  if (failed(checkWindow(op, x, w, sp, kernel, strides, dil, pads)))
    return failure();
  std::string autoPad = attrString("auto_pad", "NOTSET");
  bool ceilMode = attrInt("ceil_mode", 0);
  auto xt = typeOf(x);
  SmallVector<int64_t> inSp;
  for (int64_t i = 0; i < sp; ++i)
    inSp.push_back(xt.getDimSize(2 + i));
  if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    for (int64_t i = 0; i < sp; ++i) {
      if (ShapedType::isDynamic(inSp[i]))
        return error(nodeDesc() +
                     ": auto_pad SAME needs static spatial dimensions");
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
      return error(nodeDesc() + ": the window spans " + std::to_string(span) +
                   " elements of spatial dimension " + std::to_string(i) +
                   ", which has " +
                   std::to_string(inSp[i] + pads[i] + pads[i + sp]) +
                   " with padding");
  }
  // ceil_mode: extra padding at the end so the last window fits.
  SmallVector<int64_t> extra(sp, 0);
  for (int64_t i = 0; i < sp && ceilMode; ++i) {
    if (ShapedType::isDynamic(inSp[i]))
      return error(nodeDesc() + ": ceil_mode needs static spatial dimensions");
    int64_t span = (kernel[i] - 1) * dil[i] + 1;
    int64_t padded = inSp[i] + pads[i] + pads[i + sp];
    int64_t out = (padded - span + strides[i] - 1) / strides[i] + 1;
    if ((out - 1) * strides[i] >= inSp[i] + pads[i])
      --out;
    extra[i] = std::max<int64_t>((out - 1) * strides[i] + span - padded, 0);
  }
  // 1-D windows run as 2-D ones with a unit height.
  auto to2d = [&](Value &v) -> LogicalResult {
    SmallVector<OpFoldResult> d = dims(v);
    d.insert(d.begin() + 2, b.getIndexAttr(1));
    FailureOr<Value> v2 = reshape(v, d);
    if (failed(v2))
      return failure();
    v = *v2;
    return success();
  };
  if (sp == 1) {
    if (failed(to2d(x)) || (w && failed(to2d(w))))
      return failure();
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
    // checkWindow has checked that strides are >= 1.
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
      y = linalg::Conv2DNchwFchwOp::create(b, loc, TypeRange{init.getType()},
                                           ValueRange{xp, w}, ValueRange{init},
                                           stridesAttr, dilAttr)
              .getResult(0);
    } else {
      int64_t cg = wt.getDimSize(1);
      FailureOr<Value> xgOr = reshape(
          xp, {dp[0], b.getIndexAttr(group), b.getIndexAttr(cg), dp[2], dp[3]});
      if (failed(xgOr))
        return failure();
      Value xg = *xgOr;
      FailureOr<Value> wgOr =
          reshape(w, {b.getIndexAttr(group), b.getIndexAttr(m / group),
                      b.getIndexAttr(cg), b.getIndexAttr(kernel[0]),
                      b.getIndexAttr(kernel[1])});
      if (failed(wgOr))
        return failure();
      Value wg = *wgOr;
      Value init = filled({dp[0], b.getIndexAttr(group),
                           b.getIndexAttr(m / group), outShape[2], outShape[3]},
                          zero);
      y = linalg::Conv2DNgchwGfchwOp::create(
              b, loc, TypeRange{init.getType()}, ValueRange{xg, wg},
              ValueRange{init}, stridesAttr, dilAttr)
              .getResult(0);
      FailureOr<Value> yOr = reshape(y, outShape);
      if (failed(yOr))
        return failure();
      y = *yOr;
    }
    if (hasInput(2)) {
      FailureOr<Value> biasOr = reshape(
          inV(2), {b.getIndexAttr(m), b.getIndexAttr(1), b.getIndexAttr(1)});
      if (failed(biasOr))
        return failure();
      Value bias = *biasOr;
      FailureOr<Value> yOr2 = elementwise(
          {y, bias}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
            return arith::AddFOp::create(nb, nl, a[0], a[1]).getResult();
          });
      if (failed(yOr2))
        return failure();
      y = *yOr2;
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
      SmallVector<utils::IteratorType> it(loops, utils::IteratorType::parallel);
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
      Value init = filled(
          outShape, fc(b, loc, elt, -std::numeric_limits<double>::infinity()));
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
            Value h = add(mul(iv[2], cst(strides[0])), mul(iv[4], cst(dil[0])));
            Value w = add(mul(iv[3], cst(strides[1])), mul(iv[5], cst(dil[1])));
            h = arith::SubIOp::create(nb, nl, h, cst(lowP[0]));
            w = arith::SubIOp::create(nb, nl, w, cst(lowP[1]));
            Value nc = add(mul(iv[0], xd[1]), iv[1]);
            Value hw = colMajor ? add(mul(w, xd[2]), h) : add(mul(h, xd[3]), w);
            Value flat = add(mul(nc, mul(xd[2], xd[3])), hw);
            flat = arith::IndexCastOp::create(nb, nl, nb.getI64Type(), flat);
            Value take = arith::CmpFOp::create(
                nb, nl, arith::CmpFPredicate::OGT, a[0], a[2]);
            linalg::YieldOp::create(
                nb, nl,
                ValueRange{arith::SelectOp::create(nb, nl, take, a[0], a[2]),
                           arith::SelectOp::create(nb, nl, take, flat, a[3])});
          });
      y = g.getResult(0);
      Value idx = g.getResult(1);
      if (sp == 1) {
        SmallVector<OpFoldResult> d = dims(idx);
        d.erase(d.begin() + 2);
        FailureOr<Value> idxOr = reshape(idx, d);
        if (failed(idxOr))
          return failure();
        idx = *idxOr;
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
      FailureOr<Value> yOr3 = elementwise(
          {y, count}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
            return arith::DivFOp::create(nb, nl, a[0], a[1]).getResult();
          });
      if (failed(yOr3))
        return failure();
      y = *yOr3;
    }
  }
  if (sp == 1) {
    SmallVector<OpFoldResult> d = dims(y);
    d.erase(d.begin() + 2);
    FailureOr<Value> yOr4 = reshape(y, d);
    if (failed(yOr4))
      return failure();
    y = *yOr4;
  }
  setOut(0, y);
  return success();
}

/// ConvTranspose as a convolution of the input spread out by the strides
/// (zeros between the elements, inserted with a strided tensor.insert_slice)
/// and padded by the kernel span less the pads, with the kernel flipped and
/// its channel dimensions swapped; padding beyond the kernel span crops the
/// result instead.
LogicalResult Importer::importConvTranspose(const onnx::NodeProto &n) {
  MLIRContext *ctx = b.getContext();
  Value x = inV(0), w = inV(1);
  int64_t r = rankOf(x);
  if (r != 3 && r != 4)
    return error(nodeDesc() +
                 ": only 1-D and 2-D inputs (rank 3 or 4) are "
                 "supported, got rank " +
                 std::to_string(r));
  Type elt = eltOf(x);
  if (!isF(elt) || eltOf(w) != elt)
    return error(nodeDesc() + ": needs float input and weights of one type");
  auto xt = typeOf(x), wt = typeOf(w);
  if (wt.getRank() != r || !wt.hasStaticShape())
    return error(nodeDesc() +
                 ": the weights must have a static shape of rank " +
                 std::to_string(r));
  int64_t sp = r - 2;
  for (int64_t i = 1; i < r; ++i)
    if (xt.isDynamicDim(i))
      return error(nodeDesc() +
                   ": needs static channel and spatial dimensions");
  int64_t group = attrInt("group", 1);
  int64_t c = xt.getDimSize(1), cg = wt.getDimSize(0);
  if (group < 1 || c != cg || c % group != 0)
    return error(nodeDesc() + ": weights with " + std::to_string(cg) +
                 " input channels do not fit an input with " +
                 std::to_string(c) + " channels in " + std::to_string(group) +
                 " group(s)");
  int64_t mg = wt.getDimSize(1), m = mg * group;
  cg = c / group;
  SmallVector<int64_t> kernel(wt.getShape().drop_front(2));
  if (auto k = attrInts("kernel_shape"); k && *k != kernel)
    return error(nodeDesc() + ": kernel_shape does not match the weights");
  auto ints = [&](StringRef name, int64_t size, int64_t def) {
    return attrInts(name).value_or(SmallVector<int64_t>(size, def));
  };
  SmallVector<int64_t> strides = ints("strides", sp, 1),
                       dil = ints("dilations", sp, 1),
                       pads = ints("pads", 2 * sp, 0),
                       outPad = ints("output_padding", sp, 0);
  constexpr int64_t kMax = int64_t(1) << 31;
  auto bad = [&](int64_t v, int64_t lo) { return v < lo || v >= kMax; };
  if (int64_t(strides.size()) != sp || int64_t(dil.size()) != sp ||
      int64_t(pads.size()) != 2 * sp || int64_t(outPad.size()) != sp)
    return error(nodeDesc() + ": strides, dilations and output_padding need " +
                 std::to_string(sp) + " entries and pads " +
                 std::to_string(2 * sp));
  for (int64_t i = 0; i < sp; ++i)
    if (bad(strides[i], 1) || bad(dil[i], 1) || bad(pads[i], 0) ||
        bad(pads[sp + i], 0) || bad(outPad[i], 0) || bad(kernel[i], 1) ||
        bad(xt.getDimSize(2 + i), 1))
      return error(nodeDesc() + ": strides and dilations must be in [1, 2^31), "
                                "pads and output_padding in [0, 2^31)");
  // Keeps the window arithmetic below (sums of these spans) in int64.
  for (int64_t i = 0; i < sp; ++i)
    if ((kernel[i] - 1) * dil[i] >= kMax ||
        strides[i] * (xt.getDimSize(2 + i) - 1) >= kMax)
      return error(nodeDesc() +
                   ": the kernel span or the strided input "
                   "exceeds 2^31 elements along spatial "
                   "dimension " +
                   std::to_string(i));
  // The full result along each axis, and where the output starts in it.
  SmallVector<int64_t> full(sp), begin(sp), out(sp);
  for (int64_t i = 0; i < sp; ++i) {
    full[i] = strides[i] * (xt.getDimSize(2 + i) - 1) +
              (kernel[i] - 1) * dil[i] + 1 + outPad[i];
    begin[i] = pads[i];
    out[i] = full[i] - pads[i] - pads[sp + i];
  }
  std::string autoPad = attrString("auto_pad", "NOTSET");
  if (autoPad != "NOTSET" && autoPad != "VALID" && autoPad != "SAME_UPPER" &&
      autoPad != "SAME_LOWER")
    return error(nodeDesc() + ": unknown auto_pad '" + autoPad + "'");
  std::optional<SmallVector<int64_t>> outShape = attrInts("output_shape");
  if (outShape && int64_t(outShape->size()) == sp + 2)
    outShape->erase(outShape->begin(), outShape->begin() + 2);
  if (outShape && int64_t(outShape->size()) != sp)
    return error(nodeDesc() + ": output_shape needs " + std::to_string(sp) +
                 " entries");
  if (!outShape && (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER")) {
    outShape.emplace();
    for (int64_t i = 0; i < sp; ++i)
      outShape->push_back(xt.getDimSize(2 + i) * strides[i]);
  }
  for (int64_t i = 0; i < sp && autoPad == "VALID" && !outShape; ++i) {
    begin[i] = 0;
    out[i] = full[i];
  }
  for (int64_t i = 0; i < sp && outShape; ++i) {
    if (bad((*outShape)[i], 1))
      return error(nodeDesc() + ": output_shape entries must be in [1, 2^31)");
    // The split of ONNX's formula (the backend tests follow it; onnxruntime
    // puts the odd element at the other end); a negative total (a larger
    // output) adds zeros at the end.
    int64_t total = std::max<int64_t>(full[i] - (*outShape)[i], 0);
    begin[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
    out[i] = (*outShape)[i];
  }
  for (int64_t i = 0; i < sp; ++i)
    if (out[i] < 1)
      return error(nodeDesc() +
                   ": the pads leave no output along spatial "
                   "dimension " +
                   std::to_string(i));
  // 1-D runs as 2-D with a unit height.
  if (sp == 1) {
    SmallVector<OpFoldResult> d = dims(x), dw = dims(w);
    d.insert(d.begin() + 2, b.getIndexAttr(1));
    dw.insert(dw.begin() + 2, b.getIndexAttr(1));
    FailureOr<Value> xOr = reshape(x, d);
    if (failed(xOr))
      return failure();
    x = *xOr;
    FailureOr<Value> wOr = reshape(w, dw);
    if (failed(wOr))
      return failure();
    w = *wOr;
    for (auto *v : {&kernel, &strides, &dil, &begin, &out})
      v->insert(v->begin(), 1);
    begin[0] = 0;
  }
  // Flipped kernel, [group, M/group, C/group, kh, kw].
  AffineExpr g = getAffineDimExpr(0, ctx), mo = getAffineDimExpr(1, ctx),
             ci = getAffineDimExpr(2, ctx), kh = getAffineDimExpr(3, ctx),
             kw = getAffineDimExpr(4, ctx);
  Value wInit =
      empty({b.getIndexAttr(group), b.getIndexAttr(mg), b.getIndexAttr(cg),
             b.getIndexAttr(kernel[0]), b.getIndexAttr(kernel[1])},
            elt);
  Value wf =
      linalg::GenericOp::create(
          b, loc, TypeRange{wInit.getType()}, ValueRange{w}, ValueRange{wInit},
          SmallVector<AffineMap>{
              AffineMap::get(
                  5, 0,
                  {g * cg + ci, mo, kernel[0] - 1 - kh, kernel[1] - 1 - kw},
                  ctx),
              AffineMap::getMultiDimIdentityMap(5, ctx)},
          SmallVector<utils::IteratorType>(5, utils::IteratorType::parallel),
          [&](OpBuilder &nb, Location nl, ValueRange a) {
            linalg::YieldOp::create(nb, nl, a[0]);
          })
          .getResult(0);
  // The spread input: low pad span-1-begin, and enough at the end for `out`
  // results; negative pads become crops of the result.
  OpFoldResult nDim = dim(x, 0);
  SmallVector<OpFoldResult> spreadShape = {nDim, b.getIndexAttr(c)},
                            offsets(4, b.getIndexAttr(0)), sizes = dims(x),
                            steps(4, b.getIndexAttr(1)),
                            cropOff(4, b.getIndexAttr(0)), convShape;
  bool crop = false;
  for (int64_t i = 0; i < 2; ++i) {
    int64_t span = (kernel[i] - 1) * dil[i];
    int64_t in = typeOf(x).getDimSize(2 + i);
    int64_t low = span - begin[i];
    int64_t high = out[i] - 1 + begin[i] - strides[i] * (in - 1);
    int64_t lowP = std::max<int64_t>(low, 0),
            highP = std::max<int64_t>(high, 0);
    spreadShape.push_back(
        b.getIndexAttr(lowP + strides[i] * (in - 1) + 1 + highP));
    offsets[2 + i] = b.getIndexAttr(lowP);
    steps[2 + i] = b.getIndexAttr(strides[i]);
    cropOff[2 + i] = b.getIndexAttr(lowP - low);
    crop |= low < 0 || high < 0;
    convShape.push_back(
        b.getIndexAttr(lowP + strides[i] * (in - 1) + 1 + highP - span));
  }
  Value zero = fc(b, loc, elt, 0.0);
  Value spread = tensor::InsertSliceOp::create(
      b, loc, x, filled(spreadShape, zero), offsets, sizes, steps);
  auto ones = b.getI64TensorAttr({1, 1});
  auto dilAttr = b.getI64TensorAttr(dil);
  Value y;
  if (group == 1) {
    FailureOr<Value> w4 =
        reshape(wf, {b.getIndexAttr(mg), b.getIndexAttr(cg),
                     b.getIndexAttr(kernel[0]), b.getIndexAttr(kernel[1])});
    if (failed(w4))
      return failure();
    Value init =
        filled({nDim, b.getIndexAttr(m), convShape[0], convShape[1]}, zero);
    y = linalg::Conv2DNchwFchwOp::create(b, loc, TypeRange{init.getType()},
                                         ValueRange{spread, *w4},
                                         ValueRange{init}, ones, dilAttr)
            .getResult(0);
  } else {
    FailureOr<Value> xgOr2 =
        reshape(spread, {nDim, b.getIndexAttr(group), b.getIndexAttr(cg),
                         spreadShape[2], spreadShape[3]});
    if (failed(xgOr2))
      return failure();
    Value xg = *xgOr2;
    Value init = filled({nDim, b.getIndexAttr(group), b.getIndexAttr(mg),
                         convShape[0], convShape[1]},
                        zero);
    y = linalg::Conv2DNgchwGfchwOp::create(b, loc, TypeRange{init.getType()},
                                           ValueRange{xg, wf}, ValueRange{init},
                                           ones, dilAttr)
            .getResult(0);
    FailureOr<Value> yOr5 =
        reshape(y, {nDim, b.getIndexAttr(m), convShape[0], convShape[1]});
    if (failed(yOr5))
      return failure();
    y = *yOr5;
  }
  if (crop)
    y = tensor::ExtractSliceOp::create(
        b, loc, y, cropOff,
        SmallVector<OpFoldResult>{nDim, b.getIndexAttr(m),
                                  b.getIndexAttr(out[0]),
                                  b.getIndexAttr(out[1])},
        SmallVector<OpFoldResult>(4, b.getIndexAttr(1)));
  if (hasInput(2)) {
    Value bias = inV(2);
    if (rankOf(bias) != 1 || eltOf(bias) != elt ||
        typeOf(bias).getDimSize(0) != m)
      return error(nodeDesc() + ": the bias must be a 1-D tensor of " +
                   std::to_string(m) + " elements of the input's type");
    FailureOr<Value> biasOr2 = reshape(
        bias, {b.getIndexAttr(m), b.getIndexAttr(1), b.getIndexAttr(1)});
    if (failed(biasOr2))
      return failure();
    bias = *biasOr2;
    FailureOr<Value> yOr6 = elementwise(
        {y, bias}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
          return arith::AddFOp::create(nb, nl, a[0], a[1]).getResult();
        });
    if (failed(yOr6))
      return failure();
    y = *yOr6;
  }
  if (sp == 1) {
    SmallVector<OpFoldResult> d = dims(y);
    d.erase(d.begin() + 2);
    FailureOr<Value> yOr7 = reshape(y, d);
    if (failed(yOr7))
      return failure();
    y = *yOr7;
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
  setOut(0, mapElements(s, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
           return arith::DivFOp::create(nb, nl, a[0], cnt).getResult();
         }));
  return success();
}

void onnx_import::registerWindowOps(OpRegistry &r) {
  r.add("Conv", 1, &Importer::importWindow);
  r.add("ConvTranspose", 1, &Importer::importConvTranspose);
  r.add("MaxPool", 1, &Importer::importWindow);
  r.add("AveragePool", 1, &Importer::importWindow);
  r.add("GlobalAveragePool", 1, &Importer::importGlobalPool);
  r.add("GlobalMaxPool", 1, &Importer::importGlobalPool);
}
