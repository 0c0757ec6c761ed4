//===- Pipelines.cpp - Lathe's named pipelines ----------------------------===//

#include "lathe/Pipelines/Pipelines.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::lathe;

namespace {

/// Lowering of everything that is left once kernels became runtime calls.
/// Allocations use the runtime's allocator (use-generic-functions), so the
/// runtime's high-water mark counts every buffer of generated code.
/// scf.parallel becomes OpenMP here rather than in the 'loops' phase: the
/// printed omp.wsloop of MLIR 22 does not parse back until its body is LLVM.
constexpr StringLiteral kToLLVM =
    "lathe-cpu-lower-asserts,"
    "convert-scf-to-openmp,expand-strided-metadata,lower-affine,"
    "finalize-memref-to-llvm{use-generic-functions=true},convert-scf-to-cf,"
    "convert-math-to-llvm,convert-math-to-libm,convert-arith-to-llvm,"
    "convert-index-to-llvm,convert-openmp-to-llvm,convert-func-to-llvm,"
    "convert-cf-to-llvm,reconcile-unrealized-casts";

constexpr StringLiteral kBufferize =
    "one-shot-bufferize{bufferize-function-boundaries=true "
    "function-boundary-type-conversion=identity-layout-map},"
    "buffer-deallocation-pipeline,convert-bufferization-to-memref,"
    "canonicalize,lathe-check-contract{phase=bufferize}";

const Phase kCpuPhases[] = {
    {"import",
     "TOSA to linalg; canonical linalg on tensors; data-dependent indices "
     "checked",
     "lathe-record-signature,func.func(tosa-to-linalg-named,tosa-to-linalg,tosa-to-arith,"
     "tosa-to-tensor),train-lower-to-linalg,canonicalize,cse,lathe-cpu-guard-indices"},
    {"kernels",
     "matmuls and their epilogues become lathe.matmul; element-wise fusion",
     "func.func(convert-lowrank-to-lathe,memred-raise-attention{min-scores=262144},sparsegcn-tile,lathe-cpu-form-kernels,lathe-cpu-chain-convs),lathe-fuse-elementwise,"
     "canonicalize,cse"},
    {"bufferize", "one-shot bufferization and deallocation", kBufferize},
    {"runtime-calls", "kernel ops become calls into the Lathe runtime",
     "lathe-cpu-lower-to-runtime,lathe-cpu-lower-sparsegcn,"
     "lathe-cpu-lower-memred,canonicalize"},
    {"loops", "remaining linalg ops become OpenMP-parallel loops",
     "func.func(convert-linalg-to-parallel-loops)"},
    {"llvm", "OpenMP for parallel loops; the LLVM dialect, ready for the JIT",
     kToLLVM},
};

/// The floating-point freedoms of generated code, stated by a pass at the
/// end of the 'llvm' phase, then the phase's contract.
std::string llvmPhaseTail(const CpuPipelineOptions &options) {
  return ("lathe-llvm-fastmath{reassoc=" + llvm::Twine(options.fpReassoc) +
          " contract=" + llvm::Twine(options.fpContract) +
          "},lathe-check-contract{phase=llvm}")
      .str();
}

LogicalResult addPasses(OpPassManager &pm, StringRef passes,
                        std::string &error) {
  llvm::raw_string_ostream os(error);
  return parsePassPipeline(passes, pm, os);
}

} // namespace

ArrayRef<Phase> mlir::lathe::getCpuPhases() { return kCpuPhases; }

std::string mlir::lathe::getCpuPhaseList() {
  std::string list;
  for (const Phase &phase : kCpuPhases) {
    if (!list.empty())
      list += ", ";
    list += phase.name.str();
  }
  return list;
}

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
  options.fpReassoc = options.fpContract = false;
  if (text == "none")
    return success();
  SmallVector<StringRef> parts;
  text.split(parts, ',');
  for (StringRef part : parts) {
    if (part == "reassoc")
      options.fpReassoc = true;
    else if (part == "contract")
      options.fpContract = true;
    else {
      error = ("unknown fast-math flag '" + part +
               "' (expected 'none' or a comma-separated list of reassoc, "
               "contract)")
                  .str();
      return failure();
    }
  }
  return success();
}

LogicalResult mlir::lathe::buildCpuPipeline(OpPassManager &pm,
                                            StringRef lastPhase,
                                            std::string &error,
                                            const CpuPipelineOptions &options) {
  if (!lastPhase.empty() &&
      llvm::none_of(kCpuPhases,
                    [&](const Phase &p) { return p.name == lastPhase; })) {
    error = ("unknown phase '" + lastPhase + "' (expected one of: " +
             getCpuPhaseList() + ")")
                .str();
    return failure();
  }
  for (const Phase &phase : kCpuPhases) {
    if (failed(addPasses(pm, phase.passes, error)))
      return failure();
    if (phase.name == "llvm" &&
        failed(addPasses(pm, llvmPhaseTail(options), error)))
      return failure();
    if (phase.name == lastPhase)
      break;
  }
  return success();
}

LogicalResult mlir::lathe::buildReferencePipeline(OpPassManager &pm,
                                                  std::string &error) {
  if (failed(addPasses(pm, kCpuPhases[0].passes, error)) ||
      failed(addPasses(pm,
                       "func.func(convert-lowrank-to-lathe{linalg-only=true},"
                       "lathe-decompose-aggregates)",
                       error)) ||
      failed(addPasses(pm, kBufferize, error)) ||
      failed(addPasses(pm, "func.func(convert-linalg-to-loops)", error)))
    return failure();
  // Strict IEEE evaluation: the reference does not reassociate or contract.
  CpuPipelineOptions strict;
  strict.fpReassoc = strict.fpContract = false;
  if (failed(addPasses(pm, kToLLVM, error)))
    return failure();
  return addPasses(pm, llvmPhaseTail(strict), error);
}

void mlir::lathe::registerLathePipelines() {
  PassPipelineRegistration<>(
      "lathe-cpu-pipeline",
      "The whole CPU pipeline: linalg/TOSA on tensors to the LLVM dialect",
      [](OpPassManager &pm) {
        std::string error;
        if (failed(buildCpuPipeline(pm, "", error)))
          llvm::report_fatal_error(llvm::Twine(error));
      });
  for (const Phase &phase : kCpuPhases) {
    StringRef passes = phase.passes;
    PassPipelineRegistration<>(
        ("lathe-cpu-" + phase.name).str(),
        ("CPU phase '" + phase.name + "': " + phase.summary).str(),
        [passes, name = phase.name](OpPassManager &pm) {
          std::string error;
          if (failed(addPasses(pm, passes, error)) ||
              (name == "llvm" &&
               failed(addPasses(pm, llvmPhaseTail({}), error))))
            llvm::report_fatal_error(llvm::Twine(error));
        });
  }
  PassPipelineRegistration<>(
      "lathe-reference-pipeline",
      "Upstream passes only: scalar loops, no Lathe kernels (a baseline)",
      [](OpPassManager &pm) {
        std::string error;
        if (failed(buildReferencePipeline(pm, error)))
          llvm::report_fatal_error(llvm::Twine(error));
      });
}
