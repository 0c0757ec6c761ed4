//===- Tile.cpp - sparsegcn-tile: density-classified tiling ---------------===//

#include "lathe/Dialect/SparseGCN/CostModel.h"
#include "lathe/Dialect/SparseGCN/Passes.h"
#include "lathe/Dialect/SparseGCN/SparseGCNOps.h"
#include "lathe/Interfaces/Target.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "llvm/Support/FormatVariadic.h"

#include "lathe/runtime/GraphOrder.h"
#include "lathe/runtime/RowGroups.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace mlir::lathe::sparsegcn {
#define GEN_PASS_DEF_SPARSEGCNTILE
#include "lathe/Dialect/SparseGCN/Passes.h.inc"
} // namespace mlir::lathe::sparsegcn

using namespace mlir;
using namespace mlir::lathe::sparsegcn;

namespace {

/// Feature width the predicted times assume when the op's is dynamic (the
/// threshold then holds at every calibrated width, see thresholdFor).
constexpr int64_t kDefaultWidth = 64;
constexpr llvm::StringLiteral kDecisionAttr = mlir::lathe::kDecisionAttrName;
/// Smallest predicted gain (a fraction of the best tiling's time) for which
/// the micro-tile engine replaces it: its plan is a second copy of the
/// adjacency, built on the first call. Without it a planted-community graph
/// at F = 64 switched for 8 chance-dense micro tiles and a predicted 0.05 %.
constexpr double kMinMicroGain = 0.02;
/// What a call of the tiled kernel costs beyond the plain CSR kernel's (its
/// plan lookup): 1.74 against 1.27 us a call on a 4-node graph (ctypes, one
/// thread, load average 8.5). Added to the row-group engine's prediction
/// when the alternative is the plain op, so that a tiny graph's one group
/// does not switch it.
constexpr double kTiledCallSeconds = 0.5e-6;
/// Tile size used when the adjacency is not visible at compile time.
constexpr int64_t kDeferredTileSize = 64;

/// The fields of a #sparsegcn.decision, filled in as the pass decides (unset
/// optional and empty string fields are left out of the attribute).
struct DecisionFields {
  std::string target;
  std::optional<int64_t> featureWidth;
  std::string classification, reason;
  int64_t tileSize = 0;
  std::string tileSizeSource, denseEngine;
  double denseThreshold = 0;
  std::string thresholdSource;
  std::optional<double> safetyMargin, breakEvenDensity;
  std::string thresholdRule;
  std::optional<int64_t> tilesEmpty, tilesSparse, tilesDense, nnz, nnzSparse;
  std::optional<double> predictedUsHybrid, predictedUsBestTiling,
      predictedUsAllSparse, predictedUsAllDense;
  std::string reorder, reorderPredicted;
  std::optional<int64_t> microTile;
  std::optional<double> microBreakEvenDensity, microThreshold;
  std::optional<int64_t> microTilesDense, microNnzDense;
  std::optional<double> predictedUsMicroHybrid;
  std::optional<int64_t> rowGroupMax;
  std::optional<double> rowGroupThreshold;
  std::optional<int64_t> rowGroups, rowGroupRows, rowGroupNnz;
  std::optional<double> predictedUsRowGroupHybrid;
  std::string result;

