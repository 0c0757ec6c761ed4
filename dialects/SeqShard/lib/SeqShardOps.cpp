//===- SeqShardOps.cpp - Sequence parallelism (Ulysses) -------------------===//

#include "lathe/Dialect/SeqShard/SeqShardOps.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/SmallSet.h"

#include <numeric>

using namespace mlir;
using namespace mlir::lathe;
using namespace mlir::lathe::seqshard;

#include "lathe/Dialect/SeqShard/SeqShardDialect.cpp.inc"
#include "lathe/Dialect/SeqShard/SeqShardEnums.cpp.inc"

void SeqShardDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "lathe/Dialect/SeqShard/SeqShardOps.cpp.inc"
      >();
}

#define GET_OP_CLASSES
#include "lathe/Dialect/SeqShard/SeqShardOps.cpp.inc"

/// The divisors of `n` up to `limit`, as "1, 2, 4".
static std::string divisorsOf(int64_t n, int64_t limit = 64) {
  std::string out;
  for (int64_t d = 1; d <= std::min(n, limit); ++d)
    if (n % d == 0)
      out += (out.empty() ? "" : ", ") + std::to_string(d);
  return out;
}

std::string mlir::lathe::seqshard::checkUlyssesShape(int64_t degree,
                                                     int64_t seq, int64_t heads,
                                                     int64_t kvHeads) {
  std::string p = std::to_string(degree);
  // Degrees that divide both the heads and the sequence.
  std::string work = divisorsOf(std::gcd(heads, seq));
  if (heads % degree != 0)
    return "the " + std::to_string(heads) +
           " attention heads are not divisible by the degree " + p +
           " (each rank computes heads / degree heads): use a degree "
           "among " +
           work;
  if (seq % degree != 0)
    return "the sequence of " + std::to_string(seq) +
           " positions is not divisible by the degree " + p +
           " (each rank holds sequence / degree positions): use a degree "
           "among " +
           work + " or pad the sequence to a multiple of " + p;
  if (kvHeads > 0 && kvHeads != heads) {
    std::string kv = std::to_string(kvHeads);
    if (heads % kvHeads != 0)
      return "grouped-query attention needs the " + std::to_string(heads) +
             " query heads to be a multiple of the " + kv + " key/value heads";
    if (kvHeads % degree != 0 && degree % kvHeads != 0)
      return "the " + kv +
             " key/value heads of grouped-query attention neither divide "
             "nor are divisible by the degree " +
             p + ": use a degree among " + divisorsOf(kvHeads) +
             " or a multiple of " + kv + " that divides the " +
             std::to_string(heads) + " query heads";
    if (kvHeads % degree != 0)
      return "the " + kv +
             " key/value heads of grouped-query attention are "
             "fewer than the degree " +
             p +
             ": replicating a key/value head to several ranks is not "
             "implemented yet; use a degree among " +
             divisorsOf(kvHeads);
  }
  return "";
}

