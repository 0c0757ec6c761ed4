//===- LoadedModule.cpp - A module compiled as lathe-run does, kept -------===//

#include "lathe/Driver/LoadedModule.h"

#include "lathe/Driver/CompileCache.h"
#include "lathe/Driver/CpuCompile.h"
#include "lathe/Driver/TargetFile.h"
#include "lathe/Interfaces/FlopsInterface.h"
#include "lathe/Support/ParseGuard.h"
#include "lathe/runtime/Runtime.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include "RunSupport.h"

#include <chrono>
#include <dlfcn.h>
#include <sys/stat.h>

using namespace mlir;
using namespace mlir::lathe;
using run_support::Clock;
using run_support::msSince;

namespace {

std::string typeString(Type type) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << type;
  return s;
}

/// The identity of the shared object this code is linked into (the Python
/// extension, not the python3 executable CompileCache::binaryIdentity would
/// name): a rebuilt extension never loads objects an older one cached.
std::string loadedObjectIdentity() {
  Dl_info info;
  if (!dladdr(reinterpret_cast<void *>(&loadedObjectIdentity), &info) ||
      !info.dli_fname)
    return CompileCache::binaryIdentity();
  struct stat st;
  if (::stat(info.dli_fname, &st) != 0)
    return CompileCache::binaryIdentity();
  return std::string(info.dli_fname) + " " + std::to_string(st.st_size) + " " +
         std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}

/// `lathe.name` / `onnx.name` of an argument or result, if any.
std::string nameOf(DictionaryAttr attrs) {
  if (!attrs)
    return "";
  for (StringRef key : {"lathe.name", "onnx.name"})
    if (auto name = attrs.getAs<StringAttr>(key))
      return name.getValue().str();
  return "";
}

bool makeSpec(Type type, std::string name, TensorSpec &spec) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor)
    return false;
  std::optional<lathe_dtype> dtype = dtypeFor(tensor.getElementType());
  if (!dtype)
    return false;
  spec.name = std::move(name);
  spec.dtype = *dtype;
  for (int64_t size : tensor.getShape())
    spec.shape.push_back(ShapedType::isDynamic(size) ? -1 : size);
  spec.type = typeString(type);
  return true;
}

} // namespace

