//===- InitAllPasses.h - The one registration point for passes --*- C++ -*-===//

#ifndef LATHE_INITALLPASSES_H
#define LATHE_INITALLPASSES_H

namespace mlir {
namespace lathe {

/// Upstream passes, every Lathe pass and every Lathe pipeline. Add a new
/// dialect's passes here.
void registerAllPasses();

} // namespace lathe
} // namespace mlir

#endif // LATHE_INITALLPASSES_H
