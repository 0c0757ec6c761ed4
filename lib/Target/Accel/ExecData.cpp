//===- ExecData.cpp - What each engine op computes, for execution ---------===//
//
// accel-tile's data half (docs/Targets/Accel.md, "What is simulated"): the
// buffers a function's values live in and, for each compute op, its
// iteration domain, one strided access per operand, its epilogue or
// element-wise payload. The attributes it produces are the `accel` ops'
// domain / accesses / roles / payload (AccelOps.td), which runtime/accel's
// AccelExec executes.
//
//===----------------------------------------------------------------------===//

#include "ExecData.h"

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/runtime/AccelExec.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace mlir;
using namespace mlir::lathe;

namespace {
/// A payload constant; infinities as inf / -inf (runtime/accel's spelling).
std::string constInstr(double v) {
  if (std::isinf(v))
    return v > 0 ? "const inf" : "const -inf";
  return llvm::formatv("const {0}", v).str();
}

SmallVector<int64_t> rowMajor(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> s(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    s[i] = s[i + 1] * shape[i + 1];
  return s;
}

std::string describeOp(Operation *op) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "'" << op->getName() << "' at " << op->getLoc();
  return s;
}
} // namespace

AccelDataBuilder::AccelDataBuilder(func::FuncOp func) : func(func) {}

bool AccelDataBuilder::fail(Operation *op, const Twine &why) {
  if (reason.empty())
    reason = (describeOp(op) + ": " + why).str();
  return false;
}

bool AccelDataBuilder::layoutOf(Value v, Layout &out, Operation *user) {
  auto it = layouts.find(v);
  if (it != layouts.end()) {
    out = it->second;
    return true;
  }
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || !type.hasStaticShape() || !type.getElementType().isF32())
    return fail(user, "reads a value that is not a static f32 tensor (the "
                      "accelerator executes f32 only)");
  Buffer b;
  b.elements = type.getNumElements();
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (arg.getOwner()->getParentOp() != func)
      return fail(user, "reads a block argument that is not the function's");
    b.arg = static_cast<int>(arg.getArgNumber());
  } else if (auto cst = v.getDefiningOp<arith::ConstantOp>()) {
    b.value = dyn_cast<ElementsAttr>(cst.getValue());
    if (!b.value)
      return fail(user, "reads a constant that is not an elements attribute");
  } else {
    return fail(user, "reads a value no engine op produces (defined by " +
                          describeOp(v.getDefiningOp()) + ")");
  }
  buffers.push_back(b);
  Layout l{static_cast<int>(buffers.size()) - 1, 0, rowMajor(type.getShape())};
  layouts[v] = l;
  out = l;
  return true;
}

bool AccelDataBuilder::view(Operation *op) {
  Value src = op->getOperand(0), res = op->getResult(0);
  // A view of what no engine op produces (a destination's tensor.empty) has
  // no data: only a read of it is an error.
  if (!layouts.count(src) && !isa<BlockArgument>(src) &&
      !src.getDefiningOp<arith::ConstantOp>())
    return true;
  Layout in;
  if (!layoutOf(src, in, op))
    return false;
  // A cast changes the type only (the entry's specialization casts static
  // values back to the declared dynamic types).
  if (isa<tensor::CastOp>(op)) {
    layouts[res] = in;
    return true;
  }
  auto srcType = cast<RankedTensorType>(src.getType());
  auto resType = cast<RankedTensorType>(res.getType());
  if (!resType.hasStaticShape())
    return fail(op, "has a dynamic result shape");
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
    if (!slice.hasUnitStride() || !slice.getStaticOffsets().size() ||
        llvm::any_of(slice.getStaticOffsets(), ShapedType::isDynamic))
      return fail(op, "is a slice with dynamic offsets or non-unit strides");
    Layout out{in.buffer, in.offset, {}};
    llvm::SmallBitVector dropped = slice.getDroppedDims();
    for (auto [i, o] : llvm::enumerate(slice.getStaticOffsets())) {
      out.offset += o * in.strides[i];
      if (!dropped.test(i))
        out.strides.push_back(in.strides[i]);
    }
    layouts[res] = out;
    return true;
  }
  // Reshapes and casts keep the elements in place when the source is
  // contiguous.
  if (in.strides != rowMajor(srcType.getShape()))
    return fail(op, "reshapes a strided view (the engine program addresses "
                    "reshapes of contiguous values only)");
  layouts[res] = Layout{in.buffer, in.offset, rowMajor(resType.getShape())};
  return true;
}

int AccelDataBuilder::newOutput(Value result) {
  auto type = cast<RankedTensorType>(result.getType());
  Buffer b;
  b.elements = type.getNumElements();
  buffers.push_back(b);
  int id = static_cast<int>(buffers.size()) - 1;
  layouts[result] = Layout{id, 0, rowMajor(type.getShape())};
  return id;
}

/// Strides of a value read through an affine map over the domain: the sum
/// over the map's results of coefficient * the value's stride.
static bool mapStrides(AffineMap map, const AccelDataBuilder::Layout &l,
                       SmallVector<int64_t> &strides, int64_t &offset) {
  strides.assign(map.getNumDims(), 0);
  offset = l.offset;
  for (auto [i, expr] : llvm::enumerate(map.getResults())) {
    int64_t s = l.strides[i];
    std::function<bool(AffineExpr, int64_t)> add = [&](AffineExpr e,
                                                       int64_t coef) -> bool {
      if (auto d = dyn_cast<AffineDimExpr>(e)) {
        strides[d.getPosition()] += coef * s;
        return true;
      }
      if (auto c = dyn_cast<AffineConstantExpr>(e)) {
        offset += coef * c.getValue() * s;
        return true;
      }
      auto bin = dyn_cast<AffineBinaryOpExpr>(e);
      if (!bin)
        return false;
      if (e.getKind() == AffineExprKind::Add)
        return add(bin.getLHS(), coef) && add(bin.getRHS(), coef);
      if (e.getKind() == AffineExprKind::Mul) {
        if (auto c = dyn_cast<AffineConstantExpr>(bin.getRHS()))
          return add(bin.getLHS(), coef * c.getValue());
        if (auto c = dyn_cast<AffineConstantExpr>(bin.getLHS()))
          return add(bin.getRHS(), coef * c.getValue());
      }
      return false;
    };
    if (!add(expr, 1))
      return false;
  }
  return true;
}