std::unique_ptr<LoadedModule>
LoadedModule::compile(const RunOptions &runOptions, DialectRegistry &registry,
                      std::string &error, ModelImporter importOnnx) {
  Clock::time_point compileStart = Clock::now();
  const RunOptions &options = runOptions;
  // lathe-run's checks of its options, in its words.
  if (options.backend == "accel") {
    // The simulated device reports simulated time, not a loaded module.
    error = "backend 'accel' (a simulated device) runs only under lathe-run "
            "--backend=accel --accel-config=FILE; compile for 'cpu' here";
    return nullptr;
  }
  // The Python package runs on the CPU only.
  CpuPipelineOptions pipelineOptions;
  ExecutableOptions executableOptions;
  if (failed(checkCpuCompileOptions(options, "cpu, accel", pipelineOptions,
                                    executableOptions, error)))
    return nullptr;
  if (options.precision == "int8") {
    error = "--precision=int8 needs calibration data, which only lathe-run "
            "takes so far (--calibration-data=FILE.h5)";
    return nullptr;
  }
  noteIfBf16Unavailable("lathe", executableOptions);

  std::unique_ptr<LoadedModule> loaded(new LoadedModule());
  loaded->options = options;
  loaded->context = std::make_unique<MLIRContext>(registry);
  MLIRContext &context = *loaded->context;
  context.loadAllAvailableDialects();

  // The compiler's diagnostics become part of the error message.
  std::string diagnostics;
  llvm::raw_string_ostream diagOs(diagnostics);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context, diagOs);
  auto withDiagnostics = [&](std::string message) {
    diagOs.flush();
    StringRef text = StringRef(diagnostics).rtrim();
    if (!text.empty())
      message += "\n" + text.str();
    return message;
  };

  OwningOpRef<ModuleOp> module;
  std::string inputBytes;
  bool isOnnx =
      llvm::sys::path::extension(options.inputFile).equals_insensitive(".onnx");
  if (isOnnx) {
    auto file = llvm::MemoryBuffer::getFile(options.inputFile);
    if (!file) {
      error = "cannot open '" + options.inputFile +
              "': " + file.getError().message();
      return nullptr;
    }
    if (!importOnnx) {
      error = "'" + options.inputFile +
              "' is an ONNX model, and this Lathe was built without the ONNX "
              "importer (libonnx-dev): import it with lathe-import-onnx";
      return nullptr;
    }
    inputBytes = "onnx\n" + (*file)->getBuffer().str();
    std::string importError;
    module = importOnnx(context, options.inputFile, importError);
    if (!module) {
      error = "cannot import '" + options.inputFile + "': " + importError;
      return nullptr;
    }
  } else {
    std::string errorMessage;
    module = parseFileOrExit(options.inputFile, &context, sourceMgr, "lathe",
                             errorMessage);
    if (!module && !errorMessage.empty()) {
      error = "cannot open '" + options.inputFile + "': " + errorMessage;
      return nullptr;
    }
    if (!module) {
      error = withDiagnostics("could not parse or verify '" +
                              options.inputFile + "'");
      return nullptr;
    }
    inputBytes =
        sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID())->getBuffer().str();
  }

  std::string targetText;
  if (!options.targetFile.empty() &&
      failed(attachTargetFile(*module, options.targetFile, targetText, error)))
    return nullptr;

  loaded->flops =
      countEntryFlops(*module, options.entry, loaded->flopsComplete);
  SmallString<256> baseDir(options.inputFile);
  llvm::sys::path::remove_filename(baseDir);
  if (baseDir.empty())
    baseDir = ".";
  std::vector<ExternalWeight> weights;
  collectExternalWeights(*module, baseDir, weights);

  // The entry's signature, with names where the IR has them.
  std::string entryError;
  if (failed(getEntrySignature(*module, options.entry, loaded->type,
                               entryError))) {
    error = entryError + " in '" + options.inputFile + "'";
    return nullptr;
  }
  auto entryFn = module->lookupSymbol<func::FuncOp>(options.entry);
  for (auto [i, type] : llvm::enumerate(loaded->type.getInputs())) {
    std::string name = entryFn && i < entryFn.getNumArguments()
                           ? nameOf(entryFn.getArgAttrDict(i))
                           : std::string();
    TensorSpec spec;
    if (!makeSpec(type, name.empty() ? "arg#" + std::to_string(i) : name,
                  spec)) {
      error = llvm::formatv("argument #{0} of @{1} has type {2}; lathe-run "
                            "passes ranked tensors (or identity-layout "
                            "memrefs) only",
                            i, options.entry, typeString(type));
      return nullptr;
    }
    loaded->inputSpecs.push_back(std::move(spec));
  }
  for (auto [i, type] : llvm::enumerate(loaded->type.getResults())) {
    std::string name = entryFn && i < entryFn.getNumResults()
                           ? nameOf(entryFn.getResultAttrDict(i))
                           : std::string();
    TensorSpec spec;
    if (!makeSpec(type, name.empty() ? "result#" + std::to_string(i) : name,
                  spec)) {
      error = llvm::formatv("result #{0} of @{1} has type {2}; lathe-run "
                            "returns ranked tensors (or identity-layout "
                            "memrefs) only",
                            i, options.entry, typeString(type));
      return nullptr;
    }
    loaded->resultSpecs.push_back(std::move(spec));
  }

  // The caller's input buffers are borrowed (zero-copy): the entry must not
  // write into them, which one-shot bufferization otherwise may do to
  // function arguments.
  if (entryFn && !entryFn.isDeclaration())
    for (unsigned i = 0; i < entryFn.getNumArguments(); ++i)
      if (isa<TensorType>(entryFn.getArgument(i).getType()))
        entryFn.setArgAttr(i, "bufferization.writable",
                           BoolAttr::get(&context, false));

  // Compile, or load the compiled module from the cache (lathe-run's key,
  // with this library's identity instead of the executable's, and the
  // read-only arguments).
  CompileCache cache(options.noCache ? "" : options.cacheDir,
                     CompileCache::defaultMaxBytes());
  std::string cacheKey, cacheWarning;
  if (cache.enabled()) {
    std::string minBytes = std::to_string(executableOptions.minDataBytes);
    cacheKey = CompileCache::makeKey(
        {"lathe-run", loadedObjectIdentity(), "read-only-arguments",
         describeTarget(executableOptions), options.pipeline,
         options.passPipeline, options.fastMath, minBytes,
         pipelineOptions.channelsLast ? "channels-last" : "",
         pipelineOptions.bf16Activations ? "bf16-activations" : "", targetText,
         inputBytes});
  }
  CompiledModule compiled;
  bool cacheHit =
      !cacheKey.empty() && cache.lookup(cacheKey, compiled, cacheWarning);
  if (!cacheWarning.empty())
    llvm::errs() << "lathe: warning: " << cacheWarning << "\n";
  if (!cacheHit) {
    PassManager pm = PassManager::on<ModuleOp>(&context);
    if (failed(buildRunPipeline(pm, options, /*compileTo=*/"", pipelineOptions,
                                nullptr, error)))
      return nullptr;
    if (failed(pm.run(*module))) {
      error =
          withDiagnostics("compilation of '" + options.inputFile + "' failed");
      return nullptr;
    }
    if (failed(compileModule(*module, executableOptions, compiled, error)))
      return nullptr;
    if (!cacheKey.empty() && !cache.store(cacheKey, compiled, cacheWarning))
      llvm::errs() << "lathe: warning: " << cacheWarning
                   << " (continuing without the compile cache)\n";
  }
  loaded->compileCache = cacheKey.empty() ? "off" : cacheHit ? "hit" : "miss";
  loaded->constantBytes = compiled.data.size();

  // Executable::load binds the new session on this thread; calls bind it on
  // their own thread instead, so it is unbound again here.
  lathe_rt_session *previous = lathe_rt_session_current();
  loaded->executable = Executable::load(std::move(compiled), std::move(weights),
                                        executableOptions, error);
  lathe_rt_session *created = lathe_rt_session_current();
  lathe_rt_session_bind(previous);
  if (!loaded->executable)
    return nullptr;
  loaded->session = created;
  loaded->effectivePrecision =
      options.precision == "bf16" && lathe_rt_cpu_has_bf16() ? "bf16" : "f32";
  loaded->compileMs = msSince(compileStart);
  return loaded;
}

