//===- QuantizeCollectives.cpp - Quantized communication of a sharded step ===//
//
// qcomm-quantize-weight-diffs (SDP4Bit's qWD, or plain qW),
// qcomm-quantize-gradients (SDP4Bit's TLq-HS) and qcomm-zeropp (ZeRO++'s
// qwZ + qgZ): they rewrite the collectives lathe-shard-data-parallel marked
// (`lathe.dp_role`) into qcomm's quantized collectives. What each one chose
// stays in the IR as the attributes of those ops.
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/QComm/Passes.h"

#include "lathe/Dialect/QComm/QCommOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::lathe::qcomm {
#define GEN_PASS_DEF_QCOMMQUANTIZEWEIGHTDIFFS
#define GEN_PASS_DEF_QCOMMQUANTIZEGRADIENTS
#define GEN_PASS_DEF_QCOMMZEROPP
#include "lathe/Dialect/QComm/Passes.h.inc"
} // namespace mlir::lathe::qcomm

using namespace mlir;
using namespace mlir::lathe;

namespace {

constexpr StringLiteral kRole = "lathe.dp_role";

SmallVector<Operation *> marked(ModuleOp module, StringRef role) {
  SmallVector<Operation *> ops;
  module.walk([&](Operation *op) {
    auto attr = op->getAttrOfType<StringAttr>(kRole);
    if (attr && attr.getValue() == role &&
        isa<shard::AllGatherOp, shard::ReduceScatterOp>(op))
      ops.push_back(op);
  });
  return ops;
}

/// The model copy as one flat vector of `size` values: the function's
/// `lathe.param` arguments, flattened in order, then zeros (the layout of
/// lathe-shard-data-parallel).
FailureOr<Value> modelCopy(OpBuilder &b, Location loc, func::FuncOp fn,
                           int64_t size) {
  SmallVector<Value> pieces;
  int64_t total = 0;
  auto f32 = b.getF32Type();
  for (BlockArgument arg : fn.getArguments()) {
    if (!fn.getArgAttr(arg.getArgNumber(), "lathe.param"))
      continue;
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (!type || !type.hasStaticShape() || !type.getElementType().isF32())
      return failure();
    auto flat = RankedTensorType::get({type.getNumElements()}, f32);
    Value piece = arg;
    if (type.getRank() == 0)
      piece = tensor::ExpandShapeOp::create(b, loc, flat, arg,
                                            ArrayRef<ReassociationIndices>{});
    else if (type.getRank() > 1) {
      ReassociationIndices all;
      for (int64_t d = 0; d < type.getRank(); ++d)
        all.push_back(d);
      piece = tensor::CollapseShapeOp::create(
          b, loc, flat, arg, ArrayRef<ReassociationIndices>{all});
    }
    pieces.push_back(piece);
    total += type.getNumElements();
  }
  if (pieces.empty() || total > size)
    return failure();
  if (total < size)
    pieces.push_back(arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(RankedTensorType::get({size - total}, f32),
                               b.getF32FloatAttr(0.0f))));
  if (pieces.size() == 1)
    return pieces.front();
  return tensor::ConcatOp::create(b, loc, RankedTensorType::get({size}, f32), 0,
                                  pieces)
      .getResult();
}

/// This process's index in the group of `axes` (row-major over the axes in
/// their order), as an index value.
Value groupIndex(OpBuilder &b, Location loc, shard::GridOp grid,
                 ArrayRef<int16_t> axes) {
  SmallVector<Type> types(axes.size(), b.getIndexType());
  auto coords = shard::ProcessMultiIndexOp::create(b, loc, TypeRange(types),
                                                   grid.getSymName(), axes);
  Value index = arith::ConstantIndexOp::create(b, loc, 0);
  for (auto [k, axis] : llvm::enumerate(axes)) {
    Value size = arith::ConstantIndexOp::create(b, loc, grid.getShape()[axis]);
    index = arith::AddIOp::create(b, loc,
                                  arith::MulIOp::create(b, loc, index, size),
                                  coords->getResult(k));
  }
  return index;
}

LogicalResult quantizeWeights(ModuleOp module, int64_t bits, int64_t group,
                              bool differences, StringRef pass) {
  for (Operation *op : marked(module, "weights")) {
    auto gather = dyn_cast<shard::AllGatherOp>(op);
    if (!gather)
      continue;
    OpBuilder b(gather);
    Location loc = gather.getLoc();
    auto shardType = cast<RankedTensorType>(gather.getInput().getType());
    auto flatType = cast<RankedTensorType>(gather.getResult().getType());
    if (shardType.getRank() != 1 || !shardType.hasStaticShape() ||
        !flatType.hasStaticShape() || gather.getGatherAxis() != 0)
      return gather.emitError(pass) << ": expects the 1-D shard all-gather of "
                                       "lathe-shard-data-parallel";
    if (shardType.getDimSize(0) % group != 0)
      return gather.emitError(pass)
             << ": the shard of " << shardType.getDimSize(0)
             << " values is not a whole number of groups of " << group
             << " (shard with lathe-shard-data-parallel{align=" << group
             << "})";
    Value input = gather.getInput();
    Value addend;
    if (differences) {
      auto fn = gather->getParentOfType<func::FuncOp>();
      auto grid = SymbolTable::lookupNearestSymbolFrom<shard::GridOp>(
          gather, gather.getGridAttr());
      FailureOr<Value> model =
          fn && grid ? modelCopy(b, loc, fn, flatType.getDimSize(0))
                     : FailureOr<Value>(failure());
      if (failed(model))
        return gather.emitError(pass)
               << ": the function's lathe.param arguments (static f32) do "
                  "not make up the gathered weights";
      Value index = groupIndex(b, loc, grid, gather.getGridAxes());
      Value offset = arith::MulIOp::create(
          b, loc, index,
          arith::ConstantIndexOp::create(b, loc, shardType.getDimSize(0)));
      Value mine = tensor::ExtractSliceOp::create(
          b, loc, shardType, *model, ValueRange{offset}, ValueRange{},
          ValueRange{}, b.getDenseI64ArrayAttr({ShapedType::kDynamic}),
          b.getDenseI64ArrayAttr({shardType.getDimSize(0)}),
          b.getDenseI64ArrayAttr({1}));
      input = arith::SubFOp::create(b, loc, input, mine);
      addend = *model;
    }
    auto quantized = qcomm::AllGatherOp::create(
        b, loc, flatType, input, /*seed=*/Value(), addend, gather.getGridAttr(),
        gather.getGridAxesAttr(), b.getI64IntegerAttr(bits),
        b.getI64IntegerAttr(group));
    quantized->setAttr(kRole, gather->getAttr(kRole));
    gather.getResult().replaceAllUsesWith(quantized.getResult());
    gather.erase();
  }
  return success();
}

