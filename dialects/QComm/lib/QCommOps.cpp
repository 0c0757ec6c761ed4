//===- QCommOps.cpp - Quantized communication dialect ---------------------===//

#include "lathe/Dialect/QComm/QCommOps.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/SmallSet.h"

#include <optional>

using namespace mlir;
using namespace mlir::lathe;
using namespace mlir::lathe::qcomm;

#include "lathe/Dialect/QComm/QCommDialect.cpp.inc"

void QCommDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "lathe/Dialect/QComm/QCommOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Shared helpers
//===----------------------------------------------------------------------===//

/// Number of elements of a shaped value, or nullopt when a size is dynamic.
static std::optional<int64_t> numElements(Value value) {
  auto type = cast<ShapedType>(value.getType());
  if (!type.hasStaticShape())
    return std::nullopt;
  return type.getNumElements();
}

/// bits in {4, 8}; a positive group size, even with 4 bits (two values per
/// byte, so that a group never splits a byte). `hop` prefixes the message
/// ("intra ", "inter " or "").
static LogicalResult verifyQuantParams(Operation *op, int64_t bits,
                                       int64_t groupSize, StringRef hop = "") {
  if (bits != 4 && bits != 8)
    return op->emitOpError("expects ")
           << hop << "bits to be 4 or 8, got " << bits;
  if (groupSize <= 0)
    return op->emitOpError("expects a positive ")
           << hop << "group size, got " << groupSize;
  if (bits == 4 && groupSize % 2 != 0)
    return op->emitOpError("expects an even ")
           << hop << "group size with 4 bits (two values per byte), got "
           << groupSize;
  return success();
}

/// All shaped operands tensors (then one result per init, of its type) or
/// all memrefs (then no results). Scalar operands (a seed) are neither.
static LogicalResult verifyForm(Operation *op) {
  auto dps = cast<DestinationStyleOpInterface>(op);
  bool buffers = dps.hasPureBufferSemantics();
  if (!buffers && !dps.hasPureTensorSemantics())
    return op->emitOpError("expects all operands to be tensors or all to be "
                           "memrefs");
  if (buffers && op->getNumResults() != 0)
    return op->emitOpError("on memrefs has no results");
  if (!buffers) {
    SmallVector<Type> initTypes;
    for (OpOperand &init : dps.getDpsInitsMutable())
      initTypes.push_back(init.get().getType());
    if (TypeRange(initTypes) != op->getResultTypes())
      return op->emitOpError("on tensors returns one result per init, of "
                             "its type");
  }
  return success();
}

static LogicalResult expectElementType(Operation *op, Value value, Type type,
                                       StringRef name) {
  Type element = cast<ShapedType>(value.getType()).getElementType();
  if (element == type)
    return success();
  return op->emitOpError("expects ")
         << type << " elements in " << name << ", got " << value.getType();
}

/// The packed data and scales of `parts` vectors of n values each.
static LogicalResult verifyPackedSizes(Operation *op, Value values, Value q,
                                       Value scales, int64_t parts,
                                       int64_t bits, int64_t groupSize,
                                       StringRef valuesName) {
  std::optional<int64_t> n = numElements(values);
  if (!n)
    return success();
  if (*n % groupSize != 0)
    return op->emitOpError("expects the ")
           << *n << " values of " << valuesName
           << " to be a multiple of the group size " << groupSize;
  std::optional<int64_t> qn = numElements(q), sn = numElements(scales);
  int64_t bytes = parts * *n * bits / 8, groups = parts * *n / groupSize;
  StringRef times = parts == 1 ? "" : "parts * ";
  if (qn && *qn != bytes)
    return op->emitOpError("expects q to hold ")
           << times << "n * bits / 8 = " << bytes << " bytes, got " << *qn;
  if (sn && *sn != groups)
    return op->emitOpError("expects ")
           << times << "n / group_size = " << groups << " scales, got " << *sn;
  return success();
}

/// Memory effects of the memref form: reads every memref operand, writes the
/// inits. The tensor form has none.
static void getKernelEffects(
    Operation *op,
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  auto dps = cast<DestinationStyleOpInterface>(op);
  for (OpOperand &operand : op->getOpOperands()) {
    if (!isa<MemRefType>(operand.get().getType()))
      continue;
    effects.emplace_back(MemoryEffects::Read::get(), &operand,
                         SideEffects::DefaultResource::get());
    if (dps.isDpsInit(&operand))
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
  }
}

static FailureOr<int64_t> countPerValue(Value values, int64_t perValue) {
  std::optional<int64_t> n = numElements(values);
  if (!n)
    return failure();
  return perValue * *n;
}

//===----------------------------------------------------------------------===//
// QuantizeOp
//===----------------------------------------------------------------------===//

