//===- ImportResize.cpp - Resize ------------------------------------------===//
//
// Resize in modes nearest and linear. The scales or sizes must be known at
// import time, so each resized axis gets constant tables (source index, and
// for linear the two neighbours and the weight of the upper one) that one
// linalg.generic reads with tensor.extract.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include <cmath>

using namespace mlir;
using namespace mlir::lathe;
using namespace mlir::lathe::onnx_import;

namespace {
/// One resized axis: per output position, the source index (nearest) or the
/// two neighbours and the weight of the upper one (linear).
struct AxisTable {
  int64_t axis;
  SmallVector<int64_t> lo, hi;
  SmallVector<double> weight;
};
} // namespace

LogicalResult Importer::importResize(const onnx::NodeProto &n) {
  MLIRContext *ctx = b.getContext();
  Value x = inV(0);
  auto xt = typeOf(x);
  int64_t r = xt.getRank();
  Type elt = xt.getElementType();
  std::string mode = attrString("mode", "nearest");
  if (mode == "cubic")
    return error(nodeDesc() + ": mode 'cubic' is not supported (nearest and "
                              "linear are)");
  if (mode != "nearest" && mode != "linear")
    return error(nodeDesc() + ": unknown mode '" + mode + "'");
  bool linear = mode == "linear";
  std::string ctm = attrString("coordinate_transformation_mode", "half_pixel");
  if (ctm == "tf_crop_and_resize")
    return error(nodeDesc() + ": coordinate_transformation_mode "
                              "'tf_crop_and_resize' is not supported");
  if (ctm != "half_pixel" && ctm != "pytorch_half_pixel" &&
      ctm != "align_corners" && ctm != "asymmetric" &&
      ctm != "tf_half_pixel_for_nearest")
    return error(nodeDesc() + ": unknown coordinate_transformation_mode '" +
                 ctm + "'");
  std::string nearestMode = attrString("nearest_mode", "round_prefer_floor");
  if (nearestMode != "round_prefer_floor" &&
      nearestMode != "round_prefer_ceil" && nearestMode != "floor" &&
      nearestMode != "ceil")
    return error(nodeDesc() + ": unknown nearest_mode '" + nearestMode + "'");
  if (linear && !isF(elt))
    return error(nodeDesc() + ": mode 'linear' needs a float input");
  if (r == 0)
    return error(nodeDesc() + ": the input must have rank >= 1");

  // Scales or sizes, as constants; an empty tensor stands for an absent one.
  auto present = [&](int i, const char *name) -> FailureOr<bool> {
    if (!hasInput(i))
      return false;
    auto t = typeOf(inV(i));
    if (t.getRank() != 1)
      return error(nodeDesc() + ": input '" + name + "' must be 1-D");
    return t.getDimSize(0) != 0;
  };
  FailureOr<bool> hasScales = present(2, "scales"),
                  hasSizes = present(3, "sizes");
  if (failed(hasScales) || failed(hasSizes))
    return failure();
  if (*hasScales == *hasSizes)
    return error(nodeDesc() + ": needs exactly one of the inputs 'scales' and "
                              "'sizes' (non-empty)");
  // Sizes may hold run-time elements (PyTorch's Shape -> Concat chains with
  // a symbolic batch) only for dimensions that keep their size (checked).
  std::optional<SmallVector<OpFoldResult>> sizes;
  std::optional<SmallVector<double>> scales;
  const char *which = *hasSizes ? "sizes" : "scales";
  if (*hasSizes) {
    auto st = typeOf(inV(3));
    if (st.isDynamicDim(0) || !isa<IntegerType>(st.getElementType()) ||
        st.getDimSize(0) != r)
      return error(nodeDesc() + ": input 'sizes' needs " + std::to_string(r) +
                   " integer elements, one per input dimension");
    FailureOr<SmallVector<OpFoldResult>> sizesIn = elemsOf(in(3));
    if (failed(sizesIn))
      return failure();
    sizes = *sizesIn;
  } else {
    scales = constFloats(in(2));
    if (!scales)
      return error(nodeDesc() + ": input 'scales' must be known at import "
                                "time (an initializer or a constant)");
  }
  if (int64_t(sizes ? sizes->size() : scales->size()) != r)
    return error(nodeDesc() + ": input '" + which + "' needs " +
                 std::to_string(r) + " elements, one per input dimension");

  // Index tables of the resized axes; other axes are copied.
  constexpr int64_t kMaxSize = int64_t(1) << 24;
  SmallVector<OpFoldResult> outShape;
  SmallVector<AxisTable> tables;
  for (int64_t i = 0; i < r; ++i) {
    int64_t inSize = xt.getDimSize(i);
    double scale;
    int64_t outSize;
    if (sizes) {
      std::optional<int64_t> known = getConstantIntValue((*sizes)[i]);
      if (!known) {
        RankedTensorType decl = declaredOut(0);
        if (decl && decl.getRank() == r && !decl.isDynamicDim(i) &&
            !ShapedType::isDynamic(inSize) && decl.getDimSize(i) != inSize)
          return error(nodeDesc() +
                       ": input 'sizes' must be known at import "
                       "time (an initializer or a constant) to "
                       "resize dimension " +
                       std::to_string(i));
        if (failed(
                checkDim((*sizes)[i], dim(x, i),
                         nodeDesc() + ": element " + std::to_string(i) +
                             " of input 'sizes' (given at run time, so it must "
                             "keep the input's size)")))
          return failure();
        outShape.push_back(dim(x, i));
        continue;
      }
      outSize = *known;
      if (outSize < 1 || outSize > kMaxSize)
        return error(nodeDesc() + ": sizes must be in [1, 2^24], got " +
                     std::to_string(outSize));
      if (!ShapedType::isDynamic(inSize) && outSize == inSize) {
        outShape.push_back(dim(x, i));
        continue;
      }
      if (ShapedType::isDynamic(inSize) || inSize < 1)
        return error(nodeDesc() + ": dimension " + std::to_string(i) +
                     " of the input must be static and non-empty to be "
                     "resized");
      scale = double(outSize) / double(inSize);
    } else {
      scale = (*scales)[i];
      if (!(scale > 0) || !std::isfinite(scale))
        return error(nodeDesc() + ": scales must be positive and finite");
      if (scale == 1.0) {
        outShape.push_back(dim(x, i));
        continue;
      }
      if (ShapedType::isDynamic(inSize) || inSize < 1)
        return error(nodeDesc() + ": dimension " + std::to_string(i) +
                     " of the input must be static and non-empty to be "
                     "resized");
      // In float, as onnxruntime computes it.
      double o = std::floor(float(inSize) * float(scale));
      if (!(o >= 1) || o > double(kMaxSize))
        return error(nodeDesc() + ": scale " + std::to_string(scale) +
                     " gives " + std::to_string(o) +
                     " elements along dimension " + std::to_string(i) +
                     " (at least 1 and at most 2^24 are supported)");
      outSize = int64_t(o);
    }
    outShape.push_back(b.getIndexAttr(outSize));
    AxisTable t;
    t.axis = i;
    for (int64_t o = 0; o < outSize; ++o) {
      double src;
      if (ctm == "half_pixel")
        src = (o + 0.5) / scale - 0.5;
      else if (ctm == "pytorch_half_pixel")
        src = outSize > 1 ? (o + 0.5) / scale - 0.5 : 0.0;
      else if (ctm == "align_corners")
        src = outSize == 1 ? 0.0 : double(o) * (inSize - 1) / (outSize - 1);
      else if (ctm == "asymmetric")
        src = o / scale;
      else
        src = (o + 0.5) / scale;
      if (linear) {
        src = std::clamp(src, 0.0, double(inSize - 1));
        int64_t lo = int64_t(std::floor(src));
        t.lo.push_back(lo);
        t.hi.push_back(std::min<int64_t>(lo + 1, inSize - 1));
        t.weight.push_back(src - double(lo));
        continue;
      }
      double f = std::floor(src), idx;
      bool half = src == f + 0.5;
      if (nearestMode == "floor")
        idx = f;
      else if (nearestMode == "ceil")
        idx = std::ceil(src);
      else if (half)
        idx = nearestMode == "round_prefer_floor" ? f : f + 1;
      else
        idx = std::round(src);
      t.lo.push_back(int64_t(
          std::clamp(idx, 0.0, double(std::max<int64_t>(inSize - 1, 0)))));
    }
    tables.push_back(std::move(t));
  }
  if (linear && tables.size() > 4)
    return error(nodeDesc() +
                 ": mode 'linear' resizes at most 4 dimensions, "
                 "got " +
                 std::to_string(tables.size()));

  SmallVector<Value> ins;
  SmallVector<AffineMap> maps;
  auto addTable = [&](ArrayRef<int64_t> v, int64_t axis) {
    auto type = RankedTensorType::get({int64_t(v.size())}, b.getI64Type());
    ins.push_back(arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(type, ArrayRef<int64_t>(v))));
    maps.push_back(AffineMap::get(r, 0, getAffineDimExpr(axis, ctx)));
  };
  for (const AxisTable &t : tables) {
    addTable(t.lo, t.axis);
    if (!linear)
      continue;
    addTable(t.hi, t.axis);
    auto type = RankedTensorType::get({int64_t(t.weight.size())}, elt);
    SmallVector<Attribute> w;
    for (double v : t.weight)
      w.push_back(b.getFloatAttr(elt, v));
    ins.push_back(
        arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, w)));
    maps.push_back(AffineMap::get(r, 0, getAffineDimExpr(t.axis, ctx)));
  }
  Value init = empty(outShape, elt);
  maps.push_back(AffineMap::getMultiDimIdentityMap(r, ctx));
  int64_t k = tables.size();
  Value y =
      linalg::GenericOp::create(
          b, loc, TypeRange{init.getType()}, ins, ValueRange{init}, maps,
          SmallVector<utils::IteratorType>(r, utils::IteratorType::parallel),
          [&](OpBuilder &nb, Location nl, ValueRange a) {
            SmallVector<Value> coords;
            for (int64_t i = 0; i < r; ++i)
              coords.push_back(linalg::IndexOp::create(nb, nl, i));
            auto idx = [&](Value v) {
              return arith::IndexCastOp::create(nb, nl, nb.getIndexType(), v)
                  .getResult();
            };
            if (!linear) {
              for (int64_t j = 0; j < k; ++j)
                coords[tables[j].axis] = idx(a[j]);
              linalg::YieldOp::create(
                  nb, nl,
                  tensor::ExtractOp::create(nb, nl, x, coords).getResult());
              return;
            }
            // Sum over the 2^k corners of the weighted neighbours.
            Value one = fc(nb, nl, elt, 1.0), acc;
            for (int64_t corner = 0; corner < (int64_t(1) << k); ++corner) {
              Value w;
              for (int64_t j = 0; j < k; ++j) {
                bool upper = corner >> j & 1;
                Value wj = a[3 * j + 2];
                coords[tables[j].axis] = idx(a[3 * j + (upper ? 1 : 0)]);
                if (!upper)
                  wj = arith::SubFOp::create(nb, nl, one, wj);
                w = w ? arith::MulFOp::create(nb, nl, w, wj).getResult() : wj;
              }
              Value term = tensor::ExtractOp::create(nb, nl, x, coords);
              if (w)
                term = arith::MulFOp::create(nb, nl, w, term);
              acc = acc ? arith::AddFOp::create(nb, nl, acc, term).getResult()
                        : term;
            }
            linalg::YieldOp::create(nb, nl, acc);
          })
          .getResult(0);
  setOut(0, y);
  return success();
}

void onnx_import::registerResizeOps(OpRegistry &r) {
  r.add("Resize", 1, &Importer::importResize);
}
