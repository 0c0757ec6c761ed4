//===- CudaCompile.cpp - lathe-compile --backend=cuda ---------------------===//
//
// A module through the CUDA pipeline into a .lathe file (ModelFormat.h) that
// the CUDA runtime loads without LLVM or MLIR (lathe_cuda_model_load): the
// host code, with the cubin inside, as a shared library linked against
// libLatheRuntimeCUDA.so only, and the constants and weights as data. Each
// constant is reached through the code's constant table, which the loader
// fills with device addresses after uploading the constants once: no call
// copies a weight (the pipeline alone copies every constant it reads to a
// fresh device buffer on every call; keepConstantsOnDevice undoes that).
// lathe-run --backend=cuda runs modules through the same file.
//
//===----------------------------------------------------------------------===//

#include "lathe/Driver/RunCUDA.h"

// Built only with the CUDA target (LATHE_CUDA: a CUDA toolkit was found).
#ifdef LATHE_HAS_CUDA

#include "CompileSupport.h"
#include "lathe/Driver/Compile.h"
#include "lathe/Driver/Executable.h"
#include "lathe/Driver/HostTensors.h"
#include "lathe/Support/ToolInfo.h"
#include "lathe/Target/CUDA/Pipeline.h"
#include "lathe/runtime/Runtime.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <dlfcn.h>

#include <climits>
#include <cstring>
#include <map>

using namespace mlir;
using namespace mlir::lathe;
using namespace mlir::lathe::compile_support;

namespace {

/// A constant the loader uploads: its global's symbol and bytes.
struct ResidentConstant {
  std::string symbol;
  std::vector<char> bytes;
};

/// The bytes of a memref.global's initializer in memory order, or false
/// where it is not plain data (i1, elided resources).
bool initializerBytes(memref::GlobalOp global, std::vector<char> &out) {
  auto value = dyn_cast_or_null<ElementsAttr>(global.getInitialValueAttr());
  if (!value)
    return false;
  auto shaped = cast<ShapedType>(value.getType());
  Type element = shaped.getElementType();
  if (!element.isIntOrFloat() || element.getIntOrFloatBitWidth() % 8 != 0)
    return false;
  size_t elementBytes = element.getIntOrFloatBitWidth() / 8;
  size_t total = shaped.getNumElements() * elementBytes;
  if (auto dense = dyn_cast<DenseIntOrFPElementsAttr>(value)) {
    ArrayRef<char> raw = dense.getRawData();
    if (dense.isSplat()) {
      if (raw.size() != elementBytes)
        return false;
      out.resize(total);
      for (size_t i = 0; i < total; i += elementBytes)
        std::memcpy(out.data() + i, raw.data(), elementBytes);
      return true;
    }
    if (raw.size() != total)
      return false;
    out.assign(raw.begin(), raw.end());
    return true;
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != total)
      return false;
    out.assign(blob->getData().begin(), blob->getData().end());
    return true;
  }
  return false;
}

/// The device copy lathe-cuda-device-memory made of a constant where it is
/// read: `gpu.alloc` of a static shape, filled by one `gpu.memcpy` from the
/// `memref.get_global`, and only deallocated otherwise. Null when `use` is
/// not that copy.
gpu::AllocOp deviceCopyOf(memref::GetGlobalOp get, OpOperand &use) {
  auto copy = dyn_cast<gpu::MemcpyOp>(use.getOwner());
  if (!copy || copy.getSrc() != get.getResult() || copy.getAsyncToken())
    return {};
  auto alloc = copy.getDst().getDefiningOp<gpu::AllocOp>();
  if (!alloc || alloc.getAsyncToken() || !alloc.getDynamicSizes().empty() ||
      alloc.getType() != get.getType() || alloc->getBlock() != get->getBlock())
    return {};
  return alloc;
}

