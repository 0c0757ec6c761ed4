//===- HostBuffers.h - Buffers kept in host memory --------------*- C++ -*-===//
//
// Host code of the CUDA target handles device buffers, with one exception:
// small index and i1 lists that only host code reads and writes and that
// never reach a kernel or a runtime call (bufferization's ownership-based
// deallocation keeps the aligned pointers of the buffers it may free and
// their ownership flags in such lists, and compares them in a private
// helper function). They stay host allocations.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_TARGET_CUDA_HOSTBUFFERS_H
#define LATHE_TARGET_CUDA_HOSTBUFFERS_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir::lathe {

/// Whether `op` runs on the host: in a function, outside any loop nest
/// that becomes a kernel and outside GPU code.
bool onHostCode(Operation *op);

/// The host-only lists of `module`: results of memref.alloc (a static
/// rank-1 list of index or i1) and arguments of private functions whose
/// every use, through memref.cast, is a host load or store, a memref.dim, a
/// memref.dealloc or a call passing it to such an argument (and every call
/// of such a function passes such a list).
llvm::DenseSet<Value> findHostBuffers(ModuleOp module);

/// Whether `buffer`, through memref.cast, is one of `host`.
bool isHostBuffer(const llvm::DenseSet<Value> &host, Value buffer);

} // namespace mlir::lathe

#endif // LATHE_TARGET_CUDA_HOSTBUFFERS_H
