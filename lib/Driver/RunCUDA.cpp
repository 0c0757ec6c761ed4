//===- RunCUDA.cpp - lathe-run --backend=cuda -----------------------------===//

#include "lathe/Driver/RunCUDA.h"
#include "lathe/Support/MemRefDescriptor.h"

// Built only with the CUDA target (LATHE_CUDA: a CUDA toolkit was found).
#ifdef LATHE_HAS_CUDA

#include "RunSupport.h"
#include "lathe/Driver/Executable.h"
#include "lathe/Driver/HostTensors.h"
#include "lathe/Target/CUDA/Pipeline.h"
#include "lathe/runtime/CUDA.h"

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
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Triple.h"

#include <dlfcn.h>

#include <chrono>
#include <vector>

using namespace mlir;
using namespace mlir::lathe;

using run_support::fail;

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

int mlir::lathe::loadCudaRuntime(std::string &error) {
  std::string path = cudaRuntimePath();
  // RTLD_GLOBAL: generated code resolves mgpu* and lathe_cuda_* from it.
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  cudaRuntime = handle;
  if (!handle) {
    error = "cannot load the CUDA runtime library '" + path + "': " + dlerror();
    return 1;
  }
  auto init = reinterpret_cast<int (*)()>(dlsym(handle, "lathe_cuda_init"));
  auto lastError = reinterpret_cast<const char *(*)()>(
      dlsym(handle, "lathe_cuda_last_error"));
  if (!init || !lastError) {
    error = "'" + path + "' is not Lathe's CUDA runtime (no lathe_cuda_init)";
    return 1;
  }
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

/// Device buffers of the runtime, freed on every path.
struct DeviceBuffers {
  std::vector<void *> blocks;
  ~DeviceBuffers() {
    auto freeFn = rt<void (*)(void *)>("lathe_cuda_free");
    for (void *p : blocks)
      freeFn(p);
  }
};

/// Runs the entry (compiled by the CUDA pipeline) on the device: inputs are
/// copied to the device, results back; --repeat times the calls.
static int executeOnDevice(ModuleOp module, FunctionType fnType,
                           const RunOptions &options) {
  auto alloc = rt<int (*)(size_t, void **)>("lathe_cuda_alloc");
  auto toDevice =
      rt<int (*)(void *, const void *, size_t)>("lathe_cuda_copy_to_device");
  auto toHost =
      rt<int (*)(void *, const void *, size_t)>("lathe_cuda_copy_to_host");
  auto sync = rt<int (*)()>("lathe_cuda_synchronize");
  auto lastError = rt<const char *(*)()>("lathe_cuda_last_error");
  auto pending = rt<const char *(*)()>("lathe_cuda_take_pending_error");
  auto freeFn = rt<void (*)(void *)>("lathe_cuda_free");
  auto peak = rt<int64_t (*)()>("lathe_cuda_peak_bytes");
  for (Type type :
       llvm::concat<const Type>(fnType.getInputs(), fnType.getResults())) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (!tensor || !tensor.getElementType().isF32())
      return fail("--backend=cuda runs functions on f32 tensors only; @" +
                  options.entry + " has " + [&] {
                    std::string s;
                    llvm::raw_string_ostream os(s);
                    os << type;
                    return s;
                  }());
  }
  // Inputs, on the device.
  size_t numArgs = fnType.getNumInputs();
  std::vector<HostTensor> inputs(numArgs);
  DeviceBuffers buffers;
  std::vector<std::vector<int64_t>> argDescs(numArgs);
  for (size_t i = 0; i < numArgs; ++i) {
    auto type = cast<RankedTensorType>(fnType.getInput(i));
    std::string error;
    if (i < options.inputs.size()) {
      if (!readTensorFile(options.inputs[i], inputs[i], error) ||
          !checkMatchesType(inputs[i], type, error))
        return fail("input #" + llvm::Twine(i) + ": " + error);
    } else if (!options.fillMissing) {
      return fail("missing input for argument #" + llvm::Twine(i) + " of @" +
                  options.entry + "; pass --input=FILE or --fill-missing");
    } else if (!fillRandom(type, options.seed + i, inputs[i], error)) {
      return fail("argument #" + llvm::Twine(i) + ": " + error);
    }
    void *device = nullptr;
    if (alloc(inputs[i].numBytes(), &device) ||
        toDevice(device, inputs[i].t.data, inputs[i].numBytes()))
      return fail(llvm::Twine("--backend=cuda: ") + lastError());
    buffers.blocks.push_back(device);
    argDescs[i] = makeMemRefDescriptor(
        device, std::vector<int64_t>(inputs[i].t.shape,
                                     inputs[i].t.shape + inputs[i].t.rank));
  }
  // Results: one descriptor after the other (the C interface's struct).
  size_t resultWords = 0;
  for (Type type : fnType.getResults())
    resultWords += 3 + 2 * cast<RankedTensorType>(type).getRank();

  ExecutionEngineOptions engineOptions;
  // Held by function_ref in the options: it must outlive create().
  auto optimize = makeOptimizingTransformer(2, 0, nullptr);
  engineOptions.transformer = optimize;
  auto engine = ExecutionEngine::create(module, engineOptions);
  if (!engine)
    return fail("--backend=cuda: cannot JIT the host code: " +
                llvm::toString(engine.takeError()));
  std::string symbol = "_mlir_ciface_" + options.entry;
  std::vector<int64_t> result(resultWords, 0);
  void *resultPtr = result.data();
  std::vector<void *> argPtrs;
  for (auto &desc : argDescs)
    argPtrs.push_back(desc.data());
  std::vector<void *> packed;
  if (fnType.getNumResults())
    packed.push_back(&resultPtr);
  for (void *&p : argPtrs)
    packed.push_back(&p);
  auto call = [&]() -> int {
    if (llvm::Error err = (*engine)->invokePacked(symbol, packed))
      return fail("--backend=cuda: " + llvm::toString(std::move(err)));
    if (sync())
      return fail(llvm::Twine("--backend=cuda: ") + lastError());
    if (const char *message = pending())
      return fail(llvm::Twine("--backend=cuda: ") + message);
    return 0;
  };
  auto freeResults = [&] {
    size_t at = 0;
    for (Type type : fnType.getResults()) {
      freeFn(reinterpret_cast<void *>(result[at]));
      at += 3 + 2 * cast<RankedTensorType>(type).getRank();
    }
  };
  if (int rc = call())
    return rc;
  // Copy the results out (dense, identity layout from gpu.alloc).
  size_t at = 0;
  for (auto [i, type] : llvm::enumerate(fnType.getResults())) {
    auto tensor = cast<RankedTensorType>(type);
    int64_t rank = tensor.getRank();
    HostTensor out;
    std::vector<int64_t> shape(result.begin() + at + 3,
                               result.begin() + at + 3 + rank);
    if (lathe_host_tensor_alloc(&out.t, LATHE_F32, int32_t(rank),
                                shape.data()) != LATHE_OK)
      return fail("out of host memory for result #" + llvm::Twine(i));
    float *data = reinterpret_cast<float *>(result[at + 1]) + result[at + 2];
    if (toHost(out.t.data, data, out.numBytes()))
      return fail(llvm::Twine("--backend=cuda: ") + lastError());
    if (i < options.outputs.size()) {
      std::string error;
      if (!writeTensorFile(options.outputs[i], out, error))
        return fail(error);
    }
    llvm::outs() << "result #" << i << ": " << summarize(out) << "\n";
    at += 3 + 2 * rank;
  }
  freeResults();
  if (options.repeat > 0) {
    auto start = std::chrono::steady_clock::now();
    for (int64_t r = 0; r < options.repeat; ++r) {
      if (int rc = call())
        return rc;
      freeResults();
    }
    double ms = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - start)
                    .count();
    llvm::outs() << llvm::format("mean %.4f ms over %lld calls on the GPU\n",
                                 ms / options.repeat,
                                 (long long)options.repeat);
  }
  llvm::outs() << "peak device memory " << peak() << " bytes\n";
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
  if (options.compileTo.empty()) {
    // Running needs a device before anything is compiled.
    std::string error;
    if (loadCudaRuntime(error))
      return fail("--backend=cuda: " + error);
  }
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(options.inputFile, sourceMgr, &context);
  if (!module)
    return fail("could not parse or verify '" + options.inputFile + "'");
  // External weights are bound by the CPU driver; on this target they
  // would read as zeros.
  bool externalWeights = false;
  module->walk([&](Operation *op) {
    if (op->getName().getStringRef() == "lathe.weight")
      externalWeights = true;
  });
  if (externalWeights && (options.compileTo.empty() || printObject))
    return fail("--backend=cuda does not load external (HDF5) weights "
                "(lathe.weight) yet: inline them as constants or run on the "
                "CPU backend");
  PassManager pm = PassManager::on<ModuleOp>(&context);
  if (failed(applyPassManagerCLOptions(pm)))
    return fail("invalid pass manager options");
  CudaPipelineOptions pipelineOptions;
  bool execute = options.compileTo.empty();
  FunctionType fnType = FunctionType::get(&context, {}, {});
  if (execute) {
    std::string entryError;
    if (failed(getEntrySignature(*module, options.entry, fnType, entryError)))
      return fail(entryError + " in '" + options.inputFile + "'");
  }
  if (printObject || execute) {
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
  if (execute)
    return executeOnDevice(*module, fnType, options);
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
