//===- Run.cpp - lathe-run: compile and execute in one step ---------------===//

#include "lathe/Driver/Run.h"

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Driver/CompileCache.h"
#include "lathe/Driver/CpuCompile.h"
#include "lathe/Driver/Decisions.h"
#include "lathe/Driver/Executable.h"
#include "lathe/Driver/HostTensors.h"
#include "lathe/Driver/Int8.h"
#include "lathe/Driver/Observe.h"
#include "lathe/Driver/Ranks.h"
#include "lathe/Driver/TargetFile.h"
#ifdef LATHE_HAS_CUDA
#include "lathe/Driver/RunCUDA.h"
#endif
#include "lathe/Interfaces/FlopsInterface.h"
#include "lathe/Support/ParseGuard.h"
#include "lathe/Target/CPU/Pipeline.h"
#include "lathe/runtime/Comm.h"
#include "lathe/runtime/Runtime.h"

#include "RunSupport.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassInstrumentation.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

using namespace mlir;
using namespace mlir::lathe;
using run_support::Clock;
using run_support::fail;
using run_support::msSince;

namespace {

std::string typeString(Type type) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << type;
  return s;
}

/// True when `spec` names a file lathe-run can write: FILE.npy, or an HDF5
/// dataset FILE.h5:/dataset (.hdf5, .he5 too).
bool isWritableTensorSpec(StringRef spec) {
  for (StringRef ext : {".h5:", ".hdf5:", ".he5:"}) {
    size_t pos = spec.find(ext);
    if (pos != StringRef::npos && pos > 0 && pos + ext.size() < spec.size())
      return true;
  }
  StringRef name = llvm::sys::path::filename(spec);
  return name.size() > 4 && name.ends_with_insensitive(".npy");
}

} // namespace

/// FLOPs of a copy of `module` whose entry takes the inputs' static shapes:
/// each dynamic argument gets its input's shape, a tensor.cast back to the
/// declared type, and canonicalization propagates the sizes into the ops.
/// `complete` tells whether every op could then be counted.
static int64_t countFlopsAtInputShapes(ModuleOp module, StringRef entry,
                                       const std::vector<HostTensor> &inputs,
                                       bool &complete) {
  complete = false;
  OwningOpRef<ModuleOp> clone = module.clone();
  auto func = clone->lookupSymbol<func::FuncOp>(entry);
  if (!func || func.isExternal())
    return 0;
  MLIRContext *ctx = module.getContext();
  Block &body = func.getBody().front();
  OpBuilder builder(ctx);
  builder.setInsertionPointToStart(&body);
  SmallVector<Type> argTypes;
  for (auto [i, arg] : llvm::enumerate(body.getArguments())) {
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (type && !type.hasStaticShape() && i < inputs.size() &&
        inputs[i].t.rank == type.getRank()) {
      SmallVector<int64_t> shape(inputs[i].t.shape,
                                 inputs[i].t.shape + inputs[i].t.rank);
      arg.setType(RankedTensorType::get(shape, type.getElementType(),
                                        type.getEncoding()));
      auto castOp = tensor::CastOp::create(builder, func.getLoc(), type, arg);
      arg.replaceAllUsesExcept(castOp, castOp);
    }
    argTypes.push_back(arg.getType());
  }
  func.setFunctionType(
      FunctionType::get(ctx, argTypes, func.getFunctionType().getResults()));
  // Whatever goes wrong here only leaves the count incomplete.
  ScopedDiagnosticHandler quiet(ctx, [](Diagnostic &) { return success(); });
  PassManager pm(ctx);
  pm.addPass(createCanonicalizerPass());
  if (failed(pm.run(*clone)))
    return 0;
  return countEntryFlops(*clone, entry, complete);
}

namespace {

/// One run of a module on the CPU backend, in the order runMain calls its
/// phases: parse (the options, the ranks, the module), analyse (what the
/// module as given says: FLOPs, decisions, the entry and its inputs),
/// compile (or load from the cache), bind (load the object, prepare the
/// call), run (the observed calls) and report. Each phase returns
/// std::nullopt to go on, or the exit status to stop with.
class CpuRun {
public:
  using Outcome = std::optional<int>;

