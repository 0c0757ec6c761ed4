//===- LowerCollectives.cpp - Upstream shard collectives on the CPU -------===//
//
// The CPU target runs the collectives of the upstream `shard` dialect on the
// runtime's multi-rank layer (runtime/include/lathe/runtime/Comm.h, Open MPI):
//
// - bufferization models for `shard.all_gather`, `shard.all_to_all`,
//   `shard.reduce_scatter` and `shard.all_reduce` on tensors: the input's
//   buffer (copied when it is not contiguous) and a new allocation for the
//   result are handed to one runtime call;
// - `lathe-cpu-lower-collectives` (after bufferization): the process's grid
//   coordinates (`shard.process_linear_index`, `shard.process_multi_index`)
//   from the runtime's rank, and the `shard.grid` symbols erased.
//
// Grids and groups travel as one i64 each, packed as Comm.h describes.
//
//===----------------------------------------------------------------------===//

#include "lathe/Target/CPU/Collectives.h"
#include "lathe/Target/CPU/Passes.h"
#include "lathe/Target/CPU/RuntimeCalls.h"

#include "ContiguousCopy.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECPULOWERCOLLECTIVES
#include "lathe/Target/CPU/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::bufferization;
using namespace mlir::lathe;

FailureOr<int64_t> mlir::lathe::packGrid(shard::GridOp grid) {
  ArrayRef<int64_t> shape = grid.getShape();
  if (shape.empty() || shape.size() > 4)
    return failure();
  int64_t packed = 0;
  for (auto [i, size] : llvm::enumerate(shape)) {
    if (ShapedType::isDynamic(size) || size < 1 || size >= (1 << 16))
      return failure();
    packed |= size << (16 * i);
  }
  return packed;
}

int64_t mlir::lathe::packGroup(ArrayRef<int16_t> axes) {
  int64_t packed = static_cast<int64_t>(axes.size());
  for (auto [k, axis] : llvm::enumerate(axes))
    packed |= static_cast<int64_t>(axis) << (4 + 4 * k);
  return packed;
}

