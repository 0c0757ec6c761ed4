//===- Contract.cpp - What each CUDA phase promises to leave --------------===//

#include "lathe/Target/CUDA/HostBuffers.h"
#include "lathe/Target/CUDA/Passes.h"
#include "lathe/Target/CUDA/Pipeline.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECUDACHECKCONTRACT
#include "lathe/Target/CUDA/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

bool hasTensor(Operation *op) {
  auto isTensor = [](Type t) { return isa<TensorType>(t); };
  return llvm::any_of(op->getOperandTypes(), isTensor) ||
         llvm::any_of(op->getResultTypes(), isTensor);
}

/// Why `op` breaks the contract of `phase`, or empty.
/// `host`: the host bookkeeping lists (HostBuffers.h), host memory in the
/// `gpu` phase.
std::string violation(CudaPhase phase, Operation *op,
                      const llvm::DenseSet<Value> &host) {
  StringRef dialect = op->getDialect() ? op->getDialect()->getNamespace() : "";
  StringRef name = op->getName().getStringRef();
  bool inKernel = op->getParentOfType<gpu::GPUModuleOp>() ||
                  op->getParentOfType<gpu::LaunchOp>();
  switch (phase) {
  case CudaPhase::Import:
    if (dialect == "tosa" || dialect == "train")
      return "no tosa or train op";
    return "";
  case CudaPhase::Kernels:
    if (dialect == "tosa" || dialect == "train" || dialect == "lowrank")
      return "no tosa, train or lowrank op";
    // Every memred op (attention and its gradient, memory banks, the
    // cross-modal reduction) has a kernel.
    // sparsegcn.aggregate, tiled_aggregate and transpose have kernels.
    // Shard collectives run over NCCL; the qcomm compute ops quantized
    // collectives expand to have kernels (runtime/cuda/QComm.cpp).
    if (name == "qcomm.all_gather" || name == "qcomm.reduce_scatter")
      return "no qcomm communication op (qcomm-expand-collectives)";
    if (dialect == "seqshard")
      return "no seqshard op (Ulysses all-to-alls become shard.all_to_all)";
    return "";
  case CudaPhase::Bufferize:
    if (hasTensor(op))
      return "no tensor values";
    return "";
  case CudaPhase::LibraryCalls:
    if (hasTensor(op))
      return "no tensor values";
    if (dialect == "lathe" || dialect == "qcomm")
      return "no lathe or qcomm op (every kernel op becomes a lathe_cuda_* "
             "call)";
    if (auto call = dyn_cast<func::CallOp>(op))
      if (call.getCallee().starts_with("lathe_rt_"))
        return "no call into the CPU runtime";
    return "";
  case CudaPhase::GPU:
    if (dialect == "linalg")
      return "no linalg op";
    if (isa<scf::ParallelOp>(op))
      return "no scf.parallel outside a GPU kernel";
    if (auto load = dyn_cast<memref::LoadOp>(op);
        load && load.getMemref().getDefiningOp<memref::AllocaOp>())
      return ""; // a device scalar copied to the host stack
    if (auto alloc = dyn_cast<memref::AllocOp>(op);
        alloc && isHostBuffer(host, alloc))
      return ""; // host bookkeeping
    if (auto load = dyn_cast<memref::LoadOp>(op);
        load && isHostBuffer(host, load.getMemref()))
      return "";
    if (auto store = dyn_cast<memref::StoreOp>(op);
        store && isHostBuffer(host, store.getMemref()))
      return "";
    if (!inKernel &&
        isa<memref::LoadOp, memref::StoreOp, memref::CopyOp, memref::AllocOp>(
            op))
      return "no host access to memory (host code handles device buffers "
             "only)";
    return "";
  case CudaPhase::Binary:
    if (isa<ModuleOp, gpu::BinaryOp>(op) || dialect == "llvm")
      return "";
    if (dialect == "gpu" && isa<gpu::LaunchFuncOp>(op))
      return "";
    return "only the llvm dialect, gpu.launch_func and one gpu.binary";
  }
  return "";
}

struct LatheCUDACheckContract
    : public lathe::impl::LatheCUDACheckContractBase<LatheCUDACheckContract> {
  using Base::Base;

  void runOnOperation() override {
    CudaPhase checked = phase;
    Operation *first = nullptr;
    std::string why;
    int64_t others = 0;
    llvm::DenseSet<Value> host;
    if (checked == CudaPhase::GPU)
      host = findHostBuffers(getOperation());
    // Pre-order, skipping what is inside an offending op: the op a user
    // wrote is named, not something in its body.
    getOperation().walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (op == getOperation().getOperation())
        return WalkResult::advance();
      std::string reason = violation(checked, op, host);
      if (reason.empty())
        return WalkResult::advance();
      if (!first) {
        first = op;
        why = reason;
      } else {
        ++others;
      }
      return WalkResult::skip();
    });
    if (checked == CudaPhase::Binary && !first) {
      auto binaries = llvm::to_vector(getOperation().getOps<gpu::BinaryOp>());
      if (binaries.size() > 1) {
        first = binaries[1];
        why = "exactly one gpu.binary (lathe-cuda-merge-gpu-modules)";
      }
    }
    if (!first)
      return;
    InFlightDiagnostic diag = first->emitError()
                              << "CUDA phase '" << stringifyCudaPhase(checked)
                              << "' must leave " << why << ", but "
                              << first->getName() << " remains";
    if (others)
      diag.attachNote() << others << " other op(s) break the contract too";
    signalPassFailure();
  }
};

} // namespace
