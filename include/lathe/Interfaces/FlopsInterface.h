//===- FlopsInterface.h - Operation cost in floating-point ops --*- C++ -*-===//

#ifndef LATHE_INTERFACES_FLOPSINTERFACE_H
#define LATHE_INTERFACES_FLOPSINTERFACE_H

#include "mlir/IR/OpDefinition.h"

#include "lathe/Interfaces/FlopsInterface.h.inc"

namespace mlir {
class DialectRegistry;
namespace lathe {

/// Attaches FlopsOpInterface external models to upstream ops (every linalg
/// structured op and linalg.softmax).
void registerUpstreamFlopsModels(DialectRegistry &registry);

/// Sum of getFlopCount() over all ops nested in `root`. `complete` is set to
/// false when some op's count depends on a dynamic size (those are skipped).
int64_t countFlops(Operation *root, bool &complete);

} // namespace lathe
} // namespace mlir

#endif // LATHE_INTERFACES_FLOPSINTERFACE_H
