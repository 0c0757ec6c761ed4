//===- ShardDataParallel.cpp - Sharded data parallelism as IR -------------===//
//
// Turns lathe-make-train-step's single-rank `@<fn>_train_step` into the step
// one rank of sharded data parallelism runs (ZeRO stage 1/2, Megatron's
// distributed optimizer):
//
//   grads (of this rank's part of the batch)
//     -> one flat vector [L = P * S] (parameters in argument order, zero pad)
//     -> shard.reduce_scatter over all ranks: this rank's shard [S], / P
//     -> the optimizer on the shard: master weights and optimizer state [S]
//     -> shard.all_gather of the new master shard -> the new parameters
//   loss -> shard.all_reduce / P (the loss of the whole batch)
//
// Every rank keeps the full parameters (the model copy it computes with);
// only the master weights and the optimizer state are partitioned. The grid
// is `shard.grid @lathe_dp(shape = NODESxRANKS_PER_NODE)`; the gradient and
// weight collectives run over grid_axes = [1, 0], so the shard of the process
// at (node n, local rank l) is number l * NODES + n, which is where a two-hop
// reduce-scatter (inside the node first, then across nodes) leaves it.
//
//===----------------------------------------------------------------------===//

#include "lathe/Transforms/Passes.h"

#include "lathe/Dialect/Train/TrainOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHESHARDDATAPARALLEL
#include "lathe/Transforms/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

constexpr StringLiteral kGridName = "lathe_dp";

/// `value` (a static tensor) as a 1-D tensor of its elements.
Value flatten(OpBuilder &b, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  auto flat =
      RankedTensorType::get({type.getNumElements()}, type.getElementType());
  if (type.getRank() == 1)
    return value;
  if (type.getRank() == 0)
    return tensor::ExpandShapeOp::create(b, loc, flat, value,
                                         ArrayRef<ReassociationIndices>{});
  ReassociationIndices all;
  for (int64_t d = 0; d < type.getRank(); ++d)
    all.push_back(d);
  return tensor::CollapseShapeOp::create(b, loc, flat, value,
                                         ArrayRef<ReassociationIndices>{all});
}

/// The inverse of `flatten`: a 1-D tensor as `type`.
Value unflatten(OpBuilder &b, Location loc, Value flat, RankedTensorType type) {
  if (type.getRank() == 1)
    return flat;
  if (type.getRank() == 0)
    return tensor::CollapseShapeOp::create(b, loc, type, flat,
                                           ArrayRef<ReassociationIndices>{});
  ReassociationIndices all;
  for (int64_t d = 0; d < type.getRank(); ++d)
    all.push_back(d);
  return tensor::ExpandShapeOp::create(b, loc, type, flat,
                                       ArrayRef<ReassociationIndices>{all});
}

/// `x * c` element-wise (tensor arith, raised to linalg by the pipeline).
Value scale(OpBuilder &b, Location loc, Value x, double c) {
  auto type = cast<RankedTensorType>(x.getType());
  Value splat = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, b.getF32FloatAttr(c)));
  return arith::MulFOp::create(b, loc, x, splat);
}

/// Clipping by the global norm on sharded gradients: the sum of squares of
/// this rank's shard, summed over all ranks (`shard.all_reduce`), gives the
/// norm of the whole gradient; every shard is scaled by
/// min(1, max_norm / (norm + 1e-6)), as train.clip_by_global_norm does.
Value clipShards(OpBuilder &b, Location loc, Value grad, double maxNorm) {
  auto f32 = b.getF32Type();
  auto type = cast<RankedTensorType>(grad.getType());
  auto scalar = RankedTensorType::get({}, f32);
  auto cst = [&](double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v)).getResult();
  };
  Value init =
      linalg::FillOp::create(
          b, loc, cst(0.0),
          tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{}, f32).getResult())
          .getResult(0);
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(1, ctx),
                                 AffineMap::get(1, 0, ctx)};
  Value local =
      linalg::GenericOp::create(
          b, loc, TypeRange{scalar}, ValueRange{grad}, ValueRange{init}, maps,
          SmallVector<utils::IteratorType>{utils::IteratorType::reduction},
          [&](OpBuilder &nb, Location l, ValueRange a) {
            Value sq = arith::MulFOp::create(nb, l, a[0], a[0]);
            linalg::YieldOp::create(
                nb, l, ValueRange{arith::AddFOp::create(nb, l, a[1], sq)});
          })
          .getResult(0);
  auto total = shard::AllReduceOp::create(b, loc, scalar, StringRef(kGridName),
                                          ArrayRef<int16_t>({0, 1}), local,
                                          shard::ReductionKind::Sum);
  Value norm = math::SqrtOp::create(
      b, loc,
      tensor::ExtractOp::create(b, loc, total.getResult(), ValueRange{}));
  Value factor = arith::MinimumFOp::create(
      b, loc, cst(1.0),
      arith::DivFOp::create(b, loc, cst(maxNorm),
                            arith::AddFOp::create(b, loc, norm, cst(1e-6))));
  SmallVector<AffineMap> ew(2, AffineMap::getMultiDimIdentityMap(1, ctx));
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, ValueRange{grad},
             ValueRange{tensor::EmptyOp::create(b, loc, type.getShape(), f32)
                            .getResult()},
             ew,
             SmallVector<utils::IteratorType>{utils::IteratorType::parallel},
             [&](OpBuilder &nb, Location l, ValueRange a) {
               linalg::YieldOp::create(
                   nb, l,
                   ValueRange{arith::MulFOp::create(nb, l, a[0], factor)});
             })
      .getResult(0);
}

