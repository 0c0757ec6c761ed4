//===- ImportDataMovement.cpp - Data movement operators -------------------===//
//
// Transpose, Concat, Split, Slice, Gather, GatherElements, ScatterElements,
// Pad and Tile.
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

LogicalResult Importer::importGatherElements(const onnx::NodeProto &) {
  MLIRContext *ctx = b.getContext();
  Value data = inV(0), indices = inV(1);
  int64_t r = rankOf(data);
  FailureOr<int64_t> axisOr = normAxis(attrInt("axis", 0), r);
  if (failed(axisOr))
    return failure();
  int64_t axis = *axisOr;
  if (rankOf(indices) != r)
    return error(nodeDesc() + ": indices must have the rank of data");
  // Along the other axes the output (indices' shape) reads data at the
  // same position: indices may not be larger there.
  SmallVector<Value> shapeOks;
  for (int64_t k = 0; k < r; ++k)
    if (k != axis) {
      FailureOr<Value> ok = checkIndicesFitData(indices, data, k);
      if (failed(ok))
        return failure();
      shapeOks.push_back(*ok);
    }
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
          Value i = arith::IndexCastOp::create(nb, nl, nb.getIndexType(), a[0]);
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
  setOut(0,
         guarded(allOf(shapeOks),
                 RankedTensorType::get(typeOf(indices).getShape(), eltOf(data)),
                 build));
  return success();
}

LogicalResult Importer::importTile(const onnx::NodeProto &) {
  Value x = inV(0);
  int64_t r = rankOf(x);
  FailureOr<SmallVector<OpFoldResult>> repsOr = elemsOf(in(1));
  if (failed(repsOr))
    return failure();
  SmallVector<OpFoldResult> reps = *repsOr, d = dims(x), out;
  if ((int64_t)reps.size() != r)
    return error(nodeDesc() + ": repeats must have one entry per dimension");
  SmallVector<Value> dv;
  for (int64_t i = 0; i < r; ++i) {
    out.push_back(foldBin(d[i], reps[i], '*'));
    dv.push_back(indexValue(d[i]));
  }
  Value g = generate(out, eltOf(x), [&](OpBuilder &nb, Location nl) {
    SmallVector<Value> idx;
    for (int64_t i = 0; i < r; ++i)
      idx.push_back(arith::RemUIOp::create(
          nb, nl, linalg::IndexOp::create(nb, nl, i), dv[i]));
    return tensor::ExtractOp::create(nb, nl, x, idx);
  });
  setOut(0, g);
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
      return error(nodeDesc() + ": perm is not a permutation of the input's " +
                   std::to_string(r) + " dimensions");
  setOut(0, transpose(x, perm));
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
      return error(nodeDesc() + ": inputs have different ranks (" +
                   std::to_string(r) + " and " + std::to_string(rankOf(t->v)) +
                   ")");
  FailureOr<int64_t> axisOr = normAxis(attrInt("axis", 0), r);
  if (failed(axisOr))
    return failure();
  int64_t axis = *axisOr;
  Type elt = eltOf(ins[0]->v);
  bool allElems = r == 1 && isa<IntegerType>(elt);
  for (TV *t : ins)
    allElems = allElems && typeOf(t->v).hasStaticShape() &&
               (t->elems || t->cst) && typeOf(t->v).getNumElements() <= 64;
  if (allElems) {
    SmallVector<OpFoldResult> all;
    for (TV *t : ins) {
      FailureOr<SmallVector<OpFoldResult>> elems = elemsOf(*t);
      if (failed(elems))
        return failure();
      llvm::append_range(all, *elems);
    }
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
    return error(nodeDesc() + ": Split needs an input of rank >= 1");
  FailureOr<int64_t> axisOr = normAxis(attrInt("axis", 0), r);
  if (failed(axisOr))
    return failure();
  int64_t axis = *axisOr;
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
          return error(nodeDesc() +
                       ": split sizes must be constant, or the result "
                       "shapes declared");
        split->push_back(t.getDimSize(axis));
      }
      // The run-time sizes must be the declared ones.
      auto st = typeOf(inV(1));
      if (st.hasStaticShape() && st.getRank() == 1) {
        if (st.getNumElements() != outs)
          return error(nodeDesc() + ": the split input has " +
                       std::to_string(st.getNumElements()) + " sizes for " +
                       std::to_string(outs) + " outputs");
        FailureOr<SmallVector<OpFoldResult>> givenOr = elemsOf(in(1));
        if (failed(givenOr))
          return failure();
        SmallVector<OpFoldResult> given = *givenOr;
        for (int i = 0; i < outs; ++i) {
          FailureOr<Value> ok =
              checkDim(given[i], b.getIndexAttr((*split)[i]),
                       nodeDesc() + ": element " + std::to_string(i) +
                           " of the split input '" + n.input(1) +
                           "' (declared size of output '" + n.output(i) + "')");
          if (failed(ok))
            return failure();
          splitOks.push_back(*ok);
        }
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
    return error(nodeDesc() + ": Split needs an input of rank >= 1");
  FailureOr<int64_t> axisOr = normAxis(attrInt("axis", 0), r);
  if (failed(axisOr))
    return failure();
  int64_t axis = *axisOr;
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
    FailureOr<Value> covered = checkDim(
        d, b.getIndexAttr(total),
        nodeDesc() + ": dimension " + std::to_string(axis) + " of input '" +
            n.input(0) + "' (the sum of the split sizes)");
    if (failed(covered))
      return failure();
    splitOks.push_back(*covered);
  } else {
    std::optional<int64_t> c = getConstantIntValue(d);
    if (c && *c % outs)
      return error(nodeDesc() + ": the dimension does not split evenly");
    // A node has at least one output: the divisor is not 0.
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
    setOut(i, guarded(allOf(splitOks), RankedTensorType::get(shape, eltOf(x)),
                      [&] { return slice(x, offs, sz, strides); }));
    offset = foldBin(offset, sizes[i], '+');
  }
  return success();
}

