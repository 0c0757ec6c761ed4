//===- Pipeline.h - The accelerator target's pipeline -----------*- C++ -*-===//

#ifndef LATHE_TARGET_ACCEL_PIPELINE_H
#define LATHE_TARGET_ACCEL_PIPELINE_H

#include "lathe/Support/EnumOption.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::lathe {
/// accel-place's `policy`: where an op that either engine can run goes.
enum class AccelPolicy { Cost, AllMme, AllTpc };
/// accel-attach-device's `mme-type`: the matrix engines' product type.
enum class AccelMmeType { F32, BF16 };
} // namespace mlir::lathe

LATHE_ENUM_OPTION_PARSER(::mlir::lathe::AccelPolicy)
LATHE_ENUM_OPTION_PARSER(::mlir::lathe::AccelMmeType)

/// The `llvm::cl::values` of the two options (pass and pipeline options).
#define LATHE_ACCEL_POLICY_VALUES                                              \
  ::llvm::cl::values(                                                          \
      clEnumValN(::mlir::lathe::AccelPolicy::Cost, "cost",                     \
                 "where the op finishes first (greedy list schedule)"),        \
      clEnumValN(::mlir::lathe::AccelPolicy::AllMme, "all-mme",                \
                 "every op the matrix engines can run on them"),               \
      clEnumValN(::mlir::lathe::AccelPolicy::AllTpc, "all-tpc",                \
                 "everything on the vector cores"))
#define LATHE_ACCEL_MME_TYPE_VALUES                                            \
  ::llvm::cl::values(                                                          \
      clEnumValN(::mlir::lathe::AccelMmeType::F32, "f32", "f32 products"),     \
      clEnumValN(::mlir::lathe::AccelMmeType::BF16, "bf16",                    \
                 "bf16 products (timing only)"))

namespace mlir {
class OpPassManager;
namespace lathe {

struct AccelPipelineOptions : public PassPipelineOptions<AccelPipelineOptions> {
  Option<std::string> config{*this, "config",
                             llvm::cl::desc("Device description (JSON)")};
  Option<AccelPolicy> policy{*this, "policy",
                             llvm::cl::desc("Where ops that either engine "
                                            "can run go"),
                             llvm::cl::init(AccelPolicy::Cost),
                             LATHE_ACCEL_POLICY_VALUES};
  Option<AccelMmeType> mmeType{
      *this, "mme-type",
      llvm::cl::desc("Matrix engines run products at f32 or bf16 (timing)"),
      llvm::cl::init(AccelMmeType::F32), LATHE_ACCEL_MME_TYPE_VALUES};
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