  DecisionAttr get(MLIRContext *ctx) const {
    auto f = [](std::optional<double> v) -> std::optional<APFloat> {
      if (!v)
        return std::nullopt;
      return APFloat(*v);
    };
    return DecisionAttr::get(
        ctx, f(breakEvenDensity), classification, denseEngine,
        APFloat(denseThreshold), featureWidth, f(microBreakEvenDensity),
        microNnzDense, f(microThreshold), microTile, microTilesDense, nnz,
        nnzSparse, f(predictedUsAllDense), f(predictedUsAllSparse),
        f(predictedUsBestTiling), f(predictedUsHybrid),
        f(predictedUsMicroHybrid), f(predictedUsRowGroupHybrid), reason,
        reorder, reorderPredicted, result, rowGroupMax, rowGroupNnz,
        rowGroupRows, f(rowGroupThreshold), rowGroups, f(safetyMargin), target,
        thresholdRule, thresholdSource, tileSize, tileSizeSource, tilesDense,
        tilesEmpty, tilesSparse);
  }
};

/// A CSR adjacency read from constants (64-bit indices whatever the IR's).
struct Csr {
  int64_t n = 0;
  std::vector<int64_t> rowPtr, colIdx;
  std::vector<float> values;
  int64_t nnz() const { return rowPtr.empty() ? 0 : rowPtr.back(); }
};

/// Reads the CSR operands when all three are constants; std::nullopt when
/// any is not visible (lathe.weight, function arguments, resources).
std::optional<Csr> readConstantCsr(AggregateOp op) {
  DenseIntElementsAttr rowPtr, colIdx;
  DenseFPElementsAttr values;
  if (!matchPattern(op.getRowPtr(), m_Constant(&rowPtr)) ||
      !matchPattern(op.getColIdx(), m_Constant(&colIdx)) ||
      !matchPattern(op.getValues(), m_Constant(&values)))
    return std::nullopt;
  Csr csr;
  csr.n = op.getRows();
  for (const APInt &v : rowPtr.getValues<APInt>())
    csr.rowPtr.push_back(v.getSExtValue());
  for (const APInt &v : colIdx.getValues<APInt>())
    csr.colIdx.push_back(v.getSExtValue());
  for (const APFloat &v : values.getValues<APFloat>())
    csr.values.push_back(v.convertToFloat());
  return csr;
}

/// Checks what the verifier cannot (it never reads values).
LogicalResult validateCsr(AggregateOp op, const Csr &csr) {
  int64_t n = csr.n;
  if (csr.rowPtr.front() != 0)
    return op.emitOpError("has row_ptr[0] = ")
           << csr.rowPtr.front() << "; CSR row pointers must start at 0";
  for (int64_t i = 0; i < n; ++i)
    if (csr.rowPtr[i + 1] < csr.rowPtr[i])
      return op.emitOpError("has a decreasing row_ptr: row_ptr[")
             << i << "] = " << csr.rowPtr[i] << " > row_ptr[" << i + 1
             << "] = " << csr.rowPtr[i + 1];
  if (csr.nnz() > static_cast<int64_t>(csr.colIdx.size()))
    return op.emitOpError("has row_ptr[num_rows] = ")
           << csr.nnz() << " beyond the " << csr.colIdx.size()
           << " column indices";
  for (int64_t k = 0; k < csr.nnz(); ++k)
    if (csr.colIdx[k] < 0 || csr.colIdx[k] >= n)
      return op.emitOpError("has column index ")
             << csr.colIdx[k] << " at position " << k << ", out of range [0, "
             << n << ")";
  return success();
}

/// The classification of one tiling and its predicted cost.
struct Tiling {
  int64_t tileSize = 0;
  double threshold = 0;
  std::vector<int8_t> classes;
  int64_t histogram[3] = {0, 0, 0};
  int64_t sparseNnz = 0, denseElements = 0, nonEmptyElements = 0;
  double hybridSeconds = 0, allSparseSeconds = 0, allDenseSeconds = 0;
};

Tiling classify(const Csr &csr, int64_t t, double threshold,
                const TileCostModel &model, int64_t width) {
  Tiling tiling;
  tiling.tileSize = t;
  tiling.threshold = threshold;
  int64_t n = csr.n, tiles = (n + t - 1) / t;
  std::vector<int64_t> counts(static_cast<size_t>(tiles * tiles), 0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = csr.rowPtr[i]; k < csr.rowPtr[i + 1]; ++k)
      ++counts[(i / t) * tiles + csr.colIdx[k] / t];
  tiling.classes.resize(counts.size());
  for (int64_t tr = 0; tr < tiles; ++tr) {
    for (int64_t tc = 0; tc < tiles; ++tc) {
      int64_t idx = tr * tiles + tc;
      int64_t area = (std::min(n, (tr + 1) * t) - tr * t) *
                     (std::min(n, (tc + 1) * t) - tc * t);
      TileClass c = TileClass::Empty;
      if (counts[idx] > 0) {
        tiling.nonEmptyElements += area;
        c = double(counts[idx]) / double(area) >= threshold ? TileClass::Dense
                                                            : TileClass::Sparse;
      }
      if (c == TileClass::Dense)
        tiling.denseElements += area;
      if (c == TileClass::Sparse)
        tiling.sparseNnz += counts[idx];
      tiling.classes[idx] = static_cast<int8_t>(c);
      ++tiling.histogram[static_cast<int>(c)];
    }
  }
  // Every non-empty tile pays the target's per-tile overhead (if any),
  // whichever engine runs it.
  double overhead =
      double(tiling.histogram[static_cast<int>(TileClass::Sparse)] +
             tiling.histogram[static_cast<int>(TileClass::Dense)]) *
      model.tileOverheadSeconds(t, width);
  tiling.hybridSeconds = model.sparseSeconds(tiling.sparseNnz, width, n) +
                         model.denseSeconds(tiling.denseElements, t, width) +
                         overhead;
  tiling.allSparseSeconds = model.sparseSeconds(csr.nnz(), width, n) + overhead;
  tiling.allDenseSeconds =
      model.denseSeconds(tiling.nonEmptyElements, t, width) + overhead;
  return tiling;
}

/// The classification of an adjacency into micro tiles (the micro-tile
/// engine): counted one tile row at a time, as the (n/b)² tile grid of a
/// large graph does not fit in memory.
struct MicroTiling {
  int64_t tile = 0;
  double threshold = 0;
  int64_t tilesNonEmpty = 0, tilesDense = 0, denseNnz = 0;
  double hybridSeconds = 0;
};

MicroTiling classifyMicro(const Csr &csr, const TileCostModel &model,
                          double threshold, int64_t width) {
  MicroTiling micro;
  const int64_t b = model.getMicroTile(), n = csr.n;
  micro.tile = b;
  micro.threshold = threshold;
  std::vector<int64_t> counts(static_cast<size_t>((n + b - 1) / b), 0);
  std::vector<int64_t> touched;
  for (int64_t r0 = 0; r0 < n; r0 += b) {
    int64_t r1 = std::min(n, r0 + b);
    for (int64_t k = csr.rowPtr[r0]; k < csr.rowPtr[r1]; ++k)
      if (counts[csr.colIdx[k] / b]++ == 0)
        touched.push_back(csr.colIdx[k] / b);
    for (int64_t tc : touched) {
      ++micro.tilesNonEmpty;
      // Only whole tiles are blocks (the runtime runs border tiles sparse).
      bool whole = r1 - r0 == b && (tc + 1) * b <= n;
      if (whole && double(counts[tc]) >= threshold * double(b * b)) {
        ++micro.tilesDense;
        micro.denseNnz += counts[tc];
      }
      counts[tc] = 0;
    }
    touched.clear();
  }
  micro.hybridSeconds =
      model.sparseSeconds(csr.nnz() - micro.denseNnz, width, n) +
      model.microSeconds(micro.tilesDense * b * b, width, n);
  return micro;
}

/// The adjacency's row groups for the row-group engine (the runtime's rule,
/// lathe/runtime/RowGroups.h) and the predicted time of that hybrid.
struct GroupTiling {
  int64_t maxRows = 0;
  double threshold = 0;
  int64_t groups = 0, groupedRows = 0, groupedNnz = 0, elements = 0;
  double hybridSeconds = 0;
};

GroupTiling classifyGroups(const Csr &csr, const TileCostModel &model,
                           double threshold, int64_t width) {
  GroupTiling tiling;
  tiling.maxRows = std::min(model.getGroupMax(), kMaxGroupRows);
  tiling.threshold = threshold;
  const int64_t n = csr.n;
  double groupSeconds = 0;
  for (const ::lathe::row_groups::Group &g :
       ::lathe::row_groups::compute(n, n, csr.rowPtr.data(), csr.colIdx.data(),
                                    tiling.maxRows, threshold)) {
    ++tiling.groups;
    tiling.groupedRows += g.rows;
    tiling.groupedNnz += csr.rowPtr[g.row0 + g.rows] - csr.rowPtr[g.row0];
    tiling.elements += g.rows * g.columns;
    groupSeconds += model.groupSeconds(g.rows, g.rows * g.columns, width, n);
  }
  tiling.hybridSeconds =
      model.sparseSeconds(csr.nnz() - tiling.groupedNnz, width, n) +
      groupSeconds;
  return tiling;
}

//===----------------------------------------------------------------------===//
// Reordering
//===----------------------------------------------------------------------===//

namespace go = ::lathe::graph_order;

/// The orderings `reorder` asks to try (auto: all of them).
SmallVector<go::Order> reorderCandidates(NodeReorder reorder) {
  switch (reorder) {
  case NodeReorder::None:
    return {};
  case NodeReorder::Degree:
    return {go::Order::Degree};
  case NodeReorder::RCM:
    return {go::Order::RCM};
  case NodeReorder::Cluster:
    return {go::Order::Cluster};
  case NodeReorder::Auto:
    return {go::Order::Degree, go::Order::RCM, go::Order::Cluster};
  }
  llvm_unreachable("unknown sparsegcn-tile reorder");
}

/// B = P A Pᵀ: row i of B is node perm[i], column j is node perm[j].
Csr permute(const Csr &a, ArrayRef<int64_t> perm) {
  Csr b;
  b.n = a.n;
  go::permute(a.n, a.rowPtr.data(), a.colIdx.data(), a.values.data(),
              std::vector<int64_t>(perm.begin(), perm.end()), b.rowPtr,
              b.colIdx, b.values);
  return b;
}

Value indexConstant(OpBuilder &b, Location loc, Type elementType,
                    ArrayRef<int64_t> data) {
  auto type =
      RankedTensorType::get({static_cast<int64_t>(data.size())}, elementType);
  DenseElementsAttr attr;
  if (elementType.isInteger(32)) {
    SmallVector<int32_t> narrow(data.begin(), data.end());
    attr = DenseElementsAttr::get(type, ArrayRef<int32_t>(narrow));
  } else {
    attr = DenseElementsAttr::get(type, data);
  }
  return arith::ConstantOp::create(b, loc, type, attr);
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct SparseGCNTile
    : public mlir::lathe::sparsegcn::impl::SparseGCNTileBase<SparseGCNTile> {
  using Base::Base;

  void runOnOperation() override {
    if (tileSize == 0 || tileSize < -1) {
      getOperation().emitError("sparsegcn-tile: tile-size must be positive "
                               "(or -1 to let the cost model choose), got ")
          << static_cast<int64_t>(tileSize);
      return signalPassFailure();
    }
    if (denseThreshold > 1.0) {
      getOperation().emitError("sparsegcn-tile: dense-threshold is a density "
                               "in [0, 1] (or < 0 for the cost model), got ")
          << static_cast<double>(denseThreshold);
      return signalPassFailure();
    }
    SmallVector<AggregateOp> ops;
    // An aggregate that already carries a decision was kept untiled by an
    // earlier run (lathe-opt --sparsegcn-tile, then the CPU pipeline's own).
    getOperation().walk([&](AggregateOp op) {
      if (!op.hasPureBufferSemantics() && !op->hasAttr(kDecisionAttr))
        ops.push_back(op);
    });
    if (ops.empty())
      return;
    FailureOr<TileCostTable> table = readTileCostTable(getOperation());
    if (failed(table))
      return signalPassFailure();
    TileCostModel model(std::move(*table));
    for (AggregateOp op : ops)
      if (failed(rewrite(op, model)))
        return signalPassFailure();
  }

  /// The dense threshold for T x T tiles at feature width `width` (dynamic:
  /// the largest over the calibrated widths, so that a tile is dense only
  /// where it is at any width).
  double thresholdFor(const TileCostModel &model, int64_t t,
                      int64_t width) const {
    if (denseThreshold >= 0)
      return denseThreshold;
    return ShapedType::isDynamic(width) ? model.denseThresholdAnyWidth(t)
                                        : model.denseThreshold(t, width);
  }

  /// The tile sizes to try on an n-node graph: the option's, else the
  /// model's, the graph's size standing for those beyond it.
  SmallVector<int64_t> tileCandidates(int64_t n,
                                      const TileCostModel &model) const {
    if (tileSize > 0)
      return {tileSize};
    SmallVector<int64_t> candidates;
    for (int64_t t : model.getTileSizes())
      if (t < n)
        candidates.push_back(t);
    if (candidates.size() < model.getTileSizes().size())
      candidates.push_back(n);
    return candidates;
  }

  /// Best tiling of `csr` (the given tile size, or the cheapest predicted).
  /// `width` may be dynamic; `timeWidth` is the width times are predicted at.
  Tiling bestTiling(const Csr &csr, const TileCostModel &model, int64_t width,
                    int64_t timeWidth) const {
    if (tileSize > 0)
      return classify(csr, tileSize, thresholdFor(model, tileSize, width),
                      model, timeWidth);
    std::optional<Tiling> best;
    for (int64_t t : tileCandidates(csr.n, model)) {
      Tiling tiling =
          classify(csr, t, thresholdFor(model, t, width), model, timeWidth);
      if (!best || tiling.hybridSeconds < best->hybridSeconds)
        best = std::move(tiling);
    }
    return *best;
  }

  LogicalResult rewrite(AggregateOp op, const TileCostModel &model) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    int64_t width = op.getFeatureWidth();
    bool dynamicWidth = ShapedType::isDynamic(width);
    int64_t timeWidth = dynamicWidth ? kDefaultWidth : width;
    DecisionFields fields;
    fields.target = model.getName().str();
    if (!dynamicWidth)
      fields.featureWidth = width;
    // Where the threshold came from: the break-even density of the two
    // engines at this tile size and width, times the safety margin.
    auto noteRule = [&](int64_t t) {
      if (denseThreshold >= 0) {
        fields.thresholdSource = "option";
        return;
      }
      fields.thresholdSource = "cost-model";
      fields.safetyMargin = model.getSafetyMargin();
      if (dynamicWidth) {
        fields.thresholdRule = "feature width dynamic: the largest threshold "
                               "over the calibrated widths";
      } else {
        fields.breakEvenDensity = model.breakEvenDensity(t, width);
        fields.thresholdRule = "min(1, safety_margin * break_even_density)";
      }
    };

    std::optional<Csr> csr = readConstantCsr(op);
    Value rowPtr = op.getRowPtr(), colIdx = op.getColIdx(),
          values = op.getValues(), perm;
    TiledAggregateOp tiled;
    if (!csr) {
      int64_t t = tileSize > 0 ? int64_t(tileSize) : kDeferredTileSize;
      double threshold = thresholdFor(model, t, width);
      fields.classification = "deferred-to-runtime";
      fields.reason = "the CSR operands are not constants "
                      "visible to the compiler";
      fields.tileSize = t;
      fields.denseThreshold = threshold;
      noteRule(t);
      if (reorder != NodeReorder::None)
        fields.reorder = (stringifyNodeReorder(reorder) +
                          " (deferred to the runtime, with the "
                          "classification)")
                             .str();
      tiled = TiledAggregateOp::create(
          b, loc, op.getResultTypes(), rowPtr, colIdx, values, Value(),
          op.getFeatures(), op.getInit(), op.getNumRowsAttr(),
          op.getNumColsAttr(), b.getI64IntegerAttr(t), DenseI8ArrayAttr(),
          b.getF64FloatAttr(threshold), IntegerAttr(),
          DenseEngineAttr::get(b.getContext(), DenseEngine::OnednnSgemm),
          SparseEngineAttr::get(b.getContext(), SparseEngine::CsrSpmm),
          NodeReorderAttr::get(b.getContext(), reorder));
    } else {
      if (failed(validateCsr(op, *csr)))
        return failure();
      Tiling tiling = bestTiling(*csr, model, width, timeWidth);
      std::string reorderNote = "none";
      // The matrix the chosen order leaves (the reordered one, if applied).
      std::optional<Csr> reordered;
      double permuteSeconds = 0;
      SmallVector<go::Order> candidates = reorderCandidates(reorder);
      if (!candidates.empty()) {
        // Each ordering with each tile size (cluster orderings depend on
        // it: clusters hold at most one tile of nodes). A permutation costs
        // a gather of X and a scatter of Y per call, priced as the sparse
        // engine with one non-zero per row, each.
        double candidatePermuteSeconds =
            2.0 * model.sparseSeconds(csr->n, timeWidth, csr->n);
        go::Pattern pattern =
            go::symmetrise(csr->n, csr->rowPtr.data(), csr->colIdx.data());
        std::string tried;
        std::optional<Tiling> bestReordered;
        std::vector<int64_t> bestOrder;
        go::Order bestKind = go::Order::None;
        for (go::Order kind : candidates) {
          SmallVector<int64_t> sizes = tileCandidates(csr->n, model);
          std::optional<Tiling> kindBest;
          std::vector<int64_t> kindOrder;
          std::vector<int64_t> shared;
          if (kind == go::Order::Degree)
            shared = go::degreeOrder(pattern);
          else if (kind == go::Order::RCM)
            shared = go::rcmOrder(pattern);
          for (int64_t t : sizes) {
            std::vector<int64_t> order = kind == go::Order::Cluster
                                             ? go::clusterOrder(pattern, t)
                                             : shared;
            Tiling candidate =
                classify(permute(*csr, order), t, thresholdFor(model, t, width),
                         model, timeWidth);
            candidate.hybridSeconds += candidatePermuteSeconds;
            if (!kindBest ||
                candidate.hybridSeconds < kindBest->hybridSeconds) {
              kindBest = std::move(candidate);
              kindOrder = std::move(order);
            }
          }
          tried += llvm::formatv("{0}{1} {2:F3} us ({3} dense tiles)",
                                 tried.empty() ? "" : ", ", go::name(kind),
                                 kindBest->hybridSeconds * 1e6,
                                 kindBest->histogram[2])
                       .str();
          if (!bestReordered ||
              kindBest->hybridSeconds < bestReordered->hybridSeconds) {
            bestReordered = std::move(kindBest);
            bestOrder = std::move(kindOrder);
            bestKind = kind;
          }
        }
        fields.reorderPredicted =
            llvm::formatv("none {0:F3} us, {1}", tiling.hybridSeconds * 1e6,
                          tried)
                .str();
        bool gain = bestReordered->hybridSeconds < tiling.hybridSeconds;
        if (gain || forceReorder) {
          reorderNote =
              (Twine(go::name(bestKind)) +
               (gain ? " (applied)"
                     : " (applied: force-reorder, no predicted gain)"))
                  .str();
          reordered = permute(*csr, bestOrder);
          permuteSeconds = candidatePermuteSeconds;
          const Csr &permuted = *reordered;
          Type indexType = cast<ShapedType>(rowPtr.getType()).getElementType();
          rowPtr = indexConstant(b, loc, indexType, permuted.rowPtr);
          colIdx = indexConstant(b, loc, indexType, permuted.colIdx);
          auto valuesType = RankedTensorType::get(
              {static_cast<int64_t>(permuted.values.size())}, b.getF32Type());
          values = arith::ConstantOp::create(
              b, loc, valuesType,
              DenseElementsAttr::get(valuesType,
                                     ArrayRef<float>(permuted.values)));
          perm = indexConstant(b, loc, indexType, bestOrder);
          tiling = std::move(*bestReordered);
        } else {
          reorderNote = (Twine(stringifyNodeReorder(reorder)) +
                         " (not applied: no predicted gain)")
                            .str();
        }
      }
      // The micro-tile engine, on the matrix in the chosen order, when the
      // tiling is the cost model's own.
      std::optional<MicroTiling> micro;
      std::string microRejected;
      if (microTiles && model.getMicroTile() > 0 && tileSize < 0 &&
          denseThreshold < 0) {
        double threshold = dynamicWidth ? model.microThresholdAnyWidth()
                                        : model.microThreshold(width);
        // A whole number of entries per tile, so that the runtime's
        // classification (a threshold in ppm) makes the same choice.
        int64_t area = model.getMicroTile() * model.getMicroTile();
        threshold = ::lathe::row_groups::fromPpm(::lathe::row_groups::toPpm(
            std::ceil(threshold * double(area) - 1e-9) / double(area)));
        micro = classifyMicro(reordered ? *reordered : *csr, model, threshold,
                              timeWidth);
        micro->hybridSeconds += permuteSeconds;
        fields.microTile = micro->tile;
        if (!dynamicWidth)
          fields.microBreakEvenDensity = model.microBreakEvenDensity(width);
        fields.microThreshold = threshold;
        fields.microTilesDense = micro->tilesDense;
        fields.microNnzDense = micro->denseNnz;
        fields.predictedUsMicroHybrid = micro->hybridSeconds * 1e6;
        if (micro->tilesDense > 0 &&
            micro->hybridSeconds > (1.0 - kMinMicroGain) * tiling.hybridSeconds)
          microRejected =
              llvm::formatv(
                  "; the micro-tile engine's predicted gain "
                  "({0:F1} %) is below {1:F0} %",
                  100.0 * (1.0 - micro->hybridSeconds / tiling.hybridSeconds),
                  100.0 * kMinMicroGain)
                  .str();
        if (micro->tilesDense == 0 || !microRejected.empty())
          micro.reset();
      }
      // The row-group engine, on the matrix in the chosen order, against the
      // best of the T x T tiling and the micro-tile engine.
      std::optional<GroupTiling> groups;
      std::string groupsRejected;
      if (rowGroups && model.getGroupMax() >= 2 && tileSize < 0 &&
          denseThreshold < 0) {
        // The runtime is given the threshold in parts per million: form the
        // groups it will form.
        double threshold =
            ::lathe::row_groups::fromPpm(::lathe::row_groups::toPpm(
                dynamicWidth ? model.groupThresholdAnyWidth()
                             : model.groupThreshold(width)));
        groups = classifyGroups(reordered ? *reordered : *csr, model, threshold,
                                timeWidth);
        groups->hybridSeconds += permuteSeconds;
        if (!micro && !perm &&
            tiling.histogram[static_cast<int>(TileClass::Dense)] == 0)
          groups->hybridSeconds += kTiledCallSeconds;
        double rival = micro ? micro->hybridSeconds : tiling.hybridSeconds;
        fields.rowGroupMax = groups->maxRows;
        fields.rowGroupThreshold = threshold;
        fields.rowGroups = groups->groups;
        fields.rowGroupRows = groups->groupedRows;
        fields.rowGroupNnz = groups->groupedNnz;
        fields.predictedUsRowGroupHybrid = groups->hybridSeconds * 1e6;
        // Named in the result only when the engine would gain, if too little.
        if (groups->groups > 0 && groups->hybridSeconds < rival &&
            groups->hybridSeconds > (1.0 - kMinMicroGain) * rival)
          groupsRejected =
              llvm::formatv("; the row-group engine's predicted gain "
                            "({0:F1} %) is below {1:F0} %",
                            100.0 * (1.0 - groups->hybridSeconds / rival),
                            100.0 * kMinMicroGain)
                  .str();
        if (groups->groups == 0 ||
            groups->hybridSeconds > (1.0 - kMinMicroGain) * rival)
          groups.reset();
      }
      // The engines that classify at run time (the threshold travels with
      // the op): one op and one decision, whichever of them won.
      auto runtimeEngine = [&](DenseEngine engine, int64_t tile,
                               double threshold, int64_t engineNnz,
                               double seconds, StringRef classification,
                               StringRef rule, const Twine &result) {
        fields.classification = classification.str();
        fields.tileSize = tile;
        fields.tileSizeSource = "cost-model";
        fields.denseEngine = stringifyDenseEngine(engine).str();
        fields.denseThreshold = threshold;
        fields.thresholdSource = "cost-model";
        fields.safetyMargin = model.getSafetyMargin();
        fields.thresholdRule = rule.str();
        fields.nnz = csr->nnz();
        fields.nnzSparse = csr->nnz() - engineNnz;
        fields.predictedUsHybrid = seconds * 1e6;
        fields.predictedUsBestTiling = tiling.hybridSeconds * 1e6;
        fields.predictedUsAllSparse = tiling.allSparseSeconds * 1e6;
        fields.reorder = reorderNote;
        fields.result = result.str();
        tiled = TiledAggregateOp::create(
            b, loc, op.getResultTypes(), rowPtr, colIdx, values, perm,
            op.getFeatures(), op.getInit(), op.getNumRowsAttr(),
            op.getNumColsAttr(), b.getI64IntegerAttr(tile), DenseI8ArrayAttr(),
            b.getF64FloatAttr(threshold), IntegerAttr(),
            DenseEngineAttr::get(b.getContext(), engine),
            SparseEngineAttr::get(b.getContext(), SparseEngine::CsrSpmm),
            NodeReorderAttr::get(b.getContext(), NodeReorder::None));
      };
      if (groups)
        runtimeEngine(DenseEngine::RowGroups, groups->maxRows,
                      groups->threshold, groups->groupedNnz,
                      groups->hybridSeconds,
                      "compile-time analysis; the runtime forms the same row "
                      "groups at row_group_threshold",
                      "min(1, safety_margin * the largest row-group "
                      "break-even density over the group sizes)",
                      "row-group engine on groups of rows with nearly equal "
                      "columns, CSR on the other rows" +
                          microRejected);
      else if (micro)
        runtimeEngine(DenseEngine::MicroBsr, micro->tile, micro->threshold,
                      micro->denseNnz, micro->hybridSeconds,
                      "compile-time analysis; the runtime applies "
                      "micro_threshold to the micro tiles",
                      "min(1, safety_margin * micro_break_even_density), "
                      "rounded up to whole entries",
                      "micro-tile engine on dense micro tiles, CSR on the "
                      "rest");
      if (tiled) {
        mlir::lathe::setDecision(tiled, fields.get(b.getContext()));
        ++numTiled;
        op.replaceAllUsesWith(tiled.getResult());
        op.erase();
        return success();
      }
      fields.classification = "compile-time";
      fields.tileSize = tiling.tileSize;
      fields.tileSizeSource = tileSize > 0 ? "option" : "cost-model";
      fields.denseThreshold = tiling.threshold;
      noteRule(tiling.tileSize);
      fields.tilesEmpty = tiling.histogram[0];
      fields.tilesSparse = tiling.histogram[1];
      fields.tilesDense = tiling.histogram[2];
      fields.nnz = csr->nnz();
      fields.nnzSparse = tiling.sparseNnz;
      fields.predictedUsHybrid = tiling.hybridSeconds * 1e6;
      fields.predictedUsAllSparse = tiling.allSparseSeconds * 1e6;
      fields.predictedUsAllDense = tiling.allDenseSeconds * 1e6;
      fields.reorder = reorderNote;
      numDenseTiles += tiling.histogram[static_cast<int>(TileClass::Dense)];
      numSparseTiles += tiling.histogram[static_cast<int>(TileClass::Sparse)];
      if (tiling.histogram[static_cast<int>(TileClass::Dense)] == 0 && !perm) {
        // Without a dense tile the hybrid is the CSR kernel on every
        // non-zero: keep the plain op, which runs it without a tile plan
        // (a second copy of the adjacency) or its construction.
        fields.result = "kept sparsegcn.aggregate: no tile "
                        "reaches the dense threshold" +
                        microRejected + groupsRejected;
        mlir::lathe::setDecision(op, fields.get(b.getContext()));
        ++numKept;
        return success();
      }
      tiled = TiledAggregateOp::create(
          b, loc, op.getResultTypes(), rowPtr, colIdx, values, perm,
          op.getFeatures(), op.getInit(), op.getNumRowsAttr(),
          op.getNumColsAttr(), b.getI64IntegerAttr(tiling.tileSize),
          b.getDenseI8ArrayAttr(tiling.classes),
          b.getF64FloatAttr(tiling.threshold),
          b.getI64IntegerAttr(tiling.sparseNnz),
          DenseEngineAttr::get(b.getContext(), DenseEngine::OnednnSgemm),
          SparseEngineAttr::get(b.getContext(), SparseEngine::CsrSpmm),
          NodeReorderAttr::get(b.getContext(), NodeReorder::None));
    }
    mlir::lathe::setDecision(tiled, fields.get(b.getContext()));
    ++numTiled;
    if (!csr)
      ++numDeferred;
    op.replaceAllUsesWith(tiled.getResult());
    op.erase();
    return success();
  }
};

} // namespace