bool AccelDataBuilder::matmul(lathe::MatmulOp mm, OpData &d) {
  SmallVector<int64_t, 4> sizes = mm.getProblemSizes();
  d.domain.assign(sizes.begin(), sizes.end());
  // Logical strides of an operand: the value's strides through the
  // permutation, then the transpose of the last two.
  auto logical = [&](Value v, std::optional<ArrayRef<int64_t>> perm,
                     bool transpose, SmallVector<int64_t> &strides,
                     SmallVector<int64_t> &shape, int64_t &offset) -> bool {
    Layout l;
    if (!layoutOf(v, l, mm))
      return false;
    auto type = cast<RankedTensorType>(v.getType());
    strides.clear();
    shape.clear();
    for (int64_t i = 0; i < type.getRank(); ++i) {
      int64_t p = perm ? (*perm)[i] : i;
      strides.push_back(l.strides[p]);
      shape.push_back(type.getDimSize(p));
    }
    if (transpose && strides.size() >= 2) {
      std::swap(strides[strides.size() - 1], strides[strides.size() - 2]);
      std::swap(shape[shape.size() - 1], shape[shape.size() - 2]);
    }
    offset = l.offset;
    return true;
  };
  // One stride for the batch dimensions (all but the last two).
  auto batchStride = [&](ArrayRef<int64_t> strides, ArrayRef<int64_t> shape,
                         int64_t &out) -> bool {
    out = 0;
    int64_t span = 1;
    bool first = true;
    for (int64_t i = static_cast<int64_t>(shape.size()) - 3; i >= 0; --i) {
      if (shape[i] == 1)
        continue;
      if (first) {
        out = strides[i];
        first = false;
      } else if (strides[i] != out * span) {
        return false;
      }
      span *= shape[i];
    }
    return true;
  };
  // Otherwise a batch of two dimensions (batch x heads through a
  // transposed view): the outer one's stride, the inner one's size and
  // stride (AccelDataBuilder::InputData::batchInner).
  auto batchOf = [&](ArrayRef<int64_t> strides, ArrayRef<int64_t> shape,
                     int64_t &out, int64_t &inner,
                     int64_t &innerStride) -> bool {
    inner = innerStride = 0;
    if (batchStride(strides, shape, out))
      return true;
    SmallVector<size_t, 2> dims;
    for (size_t i = 0; i + 2 < shape.size(); ++i)
      if (shape[i] != 1)
        dims.push_back(i);
    if (dims.size() != 2)
      return false;
    out = strides[dims[0]];
    inner = shape[dims[1]];
    innerStride = strides[dims[1]];
    return true;
  };
  // Every two-level operand must split the batch index the same way.
  int64_t batchInner = 0;
  auto sameSplit = [&](int64_t inner) {
    if (inner == 0)
      return true;
    if (batchInner == 0)
      batchInner = inner;
    return batchInner == inner;
  };
  auto perm = [](std::optional<ArrayRef<int64_t>> p) { return p; };
  SmallVector<int64_t> ls, lsh, rs, rsh, os, osh;
  int64_t lo, ro, lb, rb, ob;
  if (!logical(mm.getLhs(), perm(mm.getLhsPerm()), mm.getTransposeLhs(), ls,
               lsh, lo) ||
      !logical(mm.getRhs(), perm(mm.getRhsPerm()), mm.getTransposeRhs(), rs,
               rsh, ro))
    return false;
  int64_t li, lis, ri, ris;
  if (!batchOf(ls, lsh, lb, li, lis) || !batchOf(rs, rsh, rb, ri, ris) ||
      !sameSplit(li) || !sameSplit(ri))
    return fail(mm, "has batch dimensions that neither one stride nor two "
                    "(batch x heads) address");
  size_t lr = ls.size(), rr = rs.size();
  d.inputs.push_back(
      {mm.getLhs(), {}, lo, {lb, ls[lr - 2], 0, ls[lr - 1]}, li, lis});
  d.inputs.push_back(
      {mm.getRhs(), {}, ro, {rb, 0, rs[rr - 1], rs[rr - 2]}, ri, ris});
  if (Value bias = mm.getBias()) {
    Layout l;
    if (!layoutOf(bias, l, mm))
      return false;
    d.bias = static_cast<int>(d.inputs.size());
    d.inputs.push_back({bias, {}, l.offset, {0, 0, l.strides.back(), 0}});
  }
  // The output: a new contiguous buffer read through init_perm.
  int out = newOutput(mm->getResult(0));
  Layout ol = layouts[mm->getResult(0)];
  auto initType = cast<RankedTensorType>(mm.getInit().getType());
  auto ip = mm.getInitPerm();
  os.clear();
  osh.clear();
  for (int64_t i = 0; i < initType.getRank(); ++i) {
    int64_t p = ip ? (*ip)[i] : i;
    os.push_back(ol.strides[p]);
    osh.push_back(initType.getDimSize(p));
  }
  int64_t oi, ois;
  if (!batchOf(os, osh, ob, oi, ois) || !sameSplit(oi))
    return fail(mm, "has an output whose batch dimensions neither one "
                    "stride nor two (batch x heads) address");
  size_t orank = os.size();
  d.output = {Value(), out, 0, {ob, os[orank - 2], os[orank - 1], 0}, oi, ois};
  if (Value residual = mm.getResidual()) {
    SmallVector<int64_t> rsd, rshape;
    int64_t roff, rbs;
    if (!logical(residual, perm(ip), false, rsd, rshape, roff))
      return false;
    int64_t rsi, rsis;
    if (!batchOf(rsd, rshape, rbs, rsi, rsis) || !sameSplit(rsi))
      return fail(mm, "has a residual whose batch dimensions neither one "
                      "stride nor two (batch x heads) address");
    d.residual = static_cast<int>(d.inputs.size());
    d.inputs.push_back({residual,
                        {},
                        roff,
                        {rbs, rsd[rsd.size() - 2], rsd[rsd.size() - 1], 0},
                        rsi,
                        rsis});
  }
  d.alpha = mm.getAlpha().convertToFloat();
  d.activation = mm.getActivation();
  return true;
}

