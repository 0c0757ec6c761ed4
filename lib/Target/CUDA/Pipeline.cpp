//===- Pipeline.cpp - The CUDA target's pipeline --------------------------===//
//
// Built from pass constructors and their options structs, like the CPU
// pipeline; the `import` and `bufferize` phases are the CPU target's own.
//
//===----------------------------------------------------------------------===//

#include "lathe/Target/CUDA/Pipeline.h"

#include "lathe/Conversion/Passes.h"
#include "lathe/Dialect/MemRed/Passes.h"
#include "lathe/Dialect/QComm/Passes.h"
#include "lathe/Target/CPU/Passes.h"
#include "lathe/Target/CPU/Pipeline.h"
#include "lathe/Target/CUDA/Passes.h"
#include "lathe/Target/PhaseTable.h"
#include "lathe/Transforms/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/GPUCommon/GPUCommonPass.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/SCFToGPU/SCFToGPUPass.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::lathe;

static const CudaPhaseInfo kPhases[] = {
    {CudaPhase::Import, "import",
     "the CPU target's import phase (linalg/tensor/arith on tensors)"},
    {CudaPhase::Kernels, "kernels",
     "lathe.matmul/lathe.conv2d/lathe.layer_norm/lathe.rnn kernel ops, "
     "linalg.softmax, memred attention, sparsegcn aggregation; element-wise "
     "chains fused"},
    {CudaPhase::Bufferize, "bufferize", "one-shot bufferization to memrefs"},
    {CudaPhase::LibraryCalls, "library-calls",
     "kernel ops become lathe_cuda_* calls (cuBLASLt, own kernels); index "
     "checks record on the device"},
    {CudaPhase::GPU, "gpu",
     "the rest tiled onto blocks and threads, outlined into one gpu.module; "
     "host buffers on the device"},
    {CudaPhase::Binary, "binary",
     "NVVM, one PTX/cubin gpu.binary, host code in the LLVM dialect"},
};

ArrayRef<CudaPhaseInfo> mlir::lathe::getCudaPhases() { return kPhases; }

std::optional<CudaPhase> mlir::lathe::symbolizeCudaPhase(StringRef name) {
  return phaseNamed(getCudaPhases(), name);
}

std::string mlir::lathe::getCudaPhaseList() {
  return phaseNames(getCudaPhases());
}

StringRef mlir::lathe::stringifyCudaPhase(CudaPhase phase) {
  return phaseName(getCudaPhases(), phase);
}

static void addKernelPasses(OpPassManager &pm) {
  // As on the CPU: quantized collectives become qcomm compute ops (the
  // runtime's CUDA quantization kernels) and shard collectives, Ulysses
  // all-to-alls become shard.all_to_all with their transposes. The shard
  // collectives bufferize into lathe_rt_comm_* calls that library-calls
  // retargets to the runtime's NCCL collectives.
  pm.addPass(qcomm::createQCommExpandCollectives());
  pm.addPass(createConvertSeqShardToShard());
  OpPassManager &funcPm = pm.nest<func::FuncOp>();
  funcPm.addPass(createConvertLowRankToLathe());
  // Attention with large score matrices becomes memred.attention (the
  // runtime's flash-style kernel), with the CPU target's threshold.
  memred::MemRedRaiseAttentionOptions attention;
  attention.minScores = -1;
  funcPm.addPass(memred::createMemRedRaiseAttention(attention));
  // LSTM/GRU loops become lathe.rnn (cuBLASLt GEMMs + a fused gate kernel).
  funcPm.addPass(createLatheCPUFormRecurrent());
  // Softmax and layer norm stay kernel ops (the runtime's warp-per-row
  // kernels); a pooling epilogue and padded pooling are kernels too. No
  // blocked layouts (lathe-cpu-chain-convs is not run).
  funcPm.addPass(createLatheCPUFormKernels());
  pm.addPass(createLatheFuseElementwise());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

static void addLibraryCallPasses(OpPassManager &pm) {
  pm.addPass(createLatheCPULowerToRuntime());
  pm.addPass(createLatheCPULowerRecurrent());
  pm.addPass(createLatheCPULowerSparseGCN());
  pm.addPass(createLatheCPULowerMemRed());
  pm.addPass(createLatheCPULowerQComm());
  // Process indices from the runtime's rank; the grids erased.
  pm.addPass(createLatheCPULowerCollectives());
  // Host loop nests and scalar reads of buffers move into kernels.
  pm.addNestedPass<func::FuncOp>(createLatheCUDAHostLoops());
  pm.addPass(createLatheCUDAIndexChecks());
  pm.addPass(createLatheCUDARetargetCalls());
  pm.addPass(createCanonicalizerPass());
}

static void addGpuPasses(OpPassManager &pm,
                         const CudaPipelineOptions &options) {
  pm.addPass(createLatheCUDADeviceMemory());
  pm.addPass(createLatheCUDAHostScalars());
  pm.addNestedPass<func::FuncOp>(createLatheCUDASerialKernels());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  LatheCUDATileParallelLoopsOptions tiling;
  tiling.threads = options.threads;
  pm.addNestedPass<func::FuncOp>(createLatheCUDATileParallelLoops(tiling));
  pm.addPass(createConvertParallelLoopToGpuPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createLatheCUDAMergeGPUModules());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createCanonicalizerPass());
}

