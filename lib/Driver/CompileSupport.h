//===- CompileSupport.h - What lathe-compile's backends share ---*- C++ -*-===//
//
// Private to lib/Driver: the pieces of a .lathe file (ModelFormat.h) that the
// CPU (Compile.cpp) and CUDA (CudaCompile.cpp) paths of lathe-compile both
// write: the signature lines of META, the shared library in CODE, the file.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_LIB_DRIVER_COMPILESUPPORT_H
#define LATHE_LIB_DRIVER_COMPILESUPPORT_H

#include "lathe/Driver/Executable.h"
#include "lathe/Driver/HostTensors.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::lathe::compile_support {

/// Prints `lathe-compile: error: MESSAGE`; returns 1.
int fail(const llvm::Twine &message);

uint64_t alignTo(uint64_t value, uint64_t align);

/// The file a symbol of this process was loaded from, or "".
std::string libraryOf(const void *address);

/// Removes the files it names when it goes out of scope.
struct TempFiles {
  std::vector<std::string> paths;
  ~TempFiles();
  bool create(llvm::StringRef suffix, std::string &path, std::string &error);
  /// A new temporary file (named in `path`) that holds `bytes`.
  bool write(llvm::StringRef suffix, llvm::StringRef bytes, std::string &path,
             std::string &error);
};

/// Links `object` with lld into a shared library (its bytes in `library`)
/// against `libraries`; every symbol must resolve (`-z defs`), so a module
/// that needs anything else fails here rather than at load.
bool linkSharedLibrary(llvm::StringRef object,
                       llvm::ArrayRef<std::string> libraries,
                       std::string &library, std::string &error);

/// META's `input ...` and `output ...` lines for the entry, with the names an
/// importer gave its arguments and results.
bool describeSignature(ModuleOp module, llvm::StringRef entry,
                       FunctionType signature, std::string &text,
                       std::string &error);

/// Reads the module's external weights (lathe.weight, HDF5; relative paths
/// from the folder of `inputFile`) into `data`, one per entry of `weights`,
/// each checked against its type. Fails with `error` naming the weight.
bool readExternalWeights(ModuleOp module, llvm::StringRef inputFile,
                         std::vector<ExternalWeight> &weights,
                         std::vector<HostTensor> &data, std::string &error);

/// Fails when the folder `path` would be written into does not exist.
bool checkOutputDirectory(const std::string &path, std::string &error);

/// Bytes of DATA at `offset`.
struct DataPiece {
  const char *bytes;
  uint64_t offset, size;
};

/// Writes header, section table, META, CODE and DATA as one .lathe file,
/// under a private name first (never a partial file at `path`).
bool writeModelFile(const std::string &path, llvm::StringRef metadata,
                    llvm::StringRef library, llvm::ArrayRef<DataPiece> data,
                    uint64_t dataSize, std::string &error);

} // namespace mlir::lathe::compile_support

#endif // LATHE_LIB_DRIVER_COMPILESUPPORT_H
