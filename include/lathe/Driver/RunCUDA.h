//===- RunCUDA.h - lathe-run's CUDA backend ---------------------*- C++ -*-===//

#ifndef LATHE_DRIVER_RUNCUDA_H
#define LATHE_DRIVER_RUNCUDA_H

#include "lathe/Driver/Run.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace mlir {
class DialectRegistry;
namespace lathe {

struct CompileOptions;

/// `lathe-run --backend=cuda` and `--compile-to=ptx` on a .mlir or .onnx
/// file: compiles with the CUDA pipeline; `--compile-to=<cuda phase>` prints
/// the IR after that phase, `--compile-to=ptx` the one PTX module,
/// `--compile-to=object` the host code as a PIC x86-64 object with the cubin
/// inside (constants copied to the device on every call: self-contained).
/// Running compiles the module into a .lathe file (writeCudaArtifact) and
/// runs that as runCudaArtifact does. Running needs a device: the CUDA
/// runtime library (libLatheRuntimeCUDA.so, loaded by the CUDA paths only)
/// decides, and without one this is `lathe-run: error: --backend=cuda: no
/// CUDA device (...)`, exit 1, before anything is compiled.
int runCudaMain(const RunOptions &options, DialectRegistry &registry);

/// lathe-run on a .lathe file of the CUDA backend (`path`; lathe-compile
/// --backend=cuda wrote it, or runCudaMain with `compileMs`): loaded with
/// lathe_cuda_model_load, inputs, outputs, --repeat and --report as for the
/// CPU backend.
int runCudaArtifact(const RunOptions &options, const std::string &path,
                    std::optional<double> compileMs);

/// Whether `path` is a .lathe file whose metadata says `backend cuda`.
bool isCudaArtifact(llvm::StringRef path);

struct CudaArtifactOptions {
  /// The model's file: names the source, and relative HDF5 weight paths
  /// are resolved against its folder.
  std::string inputFile;
  std::string outputFile;
  std::string entry = "main";
  /// GPU architecture of the cubin (sm_90, sm_80, ...).
  std::string chip = "sm_90";
};

struct CudaArtifactInfo {
  size_t codeBytes = 0;
  uint64_t dataBytes = 0;
  size_t constants = 0;
  std::string triple, cpu;
};

/// Compiles `module` (Lathe's input IR, on f32 tensors) with the CUDA
/// pipeline into a .lathe file at `options.outputFile`: host code with the
/// cubin inside, linked against libLatheRuntimeCUDA.so only, and every
/// constant and external weight as data that the loader uploads to the
/// device once.
LogicalResult writeCudaArtifact(ModuleOp module,
                                const CudaArtifactOptions &options,
                                CudaArtifactInfo &info, std::string &error);

/// lathe-compile --backend=cuda; returns the process exit code.
int compileCudaMain(const CompileOptions &options, ModuleOp module);

/// Loads libLatheRuntimeCUDA.so (beside the tool's lib/ folder) and
/// initialises it. Returns 0 on success; 1 with `error` set otherwise, the
/// text starting "no CUDA device (" when the machine has none.
int loadCudaRuntime(std::string &error);

} // namespace lathe
} // namespace mlir

#endif // LATHE_DRIVER_RUNCUDA_H