bool AccelDataBuilder::conv(lathe::Conv2DOp op, OpData &d) {
  if (op.hasPool())
    return fail(op, "has a fused max pooling (the accelerator pipeline keeps "
                    "pooling a separate vector-core reduction)");
  if (op.getAccumulate())
    return fail(op, "accumulates into its init");
  if (op.getInputBlock() || op.getOutputBlock())
    return fail(op, "reads or writes a channel-blocked layout");
  auto inType = cast<RankedTensorType>(op.getInput().getType());
  auto fType = cast<RankedTensorType>(op.getFilter().getType());
  auto outType = cast<RankedTensorType>(op->getResult(0).getType());
  if (!inType.hasStaticShape() || !fType.hasStaticShape() ||
      !outType.hasStaticShape())
    return fail(op, "has dynamic sizes");
  bool nhwc = op.isNhwc();
  ArrayRef<int64_t> x = inType.getShape(), w = fType.getShape(),
                    y = outType.getShape();
  int64_t n = x[0], c = nhwc ? x[3] : x[1], h = nhwc ? x[1] : x[2],
          wd = nhwc ? x[2] : x[3];
  int64_t f = nhwc ? w[3] : w[0], kh = nhwc ? w[0] : w[2],
          kw = nhwc ? w[1] : w[3];
  int64_t oh = nhwc ? y[1] : y[2], ow = nhwc ? y[2] : y[3];
  ArrayRef<int64_t> st = op.getStrides(), dil = op.getDilations(),
                    pad = op.getPadding();
  Layout li, lf;
  if (!layoutOf(op.getInput(), li, op) || !layoutOf(op.getFilter(), lf, op))
    return false;
  if (lf.strides != rowMajor(w))
    return fail(op, "reads a strided view of its filter");
  if (llvm::any_of(li.strides, [](int64_t s) { return s < 0; }))
    return fail(op, "reads its image with a negative stride");
  d.domain = {1, n * oh * ow, f, c * kh * kw};
  // The image: through the convolution's gather (runtime/accel), no strides.
  d.inputs.push_back({op.getInput(), {}, li.offset, {0, 0, 0, 0}});
  // The filter as a [C*KH*KW, F] operand: [F, C, KH, KW] or [KH, KW, C, F].
  d.inputs.push_back({op.getFilter(),
                      {},
                      lf.offset,
                      nhwc ? SmallVector<int64_t, 6>{0, 0, 1, f}
                           : SmallVector<int64_t, 6>{0, 0, c * kh * kw, 1}});
  if (Value bias = op.getBias()) {
    Layout l;
    if (!layoutOf(bias, l, op))
      return false;
    d.bias = static_cast<int>(d.inputs.size());
    d.inputs.push_back({bias, {}, l.offset, {0, 0, l.strides.back(), 0}});
  }
  int out = newOutput(op->getResult(0));
  d.output = {Value(), out, 0, {0, 0, 0, 0}};
  d.conv = {
      n,     c,     h,      wd,     f,      kh,     kw,   oh,           ow,
      st[0], st[1], dil[0], dil[1], pad[0], pad[1], nhwc, li.strides[0]};
  // The image's strides along c, h, w (the gather takes views, e.g. a crop).
  for (int dim : nhwc ? std::initializer_list<int>{3, 1, 2}
                      : std::initializer_list<int>{1, 2, 3})
    d.conv.push_back(li.strides[dim]);
  d.activation = op.getActivation();
  return true;
}

bool AccelDataBuilder::pool(Operation *op, bool nhwc, OpData &d) {
  auto dps = cast<DestinationStyleOpInterface>(op);
  Value input = dps.getDpsInputOperand(0)->get();
  Value window = dps.getDpsInputOperand(1)->get();
  Value init = dps.getDpsInitOperand(0)->get();
  auto inType = cast<RankedTensorType>(input.getType());
  auto winType = cast<RankedTensorType>(window.getType());
  auto outType = cast<RankedTensorType>(op->getResult(0).getType());
  if (!inType.hasStaticShape() || !winType.hasStaticShape() ||
      !outType.hasStaticShape())
    return fail(op, "has dynamic sizes");
  auto attrValues = [&](StringRef name, SmallVector<int64_t, 2> &v) {
    auto a = op->getAttrOfType<DenseIntElementsAttr>(name);
    v.assign({1, 1});
    if (a && a.getNumElements() == 2)
      v.assign(a.getValues<int64_t>().begin(), a.getValues<int64_t>().end());
  };
  SmallVector<int64_t, 2> st, dil;
  attrValues("strides", st);
  attrValues("dilations", dil);
  Layout li, lo;
  if (!layoutOf(input, li, op) || !layoutOf(init, lo, op))
    return false;
  // Loops [N, C, OH, OW, KH, KW] (nchw) or [N, OH, OW, C, KH, KW] (nhwc);
  // the result is the maximum over the window dimensions.
  ArrayRef<int64_t> y = outType.getShape(), win = winType.getShape();
  d.domain.assign(y.begin(), y.end());
  d.domain.append({win[0], win[1]});
  int hDim = nhwc ? 1 : 2, wDim = nhwc ? 2 : 3;
  auto windowed = [&](const Layout &l) {
    SmallVector<int64_t, 6> s(l.strides.begin(), l.strides.end());
    s[hDim] *= st[0];
    s[wDim] *= st[1];
    s.append({dil[0] * l.strides[hDim], dil[1] * l.strides[wDim]});
    return s;
  };
  d.inputs.push_back({input, {}, li.offset, windowed(li)});
  auto flat = [](const Layout &l) {
    SmallVector<int64_t, 6> s(l.strides.begin(), l.strides.end());
    s.append({0, 0});
    return s;
  };
  d.init = 1;
  d.inputs.push_back({init, {}, lo.offset, flat(lo)});
  int out = newOutput(op->getResult(0));
  d.output = {Value(), out, 0, flat(layouts[op->getResult(0)])};
  // max(image, running maximum): the running maximum is input #2.
  d.payload = {"input 0", "input 2", "max 0 1"};
  d.result = 2;
  return true;
}

