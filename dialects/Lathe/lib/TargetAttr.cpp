//===- TargetAttr.cpp - #lathe.target and JSON target descriptions --------===//

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Interfaces/DecisionInterface.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace mlir;
using namespace mlir::lathe;

StringRef TargetAttr::getTargetName() const { return getName(); }
int64_t TargetAttr::getTargetThreads() const { return getThreads(); }
ArrayAttr TargetAttr::getTargetFeatures() const { return getFeatures(); }
DictionaryAttr TargetAttr::getTargetTables() const { return getTables(); }

LogicalResult TargetAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 StringRef name, int64_t threads,
                                 ArrayAttr features, DictionaryAttr tables) {
  if (name.empty())
    return emitError() << "#lathe.target needs a non-empty name";
  if (threads < 0)
    return emitError() << "#lathe.target<\"" << name
                       << "\">: threads must be >= 0 (0: not fixed), got "
                       << threads;
  if (features)
    for (Attribute f : features)
      if (!isa<StringAttr>(f))
        return emitError() << "#lathe.target<\"" << name
                           << "\">: features must be strings, got " << f;
  if (tables)
    for (NamedAttribute table : tables)
      if (!isa<DictionaryAttr>(table.getValue()))
        return emitError() << "#lathe.target<\"" << name << "\">: table '"
                           << table.getName().getValue()
                           << "' must be a dictionary, got "
                           << table.getValue();
  return success();
}

LogicalResult LatheDialect::verifyOperationAttribute(Operation *op,
                                                     NamedAttribute attr) {
  if (attr.getName() == kDecisionAttrName)
    return verifyDecisionAttr(op, attr.getValue());
  if (attr.getName() != kTargetAttrName)
    return success();
  if (!isa<TargetAttr>(attr.getValue()))
    return op->emitError() << "'" << kTargetAttrName
                           << "' must be a #lathe.target<...>, got "
                           << attr.getValue();
  return success();
}

namespace {

/// Converts JSON to builtin attributes; `path` names the key for errors.
FailureOr<Attribute> toAttribute(Builder &b, const llvm::json::Value &value,
                                 const std::string &path, std::string &error) {
  if (const llvm::json::Object *object = value.getAsObject()) {
    SmallVector<NamedAttribute> entries;
    for (const auto &[key, v] : *object) {
      FailureOr<Attribute> a = toAttribute(
          b, v, path + (path.empty() ? "" : ".") + key.str(), error);
      if (failed(a))
        return failure();
      entries.push_back(b.getNamedAttr(key.str(), *a));
    }
    return Attribute(b.getDictionaryAttr(entries));
  }
  if (const llvm::json::Array *array = value.getAsArray()) {
    bool numbers = !array->empty(), integers = true;
    for (const llvm::json::Value &e : *array) {
      numbers &= e.kind() == llvm::json::Value::Number;
      integers &= e.getAsInteger().has_value();
    }
    if (numbers && integers) {
      SmallVector<int64_t> v;
      for (const llvm::json::Value &e : *array)
        v.push_back(*e.getAsInteger());
      return Attribute(b.getDenseI64ArrayAttr(v));
    }
    if (numbers) {
      SmallVector<double> v;
      for (const llvm::json::Value &e : *array)
        v.push_back(*e.getAsNumber());
      return Attribute(b.getDenseF64ArrayAttr(v));
    }
    SmallVector<Attribute> elements;
    for (auto [i, e] : llvm::enumerate(*array)) {
      FailureOr<Attribute> a =
          toAttribute(b, e, path + "[" + std::to_string(i) + "]", error);
      if (failed(a))
        return failure();
      elements.push_back(*a);
    }
    return Attribute(b.getArrayAttr(elements));
  }
  if (std::optional<int64_t> i = value.getAsInteger())
    return Attribute(b.getI64IntegerAttr(*i));
  if (std::optional<double> d = value.getAsNumber())
    return Attribute(b.getF64FloatAttr(*d));
  if (std::optional<StringRef> s = value.getAsString())
    return Attribute(b.getStringAttr(*s));
  if (std::optional<bool> v = value.getAsBoolean())
    return Attribute(b.getBoolAttr(*v));
  error = "key '" + path + "': null is not a value";
  return failure();
}

/// The top-level object of the JSON text `json`; `error` says why there is
/// none (malformed JSON, or a value of another kind).
FailureOr<llvm::json::Object> parseJsonObject(StringRef json,
                                              std::string &error) {
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(json);
  if (!parsed) {
    error = "malformed JSON: " + llvm::toString(parsed.takeError());
    return failure();
  }
  llvm::json::Object *object = parsed->getAsObject();
  if (!object) {
    error = "expected a JSON object";
    return failure();
  }
  return std::move(*object);
}

/// The keys of lowrank-select-ranks' table, which files written for that pass
/// alone carry at the top level.
bool isLegacyLowRankKey(StringRef key) {
  return llvm::is_contained({"peak_gflops", "bandwidth_gbps",
                             "call_overhead_us", "min_efficient_dim",
                             "granularity", "matmul", "conv"},
                            key);
}

} // namespace

