//===- QuantizeInt8.cpp - Calibration and int8 choice for kernels ---------===//
//
// lathe-cpu-quantize-int8: see Passes.td.
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Target/CPU/IR/CPUDialect.h"
#include "lathe/Target/CPU/Passes.h"
#include "lathe/Target/CPU/RuntimeCalls.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECPUQUANTIZEINT8
#include "lathe/Target/CPU/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

bool isF32Memref(Value value) {
  auto type = dyn_cast<MemRefType>(value.getType());
  return type && type.getElementType().isF32();
}

/// A matmul or convolution the int8 kernels can run: f32 on memrefs, with a
/// constant weight.
bool isSite(Operation *op) {
  if (!llvm::all_of(op->getOperands(), isF32Memref))
    return false;
  if (auto matmul = dyn_cast<MatmulOp>(op))
    return matmul.getAlpha().convertToFloat() == 1.0f &&
           cast<MemRefType>(matmul.getRhs().getType()).getRank() == 2 &&
           isConstantBuffer(matmul.getRhs());
  if (auto conv = dyn_cast<Conv2DOp>(op))
    return isConstantBuffer(conv.getFilter());
  return false;
}

struct LatheCPUQuantizeInt8
    : public lathe::impl::LatheCPUQuantizeInt8Base<LatheCPUQuantizeInt8> {
  using Base::Base;

  // The CPU target's dialect (its decision attribute) is a dependent dialect
  // here rather than in Passes.td, whose generated header every CPU pass
  // includes.
  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    registry.insert<cpu::CPUDialect>();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Operation *> sites;
    module.walk([&](Operation *op) {
      if (isa<MatmulOp, Conv2DOp>(op) && isSite(op))
        sites.push_back(op);
    });
    if (!calibrate && ranges.empty())
      return;
    IRRewriter rewriter(&getContext());
    if (calibrate) {
      for (auto [site, op] : llvm::enumerate(sites)) {
        rewriter.setInsertionPoint(op);
        emitRuntimeCall(module, rewriter, op->getLoc(),
                        "lathe_rt_observe_range_f32", {op->getOperand(0)},
                        ArrayRef<int64_t>{static_cast<int64_t>(site)});
      }
      return;
    }
    if (ranges.size() != 2 * sites.size()) {
      module.emitError() << "lathe-cpu-quantize-int8: " << ranges.size() / 2
                         << " calibrated range(s) given for " << sites.size()
                         << " kernel site(s); calibrate this module again";
      return signalPassFailure();
    }
    Builder b(&getContext());
    for (auto [site, op] : llvm::enumerate(sites)) {
      double lo = ranges[2 * site], hi = ranges[2 * site + 1];
      if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi)
        continue; // Never reached by calibration: stays f32.
      auto range = b.getDenseF32ArrayAttr(
          {static_cast<float>(lo), static_cast<float>(hi)});
      op->setAttr("lathe.int8_input_range", range);
      op->setAttr("lathe.int8_site", b.getI64IntegerAttr(site));
      setDecision(op, cpu::DecisionAttr::get(&getContext(), range, "int8",
                                             static_cast<int64_t>(site)));
    }
  }
};

} // namespace
