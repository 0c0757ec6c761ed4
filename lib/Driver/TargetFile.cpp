//===- TargetFile.cpp - --target=FILE of the driver tools -----------------===//

#include "lathe/Driver/TargetFile.h"

#include "lathe/Dialect/Lathe/LatheOps.h"

#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::lathe;

LogicalResult mlir::lathe::attachTargetFile(ModuleOp module,
                                            llvm::StringRef path,
                                            std::string &text,
                                            std::string &error) {
  FailureOr<TargetAttr> target =
      readTargetDescription(module.getContext(), path, error);
  if (failed(target)) {
    error = "--target: " + error;
    return failure();
  }
  module->setAttr(kTargetAttrName, *target);
  text.clear();
  llvm::raw_string_ostream os(text);
  os << *target;
  return success();
}
