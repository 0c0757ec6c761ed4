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
  buildCpuPipeline(pm, CpuPipelineOptions(), CpuPhase::Kernels);
  pm.addPass(createAccelAttachDevice({options.config}));
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