bool AccelDataBuilder::csr(Operation *op, OpData &d) {
  // Operands: row_ptr, col_idx, values, features, init (accel-tile's
  // describe() admits no other form).
  Value rowPtr = op->getOperand(0), cols = op->getOperand(1),
        values = op->getOperand(2), features = op->getOperand(3);
  auto constant = [&](Value v, SmallVector<int64_t> &out) {
    auto cst = v.getDefiningOp<arith::ConstantOp>();
    auto attr = cst ? dyn_cast<DenseIntElementsAttr>(cst.getValue()) : nullptr;
    if (!attr)
      return false;
    out.clear();
    for (const APInt &x : attr.getValues<APInt>())
      out.push_back(x.getSExtValue());
    return true;
  };
  if (!constant(rowPtr, d.csrRowPtr) || !constant(cols, d.csrCols))
    return fail(op, "reads an adjacency whose row_ptr or col_idx is not a "
                    "constant (the engine program holds the graph's "
                    "structure)");
  auto outType = cast<RankedTensorType>(op->getResult(0).getType());
  auto xType = dyn_cast<RankedTensorType>(features.getType());
  auto vType = dyn_cast<RankedTensorType>(values.getType());
  if (!xType || xType.getRank() != 2 || !vType || vType.getRank() != 1 ||
      outType.getRank() != 2)
    return fail(op, "has features, values or a result of an unexpected rank");
  if (!xType.hasStaticShape() || !vType.hasStaticShape() ||
      !outType.hasStaticShape())
    return fail(op, "has features, values or a result of a dynamic shape (the "
                    "accelerator needs static shapes)");
  int64_t m = outType.getDimSize(0), f = outType.getDimSize(1),
          n = xType.getDimSize(0);
  // The structure the simulator will index with: checked here, where the
  // error can name the op.
  if (static_cast<int64_t>(d.csrRowPtr.size()) != m + 1 ||
      d.csrRowPtr.front() != 0 ||
      d.csrRowPtr.back() > static_cast<int64_t>(d.csrCols.size()) ||
      d.csrRowPtr.back() > vType.getNumElements())
    return fail(op, "has a row_ptr that does not describe its rows and "
                    "non-zeros");
  for (int64_t i = 0; i < m; ++i)
    if (d.csrRowPtr[i] > d.csrRowPtr[i + 1])
      return fail(op, "has a decreasing row_ptr");
  for (int64_t c : d.csrCols)
    if (c < 0 || c >= n)
      return fail(op, "has a column index out of its features' rows");
  Layout lv, lx;
  if (!layoutOf(values, lv, op) || !layoutOf(features, lx, op))
    return false;
  if (lv.strides != SmallVector<int64_t, 4>{1})
    return fail(op, "reads a strided view of its values");
  d.domain = {m, f};
  // The values by non-zero and the features by (column, feature): the
  // tile's non-zeros choose the points (runtime/accel), not the strides.
  d.inputs.push_back({values, {}, lv.offset, {0, 0}});
  d.inputs.push_back({features, {}, lx.offset, {lx.strides[0], lx.strides[1]}});
  int out = newOutput(op->getResult(0));
  d.output = {Value(), out, 0, {f, 1}};
  return true;
}

bool AccelDataBuilder::insertSlice(tensor::InsertSliceOp op, OpData &d) {
  auto srcType = op.getSourceType();
  auto destType = op.getDestType();
  if (!srcType.hasStaticShape() || !destType.hasStaticShape() ||
      !op.hasUnitStride() ||
      llvm::any_of(op.getStaticOffsets(), ShapedType::isDynamic) ||
      llvm::any_of(op.getStaticSizes(), ShapedType::isDynamic))
    return fail(op, "inserts with dynamic sizes or offsets or non-unit "
                    "strides");
  Layout src;
  if (!layoutOf(op.getSource(), src, op))
    return false;
  Value dest = op.getDest(), result = op.getResult();
  Layout out;
  if (dest.getDefiningOp<tensor::EmptyOp>()) {
    // Nothing to keep: a new buffer, whose other regions other inserts fill.
    newOutput(result);
    out = layouts[result];
  } else {
    if (!layoutOf(dest, out, op))
      return false;
    const Buffer &buf = buffers[out.buffer];
    if (!dest.hasOneUse() || buf.arg >= 0 || buf.value ||
        out.strides != rowMajor(destType.getShape()) ||
        buf.elements != destType.getNumElements())
      return fail(op, "inserts into a value that is read elsewhere, an "
                      "argument, a constant or a view (the engine program "
                      "inserts in place)");
    layouts[result] = out;
  }
  d.domain.assign(srcType.getShape().begin(), srcType.getShape().end());
  d.inputs.push_back({op.getSource(), {}, src.offset, {}});
  d.inputs.back().strides.assign(src.strides.begin(), src.strides.end());
  d.output = {Value(), out.buffer, out.offset, {}};
  llvm::SmallBitVector dropped = op.getDroppedDims();
  for (auto [i, o] : llvm::enumerate(op.getStaticOffsets())) {
    d.output.offset += o * out.strides[i];
    if (!dropped.test(i))
      d.output.strides.push_back(out.strides[i]);
  }
  d.payload = {"input 0"};
  d.result = 0;
  return true;
}