  CpuRun(const RunOptions &options, DialectRegistry &registry,
         Clock::time_point compileStart, const char *backends)
      : options(options), registry(registry), compileStart(compileStart),
        backends(backends) {}

  Outcome parse();
  Outcome analyse();
  Outcome compile();
  Outcome bind();
  Outcome run();
  int report();

private:
  // parse
  Outcome checkOptions();
  Outcome joinRanks();
  Outcome parseModule();
  // analyse
  Outcome checkEntry();
  Outcome readInputs();
  // compile
  Outcome prepareInt8();
  void makeCacheKey();
  int compileOnRoot();
  // run
  bool afterFirstCall();
  void afterTimedCall(int call);
  // report
  int writeReport();
  llvm::json::Object kernelTimes(double &kernelMs);
  void predictPeak(std::optional<int64_t> &bytes,
                   std::optional<bool> &complete);

  const RunOptions &options;
  DialectRegistry &registry;
  Clock::time_point compileStart;
  const char *backends;
  CpuPipelineOptions pipelineOptions;
  ExecutableOptions executableOptions;
  bool distributed = false;
  bool root = true;

  std::unique_ptr<MLIRContext> context;
  llvm::SourceMgr sourceMgr;
  std::unique_ptr<SourceMgrDiagnosticHandler> diagHandler;
  OwningOpRef<ModuleOp> module;
  // --target: in the IR for every pass; its text keys the compile cache.
  std::string targetText;

  // Facts about the module as given, before any lowering.
  bool flopsComplete = true;
  int64_t flops = 0;
  bool flopsAtInputShapes = false;
  std::unique_ptr<DecisionCollector> decisionCollector;
  DecisionCollector *decisionsSeen = nullptr;
  std::vector<ExternalWeight> weights;
  FunctionType fnType;
  std::vector<HostTensor> inputs;

  // int8: calibrated on a copy of the module in f32 first; its ranges become
  // the pipeline's int8-ranges (and part of the cache key).
  Int8Calibration calibration;
  std::string int8Key;
  std::optional<CompileCache> cache;
  std::string cacheKey, cacheWarning;
  OwningOpRef<ModuleOp> bufferized;
  CompiledModule compiled;
  bool cacheHit = false;
  std::string error;
  // Outlives the compilation: it owns the decision collector.
  std::unique_ptr<PassManager> pm;

  uint64_t constantBytes = 0;
  std::unique_ptr<Executable> executable;
  std::unique_ptr<Invocation> invocation;
  double compileMs = 0;

  CallObservation how;
  // The bytes this rank handed to each collective during the first call.
  llvm::json::Array comm;
  std::vector<HostTensor> results;
  std::vector<HostTensor> int8Results;
  int64_t peakBytes = 0;
  // Per kernel kind, its time in each timed call (the profile counters are
  // cumulative; read after every call), so the report can give medians.
  std::vector<std::vector<double>> kernelCallMs;
  std::vector<double> before;
  ObservedCalls observed;
  bool interrupted = false;
  int callsDone = 0;
};

} // namespace

//===----------------------------------------------------------------------===//
// parse
//===----------------------------------------------------------------------===//

CpuRun::Outcome CpuRun::parse() {
  if (Outcome stop = checkOptions())
    return stop;
  if (Outcome stop = joinRanks())
    return stop;
  return parseModule();
}

CpuRun::Outcome CpuRun::checkOptions() {
  std::string optionError;
  if (failed(checkCpuCompileOptions(options, backends, pipelineOptions,
                                    executableOptions, optionError)))
    return fail(optionError);
  if (options.repeat < 0)
    return fail("--repeat must be >= 0, got " + llvm::Twine(options.repeat));
  if (options.repeat > kMaxRepeat)
    return fail("--repeat=" + llvm::Twine(options.repeat) +
                " is above the cap of " + llvm::Twine(kMaxRepeat) + " calls");
  for (const std::string &spec : options.outputs)
    if (!isWritableTensorSpec(spec))
      return fail("--output '" + spec +
                  "': expected FILE.npy or FILE.h5:/dataset (the format "
                  "follows the name)");
  return std::nullopt;
}