namespace {

/// The grid of a collective, packed; an error on the op when the CPU target
/// cannot run it (dynamic or too many axes).
FailureOr<int64_t> gridOf(Operation *op, FlatSymbolRefAttr name) {
  auto grid = SymbolTable::lookupNearestSymbolFrom<shard::GridOp>(op, name);
  if (!grid)
    return op->emitOpError("refers to an unknown grid ") << name;
  FailureOr<int64_t> packed = lathe::packGrid(grid);
  if (failed(packed))
    return op->emitOpError("the CPU target runs grids of 1 to 4 static axes "
                           "of fewer than 65536 processes each, not ")
           << name;
  return packed;
}

/// A contiguous buffer holding `value`'s data: its buffer, or a copy when
/// that buffer is a strided view.
FailureOr<Value> contiguousBuffer(RewriterBase &rewriter, Location loc,
                                  Value value,
                                  const BufferizationOptions &options,
                                  BufferizationState &state) {
  FailureOr<Value> buffer = getBuffer(rewriter, value, options, state);
  if (failed(buffer))
    return failure();
  if (isDenseRowMajor(cast<MemRefType>(buffer->getType())))
    return buffer;
  return copyToDenseBuffer(rewriter, loc, *buffer);
}

/// One runtime call `(grid, group, in, out)` into a new
/// allocation for the result. An empty group is the process alone: a copy.
template <typename OpTy>
struct CollectiveBufferization : public BufferizableOpInterface::ExternalModel<
                                     CollectiveBufferization<OpTy>, OpTy> {
  bool bufferizesToAllocation(Operation *, Value) const { return true; }
  bool bufferizesToMemoryRead(Operation *, OpOperand &,
                              const AnalysisState &) const {
    return true;
  }
  bool bufferizesToMemoryWrite(Operation *, OpOperand &,
                               const AnalysisState &) const {
    return false;
  }
  AliasingValueList getAliasingValues(Operation *, OpOperand &,
                                      const AnalysisState &) const {
    return {};
  }

  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto collective = cast<OpTy>(op);
    Location loc = op->getLoc();
    FailureOr<int64_t> grid = gridOf(op, collective.getGridAttr());
    if (failed(grid))
      return failure();
    auto resultType = cast<RankedTensorType>(collective.getResult().getType());
    Type element = resultType.getElementType();
    if (!resultType.hasStaticShape())
      return op->emitOpError("the CPU target needs static shapes, got ")
             << resultType;
    if constexpr (std::is_same_v<OpTy, shard::ReduceScatterOp> ||
                  std::is_same_v<OpTy, shard::AllReduceOp>) {
      if (!element.isF32() ||
          collective.getReduction() != shard::ReductionKind::Sum)
        return op->emitOpError("the CPU target reduces f32 by sum only");
    }
    if constexpr (std::is_same_v<OpTy, shard::AllGatherOp>) {
      if (!isOutermost(resultType, collective.getGatherAxis().getZExtValue()))
        return op->emitOpError("the CPU target gathers along the outermost "
                               "dimension of size > 1 only");
    }
    if constexpr (std::is_same_v<OpTy, shard::ReduceScatterOp>) {
      if (!isOutermost(cast<RankedTensorType>(collective.getInput().getType()),
                       collective.getScatterAxis().getZExtValue()))
        return op->emitOpError("the CPU target scatters along the outermost "
                               "dimension of size > 1 only");
    }
    if constexpr (std::is_same_v<OpTy, shard::AllToAllOp>) {
      auto inType = cast<RankedTensorType>(collective.getInput().getType());
      uint64_t split = collective.getSplitAxis().getZExtValue();
      if (split != collective.getConcatAxis().getZExtValue() ||
          !isOutermost(inType, split))
        return op->emitOpError("the CPU target runs all-to-alls that split "
                               "and concatenate the outermost dimension of "
                               "size > 1 only");
    }
    FailureOr<Value> in =
        contiguousBuffer(rewriter, loc, op->getOperand(0), options, state);
    if (failed(in))
      return failure();
    auto outType = MemRefType::get(resultType.getShape(), element);
    Value out = memref::AllocOp::create(rewriter, loc, outType, ValueRange{},
                                        rewriter.getI64IntegerAttr(64));
    ArrayRef<int16_t> axes = collective.getGridAxes();
    auto module = op->template getParentOfType<ModuleOp>();
    if (axes.empty()) {
      memref::CopyOp::create(rewriter, loc, *in, out);
    } else {
      int64_t group = lathe::packGroup(axes);
      // One runtime symbol per element type: the declaration carries the
      // operands' MLIR types.
      std::string callee = runtimeFunction().str();
      if constexpr (!std::is_same_v<OpTy, shard::ReduceScatterOp> &&
                    !std::is_same_v<OpTy, shard::AllReduceOp>) {
        std::string name;
        llvm::raw_string_ostream os(name);
        element.print(os);
        static const char *const kTyped[] = {"i8",  "i16",  "i32", "i64",
                                             "f16", "bf16", "f32", "f64"};
        if (!llvm::is_contained(kTyped, name))
          return op->emitOpError("the CPU target moves i8/i16/i32/i64/f16/"
                                 "bf16/f32/f64 elements, not ")
                 << element;
        callee += "_" + name;
      }
      SmallVector<Value> args = {
          arith::ConstantIntOp::create(rewriter, loc, *grid, 64),
          arith::ConstantIntOp::create(rewriter, loc, group, 64), *in, out};
      lathe::emitRuntimeCall(module, rewriter, loc, callee, args);
    }
    replaceOpWithBufferizedValues(rewriter, op, out);
    return success();
  }

  /// Every dimension before `axis` has size 1, so splitting or concatenating
  /// along `axis` splits or concatenates the contiguous data.
  static bool isOutermost(RankedTensorType type, uint64_t axis) {
    for (uint64_t d = 0; d < axis; ++d)
      if (type.getDimSize(d) != 1)
        return false;
    return true;
  }

