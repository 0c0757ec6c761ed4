//===- OpRegistry.cpp - The ONNX operator registry ------------------------===//
//
// Which handler imports an operator at the model's opset, and the import
// of one node through it.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

using namespace mlir;
using namespace mlir::lathe;
using namespace mlir::lathe::onnx_import;

void OpRegistry::add(StringRef opType, int64_t sinceVersion,
                     OpHandler handler) {
  SmallVector<Entry, 1> &entries = ops[opType];
  auto it = llvm::find_if(
      entries, [&](const Entry &e) { return e.sinceVersion > sinceVersion; });
  entries.insert(it, Entry{sinceVersion, handler});
}

OpHandler OpRegistry::lookup(StringRef domain, StringRef opType,
                             int64_t opset) const {
  if (!domain.empty() && domain != "ai.onnx")
    return nullptr;
  auto it = ops.find(opType);
  if (it == ops.end())
    return nullptr;
  OpHandler handler = nullptr;
  for (const Entry &e : it->second)
    if (e.sinceVersion <= opset)
      handler = e.handler;
  return handler;
}

const OpRegistry &OpRegistry::get() {
  static const OpRegistry registry = [] {
    OpRegistry r;
    registerONNXOps(r);
    return r;
  }();
  return registry;
}

bool onnx_import::isSupportedOp(StringRef opType, int64_t opset) {
  return OpRegistry::get().lookup("", opType, opset) != nullptr;
}

LogicalResult Importer::error(const std::string &message) {
  return emitError(loc) << message;
}

LogicalResult Importer::importNode(const onnx::NodeProto &n) {
  OpHandler handler = OpRegistry::get().lookup(n.domain(), n.op_type(), opset);
  if (!handler)
    return error(nodeDesc() + ": operator " + n.op_type() +
                 " is not supported");
  // The handlers read their inputs with `in`, which takes them as defined.
  for (const std::string &name : n.input())
    if (!name.empty() && !values.count(name))
      return error(nodeDesc() + " uses '" + name +
                   "', which no node, input or initializer defines");
  uns = false;
  if (hasInput(0)) {
    auto it = values.find(n.input(0));
    uns = it != values.end() && it->second.isUnsigned;
  }
  if (failed((this->*handler)(n)))
    return failure();
  // Results of the input's element type stay unsigned (Cast sets its own).
  if (!uns || n.op_type() == "Cast")
    return success();
  Type inElt = eltOf(values.find(n.input(0))->second.v);
  for (const std::string &o : n.output()) {
    auto it = values.find(o);
    if (!o.empty() && it != values.end() && it->second.v &&
        eltOf(it->second.v) == inElt)
      it->second.isUnsigned = true;
  }
  return success();
}

void onnx_import::registerONNXOps(OpRegistry &r) {
  registerElementwiseOps(r);
  registerShapeOps(r);
  registerDataMovementOps(r);
  registerReductionOps(r);
  registerNormalizationOps(r);
  registerContractionOps(r);
  registerWindowOps(r);
  registerResizeOps(r);
  registerRecurrentOps(r);
}
