//===- Pipeline.h - The CPU target's pipelines ------------------*- C++ -*-===//
//
// The CPU pipeline, built in C++ phase by phase; each phase ends with its
// contract (lathe-check-contract). Registered once, as `lathe-cpu-pipeline`,
// `lathe-cpu-<phase>` and `lathe-reference-pipeline`, and used by lathe-opt,
// lathe-run and the tests alike.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_TARGET_CPU_PIPELINE_H
#define LATHE_TARGET_CPU_PIPELINE_H

#include "lathe/Target/CPU/Phases.h"

#include "mlir/Pass/PassOptions.h"

#include <functional>

namespace mlir {
class ModuleOp;
class OpPassManager;
namespace lathe {

/// The CPU pipeline's choices. What the pipeline used to hard-code is an
/// option here with the value it had; the same options apply to
/// `lathe-cpu-pipeline` and to every `lathe-cpu-<phase>`, e.g.
/// `--lathe-cpu-pipeline='fp-reassoc=false attention-min-scores=0'`.
struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  /// Floating-point reassociation and contraction in generated code
  /// (lathe-llvm-fastmath in the 'llvm' phase). Never nnan/ninf.
  Option<bool> fpReassoc{
      *this, "fp-reassoc",
      llvm::cl::desc("Allow reassociation of floating-point adds and "
                     "multiplies in generated code (vectorised reductions)"),
      llvm::cl::init(true)};
  Option<bool> fpContract{
      *this, "fp-contract",
      llvm::cl::desc("Allow contraction of a multiply and an add into an FMA "
                     "in generated code"),
      llvm::cl::init(true)};
  /// memred-raise-attention in the 'kernels' phase.
  Option<bool> raiseAttention{
      *this, "raise-attention",
      llvm::cl::desc("Raise linalg attention to memred.attention (a blocked "
                     "online-softmax kernel) in the 'kernels' phase"),
      llvm::cl::init(true)};
  Option<int64_t> attentionMinScores{
      *this, "attention-min-scores",
      llvm::cl::desc("memred-raise-attention's min-scores: attention whose "
                     "per-batch score matrix has fewer elements stays "
                     "matmul + softmax; -1 (the default): the target's "
                     "attention_min_scores (262144 on the shipped CPU "
                     "target)"),
      llvm::cl::init(-1)};
  /// lathe-cpu-form-kernels' fuse-pooling and lathe-cpu-chain-convs'
  /// block-channels in the 'kernels' phase: the CPU's convolution kernel has a
  /// pooling epilogue and a channel-blocked layout; other targets that reuse
  /// the phase (the accelerator) turn them off.
  Option<bool> fusePooling{
      *this, "fuse-pooling",
      llvm::cl::desc("Fuse max pooling into the convolution it reads in the "
                     "'kernels' phase"),
      llvm::cl::init(true)};
  Option<bool> blockChannels{
      *this, "block-channels",
      llvm::cl::desc("Keep maps between convolutions channel-blocked "
                     "(lathe-cpu-chain-convs) in the 'kernels' phase"),
      llvm::cl::init(true)};
  /// lathe-cpu-merge-sibling-matmuls after lathe-cpu-form-kernels. Off: with
  /// oneDNN 2.6 the merged product is as fast as its parts, but the f32
  /// attention products then read Q, K and V as strided slices of it and
  /// oneDNN leaves brgemm for gemm:jit there (slower, measured on
  /// encoder_b8). lathe-run --precision=bf16 turns it on where the CPU has
  /// bf16 kernels: there the input's bf16 copy is then made once, not once
  /// per projection.
  Option<bool> mergeSiblingMatmuls{
      *this, "merge-sibling-matmuls",
      llvm::cl::desc("Merge matmuls of one input with constant weights (Q, "
                     "K, V) into one matmul in the 'kernels' phase"),
      llvm::cl::init(false)};
  /// lathe-cpu-chain-convs' channels-last (--precision=bf16 on a CPU with
  /// bf16 instructions): the layout oneDNN's bf16 convolutions read and
  /// write.
  Option<bool> channelsLast{
      *this, "channels-last",
      llvm::cl::desc("Chain convolutions channels-last (NHWC) instead of "
                     "channel-blocked in the 'kernels' phase (bf16)"),
      llvm::cl::init(false)};
  /// lathe-cpu-bf16-activations at the end of the 'kernels' phase
  /// (--precision=bf16 on a CPU with bf16 instructions): bf16 tensors
  /// between the kernels that read and write bf16.
  Option<bool> bf16Activations{
      *this, "bf16-activations",
      llvm::cl::desc("Keep kernel outputs that only bf16-capable kernels "
                     "read in bf16 in the 'kernels' phase"),
      llvm::cl::init(false)};
  /// lathe-cpu-instrument-trace at the end of the 'runtime-calls' phase.
  Option<bool> trace{
      *this, "trace",
      llvm::cl::desc("Mark each region of generated code for the runtime's "
                     "trace (lathe-run --trace)"),
      llvm::cl::init(false)};
  /// lathe-cpu-quantize-int8 in the 'runtime-calls' phase (lathe-run
  /// --precision=int8): record kernel inputs' ranges, or the ranges that
  /// make kernels run in int8.
  Option<bool> int8Calibrate{
      *this, "int8-calibrate",
      llvm::cl::desc("Record the input range of every matmul/convolution "
                     "with a constant weight at run time (calibration)"),
      llvm::cl::init(false)};
  ListOption<double> int8Ranges{
      *this, "int8-ranges",
      llvm::cl::desc("Calibrated input ranges (lo, hi per kernel site): run "
                     "those kernels in int8")};

