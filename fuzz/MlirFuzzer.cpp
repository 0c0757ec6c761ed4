//===- MlirFuzzer.cpp - libFuzzer target for parse + CPU pipeline ---------===//
//
// Input: MLIR text. It is parsed and verified in a context with what
// lathe-opt registers, then the default CPU pipeline runs up to and including
// the 'bufferize' phase (what `lathe-run --compile-to=bufferize` does).
// Failing with a diagnostic is fine; a crash, a leak or a hang is a finding.
//
//===----------------------------------------------------------------------===//

#include "lathe/InitAllDialects.h"
#include "lathe/InitAllPasses.h"
#include "lathe/Target/CPU/Pipeline.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <cstdio>
#include <cstdlib>

static mlir::DialectRegistry *registry;

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  registry = new mlir::DialectRegistry();
  mlir::lathe::registerAllDialects(*registry);
  mlir::lathe::registerAllPasses();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // A fresh context per input: nothing interned by one input outlives it.
  mlir::MLIRContext context(*registry, mlir::MLIRContext::Threading::DISABLED);
  mlir::ScopedDiagnosticHandler quiet(
      &context, [](mlir::Diagnostic &) { return mlir::success(); });
  llvm::SourceMgr sourceMgr;
  // A null-terminated copy: the lexer relies on the terminator.
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(
          llvm::StringRef(reinterpret_cast<const char *>(data), size),
          "fuzz.mlir"),
      llvm::SMLoc());
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, &context);
  if (!module)
    return 0;
  mlir::PassManager pm = mlir::PassManager::on<mlir::ModuleOp>(&context);
  std::string error;
  if (mlir::failed(mlir::lathe::buildCpuPipeline(pm, "bufferize", error))) {
    std::fprintf(stderr, "cannot build the pipeline: %s\n", error.c_str());
    std::abort();
  }
  (void)pm.run(*module);
  return 0;
}
