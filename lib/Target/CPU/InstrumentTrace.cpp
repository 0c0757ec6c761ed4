//===- InstrumentTrace.cpp - Trace events for generated code --------------===//
//
// lathe-cpu-instrument-trace: see Passes.td. Each region's text is
// "<op> at <file:line>|<operand shapes>, <bytes> bytes", a constant global
// the runtime reads when the region ends.
//
//===----------------------------------------------------------------------===//

#include "lathe/Target/CPU/Passes.h"

#include "MessageTable.h"

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

/// "f32[4x8] f32[8] -> f32[4x8], 288 bytes" over the memref operands
/// (outputs: a linalg op's inits, a copy's target). Dynamic sizes print as
/// '?' and are not counted: the bytes then read "N+ bytes".
void printOperands(Operation *op, llvm::raw_ostream &os) {
  unsigned numInputs = op->getNumOperands();
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
    numInputs = linalgOp.getNumDpsInputs();
  else if (isa<memref::CopyOp>(op))
    numInputs = 1;
  int64_t bytes = 0;
  bool dynamic = false;
  bool first = true;
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
    for (auto [d, size] : llvm::enumerate(type.getShape())) {
      os << (d ? "x" : "");
      if (ShapedType::isDynamic(size))
        os << '?';
      else
        os << size;
    }
    os << ']';
    if (!type.hasStaticShape() || !type.getElementType().isIntOrFloat())
      dynamic = true;
    else
      bytes +=
          type.getNumElements() * ((type.getElementTypeBitWidth() + 7) / 8);
  }
  // Sizes known only when the region runs are not counted.
  os << ", " << bytes << (dynamic ? "+ bytes" : " bytes");
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
    auto unranked = UnrankedMemRefType::get(b.getI8Type(), 0);
    auto fnType = b.getFunctionType({unranked}, {});
    for (Operation *op : regions) {
      std::string text;
      llvm::raw_string_ostream os(text);
      os << op->getName().getStringRef();
      printLocation(op->getLoc(), os);
      os << '|';
      printOperands(op, os);

      Location loc = op->getLoc();
      b.setInsertionPoint(op);
      Value name = names.get(b, loc, text);
      names.declare(b, loc, kBegin, fnType);
      names.declare(b, loc, kEnd, fnType);
      func::CallOp::create(b, loc, kBegin, TypeRange(), ValueRange{name});
      b.setInsertionPointAfter(op);
      func::CallOp::create(b, loc, kEnd, TypeRange(), ValueRange{name});
    }
  }
};

} // namespace
