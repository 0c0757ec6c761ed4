//===- lathe-run.cpp - Compile and execute a module in one step -----------===//
//
// Parses flags and hands them to the driver library (lib/Driver).
//
//===----------------------------------------------------------------------===//

#include "lathe/Driver/CompileCache.h"
#include "lathe/Driver/Run.h"
#include "lathe/InitAllDialects.h"
#include "lathe/InitAllPasses.h"
#include "lathe/Support/ToolInfo.h"
#ifdef LATHE_HAVE_ONNX
#include "lathe/Import/ONNX/ImportONNX.h"
#endif
#include "lathe/Target/CPU/Pipeline.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"

namespace cl = llvm::cl;

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // libLLVM's own options are not lathe-run's; its --threads is replaced by
  // lathe-run's own below.
  mlir::lathe::initTool("lathe-run", mlir::lathe::ToolOwns::Threads);
  static cl::OptionCategory ioCat("Inputs and outputs");
  static cl::OptionCategory compileCat("Compilation");
  static cl::OptionCategory runCat("Execution");
  static cl::OptionCategory observeCat("Reports, traces and plots");
  cl::opt<std::string> inputFile(cl::Positional,
                                 cl::desc("<model .mlir, .onnx or .lathe>"),
                                 cl::Required, cl::cat(ioCat));
  cl::opt<std::string> entry("entry", cl::desc("Function to call"),
                             cl::init("main"), cl::cat(ioCat));
  cl::opt<std::string> backend(
      "backend",
      cl::desc("Backend: cpu, accel (simulated device, see --accel-config) "
               "or cuda"),
      cl::init("cpu"), cl::cat(compileCat));
  cl::list<std::string> inputs(
      "input",
      cl::desc("Input for the next argument: FILE.npy or "
               "FILE.h5:/dataset (repeat, in argument order)"),
      cl::cat(ioCat));
  cl::list<std::string> outputs(
      "output",
      cl::desc("File for the next result: FILE.npy or "
               "FILE.h5:/dataset (repeat, in result order)"),
      cl::cat(ioCat));
  cl::opt<int> repeat("repeat",
                      cl::desc("Time N calls after one untimed warm-up"),
                      cl::init(0), cl::cat(runCat));
  cl::opt<std::string> report(
      "report",
      cl::desc("Write a JSON report here: latency, peak memory, per-kernel "
               "times, compiler decisions"),
      cl::cat(observeCat));
  cl::opt<std::string> trace(
      "trace",
      cl::desc("Write a Chrome trace (Perfetto, chrome://tracing) of every "
               "call: one event per kernel call and per region of generated "
               "code, with shapes and bytes"),
      cl::value_desc("trace.json"), cl::cat(observeCat));
  cl::opt<std::string> memoryTimeline(
      "memory-timeline",
      cl::desc("Plot the allocator's live bytes over the first call, peak "
               "marked (PNG, with matplotlib)"),
      cl::value_desc("FILE.png"), cl::cat(observeCat));
  // cl::desc keeps a StringRef: the text must outlive the option.
  static const std::string compileToHelp =
      "Stop after this phase and print the IR (" +
      mlir::lathe::getCpuPhaseList() + ")";
  cl::opt<std::string> compileTo("compile-to", cl::desc(compileToHelp),
                                 cl::cat(compileCat));
  cl::opt<std::string> passPipeline(
      "pass-pipeline",
      cl::desc("Replace the backend pipeline (must reach the LLVM dialect)"),
      cl::cat(compileCat));
  cl::opt<std::string> pipeline(
      "pipeline",
      cl::desc("default, or reference (upstream passes only, scalar loops)"),
      cl::init("default"), cl::cat(compileCat));
  cl::opt<bool> fillMissing(
      "fill-missing",
      cl::desc("Fill arguments without --input deterministically from --seed"),
      cl::cat(ioCat));
  cl::opt<bool> allowTf32(
      "allow-tf32",
      cl::desc("--backend=cuda: let matmuls use TF32 tensor cores "
               "(cuBLASLt's fast-TF32 compute type; about 1e-3 relative "
               "error instead of f32's). Off by default"),
      cl::init(false), cl::cat(runCat));
  cl::opt<uint64_t> seed("seed", cl::desc("Seed for --fill-missing"),
                         cl::init(0), cl::cat(ioCat));
  cl::opt<int> threads(
      "threads",
      cl::desc("Threads of the one OpenMP pool that runs kernels and "
               "generated loops (>= 1; default: OpenMP's, all cores)"),
      cl::init(0), cl::cat(runCat));
  cl::opt<std::string> fastMath(
      "fast-math",
      cl::desc("Floating-point freedoms of generated code: reassoc,contract "
               "(default), reassoc, contract or none (strict IEEE order)"),
      cl::init("reassoc,contract"), cl::cat(compileCat));
  cl::opt<std::string> targetCpu(
      "target-cpu",
      cl::desc("CPU the JIT generates code for: host (default) or an LLVM "
               "CPU name, e.g. x86-64-v3 for AVX2 only"),
      cl::init("host"), cl::cat(compileCat));
  cl::opt<std::string> targetFile(
      "target",
      cl::desc("Attach this JSON target description (lathe-calibrate's) as "
               "the module's #lathe.target: passes price kernels with its "
               "tables (default: the CPU's shipped ones)"),
      cl::value_desc("FILE.json"), cl::cat(compileCat));
  cl::opt<std::string> cacheDir(
      "cache-dir",
      cl::desc("Compile cache folder: a module compiled once with the same "
               "options is loaded from here (default: $LATHE_CACHE_DIR, else "
               "$XDG_CACHE_HOME/lathe, else ~/.cache/lathe)"),
      cl::init(""), cl::cat(compileCat));
  cl::opt<std::string> precision(
      "precision",
      cl::desc("f32 (default), bf16: matmuls with bf16 operands and f32 "
               "accumulation on CPUs with AVX512-BF16 or AMX-BF16 (f32 "
               "elsewhere, with a note), or int8: matmuls and convolutions "
               "with constant weights in int8 (per-channel weights, inputs "
               "per tensor over ranges calibrated on --calibration-data)"),
      cl::init("f32"), cl::cat(compileCat));
  cl::opt<std::string> calibrationData(
      "calibration-data",
      cl::desc("With --precision=int8: HDF5 file with one dataset per entry "
               "argument, named after it, samples along the first dimension; "
               "the model runs on it in f32 to calibrate the int8 ranges"),
      cl::value_desc("FILE.h5"), cl::init(""), cl::cat(compileCat));
  cl::opt<bool> noCache("no-cache",
                        cl::desc("Always compile; do not read or write the "
                                 "compile cache"),
                        cl::init(false), cl::cat(compileCat));

  cl::opt<int64_t> ranks(
      "ranks",
      cl::desc("Run on N Open MPI ranks (started under mpirun): for modules "
               "with shard collectives, e.g. after seqshard-ulysses; rank 0 "
               "compiles, writes the outputs and the report"),
      cl::init(0), cl::cat(runCat));

  cl::opt<std::string> accelConfig(
      "accel-config",
      cl::desc("--backend=accel: device description (configs/accel/*.json)"),
      cl::cat(compileCat));
  cl::opt<std::string> accelPolicy(
      "accel-policy",
      cl::desc("--backend=accel: placement, cost (default), all-mme or "
               "all-tpc"),
      cl::init("cost"), cl::cat(compileCat));
  cl::opt<std::string> accelTrace(
      "accel-trace",
      cl::desc("--backend=accel: write the simulated engine timelines as a "
               "Chrome trace (Perfetto) here"),
      cl::cat(observeCat));
  cl::opt<bool> accelTimingOnly(
      "accel-timing-only",
      cl::desc("--backend=accel: simulate only; skip executing the engine "
               "program and the CPU reference run"),
      cl::init(false), cl::cat(runCat));

  cl::opt<std::string> accelMmeType(
      "accel-mme-type",
      cl::desc("--backend=accel: matrix-engine products at f32 (default) or "
               "bf16 (bf16 operands, f32 accumulation; timed at that rate)"),
      cl::init("f32"), cl::cat(compileCat));

  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  mlir::lathe::registerAllPasses();
  // MLIR's own flags (IR printing, timing, ...) under --help-hidden.
  mlir::lathe::parseToolOptions(
      argc, argv, {&ioCat, &compileCat, &runCat, &observeCat},
      "lathe-run: compile and execute an MLIR module\n\n"
      "  lathe-run model.mlir --input=x.npy --output=y.npy [--repeat=N]\n\n"
      "Exit status: 0 success; 1 bad input, compile or run-time error;\n"
      "130 interrupted (Ctrl-C) during --repeat, report still written.\n");

  mlir::DialectRegistry registry = mlir::lathe::makeRegistry();

  mlir::lathe::RunOptions options;
  options.inputFile = inputFile;
  options.entry = entry;
  options.backend = backend;
  options.inputs.assign(inputs.begin(), inputs.end());
  options.outputs.assign(outputs.begin(), outputs.end());
  options.repeat = repeat;
  options.reportPath = report;
  options.tracePath = trace;
  options.memoryTimelinePath = memoryTimeline;
  options.compileTo = compileTo;
  options.passPipeline = passPipeline;
  options.pipeline = pipeline;
  options.threads = threads;
  options.threadsGiven = threads.getNumOccurrences() > 0;
  options.fastMath = fastMath;
  options.targetCpu = targetCpu;
  options.targetFile = targetFile;
  options.cacheDir = cacheDir.getNumOccurrences()
                         ? std::string(cacheDir)
                         : mlir::lathe::CompileCache::defaultDir();
  options.noCache = noCache;
  options.precision = precision;
  options.calibrationData = calibrationData;
  options.fillMissing = fillMissing;
  options.allowTf32 = allowTf32;
  options.seed = seed;
  options.ranks = ranks;
  options.commandLine.assign(argv + 1, argv + argc);
  options.accelConfig = accelConfig;
  options.accelPolicy = accelPolicy;
  options.accelTrace = accelTrace;
  options.accelTimingOnly = accelTimingOnly;
  options.accelMmeType = accelMmeType;
#ifdef LATHE_HAVE_ONNX
  options.importOnnx = [](mlir::MLIRContext &context, const std::string &path,
                          std::string &error) {
    mlir::lathe::registerONNXImportDialects(context);
    return mlir::lathe::importONNXModel(
        context, path, mlir::lathe::ONNXImportOptions(), error);
  };
#endif
  return mlir::lathe::runMain(options, registry);
}
