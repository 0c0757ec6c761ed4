//===- Pipeline.cpp - The CPU target's pipelines --------------------------===//
//
// Every phase is built from pass constructors and their options structs; no
// pass pipeline text is parsed, so a misspelled pass or option is a compile
// error, not a run-time one.
//
//===----------------------------------------------------------------------===//

#include "lathe/Target/CPU/Pipeline.h"

#include "lathe/Conversion/Passes.h"
#include "lathe/Dialect/MemRed/Passes.h"
#include "lathe/Dialect/QComm/Passes.h"
#include "lathe/Dialect/SparseGCN/Passes.h"
#include "lathe/Dialect/Train/Passes.h"
#include "lathe/Target/CPU/Passes.h"
#include "lathe/Transforms/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/OpenMPToLLVM/ConvertOpenMPToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/SCFToOpenMP/SCFToOpenMP.h"
#include "mlir/Conversion/TosaToArith/TosaToArith.h"
#include "mlir/Conversion/TosaToLinalg/TosaToLinalg.h"
#include "mlir/Conversion/TosaToTensor/TosaToTensor.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::lathe;

namespace {

/// Hands the module to the driver's callback where a phase ends. Not
/// registered: it exists only in pipelines built with a callback.
struct PhaseBoundaryPass
    : public PassWrapper<PhaseBoundaryPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(PhaseBoundaryPass)

  PhaseBoundaryPass(CpuPhase phase, PhaseCallback callback)
      : phase(phase), callback(std::move(callback)) {}

  StringRef getArgument() const override { return "lathe-cpu-phase-boundary"; }
  StringRef getDescription() const override {
    return "Hands the module to the driver where a CPU phase ends";
  }

  void runOnOperation() override {
    callback(phase, getOperation());
    markAllAnalysesPreserved();
  }

  CpuPhase phase;
  PhaseCallback callback;
};

/// The phase's contract, then the driver's callback.
void endPhase(OpPassManager &pm, CpuPhase phase,
              const PhaseCallback &onPhaseEnd) {
  LatheCheckContractOptions contract;
  contract.phase = phase;
  pm.addPass(createLatheCheckContract(contract));
  if (onPhaseEnd)
    pm.addPass(std::make_unique<PhaseBoundaryPass>(phase, onPhaseEnd));
}

void addImportPasses(OpPassManager &pm) {
  pm.addPass(createLatheRecordSignature());
  OpPassManager &funcPm = pm.nest<func::FuncOp>();
  funcPm.addPass(tosa::createTosaToLinalgNamed());
  funcPm.addPass(tosa::createTosaToLinalg());
  funcPm.addPass(createTosaToArithPass());
  funcPm.addPass(createTosaToTensorPass());
  // Other exporters' generics and tensor arith, in the named forms that
  // kernel formation recognises.
  funcPm.addPass(createLatheRaiseGenerics());
  pm.addPass(train::createTrainLowerToLinalg());
  // Importers size a result from tensor.dim of its operands (ONNX broadcasts
  // take arith.minsi of both), so the row statistics of a dynamic-batch
  // layer norm or softmax would stay live as the source of the batch size
  // after kernel formation replaced their only data use. Sizes written in
  // terms of the function's inputs leave them dead.
  pm.addPass(memref::createResolveRankedShapeTypeResultDimsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createLatheCPUGuardIndices());
}