bool AccelDataBuilder::rows(Operation *op, Value input, int64_t dim,
                            OpData &d) {
  auto type = cast<RankedTensorType>(input.getType());
  if (dim != type.getRank() - 1)
    return fail(op, "normalizes a dimension other than the last (the row "
                    "kernels take rows of contiguous elements)");
  Layout l;
  if (!layoutOf(input, l, op))
    return false;
  if (l.strides != rowMajor(type.getShape()))
    return fail(op, "reads a strided view (the row kernels take contiguous "
                    "rows)");
  int64_t cols = type.getDimSize(dim);
  d.domain = {type.getNumElements() / std::max<int64_t>(1, cols), cols};
  d.inputs.push_back({input, {}, l.offset, {cols, 1}});
  int out = newOutput(op->getResult(0));
  d.output = {Value(), out, 0, {cols, 1}};
  return true;
}

bool AccelDataBuilder::integerLayoutOf(Value v, Layout &out, Operation *user) {
  auto it = layouts.find(v);
  if (it != layouts.end()) {
    out = it->second;
    return true;
  }
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || !type.hasStaticShape() ||
      !type.getElementType().isSignlessInteger() ||
      type.getElementType().getIntOrFloatBitWidth() > 64)
    return fail(user, "gathers with ids that are not a static integer tensor");
  Buffer b;
  b.elements = type.getNumElements();
  b.integer = true;
  if (auto arg = dyn_cast<BlockArgument>(v);
      arg && arg.getOwner()->getParentOp() == func) {
    b.arg = static_cast<int>(arg.getArgNumber());
  } else if (auto cst = v.getDefiningOp<arith::ConstantOp>()) {
    b.value = dyn_cast<ElementsAttr>(cst.getValue());
    if (!b.value)
      return fail(user, "gathers with ids from a constant that is not an "
                        "elements attribute");
  } else {
    return fail(user, "gathers with ids no engine op produces (only the "
                      "function's arguments and constants hold integers)");
  }
  buffers.push_back(b);
  Layout l{static_cast<int>(buffers.size()) - 1, 0, rowMajor(type.getShape())};
  layouts[v] = l;
  out = l;
  return true;
}

/// The text of the check message a generic's bounds check passes to
/// lathe_rt_index_check_failed (a memref.global of i8), or empty.
static std::string checkMessage(Operation *call) {
  Value what = call->getOperand(0);
  while (auto c = what.getDefiningOp<memref::CastOp>())
    what = c.getSource();
  auto get = what.getDefiningOp<memref::GetGlobalOp>();
  if (!get)
    return {};
  auto global = SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(
      call, get.getNameAttr());
  auto init =
      global
          ? dyn_cast_or_null<DenseIntElementsAttr>(global.getInitialValueAttr())
          : nullptr;
  if (!init)
    return {};
  std::string text;
  for (const APInt &c : init.getValues<APInt>()) {
    if (c.isZero())
      break;
    text.push_back(static_cast<char>(c.getZExtValue()));
  }
  return text;
}

/// Whether `sel` is select(cmpi slt %id, 0, addi %id rows, %id), the wrap of
/// a negative id from the end of a table dimension of `rows` rows.
static bool isWrap(arith::SelectOp sel, int64_t rows) {
  Value id = sel.getFalseValue();
  auto cmp = sel.getCondition().getDefiningOp<arith::CmpIOp>();
  if (!cmp || cmp.getPredicate() != arith::CmpIPredicate::slt ||
      cmp.getLhs() != id || !matchPattern(cmp.getRhs(), m_Zero()))
    return false;
  auto add = sel.getTrueValue().getDefiningOp<arith::AddIOp>();
  if (!add)
    return false;
  Value other = add.getLhs() == id   ? add.getRhs()
                : add.getRhs() == id ? add.getLhs()
                                     : Value();
  APInt n;
  return other && matchPattern(other, m_ConstantInt(&n)) &&
         n.getSExtValue() == rows;
}

bool AccelDataBuilder::gather(linalg::GenericOp g, tensor::ExtractOp extract,
                              OpData &d, unsigned &idsInput) {
  // The form lathe-import-onnx gives Gather on a table: the gathered value
  // is table[row(id), linalg.index ...], the row an index_cast of the id,
  // wrapped from the end when negative (a select), bounds-checked by a call
  // of lathe_rt_index_check_failed (else 0 out of range); element-wise
  // fusion may have put more of the body around it. Inputs 0 and 1 of the
  // engine op become the ids and the table.
  Block *body = g.getBody();
  if (g.getNumReductionLoops() != 0)
    return fail(g, "gathers in a reduction");
  Value table = extract.getTensor();
  auto tableType = dyn_cast<RankedTensorType>(table.getType());
  if (!tableType || !tableType.hasStaticShape() ||
      table.getParentBlock() == body)
    return fail(g, "gathers from a table that is not a static tensor");
  SmallVector<AffineMap> maps = g.getIndexingMapsArray();
  InputData tableIn{table, {}, 0, {}};
  tableIn.strides.assign(d.domain.size(), 0);
  Layout lt;
  if (!layoutOf(table, lt, g))
    return false;
  tableIn.offset = lt.offset;
  int gathered = -1;
  Value id;
  for (auto [i, index] : llvm::enumerate(extract.getIndices())) {
    if (auto li = index.getDefiningOp<linalg::IndexOp>()) {
      tableIn.strides[li.getDim()] += lt.strides[i];
      continue;
    }
    if (gathered >= 0)
      return fail(g, "gathers along more than one table dimension");
    gathered = static_cast<int>(i);
    Value v = index;
    if (auto sel = v.getDefiningOp<arith::SelectOp>()) {
      // Only the wrap select(id < 0, id + rows, id) is simulated as one;
      // another select of the id (a clamp) is an index of no known form.
      d.gatherWrap = isWrap(sel, tableType.getDimSize(i));
      v = d.gatherWrap ? sel.getFalseValue() : Value();
    }
    auto cast = v ? v.getDefiningOp<arith::IndexCastOp>() : nullptr;
    auto arg = cast ? dyn_cast<BlockArgument>(cast.getIn()) : nullptr;
    if (!arg || arg.getOwner() != body ||
        arg.getArgNumber() >= g.getNumDpsInputs())
      return fail(g, "gathers by an index that is not an input's id (or "
                     "the id wrapped from the end)");
    id = arg;
  }
  if (gathered < 0)
    return fail(g, "reads a table at loop indices only (no gather)");
  idsInput = cast<BlockArgument>(id).getArgNumber();
  Value ids = g.getDpsInputOperand(idsInput)->get();
  Layout li;
  if (!integerLayoutOf(ids, li, g))
    return false;
  InputData idsIn{ids, {}, 0, {}};
  if (!mapStrides(maps[idsInput], li, idsIn.strides, idsIn.offset))
    return fail(g, "reads its ids through an indexing map that is not a sum "
                   "of dimensions times constants");
  d.gatherRows = tableType.getDimSize(gathered);
  if (d.gatherRows > ::lathe::accel::kMaxGatherRows)
    return fail(g, llvm::formatv("gathers from a table of {0} rows (the "
                                 "engine program holds ids as f32, exact up "
                                 "to {1} rows)",
                                 d.gatherRows, ::lathe::accel::kMaxGatherRows)
                       .str());
  d.gatherRowStride = lt.strides[gathered];
  body->walk([&](func::CallOp call) {
    if (call.getCallee() == "lathe_rt_index_check_failed") {
      d.gatherChecked = true;
      d.gatherMessage = checkMessage(call);
    }
  });
  d.inputs.push_back(idsIn);
  d.inputs.push_back(tableIn);
  return true;
}