/// Replaces the per-call device copies of constants and weights by the
/// globals themselves, which the loader places on the device once; the
/// symbols, in table order, and their bytes land in `resident`. A global is
/// handled only when every read of it is such a copy and its bytes are
/// known (an initializer of plain data, or an external weight read by the
/// caller).
void keepConstantsOnDevice(
    ModuleOp module, const std::map<std::string, const HostTensor *> &weights,
    std::vector<ResidentConstant> &resident) {
  llvm::StringMap<SmallVector<memref::GetGlobalOp>> reads;
  module.walk(
      [&](memref::GetGlobalOp get) { reads[get.getName()].push_back(get); });
  for (auto global : module.getOps<memref::GlobalOp>()) {
    auto it = reads.find(global.getSymName());
    if (it == reads.end())
      continue;
    bool allCopies = true;
    for (memref::GetGlobalOp get : it->second)
      for (OpOperand &use : get->getUses())
        allCopies &= static_cast<bool>(deviceCopyOf(get, use));
    if (!allCopies)
      continue;
    ResidentConstant constant;
    constant.symbol = global.getSymName().str();
    auto weight = weights.find(constant.symbol);
    if (weight != weights.end()) {
      const lathe_host_tensor &t = weight->second->t;
      const char *bytes = static_cast<const char *>(t.data);
      constant.bytes.assign(bytes, bytes + weight->second->numBytes());
    } else if (!global.getConstant() ||
               !initializerBytes(global, constant.bytes)) {
      continue;
    }
    for (memref::GetGlobalOp get : it->second) {
      for (OpOperand &use : llvm::make_early_inc_range(get->getUses())) {
        gpu::AllocOp alloc = deviceCopyOf(get, use);
        Operation *copy = use.getOwner();
        for (Operation *user : llvm::make_early_inc_range(alloc->getUsers()))
          if (isa<gpu::DeallocOp>(user))
            user->erase();
        copy->erase();
        alloc.getMemref().replaceAllUsesWith(get.getResult());
        alloc.erase();
      }
    }
    resident.push_back(std::move(constant));
  }
}

/// libLatheRuntimeCUDA.so for the linker: $LATHE_CUDA_RUNTIME, else lib/
/// beside the tool's bin/ folder (the build tree and the installed layout).
std::string cudaRuntimeLibrary() {
  if (const char *path = std::getenv("LATHE_CUDA_RUNTIME"))
    return path;
  static int anchor;
  std::string exe = llvm::sys::fs::getMainExecutable("lathe", &anchor);
  llvm::SmallString<256> path(
      llvm::sys::path::parent_path(llvm::sys::path::parent_path(exe)));
  llvm::sys::path::append(path, "lib", "libLatheRuntimeCUDA.so");
  return std::string(path);
}

} // namespace

