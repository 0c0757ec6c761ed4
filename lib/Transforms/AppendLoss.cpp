//===- AppendLoss.cpp - A loss function from a forward model --------------===//
//
// `lathe-append-loss` turns a forward function (`@main` of an imported
// model: its first result is the prediction) into `@loss`, which takes the
// same arguments plus the labels and returns the mean loss as tensor<f32>:
//
//   cross-entropy: logits [..., C] (classes on the last dimension) and int
//     labels [...] (i64 or i32): mean over positions of
//     logsumexp(logits) - logits[label], the log-sum-exp stabilised by the
//     row maximum (PyTorch's F.cross_entropy). The true class is picked by
//     comparing linalg.index with the label (no gather), so
//     lathe-differentiate differentiates it like any generic. A label
//     outside [0, C) picks nothing: the position then contributes its
//     log-sum-exp (PyTorch raises).
//   mse: prediction and float labels of the same shape: mean((y - t)^2).
//
// `@<loss>_predict` (the same arguments but the labels) returns the
// prediction on those weights, for evaluating them.
//
// With `promote-weights`, every float `lathe.weight` of the function becomes
// a leading argument marked `lathe.param`, named by `lathe.name` (its
// dataset) and carrying its source as `lathe.init`, so that the weights of
// an imported model are trained and a driver can initialise them from the
// weights file.
//
//===----------------------------------------------------------------------===//

#include "lathe/Transforms/Passes.h"

#include "lathe/Dialect/Lathe/LatheOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHEAPPENDLOSS
#include "lathe/Transforms/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;

namespace {

Value fconst(OpBuilder &b, Location loc, Type t, double v) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(t, v));
}

/// A reduction of `x` over its last dimension into zeros/-inf of the rest.
Value reduceLast(OpBuilder &b, Location loc, ValueRange inputs,
                 ArrayRef<AffineMap> inputMaps, Value like, double init,
                 function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  auto type = cast<RankedTensorType>(like.getType());
  int64_t rank = type.getRank();
  Type elt = type.getElementType();
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, like);
  sizes.pop_back();
  Value empty = tensor::EmptyOp::create(b, loc, sizes, elt);
  Value start = linalg::FillOp::create(b, loc, fconst(b, loc, elt, init), empty)
                    .getResult(0);
  SmallVector<AffineMap> maps(inputMaps.begin(), inputMaps.end());
  maps.push_back(b.getMultiDimIdentityMap(rank).dropResult(rank - 1));
  SmallVector<utils::IteratorType> it(rank, utils::IteratorType::parallel);
  it.back() = utils::IteratorType::reduction;
  return linalg::GenericOp::create(
             b, loc, TypeRange{start.getType()}, inputs, ValueRange{start},
             maps, it,
             [&](OpBuilder &nb, Location nl, ValueRange a) {
               linalg::YieldOp::create(nb, nl, body(nb, nl, a));
             })
      .getResult(0);
}

/// The mean of `x` (any rank) as tensor<f32>-typed tensor<elt>.
Value mean(OpBuilder &b, Location loc, Value x,
           function_ref<Value(OpBuilder &, Location, ValueRange)> term,
           ValueRange extra = {}) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  Type elt = type.getElementType();
  // 1 / number of elements, computed at run time for dynamic sizes.
  Value count = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t i = 0; i < rank; ++i)
    count = arith::MulIOp::create(b, loc, count,
                                  tensor::DimOp::create(b, loc, x, i));
  Value countF = arith::UIToFPOp::create(
      b, loc, elt, arith::IndexCastUIOp::create(b, loc, b.getI64Type(), count));
  Value inv = arith::DivFOp::create(b, loc, fconst(b, loc, elt, 1.0), countF);
  Value start =
      linalg::FillOp::create(
          b, loc, fconst(b, loc, elt, 0.0),
          tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{}, elt).getResult())
          .getResult(0);
  SmallVector<Value> inputs = {x};
  inputs.append(extra.begin(), extra.end());
  SmallVector<AffineMap> maps(inputs.size(), b.getMultiDimIdentityMap(rank));
  maps.push_back(AffineMap::get(rank, 0, b.getContext()));
  SmallVector<utils::IteratorType> it(rank, utils::IteratorType::reduction);
  return linalg::GenericOp::create(
             b, loc, TypeRange{start.getType()}, inputs, ValueRange{start},
             maps, it,
             [&](OpBuilder &nb, Location nl, ValueRange a) {
               Value t = term(nb, nl, a.drop_back());
               Value w = arith::MulFOp::create(nb, nl, t, inv);
               linalg::YieldOp::create(
                   nb, nl,
                   arith::AddFOp::create(nb, nl, a.back(), w).getResult());
             })
      .getResult(0);
}