bool AccelDataBuilder::generic(linalg::GenericOp g, OpData &d) {
  if (g.getNumDpsInits() != 1)
    return fail(g, "has more than one output");
  SmallVector<int64_t> ranges = g.getStaticLoopRanges();
  d.domain.assign(ranges.begin(), ranges.end());
  tensor::ExtractOp extract;
  int extracts = 0;
  g.getBody()->walk([&](tensor::ExtractOp e) {
    extract = e;
    ++extracts;
  });
  if (extracts > 1)
    return fail(g, "reads more than one table element per point");
  unsigned idsInput = ~0u;
  if (extract && !gather(g, extract, d, idsInput))
    return false;
  SmallVector<AffineMap> maps = g.getIndexingMapsArray();
  unsigned numIns = g.getNumDpsInputs();
  // Body argument -> engine op input (a gather's ids are input 0).
  SmallVector<int> inputOf(numIns, -1);
  if (extract)
    inputOf[idsInput] = 0;
  for (unsigned i = 0; i < numIns; ++i) {
    if (i == idsInput)
      continue;
    inputOf[i] = static_cast<int>(d.inputs.size());
    Value v = g.getDpsInputOperand(i)->get();
    if (!isa<RankedTensorType>(v.getType()))
      return fail(g, "has a scalar input (the payload takes tensors only)");
    Layout l;
    if (!layoutOf(v, l, g))
      return false;
    InputData in{v, {}, 0, {}};
    if (!mapStrides(maps[i], l, in.strides, in.offset))
      return fail(g, "has an indexing map that is not a sum of dimensions "
                     "times constants");
    d.inputs.push_back(in);
  }
  Block *body = g.getBody();
  Value init = g.getDpsInitOperand(0)->get();
  bool readsOut = !body->getArgument(numIns).use_empty();
  bool reduction = g.getNumReductionLoops() > 0;
  int out = newOutput(g->getResult(0));
  Layout ol = layouts[g->getResult(0)];
  d.output = {Value(), out, 0, {}};
  if (!mapStrides(maps[numIns], ol, d.output.strides, d.output.offset))
    return fail(g, "has an output indexing map that is not a sum of "
                   "dimensions times constants");
  if (readsOut || reduction) {
    Layout il;
    if (!layoutOf(init, il, g))
      return false;
    InputData in{init, {}, 0, {}};
    if (!mapStrides(maps[numIns], il, in.strides, in.offset))
      return fail(g, "has an output indexing map that is not a sum of "
                     "dimensions times constants");
    d.init = static_cast<int>(d.inputs.size());
    d.inputs.push_back(in);
  }
  // The payload: one instruction per op of the body.
  int outArg = static_cast<int>(d.inputs.size());
  llvm::DenseMap<Value, int> num;
  auto emit = [&](std::string s) {
    d.payload.push_back(std::move(s));
    return static_cast<int>(d.payload.size()) - 1;
  };
  for (unsigned i = 0; i < numIns; ++i)
    if (i != idsInput)
      num[body->getArgument(i)] = emit("input " + std::to_string(inputOf[i]));
  num[body->getArgument(numIns)] = emit("input " + std::to_string(outArg));
  // The gathered element is input 1 (the table at the point's row); the
  // ops that compute the row and check it are the gather's, not the
  // payload's.
  Operation *gatheredOp = nullptr;
  if (extract) {
    gatheredOp = extract;
    while (gatheredOp->getParentOp() != g)
      gatheredOp = gatheredOp->getParentOp();
    if (gatheredOp->getNumResults() != 1 ||
        !gatheredOp->getResult(0).getType().isF32())
      return fail(g, "gathers in a form other than an f32 value per point");
    num[gatheredOp->getResult(0)] = emit("input 1");
  }
  auto ref = [&](Value v, int &out) {
    auto it = num.find(v);
    if (it != num.end()) {
      out = it->second;
      return true;
    }
    // A float constant defined outside the body (a captured scalar, e.g.
    // relu's zero) is a payload constant.
    auto c = v.getDefiningOp<arith::ConstantOp>();
    auto f = c ? dyn_cast<FloatAttr>(c.getValue()) : nullptr;
    if (!f)
      return false;
    out = num[v] = emit(constInstr(f.getValueAsDouble()));
    return true;
  };
  for (Operation &inner : body->without_terminator()) {
    if (&inner == gatheredOp)
      continue;
    // The gather's row computation and check: integer, index and i1
    // values, the check's branch and call.
    if (extract && llvm::all_of(inner.getResultTypes(),
                                [](Type t) { return t.isIntOrIndex(); }))
      continue;
    std::string name;
    if (auto c = dyn_cast<arith::ConstantOp>(inner)) {
      auto f = dyn_cast<FloatAttr>(c.getValue());
      if (!f)
        return fail(g, "has a non-float constant in its payload");
      num[c] = emit(constInstr(f.getValueAsDouble()));
      continue;
    }
    if (isa<arith::AddFOp>(inner))
      name = "add";
    else if (isa<arith::SubFOp>(inner))
      name = "sub";
    else if (isa<arith::MulFOp>(inner))
      name = "mul";
    else if (isa<arith::DivFOp>(inner))
      name = "div";
    else if (isa<arith::MaximumFOp, arith::MaxNumFOp>(inner))
      name = "max";
    else if (isa<arith::MinimumFOp, arith::MinNumFOp>(inner))
      name = "min";
    else if (isa<arith::NegFOp>(inner))
      name = "neg";
    else if (isa<math::AbsFOp>(inner))
      name = "abs";
    else if (isa<math::ExpOp>(inner))
      name = "exp";
    else if (isa<math::LogOp>(inner))
      name = "log";
    else if (isa<math::TanhOp>(inner))
      name = "tanh";
    else if (isa<math::ErfOp>(inner))
      name = "erf";
    else if (isa<math::SqrtOp>(inner))
      name = "sqrt";
    else if (isa<math::RsqrtOp>(inner))
      name = "rsqrt";
    else if (isa<arith::SelectOp>(inner))
      name = "select";
    else if (auto cmp = dyn_cast<arith::CmpFOp>(inner)) {
      auto p = cmp.getPredicate();
      if (p == arith::CmpFPredicate::OGT || p == arith::CmpFPredicate::UGT)
        name = "cmpgt";
      else if (p == arith::CmpFPredicate::OLT || p == arith::CmpFPredicate::ULT)
        name = "cmplt";
      else
        return fail(g, "compares with a predicate the payload does not have "
                       "(only >, <)");
    } else {
      return fail(g, "has '" + inner.getName().getStringRef() +
                         "' in its payload, which the vector-core "
                         "instruction set of the engine program lacks");
    }
    std::string s = name;
    for (Value operand : inner.getOperands()) {
      int x;
      if (!ref(operand, x))
        return fail(g, "uses a value from outside its body in the payload");
      s += " " + std::to_string(x);
    }
    num[inner.getResult(0)] = emit(s);
  }
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  if (!ref(yield.getOperand(0), d.result))
    return fail(g, "yields a value from outside its body");
  return true;
}