namespace {

/// Shared verification of scatter_heads (`scatter`) and gather_heads.
template <typename OpTy> LogicalResult verifyShapes(OpTy op, bool scatter) {
  auto in = cast<RankedTensorType>(op.getInput().getType());
  auto out = cast<RankedTensorType>(op.getResult().getType());
  if (in.getRank() != 4 || out.getRank() != 4 || !in.hasStaticShape() ||
      !out.hasStaticShape())
    return op.emitOpError("expects static rank-4 tensors (")
           << stringifyLayout(op.getLayout()) << "), got " << in << " -> "
           << out;
  if (in.getElementType() != out.getElementType())
    return op.emitOpError("expects the same element type, got ")
           << in.getElementType() << " and " << out.getElementType();
  if (op.getGridAxes().empty())
    return op.emitOpError("expects at least one grid axis");
  if (auto q = op.getQueryHeads()) {
    if (!scatter)
      return op.emitOpError("query_heads marks the key or value of "
                            "grouped-query attention, which is only "
                            "scattered");
    if (*q < 1)
      return op.emitOpError("expects positive query_heads, got ") << *q;
  }
  if (!op.getQuantBits()) {
    if (op.getQuantGroupSize() || op.getHadamard())
      return op.emitOpError("quant_group_size and hadamard need quant_bits "
                            "(a quantized all-to-all)");
    return success();
  }
  int64_t bits = *op.getQuantBits(), group = op.getQuantGroupSizeOr128();
  if (bits != 4 && bits != 8)
    return op.emitOpError("expects quant_bits to be 4 or 8, got ") << bits;
  if (group <= 0)
    return op.emitOpError("expects a positive quant_group_size, got ") << group;
  if (bits == 4 && group % 2 != 0)
    return op.emitOpError("expects an even quant_group_size with 4 bits (two "
                          "values per byte), got ")
           << group;
  if (op.getHadamard() && group % 32 != 0)
    return op.emitOpError("with hadamard expects quant_group_size to be a "
                          "multiple of 32 (the transform's blocks of 32 stay "
                          "within a group), got ")
           << group;
  if (!in.getElementType().isF32())
    return op.emitOpError("quantizes f32 values, got ") << in.getElementType();
  return success();
}

template <typename OpTy>
LogicalResult verifyGroup(OpTy op, bool scatter,
                          SymbolTableCollection &symbolTable) {
  shard::GridOp grid = shard::getGridOrNull(op, op.getGridAttr(), symbolTable);
  if (!grid)
    return op.emitOpError("expects ")
           << op.getGridAttr() << " to name a shard.grid";
  ArrayRef<int64_t> shape = grid.getShape();
  llvm::SmallSet<int16_t, 4> seen;
  int64_t p = 1;
  for (int16_t axis : op.getGridAxes()) {
    if (axis < 0 || axis >= static_cast<int64_t>(shape.size()))
      return op.emitOpError("grid axis ")
             << axis << " is out of range for " << op.getGridAttr()
             << " of rank " << shape.size();
    if (!seen.insert(axis).second)
      return op.emitOpError("grid axis ") << axis << " appears more than once";
    if (ShapedType::isDynamic(shape[axis]))
      return op.emitOpError("expects a static size on grid axis ")
             << axis << " of " << op.getGridAttr();
    p *= shape[axis];
  }
  auto in = cast<RankedTensorType>(op.getInput().getType());
  auto out = cast<RankedTensorType>(op.getResult().getType());
  int64_t s = op.getSeqDim(), h = op.getHeadsDim();
  // The sharded-sequence side and the sharded-heads side.
  RankedTensorType seqSide = scatter ? in : out, headSide = scatter ? out : in;
  int64_t seq = headSide.getDimSize(s);
  int64_t heads = seqSide.getDimSize(h);
  int64_t queryHeads = op.getQueryHeads() ? *op.getQueryHeads() : heads;
  std::string why =
      checkUlyssesShape(p, seq, queryHeads, op.getQueryHeads() ? heads : 0);
  if (!why.empty())
    return op.emitOpError() << why;
  SmallVector<int64_t> expected(seqSide.getShape());
  expected[s] = seqSide.getDimSize(s) * p;
  expected[h] = heads / p;
  if (headSide.getShape() != ArrayRef<int64_t>(expected)) {
    auto d = op.emitOpError("on a group of ")
             << p << " processes expects "
             << (scatter ? "a result" : "an input") << " of shape ";
    llvm::interleave(expected, d, "x");
    d << " (" << stringifyLayout(op.getLayout()) << ": sequence x " << p
      << ", heads / " << p << "), got " << headSide;
    return d;
  }
  if (op.getQuantBits()) {
    // The block each member receives: numel(input) / P values, sent
    // contiguously; groups must not straddle two blocks.
    int64_t block = in.getNumElements() / p;
    int64_t group = op.getQuantGroupSizeOr128();
    if (block % group != 0)
      return op.emitOpError("quantizes the all-to-all in groups of ")
             << group << " values, but each of the " << p
             << " blocks a process sends holds " << block
             << " values (numel(input) / " << p
             << "), not a multiple of the group size, so a group would "
                "straddle two blocks: use a quant_group_size dividing "
             << block;
  }
  return success();
}

} // namespace

LogicalResult ScatterHeadsOp::verify() { return verifyShapes(*this, true); }

LogicalResult
ScatterHeadsOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  return verifyGroup(*this, true, symbolTable);
}

LogicalResult GatherHeadsOp::verify() { return verifyShapes(*this, false); }

LogicalResult
GatherHeadsOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  return verifyGroup(*this, false, symbolTable);
}
