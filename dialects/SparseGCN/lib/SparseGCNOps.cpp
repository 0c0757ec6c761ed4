//===- SparseGCNOps.cpp - Sparse graph aggregation dialect ----------------===//

#include "lathe/Dialect/SparseGCN/SparseGCNOps.h"
#include "lathe/Interfaces/DpsBufferization.h"
#include "lathe/Support/EnumAttr.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::lathe;
using namespace mlir::lathe::sparsegcn;

#include "lathe/Dialect/SparseGCN/SparseGCNDialect.cpp.inc"
#include "lathe/Dialect/SparseGCN/SparseGCNEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "lathe/Dialect/SparseGCN/SparseGCNAttrs.cpp.inc"

// IR that spells an enum as a string: an error that says what to write.
static LogicalResult
checkTiledAggregateEnums(OperationName opName, Attribute dict,
                         function_ref<InFlightDiagnostic()> emitError) {
  return success(
      succeeded(checkEnumProperty<DenseEngineAttr>(
          dict, TiledAggregateOp::getDenseEngineAttrName(opName), emitError)) &&
      succeeded(checkEnumProperty<SparseEngineAttr>(
          dict, TiledAggregateOp::getSparseEngineAttrName(opName),
          emitError)) &&
      succeeded(checkEnumProperty<NodeReorderAttr>(
          dict, TiledAggregateOp::getReorderAttrName(opName), emitError)));
}
LATHE_CHECKED_PROPERTIES(TiledAggregateOp, checkTiledAggregateEnums)

void SparseGCNDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "lathe/Dialect/SparseGCN/SparseGCNAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "lathe/Dialect/SparseGCN/SparseGCNOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// DecisionAttr
//===----------------------------------------------------------------------===//

LogicalResult DecisionAttr::verify(
    function_ref<InFlightDiagnostic()> emitError,
    std::optional<APFloat> breakEvenDensity, StringRef classification,
    StringRef denseEngine, APFloat denseThreshold,
    std::optional<int64_t> featureWidth,
    std::optional<APFloat> microBreakEvenDensity,
    std::optional<int64_t> microNnzDense, std::optional<APFloat> microThreshold,
    std::optional<int64_t> microTile, std::optional<int64_t> microTilesDense,
    std::optional<int64_t> nnz, std::optional<int64_t> nnzSparse,
    std::optional<APFloat> predictedUsAllDense,
    std::optional<APFloat> predictedUsAllSparse,
    std::optional<APFloat> predictedUsBestTiling,
    std::optional<APFloat> predictedUsHybrid,
    std::optional<APFloat> predictedUsMicroHybrid,
    std::optional<APFloat> predictedUsRowGroupHybrid, StringRef reason,
    StringRef reorder, StringRef reorderPredicted, StringRef result,
    std::optional<int64_t> rowGroupMax, std::optional<int64_t> rowGroupNnz,
    std::optional<int64_t> rowGroupRows,
    std::optional<APFloat> rowGroupThreshold, std::optional<int64_t> rowGroups,
    std::optional<APFloat> safetyMargin, StringRef target,
    StringRef thresholdRule, StringRef thresholdSource, int64_t tileSize,
    StringRef tileSizeSource, std::optional<int64_t> tilesDense,
    std::optional<int64_t> tilesEmpty, std::optional<int64_t> tilesSparse) {
  if (target.empty())
    return emitError() << "expects a non-empty target name";
  if (classification.empty())
    return emitError() << "expects a classification";
  if (tileSize <= 0)
    return emitError() << "expects a positive tile_size, got " << tileSize;
  double threshold = denseThreshold.convertToDouble();
  if (!(threshold >= 0.0 && threshold <= 1.0))
    return emitError() << "expects dense_threshold in [0, 1], got "
                       << threshold;
  if (featureWidth && *featureWidth <= 0)
    return emitError() << "expects a positive feature_width (leave it out "
                          "when dynamic), got "
                       << *featureWidth;
  for (std::optional<int64_t> count :
       {microNnzDense, microTile, microTilesDense, nnz, nnzSparse, rowGroupMax,
        rowGroupNnz, rowGroupRows, rowGroups, tilesDense, tilesEmpty,
        tilesSparse})
    if (count && *count < 0)
      return emitError() << "expects non-negative counts, got " << *count;
  if (nnz && nnzSparse && *nnzSparse > *nnz)
    return emitError() << "expects nnz_sparse (" << *nnzSparse << ") <= nnz ("
                       << *nnz << ")";
  if (nnz && rowGroupNnz && *rowGroupNnz > *nnz)
    return emitError() << "expects row_group_nnz (" << *rowGroupNnz
                       << ") <= nnz (" << *nnz << ")";
  for (const std::optional<APFloat> &value :
       {breakEvenDensity, microBreakEvenDensity, microThreshold,
        predictedUsAllDense, predictedUsAllSparse, predictedUsBestTiling,
        predictedUsHybrid, predictedUsMicroHybrid, predictedUsRowGroupHybrid,
        rowGroupThreshold, safetyMargin})
    if (value && !(value->convertToDouble() >= 0.0))
      return emitError() << "expects non-negative densities, margins and "
                            "predicted times";
  return success();
}

