//===- InitAll.cpp - The one registration point ---------------------------===//
//
// The only translation unit that includes upstream's InitAll* headers (they
// are the heaviest includes in the project).
//
//===----------------------------------------------------------------------===//

#include "lathe/InitAllDialects.h"
#include "lathe/InitAllPasses.h"

#include "lathe/Conversion/Passes.h"
#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Dialect/LowRank/Passes.h"
#include "lathe/Dialect/MemRed/Passes.h"
#include "lathe/Dialect/QComm/Passes.h"
#include "lathe/Dialect/SeqShard/SeqShardOps.h"
#include "lathe/Dialect/SparseGCN/Passes.h"
#include "lathe/Dialect/SparseGCN/SparseGCNOps.h"
#include "lathe/Dialect/Train/Passes.h"
#include "lathe/Interfaces/FlopsInterface.h"
#include "lathe/Target/Accel/IR/AccelOps.h"
#include "lathe/Target/Accel/Passes.h"
#include "lathe/Target/Accel/Pipeline.h"
#include "lathe/Target/CPU/Collectives.h"
#include "lathe/Target/CPU/IR/CPUDialect.h"
#include "lathe/Target/CPU/Passes.h"
#include "lathe/Target/CPU/Pipeline.h"
#include "lathe/Target/CPU/Target.h"
#include "lathe/Transforms/Passes.h"
#ifdef LATHE_HAS_CUDA
#include "lathe/Target/CUDA/Passes.h"
#include "lathe/Target/CUDA/Pipeline.h"
#endif

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void mlir::lathe::registerAllDialects(DialectRegistry &registry) {
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<LatheDialect>();
  registry.insert<lowrank::LowRankDialect>();
  registerBufferizableOpInterfaceExternalModels(registry);
  registry.insert<sparsegcn::SparseGCNDialect>();
  sparsegcn::registerBufferizableOpInterfaceExternalModels(registry);
  registry.insert<memred::MemRedDialect>();
  memred::registerBufferizableOpInterfaceExternalModels(registry);
  registry.insert<train::TrainDialect>();
  registerCollectiveBufferizationModels(registry);
  registry.insert<qcomm::QCommDialect>();
  qcomm::registerBufferizableOpInterfaceExternalModels(registry);
  registry.insert<seqshard::SeqShardDialect>();
  registerUpstreamFlopsModels(registry);
  // The targets' shipped defaults: the cost tables of a module without a
  // #lathe.target (every tool that registers the dialects runs passes).
  registerCpuTarget();
#ifdef LATHE_HAS_CUDA
  // The CUDA target's 'binary' phase translates gpu.modules to LLVM IR
  // inside a pass (gpu-module-to-binary), so every tool that runs it needs
  // the translations, lathe-opt included.
  registerAllTranslations(registry);
#endif
  registry.insert<accel::AccelDialect>();
  registry.insert<cpu::CPUDialect>();
}

void mlir::lathe::registerAllTranslations(DialectRegistry &registry) {
  mlir::registerAllToLLVMIRTranslations(registry);
}

mlir::DialectRegistry mlir::lathe::makeRegistry() {
  DialectRegistry registry;
  lathe::registerAllDialects(registry);
  lathe::registerAllTranslations(registry);
  return registry;
}

void mlir::lathe::registerAllPasses() {
  mlir::registerAllPasses();
  registerLatheCPUPasses();
  registerLathePasses();
  registerLatheConversionPasses();
  lowrank::registerLowRankPasses();
  sparsegcn::registerSparseGCNPasses();
  memred::registerMemRedPasses();
  train::registerTrainPasses();
  qcomm::registerQCommPasses();
  registerCpuPipelines();
#ifdef LATHE_HAS_CUDA
  registerLatheCUDAPasses();
  registerCudaPipelines();
#endif
  registerLatheAccelPasses();
  registerAccelPipelines();
}