struct LatheAppendLoss
    : public lathe::impl::LatheAppendLossBase<LatheAppendLoss> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto fn = module.lookupSymbol<func::FuncOp>(function);
    if (!fn || fn.isExternal()) {
      module.emitError("lathe-append-loss: no function @") << function;
      return signalPassFailure();
    }
    if (module.lookupSymbol(lossName)) {
      module.emitError("lathe-append-loss: @") << lossName << " exists already";
      return signalPassFailure();
    }
    if (!llvm::hasSingleElement(fn.getBody()) ||
        fn.getFunctionType().getNumResults() < 1) {
      fn.emitError("lathe-append-loss: @")
          << function << " must be one block returning the prediction first";
      return signalPassFailure();
    }
    auto pred = dyn_cast<RankedTensorType>(fn.getFunctionType().getResult(0));
    if (!pred || !isa<FloatType>(pred.getElementType()) ||
        (kind == lathe::LossKind::CrossEntropy && pred.getRank() < 2)) {
      fn.emitError("lathe-append-loss: the first result of @")
          << function << " must be a float tensor"
          << (kind == lathe::LossKind::CrossEntropy
                  ? " of rank >= 2 (classes last)"
                  : "")
          << ", got " << fn.getFunctionType().getResult(0);
      return signalPassFailure();
    }
    MLIRContext *ctx = &getContext();
    Type labelType;
    if (kind == lathe::LossKind::CrossEntropy) {
      SmallVector<int64_t> shape(pred.getShape().drop_back());
      labelType = RankedTensorType::get(shape, IntegerType::get(ctx, 64));
    } else {
      labelType = pred;
    }

    // Weights that become parameters.
    SmallVector<lathe::WeightOp> weights;
    // Frozen weights (buffers such as an attention mask) stay constants;
    // names are compared without a leading '/'.
    auto strip = [](StringRef name) { return name.ltrim('/'); };
    llvm::StringSet<> frozenNames;
    for (const std::string &name : frozen)
      frozenNames.insert(strip(name));
    llvm::StringSet<> seen;
    if (promoteWeights)
      fn.walk([&](lathe::WeightOp w) {
        StringRef name = strip(w.getSource().getDataset());
        if (frozenNames.contains(name)) {
          seen.insert(name);
          return;
        }
        if (isa<FloatType>(cast<RankedTensorType>(w.getResult().getType())
                               .getElementType()))
          weights.push_back(w);
      });
    for (const auto &name : frozenNames)
      if (!seen.contains(name.getKey())) {
        fn.emitError("lathe-append-loss: no weight named '")
            << name.getKey() << "' to freeze in @" << function;
        return signalPassFailure();
      }

    SmallVector<Type> argTypes;
    SmallVector<DictionaryAttr> argAttrs;
    for (lathe::WeightOp w : weights) {
      argTypes.push_back(w.getResult().getType());
      SmallVector<NamedAttribute> attrs = {
          NamedAttribute(StringAttr::get(ctx, "lathe.param"),
                         UnitAttr::get(ctx)),
          NamedAttribute(StringAttr::get(ctx, "lathe.init"), w.getSource()),
          NamedAttribute(StringAttr::get(ctx, "lathe.name"),
                         StringAttr::get(ctx, w.getSource().getDataset()))};
      argAttrs.push_back(DictionaryAttr::get(ctx, attrs));
    }
    for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
      argTypes.push_back(fn.getArgumentTypes()[i]);
      argAttrs.push_back(fn.getArgAttrDict(i));
    }
    argTypes.push_back(labelType);
    argAttrs.push_back(DictionaryAttr::get(
        ctx, {NamedAttribute(StringAttr::get(ctx, "lathe.name"),
                             StringAttr::get(ctx, labels))}));
    Type elt = pred.getElementType();
    auto lossType = RankedTensorType::get({}, elt);

    OpBuilder b(fn);
    b.setInsertionPointAfter(fn);
    Location loc = fn.getLoc();
    auto loss = func::FuncOp::create(
        b, loc, lossName, FunctionType::get(ctx, argTypes, {lossType}));
    loss.setAllArgAttrs(argAttrs);
    Block *entry = loss.addEntryBlock();
    b.setInsertionPointToStart(entry);
    IRMapping map;
    unsigned offset = weights.size();
    for (unsigned i = 0; i < fn.getNumArguments(); ++i)
      map.map(fn.getArgument(i), entry->getArgument(offset + i));
    for (auto [k, w] : llvm::enumerate(weights))
      map.map(w.getResult(), entry->getArgument(k));
    Block &body = fn.getBody().front();
    for (Operation &op : body.without_terminator()) {
      if (auto w = dyn_cast<lathe::WeightOp>(op); w && map.contains(w))
        continue;
      b.clone(op, map);
    }
    Value y = map.lookup(body.getTerminator()->getOperand(0));
    Value t = entry->getArguments().back();
    Value result = kind == lathe::LossKind::Mse
                       ? buildMse(b, loc, y, t)
                       : buildCrossEntropy(b, loc, y, t);
    func::ReturnOp::create(b, loc, result);

    // @<loss>_predict: the prediction on the same (promoted) weights, for
    // evaluating the trained parameters (accuracy).
    b.setInsertionPointAfter(loss);
    auto predict = func::FuncOp::create(
        b, loc, lossName + "_predict",
        FunctionType::get(ctx, ArrayRef<Type>(argTypes).drop_back(),
                          {fn.getFunctionType().getResult(0)}));
    // Named like @loss's arguments, but not `lathe.param`: nothing
    // differentiates the prediction.
    for (auto [i, attrs] :
         llvm::enumerate(ArrayRef<DictionaryAttr>(argAttrs).drop_back())) {
      NamedAttrList list(attrs);
      list.erase("lathe.param");
      predict.setArgAttrs(i, list.getDictionary(ctx));
    }
    Block *pentry = predict.addEntryBlock();
    b.setInsertionPointToStart(pentry);
    IRMapping pmap;
    for (unsigned i = 0; i < fn.getNumArguments(); ++i)
      pmap.map(fn.getArgument(i), pentry->getArgument(offset + i));
    for (auto [k, w] : llvm::enumerate(weights))
      pmap.map(w.getResult(), pentry->getArgument(k));
    for (Operation &op : body.without_terminator()) {
      if (auto w = dyn_cast<lathe::WeightOp>(op); w && pmap.contains(w))
        continue;
      b.clone(op, pmap);
    }
    func::ReturnOp::create(b, loc,
                           pmap.lookup(body.getTerminator()->getOperand(0)));
  }

  Value buildMse(OpBuilder &b, Location loc, Value y, Value t) {
    return mean(b, loc, y,
                [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                  Value d = arith::SubFOp::create(nb, nl, a[0], a[1]);
                  return arith::MulFOp::create(nb, nl, d, d);
                },
                {t});
  }

  Value buildCrossEntropy(OpBuilder &b, Location loc, Value logits,
                          Value labels) {
    auto type = cast<RankedTensorType>(logits.getType());
    int64_t rank = type.getRank();
    Type elt = type.getElementType();
    AffineMap id = b.getMultiDimIdentityMap(rank);
    AffineMap rows = id.dropResult(rank - 1);
    // Row maximum, sum of exp(x - max), and the logit of the label.
    Value mx =
        reduceLast(b, loc, {logits}, {id}, logits, -INFINITY,
                   [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                     return arith::MaximumFOp::create(nb, nl, a[1], a[0]);
                   });
    Value se =
        reduceLast(b, loc, {logits, mx}, {id, rows}, logits, 0.0,
                   [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                     Value e = math::ExpOp::create(
                         nb, nl, arith::SubFOp::create(nb, nl, a[0], a[1]));
                     return arith::AddFOp::create(nb, nl, a[2], e);
                   });
    Value picked = reduceLast(
        b, loc, {logits, labels}, {id, rows}, logits, 0.0,
        [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value c = linalg::IndexOp::create(nb, nl, rank - 1);
          Value label =
              arith::IndexCastOp::create(nb, nl, nb.getIndexType(), a[1]);
          Value hit =
              arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, c, label);
          Value v = arith::SelectOp::create(nb, nl, hit, a[0],
                                            fconst(nb, nl, elt, 0.0));
          return arith::AddFOp::create(nb, nl, a[2], v);
        });
    // mean(log(se) + max - picked) over the positions.
    return mean(b, loc, se,
                [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                  Value lse = arith::AddFOp::create(
                      nb, nl, math::LogOp::create(nb, nl, a[0]), a[1]);
                  return arith::SubFOp::create(nb, nl, lse, a[2]);
                },
                {mx, picked});
  }
};

} // namespace