StringRef DecisionAttr::getPassName() const { return kPassName; }

DictionaryAttr DecisionAttr::toDictionary() const {
  Builder b(getContext());
  SmallVector<NamedAttribute> entries;
  auto str = [&](StringRef key, StringRef value) {
    if (!value.empty())
      entries.push_back(b.getNamedAttr(key, b.getStringAttr(value)));
  };
  auto i64 = [&](StringRef key, std::optional<int64_t> value) {
    if (value)
      entries.push_back(b.getNamedAttr(key, b.getI64IntegerAttr(*value)));
  };
  auto f64 = [&](StringRef key, std::optional<APFloat> value) {
    if (value)
      entries.push_back(
          b.getNamedAttr(key, b.getF64FloatAttr(value->convertToDouble())));
  };
  // The keys (and values) the report has always listed for this pass.
  str("pass", getPassName());
  str("target", getTarget());
  if (getFeatureWidth())
    i64("feature_width", getFeatureWidth());
  else
    str("feature_width", "dynamic");
  str("classification", getClassification());
  str("reason", getReason());
  i64("tile_size", getTileSize());
  str("tile_size_source", getTileSizeSource());
  str("dense_engine", getDenseEngine());
  f64("dense_threshold", getDenseThreshold());
  str("threshold_source", getThresholdSource());
  f64("safety_margin", getSafetyMargin());
  f64("break_even_density", getBreakEvenDensity());
  str("threshold_rule", getThresholdRule());
  i64("tiles_empty", getTilesEmpty());
  i64("tiles_sparse", getTilesSparse());
  i64("tiles_dense", getTilesDense());
  i64("nnz", getNnz());
  i64("nnz_sparse", getNnzSparse());
  f64("predicted_us_hybrid", getPredictedUsHybrid());
  f64("predicted_us_best_tiling", getPredictedUsBestTiling());
  f64("predicted_us_all_sparse", getPredictedUsAllSparse());
  f64("predicted_us_all_dense", getPredictedUsAllDense());
  str("reorder", getReorder());
  str("reorder_predicted", getReorderPredicted());
  i64("micro_tile", getMicroTile());
  f64("micro_break_even_density", getMicroBreakEvenDensity());
  f64("micro_threshold", getMicroThreshold());
  i64("micro_tiles_dense", getMicroTilesDense());
  i64("micro_nnz_dense", getMicroNnzDense());
  f64("predicted_us_micro_hybrid", getPredictedUsMicroHybrid());
  i64("row_group_max", getRowGroupMax());
  f64("row_group_threshold", getRowGroupThreshold());
  i64("row_groups", getRowGroups());
  i64("row_group_rows", getRowGroupRows());
  i64("row_group_nnz", getRowGroupNnz());
  f64("predicted_us_row_group_hybrid", getPredictedUsRowGroupHybrid());
  str("result", getResult());
  return b.getDictionaryAttr(entries);
}

//===----------------------------------------------------------------------===//
// Shared verification
//===----------------------------------------------------------------------===//

/// Two static sizes disagree (dynamic sizes agree with anything).
static bool sizesConflict(int64_t a, int64_t b) {
  return !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b;
}

static bool isIndexElement(Type type) {
  return type.isSignlessInteger(32) || type.isSignlessInteger(64);
}

