//===- LowerSparseGCN.cpp - sparsegcn ops on memrefs to CPU runtime calls -===//
//
// The CPU target's lowering of the sparsegcn dialect (the dialect itself
// knows nothing of the runtime).
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/SparseGCN/SparseGCNOps.h"
#include "lathe/Target/CPU/Passes.h"
#include "lathe/Target/CPU/RuntimeCalls.h"
#include "lathe/runtime/RowGroups.h"
#include "lathe/runtime/Sparse.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECPULOWERSPARSEGCN
#include "lathe/Target/CPU/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe::sparsegcn;

static_assert(mlir::lathe::sparsegcn::kMicroTile == LATHE_SPMM_MICRO_TILE,
              "the dialect's micro tile must be the runtime's");
static_assert(mlir::lathe::sparsegcn::kMaxGroupRows == LATHE_SPMM_ROW_GROUP_MAX,
              "the dialect's largest row group must be the runtime's");

namespace {

/// The runtime's ordering constant for a run-time `reorder`, none for
/// `none`.
std::optional<int> runtimeOrder(NodeReorder reorder) {
  switch (reorder) {
  case NodeReorder::None:
    return std::nullopt;
  case NodeReorder::Degree:
    return LATHE_ORDER_DEGREE;
  case NodeReorder::RCM:
    return LATHE_ORDER_RCM;
  case NodeReorder::Cluster:
    return LATHE_ORDER_CLUSTER;
  case NodeReorder::Auto:
    return LATHE_ORDER_AUTO;
  }
  llvm_unreachable("unknown reorder");
}

/// "_i32" for 32-bit indices; the runtime exports both spellings.
std::string indexSuffix(Value rowPtr) {
  return cast<MemRefType>(rowPtr.getType()).getElementType().isInteger(32)
             ? "_i32"
             : "";
}

/// A private constant memref.global holding the tile classes.
Value classesGlobal(ModuleOp module, SymbolTable &symbols,
                    RewriterBase &rewriter, Location loc,
                    ArrayRef<int8_t> classes) {
  auto type = MemRefType::get({static_cast<int64_t>(classes.size())},
                              rewriter.getI8Type());
  auto tensorType =
      RankedTensorType::get(type.getShape(), type.getElementType());
  auto init = DenseElementsAttr::get(tensorType, classes);
  memref::GlobalOp global;
  {
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(module.getBody());
    global = memref::GlobalOp::create(rewriter, loc, "__sparsegcn_tile_classes",
                                      rewriter.getStringAttr("private"), type,
                                      init, /*constant=*/true, IntegerAttr());
    symbols.insert(global); // Renames on collision.
  }
  return memref::GetGlobalOp::create(rewriter, loc, type, global.getSymName());
}

void lowerAggregate(ModuleOp module, AggregateOp op, IRRewriter &rewriter) {
  rewriter.setInsertionPoint(op);
  int64_t flags = 0;
  if (mlir::lathe::isConstantBuffer(op.getRowPtr()) &&
      mlir::lathe::isConstantBuffer(op.getColIdx()) &&
      mlir::lathe::isConstantBuffer(op.getValues()))
    flags |= LATHE_SPMM_CONST_A;
  mlir::lathe::emitRuntimeCall(module, rewriter, op.getLoc(),
                               "lathe_rt_spmm_csr_f32" +
                                   indexSuffix(op.getRowPtr()),
                               {op.getRowPtr(), op.getColIdx(), op.getValues(),
                                op.getFeatures(), op.getInit()},
                               {op.getRows(), op.getCols(), flags});
  rewriter.eraseOp(op);
}

void lowerTiled(ModuleOp module, SymbolTable &symbols, TiledAggregateOp op,
                IRRewriter &rewriter) {
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  int64_t flags = 0;
  Value perm = op.getPermutation();
  if (mlir::lathe::isConstantBuffer(op.getRowPtr()) &&
      mlir::lathe::isConstantBuffer(op.getColIdx()) &&
      mlir::lathe::isConstantBuffer(op.getValues()) &&
      (!perm || mlir::lathe::isConstantBuffer(perm)))
    flags |= LATHE_SPMM_CONST_A;
  Value classes;
  if (std::optional<ArrayRef<int8_t>> tileClasses = op.getTileClasses()) {
    classes = classesGlobal(module, symbols, rewriter, loc, *tileClasses);
  } else {
    flags |= LATHE_SPMM_CLASSIFY;
    // Ignored by the runtime; keeps the callee's signature uniform.
    classes = memref::AllocaOp::create(
        rewriter, loc, MemRefType::get({1}, rewriter.getI8Type()));
  }
  if (std::optional<int> order = runtimeOrder(op.getReorder()))
    flags |= int64_t(*order) << LATHE_SPMM_REORDER_SHIFT;
  if (op.getDenseEngine() == mlir::lathe::sparsegcn::DenseEngine::MicroBsr)
    flags |= LATHE_SPMM_MICRO;
  if (op.getDenseEngine() == mlir::lathe::sparsegcn::DenseEngine::RowGroups)
    flags |= LATHE_SPMM_ROW_GROUPS;
  if (perm)
    flags |= LATHE_SPMM_PERMUTED;
  else
    perm = op.getRowPtr(); // Ignored without LATHE_SPMM_PERMUTED.
  int64_t thresholdPpm =
      ::lathe::row_groups::toPpm(op.getDenseThreshold().convertToDouble());
  mlir::lathe::emitRuntimeCall(
      module, rewriter, loc,
      "lathe_rt_spmm_tiled_f32" + indexSuffix(op.getRowPtr()),
      {op.getRowPtr(), op.getColIdx(), op.getValues(), classes, perm,
       op.getFeatures(), op.getInit()},
      {op.getRows(), op.getCols(), op.getTile(), thresholdPpm, flags});
  rewriter.eraseOp(op);
}

void lowerTranspose(ModuleOp module, TransposeOp op, IRRewriter &rewriter) {
  rewriter.setInsertionPoint(op);
  mlir::lathe::emitRuntimeCall(
      module, rewriter, op.getLoc(),
      "lathe_rt_csr_transpose" + indexSuffix(op.getRowPtr()),
      {op.getRowPtr(), op.getColIdx(), op.getValues(), op.getTRowPtr(),
       op.getTColIdx(), op.getTValues()},
      {op.getRows(), op.getCols()});
  rewriter.eraseOp(op);
}

struct LatheCPULowerSparseGCN
    : public mlir::lathe::impl::LatheCPULowerSparseGCNBase<
          LatheCPULowerSparseGCN> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      if (auto agg = dyn_cast<AggregateOp>(op);
          agg && agg.hasPureBufferSemantics())
        ops.push_back(op);
      if (auto tiled = dyn_cast<TiledAggregateOp>(op);
          tiled && tiled.hasPureBufferSemantics())
        ops.push_back(op);
      if (auto tr = dyn_cast<TransposeOp>(op);
          tr && tr.hasPureBufferSemantics())
        ops.push_back(op);
    });
    if (ops.empty())
      return;
    SymbolTable symbols(module);
    IRRewriter rewriter(&getContext());
    for (Operation *op : ops) {
      if (auto agg = dyn_cast<AggregateOp>(op))
        lowerAggregate(module, agg, rewriter);
      else if (auto tr = dyn_cast<TransposeOp>(op))
        lowerTranspose(module, tr, rewriter);
      else
        lowerTiled(module, symbols, cast<TiledAggregateOp>(op), rewriter);
    }
  }
};

} // namespace
