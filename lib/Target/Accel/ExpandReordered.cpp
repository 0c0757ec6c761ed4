//===- ExpandReordered.cpp - Reordered aggregations for the accelerator ---===//
//
// accel-expand-reordered-aggregates (include/lathe/Target/Accel/Passes.td): a
// sparse aggregation over a reordered adjacency (a tiled_aggregate with a
// permutation) as a row gather of the features into the stored order, the
// aggregation of the stored matrix, and a row scatter of the result back to
// node order (a gather by the inverse permutation). The gathers have the
// form the accelerator already places, tiles, times and executes (ONNX
// Gather's), so the permutation's data movement is vector-core work in the
// simulated timeline.
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/SparseGCN/SparseGCNOps.h"
#include "lathe/Target/Accel/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_ACCELEXPANDREORDEREDAGGREGATES
#include "lathe/Target/Accel/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

/// result[i, j] = table[ids[i], j]: the generic lathe-import-onnx writes for
/// ONNX Gather of rows (no bounds check: the ids are a checked permutation).
Value gatherRows(OpBuilder &b, Location loc, Value table, Value ids) {
  auto tableType = cast<RankedTensorType>(table.getType());
  auto idsType = cast<RankedTensorType>(ids.getType());
  SmallVector<int64_t, 2> shape{idsType.getDimSize(0), tableType.getDimSize(1)};
  auto outType = RankedTensorType::get(shape, tableType.getElementType());
  Value empty =
      tensor::EmptyOp::create(b, loc, shape, tableType.getElementType());
  MLIRContext *ctx = b.getContext();
  AffineMap idsMap = AffineMap::get(2, 0, {getAffineDimExpr(0, ctx)}, ctx);
  AffineMap outMap = AffineMap::getMultiDimIdentityMap(2, ctx);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{outType}, ValueRange{ids}, ValueRange{empty},
      ArrayRef<AffineMap>{idsMap, outMap},
      ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                    utils::IteratorType::parallel},
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value row =
            arith::IndexCastOp::create(nb, l, nb.getIndexType(), args[0]);
        Value col = linalg::IndexOp::create(nb, l, 1);
        Value v = tensor::ExtractOp::create(nb, l, table, ValueRange{row, col});
        linalg::YieldOp::create(nb, l, v);
      });
  return generic.getResult(0);
}

struct ExpandReordered
    : public mlir::lathe::impl::AccelExpandReorderedAggregatesBase<
          ExpandReordered> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<sparsegcn::TiledAggregateOp> ops;
    getOperation().walk([&](sparsegcn::TiledAggregateOp op) {
      if (op.getPermutation())
        ops.push_back(op);
    });
    for (sparsegcn::TiledAggregateOp op : ops)
      if (failed(expand(op)))
        return signalPassFailure();
  }

  LogicalResult expand(sparsegcn::TiledAggregateOp op) {
    Value perm = op.getPermutation();
    auto permType = dyn_cast<RankedTensorType>(perm.getType());
    auto xType = dyn_cast<RankedTensorType>(op.getFeatures().getType());
    if (op->getNumResults() != 1 || !permType || !xType ||
        !permType.hasStaticShape() || !xType.hasStaticShape() ||
        xType.getRank() != 2 || permType.getRank() != 1 ||
        !isa<RankedTensorType>(op->getResult(0).getType()))
      return op.emitOpError()
             << "has a permutation over features or a result that are not "
                "static tensors (the accelerator gathers the reordered rows "
                "of a static [nodes, features] tensor)";
    DenseIntElementsAttr values;
    if (auto cst = perm.getDefiningOp<arith::ConstantOp>())
      values = dyn_cast<DenseIntElementsAttr>(cst.getValue());
    if (!values)
      return op.emitOpError()
             << "has a permutation that is not a constant (the accelerator "
                "gathers and scatters rows by a permutation known when it "
                "compiles)";
    int64_t n = permType.getDimSize(0);
    if (n != xType.getDimSize(0))
      return op.emitOpError()
             << "has a permutation of " << n << " rows for features of "
             << xType.getDimSize(0) << " rows";
    // The inverse: node r is row inverse[r] of the stored matrix.
    SmallVector<APInt> inverse(n);
    SmallVector<bool> seen(n, false);
    unsigned width = permType.getElementType().getIntOrFloatBitWidth();
    int64_t i = 0;
    for (const APInt &p : values.getValues<APInt>()) {
      int64_t node = p.getSExtValue();
      if (node < 0 || node >= n || seen[node])
        return op.emitOpError()
               << "has a permutation that is not one of its " << n
               << " rows (entry " << i << " is " << node << ")";
      seen[node] = true;
      inverse[node] = APInt(width, i, /*isSigned=*/true);
      ++i;
    }
    OpBuilder b(op);
    Location loc = op.getLoc();
    Value xp = gatherRows(b, loc, op.getFeatures(), perm);
    op.getFeaturesMutable().assign(xp);
    op.getPermutationMutable().clear();
    b.setInsertionPointAfter(op);
    Value inv = arith::ConstantOp::create(
        b, loc, DenseIntElementsAttr::get(permType, inverse));
    Value y = gatherRows(b, loc, op->getResult(0), inv);
    // Every use but the scatter's own read (inside its body).
    Operation *scatter = y.getDefiningOp();
    op->getResult(0).replaceUsesWithIf(y, [&](OpOperand &use) {
      return !scatter->isAncestor(use.getOwner());
    });
    return success();
  }
};

} // namespace