/// Checks what both aggregation ops share: operand kinds (all tensors or all
/// memrefs), CSR operand types and sizes, feature and init shapes.
static LogicalResult verifyAggregate(Operation *op, Value rowPtr, Value colIdx,
                                     Value values, Value features, Value init,
                                     ResultRange results, int64_t numRows,
                                     int64_t numCols) {
  if (failed(verifyDpsKernelForm(op, init, results)))
    return failure();
  auto initType = cast<ShapedType>(init.getType());

  if (numRows <= 0 || numCols <= 0)
    return op->emitOpError("expects a non-empty graph, got a ")
           << numRows << " x " << numCols << " adjacency";
  if (numRows != numCols)
    return op->emitOpError("expects a square adjacency (a graph's), got ")
           << numRows << " x " << numCols;

  auto rowPtrType = cast<ShapedType>(rowPtr.getType());
  auto colIdxType = cast<ShapedType>(colIdx.getType());
  auto valuesType = cast<ShapedType>(values.getType());
  auto featType = cast<ShapedType>(features.getType());
  for (auto [name, type] :
       {std::pair<StringRef, ShapedType>{"row_ptr", rowPtrType},
        {"col_idx", colIdxType},
        {"values", valuesType}})
    if (type.getRank() != 1)
      return op->emitOpError("expects ") << name << " of rank 1, got " << type;
  if (!isIndexElement(rowPtrType.getElementType()))
    return op->emitOpError("expects row_ptr of i32 or i64 elements, got ")
           << rowPtrType;
  if (colIdxType.getElementType() != rowPtrType.getElementType())
    return op->emitOpError("expects col_idx of row_ptr's element type ")
           << rowPtrType.getElementType() << ", got " << colIdxType;
  if (!valuesType.getElementType().isF32())
    return op->emitOpError("expects f32 values, got ") << valuesType;
  if (sizesConflict(rowPtrType.getDimSize(0), numRows + 1))
    return op->emitOpError("expects row_ptr of num_rows + 1 = ")
           << numRows + 1 << " elements, got " << rowPtrType;
  if (sizesConflict(colIdxType.getDimSize(0), valuesType.getDimSize(0)))
    return op->emitOpError("expects as many values as column indices, got ")
           << valuesType << " and " << colIdxType;

  if (featType.getRank() != 2 || !featType.getElementType().isF32())
    return op->emitOpError("expects f32 features of rank 2, got ") << featType;
  if (initType.getRank() != 2 || !initType.getElementType().isF32())
    return op->emitOpError("expects an f32 init of rank 2, got ") << initType;
  if (sizesConflict(featType.getDimSize(0), numCols))
    return op->emitOpError("expects features with num_cols = ")
           << numCols << " rows (one per node), got " << featType;
  if (sizesConflict(initType.getDimSize(0), numRows) ||
      sizesConflict(initType.getDimSize(1), featType.getDimSize(1)))
    return op->emitOpError("expects init of shape [")
           << numRows << ", " << featType.getDimSize(1) << "], got "
           << initType;
  return success();
}

//===----------------------------------------------------------------------===//
// AggregateOp
//===----------------------------------------------------------------------===//

LogicalResult AggregateOp::verify() {
  return verifyAggregate(*this, getRowPtr(), getColIdx(), getValues(),
                         getFeatures(), getInit(), getResult(), getRows(),
                         getCols());
}

FailureOr<int64_t> AggregateOp::getFlopCount() {
  int64_t nnz = getNumNonZeros(), f = getFeatureWidth();
  if (ShapedType::isDynamic(nnz) || ShapedType::isDynamic(f))
    return failure();
  return 2 * nnz * f;
}

void AggregateOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  getDpsKernelEffects(*this, getInit(), effects);
}

//===----------------------------------------------------------------------===//
// TiledAggregateOp
//===----------------------------------------------------------------------===//

