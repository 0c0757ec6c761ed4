//===- RunCUDA.cpp - lathe-run --backend=cuda -----------------------------===//

#include "lathe/Driver/RunCUDA.h"

// Built only with the CUDA target (LATHE_CUDA: a CUDA toolkit was found).
#ifdef LATHE_HAS_CUDA

#include "RunSupport.h"
#include "lathe/Driver/Executable.h"
#include "lathe/Driver/HostTensors.h"
#include "lathe/Target/CUDA/Pipeline.h"
#include "lathe/runtime/CUDA.h"
#include "lathe/runtime/ModelFormat.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Triple.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <vector>

using namespace mlir;
using namespace mlir::lathe;

using run_support::Clock;
using run_support::fail;
using run_support::msSince;

/// The runtime library: $LATHE_CUDA_RUNTIME, else lib/ beside the tool's
/// bin/ folder (the build tree and the installed layout alike).
static std::string cudaRuntimePath() {
  if (const char *path = std::getenv("LATHE_CUDA_RUNTIME"))
    return path;
  static int anchor;
  std::string exe = llvm::sys::fs::getMainExecutable("lathe-run", &anchor);
  llvm::SmallString<256> path(
      llvm::sys::path::parent_path(llvm::sys::path::parent_path(exe)));
  llvm::sys::path::append(path, "lib", "libLatheRuntimeCUDA.so");
  return std::string(path);
}

static void *cudaRuntime = nullptr;

/// An entry point of the loaded CUDA runtime.
template <typename T> static T rt(const char *name) {
  return reinterpret_cast<T>(dlsym(cudaRuntime, name));
}

/// dlopens the runtime library (once); 1 with `error` set when it is
/// missing or not Lathe's.
static int openCudaRuntime(std::string &error) {
  if (cudaRuntime)
    return 0;
  std::string path = cudaRuntimePath();
  // RTLD_GLOBAL: the code of loaded models resolves mgpu* and lathe_cuda_*
  // from it (by its soname).
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!handle) {
    error = "cannot load the CUDA runtime library '" + path + "': " + dlerror();
    return 1;
  }
  if (!dlsym(handle, "lathe_cuda_init") ||
      !dlsym(handle, "lathe_cuda_last_error")) {
    error = "'" + path + "' is not Lathe's CUDA runtime (no lathe_cuda_init)";
    return 1;
  }
  cudaRuntime = handle;
  return 0;
}

int mlir::lathe::loadCudaRuntime(std::string &error) {
  if (openCudaRuntime(error))
    return 1;
  auto init = rt<int (*)()>("lathe_cuda_init");
  auto lastError = rt<const char *(*)()>("lathe_cuda_last_error");
  int status = init();
  if (status == LATHE_CUDA_OK)
    return 0;
  if (status == LATHE_CUDA_NO_DEVICE)
    error = std::string("no CUDA device (") + lastError() + ")";
  else
    error = lastError();
  return 1;
}

/// The host code of a module after the CUDA pipeline as a position-
/// independent x86-64 object (generic x86-64-v2, so it runs on the GPU
/// machine whatever its CPU), PTX/cubin and constants inside: linked into a
/// shared library with libLatheRuntimeCUDA.so, it runs without LLVM or MLIR.
static LogicalResult emitHostObject(ModuleOp module, std::string &object,
                                    std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::Triple triple("x86_64-unknown-linux-gnu");
  std::string lookupError;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, lookupError);
  if (!target) {
    error = "no x86-64 target: " + lookupError;
    return failure();
  }
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, "x86-64-v2", "", llvm::TargetOptions(), llvm::Reloc::PIC_));
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext, "lathe-cuda");
  if (!llvmModule) {
    error = "translation of the host code to LLVM IR failed";
    return failure();
  }
  ExecutionEngine::setupTargetTripleAndDataLayout(llvmModule.get(), tm.get());
  auto optimize = makeOptimizingTransformer(2, 0, tm.get());
  if (llvm::Error err = optimize(llvmModule.get())) {
    error = "LLVM optimization failed: " + llvm::toString(std::move(err));
    return failure();
  }
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager codegen;
  if (tm->addPassesToEmitFile(codegen, os, nullptr,
                              llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit object files";
    return failure();
  }
  codegen.run(*llvmModule);
  object.assign(buffer.begin(), buffer.end());
  return success();
}

