//===- RunCUDA.cpp - lathe-run --backend=cuda -----------------------------===//

#include "lathe/Driver/RunCUDA.h"

// Built only with the CUDA target (LATHE_CUDA: a CUDA toolkit was found).
#ifdef LATHE_HAS_CUDA

#include "lathe/Target/CUDA/Pipeline.h"
#include "lathe/runtime/CUDA.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Triple.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <dlfcn.h>

using namespace mlir;
using namespace mlir::lathe;

static int fail(const llvm::Twine &message) {
  llvm::errs() << "lathe-run: error: " << message << "\n";
  return 1;
}

/// The runtime library: $LATHE_CUDA_RUNTIME, else lib/ beside the tool's
/// bin/ folder (the build tree and the installed layout alike).
static std::string cudaRuntimePath() {
  if (const char *path = std::getenv("LATHE_CUDA_RUNTIME"))
    return path;
  static int anchor;
  std::string exe = llvm::sys::fs::getMainExecutable("lathe-run", &anchor);
  llvm::SmallString<256> path(llvm::sys::path::parent_path(
      llvm::sys::path::parent_path(exe)));
  llvm::sys::path::append(path, "lib", "libLatheRuntimeCUDA.so");
  return std::string(path);
}

int mlir::lathe::loadCudaRuntime(std::string &error) {
  std::string path = cudaRuntimePath();
  // RTLD_GLOBAL: generated code resolves mgpu* and lathe_cuda_* from it.
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!handle) {
    error = "cannot load the CUDA runtime library '" + path + "': " +
            dlerror();
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
    return fail("--backend=cuda: running on the device is not wired into "
                "lathe-run yet; --compile-to=ptx and scripts/gpu-check.sh "
                "are the CUDA paths that exist (docs/Targets/CUDA.md)");
  }

  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(options.inputFile, sourceMgr, &context);
  if (!module)
    return fail("could not parse or verify '" + options.inputFile + "'");
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
