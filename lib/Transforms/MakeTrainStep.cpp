//===- MakeTrainStep.cpp - A whole training step as one function ----------===//
//
// From `@<fn>_grad` (lathe-differentiate's output: the loss and the
// gradients of the `lathe.param` arguments), builds
//
//   @<fn>_train_step(params..., state..., batch..., step: tensor<f32>)
//       -> (loss: tensor<f32>, new params..., new state...)
//
// The gradient function's body is cloned in (so kernel formation sees the
// forward, the backward and the update together), then the learning rate
// (constant, or `train.warmup_cosine` of the step), optional clipping by the
// global norm, and one `train.sgd`/`train.adamw` per parameter. With
// micro-batches = P, the body is cloned once per part of the batch and the
// parts' losses and gradients are summed in order, then scaled by 1/P.
// Optimizer state is per parameter, in parameter order: the momentum buffer
// (sgd), or m then v (adamw); state arguments carry `lathe.opt_state =
// "<param>.<kind>"` naming the parameter argument (`lathe.name` when present,
// else its position) so a driver can checkpoint them.
//
//===----------------------------------------------------------------------===//

#include "lathe/Transforms/Passes.h"

#include "lathe/Dialect/Train/TrainOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHEMAKETRAINSTEP
#include "lathe/Transforms/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;