bool AccelDataBuilder::compute(Operation *op, OpData &d) {
  Value result;
  for (Value r : op->getResults())
    if (isa<RankedTensorType>(r.getType()))
      result = r;
  auto type = result ? dyn_cast<RankedTensorType>(result.getType()) : nullptr;
  if (!type || !type.getElementType().isF32())
    return fail(op, "has a result that is not an f32 tensor (the accelerator "
                    "executes f32 only)");
  if (op->getNumResults() != 1)
    return fail(op, "has more than one result");
  if (auto mm = dyn_cast<lathe::MatmulOp>(op)) {
    d.kind = "matmul";
    return matmul(mm, d);
  }
  if (auto sm = dyn_cast<linalg::SoftmaxOp>(op)) {
    d.kind = "rows";
    return rows(op, sm.getInput(), sm.getDimension(), d);
  }
  if (auto ln = dyn_cast<lathe::LayerNormOp>(op)) {
    d.kind = "layernorm";
    if (!rows(op, ln.getInput(), type.getRank() - 1, d))
      return false;
    d.epsilon = ln.getEpsilon().convertToFloat();
    int64_t cols = d.domain[1];
    for (auto [v, role] : {std::make_pair(ln.getGamma(), &d.gamma),
                           std::make_pair(ln.getBeta(), &d.beta)}) {
      if (!v)
        continue;
      Layout l;
      if (!layoutOf(v, l, op))
        return false;
      if (cast<RankedTensorType>(v.getType()).getNumElements() != cols)
        return fail(op, "has a gamma or beta that is not one row");
      *role = static_cast<int>(d.inputs.size());
      d.inputs.push_back({v, {}, l.offset, {0, l.strides.back()}});
    }
    return true;
  }
  if (auto g = dyn_cast<linalg::GenericOp>(op)) {
    d.kind = "generic";
    return generic(g, d);
  }
  if (auto fill = dyn_cast<linalg::FillOp>(op)) {
    d.kind = "generic";
    auto cst = fill.getInputs()[0].getDefiningOp<arith::ConstantOp>();
    auto f = cst ? dyn_cast<FloatAttr>(cst.getValue()) : nullptr;
    if (!f)
      return fail(op, "fills with a value that is not a float constant");
    d.domain.assign(type.getShape().begin(), type.getShape().end());
    int out = newOutput(result);
    d.output = {Value(), out, 0, {}};
    d.output.strides.assign(layouts[result].strides.begin(),
                            layouts[result].strides.end());
    d.payload = {constInstr(f.getValueAsDouble())};
    d.result = 0;
    return true;
  }
  if (auto tr = dyn_cast<linalg::TransposeOp>(op)) {
    d.kind = "generic";
    Layout l;
    if (!layoutOf(tr.getInput(), l, op))
      return false;
    d.domain.assign(type.getShape().begin(), type.getShape().end());
    SmallVector<int64_t> strides;
    for (int64_t p : tr.getPermutation())
      strides.push_back(l.strides[p]);
    d.inputs.push_back({tr.getInput(), {}, l.offset, strides});
    int out = newOutput(result);
    d.output = {Value(), out, 0, {}};
    d.output.strides.assign(layouts[result].strides.begin(),
                            layouts[result].strides.end());
    d.payload = {"input 0"};
    d.result = 0;
    return true;
  }
  if (auto c = dyn_cast<lathe::Conv2DOp>(op)) {
    d.kind = "matmul";
    return conv(c, d);
  }
  if (isa<linalg::PoolingNchwMaxOp, linalg::PoolingNhwcMaxOp>(op)) {
    d.kind = "generic";
    return pool(op, isa<linalg::PoolingNhwcMaxOp>(op), d);
  }
  if (op->getName().getDialectNamespace() == "sparsegcn") {
    d.kind = "csr";
    return csr(op, d);
  }
  if (auto ins = dyn_cast<tensor::InsertSliceOp>(op)) {
    d.kind = "generic";
    return insertSlice(ins, d);
  }
  return fail(op, "has no engine-op data semantics");
}

