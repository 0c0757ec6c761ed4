//===- LowerCollectives.cpp - Upstream shard collectives on the CPU -------===//
//
// The CPU target runs the collectives of the upstream `shard` dialect on the
// runtime's multi-rank layer (runtime/include/lathe/runtime/Comm.h, Open MPI):
//
// - bufferization models for `shard.all_gather`, `shard.all_to_all`,
//   `shard.reduce_scatter` and `shard.all_reduce` on tensors: the input's
//   buffer (copied when it is not contiguous) and a new allocation for the
//   result are handed to one runtime call;
// - `lathe-cpu-lower-collectives` (after bufferization): all-to-alls read
//   and write the strided views around them instead of packed copies (a
//   linalg.transpose into the send buffer, or out of the receive buffer,
//   folds into the runtime call's descriptor); the process's grid
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
#include "mlir/Dialect/Linalg/IR/Linalg.h"
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

//===----------------------------------------------------------------------===//
// All-to-alls on strided views
//===----------------------------------------------------------------------===//

/// The buffer a chain of views (reshapes, casts, subviews) starts at.
Value rootOf(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (auto cast = dyn_cast<memref::CastOp>(def)) {
      v = cast.getSource();
      continue;
    }
    if (auto view = dyn_cast<ViewLikeOpInterface>(def)) {
      v = view.getViewSource();
      continue;
    }
    break;
  }
  return v;
}

/// `v` through collapse/expand_shape ops only, back to an identity-layout
/// static allocation (so every shape on the way reads the allocation in
/// its row-major order); null otherwise.
memref::AllocOp reshapedAlloc(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (auto collapse = dyn_cast<memref::CollapseShapeOp>(def))
      v = collapse.getSrc();
    else if (auto expand = dyn_cast<memref::ExpandShapeOp>(def))
      v = expand.getSrc();
    else
      break;
  }
  auto alloc = v.getDefiningOp<memref::AllocOp>();
  if (!alloc || !alloc.getType().getLayout().isIdentity() ||
      !alloc.getType().hasStaticShape())
    return nullptr;
  return alloc;
}

bool isView(Operation *op) {
  return isa<memref::CastOp, ViewLikeOpInterface>(op);
}

/// Whether `op` (or an op nested in it) has an operand viewing `root`.
bool touches(Operation *op, Value root) {
  bool found = false;
  op->walk([&](Operation *nested) {
    for (Value operand : nested->getOperands())
      if (isa<BaseMemRefType>(operand.getType()) && rootOf(operand) == root)
        found = true;
  });
  return found;
}

/// The strides under which the row-major element order of a view of shape
/// `shape` with `strides` reads as shape `to`; failure when some dimension
/// of `to` would straddle two dimensions that are not contiguous.
FailureOr<SmallVector<int64_t>> reshapeStrides(ArrayRef<int64_t> shape,
                                               ArrayRef<int64_t> strides,
                                               ArrayRef<int64_t> to) {
  SmallVector<int64_t> fromSizes, fromStrides;
  for (auto [size, stride] : llvm::zip(shape, strides))
    if (size != 1) {
      fromSizes.push_back(size);
      fromStrides.push_back(stride);
    }
  SmallVector<int64_t> result(to.size(), 1);
  int64_t j = static_cast<int64_t>(fromSizes.size()) - 1;
  int64_t rem = j >= 0 ? fromSizes[j] : 1;
  int64_t cur = j >= 0 ? fromStrides[j] : 1;
  for (int64_t i = static_cast<int64_t>(to.size()) - 1; i >= 0; --i) {
    int64_t need = to[i];
    if (need == 1) {
      result[i] = cur;
      continue;
    }
    if (rem == 1) {
      if (--j < 0)
        return failure();
      rem = fromSizes[j];
      cur = fromStrides[j];
    }
    result[i] = cur;
    while (need > 1) {
      if (rem % need == 0) {
        cur *= need;
        rem /= need;
        need = 1;
        break;
      }
      if (need % rem != 0)
        return failure();
      need /= rem;
      cur *= rem;
      // The rest of this dimension continues in the next outer one only if
      // that one starts where this one ends.
      if (--j < 0 || fromStrides[j] != cur)
        return failure();
      rem = fromSizes[j];
    }
  }
  return result;
}