LogicalResult QuantizeOp::verify() {
  if (failed(verifyForm(*this)) ||
      failed(verifyQuantParams(*this, getBits(), getGroupSize())))
    return failure();
  Builder b(getContext());
  if (failed(expectElementType(*this, getInput(), b.getF32Type(), "input")) ||
      failed(expectElementType(*this, getQInit(), b.getI8Type(), "q")) ||
      failed(
          expectElementType(*this, getScalesInit(), b.getF32Type(), "scales")))
    return failure();
  return verifyPackedSizes(*this, getInput(), getQInit(), getScalesInit(),
                           /*parts=*/1, getBits(), getGroupSize(), "input");
}

/// Per value: |x| and the group maximum, the multiply by 1 / scale, the
/// rounding (plus the random offset when stochastic).
FailureOr<int64_t> QuantizeOp::getFlopCount() {
  return countPerValue(getInput(), isStochastic() ? 5 : 4);
}

void QuantizeOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  getKernelEffects(*this, effects);
}

//===----------------------------------------------------------------------===//
// DequantizeOp
//===----------------------------------------------------------------------===//

LogicalResult DequantizeOp::verify() {
  if (failed(verifyForm(*this)) ||
      failed(verifyQuantParams(*this, getBits(), getGroupSize())))
    return failure();
  Builder b(getContext());
  if (failed(expectElementType(*this, getQ(), b.getI8Type(), "q")) ||
      failed(expectElementType(*this, getScales(), b.getF32Type(), "scales")) ||
      failed(expectElementType(*this, getInit(), b.getF32Type(), "init")))
    return failure();
  return verifyPackedSizes(*this, getInit(), getQ(), getScales(),
                           /*parts=*/1, getBits(), getGroupSize(), "init");
}

FailureOr<int64_t> DequantizeOp::getFlopCount() {
  return countPerValue(getInit(), getAccumulate() ? 2 : 1);
}

void DequantizeOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  getKernelEffects(*this, effects);
}

//===----------------------------------------------------------------------===//
// DequantizeReduceOp
//===----------------------------------------------------------------------===//

LogicalResult DequantizeReduceOp::verify() {
  if (failed(verifyForm(*this)) ||
      failed(verifyQuantParams(*this, getBits(), getGroupSize())))
    return failure();
  if (static_cast<int64_t>(getParts()) < 1)
    return emitOpError("expects at least one part, got ")
           << static_cast<int64_t>(getParts());
  Builder b(getContext());
  if (failed(expectElementType(*this, getQ(), b.getI8Type(), "q")) ||
      failed(expectElementType(*this, getScales(), b.getF32Type(), "scales")) ||
      failed(expectElementType(*this, getInit(), b.getF32Type(), "init")))
    return failure();
  return verifyPackedSizes(*this, getInit(), getQ(), getScales(), getParts(),
                           getBits(), getGroupSize(), "init");
}

/// A multiply and an add per value and part.
FailureOr<int64_t> DequantizeReduceOp::getFlopCount() {
  return countPerValue(getInit(), 2 * getParts());
}

void DequantizeReduceOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  getKernelEffects(*this, effects);
}

//===----------------------------------------------------------------------===//
// HadamardOp
//===----------------------------------------------------------------------===//

LogicalResult HadamardOp::verify() {
  if (failed(verifyForm(*this)))
    return failure();
  Builder b(getContext());
  if (failed(expectElementType(*this, getInput(), b.getF32Type(), "input")) ||
      failed(expectElementType(*this, getInit(), b.getF32Type(), "init")))
    return failure();
  std::optional<int64_t> n = numElements(getInput()),
                         m = numElements(getInit());
  if (n && m && *n != *m)
    return emitOpError("expects input and init with the same number of "
                       "values, got ")
           << *n << " and " << *m;
  if (n && *n % 32 != 0)
    return emitOpError("expects a multiple of 32 values (the transform's "
                       "blocks), got ")
           << *n;
  return success();
}

/// log2(32) = 5 butterfly additions and the 1/sqrt(32) scaling per value.
FailureOr<int64_t> HadamardOp::getFlopCount() {
  return countPerValue(getInput(), 6);
}

void HadamardOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  getKernelEffects(*this, effects);
}

//===----------------------------------------------------------------------===//
// Communication ops
//===----------------------------------------------------------------------===//

FailureOr<int64_t> mlir::lathe::qcomm::getStaticGroupSize(
    Operation *op, FlatSymbolRefAttr grid, ArrayRef<int16_t> axes,
    SymbolTableCollection &symbolTable, bool emitErrors) {
  auto fail = [&](auto &&...parts) -> FailureOr<int64_t> {
    if (emitErrors)
      (op->emitOpError() << ... << parts);
    return failure();
  };
  shard::GridOp gridOp = shard::getGridOrNull(op, grid, symbolTable);
  if (!gridOp)
    return fail("expects ", grid, " to name a shard.grid");
  ArrayRef<int64_t> shape = gridOp.getShape();
  llvm::SmallSet<int16_t, 4> seen;
  int64_t size = 1;
  for (int16_t axis : axes) {
    if (axis < 0 || axis >= static_cast<int64_t>(shape.size()))
      return fail("grid axis ", axis, " is out of range for ", grid,
                  " of rank ", shape.size());
    if (!seen.insert(axis).second)
      return fail("grid axis ", axis, " appears more than once");
    if (ShapedType::isDynamic(shape[axis]))
      return fail("expects a static size on grid axis ", axis, " of ", grid);
    size *= shape[axis];
  }
  return size;
}