struct LatheShardDataParallel
    : public lathe::impl::LatheShardDataParallelBase<LatheShardDataParallel> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    int64_t perNode = ranksPerNode > 0 ? int64_t(ranksPerNode) : int64_t(ranks);
    if (ranks < 1 || perNode < 1 || ranks % perNode != 0 || align < 1) {
      module.emitError("lathe-shard-data-parallel: ranks (")
          << int64_t(ranks)
          << ") must be a positive multiple of ranks-per-node (" << perNode
          << "), and align positive";
      return signalPassFailure();
    }
    std::string name = function + "_train_step";
    auto step = module.lookupSymbol<func::FuncOp>(name);
    if (!step || step.isExternal()) {
      module.emitError("lathe-shard-data-parallel: no @")
          << name << "; run lathe-make-train-step first";
      return signalPassFailure();
    }
    if (step->hasAttr("lathe.data_parallel")) {
      step.emitError("lathe-shard-data-parallel: @")
          << name << " is already sharded";
      return signalPassFailure();
    }
    if (failed(shard(module, step, ranks / perNode, perNode)))
      return signalPassFailure();
  }

  LogicalResult shard(ModuleOp module, func::FuncOp step, int64_t nodes,
                      int64_t perNode) {
    MLIRContext *ctx = &getContext();
    Location loc = step.getLoc();
    Block &body = step.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());

    // The updates, one per parameter, as lathe-make-train-step builds them.
    SmallVector<Operation *> updates;
    train::ClipByGlobalNormOp clip;
    for (Operation &op : body) {
      if (auto c = dyn_cast<train::ClipByGlobalNormOp>(op)) {
        if (clip || !c.getNorm().use_empty())
          return op.emitError("lathe-shard-data-parallel: expects at most one "
                              "train.clip_by_global_norm whose norm is unused");
        clip = c;
      }
      if (isa<train::AdamWOp, train::SGDOp>(op))
        updates.push_back(&op);
    }
    unsigned numParams = updates.size();
    if (numParams == 0)
      return step.emitError("lathe-shard-data-parallel: @")
             << step.getSymName() << " has no optimizer update";
    bool adam = isa<train::AdamWOp>(updates.front());
    unsigned perParam = adam ? 2 : 1;
    unsigned numArgs = step.getNumArguments();
    unsigned batchStart = numParams * (1 + perParam);
    if (numArgs < batchStart + 1 ||
        ret.getNumOperands() != 1 + numParams * (1 + perParam))
      return step.emitError("lathe-shard-data-parallel: @")
             << step.getSymName()
             << " is not a training step of lathe-make-train-step "
                "(parameters, optimizer state, batch, step)";
    Operation *first = updates.front();
    auto sameScalars = [&](Operation *u) {
      return u->getName() == first->getName() &&
             u->getPropertiesAsAttribute() ==
                 first->getPropertiesAsAttribute() &&
             u->getOperand(adam ? 4 : 3) == first->getOperand(adam ? 4 : 3) &&
             (!adam || u->getOperand(5) == first->getOperand(5));
    };
    int64_t total = 0;
    SmallVector<int64_t> offsets;
    if (clip)
      for (auto [k, u] : llvm::enumerate(updates)) {
        auto r = dyn_cast<OpResult>(u->getOperand(1));
        if (!r || r.getOwner() != clip || r.getResultNumber() != k ||
            clip.getGrads().size() != updates.size())
          return u->emitError("lathe-shard-data-parallel: with clipping, "
                              "update #")
                 << k << " must take clipped gradient #" << k;
      }
    for (auto [k, u] : llvm::enumerate(updates)) {
      bool shaped = u->getOperand(0) == step.getArgument(k) &&
                    ret.getOperand(1 + k) == u->getResult(0);
      for (unsigned s = 0; s < perParam; ++s)
        shaped = shaped &&
                 u->getOperand(2 + s) ==
                     step.getArgument(numParams + k * perParam + s) &&
                 ret.getOperand(1 + numParams + k * perParam + s) ==
                     u->getResult(1 + s);
      if (!shaped || !sameScalars(u))
        return u->emitError("lathe-shard-data-parallel: update #")
               << k << " does not update parameter #" << k
               << " from its own state with the step's learning rate";
      for (Value r : u->getResults())
        if (!r.hasOneUse())
          return u->emitError("lathe-shard-data-parallel: the step uses an "
                              "updated value before returning it");
      auto type = cast<RankedTensorType>(u->getOperand(0).getType());
      if (!type.hasStaticShape() || !type.getElementType().isF32())
        return u->emitError("lathe-shard-data-parallel: parameters must be "
                            "static f32 tensors");
      offsets.push_back(total);
      total += type.getNumElements();
    }
    for (unsigned i = numParams; i < batchStart; ++i)
      for (Operation *user : step.getArgument(i).getUsers())
        if (!llvm::is_contained(updates, user))
          return user->emitError("lathe-shard-data-parallel: optimizer state "
                                 "is used outside its update");

    int64_t ranksTotal = nodes * perNode;
    int64_t shardSize = (total + ranksTotal - 1) / ranksTotal;
    shardSize = (shardSize + align - 1) / align * align;
    int64_t flatSize = shardSize * ranksTotal;

    // The grid: axis 0 the nodes, axis 1 the ranks of a node.
    OpBuilder b(ctx);
    if (!module.lookupSymbol(kGridName)) {
      b.setInsertionPointToStart(module.getBody());
      shard::GridOp::create(b, loc, kGridName,
                            ArrayRef<int64_t>{nodes, perNode});
    } else if (auto grid = module.lookupSymbol<shard::GridOp>(kGridName);
               !grid || grid.getShape() != ArrayRef<int64_t>{nodes, perNode}) {
      return module.emitError("lathe-shard-data-parallel: @")
             << kGridName << " exists and is not a " << nodes << "x" << perNode
             << " grid";
    }

    // The sharded signature: parameters, master shard, state shards, batch,
    // step.
    auto f32 = Float32Type::get(ctx);
    auto shardType = RankedTensorType::get({shardSize}, f32);
    auto flatType = RankedTensorType::get({flatSize}, f32);
    SmallVector<Type> argTypes;
    SmallVector<DictionaryAttr> argAttrs;
    for (unsigned k = 0; k < numParams; ++k) {
      argTypes.push_back(step.getArgumentTypes()[k]);
      argAttrs.push_back(step.getArgAttrDict(k));
    }
    SmallVector<StringRef> stateKinds = {"master"};
    if (adam)
      stateKinds.append({"m", "v"});
    else
      stateKinds.push_back("momentum");
    for (StringRef kind : stateKinds) {
      argTypes.push_back(shardType);
      argAttrs.push_back(b.getDictionaryAttr(
          b.getNamedAttr("lathe.dp_state", b.getStringAttr(kind))));
    }
    for (unsigned i = batchStart; i < numArgs; ++i) {
      argTypes.push_back(step.getArgumentTypes()[i]);
      argAttrs.push_back(step.getArgAttrDict(i));
    }
    SmallVector<Type> resultTypes = {ret.getOperand(0).getType()};
    for (unsigned k = 0; k < numParams; ++k)
      resultTypes.push_back(argTypes[k]);
    resultTypes.append(stateKinds.size(), shardType);

    b.setInsertionPoint(step);
    auto sharded =
        func::FuncOp::create(b, loc, step.getSymName(),
                             FunctionType::get(ctx, argTypes, resultTypes));
    sharded.setAllArgAttrs(argAttrs);
    sharded->setAttr(
        "lathe.data_parallel",
        b.getDictionaryAttr(
            {b.getNamedAttr("grid", FlatSymbolRefAttr::get(ctx, kGridName)),
             b.getNamedAttr("ranks", b.getI64IntegerAttr(ranksTotal)),
             b.getNamedAttr("ranks_per_node", b.getI64IntegerAttr(perNode)),
             b.getNamedAttr("shard_size", b.getI64IntegerAttr(shardSize)),
             b.getNamedAttr("total_size", b.getI64IntegerAttr(total))}));
    Block *entry = sharded.addEntryBlock();
    b.setInsertionPointToStart(entry);
    unsigned newBatchStart = numParams + stateKinds.size();
    IRMapping map;
    for (unsigned k = 0; k < numParams; ++k)
      map.map(step.getArgument(k), entry->getArgument(k));
    for (unsigned i = batchStart; i < numArgs; ++i)
      map.map(step.getArgument(i),
              entry->getArgument(newBatchStart + i - batchStart));
    for (Operation &op : body.without_terminator())
      if (!llvm::is_contained(updates, &op) && &op != clip.getOperation())
        b.clone(op, map);

    // Gradients: flat, padded, reduce-scattered, averaged over the ranks.
    // Clipping happens on the shards (below), so the clip's inputs are what
    // is sent.
    auto rawGrad = [&](Value g) -> Value {
      if (clip)
        if (auto r = dyn_cast<OpResult>(g); r && r.getOwner() == clip)
          return clip.getGrads()[r.getResultNumber()];
      return g;
    };
    SmallVector<Value> pieces;
    for (Operation *u : updates)
      pieces.push_back(flatten(b, loc, map.lookup(rawGrad(u->getOperand(1)))));
    if (flatSize > total)
      pieces.push_back(arith::ConstantOp::create(
          b, loc,
          DenseElementsAttr::get(RankedTensorType::get({flatSize - total}, f32),
                                 b.getF32FloatAttr(0.0f))));
    Value flatGrads =
        pieces.size() == 1
            ? pieces.front()
            : tensor::ConcatOp::create(b, loc, flatType, 0, pieces).getResult();
    SmallVector<int16_t> localMajor = {1, 0};
    auto reduced = shard::ReduceScatterOp::create(
        b, loc, shardType, StringRef(kGridName), ArrayRef<int16_t>(localMajor),
        flatGrads, shard::ReductionKind::Sum, APInt(64, 0));
    reduced->setAttr("lathe.dp_role", b.getStringAttr("gradients"));
    Value grad = scale(b, loc, reduced.getResult(), 1.0 / ranksTotal);
    if (clip)
      grad = clipShards(b, loc, grad, clip.getMaxNorm().convertToDouble());

    // The optimizer on this rank's shard.
    SmallVector<Value> operands = {entry->getArgument(numParams), grad};
    for (unsigned s = 0; s < perParam; ++s)
      operands.push_back(entry->getArgument(numParams + 1 + s));
    for (unsigned i = 2 + perParam; i < first->getNumOperands(); ++i)
      operands.push_back(map.lookup(first->getOperand(i)));
    OperationState state(first->getLoc(), first->getName());
    state.addOperands(operands);
    state.propertiesAttr = first->getPropertiesAsAttribute();
    state.addTypes(SmallVector<Type>(first->getNumResults(), shardType));
    Operation *update = b.create(state);

    // The new parameters from every rank's new master shard.
    auto gathered = shard::AllGatherOp::create(
        b, loc, flatType, StringRef(kGridName), ArrayRef<int16_t>(localMajor),
        update->getResult(0), APInt(64, 0));
    gathered->setAttr("lathe.dp_role", b.getStringAttr("weights"));
    SmallVector<Value> results;
    Value loss = map.lookup(ret.getOperand(0));
    auto lossType = cast<RankedTensorType>(loss.getType());
    auto lossSum = shard::AllReduceOp::create(
        b, loc, lossType, StringRef(kGridName), ArrayRef<int16_t>({0, 1}), loss,
        shard::ReductionKind::Sum);
    results.push_back(scale(b, loc, lossSum.getResult(), 1.0 / ranksTotal));
    for (auto [k, u] : llvm::enumerate(updates)) {
      auto type = cast<RankedTensorType>(u->getOperand(0).getType());
      int64_t n = type.getNumElements();
      Value slice = tensor::ExtractSliceOp::create(
          b, loc, RankedTensorType::get({n}, f32), gathered.getResult(),
          ValueRange{}, ValueRange{}, ValueRange{},
          b.getDenseI64ArrayAttr({offsets[k]}), b.getDenseI64ArrayAttr({n}),
          b.getDenseI64ArrayAttr({1}));
      results.push_back(unflatten(b, loc, slice, type));
    }
    results.append(update->getResults().begin(), update->getResults().end());
    func::ReturnOp::create(b, loc, results);
    step.erase();
    return success();
  }
};

} // namespace