  /// "reassoc,contract", "reassoc", "contract" or "none".
  std::string fastMathName() const;
};

/// Parses "none" or a comma-separated list of "reassoc" and "contract" into
/// the fast-math fields of `options`.
LogicalResult parseFastMath(StringRef text, CpuPipelineOptions &options,
                            std::string &error);

/// Called at the end of each phase, after its contract held, with the phase
/// and the module as it leaves the phase (e.g. to copy it for analyses).
using PhaseCallback = std::function<void(CpuPhase, ModuleOp)>;

/// Appends one phase's passes and its contract check.
void buildCpuPhase(OpPassManager &pm, CpuPhase phase,
                   const CpuPipelineOptions &options);

/// Appends the CPU pipeline's phases up to and including `lastPhase` (all of
/// them when none), each followed by its contract check and, when given,
/// `onPhaseEnd`.
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options,
                      std::optional<CpuPhase> lastPhase = std::nullopt,
                      PhaseCallback onPhaseEnd = nullptr);

/// As above with the last phase by name (empty: all). Fails, with a message
/// in `error`, for an unknown phase.
LogicalResult
buildCpuPipeline(OpPassManager &pm, StringRef lastPhase, std::string &error,
                 const CpuPipelineOptions &options = CpuPipelineOptions(),
                 PhaseCallback onPhaseEnd = nullptr);

/// The reference pipeline: upstream passes only (scalar loops, no Lathe
/// kernels, no oneDNN), strict IEEE evaluation (no fast-math flags). For
/// correctness baselines and benchmarks. Its import, bufferize, loops and
/// llvm steps end with those phases' contracts (and `onPhaseEnd`).
void buildReferencePipeline(OpPassManager &pm,
                            PhaseCallback onPhaseEnd = nullptr);

/// Registers `lathe-cpu-pipeline`, `lathe-cpu-<phase>` for every phase (both
/// with CpuPipelineOptions) and `lathe-reference-pipeline`.
void registerCpuPipelines();

} // namespace lathe
} // namespace mlir

#endif // LATHE_TARGET_CPU_PIPELINE_H
