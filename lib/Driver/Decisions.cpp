//===- Decisions.cpp - The decisions lathe-run reports --------------------===//

#include "lathe/Driver/Decisions.h"

#include "lathe/Interfaces/DecisionInterface.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Operation.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::lathe;

llvm::json::Value mlir::lathe::attrToJson(Attribute attr) {
  if (auto dict = dyn_cast<DictionaryAttr>(attr)) {
    llvm::json::Object object;
    for (NamedAttribute named : dict)
      object[named.getName().str()] = attrToJson(named.getValue());
    return object;
  }
  if (auto array = dyn_cast<ArrayAttr>(attr)) {
    llvm::json::Array values;
    for (Attribute element : array)
      values.push_back(attrToJson(element));
    return values;
  }
  if (auto integer = dyn_cast<IntegerAttr>(attr)) {
    if (integer.getType().isInteger(1))
      return integer.getValue().getBoolValue();
    return integer.getValue().getSExtValue();
  }
  if (auto floating = dyn_cast<FloatAttr>(attr))
    return floating.getValueAsDouble();
  if (auto str = dyn_cast<StringAttr>(attr))
    return str.getValue().str();
  if (isa<UnitAttr>(attr))
    return true;
  std::string s;
  llvm::raw_string_ostream os(s);
  os << attr;
  return s;
}

void DecisionCollector::collect(Operation *root, StringRef source) {
  std::lock_guard<std::mutex> lock(mutex);
  root->walk([&](Operation *op) {
    DecisionAttrInterface decision = getDecision(op);
    if (!decision)
      return;
    DictionaryAttr dict = decision.toDictionary();
    std::string loc, key;
    llvm::raw_string_ostream locOs(loc), keyOs(key);
    locOs << op->getLoc();
    // The full-precision view, not the printed one (six digits): two
    // decisions that print alike but differ are both reported.
    keyOs << op->getName() << '|' << loc << '|' << dict;
    if (!seen.insert(key).second)
      return;
    decisions.push_back(
        llvm::json::Object{{"op", op->getName().getStringRef().str()},
                           {"loc", loc},
                           {"source", source.str()},
                           {"decision", attrToJson(dict)}});
  });
}

llvm::json::Array DecisionCollector::take() {
  std::lock_guard<std::mutex> lock(mutex);
  return std::move(decisions);
}
