//===- DeviceMemory.cpp - Host code of the CUDA target on device buffers --===//
//
// lathe-cuda-retarget-calls: lathe_rt_* kernel calls become lathe_cuda_*.
// lathe-cuda-device-memory: every buffer host code handles is a device one.
//
//===----------------------------------------------------------------------===//

#include "lathe/Target/CUDA/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECUDARETARGETCALLS
#define GEN_PASS_DEF_LATHECUDADEVICEMEMORY
#include "lathe/Target/CUDA/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

/// The kernels runtime/cuda implements with the CPU runtime's ABI.
bool isCudaRuntimeKernel(StringRef name) {
  static const llvm::StringSet<> kernels = {"matmul_f32", "matmul_scaled_f32",
                                            "conv2d_f32", "conv2d_pool_f32",
                                            "pool2d_f32"};
  return kernels.contains(name);
}

struct LatheCUDARetargetCalls
    : public lathe::impl::LatheCUDARetargetCallsBase<LatheCUDARetargetCalls> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> declarations;
    for (auto func : module.getOps<func::FuncOp>())
      if (func.isExternal() && func.getSymName().starts_with("lathe_rt_"))
        declarations.push_back(func);
    for (func::FuncOp func : declarations) {
      StringRef kernel = func.getSymName().drop_front(strlen("lathe_rt_"));
      if (!isCudaRuntimeKernel(kernel)) {
        // Name a call site when there is one: that is what the user wrote.
        Operation *where = func;
        if (auto uses = SymbolTable::getSymbolUses(func, module))
          if (!uses->empty())
            where = uses->begin()->getUser();
        where->emitError() << "the CUDA target has no kernel for '@"
                           << func.getSymName()
                           << "' (runtime/cuda implements lathe_cuda_"
                              "{matmul,matmul_scaled,conv2d,conv2d_pool,"
                              "pool2d}_f32): run this model on the CPU "
                              "backend";
        return signalPassFailure();
      }
      std::string name = ("lathe_cuda_" + kernel).str();
      if (failed(SymbolTable::replaceAllSymbolUses(
              func, StringAttr::get(&getContext(), name), module)))
        return signalPassFailure();
      func.setSymName(name);
    }
  }
};

/// Deallocates `buffer` before every return of `func` that does not return
/// it.
void deallocBeforeReturns(func::FuncOp func, Value buffer, OpBuilder &b) {
  func.walk([&](func::ReturnOp ret) {
    if (llvm::is_contained(ret.getOperands(), buffer))
      return;
    b.setInsertionPoint(ret);
    gpu::DeallocOp::create(b, ret.getLoc(), Type(), ValueRange{}, buffer);
  });
}

struct LatheCUDADeviceMemory
    : public lathe::impl::LatheCUDADeviceMemoryBase<LatheCUDADeviceMemory> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    OpBuilder b(&getContext());
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      SmallVector<Operation *> ops;
      func.walk([&](Operation *op) {
        if (isa<memref::AllocOp, memref::DeallocOp, memref::GetGlobalOp,
                memref::CopyOp>(op))
          ops.push_back(op);
      });
      for (Operation *op : ops) {
        b.setInsertionPoint(op);
        Location loc = op->getLoc();
        if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
          auto device = gpu::AllocOp::create(
              b, loc, alloc.getType(), Type(), ValueRange{},
              alloc.getDynamicSizes(), alloc.getSymbolOperands(), false);
          alloc.replaceAllUsesWith(device.getMemref());
          alloc.erase();
        } else if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
          gpu::DeallocOp::create(b, loc, Type(), ValueRange{},
                                 dealloc.getMemref());
          dealloc.erase();
        } else if (auto global = dyn_cast<memref::GetGlobalOp>(op)) {
          // Constants and weights live in host memory: a device copy where
          // they are read (each call; the runtime's allocator recycles it).
          b.setInsertionPointAfter(global);
          auto device = gpu::AllocOp::create(b, loc, global.getType(), Type(),
                                             ValueRange{}, ValueRange{},
                                             ValueRange{}, false);
          auto copy = gpu::MemcpyOp::create(b, loc, Type(), ValueRange{},
                                            device.getMemref(), global);
          global.getResult().replaceAllUsesExcept(device.getMemref(), copy);
          deallocBeforeReturns(func, device.getMemref(), b);
        } else if (auto copy = dyn_cast<memref::CopyOp>(op)) {
          linalg::CopyOp::create(b, loc, copy.getSource(), copy.getTarget());
          copy.erase();
        }
      }
    }
  }
};

} // namespace
