//===- Pipeline.h - The CUDA target's pipeline ------------------*- C++ -*-===//
//
// The CUDA pipeline, phase by phase: the CPU target's `import` phase, then
// kernels (matmuls and convolutions stay kernel ops, softmax and layer norm
// become generics), bufferize, library-calls (lathe_cuda_* calls into the
// CUDA runtime), gpu (everything else tiled onto blocks and threads, buffers
// on the device) and binary (NVVM, one PTX or cubin module, host code in the
// LLVM dialect calling the runtime's mgpu* wrappers). Registered as
// `lathe-cuda-pipeline` and `lathe-cuda-<phase>`.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_TARGET_CUDA_PIPELINE_H
#define LATHE_TARGET_CUDA_PIPELINE_H

#include "lathe/Support/EnumOption.h"
#include "mlir/Pass/PassOptions.h"

#include <optional>
#include <string>

namespace mlir {
class ModuleOp;
class OpPassManager;
namespace lathe {

/// The CUDA pipeline's phases, in order.
enum class CudaPhase { Import, Kernels, Bufferize, LibraryCalls, GPU, Binary };
} // namespace lathe
} // namespace mlir

LATHE_ENUM_OPTION_PARSER(::mlir::lathe::CudaPhase)

namespace mlir {
namespace lathe {

struct CudaPhaseInfo {
  CudaPhase phase;
  StringRef name;
  StringRef summary;
};

/// Every phase, in order.
ArrayRef<CudaPhaseInfo> getCudaPhases();
std::optional<CudaPhase> symbolizeCudaPhase(StringRef name);
/// The phase's name ("library-calls").
StringRef stringifyCudaPhase(CudaPhase phase);
/// "import, kernels, ..." (for messages).
std::string getCudaPhaseList();

struct CudaPipelineOptions : public PassPipelineOptions<CudaPipelineOptions> {
  Option<std::string> chip{
      *this, "chip",
      llvm::cl::desc("GPU architecture the PTX is generated for (sm_90, "
                     "sm_80, ...; never an 'a' variant)"),
      llvm::cl::init("sm_90")};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("What gpu-module-to-binary makes: isa (PTX text, "
                     "loaded with the driver's JIT) or bin (a cubin, needs "
                     "ptxas at compile time)"),
      llvm::cl::init("isa")};
  Option<std::string> toolkit{
      *this, "toolkit",
      llvm::cl::desc("CUDA toolkit folder: libdevice for math functions, "
                     "ptxas for format=bin (default: the one found at "
                     "configure time)"),
      llvm::cl::init(LATHE_CUDA_TOOLKIT_DIR)};
  Option<int64_t> threads{
      *this, "threads",
      llvm::cl::desc("Threads per block of generated kernels"),
      llvm::cl::init(256)};
};

/// Appends one phase's passes and its contract check.
void buildCudaPhase(OpPassManager &pm, CudaPhase phase,
                    const CudaPipelineOptions &options);

/// Appends the phases up to and including `lastPhase` (all when none).
void buildCudaPipeline(OpPassManager &pm, const CudaPipelineOptions &options,
                       std::optional<CudaPhase> lastPhase = std::nullopt);

/// The PTX (or cubin bytes) of the module's one `gpu.binary`, after the
/// `binary` phase. Fails with a message when there is not exactly one.
LogicalResult getGpuBinaryBlob(ModuleOp module, std::string &blob,
                               std::string &error);

/// Registers `lathe-cuda-pipeline` and `lathe-cuda-<phase>`.
void registerCudaPipelines();

} // namespace lathe
} // namespace mlir

#endif // LATHE_TARGET_CUDA_PIPELINE_H
