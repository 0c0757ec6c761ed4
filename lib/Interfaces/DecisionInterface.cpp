//===- DecisionInterface.cpp - What a pass decided, typed -----------------===//

#include "lathe/Interfaces/DecisionInterface.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace mlir;
using namespace mlir::lathe;

#include "lathe/Interfaces/DecisionInterface.cpp.inc"

void mlir::lathe::printDecisionFloat(AsmPrinter &printer,
                                     const llvm::APFloat &value) {
  // Infinity and NaN as their bits, which the float parser reads back (as
  // MLIR prints them in a FloatAttr).
  if (!std::isfinite(value.convertToDouble())) {
    printer << llvm::format_hex(value.bitcastToAPInt().getZExtValue(), 18,
                                /*Upper=*/true);
    return;
  }
  // Six significant digits: these are model estimates, not exact values.
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::format("%.6g", value.convertToDouble());
  // The parser wants a float literal, with a '.': "10" must print as "10.0"
  // and "2e+07" as "2.0e+07".
  if (text.find('.') == std::string::npos) {
    size_t exponent = text.find('e');
    text.insert(exponent == std::string::npos ? text.size() : exponent, ".0");
  }
  printer << text;
}

FailureOr<llvm::APFloat> mlir::lathe::parseDecisionFloat(AsmParser &parser) {
  double value = 0;
  if (parser.parseFloat(value))
    return failure();
  return llvm::APFloat(value);
}

FailureOr<std::optional<llvm::APFloat>>
mlir::lathe::parseOptionalDecisionFloat(AsmParser &parser) {
  FailureOr<llvm::APFloat> value = parseDecisionFloat(parser);
  if (failed(value))
    return failure();
  return std::optional<llvm::APFloat>(*value);
}

bool mlir::lathe::decisionFloatsEqual(const std::optional<llvm::APFloat> &lhs,
                                      const std::optional<llvm::APFloat> &rhs) {
  if (!lhs || !rhs)
    return !lhs && !rhs;
  return lhs->bitwiseIsEqual(*rhs);
}

DecisionAttrInterface mlir::lathe::getDecision(Operation *op) {
  return dyn_cast_or_null<DecisionAttrInterface>(
      op->getDiscardableAttr(kDecisionAttrName));
}

void mlir::lathe::setDecision(Operation *op, DecisionAttrInterface decision) {
  op->setDiscardableAttr(kDecisionAttrName, decision);
}

LogicalResult mlir::lathe::verifyDecisionAttr(Operation *op, Attribute value) {
  auto decision = dyn_cast<DecisionAttrInterface>(value);
  if (!decision)
    return op->emitError()
           << "'" << kDecisionAttrName
           << "' must be a decision attribute of the dialect that decided "
              "(e.g. #lowrank.decision<...>), got "
           << value;
  return decision.verifyAttachedTo(op);
}
