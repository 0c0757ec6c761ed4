//===- CPUDialect.cpp - Attributes private to the CPU target --------------===//

#include "lathe/Target/CPU/IR/CPUDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::lathe::cpu;

#include "lathe/Target/CPU/IR/CPUDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "lathe/Target/CPU/IR/CPUAttrs.cpp.inc"

void CPUDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "lathe/Target/CPU/IR/CPUAttrs.cpp.inc"
      >();
}

LogicalResult DecisionAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                   DenseF32ArrayAttr inputRange,
                                   StringRef precision, int64_t site) {
  if (precision != "int8")
    return emitError() << "expects precision \"int8\", got \"" << precision
                       << "\"";
  if (site < 0)
    return emitError() << "expects a non-negative site, got " << site;
  if (!inputRange || inputRange.size() != 2 ||
      !(inputRange[0] <= inputRange[1]))
    return emitError() << "expects input_range = [lo, hi] with lo <= hi";
  return success();
}

StringRef DecisionAttr::getPassName() const { return kPassName; }

DictionaryAttr DecisionAttr::toDictionary() const {
  Builder b(getContext());
  // The keys (and values) the report has always listed for this pass.
  return b.getDictionaryAttr(
      {b.getNamedAttr("pass", b.getStringAttr(getPassName())),
       b.getNamedAttr("precision", b.getStringAttr(getPrecision())),
       b.getNamedAttr("site", b.getI64IntegerAttr(getSite())),
       b.getNamedAttr("input_range", getInputRange())});
}
