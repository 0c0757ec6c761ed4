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

/// FLOPs of one call of the function `entry` of `module` (a symbol table):
/// its own ops and, at each call site, those of the function called (through
/// CallOpInterface, transitively; external functions count nothing), so a
/// function that is never called from the entry is not counted and one called
/// twice is counted twice. Loops are not unrolled (an op in a loop counts
/// once, as countFlops does). `complete` is false when some op's count
/// depends on a dynamic size or a call is recursive. Without a function
/// `entry` with a body, the whole module (countFlops).
int64_t countEntryFlops(Operation *module, StringRef entry, bool &complete);

} // namespace lathe
} // namespace mlir

#endif // LATHE_INTERFACES_FLOPSINTERFACE_H
