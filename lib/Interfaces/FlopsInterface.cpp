//===- FlopsInterface.cpp - Operation cost in floating-point ops ----------===//

#include "lathe/Interfaces/FlopsInterface.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallPtrSet.h"

#include <functional>

using namespace mlir;
using namespace mlir::lathe;

#include "lathe/Interfaces/FlopsInterface.cpp.inc"

namespace {

/// Arithmetic operations in a structured op's body, per loop iteration. Index
/// arithmetic and casts are free; everything else (mulf, addf, maximumf,
/// math.exp, ...) counts one.
static int64_t bodyOpCount(Block &body) {
  int64_t count = 0;
  for (Operation &op : body.without_terminator()) {
    if (isa<linalg::IndexOp>(op) || op.hasTrait<OpTrait::ConstantLike>() ||
        op.getName().getStringRef().contains("cast") ||
        op.getName().getStringRef().ends_with("ext") ||
        op.getName().getStringRef().ends_with("trunc"))
      continue;
    ++count;
  }
  return count;
}

/// Every linalg structured op: product of the loop ranges times the body's
/// arithmetic op count (a matmul's mulf+addf gives 2·M·N·K).
template <typename OpTy>
struct LinalgFlopsModel
    : public FlopsOpInterface::ExternalModel<LinalgFlopsModel<OpTy>, OpTy> {
  FailureOr<int64_t> getFlopCount(Operation *op) const {
    auto linalgOp = cast<linalg::LinalgOp>(op);
    int64_t iterations = 1;
    for (int64_t size : linalgOp.getStaticLoopRanges()) {
      if (ShapedType::isDynamic(size))
        return failure();
      iterations *= size;
    }
    return iterations * bodyOpCount(*linalgOp.getBlock());
  }
};

/// linalg.softmax: max, subtract, exp, sum and divide per element.
struct SoftmaxFlopsModel
    : public FlopsOpInterface::ExternalModel<SoftmaxFlopsModel,
                                             linalg::SoftmaxOp> {
  FailureOr<int64_t> getFlopCount(Operation *op) const {
    auto type = cast<ShapedType>(op->getOperand(0).getType());
    if (!type.hasStaticShape())
      return failure();
    return 5 * type.getNumElements();
  }
};

template <typename... OpTys> static void attachLinalgModels(MLIRContext *ctx) {
  (OpTys::template attachInterface<LinalgFlopsModel<OpTys>>(*ctx), ...);
}

} // namespace

void mlir::lathe::registerUpstreamFlopsModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, linalg::LinalgDialect *) {
    attachLinalgModels<
#define GET_OP_LIST
#include "mlir/Dialect/Linalg/IR/LinalgStructuredOps.cpp.inc"
        >(ctx);
    linalg::SoftmaxOp::attachInterface<SoftmaxFlopsModel>(*ctx);
  });
}

int64_t mlir::lathe::countFlops(Operation *root, bool &complete) {
  int64_t total = 0;
  complete = true;
  root->walk([&](FlopsOpInterface op) {
    FailureOr<int64_t> flops = op.getFlopCount();
    if (failed(flops)) {
      complete = false;
      return;
    }
    total += *flops;
  });
  return total;
}

int64_t mlir::lathe::countEntryFlops(Operation *module, StringRef entry,
                                     bool &complete) {
  Operation *function = SymbolTable::lookupSymbolIn(module, entry);
  auto hasBody = [](Operation *op) {
    return op && op->getNumRegions() > 0 && !op->getRegion(0).empty();
  };
  if (!hasBody(function))
    return countFlops(module, complete);
  complete = true;
  SymbolTableCollection symbols;
  llvm::DenseMap<Operation *, int64_t> done;
  llvm::SmallPtrSet<Operation *, 8> active;
  std::function<int64_t(Operation *)> count = [&](Operation *fn) -> int64_t {
    if (auto it = done.find(fn); it != done.end())
      return it->second;
    if (!active.insert(fn).second) {
      complete = false; // recursion: the number of calls is not known
      return 0;
    }
    int64_t total = 0;
    fn->walk([&](Operation *op) {
      if (auto flopsOp = dyn_cast<FlopsOpInterface>(op)) {
        FailureOr<int64_t> flops = flopsOp.getFlopCount();
        if (failed(flops))
          complete = false;
        else
          total += *flops;
      }
      if (auto call = dyn_cast<CallOpInterface>(op)) {
        Operation *callee = call.resolveCallableInTable(&symbols);
        if (hasBody(callee))
          total += count(callee);
      }
    });
    active.erase(fn);
    done[fn] = total;
    return total;
  };
  return count(function);
}
