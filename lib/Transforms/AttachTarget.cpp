//===- AttachTarget.cpp - Attach a target description as lathe.target -----===//
//
// The one place a target file is read on the lathe-opt path: once, in
// initialize(). Every pass that prices kernels reads the attribute.
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHEATTACHTARGET
#include "lathe/Transforms/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {
struct AttachTarget : public lathe::impl::LatheAttachTargetBase<AttachTarget> {
  using Base::Base;
  explicit AttachTarget(Attribute target) : preset(target) {}

  /// `--lathe-attach-target=FILE`: a bare path is the file option.
  LogicalResult initializeOptions(
      StringRef options,
      function_ref<LogicalResult(const Twine &)> errorHandler) override {
    StringRef trimmed = options.trim();
    if (!trimmed.empty() && !trimmed.contains('='))
      return Base::initializeOptions(("file=" + trimmed).str(), errorHandler);
    return Base::initializeOptions(options, errorHandler);
  }

  LogicalResult initialize(MLIRContext *context) override {
    target = preset;
    if (target || file.empty())
      return success();
    FailureOr<TargetAttr> read = readTargetDescription(context, file, error);
    if (succeeded(read))
      target = *read;
    return success();
  }

  void runOnOperation() override {
    if (!target) {
      emitError(getOperation().getLoc())
          << "lathe-attach-target: "
          << (error.empty() ? std::string("no target description given "
                                          "(--lathe-attach-target=FILE)")
                            : error);
      return signalPassFailure();
    }
    getOperation()->setAttr(kTargetAttrName, target);
    markAllAnalysesPreserved();
  }

  Attribute preset, target;
  std::string error;
};
} // namespace

std::unique_ptr<Pass> mlir::lathe::createLatheAttachTarget(Attribute target) {
  return std::make_unique<AttachTarget>(target);
}