/// Several ranks are Open MPI processes; started without mpirun, lathe-run
/// starts itself under it. Every rank runs what rank 0 compiled.
CpuRun::Outcome CpuRun::joinRanks() {
  if (options.ranks < 0)
    return fail("--ranks must be >= 1, got " + llvm::Twine(options.ranks));
  // Under mpirun without --ranks every process is a run of its own (its own
  // compilation, inputs and outputs) whose collectives meet the others'.
  distributed = options.ranks > 1;
  if (distributed && !options.compileTo.empty())
    return fail("--compile-to prints the IR of one compilation: run it "
                "without --ranks");
  if (distributed && !launchedByMpirun()) {
    std::string launchError;
    relaunchUnderMpirun(options.ranks, options.commandLine, launchError);
    return fail(launchError);
  }
  int64_t worldRank = 0;
  if (options.ranks >= 1) {
    if (lathe_rt_comm_init() != 0)
      return fail(llvm::Twine("cannot start the multi-rank runtime: ") +
                  lathe_rt_last_error());
    if (lathe_rt_comm_size() != options.ranks)
      return fail("this run has " + llvm::Twine(lathe_rt_comm_size()) +
                  " process(es) but --ranks=" + llvm::Twine(options.ranks) +
                  ": start it as lathe-run --ranks=N (or mpirun -n N "
                  "lathe-run --ranks=N)");
    worldRank = lathe_rt_comm_rank();
  }
  root = worldRank == 0;
  return std::nullopt;
}