LogicalResult mlir::lathe::writeCudaArtifact(ModuleOp module,
                                             const CudaArtifactOptions &options,
                                             CudaArtifactInfo &info,
                                             std::string &error) {
  // The signature: ranked tensors of a runtime dtype (describeSignature
  // checks), whose bytes the CUDA runtime's loader copies as they are.
  FunctionType signature;
  if (failed(getEntrySignature(module, options.entry, signature, error))) {
    error += " in '" + options.inputFile + "'";
    return failure();
  }
  std::string signatureText;
  if (!describeSignature(module, options.entry, signature, signatureText,
                         error))
    return failure();

  // External weights (lathe.weight, HDF5) are read now and kept as data.
  std::vector<ExternalWeight> externals;
  std::vector<HostTensor> weightData;
  if (!readExternalWeights(module, options.inputFile, externals, weightData,
                           error))
    return failure();
  std::map<std::string, const HostTensor *> weights;
  for (auto [w, data] : llvm::zip(externals, weightData))
    weights[w.symbol] = &data;

  // The pipeline up to the host code on device buffers, the constants kept
  // on the device, then NVVM, the cubin (ptxas here: the machine that runs
  // it compiles nothing) and the host code in the LLVM dialect.
  CudaPipelineOptions pipelineOptions;
  pipelineOptions.format = "bin";
  pipelineOptions.chip = options.chip;
  {
    PassManager pm = PassManager::on<ModuleOp>(module.getContext());
    buildCudaPipeline(pm, pipelineOptions, CudaPhase::GPU);
    if (failed(pm.run(module))) {
      error = "the CUDA pipeline failed on '" + options.inputFile + "'";
      return failure();
    }
  }
  std::vector<ResidentConstant> resident;
  keepConstantsOnDevice(module, weights, resident);
  {
    PassManager pm = PassManager::on<ModuleOp>(module.getContext());
    buildCudaPhase(pm, CudaPhase::Binary, pipelineOptions);
    if (failed(pm.run(module))) {
      error = "the CUDA pipeline failed on '" + options.inputFile + "'";
      return failure();
    }
  }
  auto entry = module.lookupSymbol<LLVM::LLVMFuncOp>(options.entry);
  if (!entry || entry.isExternal()) {
    error = "@" + options.entry + " is not a function after compilation";
    return failure();
  }

  // Host code for any x86-64-v2 machine (the GPU machine's CPU is unknown
  // here), position-independent; every resident constant through the table.
  ExecutableOptions executableOptions;
  executableOptions.targetCpu = "x86-64-v2";
  executableOptions.sharedLibrary = true;
  executableOptions.minDataBytes = INT64_MAX;
  for (const ResidentConstant &c : resident)
    executableOptions.tableSymbols.push_back(c.symbol);
  std::vector<std::string> features;
  if (failed(describeTargetFeatures(executableOptions, info.triple, info.cpu,
                                    features, error)))
    return failure();
  CompiledModule compiled;
  if (failed(compileModule(module, executableOptions, compiled, error)))
    return failure();
  TempFiles temps;
  std::string objectPath, library;
  if (!temps.write("o", compiled.object->getBuffer(), objectPath, error))
    return failure();
  // Against the CUDA runtime (mgpu*, lathe_cuda_*), libm and libc only.
  std::vector<std::string> libraries = {cudaRuntimeLibrary()};
  if (!llvm::sys::fs::exists(libraries[0])) {
    error = "cannot find the CUDA runtime library '" + libraries[0] +
            "' (set LATHE_CUDA_RUNTIME)";
    return failure();
  }
  for (const char *symbol : {"expf", "memcpy"}) {
    std::string path = libraryOf(::dlsym(RTLD_DEFAULT, symbol));
    if (!path.empty() && !llvm::is_contained(libraries, path))
      libraries.push_back(path);
  }
  if (!linkSharedLibrary(objectPath, libraries, library, error))
    return failure();

  std::string metadata;
  llvm::raw_string_ostream meta(metadata);
  meta << "lathe-model 1\n"
       << "entry " << options.entry << "\n"
       << "symbol _mlir_" << options.entry << "\n"
       << "backend cuda\n"
       << "gpu_chip " << options.chip << "\n"
       << "target " << info.triple << " " << info.cpu << "\n"
       << "cpu_features " << llvm::join(features, ",") << "\n"
       << "precision f32\n"
       << "source " << llvm::sys::path::filename(options.inputFile) << "\n"
       << "lathe_version " << getLatheVersion() << "\n"
       << signatureText;
  std::vector<DataPiece> data;
  uint64_t dataSize = 0;
  for (const ResidentConstant &c : resident) {
    uint64_t offset = alignTo(dataSize, 64);
    data.push_back({c.bytes.data(), offset, c.bytes.size()});
    meta << "constant " << offset << " " << c.bytes.size() << " " << c.symbol
         << "\n";
    dataSize = offset + c.bytes.size();
  }
  if (!writeModelFile(options.outputFile, metadata, library, data, dataSize,
                      error))
    return failure();
  info.codeBytes = library.size();
  info.dataBytes = dataSize;
  info.constants = resident.size();
  return success();
}

int mlir::lathe::compileCudaMain(const CompileOptions &options,
                                 ModuleOp module) {
  if (options.precision != "f32")
    return fail("--precision=" + options.precision +
                ": --backend=cuda compiles f32 only (TF32 matmuls are a "
                "run-time choice: lathe-run --allow-tf32)");
  if (options.targetCpu != "host")
    return fail("--cpu applies to --backend=cpu; the host code of "
                "--backend=cuda is for any x86-64-v2 machine");
  if (options.trace)
    return fail("--trace applies to --backend=cpu");
  if (options.outputFile.empty())
    return fail("no output file: pass -o FILE.lathe");
  StringRef chip(options.gpuChip);
  if (!chip.starts_with("sm_") || chip.size() < 5 ||
      !llvm::all_of(chip.drop_front(3), llvm::isDigit))
    return fail("--gpu-chip=" + options.gpuChip +
                ": expected sm_<compute capability> such as sm_90 or sm_80 "
                "(no 'a' variant: its code runs on that one GPU only)");
  std::string error;
  if (!checkOutputDirectory(options.outputFile, error))
    return fail(error);
  CudaArtifactOptions artifactOptions;
  artifactOptions.inputFile = options.inputFile;
  artifactOptions.outputFile = options.outputFile;
  artifactOptions.entry = options.entry;
  artifactOptions.chip = options.gpuChip;
  CudaArtifactInfo info;
  if (failed(writeCudaArtifact(module, artifactOptions, info, error)))
    return fail(error);
  llvm::outs() << llvm::formatv(
      "wrote {0}: {1} bytes of code (cubin for {2} inside), {3} bytes of "
      "weights in {4} constants (uploaded to the device once, at load), "
      "host code for {5} {6}\n",
      options.outputFile, info.codeBytes, options.gpuChip, info.dataBytes,
      info.constants, info.triple, info.cpu);
  return 0;
}

#endif // LATHE_HAS_CUDA
