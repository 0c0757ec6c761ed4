//===- Decisions.cpp - The decisions lathe-run reports --------------------===//

#include "lathe/Driver/Decisions.h"

#include "lathe/Interfaces/DecisionInterface.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Operation.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <type_traits>
#include <vector>

using namespace mlir;
using namespace mlir::lathe;

namespace {

/// One element as a JSON number (a bool for i1).
template <typename T> llvm::json::Value number(T value) {
  if constexpr (std::is_same_v<T, bool>)
    return value;
  else if constexpr (std::is_floating_point_v<T>)
    return static_cast<double>(value);
  else
    return static_cast<int64_t>(value);
}

template <typename AttrTy>
std::optional<llvm::json::Value> typedArray(DenseArrayAttr attr) {
  auto typed = dyn_cast<AttrTy>(attr);
  if (!typed)
    return std::nullopt;
  llvm::json::Array values;
  for (auto value : typed.asArrayRef())
    values.push_back(number(value));
  return llvm::json::Value(std::move(values));
}

llvm::json::Value denseArrayToJson(DenseArrayAttr attr) {
  for (auto convert :
       {typedArray<DenseBoolArrayAttr>, typedArray<DenseI8ArrayAttr>,
        typedArray<DenseI16ArrayAttr>, typedArray<DenseI32ArrayAttr>,
        typedArray<DenseI64ArrayAttr>, typedArray<DenseF32ArrayAttr>,
        typedArray<DenseF64ArrayAttr>})
    if (std::optional<llvm::json::Value> value = convert(attr))
      return std::move(*value);
  std::string s;
  llvm::raw_string_ostream os(s);
  os << attr;
  return s;
}

/// Nested arrays in the shape of `attr` (a number for a rank-0 one).
llvm::json::Value denseElementsToJson(DenseIntOrFPElementsAttr attr) {
  auto type = cast<ShapedType>(attr.getType());
  Type element = type.getElementType();
  std::vector<llvm::json::Value> flat;
  if (isa<FloatType>(element)) {
    for (APFloat v : attr.getValues<APFloat>()) {
      bool lost = false;
      v.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
      flat.push_back(v.convertToDouble());
    }
  } else if (element.isInteger(1)) {
    for (bool v : attr.getValues<bool>())
      flat.push_back(v);
  } else if (auto integer = dyn_cast<IntegerType>(element)) {
    for (const APInt &v : attr.getValues<APInt>())
      flat.push_back(integer.isUnsigned()
                         ? static_cast<int64_t>(v.getZExtValue())
                         : v.getSExtValue());
  } else {
    std::string s;
    llvm::raw_string_ostream os(s);
    os << attr;
    return s;
  }
  ArrayRef<int64_t> shape = type.getShape();
  if (shape.empty())
    return std::move(flat.front());
  if (flat.empty())
    return llvm::json::Array();
  auto slice = [&](size_t begin, size_t end) {
    llvm::json::Array array;
    for (size_t i = begin; i < end; ++i)
      array.push_back(std::move(flat[i]));
    return array;
  };
  // Group the innermost dimension first, then each outer one.
  for (int64_t d = shape.size() - 1; d > 0; --d) {
    std::vector<llvm::json::Value> grouped;
    for (size_t i = 0; i < flat.size(); i += shape[d])
      grouped.push_back(slice(i, i + shape[d]));
    flat = std::move(grouped);
  }
  return slice(0, flat.size());
}

} // namespace

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
  // Dense arrays and elements are numbers in JSON, not their printed text
  // ("array<f32: ...>"): a reader of the report indexes them.
  if (auto array = dyn_cast<DenseArrayAttr>(attr))
    return denseArrayToJson(array);
  if (auto elements = dyn_cast<DenseIntOrFPElementsAttr>(attr))
    return denseElementsToJson(elements);
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
