//===- MapToGPU.cpp - Parallel loops onto blocks and threads --------------===//

#include "lathe/Target/CUDA/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECUDASERIALKERNELS
#define GEN_PASS_DEF_LATHECUDATILEPARALLELLOOPS
#define GEN_PASS_DEF_LATHECUDAMERGEGPUMODULES
#include "lathe/Target/CUDA/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

/// The trip count of dimension `i` when it is static.
std::optional<int64_t> staticTripCount(scf::ParallelOp loop, unsigned i) {
  APInt lb, ub, step;
  if (!matchPattern(loop.getLowerBound()[i], m_ConstantInt(&lb)) ||
      !matchPattern(loop.getUpperBound()[i], m_ConstantInt(&ub)) ||
      !matchPattern(loop.getStep()[i], m_ConstantInt(&step)) ||
      step.getSExtValue() <= 0)
    return std::nullopt;
  int64_t s = step.getSExtValue();
  return (ub.getSExtValue() - lb.getSExtValue() + s - 1) / s;
}

/// Processor of loop dimension `i` of `rank`: the innermost dimension goes
/// to x (coalesced accesses), the next ones to y and z, the rest stay
/// sequential.
gpu::Processor processorFor(unsigned i, unsigned rank, bool threads) {
  unsigned fromInner = rank - 1 - i;
  if (fromInner > 2)
    return gpu::Processor::Sequential;
  unsigned base = threads ? static_cast<unsigned>(gpu::Processor::ThreadX)
                          : static_cast<unsigned>(gpu::Processor::BlockX);
  return static_cast<gpu::Processor>(base + fromInner);
}

void setMapping(scf::ParallelOp loop, bool threads) {
  MLIRContext *ctx = loop.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(1, ctx);
  SmallVector<gpu::ParallelLoopDimMappingAttr> mapping;
  unsigned rank = loop.getNumLoops();
  for (unsigned i = 0; i < rank; ++i)
    mapping.push_back(gpu::ParallelLoopDimMappingAttr::get(
        ctx, processorFor(i, rank, threads), id, id));
  (void)gpu::setMappingAttr(loop, mapping);
}

void setSequential(scf::ParallelOp loop) {
  MLIRContext *ctx = loop.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(1, ctx);
  SmallVector<gpu::ParallelLoopDimMappingAttr> mapping(
      loop.getNumLoops(), gpu::ParallelLoopDimMappingAttr::get(
                              ctx, gpu::Processor::Sequential, id, id));
  (void)gpu::setMappingAttr(loop, mapping);
}

struct LatheCUDASerialKernels
    : public lathe::impl::LatheCUDASerialKernelsBase<LatheCUDASerialKernels> {
  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> serial;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (!op.hasPureBufferSemantics() ||
          op->getParentOfType<scf::ParallelOp>() ||
          op->getParentOfType<linalg::LinalgOp>())
        return;
      if (op.getNumParallelLoops() == 0)
        serial.push_back(op);
    });
    OpBuilder b(&getContext());
    for (linalg::LinalgOp op : serial) {
      b.setInsertionPoint(op);
      Location loc = op.getLoc();
      Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
      Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
      auto loop = scf::ParallelOp::create(b, loc, ValueRange{c0},
                                          ValueRange{c1}, ValueRange{c1});
      op->moveBefore(loop.getBody()->getTerminator());
    }
  }
};

