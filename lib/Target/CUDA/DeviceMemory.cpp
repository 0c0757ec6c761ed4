//===- DeviceMemory.cpp - Host code of the CUDA target on device buffers --===//
//
// lathe-cuda-retarget-calls: lathe_rt_* kernel calls become lathe_cuda_*.
// lathe-cuda-index-checks: generated code's index checks record on the device.
// lathe-cuda-device-memory: every buffer host code handles is a device one,
// but for the lists only host code reads and writes (HostBuffers.h).
//
//===----------------------------------------------------------------------===//

#include "lathe/Target/CUDA/Passes.h"

#include "lathe/Target/CPU/MessageTable.h"
#include "lathe/Target/CPU/RuntimeCalls.h"
#include "lathe/Target/CUDA/HostBuffers.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECUDARETARGETCALLS
#define GEN_PASS_DEF_LATHECUDAINDEXCHECKS
#define GEN_PASS_DEF_LATHECUDADEVICEMEMORY
#include "lathe/Target/CUDA/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

constexpr StringLiteral kIndexCheckEnd = "lathe_cuda_index_check_end";
constexpr StringLiteral kAssertCheckEnd = "lathe_cuda_assert_check_end";
constexpr StringLiteral kShapeCheckFailed = "lathe_cuda_shape_check_failed";

/// The qcomm kernels and Comm.h's typed all-gathers and all-to-alls
/// (CUDAQComm.h).
bool isCudaQCommKernel(StringRef name) {
  static const llvm::StringSet<> kernels = {
      "quantize_f32", "dequantize_f32", "dequantize_reduce_f32",
      "dequantize_reduce_requantize_f32", "hadamard32_f32"};
  if (kernels.contains(name))
    return true;
  for (StringRef type : {"i8", "i16", "i32", "i64", "f16", "bf16", "f64"})
    if (name == ("comm_all_gather_" + type).str() ||
        name == ("comm_all_to_all_" + type).str())
      return true;
  return false;
}