FailureOr<DictionaryAttr> mlir::lathe::parseCostTable(MLIRContext *context,
                                                      StringRef json,
                                                      std::string &error) {
  FailureOr<llvm::json::Object> object = parseJsonObject(json, error);
  if (failed(object))
    return failure();
  Builder b(context);
  FailureOr<Attribute> table =
      toAttribute(b, llvm::json::Value(std::move(*object)), "", error);
  if (failed(table))
    return failure();
  return cast<DictionaryAttr>(*table);
}

FailureOr<TargetAttr> mlir::lathe::parseTargetDescription(MLIRContext *context,
                                                          StringRef json,
                                                          std::string &error) {
  FailureOr<llvm::json::Object> object = parseJsonObject(json, error);
  if (failed(object))
    return failure();
  Builder b(context);
  std::string name = "custom";
  int64_t threads = 0;
  SmallVector<Attribute> features;
  SmallVector<NamedAttribute> tables, legacy;
  bool hasLowRankTable = false;
  for (const auto &[keyRef, value] : *object) {
    StringRef key = keyRef;
    if (key == "name") {
      std::optional<StringRef> s = value.getAsString();
      if (!s || s->empty()) {
        error = "key 'name': expected a non-empty string";
        return failure();
      }
      name = s->str();
      continue;
    }
    if (key == "threads") {
      std::optional<int64_t> t = value.getAsInteger();
      if (!t || *t < 0) {
        error = "key 'threads': expected an integer >= 0 (0: not fixed)";
        return failure();
      }
      threads = *t;
      continue;
    }
    if (key == "features") {
      const llvm::json::Array *array = value.getAsArray();
      if (!array) {
        error = "key 'features': expected an array of strings";
        return failure();
      }
      for (const llvm::json::Value &f : *array) {
        std::optional<StringRef> s = f.getAsString();
        if (!s) {
          error = "key 'features': expected an array of strings";
          return failure();
        }
        features.push_back(b.getStringAttr(*s));
      }
      continue;
    }
    if (isLegacyLowRankKey(key) || key == "provenance") {
      FailureOr<Attribute> a = toAttribute(b, value, key.str(), error);
      if (failed(a))
        return failure();
      legacy.push_back(b.getNamedAttr(key, *a));
      continue;
    }
    if (!value.getAsObject()) {
      error = ("key '" + key +
               "': expected an object (a cost table); a target description "
               "has \"name\", \"threads\", \"features\" and one object per "
               "table")
                  .str();
      return failure();
    }
    FailureOr<Attribute> a = toAttribute(b, value, key.str(), error);
    if (failed(a))
      return failure();
    hasLowRankTable |= key == "lowrank";
    tables.push_back(b.getNamedAttr(key, *a));
  }
  bool legacyLowRank = llvm::any_of(legacy, [](NamedAttribute a) {
    return isLegacyLowRankKey(a.getName().getValue());
  });
  if (legacyLowRank && hasLowRankTable) {
    error = "lowrank keys both at the top level and in \"lowrank\"; keep "
            "them in \"lowrank\"";
    return failure();
  }
  if (legacyLowRank) {
    tables.push_back(b.getNamedAttr("lowrank", b.getDictionaryAttr(legacy)));
  } else if (!legacy.empty()) {
    // A provenance of the whole description.
    tables.push_back(
        b.getNamedAttr("description", b.getDictionaryAttr(legacy)));
  }
  return TargetAttr::get(context, name, threads, b.getArrayAttr(features),
                         b.getDictionaryAttr(tables));
}

FailureOr<TargetAttr> mlir::lathe::readTargetDescription(MLIRContext *context,
                                                         StringRef path,
                                                         std::string &error) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> file =
      llvm::MemoryBuffer::getFile(path);
  if (!file) {
    error = ("cannot read target description '" + path +
             "': " + file.getError().message())
                .str();
    return failure();
  }
  FailureOr<TargetAttr> target =
      parseTargetDescription(context, (*file)->getBuffer(), error);
  if (failed(target))
    error = ("target description '" + path + "': " + error).str();
  return target;
}