LoadedModule::~LoadedModule() {
  // ~Executable unbinds and destroys the session from the thread it runs on.
  lathe_rt_session *current = lathe_rt_session_bind(session);
  executable.reset();
  lathe_rt_session_bind(current == session ? nullptr : current);
}

bool LoadedModule::checkInput(size_t index, const lathe_host_tensor &t,
                              std::string &error) const {
  HostTensor view;
  view.t = t;
  bool ok = checkMatchesType(view, cast<RankedTensorType>(type.getInput(index)),
                             error);
  view.t.data = nullptr; // borrowed
  if (!ok)
    error = llvm::formatv("input #{0} for argument #{0} of @{1}: {2}", index,
                          options.entry, error)
                .str();
  return ok;
}

bool LoadedModule::call(ArrayRef<const lathe_host_tensor *> inputs,
                        std::vector<HostTensor> &results, CallStats &stats,
                        std::string &error) {
  if (inputs.size() > type.getNumInputs()) {
    error = llvm::formatv("too many inputs: {0} given, but @{1} takes {2} "
                          "argument(s)",
                          inputs.size(), options.entry, type.getNumInputs());
    return false;
  }
  if (inputs.size() < type.getNumInputs()) {
    error = llvm::formatv("missing input for argument #{0} of @{1} (expected "
                          "{2})",
                          inputs.size(), options.entry,
                          typeString(type.getInput(inputs.size())));
    return false;
  }
  for (auto [i, input] : llvm::enumerate(inputs))
    if (!checkInput(i, *input, error))
      return false;

  lathe_rt_session *previous = lathe_rt_session_bind(session);
  struct Restore {
    lathe_rt_session *previous;
    ~Restore() { lathe_rt_session_bind(previous); }
  } restore{previous};

  std::unique_ptr<Invocation> invocation =
      executable->prepare(options.entry, type, inputs, error);
  if (!invocation)
    return false;
  auto profile = [](std::vector<double> &ms, std::vector<int64_t> &calls) {
    int n = lathe_rt_profile_count();
    ms.resize(n);
    calls.resize(n);
    for (int k = 0; k < n; ++k) {
      ms[k] = lathe_rt_profile_ms(k);
      calls[k] = lathe_rt_profile_calls(k);
    }
  };
  std::vector<double> msBefore, msAfter;
  std::vector<int64_t> callsBefore, callsAfter;
  profile(msBefore, callsBefore);
  lathe_rt_mem_reset_peak();
  Clock::time_point start = Clock::now();
  bool ok = invocation->run(error);
  stats.ms = msSince(start);
  stats.peakBytes = lathe_rt_mem_peak();
  profile(msAfter, callsAfter);
  stats.kernelNames.clear();
  stats.kernelMs.clear();
  stats.kernelCalls.clear();
  for (size_t k = 0; k < msAfter.size(); ++k) {
    int64_t calls =
        callsAfter[k] - (k < callsBefore.size() ? callsBefore[k] : 0);
    if (calls <= 0)
      continue;
    stats.kernelNames.push_back(lathe_rt_profile_name(static_cast<int>(k)));
    stats.kernelMs.push_back(msAfter[k] -
                             (k < msBefore.size() ? msBefore[k] : 0));
    stats.kernelCalls.push_back(calls);
  }
  if (!ok)
    return false;
  return invocation->takeResults(results, error);
}