ArrayAttr AccelDataBuilder::buffersAttr(MLIRContext *ctx) {
  Builder b(ctx);
  SmallVector<Attribute> list;
  for (const Buffer &buf : buffers) {
    SmallVector<NamedAttribute> fields;
    fields.push_back(
        b.getNamedAttr("elements", b.getI64IntegerAttr(buf.elements)));
    if (buf.arg >= 0)
      fields.push_back(b.getNamedAttr("arg", b.getI64IntegerAttr(buf.arg)));
    if (buf.result >= 0)
      fields.push_back(
          b.getNamedAttr("result", b.getI64IntegerAttr(buf.result)));
    if (buf.value)
      fields.push_back(b.getNamedAttr("value", buf.value));
    if (buf.integer)
      fields.push_back(b.getNamedAttr("integer", b.getUnitAttr()));
    list.push_back(b.getDictionaryAttr(fields));
  }
  return b.getArrayAttr(list);
}

bool AccelDataBuilder::results() {
  auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  for (auto [i, returned] : llvm::enumerate(ret.getOperands())) {
    Value v = returned;
    while (auto castOp = v.getDefiningOp<tensor::CastOp>())
      v = castOp.getSource();
    Layout l;
    if (!layoutOf(v, l, ret))
      return false;
    auto type = cast<RankedTensorType>(v.getType());
    if (l.offset != 0 || l.strides != rowMajor(type.getShape()) ||
        buffers[l.buffer].elements != type.getNumElements())
      return fail(ret, "returns a strided or partial view of a buffer");
    if (buffers[l.buffer].result >= 0 || buffers[l.buffer].arg >= 0 ||
        buffers[l.buffer].value)
      return fail(ret, "returns an argument, a constant or one value twice "
                       "(nothing for the engines to compute)");
    buffers[l.buffer].result = static_cast<int>(i);
  }
  return true;
}

void AccelDataBuilder::attach(Operation *engineOp, const OpData &d,
                              ArrayRef<int64_t> domain,
                              ArrayRef<int64_t> offset,
                              const llvm::DenseSet<Value> &onChip) {
  Builder b(engineOp->getContext());
  engineOp->setAttr("domain", b.getDenseI64ArrayAttr(domain));
  if (llvm::any_of(offset, [](int64_t x) { return x != 0; }))
    engineOp->setAttr("domain_offset", b.getDenseI64ArrayAttr(offset));
  SmallVector<Attribute> accesses;
  auto access = [&](int buffer, int64_t off, bool loaded,
                    ArrayRef<int64_t> strides, const InputData &data) {
    SmallVector<int64_t> v{buffer, off, loaded ? 1 : 0};
    v.append(strides.begin(), strides.end());
    if (data.batchInner > 0)
      v.append({data.batchInner, data.innerStride});
    accesses.push_back(b.getDenseI64ArrayAttr(v));
  };
  access(d.output.buffer, d.output.offset, false, d.output.strides, d.output);
  for (const InputData &in : d.inputs)
    access(layouts.lookup(in.value).buffer, in.offset,
           !onChip.contains(in.value), in.strides, in);
  engineOp->setAttr("accesses", b.getArrayAttr(accesses));
  SmallVector<NamedAttribute> roles;
  for (auto [name, idx] :
       {std::make_pair("bias", d.bias), std::make_pair("residual", d.residual),
        std::make_pair("gamma", d.gamma), std::make_pair("beta", d.beta),
        std::make_pair("init", d.init)})
    if (idx >= 0)
      roles.push_back(b.getNamedAttr(name, b.getI64IntegerAttr(idx)));
  if (d.kind == "matmul") {
    roles.push_back(b.getNamedAttr("alpha", b.getF32FloatAttr(d.alpha)));
    roles.push_back(b.getNamedAttr(
        "activation", ActivationAttr::get(b.getContext(), d.activation)));
  }
  if (!d.conv.empty())
    roles.push_back(b.getNamedAttr("conv", b.getDenseI64ArrayAttr(d.conv)));
  if (d.kind == "csr") {
    roles.push_back(
        b.getNamedAttr("csr_row_ptr", b.getDenseI64ArrayAttr(d.csrRowPtr)));
    roles.push_back(
        b.getNamedAttr("csr_cols", b.getDenseI64ArrayAttr(d.csrCols)));
    roles.push_back(
        b.getNamedAttr("csr_tile_rows", b.getI64IntegerAttr(d.csrTileRows)));
  }
  if (d.gatherRows > 0) {
    roles.push_back(
        b.getNamedAttr("gather_rows", b.getI64IntegerAttr(d.gatherRows)));
    roles.push_back(b.getNamedAttr("gather_row_stride",
                                   b.getI64IntegerAttr(d.gatherRowStride)));
    if (d.gatherWrap)
      roles.push_back(b.getNamedAttr("gather_wrap", b.getUnitAttr()));
    if (d.gatherChecked)
      roles.push_back(
          b.getNamedAttr("gather_message", b.getStringAttr(d.gatherMessage)));
  }
  if (d.kind == "layernorm")
    roles.push_back(b.getNamedAttr("epsilon", b.getF32FloatAttr(d.epsilon)));
  if (d.result >= 0)
    roles.push_back(b.getNamedAttr("result", b.getI64IntegerAttr(d.result)));
  engineOp->setAttr("roles", b.getDictionaryAttr(roles));
  if (!d.payload.empty())
    engineOp->setAttr("payload", b.getStrArrayAttr(SmallVector<StringRef>(
                                     d.payload.begin(), d.payload.end())));
}