/// Static 1-D f32 tensors.
static LogicalResult verifyCommTensor(Operation *op, Type type,
                                      StringRef name) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || tensor.getRank() != 1 || !tensor.hasStaticShape() ||
      !tensor.getElementType().isF32())
    return op->emitOpError("expects a static 1-D f32 tensor as ")
           << name << ", got " << type;
  return success();
}

//===----------------------------------------------------------------------===//
// AllGatherOp
//===----------------------------------------------------------------------===//

LogicalResult AllGatherOp::verify() {
  if (failed(verifyCommTensor(*this, getInput().getType(), "input")) ||
      failed(verifyCommTensor(*this, getResult().getType(), "result")))
    return failure();
  if (getAddend() && getAddend().getType() != getResult().getType())
    return emitOpError("expects the addend of the result type ")
           << getResult().getType() << ", got " << getAddend().getType();
  if (getGridAxes().empty())
    return emitOpError("expects at least one grid axis");
  if (failed(verifyQuantParams(*this, getBits(), getGroupSize())))
    return failure();
  int64_t s = getInput().getType().getDimSize(0);
  if (s % getGroupSize() != 0)
    return emitOpError("expects the input's ")
           << s << " values to be a multiple of the group size "
           << getGroupSize();
  return success();
}

LogicalResult
AllGatherOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  FailureOr<int64_t> group = getStaticGroupSize(
      *this, getGridAttr(), getGridAxes(), symbolTable, /*emitErrors=*/true);
  if (failed(group))
    return failure();
  int64_t s = getInput().getType().getDimSize(0);
  int64_t l = getResult().getType().getDimSize(0);
  if (l != s * *group)
    return emitOpError("expects a result of input x group size = ")
           << s << " x " << *group << " = " << s * *group << " values, got "
           << l;
  return success();
}

//===----------------------------------------------------------------------===//
// ReduceScatterOp
//===----------------------------------------------------------------------===//

SmallVector<int16_t> ReduceScatterOp::getGroupAxes() {
  SmallVector<int16_t> axes(getIntraAxes());
  if (auto inter = getInterAxesAttr())
    llvm::append_range(axes, inter.asArrayRef());
  return axes;
}

LogicalResult ReduceScatterOp::verify() {
  if (failed(verifyCommTensor(*this, getInput().getType(), "input")) ||
      failed(verifyCommTensor(*this, getResult().getType(), "result")))
    return failure();
  if (getIntraAxes().empty())
    return emitOpError("expects at least one intra axis");
  if (failed(verifyQuantParams(*this, getIntraBits(), getIntraGroupSize(),
                               "intra ")))
    return failure();
  bool inter = static_cast<bool>(getInterAxesAttr());
  if (inter != static_cast<bool>(getInterBitsAttr()) ||
      inter != static_cast<bool>(getInterGroupSizeAttr()))
    return emitOpError("expects inter axes, bits and group size together "
                       "(or none of them for one hop)");
  if (!inter)
    return success();
  if (getInterAxesAttr().empty())
    return emitOpError("expects at least one inter axis (omit inter(...) "
                       "for one hop)");
  return verifyQuantParams(*this, *getInterBits(), *getInterGroupSize(),
                           "inter ");
}

LogicalResult
ReduceScatterOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  // The whole group first: it names a missing grid, a bad or repeated axis
  // (also one in both lists) once.
  FailureOr<int64_t> group = getStaticGroupSize(
      *this, getGridAttr(), getGroupAxes(), symbolTable, /*emitErrors=*/true);
  if (failed(group))
    return failure();
  int64_t intraSize = *getStaticGroupSize(*this, getGridAttr(), getIntraAxes(),
                                          symbolTable, /*emitErrors=*/false);
  int64_t l = getInput().getType().getDimSize(0);
  int64_t s = getResult().getType().getDimSize(0);
  if (s * *group != l)
    return emitOpError("expects a result of input / group size = ")
           << l << " / " << *group << " values, got " << s;
  int64_t chunk1 = l / intraSize;
  if (chunk1 % getIntraGroupSize() != 0)
    return emitOpError("expects hop 1's chunk of ")
           << l << " / " << intraSize << " = " << chunk1
           << " values to be a multiple of its group size "
           << getIntraGroupSize();
  if (hasInterHop() && s % *getInterGroupSize() != 0)
    return emitOpError("expects hop 2's chunk of ")
           << s << " values to be a multiple of its group size "
           << *getInterGroupSize();
  if (getHadamard() && s % 32 != 0)
    return emitOpError("expects the result's ")
           << s << " values to be a multiple of 32 with hadamard (blocks of "
           << "the transform may not straddle ranks)";
  return success();
}

#define GET_OP_CLASSES
#include "lathe/Dialect/QComm/QCommOps.cpp.inc"
