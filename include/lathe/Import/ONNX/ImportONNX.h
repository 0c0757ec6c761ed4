//===- ImportONNX.h - ONNX model to func + linalg on tensors ----*- C++ -*-===//
//
// Reads an ONNX ModelProto and builds a module whose `@main` computes the
// graph in the linalg-on-tensors form the rest of Lathe takes. The library is
// built with exceptions (libonnx and protobuf throw); nothing escapes it:
// every failure comes back as an error message.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_IMPORT_ONNX_IMPORTONNX_H
#define LATHE_IMPORT_ONNX_IMPORTONNX_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <cstdint>
#include <map>
#include <string>

namespace mlir {
class MLIRContext;
namespace lathe {

struct ONNXImportOptions {
  /// When set, initializers become datasets of this HDF5 file and the IR
  /// refers to them with `lathe.weight #lathe.external<...>`.
  std::string weightsFile;
  /// How `weightsFile` is spelled in the IR (relative to the .mlir file).
  std::string weightsRef;
  /// With a weights file: every floating-point initializer goes there, even
  /// the small ones (16 elements or fewer) that otherwise stay constants in
  /// the IR, so that training updates biases too.
  bool allFloatWeights = false;
  /// Symbolic dimensions pinned to a size (`--dim batch=8`).
  std::map<std::string, int64_t> dims;
};

/// The ONNX opset range whose operator semantics the importer implements.
constexpr int64_t kMinONNXOpset = 11;
constexpr int64_t kMaxONNXOpset = 17;

/// Imports the model at `path`. On failure returns null and sets `error`
/// (possibly several lines, e.g. every unsupported operator with its count).
OwningOpRef<ModuleOp> importONNXModel(MLIRContext &context,
                                      const std::string &path,
                                      const ONNXImportOptions &options,
                                      std::string &error);

/// Dialects the imported IR uses.
void registerONNXImportDialects(MLIRContext &context);

} // namespace lathe
} // namespace mlir

#endif // LATHE_IMPORT_ONNX_IMPORTONNX_H
