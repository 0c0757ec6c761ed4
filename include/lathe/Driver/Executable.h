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

namespace llvm {
class MemoryBuffer;
namespace orc {
class LLJIT;
} // namespace orc
} // namespace llvm

namespace mlir {
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
  /// LATHE_PRECISION_F32 or LATHE_PRECISION_BF16 (the runtime session's).
  int precision = LATHE_PRECISION_F32;
  /// Constant globals of at least this many bytes are kept as data beside
  /// the compiled code instead of going through LLVM (see CompiledModule).
  int64_t minDataBytes = 512;
  /// Code for a shared library (lathe-compile) instead of the JIT:
  /// position-independent, and every constant kept as data, as well as the
  /// globals named in `tableSymbols` (external weights), is reached through
  /// a table of pointers, `__lathe_constant_table`, that the loader fills
  /// (Model.h); the library then needs no symbols bound at load.
  bool sharedLibrary = false;
  std::vector<std::string> tableSymbols;
};

/// Bytes that back a compiled module's large constants: 64-byte aligned,
/// owned (heap) or a private mapping of a file (the compile cache).
class ConstantData {
public:
  ConstantData() = default;
  ~ConstantData();
  ConstantData(ConstantData &&other) noexcept;
  ConstantData &operator=(ConstantData &&other) noexcept;
  ConstantData(const ConstantData &) = delete;
  ConstantData &operator=(const ConstantData &) = delete;

  /// Zero-filled storage of `size` bytes; false when out of memory.
  bool allocate(uint64_t size);
  /// Maps `path` (copy-on-write) and checks it holds `size` bytes.
  bool mapFile(const std::string &path, uint64_t size, std::string &error);

  char *data() const { return bytes; }
  uint64_t size() const { return numBytes; }

private:
  void release();
  char *bytes = nullptr;
  uint64_t numBytes = 0;
  bool mapped = false;
};

/// A large constant kept as data: the global `symbol` of the module lives at
/// `offset` in its ConstantData.
struct ConstantSlice {
  std::string symbol;
  uint64_t offset = 0;
  uint64_t size = 0;
};

/// What compiling a module in the LLVM dialect produces, and what the compile
/// cache stores: a relocatable object for the host, and the module's large
/// constants as data (their globals are external declarations in the object,
/// bound when the object is loaded). Weights thus never pass through LLVM,
/// so compile time does not grow with their size.
struct CompiledModule {
  std::unique_ptr<llvm::MemoryBuffer> object;
  std::vector<ConstantSlice> constants;
  ConstantData data;
  /// With ExecutableOptions::sharedLibrary: the globals in the order of the
  /// constant table (`constants`, then the options' `tableSymbols`).
  std::vector<std::string> table;

  CompiledModule();
  ~CompiledModule();
  CompiledModule(CompiledModule &&);
  CompiledModule &operator=(CompiledModule &&);
};

/// Compiles `module` (in the LLVM dialect; its large constant globals are
/// turned into declarations in place) to an object for the target of
/// `options`.
LogicalResult compileModule(ModuleOp module, const ExecutableOptions &options,
                            CompiledModule &compiled, std::string &error);

/// What the code for `options` may use: the LLVM triple and CPU name, and
/// the features among lathe_model_cpu_feature's (ModelFormat.h) the CPU has,
/// sorted.
LogicalResult describeTargetFeatures(const ExecutableOptions &options,
                                     std::string &triple, std::string &cpu,
                                     std::vector<std::string> &features,
                                     std::string &error);

/// The identity of the code `options` would produce on this machine: the
/// LLVM CPU name and its features (part of the compile cache's key).
std::string describeTarget(const ExecutableOptions &options);

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

/// A module in the LLVM dialect, compiled and linked in process, with its
/// runtime session
/// (bound to the creating thread while the executable lives) and its
/// external weights loaded.
class Executable {
public:
  /// compileModule + load.
  static std::unique_ptr<Executable> create(ModuleOp module,
                                            std::vector<ExternalWeight> weights,
                                            const ExecutableOptions &options,
                                            std::string &error);
  /// Links a compiled module into this process and loads its external
  /// weights. The executable keeps `compiled`'s constant data.
  static std::unique_ptr<Executable> load(CompiledModule compiled,
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
  std::unique_ptr<llvm::orc::LLJIT> jit;
  ConstantData constants;
  lathe_rt_session *session = nullptr;
  lathe_rt_session *previousSession = nullptr;
  std::vector<ExternalWeight> weights;
};

} // namespace lathe
} // namespace mlir

#endif // LATHE_DRIVER_EXECUTABLE_H
