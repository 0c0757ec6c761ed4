//===- Target.cpp - Cost tables of the target a module is compiled for ----===//

#include "lathe/Interfaces/Target.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/ManagedStatic.h"
#include "llvm/Support/Mutex.h"

#include <cmath>

using namespace mlir;
using namespace mlir::lathe;

#include "lathe/Interfaces/TargetInterface.cpp.inc"

namespace {
struct DefaultRegistry {
  llvm::sys::SmartMutex<true> mutex;
  llvm::StringMap<TargetDefault> targets;
};
llvm::ManagedStatic<DefaultRegistry> registry;
} // namespace

void mlir::lathe::registerTargetDefault(TargetDefault target) {
  llvm::sys::SmartScopedLock<true> lock(registry->mutex);
  std::string name = target.name;
  registry->targets[name] = std::move(target);
}

const TargetDefault *mlir::lathe::lookupTargetDefault(StringRef name) {
  llvm::sys::SmartScopedLock<true> lock(registry->mutex);
  auto it = registry->targets.find(name);
  return it == registry->targets.end() ? nullptr : &it->second;
}

TargetAttrInterface mlir::lathe::getAttachedTarget(Operation *op) {
  for (; op; op = op->getParentOp())
    if (Attribute attr = op->getAttr(kTargetAttrName))
      return dyn_cast<TargetAttrInterface>(attr);
  return nullptr;
}

FailureOr<TargetTable> TargetTable::lookup(Operation *op, StringRef table) {
  return lookupImpl(op, table, /*defaultOnly=*/false);
}

FailureOr<TargetTable> TargetTable::lookupImpl(Operation *op, StringRef table,
                                               bool defaultOnly) {
  TargetTable result;
  result.op = op;
  result.tableName = table.str();
  Operation *carrier = op;
  while (carrier && !carrier->getAttr(kTargetAttrName))
    carrier = carrier->getParentOp();
  StringRef name = kDefaultTargetName;
  if (carrier) {
    auto target =
        dyn_cast<TargetAttrInterface>(carrier->getAttr(kTargetAttrName));
    if (!target)
      return mlir::emitError(op->getLoc())
             << "the '" << kTargetAttrName
             << "' attribute is not a target (expected "
                "#lathe.target<...>)";
    name = target.getTargetName();
    DictionaryAttr tables = target.getTargetTables();
    if (tables && !defaultOnly) {
      if (Attribute entry = tables.get(table)) {
        auto dict = dyn_cast<DictionaryAttr>(entry);
        if (!dict)
          return mlir::emitError(op->getLoc())
                 << "target '" << name << "': table '" << table
                 << "' must be a dictionary";
        result.targetName = name.str();
        result.dict = dict;
        return result;
      }
    }
  }
  // The shipped default of the attached target's name; a target the project
  // ships no default for falls back to the default target's tables.
  const TargetDefault *fallback = lookupTargetDefault(name);
  if (!fallback)
    fallback = lookupTargetDefault(kDefaultTargetName);
  if (!fallback || !fallback->tables)
    return mlir::emitError(op->getLoc())
           << "target '" << name << "' has no '" << table
           << "' table and no default target is registered "
              "(the tool must call registerCpuTarget())";
  DictionaryAttr tables = fallback->tables(op->getContext());
  auto dict = tables ? dyn_cast_or_null<DictionaryAttr>(tables.get(table))
                     : DictionaryAttr();
  if (!dict)
    return mlir::emitError(op->getLoc())
           << "target '" << name << "' has no '" << table
           << "' table, nor has the shipped default '" << fallback->name << "'";
  result.targetName = fallback->name;
  result.dict = dict;
  result.fromDefault = true;
  return result;
}

InFlightDiagnostic TargetTable::emitKeyError(StringRef key) const {
  return mlir::emitError(op->getLoc())
         << "target '" << targetName << "': table '" << tableName << "': key '"
         << key << "': ";
}

static std::optional<double> numberOf(Attribute attr) {
  if (auto i = dyn_cast_or_null<IntegerAttr>(attr))
    return static_cast<double>(i.getInt());
  if (auto f = dyn_cast_or_null<FloatAttr>(attr))
    return f.getValueAsDouble();
  return std::nullopt;
}

static std::string bound(double min, bool strict) {
  if (min == 0.0)
    return strict ? "positive" : "non-negative";
  return (strict ? "> " : ">= ") + std::to_string(min);
}