LogicalResult quantizeGradients(ModuleOp module, int64_t intraBits,
                                int64_t intraGroup, int64_t interBits,
                                int64_t interGroup, bool hadamard,
                                StringRef pass) {
  for (Operation *op : marked(module, "gradients")) {
    auto scatter = dyn_cast<shard::ReduceScatterOp>(op);
    if (!scatter)
      continue;
    if (scatter.getReduction() != shard::ReductionKind::Sum ||
        scatter.getScatterAxis() != 0 || scatter.getGridAxes().empty())
      return scatter.emitError(pass)
             << ": expects the summing reduce-scatter of "
                "lathe-shard-data-parallel";
    OpBuilder b(scatter);
    auto grid = SymbolTable::lookupNearestSymbolFrom<shard::GridOp>(
        scatter, scatter.getGridAttr());
    if (!grid)
      return scatter.emitError(pass) << ": unknown grid";
    // Hop 1 runs over the first axis (the ranks of a node), hop 2 over the
    // others (the nodes). A hop over a single process moves nothing: with
    // one node there is only the intra-node hop, with one rank per node
    // only the inter-node one (at the inter-node bits).
    auto sizeOf = [&](ArrayRef<int16_t> group) {
      int64_t n = 1;
      for (int16_t a : group)
        n *= grid.getShape()[a];
      return n;
    };
    ArrayRef<int16_t> axes = scatter.getGridAxes();
    ArrayRef<int16_t> intra = axes.take_front(), inter = axes.drop_front();
    int64_t hop1Bits = intraBits, hop1Group = intraGroup;
    if (sizeOf(intra) == 1 && !inter.empty() && sizeOf(inter) > 1) {
      intra = inter;
      inter = {};
      hop1Bits = interBits;
      hop1Group = interGroup;
    } else if (sizeOf(inter) == 1) {
      inter = {};
    }
    DenseI16ArrayAttr interAxes;
    IntegerAttr interBitsAttr, interGroupAttr;
    if (!inter.empty()) {
      interAxes = b.getDenseI16ArrayAttr(inter);
      interBitsAttr = b.getI64IntegerAttr(interBits);
      interGroupAttr = b.getI64IntegerAttr(interGroup);
    }
    auto quantized = qcomm::ReduceScatterOp::create(
        b, scatter.getLoc(), scatter.getResult().getType(), scatter.getInput(),
        /*seed=*/Value(), scatter.getGridAttr(), b.getDenseI16ArrayAttr(intra),
        b.getI64IntegerAttr(hop1Bits), b.getI64IntegerAttr(hop1Group),
        interAxes, interBitsAttr, interGroupAttr,
        hadamard ? b.getUnitAttr() : UnitAttr());
    quantized->setAttr(kRole, scatter->getAttr(kRole));
    // The verifier states what does not divide (sizes, groups, Hadamard
    // blocks) in the terms of the op.
    if (failed(quantized.verify())) {
      quantized.erase();
      return scatter.emitError(pass)
             << ": the gradient reduce-scatter cannot be quantized with "
                "these bits and group sizes (see the error above)";
    }
    scatter.getResult().replaceAllUsesWith(quantized.getResult());
    scatter.erase();
  }
  return success();
}

struct QuantizeWeightDiffs
    : public qcomm::impl::QCommQuantizeWeightDiffsBase<QuantizeWeightDiffs> {
  using Base::Base;
  void runOnOperation() override {
    if (failed(quantizeWeights(getOperation(), bits, groupSize, differences,
                               getArgument())))
      signalPassFailure();
  }
};

struct QuantizeGradients
    : public qcomm::impl::QCommQuantizeGradientsBase<QuantizeGradients> {
  using Base::Base;
  void runOnOperation() override {
    if (failed(quantizeGradients(getOperation(), intraBits, intraGroupSize,
                                 interBits, interGroupSize, hadamard,
                                 getArgument())))
      signalPassFailure();
  }
};

struct ZeroPP : public qcomm::impl::QCommZeroPPBase<ZeroPP> {
  using Base::Base;
  void runOnOperation() override {
    if (failed(quantizeWeights(getOperation(), weightBits, weightGroupSize,
                               /*differences=*/false, getArgument())) ||
        failed(quantizeGradients(getOperation(), gradBits, gradGroupSize,
                                 gradBits, gradGroupSize, /*hadamard=*/false,
                                 getArgument())))
      signalPassFailure();
  }
};

} // namespace
