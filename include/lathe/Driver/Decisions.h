//===- Decisions.h - The decisions lathe-run reports ------------*- C++ -*-===//
//
// Passes record each choice once, as a `lathe.decision` attribute
// implementing DecisionAttrInterface. The collector gathers them for the
// report's `decisions` array through the interface's toDictionary(): it needs
// no dialect.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_DRIVER_DECISIONS_H
#define LATHE_DRIVER_DECISIONS_H

#include "mlir/IR/Attributes.h"
#include "mlir/Pass/PassInstrumentation.h"
#include "llvm/Support/JSON.h"

#include <mutex>
#include <set>
#include <string>

namespace mlir::lathe {

/// A builtin attribute (dictionary, array, integer, float, string, unit,
/// dense array, dense int/float elements as nested arrays) as JSON; anything
/// else as its printed form.
llvm::json::Value attrToJson(Attribute attr);

/// `lathe.decision` attributes in the module as given and those that the
/// pipeline's own passes leave (seen after each pass, before lowering erases
/// them), each once. Install it on the pass manager (it is a
/// PassInstrumentation) and call collect() on the input module.
class DecisionCollector : public PassInstrumentation {
public:
  /// Adds the decisions under `root`, tagged with where they were found
  /// (`input` or `pipeline`): one `{op, loc, source, decision}` object each,
  /// `decision` being the attribute's toDictionary().
  void collect(Operation *root, StringRef source);
  void runAfterPass(Pass *, Operation *op) override { collect(op, "pipeline"); }
  /// The decisions collected so far (the collector is left empty).
  llvm::json::Array take();

private:
  std::mutex mutex;
  std::set<std::string> seen;
  llvm::json::Array decisions;
};

} // namespace mlir::lathe

#endif // LATHE_DRIVER_DECISIONS_H