CpuRun::Outcome CpuRun::parseModule() {
  context = std::make_unique<MLIRContext>(registry);
  context->loadAllAvailableDialects();
  diagHandler =
      std::make_unique<SourceMgrDiagnosticHandler>(sourceMgr, context.get());
  std::string errorMessage;
  if (StringRef(options.inputFile).ends_with_insensitive(".onnx")) {
    // Imported as lathe-import-onnx does (weights inside the module); the
    // file's bytes key the compile cache.
    if (!options.importOnnx)
      return fail("'" + options.inputFile +
                  "' is an ONNX model, and this Lathe was built without the "
                  "ONNX importer (libonnx-dev)");
    auto buffer = llvm::MemoryBuffer::getFile(options.inputFile);
    if (!buffer)
      return fail("cannot open '" + options.inputFile +
                  "': " + buffer.getError().message());
    sourceMgr.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
    std::string importError;
    module = options.importOnnx(*context, options.inputFile, importError);
    if (!module)
      return fail(importError);
  } else {
    module = parseFileOrExit(options.inputFile, context.get(), sourceMgr,
                             "lathe-run", errorMessage);
  }
  if (!module && !errorMessage.empty())
    return fail("cannot open '" + options.inputFile + "': " + errorMessage);
  if (!module)
    return fail("could not parse or verify '" + options.inputFile + "'");
  if (!options.targetFile.empty() &&
      failed(attachTargetFile(*module, options.targetFile, targetText,
                              errorMessage)))
    return fail(errorMessage);
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// analyse
//===----------------------------------------------------------------------===//

CpuRun::Outcome CpuRun::analyse() {
  // One call of the entry: its ops and those of the functions it calls.
  flops = countEntryFlops(*module, options.entry, flopsComplete);
  decisionCollector = std::make_unique<DecisionCollector>();
  decisionsSeen = decisionCollector.get();
  decisionsSeen->collect(*module, "input");
  SmallString<256> baseDir(options.inputFile);
  llvm::sys::path::remove_filename(baseDir);
  if (baseDir.empty())
    baseDir = ".";
  collectExternalWeights(*module, baseDir, weights);

  if (Outcome stop = checkEntry())
    return stop;
  if (Outcome stop = readInputs())
    return stop;

  // Ops with dynamic sizes are counted at the inputs' shapes.
  if (!flopsComplete && options.compileTo.empty()) {
    bool complete = false;
    int64_t atShapes =
        countFlopsAtInputShapes(*module, options.entry, inputs, complete);
    if (complete) {
      flops = atShapes;
      flopsComplete = flopsAtInputShapes = true;
    }
  }
  return std::nullopt;
}

CpuRun::Outcome CpuRun::checkEntry() {
  // --compile-to only transforms the module: it needs no entry.
  fnType = FunctionType::get(context.get(), {}, {});
  std::string entryError;
  if (options.compileTo.empty() &&
      failed(getEntrySignature(*module, options.entry, fnType, entryError)))
    return fail(entryError + " in '" + options.inputFile + "'");
  for (auto [i, type] : llvm::enumerate(fnType.getInputs()))
    if (!isa<RankedTensorType>(type))
      return fail(llvm::formatv("argument #{0} of @{1} has type {2}; lathe-run "
                                "passes ranked tensors (or identity-layout "
                                "memrefs) only",
                                i, options.entry, typeString(type)));
  for (auto [i, type] : llvm::enumerate(fnType.getResults()))
    if (!isa<RankedTensorType>(type))
      return fail(llvm::formatv("result #{0} of @{1} has type {2}; lathe-run "
                                "returns ranked tensors (or identity-layout "
                                "memrefs) only",
                                i, options.entry, typeString(type)));
  return std::nullopt;
}

/// Inputs, matched to the entry's arguments in order.
CpuRun::Outcome CpuRun::readInputs() {
  size_t numArgs = fnType.getNumInputs();
  if (options.compileTo.empty() && options.inputs.size() > numArgs)
    return fail(llvm::formatv("too many inputs: {0} given, but @{1} takes {2} "
                              "argument(s)",
                              options.inputs.size(), options.entry, numArgs));
  if (options.compileTo.empty() &&
      options.outputs.size() > fnType.getNumResults())
    return fail(llvm::formatv("too many outputs: {0} given, but @{1} returns "
                              "{2} result(s)",
                              options.outputs.size(), options.entry,
                              fnType.getNumResults()));
  inputs.resize(numArgs);
  for (size_t i = 0; options.compileTo.empty() && i < numArgs; ++i) {
    auto type = cast<RankedTensorType>(fnType.getInput(i));
    std::string inputError;
    if (i >= options.inputs.size()) {
      if (!options.fillMissing)
        return fail(llvm::formatv("missing input for argument #{0} of @{1} "
                                  "(expected {2}); pass --input=FILE or "
                                  "--fill-missing",
                                  i, options.entry, typeString(type)));
      if (!fillRandom(type, options.seed + i, inputs[i], inputError))
        return fail(llvm::formatv("argument #{0} of @{1}: {2}", i,
                                  options.entry, inputError));
      continue;
    }
    if (!readTensorFile(options.inputs[i], inputs[i], inputError))
      return fail(llvm::formatv("input #{0}: {1}", i, inputError));
    if (!checkMatchesType(inputs[i], type, inputError))
      return fail(llvm::formatv("input #{0} ('{1}') for argument #{0} of "
                                "@{2}: {3}",
                                i, options.inputs[i], options.entry,
                                inputError));
  }
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// compile
//===----------------------------------------------------------------------===//

CpuRun::Outcome CpuRun::compile() {
  if (distributed && !options.threadsGiven) {
    // The ranks share this machine's cores (more threads than cores makes
    // every collective wait for descheduled threads).
    const char *local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    int64_t localRanks = local ? std::max(1L, std::atol(local)) : options.ranks;
    executableOptions.threads = static_cast<int>(std::max<int64_t>(
        1, int64_t(std::thread::hardware_concurrency()) / localRanks));
  }
  noteIfBf16Unavailable("lathe-run", executableOptions);
  if (Outcome stop = prepareInt8())
    return stop;

  // Compile, or load the compiled module from the cache. A run that asks for
  // the report (which describes the compilation) or for IR compiles anyway.
  cache.emplace(options.noCache ? "" : options.cacheDir,
                CompileCache::defaultMaxBytes());
  makeCacheKey();
  pm = std::make_unique<PassManager>(context.get(),
                                     ModuleOp::getOperationName());
  // On rank 0 only when there are several ranks.
  int compileRc = 0;
  if (distributed) {
    // A slow compilation on rank 0 is not a stalled rank: it sends a
    // heartbeat the others' communication watchdog sees.
    std::string waitError;
    if (!runOnRankZero([&] { compileRc = compileOnRoot(); }, waitError))
      return fail(waitError);
  } else if (root) {
    compileRc = compileOnRoot();
  }
  if (distributed) {
    // The other ranks load rank 0's object: compiled once.
    std::string sendError;
    if (!broadcastCompiledModule(compiled, compileRc == 0, sendError))
      return compileRc != 0 ? compileRc : fail(sendError);
  } else if (compileRc != 0 || !options.compileTo.empty()) {
    return compileRc;
  }
  return std::nullopt;
}

CpuRun::Outcome CpuRun::prepareInt8() {
  if (options.precision == "int8") {
    if (options.calibrationData.empty())
      return fail("--precision=int8 needs --calibration-data=FILE.h5 (one "
                  "dataset per argument of @" +
                  options.entry +
                  ", named after it, samples along the first dimension)");
    if (options.pipeline == "reference" || !options.passPipeline.empty())
      return fail("--precision=int8 needs the default CPU pipeline");
    if (!lathe_rt_cpu_has_int8_dot())
      llvm::errs() << "lathe-run: note: oneDNN has no int8 dot-product "
                      "instructions (AVX-VNNI, AVX512-VNNI, AMX-INT8) on this "
                      "CPU: --precision=int8 runs on its slower AVX2 int8 "
                      "code\n";
  }
  if (!options.calibrationData.empty() && options.precision != "int8")
    return fail("--calibration-data is only used with --precision=int8");
  if (options.precision != "int8")
    return std::nullopt;
  std::string calibrationError;
  if (failed(calibrateInt8(*module, options.entry, options.calibrationData,
                           pipelineOptions, executableOptions, weights,
                           calibration, calibrationError)))
    return fail(calibrationError);
  pipelineOptions.int8Ranges = calibration.ranges;
  llvm::raw_string_ostream os(int8Key);
  for (double v : calibration.ranges)
    os << llvm::formatv("{0:e9},", v);
  return std::nullopt;
}

void CpuRun::makeCacheKey() {
  if (!cache->enabled() || !options.compileTo.empty())
    return;
  llvm::StringRef inputBytes =
      sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID())->getBuffer();
  std::string minBytes = std::to_string(executableOptions.minDataBytes);
  cacheKey = CompileCache::makeKey(
      {"lathe-run", CompileCache::binaryIdentity(),
       describeTarget(executableOptions), options.pipeline,
       options.passPipeline, options.fastMath, minBytes,
       pipelineOptions.trace ? "trace" : "",
       pipelineOptions.channelsLast ? "channels-last" : "",
       pipelineOptions.bf16Activations ? "bf16-activations" : "", int8Key,
       targetText, inputBytes});
}

/// Compiles (or finds in the cache) on this rank; with --compile-to prints
/// the IR instead. The exit status: 0 when it went well.
int CpuRun::compileOnRoot() {
  cacheHit = !cacheKey.empty() && options.reportPath.empty() &&
             cache->lookup(cacheKey, compiled, cacheWarning);
  if (!cacheWarning.empty())
    llvm::errs() << "lathe-run: warning: " << cacheWarning << "\n";
  if (cacheHit)
    return 0;
  if (failed(applyPassManagerCLOptions(*pm)))
    return fail("invalid pass manager options");
  applyDefaultTimingPassManagerCLOptions(*pm);
  // The report's static peak prediction works on the module as it leaves
  // the 'bufferize' phase: a copy taken then, not a second compilation.
  PhaseCallback onPhaseEnd;
  if (!options.reportPath.empty() && options.compileTo.empty())
    onPhaseEnd = [this](CpuPhase phase, ModuleOp module) {
      if (phase == CpuPhase::Bufferize && !bufferized)
        bufferized = module.clone();
    };
  if (failed(buildRunPipeline(*pm, options, options.compileTo, pipelineOptions,
                              std::move(onPhaseEnd), error)))
    return fail(error);
  pm->addInstrumentation(std::move(decisionCollector));
  if (failed(pm->run(*module)))
    return fail("compilation of '" + options.inputFile + "' failed");
  if (!options.compileTo.empty()) {
    module->print(llvm::outs());
    llvm::outs() << "\n";
    return 0;
  }
  if (failed(compileModule(*module, executableOptions, compiled, error)))
    return fail(error);
  if (!cacheKey.empty() && !cache->store(cacheKey, compiled, cacheWarning))
    llvm::errs() << "lathe-run: warning: " << cacheWarning
                 << " (continuing without the compile cache)\n";
  return 0;
}

//===----------------------------------------------------------------------===//
// bind
//===----------------------------------------------------------------------===//

CpuRun::Outcome CpuRun::bind() {
  constantBytes = compiled.data.size();
  executable = Executable::load(std::move(compiled), std::move(weights),
                                executableOptions, error);
  if (!executable)
    return fail(error);
  std::vector<const lathe_host_tensor *> inputViews;
  for (const HostTensor &input : inputs)
    inputViews.push_back(&input.t);
  invocation = executable->prepare(options.entry, fnType, inputViews, error);
  if (!invocation)
    return fail(error);
  compileMs = msSince(compileStart);
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// run
//===----------------------------------------------------------------------===//

CpuRun::Outcome CpuRun::run() {
  // The first call is the one whose results are kept (and the warm-up).
  // --trace records every call; --memory-timeline the first.
  lathe_rt_mem_reset_peak();
  lathe_rt_profile_reset();
  lathe_rt_comm_reset_counters();
  how.tool = "lathe-run";
  how.repeat = options.repeat;
  if (root) {
    how.tracePath = options.tracePath;
    how.memoryTimelinePath = options.memoryTimelinePath;
  }
  how.traceProcess = "lathe-run " + options.inputFile + " @" + options.entry;
  how.timelineTitle = "live bytes over one call of @" + options.entry + " (" +
                      options.inputFile + ")";
  how.showProgress = root;
  // SIGINT during the timed calls ends them: the report says how many ran.
  how.stopOnInterrupt = true;
  auto runCall = [&](int call) {
    std::string callError;
    bool ok = invocation->run(callError);
    if (!ok)
      llvm::errs() << "lathe-run: error: " << callError << "\n";
    if (call > 0)
      invocation->freeResults();
    return ok;
  };
  std::string observeError;
  if (!observeCalls(
          how, runCall, [&] { return afterFirstCall(); },
          [&](int call) { afterTimedCall(call); }, observed, observeError))
    return observeError.empty() ? 1 : fail(observeError);
  interrupted = observed.interrupted;
  callsDone = static_cast<int>(observed.timesMs.size());
  peakBytes = std::max(peakBytes, lathe_rt_mem_peak());
  return std::nullopt;
}

/// Kernel time so far, per kernel kind.
static std::vector<double> profileMs() {
  std::vector<double> ms(lathe_rt_profile_count());
  for (size_t k = 0; k < ms.size(); ++k)
    ms[k] = lathe_rt_profile_ms(static_cast<int>(k));
  return ms;
}

bool CpuRun::afterFirstCall() {
  lathe_comm_counter counters[32];
  int64_t n = std::min<int64_t>(lathe_rt_comm_counters(counters, 32), 32);
  comm = run_support::commCountersJson(counters, n);
  if (!invocation->takeResults(results, error)) {
    fail(error);
    return false;
  }
  peakBytes = lathe_rt_mem_peak();
  // int8: the same module on the first calibration batch, against f32.
  if (options.precision == "int8") {
    std::vector<const lathe_host_tensor *> views;
    for (const HostTensor &input : calibration.firstInputs)
      views.push_back(&input.t);
    std::unique_ptr<Invocation> check =
        executable->prepare(options.entry, fnType, views, error);
    if (!check || !check->run(error) ||
        !check->takeResults(int8Results, error)) {
      fail("int8 run on the first calibration batch: " + error);
      return false;
    }
    // That check is not part of the calls measured.
    lathe_rt_mem_reset_peak();
  }
  if (options.repeat > 0)
    lathe_rt_profile_reset();
  before = profileMs();
  return true;
}

void CpuRun::afterTimedCall(int call) {
  std::vector<double> after = profileMs();
  kernelCallMs.resize(after.size());
  for (size_t k = 0; k < after.size(); ++k) {
    // Kinds registered during this call.
    kernelCallMs[k].resize(call - 1, 0.0);
    kernelCallMs[k].push_back(after[k] - (k < before.size() ? before[k] : 0));
  }
  before = std::move(after);
}

//===----------------------------------------------------------------------===//
// report
//===----------------------------------------------------------------------===//

int CpuRun::report() {
  // Every rank holds the results; rank 0 speaks for them.
  if (!root)
    return interrupted ? 130 : 0;
  for (auto [i, result] : llvm::enumerate(results)) {
    llvm::outs() << "result #" << i << ": " << summarize(result) << "\n";
    if (i < options.outputs.size() &&
        !writeTensorFile(options.outputs[i], result, error))
      return fail("output #" + llvm::Twine(i) + ": " + error);
  }

  observed.printLatency(llvm::outs());
  if (options.precision == "int8")
    llvm::outs() << int8Summary(calibration, int8Results) << "\n";
  const char *cacheState = cacheKey.empty() ? "" : cacheHit ? " (cached)" : "";
  llvm::outs() << llvm::formatv(
      "compile {0:f1} ms{4}, peak memory {1} bytes, "
      "{2} flops{3}\n",
      compileMs, peakBytes, flops,
      flopsComplete ? "" : " (dynamic ops not counted)", cacheState);

  if (!options.reportPath.empty())
    if (int rc = writeReport())
      return rc;
  return interrupted ? 130 : 0;
}

/// Per kernel kind, the median over the timed calls (robust on a busy
/// machine) and the mean; without --repeat, the one call. `kernelMs` is
/// their sum.
llvm::json::Object CpuRun::kernelTimes(double &kernelMs) {
  llvm::json::Object kernels;
  int repeats = std::max(callsDone, 1);
  kernelMs = 0;
  for (int k = 0; k < lathe_rt_profile_count(); ++k) {
    double meanMs = lathe_rt_profile_ms(k) / repeats;
    double ms = static_cast<size_t>(k) < kernelCallMs.size()
                    ? medianOf(kernelCallMs[k])
                    : meanMs;
    kernelMs += ms;
    kernels[lathe_rt_profile_name(k)] =
        llvm::json::Object{{"ms", ms},
                           {"mean_ms", meanMs},
                           {"calls", lathe_rt_profile_calls(k) / repeats}};
  }
  return kernels;
}

/// memred-estimate-peak-memory (buffer liveness after bufferization plus
/// the memred kernels' scratch) on the entry, beside the measured peak.
void CpuRun::predictPeak(std::optional<int64_t> &bytes,
                         std::optional<bool> &complete) {
  if (!bufferized)
    return;
  ScopedDiagnosticHandler quiet(context.get(), [](Diagnostic &d) {
    return success(d.getSeverity() == DiagnosticSeverity::Remark ||
                   d.getSeverity() == DiagnosticSeverity::Warning);
  });
  PassManager estimatePm = PassManager::on<ModuleOp>(context.get());
  std::string estimateError;
  llvm::raw_string_ostream estimateOs(estimateError);
  if (succeeded(parsePassPipeline(
          llvm::formatv("memred-estimate-peak-memory{{workers={0}}",
                        std::max(1, lathe_rt_get_num_threads()))
              .str(),
          estimatePm, estimateOs)) &&
      succeeded(estimatePm.run(*bufferized)))
    if (auto entry = bufferized->lookupSymbol<func::FuncOp>(options.entry))
      if (auto predicted =
              entry->getAttrOfType<IntegerAttr>("lathe.predicted_peak_bytes")) {
        bytes = predicted.getInt();
        if (auto isComplete =
                entry->getAttrOfType<BoolAttr>("lathe.predicted_peak_complete"))
          complete = isComplete.getValue();
      }
}

int CpuRun::writeReport() {
  double kernelMs = 0;
  llvm::json::Object kernels = kernelTimes(kernelMs);
  if (!observed.timesMs.empty())
    kernels["generated_code"] = llvm::json::Object{
        {"ms", std::max(0.0, observed.medianMs() - kernelMs)}, {"calls", 1}};
  std::optional<int64_t> estimateBytes;
  std::optional<bool> estimateComplete;
  predictPeak(estimateBytes, estimateComplete);
  llvm::json::Object report{
      {"file", options.inputFile},
      {"entry", options.entry},
      {"backend", options.backend},
      {"pipeline",
       options.passPipeline.empty() ? options.pipeline : options.passPipeline},
      {"compile_ms", compileMs},
      {"precision",
       llvm::json::Object{
           {"requested", options.precision},
           {"effective",
            options.precision == "int8"
                ? (lathe_rt_cpu_has_int8_dot()
                       ? "int8"
                       : "int8 (no VNNI/AMX-INT8: oneDNN's slower AVX2 "
                         "int8 code)")
            : options.precision == "bf16" && lathe_rt_cpu_has_bf16() ? "bf16"
                                                                     : "f32"}}},
      {"int8", options.precision == "int8"
                   ? llvm::json::Value(int8Report(calibration, int8Results))
                   : llvm::json::Value(nullptr)},
      {"compile_cache", cacheKey.empty() ? "off"
                        : cacheHit       ? "hit"
                                         : "miss"},
      {"constant_data_bytes", static_cast<int64_t>(constantBytes)},
      {"repeat", options.repeat},
      {"interrupted", interrupted},
      {"target_cpu", options.targetCpu},
      {"fast_math",
       options.passPipeline.empty()
           ? llvm::json::Value(options.pipeline == "reference"
                                   ? std::string("none")
                                   : pipelineOptions.fastMathName())
           : llvm::json::Value(nullptr)},
      {"flops", flops},
      {"flops_complete", flopsComplete},
      {"flops_at_input_shapes", flopsAtInputShapes},
      {"peak_memory_bytes", peakBytes},
      {"peak_memory_estimate_bytes", estimateBytes
                                         ? llvm::json::Value(*estimateBytes)
                                         : llvm::json::Value(nullptr)},
      {"peak_memory_estimate_complete",
       estimateComplete ? llvm::json::Value(*estimateComplete)
                        : llvm::json::Value(nullptr)},
      {"kernels", std::move(kernels)},
      {"decisions", decisionsSeen->take()},
      {"ranks", std::max<int64_t>(options.ranks, 1)},
      {"comm", std::move(comm)},
  };
  observed.addToReport(report, how);
  return run_support::writeReport(options.reportPath, std::move(report));
}

int mlir::lathe::runMain(const RunOptions &options, DialectRegistry &registry) {
  // Compiled ahead of time by lathe-compile: loaded, not compiled.
  if (isModelArtifact(options.inputFile))
    return runArtifactMain(options);
  Clock::time_point compileStart = Clock::now();
  if (options.backend == "cuda" || options.compileTo == "ptx") {
#ifdef LATHE_HAS_CUDA
    return runCudaMain(options, registry);
#else
    return fail("--backend=cuda: this lathe-run was built without the CUDA "
                "target (no CUDA toolkit at configure time)");
#endif
  }
  if (options.allowTf32)
    return fail("--allow-tf32 applies to --backend=cuda");
  if (options.backend == "accel")
    return runAccelMain(options, registry);
#ifdef LATHE_HAS_CUDA
  const char *backends = "cpu, accel, cuda";
#else
  const char *backends = "cpu, accel";
#endif
  CpuRun cpuRun(options, registry, compileStart, backends);
  if (CpuRun::Outcome stop = cpuRun.parse())
    return *stop;
  if (CpuRun::Outcome stop = cpuRun.analyse())
    return *stop;
  if (CpuRun::Outcome stop = cpuRun.compile())
    return *stop;
  if (CpuRun::Outcome stop = cpuRun.bind())
    return *stop;
  if (CpuRun::Outcome stop = cpuRun.run())
    return *stop;
  return cpuRun.report();
}