namespace {

/// A model of the CUDA runtime, freed on every path (with the host outputs
/// its first call allocated).
struct CudaModelHolder {
  lathe_cuda_model *model = nullptr;
  std::vector<lathe_cuda_tensor> outputs;
  ~CudaModelHolder() {
    for (lathe_cuda_tensor &t : outputs)
      std::free(t.data);
    if (model)
      rt<void (*)(lathe_cuda_model *)>("lathe_cuda_model_free")(model);
  }
};

/// Device blocks of the runtime, freed on every path.
struct DeviceBlocks {
  std::vector<void *> blocks;
  ~DeviceBlocks() {
    auto freeFn = rt<void (*)(void *)>("lathe_cuda_free");
    for (void *p : blocks)
      freeFn(p);
  }
};

double medianOf(std::vector<double> values) {
  if (values.empty())
    return 0;
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

} // namespace

/// What running on the CUDA backend refuses (the CPU runtime's options).
static int checkRunOptions(const RunOptions &options) {
  if (options.ranks > 1)
    return fail("--backend=cuda runs one process (no --ranks)");
  if (options.repeat < 0 || options.repeat > kMaxRepeat)
    return fail("--repeat must be in [0, " + llvm::Twine(kMaxRepeat) +
                "], got " + llvm::Twine(options.repeat));
  if (!options.tracePath.empty() || !options.memoryTimelinePath.empty())
    return fail("--trace and --memory-timeline record the CPU runtime; "
                "--backend=cuda has --report (kernels timed with CUDA "
                "events, peak device memory)");
  return 0;
}

bool mlir::lathe::isCudaArtifact(llvm::StringRef path) {
  std::ifstream file(path.str(), std::ios::binary);
  lathe_model_file_header header;
  if (!file.read(reinterpret_cast<char *>(&header), sizeof(header)) ||
      std::memcmp(header.magic, LATHE_MODEL_MAGIC, 8) != 0 ||
      header.num_sections == 0 ||
      header.num_sections > LATHE_MODEL_MAX_SECTIONS)
    return false;
  std::vector<lathe_model_section> sections(header.num_sections);
  if (!file.read(reinterpret_cast<char *>(sections.data()),
                 sections.size() * sizeof(lathe_model_section)))
    return false;
  for (const lathe_model_section &s : sections) {
    if (std::strncmp(s.kind, "META", sizeof(s.kind)) != 0 ||
        s.size > (1u << 20))
      continue;
    std::string meta(s.size, '\0');
    file.seekg(static_cast<std::streamoff>(s.offset));
    if (!file.read(&meta[0], meta.size()))
      return false;
    return meta.find("\nbackend cuda\n") != std::string::npos;
  }
  return false;
}

int mlir::lathe::runCudaArtifact(const RunOptions &options,
                                 const std::string &path,
                                 std::optional<double> compileMs) {
  if (!compileMs &&
      (!options.compileTo.empty() || !options.passPipeline.empty() ||
       options.pipeline != "default"))
    return fail("'" + options.inputFile +
                "' is compiled already: --compile-to, --pass-pipeline and "
                "--pipeline apply to .mlir files only");
  if (int rc = checkRunOptions(options))
    return rc;
  // The file is checked before the device is looked for (the loader
  // initialises the device once the file is known to be sound).
  std::string error;
  if (openCudaRuntime(error))
    return fail("--backend=cuda: " + error);
  // Messages name the file the user gave, not the temporary .lathe file a
  // .mlir or .onnx file was compiled into.
  auto runtimeError = rt<const char *(*)()>("lathe_cuda_last_error");
  auto lastError = [&]() -> std::string {
    std::string message = runtimeError();
    for (size_t at = message.find(path); at != std::string::npos && compileMs;
         at = message.find(path, at + options.inputFile.size()))
      message.replace(at, path.size(), options.inputFile);
    return message;
  };
  auto modelLoad =
      rt<int (*)(const char *, lathe_cuda_model **)>("lathe_cuda_model_load");
  auto numInputsOf =
      rt<int32_t (*)(const lathe_cuda_model *)>("lathe_cuda_model_num_inputs");
  auto numOutputsOf =
      rt<int32_t (*)(const lathe_cuda_model *)>("lathe_cuda_model_num_outputs");
  auto inputInfo =
      rt<int (*)(const lathe_cuda_model *, int32_t, lathe_cuda_tensor *,
                 const char **)>("lathe_cuda_model_input_info");
  auto metadataOf = rt<const char *(*)(const lathe_cuda_model *, const char *)>(
      "lathe_cuda_model_metadata");
  using DtypeFn = const char *(*)(const lathe_cuda_model *, int32_t);
  auto inputDtypeOf = rt<DtypeFn>("lathe_cuda_model_input_dtype");
  auto outputDtypeOf = rt<DtypeFn>("lathe_cuda_model_output_dtype");
  auto constantBytes = rt<int64_t (*)(const lathe_cuda_model *)>(
      "lathe_cuda_model_constant_bytes");
  using RunFn = int (*)(lathe_cuda_model *, const lathe_cuda_tensor *, int32_t,
                        lathe_cuda_tensor *, int32_t);
  auto runHost = rt<RunFn>("lathe_cuda_model_run");
  auto runDevice = rt<RunFn>("lathe_cuda_model_run_device");
  auto alloc = rt<int (*)(size_t, void **)>("lathe_cuda_alloc");
  auto toDevice =
      rt<int (*)(void *, const void *, size_t)>("lathe_cuda_copy_to_device");
  auto freeFn = rt<void (*)(void *)>("lathe_cuda_free");
  auto peak = rt<int64_t (*)()>("lathe_cuda_peak_bytes");
  auto profileEnable = rt<void (*)(int)>("lathe_cuda_profile_enable");
  auto profileReset = rt<void (*)()>("lathe_cuda_profile_reset");
  auto profileCollect =
      rt<int (*)(lathe_cuda_kernel_time *, int)>("lathe_cuda_profile_collect");
  auto device = rt<const char *(*)()>("lathe_cuda_device_description");
  if (!modelLoad || !runDevice || !profileCollect || !inputDtypeOf ||
      !outputDtypeOf)
    return fail("--backend=cuda: the CUDA runtime library is older than this "
                "lathe-run (no lathe_cuda_model_load or "
                "lathe_cuda_model_input_dtype)");
  // The signature's dtype names are lathe_dtype_name's.
  auto dtypeNamed = [](const char *name) -> std::optional<lathe_dtype> {
    for (int d = 0; name && d < LATHE_DTYPE_COUNT; ++d)
      if (std::strcmp(lathe_dtype_name(static_cast<lathe_dtype>(d)), name) == 0)
        return static_cast<lathe_dtype>(d);
    return std::nullopt;
  };

  // Inputs first: loading is what is timed.
  std::vector<HostTensor> inputs(options.inputs.size());
  for (auto [i, spec] : llvm::enumerate(options.inputs))
    if (!readTensorFile(spec, inputs[i], error))
      return fail("input #" + llvm::Twine(i) + ": " + error);

  CudaModelHolder holder;
  Clock::time_point loadStart = Clock::now();
  if (modelLoad(path.c_str(), &holder.model) != LATHE_CUDA_OK)
    return fail("--backend=cuda: " + lastError());
  double loadMs = msSince(loadStart);
  lathe_cuda_model *model = holder.model;
  rt<void (*)(int)>("lathe_cuda_set_allow_tf32")(options.allowTf32 ? 1 : 0);
  const char *entry = metadataOf(model, "entry");
  int32_t numInputs = numInputsOf(model);
  int32_t numOutputs = numOutputsOf(model);
  // A file compiled here for this run has the entry asked for.
  if (int rc = run_support::checkArtifactSignature(
          options, compileMs ? nullptr : entry, inputs.size(), numInputs,
          numOutputs))
    return rc;
  inputs.resize(numInputs);
  MLIRContext context;
  std::vector<lathe_cuda_tensor> views(numInputs);
  for (int32_t i = 0; i < numInputs; ++i) {
    lathe_cuda_tensor info;
    const char *name = nullptr;
    inputInfo(model, i, &info, &name);
    std::vector<int64_t> shape(info.shape, info.shape + info.rank);
    const char *dtypeName = inputDtypeOf(model, i);
    std::optional<lathe_dtype> dtype = dtypeNamed(dtypeName);
    if (!dtype)
      return fail(llvm::formatv("input #{0} ('{1}'): the model's element "
                                "type '{2}' is not a runtime dtype",
                                i, name, dtypeName ? dtypeName : "?"));
    if (i >= static_cast<int32_t>(options.inputs.size())) {
      if (!options.fillMissing)
        return fail(llvm::formatv("missing input for argument #{0} ('{1}') "
                                  "of @{2}; pass --input=FILE or "
                                  "--fill-missing",
                                  i, name, entry ? entry : "main"));
      if (llvm::is_contained(shape, int64_t(-1)))
        return fail(llvm::formatv("--fill-missing: input #{0} ('{1}') has "
                                  "dynamic sizes; pass --input=FILE",
                                  i, name));
      auto type = RankedTensorType::get(shape, elementTypeFor(context, *dtype));
      if (!fillRandom(type, options.seed + i, inputs[i], error))
        return fail("argument #" + llvm::Twine(i) + ": " + error);
    }
    const lathe_host_tensor &t = inputs[i].t;
    // Any dtype the signature names; its bytes go to the device as they are.
    if (t.dtype != *dtype)
      return fail(llvm::formatv("input #{0} ('{1}'): the model takes {2}, "
                                "given {3}",
                                i, name, dtypeName, lathe_dtype_name(t.dtype)));
    views[i].rank = t.rank;
    std::copy(t.shape, t.shape + t.rank, views[i].shape);
    views[i].data = static_cast<float *>(t.data);
  }

  // The first call, on host tensors, keeps its results.
  holder.outputs.assign(numOutputs, lathe_cuda_tensor{});
  Clock::time_point firstStart = Clock::now();
  if (runHost(model, views.data(), numInputs, holder.outputs.data(),
              numOutputs) != LATHE_CUDA_OK)
    return fail("--backend=cuda: " + lastError());
  double firstMs = msSince(firstStart);
  // The collectives' bytes of one call, as the CPU backend reports them.
  lathe_comm_counter counters[32];
  auto commCounters = rt<int64_t (*)(lathe_comm_counter *, int64_t)>(
      "lathe_cuda_comm_counters");
  llvm::json::Array comm = run_support::commCountersJson(
      counters,
      commCounters ? std::min<int64_t>(commCounters(counters, 32), 32) : 0);
  for (int32_t i = 0; i < numOutputs; ++i) {
    HostTensor result;
    const lathe_cuda_tensor &out = holder.outputs[i];
    std::optional<lathe_dtype> dtype = dtypeNamed(outputDtypeOf(model, i));
    if (!dtype)
      return fail(llvm::formatv("output #{0}: the model's element type is "
                                "not a runtime dtype",
                                i));
    result.t.dtype = *dtype;
    result.t.rank = out.rank;
    std::copy(out.shape, out.shape + out.rank, result.t.shape);
    result.t.data = out.data;
    llvm::outs() << "result #" << i << ": " << summarize(result) << "\n";
    bool ok = static_cast<size_t>(i) >= options.outputs.size() ||
              writeTensorFile(options.outputs[i], result, error);
    result.t.data = nullptr; // still the holder's
    if (!ok)
      return fail("output #" + llvm::Twine(i) + ": " + error);
  }

  // Timed calls on inputs already on the device (what a serving loop
  // does), and, for --report, one more call timed kernel by kernel with
  // events.
  DeviceBlocks deviceInputs;
  std::vector<lathe_cuda_tensor> onDevice = views;
  bool needDevice = options.repeat > 0 || !options.reportPath.empty();
  for (int32_t i = 0; needDevice && i < numInputs; ++i) {
    size_t bytes = inputs[i].numBytes();
    void *p = nullptr;
    if (alloc(std::max<size_t>(bytes, 1), &p) ||
        (bytes && toDevice(p, views[i].data, bytes)))
      return fail("--backend=cuda: " + lastError());
    deviceInputs.blocks.push_back(p);
    onDevice[i].data = static_cast<float *>(p);
  }
  std::vector<lathe_cuda_tensor> deviceOutputs(numOutputs);
  auto deviceCall = [&]() -> bool {
    if (runDevice(model, onDevice.data(), numInputs, deviceOutputs.data(),
                  numOutputs) != LATHE_CUDA_OK) {
      fail("--backend=cuda: " + lastError());
      return false;
    }
    for (lathe_cuda_tensor &t : deviceOutputs)
      freeFn(t.data);
    return true;
  };
  std::vector<double> timesMs;
  for (int64_t r = 0; r < options.repeat; ++r) {
    Clock::time_point start = Clock::now();
    if (!deviceCall())
      return 1;
    timesMs.push_back(msSince(start));
  }
  llvm::json::Object kernels;
  if (!options.reportPath.empty()) {
    profileReset();
    profileEnable(1);
    bool ok = deviceCall();
    profileEnable(0);
    if (!ok)
      return 1;
    std::vector<lathe_cuda_kernel_time> times(64);
    int count = profileCollect(times.data(), static_cast<int>(times.size()));
    for (int k = 0; k < count && k < static_cast<int>(times.size()); ++k)
      kernels[times[k].name] = llvm::json::Object{{"ms", times[k].ms},
                                                  {"mean_ms", times[k].ms},
                                                  {"calls", times[k].calls}};
  }
  int64_t peakBytes = peak();
  double sum = 0;
  for (double t : timesMs)
    sum += t;
  if (!timesMs.empty())
    llvm::outs() << llvm::formatv(
        "mean {0:f4} ms, median {1:f4} ms over {2} calls on the GPU (inputs "
        "on the device)\n",
        sum / timesMs.size(), medianOf(timesMs), timesMs.size());
  llvm::outs() << llvm::formatv(
      "{0}load {1:f1} ms, first call {2:f1} ms (with copies), peak device "
      "memory {3} bytes ({4} bytes of constants kept on the device)\n",
      compileMs ? llvm::formatv("compile {0:f1} ms, ", *compileMs).str()
                : std::string(),
      loadMs, firstMs, peakBytes, constantBytes(model));

  if (!options.reportPath.empty()) {
    auto metadata = [&](const char *key) {
      const char *value = metadataOf(model, key);
      return value ? llvm::json::Value(value) : llvm::json::Value(nullptr);
    };
    double minMs = timesMs.empty()
                       ? firstMs
                       : *std::min_element(timesMs.begin(), timesMs.end());
    llvm::json::Object report{
        {"file", options.inputFile},
        {"artifact", !compileMs},
        {"entry", metadata("entry")},
        {"backend", "cuda"},
        {"pipeline", options.pipeline},
        {"compile_ms", compileMs ? llvm::json::Value(*compileMs)
                                 : llvm::json::Value(nullptr)},
        {"precision",
         llvm::json::Object{
             {"requested", options.precision},
             {"effective", options.allowTf32 ? "tf32 (matmuls)" : "f32"}}},
        {"allow_tf32", options.allowTf32},
        {"compile_cache", "off"},
        {"constant_data_bytes", constantBytes(model)},
        {"repeat", options.repeat},
        {"interrupted", false},
        {"device", device()},
        {"gpu_chip", metadata("gpu_chip")},
        {"target", metadata("target")},
        {"flops", nullptr},
        {"flops_complete", false},
        {"peak_memory_bytes", peakBytes},
        {"kernels", std::move(kernels)},
        {"ranks", 1},
        {"comm", std::move(comm)},
        {"load_ms", loadMs},
        {"first_call_ms", firstMs},
        {"calls_timed", static_cast<int64_t>(timesMs.size())},
        {"latency_ms",
         llvm::json::Object{
             {"min", minMs},
             {"median", timesMs.empty() ? firstMs : medianOf(timesMs)}}},
        {"trace", nullptr},
        {"memory_timeline", nullptr},
    };
    if (int rc =
            run_support::writeReport(options.reportPath, std::move(report)))
      return rc;
  }
  return 0;
}

int mlir::lathe::runCudaMain(const RunOptions &options,
                             DialectRegistry &registry) {
  if (options.pipeline != "default")
    return fail("--backend=cuda has no --pipeline=" + options.pipeline);
  if (!options.passPipeline.empty())
    return fail("--backend=cuda does not take --pass-pipeline (use lathe-opt "
                "with --lathe-cuda-<phase>)");
  std::optional<CudaPhase> lastPhase;
  bool printPtx = options.compileTo == "ptx";
  bool printObject = options.compileTo == "object";
  if (!options.compileTo.empty() && !printPtx && !printObject) {
    lastPhase = symbolizeCudaPhase(options.compileTo);
    if (!lastPhase)
      return fail("unknown phase '" + options.compileTo +
                  "' for --backend=cuda (expected one of: " +
                  getCudaPhaseList() + ", ptx, object)");
  }
  bool execute = options.compileTo.empty();
  if (options.precision != "f32")
    return fail("--precision=" + options.precision +
                " applies to the CPU backend; --backend=cuda computes in f32 "
                "(--allow-tf32 lets matmuls use TF32 tensor cores)");
  if (execute) {
    if (int rc = checkRunOptions(options))
      return rc;
    // Running needs a device before anything is compiled.
    std::string error;
    if (loadCudaRuntime(error))
      return fail("--backend=cuda: " + error);
  }
  Clock::time_point compileStart = Clock::now();
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module;
  if (StringRef(options.inputFile).ends_with_insensitive(".onnx")) {
    // Imported as lathe-import-onnx does (weights inside the module), as on
    // the CPU backend.
    if (!options.importOnnx)
      return fail("'" + options.inputFile +
                  "' is an ONNX model, and this Lathe was built without the "
                  "ONNX importer (libonnx-dev)");
    std::string importError;
    module = options.importOnnx(context, options.inputFile, importError);
    if (!module)
      return fail(importError);
  } else {
    module = parseSourceFile<ModuleOp>(options.inputFile, sourceMgr, &context);
    if (!module)
      return fail("could not parse or verify '" + options.inputFile + "'");
  }
  if (execute) {
    // Through a .lathe file, as lathe-compile --backend=cuda writes it: the
    // constants and weights are uploaded once, when it is loaded.
    llvm::SmallString<256> artifact;
    if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
            "lathe-run-cuda", "lathe", artifact))
      return fail("cannot create a temporary file: " + ec.message());
    struct Remove {
      std::string path;
      ~Remove() { llvm::sys::fs::remove(path); }
    } remove{artifact.str().str()};
    CudaArtifactOptions artifactOptions;
    artifactOptions.inputFile = options.inputFile;
    artifactOptions.outputFile = artifact.str().str();
    artifactOptions.entry = options.entry;
    CudaArtifactInfo info;
    std::string error;
    if (failed(writeCudaArtifact(*module, artifactOptions, info, error)))
      return fail(error);
    return runCudaArtifact(options, artifactOptions.outputFile,
                           msSince(compileStart));
  }
  // External weights are host globals the object would leave unbound.
  bool externalWeights = false;
  module->walk([&](Operation *op) {
    if (op->getName().getStringRef() == "lathe.weight")
      externalWeights = true;
  });
  if (externalWeights && printObject)
    return fail("--compile-to=object leaves external (HDF5) weights "
                "(lathe.weight) unbound: compile with lathe-compile "
                "--backend=cuda, which keeps them in the .lathe file");
  PassManager pm = PassManager::on<ModuleOp>(&context);
  if (failed(applyPassManagerCLOptions(pm)))
    return fail("invalid pass manager options");
  CudaPipelineOptions pipelineOptions;
  if (printObject) {
    // A cubin (ptxas here): the machine that runs it compiles nothing. The
    // public functions get C interfaces (_mlir_ciface_<name>) for loaders.
    pipelineOptions.format = "bin";
    for (auto func : module->getOps<func::FuncOp>())
      if (func.isPublic() && !func.isExternal())
        func->setAttr("llvm.emit_c_interface", UnitAttr::get(&context));
  }
  buildCudaPipeline(pm, pipelineOptions, lastPhase);
  if (failed(pm.run(*module)))
    return fail("the CUDA pipeline failed on '" + options.inputFile + "'");
  if (printObject) {
    std::string object, error;
    if (failed(emitHostObject(*module, object, error)))
      return fail(error);
    llvm::outs() << object;
    return 0;
  }
  if (!printPtx) {
    module->print(llvm::outs());
    llvm::outs() << "\n";
    return 0;
  }
  std::string ptx, error;
  if (failed(getGpuBinaryBlob(*module, ptx, error)))
    return fail(error);
  llvm::outs() << ptx;
  if (!ptx.empty() && ptx.back() != '\n')
    llvm::outs() << "\n";
  return 0;
}

#endif // LATHE_HAS_CUDA