/// `buffer` (static strides and offset) read as `shape` with `strides`:
/// the unranked descriptor a runtime call takes.
FailureOr<Value> stridedOperand(RewriterBase &rewriter, Location loc,
                                Value buffer, ArrayRef<int64_t> viewShape,
                                ArrayRef<int64_t> viewStrides,
                                MemRefType callShape, Type unranked) {
  auto type = cast<MemRefType>(buffer.getType());
  FailureOr<SmallVector<int64_t>> strides =
      reshapeStrides(viewShape, viewStrides, callShape.getShape());
  if (failed(strides))
    return failure();
  SmallVector<int64_t> bufferStrides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(bufferStrides, offset)) ||
      ShapedType::isDynamic(offset))
    return failure();
  auto viewType = MemRefType::get(
      callShape.getShape(), type.getElementType(),
      StridedLayoutAttr::get(rewriter.getContext(), offset, *strides));
  Value view = memref::ReinterpretCastOp::create(
      rewriter, loc, viewType, buffer, offset, callShape.getShape(), *strides);
  return memref::CastOp::create(rewriter, loc, unranked, view).getResult();
}

/// Static strides of `type`, or failure.
FailureOr<SmallVector<int64_t>> staticStrides(MemRefType type) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (!type.hasStaticShape() ||
      failed(type.getStridesAndOffset(strides, offset)) ||
      ShapedType::isDynamic(offset) ||
      llvm::any_of(strides, ShapedType::isDynamic))
    return failure();
  return strides;
}

/// Erases `alloc` when nothing but views of it and deallocations are left.
void eraseIfDead(RewriterBase &rewriter, memref::AllocOp alloc) {
  SmallVector<Operation *> dead;
  SmallVector<Value> worklist = {alloc.getResult()};
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    for (Operation *user : v.getUsers()) {
      if (isa<memref::DeallocOp>(user)) {
        dead.push_back(user);
      } else if (isView(user) && user->getNumResults() == 1) {
        dead.push_back(user);
        worklist.push_back(user->getResult(0));
      } else {
        return;
      }
    }
  }
  // Users before their operands: reverse order of discovery is not
  // enough when views branch, so drop uses first.
  for (Operation *op : dead)
    op->dropAllUses();
  for (Operation *op : llvm::reverse(dead))
    rewriter.eraseOp(op);
  rewriter.eraseOp(alloc);
}

bool isAllToAllCall(func::CallOp call) {
  return call.getCallee().starts_with("lathe_rt_comm_all_to_all_") &&
         call.getNumOperands() == 4;
}

/// Send side: `linalg.transpose ins(%x) outs(%send)` followed by the
/// all-to-all reading %send (through reshapes) becomes the all-to-all
/// reading the permuted view of %x.
bool foldSendTranspose(RewriterBase &rewriter, func::CallOp call) {
  auto callCast = call.getOperand(2).getDefiningOp<memref::CastOp>();
  if (!callCast)
    return false;
  auto callShape = dyn_cast<MemRefType>(callCast.getSource().getType());
  memref::AllocOp send = reshapedAlloc(callCast.getSource());
  if (!callShape || !send)
    return false;
  linalg::TransposeOp transpose;
  SmallVector<Operation *> between;
  for (Operation *op = call->getPrevNode(); op; op = op->getPrevNode()) {
    auto t = dyn_cast<linalg::TransposeOp>(op);
    if (t && t.hasPureBufferSemantics() && t.getInit() == send.getResult()) {
      transpose = t;
      break;
    }
    if (isView(op))
      continue;
    if (touches(op, send.getResult()))
      return false;
    between.push_back(op);
  }
  if (!transpose)
    return false;
  Value x = transpose.getInput();
  Value xRoot = rootOf(x);
  // Distinct allocations do not alias; arguments may alias each other, so
  // with %x in an argument nothing in between may use any argument.
  auto mayAliasX = [&](Operation *op) {
    if (touches(op, xRoot))
      return true;
    if (xRoot.getDefiningOp<memref::AllocOp>())
      return false;
    bool argument = false;
    op->walk([&](Operation *nested) {
      for (Value operand : nested->getOperands())
        if (isa<BaseMemRefType>(operand.getType()) &&
            isa<BlockArgument>(rootOf(operand)))
          argument = true;
    });
    return argument;
  };
  if (xRoot == send.getResult() || llvm::any_of(between, mayAliasX))
    return false;
  auto xType = cast<MemRefType>(x.getType());
  FailureOr<SmallVector<int64_t>> xStrides = staticStrides(xType);
  if (failed(xStrides))
    return false;
  // Dimension i of the transpose's result is dimension perm[i] of %x.
  SmallVector<int64_t> viewStrides;
  for (int64_t p : transpose.getPermutation())
    viewStrides.push_back((*xStrides)[p]);
  rewriter.setInsertionPoint(call);
  FailureOr<Value> operand =
      stridedOperand(rewriter, call.getLoc(), x, send.getType().getShape(),
                     viewStrides, callShape, callCast.getType());
  if (failed(operand))
    return false;
  rewriter.modifyOpInPlace(call, [&] { call->setOperand(2, *operand); });
  rewriter.eraseOp(transpose);
  eraseIfDead(rewriter, send);
  return true;
}

