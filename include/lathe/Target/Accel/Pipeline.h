//===- Pipeline.h - The accelerator target's pipeline -----------*- C++ -*-===//

#ifndef LATHE_TARGET_ACCEL_PIPELINE_H
#define LATHE_TARGET_ACCEL_PIPELINE_H

#include "mlir/Pass/PassOptions.h"

namespace mlir {
class OpPassManager;
namespace lathe {

struct AccelPipelineOptions : public PassPipelineOptions<AccelPipelineOptions> {
  Option<std::string> config{*this, "config",
                             llvm::cl::desc("Device description (JSON)")};
  Option<std::string> policy{*this, "policy",
                             llvm::cl::desc("cost, all-mme or all-tpc"),
                             llvm::cl::init("cost")};
  Option<std::string> mmeType{
      *this, "mme-type",
      llvm::cl::desc("Matrix engines run products at f32 or bf16 (timing)"),
      llvm::cl::init("f32")};
  Option<int64_t> buffers{*this, "buffers",
                          llvm::cl::desc("Buffers per tile (2 = double)"),
                          llvm::cl::init(2)};
};

/// The CPU target's `import` and `kernels` phases (the same kernel ops on
/// tensors; attention is not raised to memred's fused kernel), then
/// accel-attach-device, accel-place, accel-tile and accel-schedule: the module
/// keeps its functions (for functional execution) and gains one accel.program
/// per function.
void buildAccelPipeline(OpPassManager &pm, const AccelPipelineOptions &options);

/// Registers `lathe-accel-pipeline`.
void registerAccelPipelines();

} // namespace lathe
} // namespace mlir

#endif // LATHE_TARGET_ACCEL_PIPELINE_H
