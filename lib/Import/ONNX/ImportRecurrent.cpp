//===- ImportRecurrent.cpp - LSTM and GRU ---------------------------------===//
//
// LSTM and GRU: the input projection of every time step is one linalg.matmul
// before the loop; an scf.for over the sequence carries the state (and Y)
// as iter_args, with one matmul for the recurrent projection and
// linalg.generics for the gates per step. Directions forward, reverse and
// bidirectional (one loop per direction); layout 0 and 1; the default
// activations only.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::lathe;
using namespace mlir::lathe::onnx_import;

namespace {
/// An operand of a gate generic over [batch, hidden]: a [batch, hidden]
/// tensor (block -1), column block `block` of a [batch, k * hidden] tensor
/// (a [hidden] vector: block -2).
struct GateIn {
  Value v;
  int64_t block;
};
} // namespace

static std::string shapeStr(RankedTensorType t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.getRank(); ++i)
    s +=
        (i ? ", " : "") + (t.isDynamicDim(i) ? std::string("?")
                                             : std::to_string(t.getDimSize(i)));
  return s + "]";
}

/// `a` [M, K] times `bk` [K, N], accumulated into `init` [M, N]. The
/// weights are transposed once, outside the loop, so that these are plain
/// matmuls (kernel formation turns them into library calls).
static Value matmul(OpBuilder &b, Location loc, Value a, Value bk, Value init) {
  return linalg::MatmulOp::create(b, loc, TypeRange{init.getType()},
                                  ValueRange{a, bk}, ValueRange{init})
      .getResult(0);
}

