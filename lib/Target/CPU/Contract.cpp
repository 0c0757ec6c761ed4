//===- Contract.cpp - What each CPU phase leaves behind -------------------===//
//
// The backend contract of every phase of the CPU pipeline (as torch-mlir
// checks at the end of its pipelines), each a ConversionTarget: an op the
// target finds illegal breaks the contract, and lathe-check-contract names
// the first such op, the phase, what the phase promised and the fix.
//
//===----------------------------------------------------------------------===//

#include "lathe/Target/CPU/Passes.h"
#include "lathe/Target/CPU/Phases.h"
#include "lathe/Target/PhaseTable.h"

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Dialect/LowRank/LowRankOps.h"
#include "lathe/Dialect/MemRed/MemRedOps.h"
#include "lathe/Dialect/QComm/QCommOps.h"
#include "lathe/Dialect/SeqShard/SeqShardOps.h"
#include "lathe/Dialect/SparseGCN/SparseGCNOps.h"
#include "lathe/Dialect/Train/TrainOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECHECKCONTRACT
#include "lathe/Target/CPU/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

const CpuPhaseInfo kCpuPhases[] = {
    {CpuPhase::Import, "import",
     "TOSA to linalg; canonical linalg on tensors; data-dependent indices "
     "checked"},
    {CpuPhase::Kernels, "kernels",
     "matmuls and their epilogues become lathe.matmul; element-wise fusion"},
    {CpuPhase::Bufferize, "bufferize",
     "one-shot bufferization and deallocation"},
    {CpuPhase::RuntimeCalls, "runtime-calls",
     "kernel ops become calls into the Lathe runtime"},
    {CpuPhase::Loops, "loops",
     "remaining linalg ops become OpenMP-parallel loops"},
    {CpuPhase::LLVM, "llvm",
     "OpenMP for parallel loops; the LLVM dialect, ready for the JIT"},
};

bool isTensor(Type type) { return isa<TensorType>(type); }

/// True when `op` has no tensor operand, result or (for a function) tensor
/// in its signature.
bool hasNoTensors(Operation *op) {
  if (llvm::any_of(op->getOperandTypes(), isTensor) ||
      llvm::any_of(op->getResultTypes(), isTensor))
    return false;
  if (auto fn = dyn_cast<FunctionOpInterface>(op))
    return llvm::none_of(fn.getArgumentTypes(), isTensor) &&
           llvm::none_of(fn.getResultTypes(), isTensor);
  return true;
}

/// A public function with a body in the top-level module must carry the
/// signature that lathe-record-signature recorded (lathe-run reads it at any
/// phase).
bool hasSignature(func::FuncOp fn) {
  Operation *parent = fn->getParentOp();
  bool topLevel = parent && !parent->getParentOp();
  return !topLevel || fn.isDeclaration() || !fn.isPublic() ||
         fn->hasAttr("lathe.signature");
}

/// lathe-cpu-form-kernels raises every f32 matmul and batch_matmul on
/// tensors with the default indexing maps to lathe.matmul.
template <typename OpTy> bool isLeftForLoops(OpTy op) {
  bool f32Tensors = llvm::all_of(op->getOperandTypes(), [](Type type) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    return tensor && tensor.getElementType().isF32();
  });
  return !(op.hasPureTensorSemantics() && f32Tensors &&
           !op.hasUserDefinedMaps());
}

bool isKernelDialect(Dialect *dialect) {
  return isa_and_nonnull<LatheDialect, lowrank::LowRankDialect,
                         memred::MemRedDialect, qcomm::QCommDialect,
                         sparsegcn::SparseGCNDialect>(dialect);
}

} // namespace

ArrayRef<CpuPhaseInfo> mlir::lathe::getCpuPhases() { return kCpuPhases; }

StringRef mlir::lathe::stringifyCpuPhase(CpuPhase phase) {
  StringRef name = phaseName(getCpuPhases(), phase);
  if (name.empty())
    llvm_unreachable("unknown CPU phase");
  return name;
}

std::optional<CpuPhase> mlir::lathe::symbolizeCpuPhase(StringRef name) {
  return phaseNamed(getCpuPhases(), name);
}

std::string mlir::lathe::getCpuPhaseList() {
  return phaseNames(getCpuPhases());
}

std::unique_ptr<ConversionTarget>
mlir::lathe::getCpuPhaseContract(MLIRContext *context, CpuPhase phase) {
  auto target = std::make_unique<ConversionTarget>(*context);
  switch (phase) {
  case CpuPhase::Import:
    target->markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    target->addIllegalDialect<tosa::TosaDialect, train::TrainDialect>();
    target->addDynamicallyLegalOp<func::FuncOp>(hasSignature);
    break;
  case CpuPhase::Kernels:
    target->markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    target->addIllegalDialect<tosa::TosaDialect, train::TrainDialect,
                              lowrank::LowRankDialect>();
    target->addDynamicallyLegalOp<linalg::MatmulOp>(
        isLeftForLoops<linalg::MatmulOp>);
    target->addDynamicallyLegalOp<linalg::BatchMatmulOp>(
        isLeftForLoops<linalg::BatchMatmulOp>);
    target->addIllegalOp<qcomm::AllGatherOp, qcomm::ReduceScatterOp>();
    target->addIllegalDialect<seqshard::SeqShardDialect>();
    break;
  case CpuPhase::Bufferize:
    target->markUnknownOpDynamicallyLegal(hasNoTensors);
    break;
  case CpuPhase::RuntimeCalls:
  case CpuPhase::Loops:
    target->markUnknownOpDynamicallyLegal(hasNoTensors);
    target->addIllegalDialect<LatheDialect, lowrank::LowRankDialect,
                              memred::MemRedDialect, qcomm::QCommDialect,
                              sparsegcn::SparseGCNDialect>();
    if (phase == CpuPhase::Loops)
      target->addIllegalDialect<linalg::LinalgDialect>();
    break;
  case CpuPhase::LLVM:
    // OpenMP constructs on LLVM types are translated by the OpenMP IR
    // translation; everything else must be the llvm dialect.
    target->markUnknownOpDynamicallyLegal([](Operation *) { return false; });
    target->addLegalDialect<LLVM::LLVMDialect, omp::OpenMPDialect>();
    target->addLegalOp<ModuleOp>();
    break;
  }
  return target;
}

