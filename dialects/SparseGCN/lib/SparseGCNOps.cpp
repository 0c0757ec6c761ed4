//===- SparseGCNOps.cpp - Sparse graph aggregation dialect ----------------===//

#include "lathe/Dialect/SparseGCN/SparseGCNOps.h"
#include "lathe/Interfaces/DpsBufferization.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectImplementation.h"

using namespace mlir;
using namespace mlir::lathe;
using namespace mlir::lathe::sparsegcn;

#include "lathe/Dialect/SparseGCN/SparseGCNDialect.cpp.inc"

void SparseGCNDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "lathe/Dialect/SparseGCN/SparseGCNOps.cpp.inc"
      >();
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

#define GET_OP_CLASSES
#include "lathe/Dialect/SparseGCN/SparseGCNOps.cpp.inc"
