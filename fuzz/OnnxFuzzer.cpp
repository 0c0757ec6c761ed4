//===- OnnxFuzzer.cpp - libFuzzer target for the ONNX importer ------------===//
//
// Input: the bytes of an .onnx file (a serialized ModelProto), imported and
// verified as lathe-import-onnx does (initializers as dense_resource blobs).
//
//===----------------------------------------------------------------------===//

#include "TempFile.h"

#include "lathe/Import/ONNX/ImportONNX.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include <google/protobuf/stubs/logging.h>

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  // protobuf logs every parse error to stderr; the importer reports it.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lathe::fuzz::TempFile file(".onnx");
  const std::string &path = file.set(data, size);
  // A fresh context per input: nothing interned by one input outlives it.
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  mlir::ScopedDiagnosticHandler quiet(
      &context, [](mlir::Diagnostic &) { return mlir::success(); });
  mlir::lathe::ONNXImportOptions options;
  std::string error;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::lathe::importONNXModel(context, path, options, error);
  // lathe-import-onnx reports a module that does not verify as an internal
  // error: for the fuzzer that is a finding.
  if (module && mlir::failed(mlir::verify(*module))) {
    std::fprintf(stderr, "imported module does not verify\n");
    std::abort();
  }
  return 0;
}
