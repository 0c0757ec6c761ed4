//===- InstrumentTrace.cpp - Trace events for generated code --------------===//
//
// lathe-cpu-instrument-trace: see Passes.td. Each region's text is
// "<op> at <file:line>|<operand shapes>, <bytes> bytes", a constant global
// the runtime reads when the region ends. Sizes known only at run time are
// '?' in the text; the region's end then also passes their values (and the
// bytes computed from them), in the text's order, which the runtime puts in
// their places.
//
//===----------------------------------------------------------------------===//

#include "lathe/Target/CPU/Passes.h"

#include "lathe/Target/CPU/MessageTable.h"
#include "lathe/Target/CPU/RuntimeCalls.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECPUINSTRUMENTTRACE
#include "lathe/Target/CPU/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

constexpr StringLiteral kBegin = "lathe_rt_trace_region_begin";
constexpr StringLiteral kEnd = "lathe_rt_trace_region_end";

void printLocation(Location loc, llvm::raw_ostream &os) {
  if (auto file = dyn_cast<FileLineColLoc>(loc)) {
    StringRef name = file.getFilename().getValue();
    os << " at " << name.substr(name.find_last_of('/') + 1) << ':'
       << file.getLine();
  } else if (auto fused = dyn_cast<FusedLoc>(loc)) {
    for (Location inner : fused.getLocations())
      if (isa<FileLineColLoc>(inner))
        return printLocation(inner, os);
  } else if (auto named = dyn_cast<NameLoc>(loc)) {
    os << " '" << named.getName().getValue() << "'";
  }
}

constexpr StringLiteral kEndSized = "lathe_rt_trace_region_end_sized";

/// Bytes of one element, or 0 when it has no fixed size here.
int64_t elementBytes(Type type) {
  if (type.isIntOrFloat())
    return (type.getIntOrFloatBitWidth() + 7) / 8;
  if (type.isIndex())
    return 8; // The CPU target's index is 64-bit.
  return 0;
}

/// "f32[4x8] f32[8] -> f32[4x8], 288 bytes" over the memref operands
/// (outputs: a linalg op's inits, a copy's target). A dynamic size prints as
/// '?' and is appended to `dynamicSizes` (a `memref.dim` built with `b`), and
/// the bytes then print as '?' too and are returned in `dynamicBytes`: the
/// runtime fills in the values. An element type without a fixed size is not
/// counted ("N+ bytes").
void printOperands(Operation *op, OpBuilder &b, llvm::raw_ostream &os,
                   SmallVectorImpl<Value> &dynamicSizes, Value &dynamicBytes) {
  unsigned numInputs = op->getNumOperands();
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
    numInputs = linalgOp.getNumDpsInputs();
  else if (isa<memref::CopyOp>(op))
    numInputs = 1;
  Location loc = op->getLoc();
  int64_t bytes = 0;
  bool uncounted = false;
  bool first = true;
  dynamicBytes = {};
  for (auto [i, operand] : llvm::enumerate(op->getOperands())) {
    auto type = dyn_cast<MemRefType>(operand.getType());
    if (!type)
      continue;
    if (i == numInputs)
      os << (first ? "-> " : " -> ");
    else if (!first)
      os << ' ';
    first = false;
    type.getElementType().print(os);
    os << '[';
    int64_t staticElements = 1;
    Value elements; // The dynamic sizes' product, when there are any.
    for (auto [d, size] : llvm::enumerate(type.getShape())) {
      os << (d ? "x" : "");
      if (!ShapedType::isDynamic(size)) {
        os << size;
        staticElements *= size;
        continue;
      }
      os << '?';
      Value dim = arith::IndexCastOp::create(
          b, loc, b.getI64Type(), memref::DimOp::create(b, loc, operand, d));
      dynamicSizes.push_back(dim);
      elements = elements ? arith::MulIOp::create(b, loc, elements, dim) : dim;
    }
    os << ']';
    int64_t width = elementBytes(type.getElementType());
    if (!width) {
      uncounted = true;
      continue;
    }
    if (!elements) {
      bytes += staticElements * width;
      continue;
    }
    Value scale =
        arith::ConstantIntOp::create(b, loc, staticElements * width, 64);
    Value operandBytes = arith::MulIOp::create(b, loc, elements, scale);
    dynamicBytes =
        dynamicBytes ? arith::AddIOp::create(b, loc, dynamicBytes, operandBytes)
                     : operandBytes;
  }
  if (dynamicBytes) {
    if (bytes)
      dynamicBytes = arith::AddIOp::create(
          b, loc, dynamicBytes,
          arith::ConstantIntOp::create(b, loc, bytes, 64));
    os << ", ?" << (uncounted ? "+" : "") << " bytes";
    return;
  }
  os << ", " << bytes << (uncounted ? "+ bytes" : " bytes");
}

struct LatheCPUInstrumentTrace
    : public lathe::impl::LatheCPUInstrumentTraceBase<LatheCPUInstrumentTrace> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Operation *> regions;
    module.walk([&](Operation *op) {
      if (!isa<linalg::LinalgOp, memref::CopyOp>(op))
        return WalkResult::advance();
      if (!op->getParentOfType<func::FuncOp>())
        return WalkResult::advance();
      // Only ops on buffers are generated code at this point.
      if (!llvm::all_of(op->getOperandTypes(), [](Type t) {
            return !isa<RankedTensorType, UnrankedTensorType>(t);
          }))
        return WalkResult::advance();
      regions.push_back(op);
      return WalkResult::skip(); // Its body is part of the region.
    });
    if (regions.empty())
      return;

    MessageTable names(module, "__lathe_trace_region");
    OpBuilder b(&getContext());
    for (Operation *op : regions) {
      Location loc = op->getLoc();
      std::string text;
      llvm::raw_string_ostream os(text);
      os << op->getName().getStringRef();
      printLocation(loc, os);
      os << '|';
      b.setInsertionPointAfter(op);
      SmallVector<Value> sizes;
      Value bytes;
      printOperands(op, b, os, sizes, bytes);
      // After the op and what printOperands computed from its operands.
      OpBuilder::InsertPoint end = b.saveInsertionPoint();

      b.setInsertionPoint(op);
      Value name = names.get(b, loc, text);
      emitRuntimeCall(module, b, loc, kBegin, {name});
      b.restoreInsertionPoint(end);
      if (sizes.empty()) {
        emitRuntimeCall(module, b, loc, kEnd, {name});
        continue;
      }
      // The run-time values of the text's '?'s, in order. The buffer lives
      // in the function's entry block, so a region in a loop does not grow
      // the stack.
      if (bytes)
        sizes.push_back(bytes);
      Value buffer;
      {
        OpBuilder::InsertionGuard guard(b);
        auto func = op->getParentOfType<func::FuncOp>();
        b.setInsertionPointToStart(&func.getBody().front());
        buffer = memref::AllocaOp::create(
            b, loc, MemRefType::get({(int64_t)sizes.size()}, b.getI64Type()));
      }
      for (auto [i, size] : llvm::enumerate(sizes))
        memref::StoreOp::create(
            b, loc, size, buffer,
            ValueRange{arith::ConstantIndexOp::create(b, loc, i)});
      emitRuntimeCall(module, b, loc, kEndSized, {name, buffer});
    }
  }
};

} // namespace
