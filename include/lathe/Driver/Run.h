//===- Run.h - lathe-run: compile and execute in one step -------*- C++ -*-===//

#ifndef LATHE_DRIVER_RUN_H
#define LATHE_DRIVER_RUN_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mlir {
class DialectRegistry;
class MLIRContext;
namespace lathe {

struct RunOptions {
  std::string inputFile;
  std::string entry = "main";
  std::string backend = "cpu";
  /// .npy files or HDF5 datasets spelled FILE.h5:/dataset, in argument order.
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  /// Timed calls after one untimed warm-up (0: one call, untimed); at most
  /// kMaxRepeat.
  int repeat = 0;
  std::string reportPath;
  /// Imports a model file that is not MLIR (an .onnx file); null in builds
  /// without an importer. Returns null with `error` set on failure.
  std::function<OwningOpRef<ModuleOp>(MLIRContext &, const std::string &,
                                      std::string &)>
      importOnnx;
  /// Chrome trace of every call (kernels, generated-code regions), or "".
  std::string tracePath;
  /// PNG of the allocator's live bytes over the first call, or "".
  std::string memoryTimelinePath;
  /// Stop after this phase of the backend pipeline and print the IR.
  std::string compileTo;
  /// Replaces the backend pipeline (must end in the LLVM dialect).
  std::string passPipeline;
  /// "default" or "reference" (upstream passes only, scalar loops).
  std::string pipeline = "default";
  /// Threads for kernels and generated code; must be >= 1 when given.
  int threads = 0;
  bool threadsGiven = false;
  /// Floating-point freedoms of generated code: "none" or a comma-separated
  /// list of "reassoc" and "contract" (lathe-llvm-fastmath).
  std::string fastMath = "reassoc,contract";
  /// CPU the JIT generates code for: "host" (the CPU it runs on, with all
  /// its features) or an LLVM CPU name such as x86-64-v3 (AVX2) or
  /// x86-64-v2, whose features alone are used; for testing other machines'
  /// code paths on this one.
  std::string targetCpu = "host";
  /// A JSON target description (lathe-calibrate's) attached as the module's
  /// #lathe.target before the pipeline runs; empty: the CPU's shipped tables.
  std::string targetFile;
  /// The compile cache's folder (CompileCache::defaultDir() by default);
  /// `noCache` or an empty folder disables it.
  std::string cacheDir;
  /// "f32", "bf16" (matmuls with bf16 operands where the CPU has bf16) or
  /// "int8" (post-training static quantization calibrated on
  /// `calibrationData`; see Int8.h).
  std::string precision = "f32";
  /// --calibration-data=FILE.h5 (with precision "int8").
  std::string calibrationData;
  bool noCache = false;
  bool fillMissing = false;
  /// --backend=cuda: matmuls may use TF32 tensor cores (cuBLASLt's
  /// CUBLAS_COMPUTE_32F_FAST_TF32); off, they compute in f32.
  bool allowTf32 = false;
  uint64_t seed = 0;
  /// Processes (Open MPI ranks) that run the module together, for modules
  /// with shard collectives (e.g. after seqshard-ulysses); 0: not given
  /// (one process, refused under mpirun). Every rank runs the module rank 0
  /// compiled; only rank 0 writes outputs and the report.
  int64_t ranks = 0;
  /// The arguments this process was started with, for restarting under
  /// mpirun.
  std::vector<std::string> commandLine;
  /// --backend=accel: the device description, the placement policy (cost,
  /// all-mme, all-tpc), where to write the Chrome trace, and whether to skip
  /// the functional execution (timing only, for sizes the host cannot run).
  std::string accelConfig;
  std::string accelPolicy = "cost";
  std::string accelTrace;
  bool accelTimingOnly = false;
  /// Element type of the simulated matrix-engine products (f32 or bf16):
  /// their timing, and bf16-rounded operands with f32 accumulation in the
  /// executed program.
  std::string accelMmeType = "f32";
};

/// The largest --repeat accepted (a typo such as 2147483647 would otherwise
/// run for hours).
constexpr int kMaxRepeat = 1000000;

/// Runs lathe-run with the given options; returns the process exit code.
/// Diagnostics go to stderr, results and the summary to stdout.
int runMain(const RunOptions &options, DialectRegistry &registry);

/// runMain for --backend=accel (lib/Driver/AccelRun.cpp): simulate on the
/// device and execute its engine program for the results; the CPU backend
/// runs as the reference for max_rel_err_vs_cpu.
int runAccelMain(const RunOptions &options, DialectRegistry &registry);

/// True for a file lathe-compile wrote (by its name, FILE.lathe, or its
/// header).
bool isModelArtifact(llvm::StringRef path);

/// lathe-run on a .lathe file: loads it with the runtime's Model.h API (no
/// compilation) and runs it as runMain runs a module.
int runArtifactMain(const RunOptions &options);

} // namespace lathe
} // namespace mlir

#endif // LATHE_DRIVER_RUN_H