LogicalResult TiledAggregateOp::verify() {
  if (getTile() <= 0)
    return emitOpError("expects a positive tile size, got ") << getTile();
  if (failed(verifyAggregate(*this, getRowPtr(), getColIdx(), getValues(),
                             getFeatures(), getInit(), getResult(), getRows(),
                             getCols())))
    return failure();
  if (std::optional<ArrayRef<int8_t>> classes = getTileClasses()) {
    int64_t expected = getNumTileRows() * getNumTileCols();
    if (static_cast<int64_t>(classes->size()) != expected)
      return emitOpError("expects one tile class per tile (")
             << getNumTileRows() << " x " << getNumTileCols() << " = "
             << expected << "), got " << classes->size();
    for (int8_t c : *classes)
      if (c < 0 || c > 2)
        return emitOpError("has tile class ")
               << static_cast<int>(c)
               << " (expected 0 = empty, 1 = sparse or 2 = dense)";
  }
  if (getDenseEngine() == DenseEngine::MicroBsr && getTile() != kMicroTile)
    return emitOpError("runs dense tiles on the micro-tile engine, whose "
                       "tiles are ")
           << kMicroTile << " x " << kMicroTile << ", but has tile size "
           << getTile();
  if (getDenseEngine() == DenseEngine::RowGroups) {
    if (getTile() > kMaxGroupRows)
      return emitOpError("runs the row-group engine, whose groups hold at "
                         "most ")
             << kMaxGroupRows << " rows, but has tile size " << getTile();
    if (getTileClasses())
      return emitOpError("runs the row-group engine, which forms its own "
                         "groups, but has tile_classes");
  }
  double threshold = getDenseThreshold().convertToDouble();
  if (!(threshold >= 0.0))
    return emitOpError("expects a non-negative dense_threshold, got ")
           << threshold;
  if (Value perm = getPermutation()) {
    auto permType = cast<ShapedType>(perm.getType());
    if (permType.getRank() != 1 ||
        permType.getElementType() !=
            cast<ShapedType>(getRowPtr().getType()).getElementType() ||
        sizesConflict(permType.getDimSize(0), getRows()))
      return emitOpError("expects a permutation of ")
             << getRows() << " elements of row_ptr's element type, got "
             << permType;
  }
  if (getReorder() != NodeReorder::None) {
    if (getTileClasses() || getPermutation())
      return emitOpError("has a run-time reorder together with tile_classes "
                         "or a permutation: the reordering is the runtime's "
                         "only when it also classifies the tiles");
  }
  if (std::optional<int64_t> sparseNnz = getSparseNnz()) {
    if (*sparseNnz < 0 || (!ShapedType::isDynamic(getNumNonZeros()) &&
                           *sparseNnz > getNumNonZeros()))
      return emitOpError("expects sparse_nnz in [0, nnz], got ") << *sparseNnz;
  }
  return success();
}

FailureOr<int64_t> TiledAggregateOp::getFlopCount() {
  int64_t nnz = getNumNonZeros(), f = getFeatureWidth();
  if (ShapedType::isDynamic(f))
    return failure();
  std::optional<ArrayRef<int8_t>> classes = getTileClasses();
  std::optional<int64_t> sparseNnz = getSparseNnz();
  if (!classes || !sparseNnz) {
    // Classified at run time: count the work as all-sparse.
    if (ShapedType::isDynamic(nnz))
      return failure();
    return 2 * nnz * f;
  }
  int64_t t = getTile(), n = getRows(), m = getCols();
  int64_t tileCols = getNumTileCols();
  int64_t denseElements = 0;
  for (auto [index, c] : llvm::enumerate(*classes)) {
    if (c != static_cast<int8_t>(TileClass::Dense))
      continue;
    int64_t tr = static_cast<int64_t>(index) / tileCols;
    int64_t tc = static_cast<int64_t>(index) % tileCols;
    denseElements += std::min(t, n - tr * t) * std::min(t, m - tc * t);
  }
  return 2 * (*sparseNnz + denseElements) * f;
}

void TiledAggregateOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  getDpsKernelEffects(*this, getInit(), effects);
}

//===----------------------------------------------------------------------===//
// TransposeOp
//===----------------------------------------------------------------------===//