static void addBinaryPasses(OpPassManager &pm,
                            const CudaPipelineOptions &options) {
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  // PTX 8.0 (CUDA 12.0): new enough for sm_90, old enough for every
  // driver that knows sm_90.
  target.features = "+ptx80";
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));
  OpPassManager &gpuPm = pm.nest<gpu::GPUModuleOp>();
  ConvertGpuOpsToNVVMOpsOptions nvvm;
  nvvm.indexBitwidth = 64;
  gpuPm.addPass(createConvertGpuOpsToNVVMOps(nvvm));
  gpuPm.addPass(createCanonicalizerPass());
  gpuPm.addPass(createCSEPass());
  gpuPm.addPass(createReconcileUnrealizedCastsPass());
  // One stream: every launch, copy and allocation is ordered on it.
  pm.addNestedPass<func::FuncOp>(createGpuAsyncRegionPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createGpuToLLVMConversionPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = options.format;
  binary.toolkitPath = options.toolkit;
  pm.addPass(createGpuModuleToBinaryPass(binary));
}

void mlir::lathe::buildCudaPhase(OpPassManager &pm, CudaPhase phase,
                                 const CudaPipelineOptions &options) {
  switch (phase) {
  case CudaPhase::Import:
    // The CPU target's import phase, with its own contract.
    buildCpuPhase(pm, CpuPhase::Import, CpuPipelineOptions());
    break;
  case CudaPhase::Kernels:
    addKernelPasses(pm);
    break;
  case CudaPhase::Bufferize:
    buildCpuPhase(pm, CpuPhase::Bufferize, CpuPipelineOptions());
    break;
  case CudaPhase::LibraryCalls:
    addLibraryCallPasses(pm);
    break;
  case CudaPhase::GPU:
    addGpuPasses(pm, options);
    break;
  case CudaPhase::Binary:
    addBinaryPasses(pm, options);
    break;
  }
  LatheCUDACheckContractOptions contract;
  contract.phase = phase;
  pm.addPass(createLatheCUDACheckContract(contract));
}

void mlir::lathe::buildCudaPipeline(OpPassManager &pm,
                                    const CudaPipelineOptions &options,
                                    std::optional<CudaPhase> lastPhase) {
  for (const CudaPhaseInfo &info : kPhases) {
    buildCudaPhase(pm, info.phase, options);
    if (info.phase == lastPhase)
      break;
  }
}

LogicalResult mlir::lathe::getGpuBinaryBlob(ModuleOp module, std::string &blob,
                                            std::string &error) {
  auto binaries = llvm::to_vector(module.getOps<gpu::BinaryOp>());
  if (binaries.size() != 1) {
    error = "expected one gpu.binary after the CUDA 'binary' phase, found " +
            std::to_string(binaries.size());
    return failure();
  }
  ArrayAttr objects = binaries.front().getObjects();
  if (objects.size() != 1) {
    error = "expected one object in the gpu.binary, found " +
            std::to_string(objects.size());
    return failure();
  }
  auto object = cast<gpu::ObjectAttr>(objects[0]);
  blob = object.getObject().getValue().str();
  return success();
}

void mlir::lathe::registerCudaPipelines() {
  PassPipelineRegistration<CudaPipelineOptions>(
      "lathe-cuda-pipeline",
      "The whole CUDA pipeline: linalg/TOSA on tensors to host LLVM dialect "
      "plus one PTX gpu.binary",
      [](OpPassManager &pm, const CudaPipelineOptions &options) {
        buildCudaPipeline(pm, options);
      });
  for (const CudaPhaseInfo &info : kPhases) {
    CudaPhase phase = info.phase;
    PassPipelineRegistration<CudaPipelineOptions>(
        ("lathe-cuda-" + info.name).str(),
        ("CUDA phase '" + info.name + "': " + info.summary).str(),
        [phase](OpPassManager &pm, const CudaPipelineOptions &options) {
          buildCudaPhase(pm, phase, options);
        });
  }
}