FailureOr<TileCostTable>
mlir::lathe::sparsegcn::readTileCostTable(Operation *op) {
  FailureOr<TargetTable> found = TargetTable::lookup(op, "sparsegcn");
  if (failed(found))
    return failure();
  const TargetTable &t = *found;
  TileCostTable table;
  table.name = t.getTargetName().str();
  FailureOr<SmallVector<int64_t>> tiles = t.getIncreasingIntegers("tile_sizes");
  if (failed(tiles))
    return failure();
  FailureOr<SmallVector<int64_t>> widths = t.getIncreasingIntegers("widths");
  if (failed(widths))
    return failure();
  int64_t nt = tiles->size(), nw = widths->size();
  FailureOr<SmallVector<double>> gemm = t.getNumbers("gemm_gflops", nt * nw);
  if (failed(gemm))
    return failure();
  FailureOr<SmallVector<double>> local =
      t.getNumbers("spmm_local_gflops", nt * nw);
  if (failed(local))
    return failure();
  FailureOr<SmallVector<double>> resident =
      t.getNumbers("spmm_resident_gflops", nw);
  if (failed(resident))
    return failure();
  FailureOr<SmallVector<double>> streamed =
      t.getNumbers("spmm_streamed_gflops", nw);
  if (failed(streamed))
    return failure();
  FailureOr<int64_t> cache = t.getInteger("cache_bytes", 1);
  if (failed(cache))
    return failure();
  FailureOr<double> margin =
      t.getNumber("safety_margin", 1.0, /*strict=*/false);
  if (failed(margin))
    return failure();
  // The micro-tile engine is optional: a table without `micro_tile` has
  // none (the pass then never picks it).
  if (t.has("micro_tile")) {
    FailureOr<int64_t> micro = t.getInteger("micro_tile", 1);
    if (failed(micro))
      return failure();
    FailureOr<SmallVector<double>> microGemm = t.getNumbers("micro_gflops", nw);
    if (failed(microGemm))
      return failure();
    FailureOr<SmallVector<double>> microCsr =
        t.getNumbers("micro_csr_gflops", nw);
    if (failed(microCsr))
      return failure();
    table.microTile = *micro;
    table.microGemm.assign(microGemm->begin(), microGemm->end());
    table.microCsr.assign(microCsr->begin(), microCsr->end());
  }
  // The row-group engine is optional too (`row_group_max`).
  if (t.has("row_group_max")) {
    FailureOr<int64_t> groupMax = t.getInteger("row_group_max", 2);
    if (failed(groupMax))
      return failure();
    int64_t sizes = *groupMax - 1;
    FailureOr<SmallVector<double>> groupGemm =
        t.getNumbers("row_group_gflops", sizes * nw);
    if (failed(groupGemm))
      return failure();
    FailureOr<SmallVector<double>> groupCsr =
        t.getNumbers("row_group_csr_gflops", sizes * nw);
    if (failed(groupCsr))
      return failure();
    table.groupMax = *groupMax;
    table.groupGemm.assign(groupGemm->begin(), groupGemm->end());
    table.groupCsr.assign(groupCsr->begin(), groupCsr->end());
  }
  table.tileSizes.assign(tiles->begin(), tiles->end());
  table.widths.assign(widths->begin(), widths->end());
  table.gemm.assign(gemm->begin(), gemm->end());
  table.spmmLocal.assign(local->begin(), local->end());
  table.spmmResident.assign(resident->begin(), resident->end());
  table.spmmStreamed.assign(streamed->begin(), streamed->end());
  table.cacheBytes = *cache;
  table.safetyMargin = *margin;
  if (t.has("tile_overhead_us")) {
    FailureOr<SmallVector<double>> overhead =
        t.getNumbers("tile_overhead_us", nt * nw, 0.0, /*strict=*/false);
    if (failed(overhead))
      return failure();
    table.tileOverhead.assign(overhead->begin(), overhead->end());
  }
  return table;
}
