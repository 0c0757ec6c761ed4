//===- InitAllDialects.h - The one registration point for dialects -*- C++
//-*-===//
//
// Every dialect the Lathe tools accept, upstream and Lathe's own, with their
// external models (bufferization, FLOPs). Add a new Lathe dialect here.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_INITALLDIALECTS_H
#define LATHE_INITALLDIALECTS_H

namespace mlir {
class DialectRegistry;
class MLIRContext;
namespace lathe {

/// Upstream dialects models need (func, arith, math, tensor, linalg,
/// bufferization, memref, scf, cf, tosa, sparse_tensor, shard, quant, mpi,
/// ml_program, llvm, ...) with their extensions, and every Lathe dialect.
void registerAllDialects(DialectRegistry &registry);

/// The LLVM IR translations the JIT needs.
void registerAllTranslations(DialectRegistry &registry);

/// A registry of every dialect and the LLVM IR translations: what a tool that
/// compiles or runs a model gives its MLIRContext.
DialectRegistry makeRegistry();

} // namespace lathe
} // namespace mlir

#endif // LATHE_INITALLDIALECTS_H