/// The kernels runtime/cuda implements with the CPU runtime's ABI
/// (CUDA.h, CUDAKernels.h, CUDAQComm.h).
bool isCudaRuntimeKernel(StringRef name) {
  if (isCudaQCommKernel(name))
    return true;
  static const llvm::StringSet<> kernels = {"matmul_f32",
                                            "matmul_scaled_f32",
                                            "conv2d_f32",
                                            "conv2d_pool_f32",
                                            "pool2d_f32",
                                            "pool2d_padded_f32",
                                            "softmax_f32",
                                            "masked_softmax_f32",
                                            "layer_norm_f32",
                                            "chunked_attention_f32",
                                            "chunked_attention_lse_f32",
                                            "chunked_attention_backward_f32",
                                            "masked_attention_f32",
                                            "cross_modal_reduce_f32",
                                            "bank_append_policy_f32",
                                            "spmm_csr_f32",
                                            "spmm_csr_f32_i32",
                                            "spmm_tiled_f32",
                                            "spmm_tiled_f32_i32",
                                            "csr_transpose",
                                            "csr_transpose_i32",
                                            "rnn_f32",
                                            "comm_all_gather_f32",
                                            "comm_reduce_scatter_sum_f32",
                                            "comm_all_reduce_sum_f32",
                                            "comm_all_to_all_f32",
                                            "comm_rank",
                                            "shape_check_failed"};
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
                           << "' (runtime/cuda implements the matmul, "
                              "convolution, pooling, softmax, layer norm, "
                              "chunked attention, cross-modal reduction, "
                              "memory bank, SpMM, CSR transpose, LSTM/GRU and "
                              "qcomm quantization kernels, and the "
                              "all-gather, reduce-scatter, all-reduce and "
                              "all-to-all over NCCL): run "
                              "this model on the CPU backend";
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

/// The outermost loop nest around `op` that becomes GPU code: the
/// outermost linalg op or scf.parallel among its ancestors in its function.
Operation *outermostLoop(Operation *op) {
  Operation *found = nullptr;
  for (Operation *p = op->getParentOp(); p && !isa<func::FuncOp>(p);
       p = p->getParentOp())
    if (isa<linalg::LinalgOp, scf::ParallelOp>(p))
      found = p;
  return found;
}

/// `what` re-created at the builder's point when it is a cast of a
/// memref.get_global (the guard's message); null otherwise.
Value rematerializeMessage(OpBuilder &b, Value what) {
  auto cast = what.getDefiningOp<memref::CastOp>();
  auto global = cast ? cast.getSource().getDefiningOp<memref::GetGlobalOp>()
                     : what.getDefiningOp<memref::GetGlobalOp>();
  if (!global)
    return nullptr;
  Value g = memref::GetGlobalOp::create(b, global.getLoc(), global.getType(),
                                        global.getName());
  if (!cast)
    return g;
  return memref::CastOp::create(b, cast.getLoc(), cast.getType(), g);
}

/// cf.assert inside a loop nest: the failing threads flag a device record;
/// after the loop the host makes the assert's message the pending error
/// (the kernel goes on, as after a failed index check; the results are not
/// valid and the caller reports the error).
LogicalResult lowerAsserts(ModuleOp module, IRRewriter &rewriter) {
  SmallVector<cf::AssertOp> asserts;
  module.walk([&](cf::AssertOp op) {
    if (outermostLoop(op))
      asserts.push_back(op);
  });
  if (asserts.empty())
    return success();
  MessageTable messages(module, "__lathe_cuda_assert_msg");
  auto recordType = MemRefType::get({4}, rewriter.getI64Type());
  for (cf::AssertOp op : asserts) {
    Operation *loop = outermostLoop(op);
    Location loc = op.getLoc();
    rewriter.setInsertionPoint(loop);
    Value record = memref::AllocOp::create(rewriter, loc, recordType);
    emitRuntimeCall(module, rewriter, loc, "lathe_cuda_index_check_begin",
                    {record});
    rewriter.setInsertionPointAfter(loop);
    Value msg = messages.get(rewriter, loc, op.getMsg());
    emitRuntimeCall(module, rewriter, loc, kAssertCheckEnd, {msg, record});
    memref::DeallocOp::create(rewriter, loc, record);
    rewriter.setInsertionPoint(op);
    Value notOk = arith::XOrIOp::create(
        rewriter, loc, op.getArg(),
        arith::ConstantOp::create(rewriter, loc, rewriter.getBoolAttr(true)));
    auto ifOp = scf::IfOp::create(rewriter, loc, notOk, false);
    rewriter.setInsertionPointToStart(ifOp.thenBlock());
    Value one = arith::ConstantIntOp::create(rewriter, loc, 1, 64);
    Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
    memref::AtomicRMWOp::create(rewriter, loc, arith::AtomicRMWKind::addi, one,
                                record, ValueRange{c0});
    rewriter.eraseOp(op);
  }
  return success();
}

struct LatheCUDAIndexChecks
    : public lathe::impl::LatheCUDAIndexChecksBase<LatheCUDAIndexChecks> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Each check with the loop nest that holds it; each gets a record of its
    // own, so the message read back is the failing check's.
    SmallVector<std::pair<Operation *, func::CallOp>> checks;
    bool failed = false;
    module.walk([&](func::CallOp call) {
      if (call.getCallee() != kIndexCheckFailed)
        return;
      Operation *loop = outermostLoop(call);
      if (!loop || call.getNumOperands() != 4) {
        call.emitError() << "an index check outside a loop nest (host code "
                            "cannot read device data): the CUDA target "
                            "cannot run it";
        failed = true;
        return;
      }
      checks.push_back({loop, call});
    });
    if (failed)
      return signalPassFailure();
    IRRewriter rewriter(&getContext());
    auto i64 = rewriter.getI64Type();
    auto recordType = MemRefType::get({4}, i64);
    for (auto [loop, call] : checks) {
      Location loc = loop->getLoc();
      rewriter.setInsertionPoint(loop);
      Value record = memref::AllocOp::create(rewriter, loc, recordType);
      emitRuntimeCall(module, rewriter, loc, "lathe_cuda_index_check_begin",
                      {record});
      rewriter.setInsertionPointAfter(loop);
      Value what = rematerializeMessage(rewriter, call.getOperand(0));
      if (!what) {
        call.emitError()
            << "expects the index check's message to be a constant";
        return signalPassFailure();
      }
      emitRuntimeCall(module, rewriter, loc, kIndexCheckEnd, {what, record});
      memref::DeallocOp::create(rewriter, loc, record);
      // The first failing thread claims the record and fills it.
      rewriter.setInsertionPoint(call);
      Location l = call.getLoc();
      Value one = arith::ConstantIntOp::create(rewriter, l, 1, 64);
      Value zero = arith::ConstantIntOp::create(rewriter, l, 0, 64);
      Value c0 = arith::ConstantIndexOp::create(rewriter, l, 0);
      Value old = memref::AtomicRMWOp::create(
          rewriter, l, arith::AtomicRMWKind::addi, one, record, ValueRange{c0});
      Value first = arith::CmpIOp::create(rewriter, l, arith::CmpIPredicate::eq,
                                          old, zero);
      auto ifOp = scf::IfOp::create(rewriter, l, first, false);
      rewriter.setInsertionPointToStart(ifOp.thenBlock());
      for (int64_t i = 1; i <= 3; ++i) {
        Value idx = arith::ConstantIndexOp::create(rewriter, l, i);
        memref::StoreOp::create(rewriter, l, call.getOperand(i), record,
                                ValueRange{idx});
      }
      Value msg = call.getOperand(0);
      rewriter.eraseOp(call);
      // The message's cast and global read inside the loop are dead now.
      if (auto cast = msg.getDefiningOp<memref::CastOp>();
          cast && cast->use_empty()) {
        Value src = cast.getSource();
        rewriter.eraseOp(cast);
        if (Operation *g = src.getDefiningOp(); g && g->use_empty())
          rewriter.eraseOp(g);
      }
    }
    if (mlir::failed(lowerAsserts(module, rewriter)))
      return signalPassFailure();
    if (auto decl = module.lookupSymbol<func::FuncOp>(kIndexCheckFailed))
      if (SymbolTable::symbolKnownUseEmpty(decl, module))
        decl.erase();
  }
};