  static StringRef runtimeFunction() {
    if constexpr (std::is_same_v<OpTy, shard::AllGatherOp>)
      return "lathe_rt_comm_all_gather";
    else if constexpr (std::is_same_v<OpTy, shard::AllToAllOp>)
      return "lathe_rt_comm_all_to_all";
    else if constexpr (std::is_same_v<OpTy, shard::ReduceScatterOp>)
      return "lathe_rt_comm_reduce_scatter_sum_f32";
    else
      return "lathe_rt_comm_all_reduce_sum_f32";
  }
};

struct LatheCPULowerCollectives
    : public lathe::impl::LatheCPULowerCollectivesBase<
          LatheCPULowerCollectives> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    IRRewriter rewriter(&getContext());
    bool failedAny = false;
    SmallVector<Operation *> indices;
    module.walk([&](Operation *op) {
      if (isa<shard::ProcessLinearIndexOp, shard::ProcessMultiIndexOp>(op))
        indices.push_back(op);
      else if (isa<shard::AllGatherOp, shard::AllToAllOp,
                   shard::ReduceScatterOp, shard::AllReduceOp>(op)) {
        op->emitOpError("is left after bufferization: the CPU target runs "
                        "collectives on tensors only");
        failedAny = true;
      }
    });
    if (failedAny)
      return signalPassFailure();
    for (Operation *op : indices) {
      rewriter.setInsertionPoint(op);
      Location loc = op->getLoc();
      auto gridName = op->getAttrOfType<FlatSymbolRefAttr>("grid");
      auto grid =
          SymbolTable::lookupNearestSymbolFrom<shard::GridOp>(op, gridName);
      if (!grid || failed(lathe::packGrid(grid))) {
        op->emitOpError("needs a grid of 1 to 4 static axes");
        return signalPassFailure();
      }
      // The world rank is the row-major index of the grid coordinates.
      Value rank =
          lathe::emitRuntimeCall(module, rewriter, loc, "lathe_rt_comm_rank",
                                 {}, rewriter.getI64Type())[0];
      rank = arith::IndexCastOp::create(rewriter, loc, rewriter.getIndexType(),
                                        rank);
      if (isa<shard::ProcessLinearIndexOp>(op)) {
        rewriter.replaceOp(op, rank);
        continue;
      }
      auto multi = cast<shard::ProcessMultiIndexOp>(op);
      ArrayRef<int64_t> shape = grid.getShape();
      SmallVector<int64_t> axes(multi.getAxes().begin(), multi.getAxes().end());
      if (axes.empty())
        for (int64_t a = 0; a < static_cast<int64_t>(shape.size()); ++a)
          axes.push_back(a);
      SmallVector<Value> coords;
      for (int64_t axis : axes) {
        int64_t stride = 1;
        for (size_t d = axis + 1; d < shape.size(); ++d)
          stride *= shape[d];
        Value q = arith::DivUIOp::create(
            rewriter, loc, rank,
            arith::ConstantIndexOp::create(rewriter, loc, stride));
        coords.push_back(arith::RemUIOp::create(
            rewriter, loc, q,
            arith::ConstantIndexOp::create(rewriter, loc, shape[axis])));
      }
      rewriter.replaceOp(op, coords);
    }
    // Grids are compile-time descriptions; nothing refers to them now.
    for (auto grid : llvm::make_early_inc_range(module.getOps<shard::GridOp>()))
      rewriter.eraseOp(grid);
    for (auto sharding :
         llvm::make_early_inc_range(module.getOps<shard::ShardingOp>()))
      if (sharding->use_empty())
        rewriter.eraseOp(sharding);
  }
};

} // namespace

void mlir::lathe::registerCollectiveBufferizationModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, shard::ShardDialect *) {
    shard::AllGatherOp::attachInterface<
        CollectiveBufferization<shard::AllGatherOp>>(*ctx);
    shard::AllToAllOp::attachInterface<
        CollectiveBufferization<shard::AllToAllOp>>(*ctx);
    shard::ReduceScatterOp::attachInterface<
        CollectiveBufferization<shard::ReduceScatterOp>>(*ctx);
    shard::AllReduceOp::attachInterface<
        CollectiveBufferization<shard::AllReduceOp>>(*ctx);
  });
}