LogicalResult Importer::importRecurrent(const onnx::NodeProto &n) {
  MLIRContext *ctx = b.getContext();
  bool lstm = n.op_type() == "LSTM";
  int64_t gates = lstm ? 4 : 3;
  Value x = inV(0), w = inV(1), rw = inV(2);
  if (rankOf(x) != 3)
    return error(nodeDesc() + ": input 'X' must be 3-D, got rank " +
                 std::to_string(rankOf(x)));
  Type elt = eltOf(x);
  if (!isF(elt))
    return error(nodeDesc() + ": input 'X' must be a float tensor");
  std::string direction = attrString("direction", "forward");
  if (direction != "forward" && direction != "reverse" &&
      direction != "bidirectional")
    return error(nodeDesc() + ": unknown direction '" + direction + "'");
  int64_t dirs = direction == "bidirectional" ? 2 : 1;
  int64_t layout = attrInt("layout", 0);
  if (layout != 0 && layout != 1)
    return error(nodeDesc() + ": layout must be 0 or 1, got " +
                 std::to_string(layout));
  for (const char *name : {"clip", "activation_alpha", "activation_beta"})
    if (attr(name))
      return error(nodeDesc() + ": attribute '" + name + "' is not supported");
  if (lstm && attrInt("input_forget", 0) != 0)
    return error(nodeDesc() + ": attribute 'input_forget' = 1 is not "
                              "supported");
  int64_t lbr = lstm ? 0 : attrInt("linear_before_reset", 0);
  if (lbr != 0 && lbr != 1)
    return error(nodeDesc() + ": linear_before_reset must be 0 or 1");
  if (const auto *a = attr("activations")) {
    SmallVector<StringRef> want = {"Sigmoid", "Tanh"};
    if (lstm)
      want.push_back("Tanh");
    bool ok = a->strings_size() == int64_t(want.size()) * dirs;
    for (int i = 0; ok && i < a->strings_size(); ++i)
      ok = a->strings(i) == want[i % want.size()];
    if (!ok)
      return error(nodeDesc() +
                   ": attribute 'activations' is supported only "
                   "with its default value (" +
                   (lstm ? "Sigmoid, Tanh, Tanh" : "Sigmoid, Tanh") +
                   " per direction)");
  }

  // Weights: W [dirs, gates*H, I], R [dirs, gates*H, H], B [dirs, 2*gates*H].
  auto wt = typeOf(w), rt = typeOf(rw);
  if (wt.getRank() != 3 || rt.getRank() != 3 || !wt.hasStaticShape() ||
      !rt.hasStaticShape() || wt.getElementType() != elt ||
      rt.getElementType() != elt)
    return error(nodeDesc() + ": inputs 'W' and 'R' must be 3-D tensors of "
                              "static shape and X's element type");
  int64_t hid = rt.getDimSize(2), inSize = wt.getDimSize(2), gh = gates * hid;
  if (hid < 1 || inSize < 1 || hid > (int64_t(1) << 24) ||
      attrInt("hidden_size", hid) != hid || wt.getDimSize(0) != dirs ||
      rt.getDimSize(0) != dirs || wt.getDimSize(1) != gh ||
      rt.getDimSize(1) != gh)
    return error(nodeDesc() + ": inputs 'W' " + shapeStr(wt) + " and 'R' " +
                 shapeStr(rt) + " do not fit [" + std::to_string(dirs) + ", " +
                 std::to_string(gates) + "*hidden_size, input_size] and [" +
                 std::to_string(dirs) + ", " + std::to_string(gates) +
                 "*hidden_size, hidden_size] (hidden_size " +
                 std::to_string(attrInt("hidden_size", hid)) + ", direction '" +
                 direction + "')");
  auto staticVec = [&](int i, const char *name, int64_t len) -> LogicalResult {
    auto t = typeOf(inV(i));
    if (t.getRank() != 2 || t.getDimSize(0) != dirs || t.getDimSize(1) != len ||
        t.getElementType() != elt)
      return error(nodeDesc() + ": input '" + name + "' must have shape [" +
                   std::to_string(dirs) + ", " + std::to_string(len) +
                   "] and X's element type");
    return success();
  };
  if (hasInput(3) && failed(staticVec(3, "B", 2 * gh)))
    return failure();
  if (lstm && hasInput(7) && failed(staticVec(7, "P", 3 * hid)))
    return failure();
  if (layout == 1)
    x = transpose(x, {1, 0, 2});
  if (typeOf(x).isDynamicDim(2) || typeOf(x).getDimSize(2) != inSize) {
    if (!typeOf(x).isDynamicDim(2))
      return error(nodeDesc() + ": input 'X' has " +
                   std::to_string(typeOf(x).getDimSize(2)) +
                   " features, 'W' expects " + std::to_string(inSize));
    x = refineChecked(
        x,
        RankedTensorType::get(
            {typeOf(x).getDimSize(0), typeOf(x).getDimSize(1), inSize}, elt),
        nodeDesc() + ": input 'X' (input_size of 'W')");
  }
  OpFoldResult seq = dim(x, 0), batch = dim(x, 1);
  if (hasInput(4)) {
    // Only sequences of the full length: constant lengths are checked now,
    // run-time ones when the model runs (the computation ignores them).
    auto lt = typeOf(inV(4));
    if (lt.getRank() != 1 || !isa<IntegerType>(lt.getElementType()) ||
        lt.isDynamicDim(0) || lt.getDimSize(0) > 64)
      return error(nodeDesc() + ": input 'sequence_lens' must be a 1-D "
                                "integer tensor of static length (at most 64)");
    if (failed(checkDim(b.getIndexAttr(lt.getDimSize(0)), batch,
                        nodeDesc() +
                            ": the length of input 'sequence_lens' (the "
                            "batch size)")))
      return failure();
    FailureOr<SmallVector<OpFoldResult>> lensOr = elemsOf(in(4));
    if (failed(lensOr))
      return failure();
    SmallVector<OpFoldResult> lens = *lensOr;
    for (auto [i, l] : llvm::enumerate(lens))
      if (failed(
              checkDim(l, seq,
                       nodeDesc() + ": element " + std::to_string(i) +
                           " of input 'sequence_lens' (only sequences of the "
                           "full length are supported)")))
        return failure();
  }

  Value zero = fc(b, loc, elt, 0.0), one = fc(b, loc, elt, 1.0);
  OpFoldResult hidF = b.getIndexAttr(hid), ghF = b.getIndexAttr(gh);
  OpFoldResult rows = foldBin(seq, batch, '*');
  FailureOr<Value> xFlatOr = reshape(x, {rows, b.getIndexAttr(inSize)});
  if (failed(xFlatOr))
    return failure();
  Value xFlat = *xFlatOr;
  auto o = [&](int64_t v) -> OpFoldResult { return b.getIndexAttr(v); };
  // Row d of a [dirs, ...] tensor, rank-reduced; `off`/`len` on the last dim.
  auto sliceDir = [&](Value t, int64_t d, int64_t off, int64_t len) -> Value {
    auto tt = typeOf(t);
    SmallVector<OpFoldResult> offs(tt.getRank(), o(0)),
        sizes = dims(t), strides(tt.getRank(), o(1));
    offs[0] = o(d);
    sizes[0] = o(1);
    offs.back() = o(off);
    sizes.back() = o(len);
    SmallVector<int64_t> shape;
    for (OpFoldResult s : ArrayRef(sizes).drop_front()) {
      std::optional<int64_t> c = getConstantIntValue(s);
      shape.push_back(c ? *c : ShapedType::kDynamic);
    }
    return tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get(shape, tt.getElementType()), t, offs,
        sizes, strides);
  };
  // Two rows of B (static [gates*hidden], checked above): they broadcast.
  auto add = [&](Value p, Value q) {
    FailureOr<Value> sum =
        elementwise({p, q}, elt, [&](OpBuilder &nb, Location nl, ValueRange a) {
          return arith::AddFOp::create(nb, nl, a[0], a[1]).getResult();
        });
    assert(succeeded(sum) && "two rows of B have the same static shape");
    return *sum;
  };
  // A 1-D `vec` as `m` rows: a broadcast that cannot fail.
  auto broadcastRows = [&](Value vec, OpFoldResult m) {
    FailureOr<Value> rowsOf = elementwise(
        {vec}, elt, [](OpBuilder &, Location, ValueRange a) { return a[0]; },
        SmallVector<OpFoldResult>{m, dims(vec)[0]});
    assert(succeeded(rowsOf) && "a vector broadcasts to rows of its length");
    return *rowsOf;
  };
  // The initial state of direction d: input i's row, or zeros. Its sizes are
  // checked against [dirs, batch, hidden] (layout 0); after a failed check,
  // zeros.
  auto initialState = [&](int i, int64_t d) -> FailureOr<Value> {
    Value zeros = filled({batch, hidF}, zero);
    if (!hasInput(i))
      return zeros;
    Value s = inV(i);
    std::string what = nodeDesc() + ": input '" + n.input(i) + "'";
    if (rankOf(s) != 3 || eltOf(s) != elt)
      return error(what + " must be a 3-D tensor of X's element type");
    if (layout == 1) {
      // [batch, dirs, hidden]
      s = transpose(s, {1, 0, 2});
      what += " (transposed for layout 1)";
    }
    SmallVector<Value> oks;
    SmallVector<OpFoldResult> wants = {o(dirs), batch, hidF};
    for (auto [k, want] : llvm::enumerate(wants)) {
      FailureOr<Value> okK =
          checkDim(dim(s, k), want, what + " dimension " + std::to_string(k));
      if (failed(okK))
        return failure();
      oks.push_back(*okK);
    }
    Value ok = allOf(oks);
    auto build = [&] {
      return tensor::ExtractSliceOp::create(
                 b, loc, cast<RankedTensorType>(zeros.getType()), s,
                 SmallVector<OpFoldResult>{o(d), o(0), o(0)},
                 SmallVector<OpFoldResult>{o(1), batch, hidF},
                 SmallVector<OpFoldResult>(3, o(1)))
          .getResult();
    };
    if (matchPattern(ok, m_One()))
      return build();
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{zeros.getType()}, ok,
                                  /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    scf::YieldOp::create(b, loc, build());
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc, zeros);
    return Value(ifOp.getResult(0));
  };
  // A generic over [batch, hidden] into `outs`: the loop's state where the
  // result replaces it (one-shot bufferization wants each yielded value in
  // its iter_arg's buffer), fresh tensors otherwise.
  auto gate =
      [&](ArrayRef<GateIn> ins, ArrayRef<Value> outs,
          function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)>
              body) {
        AffineExpr j = getAffineDimExpr(1, ctx);
        SmallVector<Value> vals;
        SmallVector<AffineMap> maps;
        for (const GateIn &g : ins) {
          // Column blocks as slices: a map with an offset would not bound the
          // loop (linalg takes each loop's size from the first operand indexed
          // by it alone).
          Value v = g.v;
          if (g.block >= 0)
            v = tensor::ExtractSliceOp::create(
                b, loc, v,
                SmallVector<OpFoldResult>{b.getIndexAttr(0),
                                          b.getIndexAttr(g.block * hid)},
                SmallVector<OpFoldResult>{batch, b.getIndexAttr(hid)},
                SmallVector<OpFoldResult>(2, b.getIndexAttr(1)));
          vals.push_back(v);
          maps.push_back(g.block == -2
                             ? AffineMap::get(2, 0, {j}, ctx)
                             : AffineMap::getMultiDimIdentityMap(2, ctx));
        }
        maps.append(outs.size(), AffineMap::getMultiDimIdentityMap(2, ctx));
        return linalg::GenericOp::create(
                   b, loc, ValueRange(outs).getTypes(), vals, outs, maps,
                   SmallVector<utils::IteratorType>(
                       2, utils::IteratorType::parallel),
                   [&](OpBuilder &nb, Location nl, ValueRange a) {
                     linalg::YieldOp::create(nb, nl, body(nb, nl, a));
                   })
            .getResults();
      };
  auto sigmoid = [&](OpBuilder &nb, Location nl, Value v) -> Value {
    Value e = math::ExpOp::create(nb, nl, arith::NegFOp::create(nb, nl, v));
    return arith::DivFOp::create(nb, nl, one,
                                 arith::AddFOp::create(nb, nl, one, e));
  };
  auto tanh = [&](OpBuilder &nb, Location nl, Value v) -> Value {
    return math::TanhOp::create(nb, nl, v);
  };
  auto addF = [&](OpBuilder &nb, Location nl, Value p, Value q) -> Value {
    return arith::AddFOp::create(nb, nl, p, q);
  };
  auto mulF = [&](OpBuilder &nb, Location nl, Value p, Value q) -> Value {
    return arith::MulFOp::create(nb, nl, p, q);
  };

  bool wantY = hasOutput(0), peepholes = lstm && hasInput(7);
  Value y = wantY ? empty({seq, o(dirs), batch, hidF}, elt) : Value();
  Value yh = empty({o(dirs), batch, hidF}, elt), yc = yh;
  for (int64_t d = 0; d < dirs; ++d) {
    bool rev = direction == "reverse" || d == 1;
    Value wdT = transpose(sliceDir(w, d, 0, inSize), {1, 0});
    Value rd = sliceDir(rw, d, 0, hid);
    // R^T, or for a GRU without linear_before_reset R's z/r rows and its h
    // rows transposed apart (the h block multiplies r * h).
    auto rowsT = [&](int64_t first, int64_t count) {
      return transpose(tensor::ExtractSliceOp::create(
                           b, loc, rd,
                           SmallVector<OpFoldResult>{o(first), o(0)},
                           SmallVector<OpFoldResult>{o(count), hidF},
                           SmallVector<OpFoldResult>{o(1), o(1)}),
                       {1, 0});
    };
    Value rdT, rzrT, rhT;
    if (lstm || lbr) {
      rdT = transpose(rd, {1, 0});
    } else {
      rzrT = rowsT(0, 2 * hid);
      rhT = rowsT(2 * hid, hid);
    }
    // Biases: both into the input projection, except R's bias of a GRU
    // with linear_before_reset, which the reset gate scales (it seeds the
    // recurrent projection instead).
    Value inBias, stepBias;
    if (hasInput(3)) {
      Value wb = sliceDir(inV(3), d, 0, gh), rb = sliceDir(inV(3), d, gh, gh);
      if (lbr) {
        inBias = wb;
        stepBias = rb;
      } else {
        inBias = add(wb, rb);
      }
    }
    Value xw = matmul(b, loc, xFlat, wdT,
                      inBias ? broadcastRows(inBias, rows)
                             : filled({rows, ghF}, zero));
    SmallVector<Value> inits;
    for (int i = 5; i <= (lstm ? 6 : 5); ++i) {
      FailureOr<Value> state = initialState(i, d);
      if (failed(state))
        return failure();
      inits.push_back(*state);
    }
    if (wantY)
      inits.push_back(y);
    Value ub = indexValue(seq);
    Value c0 = arith::ConstantIndexOp::create(b, loc, 0),
          c1 = arith::ConstantIndexOp::create(b, loc, 1);
    auto loop = scf::ForOp::create(b, loc, c0, ub, c1, inits);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value t = loop.getInductionVar();
      if (rev)
        t = arith::SubIOp::create(b, loc, arith::SubIOp::create(b, loc, ub, c1),
                                  t);
      ValueRange state = loop.getRegionIterArgs();
      Value h = state[0];
      Value row = arith::MulIOp::create(b, loc, t, indexValue(batch));
      Value xwt = tensor::ExtractSliceOp::create(
          b, loc, xw, SmallVector<OpFoldResult>{row, o(0)},
          SmallVector<OpFoldResult>{batch, ghF},
          SmallVector<OpFoldResult>{o(1), o(1)});
      SmallVector<Value> next;
      if (lstm) {
        // Gates i, o, f, c; peepholes P = [Pi, Po, Pf].
        Value hr = matmul(b, loc, h, rdT, filled({batch, ghF}, zero));
        SmallVector<GateIn> ins;
        for (int64_t g = 0; g < 4; ++g)
          ins.push_back({xwt, g});
        for (int64_t g = 0; g < 4; ++g)
          ins.push_back({hr, g});
        if (peepholes)
          for (int64_t g = 0; g < 3; ++g)
            ins.push_back({sliceDir(inV(7), d, g * hid, hid), -2});
        ValueRange res = gate(
            ins, {empty({batch, hidF}, elt), state[1]},
            [&](OpBuilder &nb, Location nl, ValueRange a) {
              Value c = a.back();
              auto pre = [&](int g) { return addF(nb, nl, a[g], a[4 + g]); };
              auto peep = [&](Value v, int k, Value cell) {
                return peepholes ? addF(nb, nl, v, mulF(nb, nl, a[8 + k], cell))
                                 : v;
              };
              Value ig = sigmoid(nb, nl, peep(pre(0), 0, c));
              Value fg = sigmoid(nb, nl, peep(pre(2), 2, c));
              Value cc = tanh(nb, nl, pre(3));
              Value cn =
                  addF(nb, nl, mulF(nb, nl, fg, c), mulF(nb, nl, ig, cc));
              Value og = sigmoid(nb, nl, peep(pre(1), 1, cn));
              return SmallVector<Value>{mulF(nb, nl, og, tanh(nb, nl, cn)), cn};
            });
        // The new h into h's buffer: the generic does not read its old
        // value, so canonicalization would drop h as its destination.
        next = {linalg::CopyOp::create(b, loc, res[0], h).getResult(0), res[1]};
      } else if (lbr) {
        // Gates z, r, h; h's recurrent part (with its bias) scaled by r.
        Value hr = matmul(b, loc, h, rdT,
                          stepBias ? broadcastRows(stepBias, batch)
                                   : filled({batch, ghF}, zero));
        ValueRange res =
            gate({{xwt, 0}, {xwt, 1}, {xwt, 2}, {hr, 0}, {hr, 1}, {hr, 2}}, {h},
                 [&](OpBuilder &nb, Location nl, ValueRange a) {
                   Value z = sigmoid(nb, nl, addF(nb, nl, a[0], a[3]));
                   Value r = sigmoid(nb, nl, addF(nb, nl, a[1], a[4]));
                   Value hc =
                       tanh(nb, nl, addF(nb, nl, a[2], mulF(nb, nl, r, a[5])));
                   // (1 - z) * hc + z * h = hc + z * (h - hc)
                   Value diff = arith::SubFOp::create(nb, nl, a[6], hc);
                   return SmallVector<Value>{
                       addF(nb, nl, hc, mulF(nb, nl, z, diff))};
                 });
        next.assign(res.begin(), res.end());
      } else {
        // Gates z, r, then h from (r * h) times R's h block.
        Value hzr = matmul(b, loc, h, rzrT, filled({batch, o(2 * hid)}, zero));
        ValueRange zr =
            gate({{xwt, 0}, {xwt, 1}, {hzr, 0}, {hzr, 1}, {h, -1}},
                 {empty({batch, hidF}, elt), empty({batch, hidF}, elt)},
                 [&](OpBuilder &nb, Location nl, ValueRange a) {
                   Value z = sigmoid(nb, nl, addF(nb, nl, a[0], a[2]));
                   Value r = sigmoid(nb, nl, addF(nb, nl, a[1], a[3]));
                   return SmallVector<Value>{z, mulF(nb, nl, r, a[4])};
                 });
        Value hh = matmul(b, loc, zr[1], rhT, filled({batch, hidF}, zero));
        ValueRange res =
            gate({{xwt, 2}, {hh, -1}, {zr[0], -1}}, {h},
                 [&](OpBuilder &nb, Location nl, ValueRange a) {
                   Value hc = tanh(nb, nl, addF(nb, nl, a[0], a[1]));
                   Value diff = arith::SubFOp::create(nb, nl, a[3], hc);
                   return SmallVector<Value>{
                       addF(nb, nl, hc, mulF(nb, nl, a[2], diff))};
                 });
        next.assign(res.begin(), res.end());
      }
      if (wantY)
        next.push_back(tensor::InsertSliceOp::create(
            b, loc, next[0], state.back(),
            SmallVector<OpFoldResult>{t, o(d), o(0), o(0)},
            SmallVector<OpFoldResult>{o(1), o(1), batch, hidF},
            SmallVector<OpFoldResult>(4, o(1))));
      scf::YieldOp::create(b, loc, next);
    }
    auto insertDir = [&](Value v, Value into) -> Value {
      return tensor::InsertSliceOp::create(
          b, loc, v, into, SmallVector<OpFoldResult>{o(d), o(0), o(0)},
          SmallVector<OpFoldResult>{o(1), batch, hidF},
          SmallVector<OpFoldResult>(3, o(1)));
    };
    yh = insertDir(loop.getResult(0), yh);
    if (lstm)
      yc = insertDir(loop.getResult(1), yc);
    if (wantY)
      y = loop.getResults().back();
  }
  if (layout == 1) {
    if (wantY)
      y = transpose(y, {2, 0, 1, 3});
    yh = transpose(yh, {1, 0, 2});
    if (lstm)
      yc = transpose(yc, {1, 0, 2});
  }
  if (wantY)
    setOut(0, y);
  setOut(1, yh);
  if (lstm)
    setOut(2, yc);
  return success();
}

void onnx_import::registerRecurrentOps(OpRegistry &r) {
  r.add("LSTM", 1, &Importer::importRecurrent);
  r.add("GRU", 1, &Importer::importRecurrent);
}