LogicalResult Importer::importSlice(const onnx::NodeProto &) {
  TV &x = in(0);
  int64_t r = rankOf(x.v);
  FailureOr<SmallVector<OpFoldResult>> startsOr = elemsOf(in(1));
  if (failed(startsOr))
    return failure();
  FailureOr<SmallVector<OpFoldResult>> endsOr = elemsOf(in(2));
  if (failed(endsOr))
    return failure();
  SmallVector<OpFoldResult> starts = *startsOr, ends = *endsOr;
  size_t n = starts.size();
  if (ends.size() != n)
    return error(nodeDesc() + ": starts and ends differ in length");
  SmallVector<OpFoldResult> axes, steps(n, b.getIndexAttr(1));
  if (hasInput(3)) {
    FailureOr<SmallVector<OpFoldResult>> axesIn = elemsOf(in(3));
    if (failed(axesIn))
      return failure();
    for (OpFoldResult a : *axesIn) {
      if (std::optional<int64_t> c = getConstantIntValue(a)) {
        FailureOr<int64_t> axis = normAxis(*c, r);
        if (failed(axis))
          return failure();
        axes.push_back(b.getIndexAttr(*axis));
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
  if (hasInput(4)) {
    FailureOr<SmallVector<OpFoldResult>> stepsIn = elemsOf(in(4));
    if (failed(stepsIn))
      return failure();
    steps = *stepsIn;
  }
  if (axes.size() != n || steps.size() != n)
    return error(nodeDesc() + ": axes/steps differ in length from starts");
  for (OpFoldResult st : steps)
    if (getConstantIntValue(st) == 0)
      return error(nodeDesc() + ": step 0");
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
  // The divisions below are by a step (or its negation): a constant step is
  // not 0 (checked above).
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
      OpFoldResult l = foldBin(
          foldBin(foldBin(sn, enn, '-'), foldBin(ns, one, '-'), '+'), ns, '/');
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
          FailureOr<Value> ok =
              checkDim(sizes[i], (*decl)[i],
                       nodeDesc() + ": the length selected along dimension " +
                           std::to_string(i) + " (declared result shape)");
          if (failed(ok))
            return failure();
          sliceOks.push_back(*ok);
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
    sliceShape.push_back(getConstantIntValue(v).value_or(ShapedType::kDynamic));
  setOut(0,
         guarded(allOf(sliceOks), RankedTensorType::get(sliceShape, eltOf(x.v)),
                 [&] { return slice(x.v, offs, sizes, strides); }));
  return success();
}

LogicalResult Importer::importGather(const onnx::NodeProto &) {
  MLIRContext *ctx = b.getContext();
  TV &data = in(0), &indices = in(1);
  int64_t r = rankOf(data.v);
  FailureOr<int64_t> axisOr = normAxis(attrInt("axis", 0), r);
  if (failed(axisOr))
    return failure();
  int64_t axis = *axisOr;
  auto idxConst = constInts(indices);
  if (data.elems && r == 1 && idxConst && rankOf(indices.v) <= 1) {
    SmallVector<OpFoldResult> el;
    int64_t len = data.elems->size();
    for (int64_t i : *idxConst) {
      if (i < -len || i >= len)
        return error(llvm::formatv("{0}: index {1} out of range [{2}, {3})",
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
        linalg::YieldOp::create(nb, nl, guardedExtract(nb, nl, ok, dv, coords));
      });
  setOut(0, g.getResult(0));
  return success();
}

LogicalResult Importer::importScatterElements(const onnx::NodeProto &) {
  Value data = inV(0), indices = inV(1), updates = inV(2);
  int64_t r = rankOf(data);
  if (rankOf(indices) != r || rankOf(updates) != r)
    return error(nodeDesc() +
                 ": data, indices and updates must have the same rank");
  FailureOr<int64_t> axisOr = normAxis(attrInt("axis", 0), r);
  if (failed(axisOr))
    return failure();
  int64_t axis = *axisOr;
  std::string red = attrString("reduction", "none");
  if (red != "none" && red != "add" && red != "mul")
    return error(nodeDesc() + ": reduction '" + red + "' is not supported");
  if (rankOf(indices) != r || rankOf(updates) != r)
    return error(nodeDesc() +
                 ": indices and updates must have the rank of data");
  // updates has indices' shape; along the other axes an update is written
  // at its own position, so indices may not be larger than data there.
  SmallVector<Value> shapeOks;
  for (int64_t k = 0; k < r; ++k) {
    FailureOr<Value> same = checkDim(
        dim(updates, k), dim(indices, k),
        nodeDesc() + ": dimension " + std::to_string(k) + " of " +
            operandName(updates) + " (that of " + operandName(indices) + ")");
    if (failed(same))
      return failure();
    shapeOks.push_back(*same);
    if (k != axis) {
      FailureOr<Value> fits = checkIndicesFitData(indices, data, k);
      if (failed(fits))
        return failure();
      shapeOks.push_back(*fits);
    }
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
  Value x = inV(0);
  int64_t r = rankOf(x);
  std::string mode = attrString("mode", "constant");
  FailureOr<SmallVector<OpFoldResult>> padsOr = elemsOf(in(1));
  if (failed(padsOr))
    return failure();
  SmallVector<OpFoldResult> pads = *padsOr;
  if ((int64_t)pads.size() != 2 * r)
    return error(nodeDesc() + ": pads must have 2*rank entries");
  for (OpFoldResult p : pads)
    if (std::optional<int64_t> c = getConstantIntValue(p); c && *c < 0)
      return error(nodeDesc() + ": negative pads are not supported");
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
    return error(nodeDesc() + ": mode '" + mode + "' is not supported");
  SmallVector<Value> dv;
  for (OpFoldResult v : d)
    dv.push_back(indexValue(v));
  bool edge = mode == "edge";
  SmallVector<Value> lows;
  for (int64_t i = 0; i < r; ++i)
    lows.push_back(indexValue(lo[i]));
  Value g = generate(out, elt, [&](OpBuilder &nb, Location nl) {
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
        Value neg =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt, iv, zero);
        iv = arith::SelectOp::create(
            nb, nl, neg, arith::SubIOp::create(nb, nl, zero, iv), iv);
        Value over =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sgt, iv, last);
        Value twice = arith::AddIOp::create(nb, nl, last, last);
        iv = arith::SelectOp::create(
            nb, nl, over, arith::SubIOp::create(nb, nl, twice, iv), iv);
      }
      idx.push_back(iv);
    }
    return tensor::ExtractOp::create(nb, nl, x, idx);
  });
  setOut(0, g);
  return success();
}

void onnx_import::registerDataMovementOps(OpRegistry &r) {
  r.add("GatherElements", 1, &Importer::importGatherElements);
  r.add("Tile", 1, &Importer::importTile);
  r.add("Transpose", 1, &Importer::importTranspose);
  r.add("Concat", 1, &Importer::importConcat);
  r.add("Split", 1, &Importer::importSplit11);
  r.add("Split", 13, &Importer::importSplit13);
  r.add("Slice", 1, &Importer::importSlice);
  r.add("Gather", 1, &Importer::importGather);
  r.add("ScatterElements", 1, &Importer::importScatterElements);
  r.add("Pad", 1, &Importer::importPad);
}