struct LatheCUDATileParallelLoops
    : public lathe::impl::LatheCUDATileParallelLoopsBase<
          LatheCUDATileParallelLoops> {
  using Base::Base;

  void runOnOperation() override {
    if (elementsPerThread < 1) {
      getOperation().emitError()
          << "lathe-cuda-tile-parallel-loops: elements-per-thread="
          << static_cast<int64_t>(elementsPerThread) << " must be positive";
      return signalPassFailure();
    }
    if (threads < 1 || threads > 1024) {
      getOperation().emitError()
          << "lathe-cuda-tile-parallel-loops: threads="
          << static_cast<int64_t>(threads) << " is outside [1, 1024]";
      return signalPassFailure();
    }
    SmallVector<scf::ParallelOp> outermost;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>())
        outermost.push_back(loop);
    });
    for (scf::ParallelOp loop : outermost) {
      unsigned rank = loop.getNumLoops();
      SmallVector<int64_t> tiles(rank, 1);
      int64_t remaining = threads;
      // z has at most 64 threads.
      const int64_t limits[3] = {1024, 1024, 64};
      for (unsigned fromInner = 0; fromInner < std::min(rank, 3u);
           ++fromInner) {
        unsigned i = rank - 1 - fromInner;
        int64_t tile = std::min(remaining, limits[fromInner]);
        if (std::optional<int64_t> trips = staticTripCount(loop, i))
          tile = std::max<int64_t>(1, std::min(tile, *trips));
        tiles[i] = tile;
        remaining = std::max<int64_t>(1, remaining / tile);
        if (remaining == 1)
          break;
      }
      // Coarsening: large innermost dimensions give each thread several
      // elements, `threads` apart.
      int64_t coarsen = 1;
      if (elementsPerThread > 1)
        if (std::optional<int64_t> trips = staticTripCount(loop, rank - 1))
          if (*trips >= elementsPerThread * tiles[rank - 1] * 1024)
            coarsen = elementsPerThread;
      SmallVector<int64_t> blockTiles = tiles;
      blockTiles[rank - 1] *= coarsen;
      auto tiled =
          scf::tileParallelLoop(loop, blockTiles, /*noMinMaxBounds=*/true);
      scf::ParallelOp outer = tiled.first, inner = tiled.second;
      setMapping(outer, /*threads=*/false);
      scf::ParallelOp threadLoop = inner;
      if (coarsen > 1) {
        // inner: [0, tiles) with the innermost [0, threads * coarsen); split
        // it into a sequential loop of `coarsen` steps around the threads.
        auto split =
            scf::tileParallelLoop(inner, tiles, /*noMinMaxBounds=*/true);
        setSequential(split.first);
        threadLoop = split.second;
      }
      setMapping(threadLoop, /*threads=*/true);
      threadLoop.walk([&](scf::ParallelOp nested) {
        if (nested != threadLoop)
          setSequential(nested);
      });
    }
  }
};

struct LatheCUDAMergeGPUModules
    : public lathe::impl::LatheCUDAMergeGPUModulesBase<
          LatheCUDAMergeGPUModules> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> gpuModules =
        llvm::to_vector(module.getOps<gpu::GPUModuleOp>());
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    // Always one module, even an empty one: the target's output is one PTX
    // module whether or not any code was generated (all library calls).
    if (gpuModules.empty())
      b.setInsertionPointToEnd(module.getBody());
    else
      b.setInsertionPoint(gpuModules.front());
    auto merged = gpu::GPUModuleOp::create(b, module.getLoc(), "lathe_kernels");
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(ctx));
    SymbolTable symbols(module);
    symbols.insert(merged);
    Block &body = merged.getBodyRegion().front();
    // Outlined modules are uniquely named; the kernels inside all take the
    // name of the function they came from, so each takes its module's name.
    for (gpu::GPUModuleOp old : gpuModules) {
      for (Operation &op :
           llvm::make_early_inc_range(old.getBodyRegion().front())) {
        if (auto kernel = dyn_cast<gpu::GPUFuncOp>(op)) {
          SymbolTable::setSymbolName(kernel, old.getSymNameAttr());
        }
        op.moveBefore(&body, body.end());
      }
    }
    StringAttr mergedName = merged.getSymNameAttr();
    module.walk([&](gpu::LaunchFuncOp launch) {
      SymbolRefAttr kernel = launch.getKernel();
      launch.setKernelAttr(SymbolRefAttr::get(
          mergedName, {FlatSymbolRefAttr::get(kernel.getRootReference())}));
    });
    for (gpu::GPUModuleOp old : gpuModules)
      old.erase();
  }
};

} // namespace