/// True when `global` is text only index-check reports read on the host.
bool isHostOnlyMessage(memref::GetGlobalOp global) {
  SmallVector<Value> worklist = {global.getResult()};
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    for (Operation *user : v.getUsers()) {
      if (auto cast = dyn_cast<memref::CastOp>(user)) {
        worklist.push_back(cast.getResult());
        continue;
      }
      auto call = dyn_cast<func::CallOp>(user);
      if (!call || (call.getCallee() != kIndexCheckEnd &&
                    call.getCallee() != kAssertCheckEnd &&
                    call.getCallee() != kShapeCheckFailed))
        return false;
    }
  }
  return true;
}

/// A host read of a rank-0 device buffer (an optimizer's step counter, a
/// scalar argument used by host arithmetic): a `memref.load` outside every
/// loop nest that becomes a kernel.
bool isHostScalarRead(Operation *op) {
  auto load = dyn_cast<memref::LoadOp>(op);
  if (!load || outermostLoop(op) || op->getParentOfType<gpu::LaunchOp>())
    return false;
  MemRefType type = load.getMemRefType();
  return type.getRank() == 0 && type.getLayout().isIdentity() &&
         !load.getMemref().getDefiningOp<memref::AllocaOp>();
}

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
    // Host bookkeeping (deallocation's pointer and ownership lists) stays in
    // host memory: no kernel or runtime call sees it.
    llvm::DenseSet<Value> host = findHostBuffers(module);
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      SmallVector<Operation *> ops;
      func.walk([&](Operation *op) {
        if (auto alloc = dyn_cast<memref::AllocOp>(op);
            alloc && isHostBuffer(host, alloc))
          return;
        if (auto dealloc = dyn_cast<memref::DeallocOp>(op);
            dealloc && isHostBuffer(host, dealloc.getMemref()))
          return;
        if (isa<memref::AllocOp, memref::DeallocOp, memref::GetGlobalOp,
                memref::CopyOp>(op) ||
            isHostScalarRead(op))
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
          if (isHostOnlyMessage(global))
            continue;
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
        } else if (auto load = dyn_cast<memref::LoadOp>(op)) {
          // Copied to the host stack first: a copy from device memory to
          // pageable host memory returns once it is done (CUDA's rule for
          // cuMemcpyAsync), so the load reads the value.
          auto host = memref::AllocaOp::create(b, loc, load.getMemRefType());
          gpu::MemcpyOp::create(b, loc, Type(), ValueRange{}, host,
                                load.getMemref());
          load.getMemrefMutable().assign(host);
        }
      }
    }
  }
};

} // namespace