std::string mlir::lathe::explainContractViolation(CpuPhase phase,
                                                  Operation *op) {
  std::string message;
  llvm::raw_string_ostream os(message);
  StringRef name = op->getName().getStringRef();
  os << "phase '" << stringifyCpuPhase(phase) << "' must leave ";
  Dialect *dialect = op->getDialect();
  if (phase == CpuPhase::LLVM) {
    os << "only the llvm (and omp) dialect, but " << name
       << " remains: add a lowering for it to the pipeline";
  } else if (isa_and_nonnull<tosa::TosaDialect>(dialect)) {
    os << "no tosa ops, but " << name
       << " remains: add its conversion to the 'import' phase (it runs "
          "tosa-to-linalg-named, tosa-to-linalg, tosa-to-arith and "
          "tosa-to-tensor; tosa control flow would need tosa-to-scf)";
  } else if (isa_and_nonnull<train::TrainDialect>(dialect)) {
    os << "no train ops, but " << name
       << " remains: train-lower-to-linalg (in the 'import' phase) must "
          "lower it";
  } else if (auto fn = dyn_cast<func::FuncOp>(op);
             fn && phase == CpuPhase::Import) {
    os << "a 'lathe.signature' on every public function, but " << name << " @"
       << fn.getSymName() << " has none: run lathe-record-signature first";
  } else if (isa<linalg::MatmulOp, linalg::BatchMatmulOp>(op) &&
             phase == CpuPhase::Kernels) {
    os << "no " << name
       << " on f32 tensors with the default indexing maps, but one remains: "
          "lathe-cpu-form-kernels must raise it to lathe.matmul (add a "
          "kernel formation for this form)";
  } else if (isa<qcomm::AllGatherOp, qcomm::ReduceScatterOp>(op)) {
    os << "no quantized collectives, but " << name
       << " remains: qcomm-expand-collectives (in the 'kernels' phase) must "
          "expand it into qcomm compute ops and shard collectives";
  } else if (isa_and_nonnull<seqshard::SeqShardDialect>(dialect)) {
    os << "no seqshard ops, but " << name
       << " remains: seqshard-expand-all-to-all (in the 'kernels' phase) "
          "must expand it into shard.all_to_all";
  } else if (isa_and_nonnull<lowrank::LowRankDialect>(dialect) &&
             phase == CpuPhase::Kernels) {
    os << "no lowrank ops, but " << name
       << " remains: convert-lowrank-to-lathe must lower it";
  } else if (isa<FunctionOpInterface>(op) && !hasNoTensors(op)) {
    os << "no tensor values, but " << name
       << " has a tensor in its signature: one-shot-bufferize "
          "(bufferize-function-boundaries) did not convert it";
  } else if (!hasNoTensors(op)) {
    os << "no tensor values, but " << name
       << " still has one: the op has no bufferization model";
  } else if (isKernelDialect(dialect)) {
    os << "no ops of the lathe, lowrank, memred, qcomm or sparsegcn "
          "dialects, but "
       << name
       << " remains: the 'runtime-calls' phase has no runtime call for this "
          "form of it (add one to lathe-cpu-lower-to-runtime, "
          "lathe-cpu-lower-memred, lathe-cpu-lower-qcomm or "
          "lathe-cpu-lower-sparsegcn)";
  } else if (isa_and_nonnull<linalg::LinalgDialect>(dialect)) {
    os << "no linalg ops, but " << name
       << " remains: convert-linalg-to-parallel-loops cannot lower it "
          "(decompose it into linalg.generic, or give it a runtime call, "
          "before the 'loops' phase)";
  } else {
    os << "a legal form, but " << name << " is not";
  }
  return message;
}

namespace {
struct LatheCheckContract
    : public lathe::impl::LatheCheckContractBase<LatheCheckContract> {
  using Base::Base;

  void runOnOperation() override {
    std::unique_ptr<ConversionTarget> contract =
        getCpuPhaseContract(&getContext(), phase);
    // The first offending op in program order, except that a function is
    // named only when nothing inside it offends: a function with tensors in
    // its signature is the symptom, the op inside without a lowering the
    // cause.
    Operation *first = nullptr, *firstFunction = nullptr;
    int64_t count = 0;
    getOperation().walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (!contract->isIllegal(op))
        return;
      ++count;
      Operation *&slot = isa<FunctionOpInterface>(op) ? firstFunction : first;
      if (!slot)
        slot = op;
    });
    if (!first)
      first = firstFunction;
    int64_t more = count - 1;
    if (!first)
      return;
    InFlightDiagnostic diag =
        first->emitError(explainContractViolation(phase, first));
    if (more)
      diag.attachNote() << more << " more op(s) break the contract of phase '"
                        << stringifyCpuPhase(phase) << "'";
    signalPassFailure();
  }
};
} // namespace