FailureOr<double> TargetTable::getNumber(StringRef key, double min,
                                         bool strict) const {
  Attribute attr = dict.get(key);
  if (!attr)
    return emitKeyError(key)
           << "missing (expected a " << bound(min, strict) << " number)";
  std::optional<double> v = numberOf(attr);
  if (!v || !std::isfinite(*v) || *v < min || (strict && *v == min))
    return emitKeyError(key)
           << "expected a " << bound(min, strict) << " number, got " << attr;
  return *v;
}

FailureOr<double> TargetTable::getNumber(StringRef key, double min, bool strict,
                                         double fallback) const {
  if (!has(key))
    return fallback;
  return getNumber(key, min, strict);
}

FailureOr<int64_t> TargetTable::getInteger(StringRef key, int64_t min) const {
  Attribute attr = dict.get(key);
  if (!attr)
    return emitKeyError(key)
           << "missing (expected an integer >= " << min << ")";
  auto i = dyn_cast<IntegerAttr>(attr);
  if (!i || i.getType().isInteger(1) || i.getInt() < min)
    return emitKeyError(key)
           << "expected an integer >= " << min << ", got " << attr;
  return i.getInt();
}

FailureOr<int64_t> TargetTable::getInteger(StringRef key, int64_t min,
                                           int64_t fallback) const {
  if (!has(key))
    return fallback;
  return getInteger(key, min);
}

FailureOr<SmallVector<double>> TargetTable::getNumbers(StringRef key,
                                                       int64_t size, double min,
                                                       bool strict) const {
  Attribute attr = dict.get(key);
  if (!attr)
    return emitKeyError(key) << "missing (expected an array of "
                             << bound(min, strict) << " numbers)";
  SmallVector<double> out;
  bool ok = true;
  if (auto a = dyn_cast<DenseI64ArrayAttr>(attr)) {
    for (int64_t v : a.asArrayRef())
      out.push_back(static_cast<double>(v));
  } else if (auto a = dyn_cast<DenseF64ArrayAttr>(attr)) {
    out.append(a.asArrayRef().begin(), a.asArrayRef().end());
  } else if (auto a = dyn_cast<ArrayAttr>(attr)) {
    for (Attribute e : a) {
      std::optional<double> v = numberOf(e);
      ok &= v.has_value();
      out.push_back(v.value_or(0.0));
    }
  } else {
    ok = false;
  }
  for (double v : out)
    ok &= std::isfinite(v) && v >= min && !(strict && v == min);
  if (!ok || out.empty())
    return emitKeyError(key) << "expected a non-empty array of "
                             << bound(min, strict) << " numbers, got " << attr;
  if (size >= 0 && static_cast<int64_t>(out.size()) != size)
    return emitKeyError(key)
           << "expected " << size << " numbers, got " << out.size();
  return out;
}

FailureOr<SmallVector<int64_t>>
TargetTable::getIncreasingIntegers(StringRef key) const {
  FailureOr<SmallVector<double>> numbers = getNumbers(key);
  if (failed(numbers))
    return failure();
  SmallVector<int64_t> out;
  for (double v : *numbers) {
    if (v != std::floor(v) || (!out.empty() && v <= out.back()))
      return emitKeyError(key)
             << "expected strictly increasing positive integers, got "
             << dict.get(key);
    out.push_back(static_cast<int64_t>(v));
  }
  return out;
}

FailureOr<SmallVector<DictionaryAttr>>
TargetTable::getRows(StringRef key) const {
  SmallVector<DictionaryAttr> rows;
  Attribute attr = dict.get(key);
  if (!attr)
    return rows;
  auto array = dyn_cast<ArrayAttr>(attr);
  if (!array)
    return emitKeyError(key)
           << "expected an array of dictionaries, got " << attr;
  for (auto [index, row] : llvm::enumerate(array)) {
    auto d = dyn_cast<DictionaryAttr>(row);
    if (!d)
      return emitKeyError(key)
             << "entry " << index << ": expected a dictionary, got " << row;
    rows.push_back(d);
  }
  return rows;
}

FailureOr<int64_t> mlir::lathe::getTargetInteger(Operation *op, StringRef table,
                                                 StringRef key, int64_t min) {
  FailureOr<TargetTable> found = TargetTable::lookup(op, table);
  if (failed(found))
    return failure();
  if (!found->has(key) && !found->isDefault()) {
    // A key the attached table leaves out: the shipped default's.
    FailureOr<TargetTable> fallback =
        TargetTable::lookupImpl(op, table, /*defaultOnly=*/true);
    if (succeeded(fallback) && fallback->has(key))
      return fallback->getInteger(key, min);
  }
  return found->getInteger(key, min);
}