LogicalResult TransposeOp::verify() {
  bool buffers = hasPureBufferSemantics();
  for (Value v : getOperands())
    if (isa<MemRefType>(v.getType()) != buffers)
      return emitOpError("expects all operands to be tensors or all to be "
                         "memrefs");
  if (buffers && !getResult().empty())
    return emitOpError("on memrefs has no results");
  if (!buffers &&
      (getResult().size() != 3 ||
       TypeRange(getResult().getTypes()) != TypeRange(getDpsInits())))
    return emitOpError("on tensors returns three results of the outputs' "
                       "types");
  if (getRows() <= 0 || getCols() <= 0)
    return emitOpError("expects a non-empty matrix, got ")
           << getRows() << " x " << getCols();
  auto type = [](Value v) { return cast<ShapedType>(v.getType()); };
  for (Value v : getOperands())
    if (type(v).getRank() != 1)
      return emitOpError("expects operands of rank 1, got ") << v.getType();
  Type indexType = type(getRowPtr()).getElementType();
  if (!isIndexElement(indexType))
    return emitOpError("expects row_ptr of i32 or i64 elements, got ")
           << getRowPtr().getType();
  for (Value v : {getColIdx(), getTRowPtr(), getTColIdx()})
    if (type(v).getElementType() != indexType)
      return emitOpError("expects every index operand of row_ptr's element "
                         "type ")
             << indexType << ", got " << v.getType();
  if (!type(getValues()).getElementType().isF32() ||
      !type(getTValues()).getElementType().isF32())
    return emitOpError("expects f32 values");
  if (sizesConflict(type(getRowPtr()).getDimSize(0), getRows() + 1))
    return emitOpError("expects row_ptr of num_rows + 1 = ")
           << getRows() + 1 << " elements, got " << getRowPtr().getType();
  if (sizesConflict(type(getTRowPtr()).getDimSize(0), getCols() + 1))
    return emitOpError("expects t_row_ptr of num_cols + 1 = ")
           << getCols() + 1 << " elements, got " << getTRowPtr().getType();
  int64_t nnz = type(getColIdx()).getDimSize(0);
  for (Value v : {getValues(), getTColIdx(), getTValues()})
    if (sizesConflict(type(v).getDimSize(0), nnz))
      return emitOpError("expects col_idx, values, t_col_idx and t_values "
                         "of one length (nnz), got ")
             << v.getType() << " beside " << getColIdx().getType();
  return success();
}

void TransposeOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  getDpsKernelEffects(cast<DestinationStyleOpInterface>(getOperation()),
                      effects);
}

LogicalResult mlir::lathe::sparsegcn::transposeCsr(
    ArrayRef<int64_t> rowPtr, ArrayRef<int64_t> colIdx, ArrayRef<float> values,
    int64_t numRows, int64_t numCols, SmallVectorImpl<int64_t> &tRowPtr,
    SmallVectorImpl<int64_t> &tColIdx, SmallVectorImpl<float> &tValues,
    std::string &error) {
  int64_t nnz = static_cast<int64_t>(colIdx.size());
  if (static_cast<int64_t>(rowPtr.size()) != numRows + 1 ||
      static_cast<int64_t>(values.size()) != nnz) {
    error = "row_ptr, col_idx and values do not describe a " +
            std::to_string(numRows) + "-row matrix";
    return failure();
  }
  if (rowPtr[0] != 0 || rowPtr[numRows] != nnz) {
    error = "row_ptr must start at 0 and end at nnz = " + std::to_string(nnz);
    return failure();
  }
  for (int64_t i = 0; i < numRows; ++i)
    if (rowPtr[i + 1] < rowPtr[i]) {
      error = "row_ptr decreases at row " + std::to_string(i);
      return failure();
    }
  tRowPtr.assign(numCols + 1, 0);
  for (int64_t k = 0; k < nnz; ++k) {
    if (colIdx[k] < 0 || colIdx[k] >= numCols) {
      error = "column index " + std::to_string(colIdx[k]) + " at position " +
              std::to_string(k) + " is out of range [0, " +
              std::to_string(numCols) + ")";
      return failure();
    }
    ++tRowPtr[colIdx[k] + 1];
  }
  for (int64_t j = 0; j < numCols; ++j)
    tRowPtr[j + 1] += tRowPtr[j];
  SmallVector<int64_t> next(tRowPtr.begin(), tRowPtr.end() - 1);
  tColIdx.assign(nnz, 0);
  tValues.assign(nnz, 0.0f);
  for (int64_t i = 0; i < numRows; ++i)
    for (int64_t k = rowPtr[i]; k < rowPtr[i + 1]; ++k) {
      int64_t at = next[colIdx[k]]++;
      tColIdx[at] = i;
      tValues[at] = values[k];
    }
  return success();
}

#define GET_OP_CLASSES
#include "lathe/Dialect/SparseGCN/SparseGCNOps.cpp.inc"
