//===- HostBuffers.cpp - Buffers the CUDA target keeps in host memory -----===//

#include "lathe/Target/CUDA/HostBuffers.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;
using namespace mlir::lathe;

bool mlir::lathe::onHostCode(Operation *op) {
  for (Operation *p = op->getParentOp(); p; p = p->getParentOp()) {
    if (isa<linalg::LinalgOp, scf::ParallelOp, gpu::LaunchOp, gpu::GPUModuleOp>(
            p))
      return false;
    if (isa<func::FuncOp>(p))
      return true;
  }
  return false;
}

namespace {

/// `v` without the memref.casts around it.
Value castRoot(Value v) {
  while (auto cast = v.getDefiningOp<memref::CastOp>())
    v = cast.getSource();
  return v;
}

/// A rank-1 list of index or i1 with the identity layout.
bool isListType(Type type) {
  auto memref = dyn_cast<MemRefType>(type);
  if (!memref || memref.getRank() != 1 || !memref.getLayout().isIdentity())
    return false;
  Type element = memref.getElementType();
  return isa<IndexType>(element) || element.isInteger(1);
}

/// Whether every use of `buffer` (through casts) keeps it on the host,
/// given the candidates still in `host`.
bool usesStayOnHost(Value buffer, const llvm::DenseSet<Value> &host,
                    SymbolTable &symbols) {
  SmallVector<Value> worklist = {buffer};
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (auto cast = dyn_cast<memref::CastOp>(user)) {
        worklist.push_back(cast.getResult());
        continue;
      }
      if (isa<memref::DimOp, memref::DeallocOp>(user))
        continue;
      if (isa<memref::LoadOp>(user) && onHostCode(user))
        continue;
      if (auto store = dyn_cast<memref::StoreOp>(user);
          store && store.getMemRef() == v && onHostCode(user))
        continue;
      auto call = dyn_cast<func::CallOp>(user);
      auto callee =
          call ? symbols.lookup<func::FuncOp>(call.getCallee()) : nullptr;
      if (!callee || callee.isExternal() ||
          !host.contains(callee.getArgument(use.getOperandNumber())))
        return false;
    }
  }
  return true;
}

/// Whether every use of `func` is a call that passes lists of `host` as its
/// list arguments in `host`.
bool callersPassHostLists(func::FuncOp func, ModuleOp module,
                          const llvm::DenseSet<Value> &host) {
  auto uses = SymbolTable::getSymbolUses(func, module);
  if (!uses)
    return false;
  for (const SymbolTable::SymbolUse &use : *uses) {
    auto call = dyn_cast<func::CallOp>(use.getUser());
    if (!call)
      return false;
    for (BlockArgument arg : func.getArguments())
      if (host.contains(arg) &&
          !host.contains(castRoot(call.getOperand(arg.getArgNumber()))))
        return false;
  }
  return true;
}

} // namespace

llvm::DenseSet<Value> mlir::lathe::findHostBuffers(ModuleOp module) {
  llvm::DenseSet<Value> host;
  module.walk([&](memref::AllocOp alloc) {
    if (isListType(alloc.getType()) && alloc.getType().hasStaticShape() &&
        onHostCode(alloc))
      host.insert(alloc.getResult());
  });
  for (auto func : module.getOps<func::FuncOp>())
    if (!func.isExternal() && func.isPrivate())
      for (BlockArgument arg : func.getArguments())
        if (isListType(arg.getType()))
          host.insert(arg);
  // Drop candidates until every use of every one stays on the host.
  SymbolTable symbols(module);
  bool changed = true;
  while (changed) {
    SmallVector<Value> dropped;
    for (Value v : host) {
      bool keep = usesStayOnHost(v, host, symbols);
      if (keep)
        if (auto arg = dyn_cast<BlockArgument>(v))
          keep = callersPassHostLists(
              cast<func::FuncOp>(arg.getOwner()->getParentOp()), module, host);
      if (!keep)
        dropped.push_back(v);
    }
    for (Value v : dropped)
      host.erase(v);
    changed = !dropped.empty();
  }
  return host;
}

bool mlir::lathe::isHostBuffer(const llvm::DenseSet<Value> &host,
                               Value buffer) {
  return host.contains(castRoot(buffer));
}
