//===- AccelOps.cpp - Engine-level ops of the accelerator target ----------===//

#include "lathe/Target/Accel/IR/AccelOps.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::lathe::accel;

#include "lathe/Target/Accel/IR/AccelDialect.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "lathe/Target/Accel/IR/AccelTypes.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "lathe/Target/Accel/IR/AccelAttrs.cpp.inc"

void AccelDialect::initialize() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "lathe/Target/Accel/IR/AccelTypes.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "lathe/Target/Accel/IR/AccelAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "lathe/Target/Accel/IR/AccelOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// DecisionAttr
//===----------------------------------------------------------------------===//

LogicalResult
DecisionAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                     StringRef engine, std::optional<int64_t> mmeCycles,
                     StringRef reason, std::optional<int64_t> sparseCycles,
                     StringRef split, std::optional<int64_t> splitExtent,
                     int64_t tpcCycles, std::optional<int64_t> tpcExtent) {
  if (engine != "mme" && engine != "tpc" && engine != "sparse" &&
      engine != "split")
    return emitError()
           << "expects engine \"mme\", \"tpc\", \"sparse\" or \"split\", got \""
           << engine << "\"";
  if ((mmeCycles && *mmeCycles < 0) || (sparseCycles && *sparseCycles < 0) ||
      tpcCycles < 0)
    return emitError() << "expects non-negative cycle counts";
  if (engine == "sparse" && !sparseCycles)
    return emitError() << "places the op on the sparse engine but has no "
                          "sparse_cycles";
  if ((engine == "mme" || engine == "split") && !mmeCycles)
    return emitError() << "places the op on the matrix engines (engine = \""
                       << engine << "\") but has no mme_cycles";
  if (engine != "split") {
    if (!split.empty() || splitExtent || tpcExtent)
      return emitError() << "has split, split_extent or tpc_extent but engine "
                            "= \""
                         << engine << "\" (only a split has them)";
    return success();
  }
  if (split != "rows" && split != "columns" && split != "batch")
    return emitError() << "expects split \"rows\", \"columns\" or \"batch\" "
                          "for engine = \"split\", got \""
                       << split << "\"";
  if (!splitExtent || !tpcExtent)
    return emitError() << "expects split_extent and tpc_extent for engine = "
                          "\"split\"";
  // Both engine kinds take at least one row, column or batch member.
  if (*splitExtent < 2 || *tpcExtent < 1 || *tpcExtent >= *splitExtent)
    return emitError() << "expects 1 <= tpc_extent < split_extent for "
                          "engine = \"split\", got tpc_extent = "
                       << *tpcExtent << " of split_extent = " << *splitExtent;
  return success();
}

StringRef DecisionAttr::getPassName() const { return kPassName; }

std::optional<double> DecisionAttr::getTpcShare() const {
  if (!getSplitExtent() || !getTpcExtent() || *getSplitExtent() <= 0)
    return std::nullopt;
  return double(*getTpcExtent()) / double(*getSplitExtent());
}

DictionaryAttr DecisionAttr::toDictionary() const {
  Builder b(getContext());
  SmallVector<NamedAttribute> entries = {
      b.getNamedAttr("pass", b.getStringAttr(getPassName())),
      b.getNamedAttr("engine", b.getStringAttr(getEngine()))};
  if (getMmeCycles())
    entries.push_back(
        b.getNamedAttr("mme_cycles", b.getI64IntegerAttr(*getMmeCycles())));
  entries.push_back(
      b.getNamedAttr("tpc_cycles", b.getI64IntegerAttr(getTpcCycles())));
  if (getSparseCycles())
    entries.push_back(b.getNamedAttr("sparse_cycles",
                                     b.getI64IntegerAttr(*getSparseCycles())));
  if (std::optional<double> share = getTpcShare())
    entries.push_back(
        b.getNamedAttr("tpc_fraction", b.getF64FloatAttr(*share)));
  if (getSplitExtent())
    entries.push_back(
        b.getNamedAttr("split_extent", b.getI64IntegerAttr(*getSplitExtent())));
  if (getTpcExtent())
    entries.push_back(
        b.getNamedAttr("tpc_extent", b.getI64IntegerAttr(*getTpcExtent())));
  if (!getSplit().empty())
    entries.push_back(b.getNamedAttr("split", b.getStringAttr(getSplit())));
  entries.push_back(b.getNamedAttr("reason", b.getStringAttr(getReason())));
  return b.getDictionaryAttr(entries);
}