namespace {

constexpr StringLiteral kParamAttr = "lathe.param";

struct LatheMakeTrainStep
    : public lathe::impl::LatheMakeTrainStepBase<LatheMakeTrainStep> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!(lr > 0) || momentum < 0 || weightDecay < 0 || clipNorm < 0 ||
        warmupSteps < 0 || (totalSteps > 0 && warmupSteps > totalSteps) ||
        microBatches < 1) {
      module.emitError("lathe-make-train-step: needs lr > 0, momentum, "
                       "weight-decay and clip-norm >= 0, warmup-steps <= "
                       "total-steps, and micro-batches >= 1");
      return signalPassFailure();
    }
    SmallVector<func::FuncOp> grads;
    for (auto fn : module.getOps<func::FuncOp>())
      if (fn.getSymName().ends_with("_grad") && !fn.isExternal() &&
          (function.empty() || fn.getSymName() == function + "_grad"))
        grads.push_back(fn);
    if (grads.empty()) {
      module.emitError("lathe-make-train-step: no gradient function (@")
          << (function.empty() ? std::string("<name>") : function.getValue())
          << "_grad); run lathe-differentiate first";
      return signalPassFailure();
    }
    SymbolTable symbols(module);
    for (func::FuncOp grad : grads)
      if (failed(build(grad, symbols)))
        return signalPassFailure();
  }

  /// Rows [part * b, (part + 1) * b) of `whole`, b = dim 0 / micro-batches.
  /// With a dynamic dimension 0, asserts (once, for part 0) that it is a
  /// multiple of micro-batches; `name` names the argument in the message.
  Value batchPart(OpBuilder &b, Location loc, Value whole, int64_t part,
                  StringRef name) {
    auto type = cast<RankedTensorType>(whole.getType());
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, whole);
    SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
    SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
    SmallVector<int64_t> shape(type.getShape());
    if (!type.isDynamicDim(0)) {
      shape[0] /= microBatches;
      sizes[0] = b.getIndexAttr(shape[0]);
      offsets[0] = b.getIndexAttr(part * shape[0]);
    } else {
      Value rows = cast<Value>(sizes[0]);
      Value parts = arith::ConstantIndexOp::create(b, loc, microBatches);
      // A remainder would be dropped: the rows must split evenly (checked
      // at run time; lathe-train passes --batch rows, a multiple of P).
      if (part == 0) {
        Value rem = arith::RemUIOp::create(b, loc, rows, parts);
        Value even =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, rem,
                                  arith::ConstantIndexOp::create(b, loc, 0));
        cf::AssertOp::create(
            b, loc, even,
            b.getStringAttr("lathe-make-train-step: micro-batches=" +
                            std::to_string(microBatches) +
                            " needs the rows (dimension 0) of batch argument " +
                            name + " to be a multiple of " +
                            std::to_string(microBatches)));
      }
      Value size = arith::DivUIOp::create(b, loc, rows, parts);
      sizes[0] = size;
      offsets[0] =
          arith::MulIOp::create(b, loc, size,
                                arith::ConstantIndexOp::create(b, loc, part))
              .getResult();
    }
    return tensor::ExtractSliceOp::create(b, loc, type.clone(shape), whole,
                                          offsets, sizes, strides);
  }

  /// `x * c` element-wise, as lathe-shard-data-parallel scales the summed
  /// gradients and losses (so that the two give the same bits).
  static Value scaleBy(OpBuilder &b, Location loc, Value x, double c) {
    auto type = cast<RankedTensorType>(x.getType());
    Value splat = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(type, b.getFloatAttr(type.getElementType(), c)));
    return arith::MulFOp::create(b, loc, x, splat);
  }

  LogicalResult build(func::FuncOp grad, SymbolTable &symbols) {
    MLIRContext *ctx = &getContext();
    Location loc = grad.getLoc();
    SmallVector<unsigned> params, batch;
    for (unsigned i = 0; i < grad.getNumArguments(); ++i)
      (grad.getArgAttr(i, kParamAttr) ? params : batch).push_back(i);
    FunctionType gradType = grad.getFunctionType();
    if (gradType.getNumResults() != params.size() + 1)
      return grad.emitError("lathe-make-train-step: @")
             << grad.getSymName() << " must return the loss and one gradient "
             << "per lathe.param argument (" << params.size() << ")";
    // The loss and the gradients are float tensors (scaled, summed and fed
    // to the optimizer below).
    for (auto [k, type] : llvm::enumerate(gradType.getResults())) {
      auto ranked = dyn_cast<RankedTensorType>(type);
      if (!ranked || !isa<FloatType>(ranked.getElementType()))
        return grad.emitError("lathe-make-train-step: @")
               << grad.getSymName() << " result #" << k << " ("
               << (k == 0 ? "the loss" : "a gradient")
               << ") must be a ranked float tensor, got " << type;
    }
    bool adam = optimizer == lathe::TrainOptimizer::AdamW;
    unsigned perParam = adam ? 2 : 1;

    // Signature: params, state, batch, step.
    SmallVector<Type> argTypes;
    SmallVector<DictionaryAttr> argAttrs;
    auto nameOf = [&](unsigned i) -> std::string {
      if (auto n = grad.getArgAttrOfType<StringAttr>(i, "lathe.name"))
        return n.str();
      if (auto n = grad.getArgAttrOfType<StringAttr>(i, "onnx.name"))
        return n.str();
      return "arg" + std::to_string(i);
    };
    for (unsigned i : params) {
      argTypes.push_back(grad.getArgumentTypes()[i]);
      argAttrs.push_back(grad.getArgAttrDict(i));
    }
    static const StringRef kAdamState[] = {"m", "v"};
    static const StringRef kSgdState[] = {"momentum"};
    ArrayRef<StringRef> kinds =
        adam ? ArrayRef<StringRef>(kAdamState) : ArrayRef<StringRef>(kSgdState);
    for (unsigned i : params)
      for (StringRef kind : kinds) {
        argTypes.push_back(grad.getArgumentTypes()[i]);
        argAttrs.push_back(DictionaryAttr::get(
            ctx, {NamedAttribute(
                     StringAttr::get(ctx, "lathe.opt_state"),
                     StringAttr::get(ctx, nameOf(i) + "." + kind.str()))}));
      }
    for (unsigned i : batch) {
      Type type = grad.getArgumentTypes()[i];
      if (microBatches > 1) {
        // P parts of the gradient function's batch.
        auto ranked = dyn_cast<RankedTensorType>(type);
        if (!ranked || ranked.getRank() == 0)
          return grad.emitError("lathe-make-train-step: micro-batches=")
                 << int64_t(microBatches) << " splits dimension 0 of every "
                 << "batch argument, but argument #" << i << " is " << type;
        SmallVector<int64_t> shape(ranked.getShape());
        if (!ShapedType::isDynamic(shape[0]))
          shape[0] *= microBatches;
        type = ranked.clone(shape);
      }
      argTypes.push_back(type);
      argAttrs.push_back(grad.getArgAttrDict(i));
    }
    auto f32 = Float32Type::get(ctx);
    auto scalar = RankedTensorType::get({}, f32);
    argTypes.push_back(scalar);
    argAttrs.push_back(DictionaryAttr::get(
        ctx, {NamedAttribute(StringAttr::get(ctx, "lathe.step"),
                             UnitAttr::get(ctx))}));
    SmallVector<Type> resultTypes = {gradType.getResult(0)};
    for (unsigned k = 0; k < params.size(); ++k)
      resultTypes.push_back(argTypes[k]);
    for (unsigned k = 0; k < params.size() * perParam; ++k)
      resultTypes.push_back(argTypes[params.size() + k]);

    StringRef base = grad.getSymName().drop_back(5);
    OpBuilder b(grad);
    b.setInsertionPointAfter(grad);
    auto step =
        func::FuncOp::create(b, loc, (base + "_train_step").str(),
                             FunctionType::get(ctx, argTypes, resultTypes));
    step.setAllArgAttrs(argAttrs);
    symbols.insert(step);
    Block *entry = step.addEntryBlock();
    b.setInsertionPointToStart(entry);

    // The gradient function's body, on the new arguments (once per part of
    // the batch with micro-batches).
    unsigned batchStart = params.size() * (1 + perParam);
    Block &gradBody = grad.getBody().front();
    auto ret = cast<func::ReturnOp>(gradBody.getTerminator());
    Value loss;
    SmallVector<Value> grads;
    for (int64_t part = 0; part < microBatches; ++part) {
      IRMapping map;
      for (auto [k, i] : llvm::enumerate(params))
        map.map(grad.getArgument(i), entry->getArgument(k));
      for (auto [k, i] : llvm::enumerate(batch)) {
        Value whole = entry->getArgument(batchStart + k);
        map.map(grad.getArgument(i),
                microBatches > 1
                    ? batchPart(b, loc, whole, part, "'" + nameOf(i) + "'")
                    : whole);
      }
      for (Operation &op : gradBody.without_terminator())
        b.clone(op, map);
      // Added in part order, one part at a time: ((x_0 + x_1) + x_2) + ...
      Value partLoss = map.lookup(ret.getOperand(0));
      loss =
          part == 0 ? partLoss : arith::AddFOp::create(b, loc, loss, partLoss);
      for (auto [k, g] : llvm::enumerate(ret.getOperands().drop_front())) {
        Value partGrad = map.lookup(g);
        if (part == 0)
          grads.push_back(partGrad);
        else
          grads[k] = arith::AddFOp::create(b, loc, grads[k], partGrad);
      }
    }
    if (microBatches > 1) {
      loss = scaleBy(b, loc, loss, 1.0 / microBatches);
      for (Value &g : grads)
        g = scaleBy(b, loc, g, 1.0 / microBatches);
    }

    // Learning rate and the step count.
    Value stepValue = tensor::ExtractOp::create(
        b, loc, entry->getArguments().back(), ValueRange{});
    Value lrValue;
    if (totalSteps > 0)
      lrValue = lathe::train::WarmupCosineOp::create(
          b, loc, f32, stepValue, b.getF32FloatAttr(lr),
          b.getF32FloatAttr(minLr), b.getI64IntegerAttr(warmupSteps),
          b.getI64IntegerAttr(totalSteps));
    else
      lrValue = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(lr));
    if (clipNorm > 0) {
      auto clip = lathe::train::ClipByGlobalNormOp::create(
          b, loc, grads, b.getF32FloatAttr(clipNorm));
      grads.assign(clip.getClipped().begin(), clip.getClipped().end());
    }
    // AdamW's t counts updates from 1.
    Value t;
    if (adam)
      t = arith::AddFOp::create(
          b, loc, stepValue,
          arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0)));
    SmallVector<Value> newParams, newState;
    for (unsigned k = 0; k < params.size(); ++k) {
      Value p = entry->getArgument(k);
      Value s0 = entry->getArgument(params.size() + k * perParam);
      if (adam) {
        Value s1 = entry->getArgument(params.size() + k * perParam + 1);
        auto upd = lathe::train::AdamWOp::create(
            b, loc, p, grads[k], s0, s1, lrValue, t, b.getF32FloatAttr(beta1),
            b.getF32FloatAttr(beta2), b.getF32FloatAttr(eps),
            b.getF32FloatAttr(weightDecay));
        newParams.push_back(upd.getNewParam());
        newState.push_back(upd.getNewM());
        newState.push_back(upd.getNewV());
      } else {
        auto upd = lathe::train::SGDOp::create(
            b, loc, p, grads[k], s0, lrValue, b.getF32FloatAttr(momentum),
            b.getF32FloatAttr(weightDecay), /*nesterov=*/UnitAttr());
        newParams.push_back(upd.getNewParam());
        newState.push_back(upd.getNewMomentumBuffer());
      }
    }
    SmallVector<Value> results = {loss};
    results.append(newParams);
    results.append(newState);
    func::ReturnOp::create(b, loc, results);
    return success();
  }
};

} // namespace
