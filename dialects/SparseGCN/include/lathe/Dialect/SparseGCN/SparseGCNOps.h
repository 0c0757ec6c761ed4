//===- SparseGCNOps.h - Sparse graph aggregation dialect --------*- C++ -*-===//

#ifndef LATHE_DIALECT_SPARSEGCN_SPARSEGCNOPS_H
#define LATHE_DIALECT_SPARSEGCN_SPARSEGCNOPS_H

#include "lathe/Interfaces/DecisionInterface.h"
#include "lathe/Interfaces/FlopsInterface.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <string>

#include "lathe/Dialect/SparseGCN/SparseGCNDialect.h.inc"
#include "lathe/Dialect/SparseGCN/SparseGCNEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "lathe/Dialect/SparseGCN/SparseGCNAttrs.h.inc"

#define GET_OP_CLASSES
#include "lathe/Dialect/SparseGCN/SparseGCNOps.h.inc"

namespace mlir {
class DialectRegistry;
namespace lathe::sparsegcn {

/// Tile classes of sparsegcn.tiled_aggregate (the runtime uses the same
/// numbers).
enum class TileClass : int8_t { Empty = 0, Sparse = 1, Dense = 2 };

/// The tile edge of the micro-tile engine (`dense_engine = "micro_bsr"`;
/// the runtime's LATHE_SPMM_MICRO_TILE, checked in LowerSparseGCN.cpp).
constexpr int64_t kMicroTile = 4;

/// The most rows of a group of the row-group engine (`dense_engine =
/// "row_groups"`; the runtime's LATHE_SPMM_ROW_GROUP_MAX, checked in
/// LowerSparseGCN.cpp).
constexpr int64_t kMaxGroupRows = 4;

/// The CSR arrays of the transpose of the numRows x numCols matrix given by
/// rowPtr, colIdx and values (a counting sort by column: column indices come
/// out increasing within each row of the transpose). Fails, saying why in
/// `error`, when the input is not a valid CSR matrix.
LogicalResult transposeCsr(ArrayRef<int64_t> rowPtr, ArrayRef<int64_t> colIdx,
                           ArrayRef<float> values, int64_t numRows,
                           int64_t numCols, SmallVectorImpl<int64_t> &tRowPtr,
                           SmallVectorImpl<int64_t> &tColIdx,
                           SmallVectorImpl<float> &tValues, std::string &error);

/// Attaches BufferizableOpInterface models to the aggregation ops.
void registerBufferizableOpInterfaceExternalModels(DialectRegistry &registry);

} // namespace lathe::sparsegcn
} // namespace mlir

#endif // LATHE_DIALECT_SPARSEGCN_SPARSEGCNOPS_H