/// Receive side: the all-to-all writing %recv, then
/// `linalg.transpose ins(%recv reshaped) outs(%y)` as %recv's only reader,
/// becomes the all-to-all writing the inversely permuted view of %y.
bool foldReceiveTranspose(RewriterBase &rewriter, func::CallOp call) {
  auto callCast = call.getOperand(3).getDefiningOp<memref::CastOp>();
  if (!callCast)
    return false;
  auto callShape = dyn_cast<MemRefType>(callCast.getSource().getType());
  memref::AllocOp recv = reshapedAlloc(callCast.getSource());
  if (!callShape || !recv)
    return false;
  linalg::TransposeOp transpose;
  SmallVector<Operation *> between;
  for (Operation *op = call->getNextNode(); op; op = op->getNextNode()) {
    if (isView(op))
      continue;
    if (!touches(op, recv.getResult())) {
      between.push_back(op);
      continue;
    }
    auto t = dyn_cast<linalg::TransposeOp>(op);
    if (!t || !t.hasPureBufferSemantics() ||
        reshapedAlloc(t.getInput()) != recv ||
        rootOf(t.getInit()) == recv.getResult())
      return false;
    transpose = t;
    break;
  }
  if (!transpose)
    return false;
  // Nothing else may read %recv: every user is a view, a deallocation, this
  // call or the transpose.
  SmallVector<Value> worklist = {recv.getResult()};
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    for (Operation *user : v.getUsers()) {
      if (isView(user) && user->getNumResults() == 1)
        worklist.push_back(user->getResult(0));
      else if (!isa<memref::DeallocOp>(user) && user != call &&
               user != transpose.getOperation())
        return false;
    }
  }
  // %y is written at the call now, earlier than before: nothing in between
  // (nor the call's send buffer) may use it.
  Value y = transpose.getInit();
  Value yRoot = rootOf(y);
  // Only a fresh allocation: an argument could alias what is in between.
  if (!yRoot.getDefiningOp<memref::AllocOp>() ||
      rootOf(call.getOperand(2)) == yRoot ||
      llvm::any_of(between, [&](Operation *op) { return touches(op, yRoot); }))
    return false;
  FailureOr<SmallVector<int64_t>> yStrides =
      staticStrides(cast<MemRefType>(y.getType()));
  if (failed(yStrides))
    return false;
  // %y (and the views it is made of) may be defined after the call: those
  // ops move before it when their own operands allow.
  SmallVector<Operation *> toMove;
  for (Value v = y; Operation *def = v.getDefiningOp();) {
    if (def->getBlock() != call->getBlock() || def->isBeforeInBlock(call))
      break;
    if (def->getNumRegions() ||
        (!isMemoryEffectFree(def) && !isa<memref::AllocOp>(def)))
      return false;
    toMove.push_back(def);
    if (isa<memref::AllocOp>(def))
      break;
    if (!isView(def))
      return false;
    v = def->getOperand(0);
  }
  for (Operation *def : toMove)
    for (Value operand : def->getOperands())
      if (Operation *od = operand.getDefiningOp();
          od && od->getBlock() == call->getBlock() &&
          !od->isBeforeInBlock(call) && !llvm::is_contained(toMove, od))
        return false;
  for (Operation *def : llvm::reverse(toMove))
    def->moveBefore(call);
  // Dimension perm[i] of the transpose's input is dimension i of %y.
  ArrayRef<int64_t> perm = transpose.getPermutation();
  auto inType = cast<MemRefType>(transpose.getInput().getType());
  SmallVector<int64_t> viewStrides(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    viewStrides[p] = (*yStrides)[i];
  rewriter.setInsertionPoint(call);
  FailureOr<Value> operand =
      stridedOperand(rewriter, call.getLoc(), y, inType.getShape(), viewStrides,
                     callShape, callCast.getType());
  if (failed(operand))
    return false;
  rewriter.modifyOpInPlace(call, [&] { call->setOperand(3, *operand); });
  rewriter.eraseOp(transpose);
  eraseIfDead(rewriter, recv);
  return true;
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
    SmallVector<func::CallOp> allToAlls;
    module.walk([&](func::CallOp call) {
      if (isAllToAllCall(call))
        allToAlls.push_back(call);
    });
    for (func::CallOp call : allToAlls) {
      foldSendTranspose(rewriter, call);
      foldReceiveTranspose(rewriter, call);
    }
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
