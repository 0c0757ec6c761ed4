//===- MessageTable.h - Constant texts for runtime calls --------*- C++ -*-===//
//
// Shared by the passes that hand text to the runtime (the CPU target's
// run-time check messages and trace region names, the CUDA target's assert
// messages); the calls that take the texts are emitRuntimeCall's
// (RuntimeCalls.h).
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_TARGET_CPU_MESSAGETABLE_H
#define LATHE_TARGET_CPU_MESSAGETABLE_H

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

#include <string>

namespace mlir::lathe {

/// Texts of one module for runtime calls: NUL-terminated private constant i8
/// globals, one per distinct text, named `<prefix>_N`.
class MessageTable {
public:
  explicit MessageTable(ModuleOp module, StringRef prefix = "__lathe_check_msg")
      : module(module), symbols(module), prefix(prefix.str()) {}

  /// A `memref<*xi8>` holding `text`.
  Value get(OpBuilder &b, Location loc, StringRef text) {
    auto i8 = b.getI8Type();
    SmallVector<int8_t> bytes(text.begin(), text.end());
    bytes.push_back(0);
    auto type = MemRefType::get({(int64_t)bytes.size()}, i8);
    auto value = DenseElementsAttr::get(
        RankedTensorType::get({(int64_t)bytes.size()}, i8),
        ArrayRef<int8_t>(bytes));
    memref::GlobalOp global;
    for (auto g : module.getOps<memref::GlobalOp>())
      if (g.getConstant() && g.getType() == type &&
          g.getInitialValue() == Attribute(value) &&
          g.getSymName().starts_with(prefix)) {
        global = g;
        break;
      }
    if (!global) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(module.getBody());
      global = memref::GlobalOp::create(
          b, loc, b.getStringAttr(prefix), b.getStringAttr("private"),
          TypeAttr::get(type), value, b.getUnitAttr(), IntegerAttr());
      symbols.insert(global); // renamed to a unique <prefix>_N
    }
    Value msg = memref::GetGlobalOp::create(b, loc, type, global.getSymName());
    return memref::CastOp::create(b, loc, UnrankedMemRefType::get(i8, 0), msg);
  }

private:
  ModuleOp module;
  SymbolTable symbols;
  std::string prefix;
};

} // namespace mlir::lathe

#endif // LATHE_TARGET_CPU_MESSAGETABLE_H
