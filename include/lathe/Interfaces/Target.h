//===- Target.h - Cost tables of the target a module is compiled for -*- C++
//-*-===//
//
// The target is part of the IR: the module carries a `lathe.target` attribute
// (`#lathe.target<...>`, implementing TargetAttrInterface) with the device's
// name, threads, ISA features and measured cost tables, one dictionary per
// consumer. A pass asks for its table with TargetTable::lookup and reads keys
// through typed getters whose errors name the target, the table and the key.
// A module without the attribute, or a target without the table, gets the
// table of the target's shipped default (registered by lib/Target/<Name>/,
// e.g. registerCpuTarget()); "cpu" is the default target. No pass reads a
// file: tools read a target description once and attach the attribute.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_INTERFACES_TARGET_H
#define LATHE_INTERFACES_TARGET_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Operation.h"

#include "lathe/Interfaces/TargetInterface.h.inc"

#include <functional>
#include <string>

namespace mlir::lathe {

/// The module attribute that carries the target.
inline constexpr llvm::StringLiteral kTargetAttrName = "lathe.target";

/// The target a module without a `lathe.target` attribute is compiled for.
inline constexpr llvm::StringLiteral kDefaultTargetName = "cpu";

/// A target's shipped default, compiled into the target's library.
struct TargetDefault {
  std::string name;
  /// 0: not fixed (the runtime's default).
  int64_t threads = 0;
  std::vector<std::string> features;
  /// The cost tables, built in the context that asks (builtin attributes
  /// only, so that no dialect is loaded while passes run).
  std::function<DictionaryAttr(MLIRContext *)> tables;
};

/// Registers `target`'s default (replacing an earlier one of the same name).
void registerTargetDefault(TargetDefault target);

/// The registered default of `name`, or null.
const TargetDefault *lookupTargetDefault(StringRef name);

/// The target attached to `op`'s closest enclosing op (or `op` itself) that
/// carries `lathe.target`, or null.
TargetAttrInterface getAttachedTarget(Operation *op);

/// One cost table of the target `op` is compiled for.
class TargetTable {
public:
  /// `table` of the attached target, else of the shipped default of the
  /// attached target's name (the default target's when none is attached).
  /// Emits an error at `op` and fails when the `lathe.target` attribute is
  /// not a target, or when neither has the table.
  static FailureOr<TargetTable> lookup(Operation *op, StringRef table);
  /// A table given directly (unit tests, tools); errors are emitted at `op`.
  TargetTable(Operation *op, StringRef targetName, StringRef tableName,
              DictionaryAttr dict)
      : op(op), targetName(targetName.str()), tableName(tableName.str()),
        dict(dict) {}

  StringRef getTargetName() const { return targetName; }
  StringRef getTableName() const { return tableName; }
  /// True when the table is the shipped default's.
  bool isDefault() const { return fromDefault; }
  DictionaryAttr getDictionary() const { return dict; }
  bool has(StringRef key) const { return dict.get(key) != nullptr; }

  /// A number (integer or float) >= `min` (> `min` when `strict`). Missing
  /// or of another type: an error naming the key and what was expected.
  FailureOr<double> getNumber(StringRef key, double min = 0.0,
                              bool strict = true) const;
  /// As getNumber, `fallback` when the key is absent.
  FailureOr<double> getNumber(StringRef key, double min, bool strict,
                              double fallback) const;
  /// An integer >= `min`.
  FailureOr<int64_t> getInteger(StringRef key, int64_t min = 1) const;
  FailureOr<int64_t> getInteger(StringRef key, int64_t min,
                                int64_t fallback) const;
  /// A non-empty array of numbers (`array<i64: ...>`, `array<f64: ...>` or
  /// a list of integer/float attributes), each >= `min` (> when `strict`),
  /// of `size` elements when `size` >= 0.
  FailureOr<SmallVector<double>> getNumbers(StringRef key, int64_t size = -1,
                                            double min = 0.0,
                                            bool strict = true) const;
  /// A non-empty, strictly increasing array of positive integers.
  FailureOr<SmallVector<int64_t>> getIncreasingIntegers(StringRef key) const;
  /// An array of dictionaries (rows of a measured table); absent: empty.
  FailureOr<SmallVector<DictionaryAttr>> getRows(StringRef key) const;

  /// Emits "target 'T': table 'X': key 'K': <message>" at the op the table
  /// was looked up for.
  InFlightDiagnostic emitKeyError(StringRef key) const;

private:
  friend FailureOr<int64_t> getTargetInteger(Operation *, StringRef, StringRef,
                                             int64_t);
  /// `defaultOnly`: the shipped default's table even when a target is
  /// attached.
  static FailureOr<TargetTable> lookupImpl(Operation *op, StringRef table,
                                           bool defaultOnly);
  TargetTable() = default;
  Operation *op = nullptr;
  std::string targetName, tableName;
  DictionaryAttr dict;
  bool fromDefault = false;
};

/// The integer `key` (>= `min`) of `table` of the target `op` is compiled
/// for: for tables of independent settings (memred's), a key the attached
/// table leaves out is the shipped default's. Errors as TargetTable's.
FailureOr<int64_t> getTargetInteger(Operation *op, StringRef table,
                                    StringRef key, int64_t min);

} // namespace mlir::lathe

#endif // LATHE_INTERFACES_TARGET_H
