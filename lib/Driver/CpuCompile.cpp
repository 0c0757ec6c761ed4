//===- CpuCompile.cpp - lathe-run's CPU compilation, shared ---------------===//

#include "lathe/Driver/CpuCompile.h"

#include "lathe/runtime/Runtime.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::lathe;

LogicalResult mlir::lathe::checkCpuCompileOptions(const RunOptions &options,
                                                  llvm::StringRef backends,
                                                  CpuPipelineOptions &pipeline,
                                                  ExecutableOptions &executable,
                                                  std::string &error) {
  if (options.backend != "cpu") {
    error = "unknown backend '" + options.backend +
            "' (available: " + backends.str() + ")";
    return failure();
  }
  if (options.pipeline != "default" && options.pipeline != "reference") {
    error = "unknown pipeline '" + options.pipeline +
            "' (expected default or reference)";
    return failure();
  }
  if (options.threadsGiven && options.threads < 1) {
    error =
        "--threads must be at least 1, got " + std::to_string(options.threads);
    return failure();
  }
  std::string fastMathError;
  if (failed(parseFastMath(options.fastMath, pipeline, fastMathError))) {
    error = "--fast-math=" + options.fastMath + ": " + fastMathError;
    return failure();
  }
  pipeline.trace = !options.tracePath.empty();
  if (options.precision == "bf16") {
    executable.precision = LATHE_PRECISION_BF16;
    // oneDNN's bf16 convolutions (AMX, AVX512-BF16) read and write NHWC
    // only; where the flag runs f32, its direct kernels prefer nChw16c.
    pipeline.channelsLast = lathe_rt_cpu_has_bf16() != 0;
    // bf16 tensors between the kernels that read and write bf16 there.
    pipeline.bf16Activations = pipeline.channelsLast;
    // Q, K and V (any projections of one input) as one product: the input is
    // converted to bf16 once, not once per projection. (Off in f32: see
    // CpuPipelineOptions::mergeSiblingMatmuls.)
    pipeline.mergeSiblingMatmuls = pipeline.bf16Activations;
  } else if (options.precision == "f32" || options.precision == "int8") {
    // int8 kernels are chosen by the pipeline (calibrated ranges on the
    // kernel ops); the session's precision stays f32.
    executable.precision = LATHE_PRECISION_F32;
  } else {
    error = "--precision=" + options.precision + ": expected f32, bf16 or int8";
    return failure();
  }
  executable.targetCpu = options.targetCpu;
  executable.threads = options.threadsGiven ? options.threads : 0;
  return success();
}

void mlir::lathe::noteIfBf16Unavailable(llvm::StringRef tool,
                                        const ExecutableOptions &executable) {
  if (executable.precision == LATHE_PRECISION_BF16 && !lathe_rt_cpu_has_bf16())
    llvm::errs() << tool
                 << ": note: oneDNN has no bf16 instructions "
                    "(AVX512-BF16, AMX-BF16) on this CPU: "
                    "--precision=bf16 runs in f32\n";
}

LogicalResult mlir::lathe::buildRunPipeline(OpPassManager &pm,
                                            const RunOptions &options,
                                            llvm::StringRef compileTo,
                                            const CpuPipelineOptions &pipeline,
                                            PhaseCallback onPhaseEnd,
                                            std::string &error) {
  LogicalResult built = success();
  std::string pipelineError;
  if (!options.passPipeline.empty()) {
    StringRef text = options.passPipeline;
    if (text.consume_front("builtin.module(") && text.consume_back(")")) {
    }
    llvm::raw_string_ostream os(pipelineError);
    built = parsePassPipeline(text, pm, os);
  } else if (options.pipeline == "reference") {
    buildReferencePipeline(pm);
  } else {
    built = buildCpuPipeline(pm, compileTo, pipelineError, pipeline,
                             std::move(onPhaseEnd));
  }
  if (failed(built))
    error = "bad pipeline: " + pipelineError;
  return built;
}