void addKernelPasses(OpPassManager &pm, const CpuPipelineOptions &options) {
  // Quantized collectives become qcomm compute ops (which bufferize) and
  // shard collectives first.
  pm.addPass(qcomm::createQCommExpandCollectives());
  // Ulysses all-to-alls become shard.all_to_all with their transposes.
  pm.addPass(createConvertSeqShardToShard());
  OpPassManager &funcPm = pm.nest<func::FuncOp>();
  funcPm.addPass(createConvertLowRankToLathe());
  if (options.raiseAttention) {
    memred::MemRedRaiseAttentionOptions attention;
    attention.minScores = options.attentionMinScores;
    funcPm.addPass(memred::createMemRedRaiseAttention(attention));
  }
  funcPm.addPass(sparsegcn::createSparseGCNTile());
  funcPm.addPass(createLatheCPUFormRecurrent());
  LatheCPUFormKernelsOptions kernels;
  kernels.fusePooling = options.fusePooling;
  funcPm.addPass(createLatheCPUFormKernels(kernels));
  if (options.mergeSiblingMatmuls)
    funcPm.addPass(createLatheCPUMergeSiblingMatmuls());
  LatheCPUChainConvsOptions chain;
  chain.blockChannels = options.blockChannels;
  chain.channelsLast = options.channelsLast;
  funcPm.addPass(createLatheCPUChainConvs(chain));
  pm.addPass(createLatheFuseElementwise());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (options.bf16Activations) {
    // After the fusions: it decides on the kernels' final consumers.
    pm.nest<func::FuncOp>().addPass(createLatheCPUBf16Activations());
    pm.addPass(createCanonicalizerPass());
  }
}

void addBufferizePasses(OpPassManager &pm) {
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addPass(createCanonicalizerPass());
}

void addRuntimeCallPasses(OpPassManager &pm,
                          const CpuPipelineOptions &options) {
  if (options.int8Calibrate || !options.int8Ranges.empty()) {
    LatheCPUQuantizeInt8Options int8;
    int8.calibrate = options.int8Calibrate;
    int8.ranges = llvm::to_vector(options.int8Ranges);
    pm.addPass(createLatheCPUQuantizeInt8(int8));
  }
  pm.addPass(createLatheCPULowerToRuntime());
  pm.addPass(createLatheCPULowerRecurrent());
  pm.addPass(createLatheCPULowerSparseGCN());
  pm.addPass(createLatheCPULowerMemRed());
  pm.addPass(createLatheCPULowerCollectives());
  pm.addPass(createLatheCPULowerQComm());
  pm.addPass(createCanonicalizerPass());
  if (options.trace)
    pm.addPass(createLatheCPUInstrumentTrace());
}

/// Lowering of everything that is left once kernels became runtime calls.
/// Allocations use the runtime's allocator (use-generic-functions), so the
/// runtime's high-water mark counts every buffer of generated code.
/// scf.parallel becomes OpenMP here rather than in the 'loops' phase: the
/// printed omp.wsloop of MLIR 22 does not parse back until its body is LLVM.
/// Ends with the floating-point freedoms of generated code.
void addLLVMPasses(OpPassManager &pm, bool fpReassoc, bool fpContract) {
  pm.addPass(createLatheCPULowerAsserts());
  pm.addPass(createLatheCPUScopeRuntimeCalls());
  // One parallel dimension or a few, with loops inside, rather than
  // OpenMP's collapsed (index-dividing, unvectorizable) loop nest.
  pm.addPass(createLatheCPUNestParallelLoops());
  pm.addPass(createConvertSCFToOpenMPPass());
  // Small loops on the calling thread: a fork/join costs more than they do.
  pm.addPass(createLatheCPUSerializeSmallLoops());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  FinalizeMemRefToLLVMConversionPassOptions memrefToLLVM;
  memrefToLLVM.useGenericFunctions = true;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefToLLVM));
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  LatheLLVMFastmathOptions fastmath;
  fastmath.reassoc = fpReassoc;
  fastmath.contract = fpContract;
  pm.addPass(createLatheLLVMFastmath(fastmath));
}

void addPhasePasses(OpPassManager &pm, CpuPhase phase,
                    const CpuPipelineOptions &options) {
  switch (phase) {
  case CpuPhase::Import:
    return addImportPasses(pm);
  case CpuPhase::Kernels:
    return addKernelPasses(pm, options);
  case CpuPhase::Bufferize:
    return addBufferizePasses(pm);
  case CpuPhase::RuntimeCalls:
    return addRuntimeCallPasses(pm, options);
  case CpuPhase::Loops:
    pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
    return;
  case CpuPhase::LLVM:
    return addLLVMPasses(pm, options.fpReassoc, options.fpContract);
  }
}

} // namespace

std::string mlir::lathe::CpuPipelineOptions::fastMathName() const {
  if (fpReassoc && fpContract)
    return "reassoc,contract";
  if (fpReassoc)
    return "reassoc";
  if (fpContract)
    return "contract";
  return "none";
}

