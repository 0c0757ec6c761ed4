//===- Pipeline.cpp - The accelerator target's pipeline -------------------===//

#include "lathe/Target/Accel/Pipeline.h"

#include "lathe/Target/Accel/Passes.h"
#include "lathe/Target/CPU/Pipeline.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;
using namespace mlir::lathe;

void mlir::lathe::buildAccelPipeline(OpPassManager &pm,
                                     const AccelPipelineOptions &options) {
  // Attention stays matmul + softmax + matmul: the products go to the
  // matrix engines and the softmax to the vector cores, as on the device
  // (the CPU's fused chunked-attention kernel has no engine op).
  CpuPipelineOptions cpu;
  cpu.raiseAttention = false;
  // A convolution is a product on the matrix engine and a max pooling a
  // reduction on the vector cores, in plain layouts: the CPU kernel's pooling
  // epilogue and channel-blocked maps are oneDNN's, not the device's.
  cpu.fusePooling = false;
  cpu.blockChannels = false;
  buildCpuPipeline(pm, cpu, CpuPhase::Kernels);
  // A reordered adjacency's permutation as row gathers on the vector cores.
  pm.addPass(createAccelExpandReorderedAggregates());
  // LSTM/GRU layers as per-step products and gate kernels.
  pm.addPass(createAccelExpandRecurrences());
  pm.addPass(createAccelAttachDevice({options.config, options.mmeType}));
  pm.addPass(createAccelPlace({options.policy}));
  pm.addPass(createAccelTile({options.buffers}));
  pm.addPass(createAccelSchedule());
}

void mlir::lathe::registerAccelPipelines() {
  PassPipelineRegistration<AccelPipelineOptions>(
      "lathe-accel-pipeline",
      "The accelerator target: CPU import and kernels phases, then device, "
      "placement, tiling and scheduling into accel.program",
      [](OpPassManager &pm, const AccelPipelineOptions &options) {
        buildAccelPipeline(pm, options);
      });
}