/// Tile counts are at least 1 and every size is positive: a zero-sized
/// tile has no cost the simulator could count.
static LogicalResult
verifySizes(Operation *op, ArrayRef<std::pair<StringRef, int64_t>> sizes) {
  for (auto [name, value] : sizes)
    if (value < 1)
      return op->emitOpError()
             << "expects '" << name << "' to be at least 1, got " << value;
  return success();
}

LogicalResult DmaLoadOp::verify() {
  return verifySizes(*this, {{"tiles", getTiles()},
                             {"bytes", getBytes()},
                             {"buffers", getBuffers()}});
}
LogicalResult DmaStoreOp::verify() {
  return verifySizes(*this, {{"tiles", getTiles()}, {"bytes", getBytes()}});
}
static LogicalResult verifyMatmul(Operation *op, int64_t tiles, int64_t m,
                                  int64_t n, int64_t k, StringRef type) {
  if (type != "f32" && type != "bf16")
    return op->emitOpError()
           << "expects element_type f32 or bf16, got '" << type << "'";
  return verifySizes(op, {{"tiles", tiles}, {"m", m}, {"n", n}, {"k", k}});
}
LogicalResult MmeMatmulOp::verify() {
  return verifyMatmul(*this, getTiles(), getM(), getN(), getK(),
                      getElementType());
}
LogicalResult TpcMatmulOp::verify() {
  return verifyMatmul(*this, getTiles(), getM(), getN(), getK(),
                      getElementType());
}
LogicalResult TpcElementwiseOp::verify() {
  if (getOpsPerElement().convertToDouble() <= 0)
    return emitOpError() << "expects a positive ops_per_element";
  return verifySizes(*this,
                     {{"tiles", getTiles()}, {"elements", getElements()}});
}
/// Per-tile sizes: one per tile, none negative (a block of rows with no
/// non-zeros costs its start-up only).
static LogicalResult verifyPerTile(Operation *op, StringRef name,
                                   std::optional<ArrayRef<int64_t>> perTile,
                                   int64_t tiles) {
  if (!perTile)
    return success();
  if (static_cast<int64_t>(perTile->size()) != tiles)
    return op->emitOpError() << "expects one '" << name << "' entry per tile ("
                             << tiles << "), got " << perTile->size();
  for (int64_t v : *perTile)
    if (v < 0)
      return op->emitOpError()
             << "expects non-negative '" << name << "' entries, got " << v;
  return success();
}

LogicalResult TpcReduceOp::verify() {
  if (getOpsPerElement().convertToDouble() <= 0)
    return emitOpError() << "expects a positive ops_per_element";
  if (failed(
          verifyPerTile(*this, "tile_elements", getTileElements(), getTiles())))
    return failure();
  return verifySizes(*this,
                     {{"tiles", getTiles()}, {"elements", getElements()}});
}
LogicalResult TpcSoftmaxOp::verify() {
  return verifySizes(
      *this, {{"tiles", getTiles()}, {"rows", getRows()}, {"cols", getCols()}});
}
LogicalResult TpcLayerNormOp::verify() {
  return verifySizes(
      *this, {{"tiles", getTiles()}, {"rows", getRows()}, {"cols", getCols()}});
}

LogicalResult SparseSpmmOp::verify() {
  if (failed(verifyPerTile(*this, "tile_nnz", getTileNnz(), getTiles())))
    return failure();
  return verifySizes(
      *this, {{"tiles", getTiles()}, {"nnz", getNnz()}, {"cols", getCols()}});
}

#define GET_OP_CLASSES
#include "lathe/Target/Accel/IR/AccelOps.cpp.inc"