LogicalResult mlir::lathe::parseFastMath(StringRef text,
                                         CpuPipelineOptions &options,
                                         std::string &error) {
  bool reassoc = false, contract = false;
  if (text != "none") {
    SmallVector<StringRef> parts;
    text.split(parts, ',');
    for (StringRef part : parts) {
      if (part == "reassoc") {
        reassoc = true;
        continue;
      }
      if (part == "contract") {
        contract = true;
        continue;
      }
      error = ("unknown fast-math flag '" + part +
               "' (expected 'none' or a comma-separated list of reassoc, "
               "contract)")
                  .str();
      return failure();
    }
  }
  options.fpReassoc = reassoc;
  options.fpContract = contract;
  return success();
}

void mlir::lathe::buildCpuPhase(OpPassManager &pm, CpuPhase phase,
                                const CpuPipelineOptions &options) {
  addPhasePasses(pm, phase, options);
  endPhase(pm, phase, nullptr);
}

void mlir::lathe::buildCpuPipeline(OpPassManager &pm,
                                   const CpuPipelineOptions &options,
                                   std::optional<CpuPhase> lastPhase,
                                   PhaseCallback onPhaseEnd) {
  for (const CpuPhaseInfo &info : getCpuPhases()) {
    addPhasePasses(pm, info.phase, options);
    endPhase(pm, info.phase, onPhaseEnd);
    if (info.phase == lastPhase)
      break;
  }
}

LogicalResult mlir::lathe::buildCpuPipeline(OpPassManager &pm,
                                            StringRef lastPhase,
                                            std::string &error,
                                            const CpuPipelineOptions &options,
                                            PhaseCallback onPhaseEnd) {
  std::optional<CpuPhase> last;
  if (!lastPhase.empty()) {
    last = symbolizeCpuPhase(lastPhase);
    if (!last) {
      error = ("unknown phase '" + lastPhase +
               "' (expected one of: " + getCpuPhaseList() + ")")
                  .str();
      return failure();
    }
  }
  buildCpuPipeline(pm, options, last, std::move(onPhaseEnd));
  return success();
}

void mlir::lathe::buildReferencePipeline(OpPassManager &pm,
                                         PhaseCallback onPhaseEnd) {
  addImportPasses(pm);
  endPhase(pm, CpuPhase::Import, onPhaseEnd);
  ConvertLowRankToLatheOptions lowrank;
  lowrank.linalgOnly = true;
  OpPassManager &funcPm = pm.nest<func::FuncOp>();
  funcPm.addPass(createConvertLowRankToLathe(lowrank));
  funcPm.addPass(createLatheDecomposeAggregates());
  addBufferizePasses(pm);
  endPhase(pm, CpuPhase::Bufferize, onPhaseEnd);
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  endPhase(pm, CpuPhase::Loops, onPhaseEnd);
  // Strict IEEE evaluation: the reference does not reassociate or contract.
  addLLVMPasses(pm, /*fpReassoc=*/false, /*fpContract=*/false);
  endPhase(pm, CpuPhase::LLVM, onPhaseEnd);
}

void mlir::lathe::registerCpuPipelines() {
  PassPipelineRegistration<CpuPipelineOptions>(
      "lathe-cpu-pipeline",
      "The whole CPU pipeline: linalg/TOSA on tensors to the LLVM dialect",
      [](OpPassManager &pm, const CpuPipelineOptions &options) {
        buildCpuPipeline(pm, options);
      });
  for (const CpuPhaseInfo &info : getCpuPhases()) {
    CpuPhase phase = info.phase;
    PassPipelineRegistration<CpuPipelineOptions>(
        ("lathe-cpu-" + info.name).str(),
        ("CPU phase '" + info.name + "': " + info.summary).str(),
        [phase](OpPassManager &pm, const CpuPipelineOptions &options) {
          buildCpuPhase(pm, phase, options);
        });
  }
  PassPipelineRegistration<>(
      "lathe-reference-pipeline",
      "Upstream passes only: scalar loops, no Lathe kernels (a baseline)",
      [](OpPassManager &pm) { buildReferencePipeline(pm); });
}
