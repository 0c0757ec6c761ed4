//===- Compile.h - lathe-compile: ahead-of-time compilation -----*- C++ -*-===//
//
// Compiles a module for one CPU (or, --backend=cuda, for an NVIDIA GPU) into
// a .lathe file (ModelFormat.h), which the runtime's Model.h API (the CUDA
// runtime's lathe_cuda_model_load) loads without MLIR or LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_DRIVER_COMPILE_H
#define LATHE_DRIVER_COMPILE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>

namespace mlir {
class MLIRContext;
namespace lathe {

struct CompileOptions {
  /// The model as given (.mlir; .onnx files are imported by the tool).
  std::string inputFile;
  /// The .lathe file to write.
  std::string outputFile;
  std::string entry = "main";
  std::string backend = "cpu";
  /// "f32" or "bf16" (the runtime session's precision, recorded in the file).
  std::string precision = "f32";
  /// "host" or an LLVM CPU name (x86-64-v3, skylake-avx512, znver4, ...).
  std::string targetCpu = "host";
  /// As lathe-run's --fast-math.
  std::string fastMath = "reassoc,contract";
  /// Mark the regions of generated code for the runtime's trace
  /// (lathe-cpu-instrument-trace), so that `lathe-run --trace` on the file
  /// shows them beside the kernel calls.
  bool trace = false;
  /// --backend=cuda: the GPU architecture of the cubin (sm_90, sm_80, ...).
  std::string gpuChip = "sm_90";
};

/// Parses `options.inputFile` (.mlir); on failure returns null and prints
/// the diagnostics.
OwningOpRef<ModuleOp> parseCompileInput(const CompileOptions &options,
                                        MLIRContext &context);

/// Compiles `module` (Lathe's input IR) and writes `options.outputFile`.
/// Returns the process exit code; diagnostics go to stderr.
int compileMain(const CompileOptions &options, ModuleOp module);

} // namespace lathe
} // namespace mlir

#endif // LATHE_DRIVER_COMPILE_H
