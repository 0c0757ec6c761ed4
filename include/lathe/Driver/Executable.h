//===- Executable.h - A compiled module, callable from C++ ------*- C++ -*-===//
//
// What lathe-run and lathe-train share once a module is in the LLVM dialect:
// the JIT, the module's runtime session, its external weights, and calls of
// its entry points on host tensors through the packed calling convention.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_DRIVER_EXECUTABLE_H
#define LATHE_DRIVER_EXECUTABLE_H

#include "lathe/Driver/HostTensors.h"
#include "lathe/runtime/Runtime.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Support/LogicalResult.h"

#include <memory>
#include <string>
#include <vector>

namespace mlir {
class ExecutionEngine;
namespace lathe {

/// An external weight (`#lathe.external`) the executable loads before the
/// first call.
struct ExternalWeight {
  std::string symbol;
  std::string path;
  std::string dataset;
  RankedTensorType type;
  void *storage = nullptr; ///< lathe_rt_alloc'd, 64-byte aligned
};

/// Finds the external weights of a module as given (lathe.weight ops, whose
/// globals get stable names, and globals already bufferized by lathe-opt);
/// relative paths are resolved against `baseDir`.
void collectExternalWeights(ModuleOp module, StringRef baseDir,
                            std::vector<ExternalWeight> &weights);

/// The entry's signature with tensor types, from IR at any phase: a func.func
/// (tensors, or memrefs after bufferization) or, in the LLVM dialect, the
/// `lathe.signature` attribute recorded by lathe-record-signature.
LogicalResult getEntrySignature(ModuleOp module, StringRef name,
                                FunctionType &type, std::string &error);

struct ExecutableOptions {
  /// "host" or an LLVM CPU name (x86-64-v3, ...): its features alone.
  std::string targetCpu = "host";
  /// Threads of the module's runtime session; 0: the runtime's default.
  int threads = 0;
};

class Executable;

/// One entry point bound to its inputs: calls reuse the argument
/// descriptors; results stay in the runtime's memory until taken or freed.
class Invocation {
public:
  ~Invocation();
  /// One call. A failed run-time check (the runtime's pending error) returns
  /// false with its message.
  bool run(std::string &error);
  /// Dense copies of the last call's results, which are then freed.
  bool takeResults(std::vector<HostTensor> &results, std::string &error);
  /// Frees the last call's results without reading them.
  void freeResults();

private:
  friend class Executable;
  Invocation() = default;
  void (*function)(void **) = nullptr;
  FunctionType type;
  std::vector<std::vector<int64_t>> argWords;
  std::vector<void *> packedArgs;
  std::vector<int64_t> resultOffsets;
  std::vector<int64_t> resultStorage;
  bool haveResults = false;
};

/// A module in the LLVM dialect, JIT-compiled, with its runtime session
/// (bound to the creating thread while the executable lives) and its
/// external weights loaded.
class Executable {
public:
  static std::unique_ptr<Executable> create(ModuleOp module,
                                            std::vector<ExternalWeight> weights,
                                            const ExecutableOptions &options,
                                            std::string &error);
  ~Executable();
  Executable(const Executable &) = delete;
  Executable &operator=(const Executable &) = delete;

  /// Binds `entry` (whose tensor signature is `type`) to `inputs`, which must
  /// match it and outlive the invocation.
  std::unique_ptr<Invocation>
  prepare(StringRef entry, FunctionType type,
          ArrayRef<const lathe_host_tensor *> inputs, std::string &error);

private:
  Executable() = default;
  std::unique_ptr<ExecutionEngine> engine;
  lathe_rt_session *session = nullptr;
  lathe_rt_session *previousSession = nullptr;
  std::vector<ExternalWeight> weights;
};

} // namespace lathe
} // namespace mlir

#endif // LATHE_DRIVER_EXECUTABLE_H
