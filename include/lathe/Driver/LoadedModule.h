//===- LoadedModule.h - lathe-run's compilation, kept -----------*- C++ -*-===//
//
// lathe-run compiles a module, calls it once (or --repeat times) and exits.
// An embedding program (the Python package, python/) keeps the compiled module
// and calls it many times, from several threads, on tensors it owns. This is
// lathe-run's compile step (same checks, same messages, same pipeline, same
// compile cache) with a call that borrows its inputs.
//
// Thread-safety: `compile` from any thread. `call` from any thread,
// concurrently too: each call binds the module's runtime session on its own
// thread for the duration of the call and unbinds it after. The runtime's
// kernel profile is process-wide, so with concurrent calls each call's kernel
// times include the other calls' (Runtime.h).
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_DRIVER_LOADEDMODULE_H
#define LATHE_DRIVER_LOADEDMODULE_H

#include "lathe/Driver/Executable.h"
#include "lathe/Driver/HostTensors.h"
#include "lathe/Driver/Run.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mlir {
class DialectRegistry;
namespace lathe {

/// One argument or result of the entry.
struct TensorSpec {
  /// `lathe.name` / `onnx.name` of the argument or result, else "arg#i" /
  /// "result#i".
  std::string name;
  lathe_dtype dtype = LATHE_F32;
  /// -1 for a dynamic dimension.
  std::vector<int64_t> shape;
  /// "tensor<?x64xf32>".
  std::string type;
};

/// What one call measured.
struct CallStats {
  double ms = 0;
  /// The session's high-water mark of runtime memory during the call.
  int64_t peakBytes = 0;
  /// Per kernel kind: milliseconds and calls in this call.
  std::vector<std::string> kernelNames;
  std::vector<double> kernelMs;
  std::vector<int64_t> kernelCalls;
};

/// Turns a model file that is not MLIR (e.g. ONNX) into a module, or returns
/// null with `error` set.
using ModelImporter = std::function<OwningOpRef<ModuleOp>(
    MLIRContext &context, const std::string &path, std::string &error)>;

class LoadedModule {
public:
  /// Compiles `options.inputFile` (.mlir, or .onnx through `importOnnx` when
  /// given) with lathe-run's checks of `options` and
  /// its pipeline, through the compile cache, and loads it. Fields of
  /// RunOptions that concern running (inputs, outputs, repeat, report,
  /// compileTo, fillMissing, ranks) are ignored. On failure returns null with
  /// `error` set to lathe-run's message (without the "lathe-run: error: "
  /// prefix), followed by the compiler's diagnostics where there are any.
  static std::unique_ptr<LoadedModule> compile(const RunOptions &options,
                                               DialectRegistry &registry,
                                               std::string &error,
                                               ModelImporter importOnnx = {});
  ~LoadedModule();
  LoadedModule(const LoadedModule &) = delete;
  LoadedModule &operator=(const LoadedModule &) = delete;

  const std::vector<TensorSpec> &inputs() const { return inputSpecs; }
  const std::vector<TensorSpec> &results() const { return resultSpecs; }

  /// Checks `t` against argument #`index` (lathe-run's message).
  bool checkInput(size_t index, const lathe_host_tensor &t,
                  std::string &error) const;

  /// Calls the entry on `inputs` (dense, C-ordered, borrowed: only read) and
  /// returns dense copies of the results. Any thread; concurrent calls are
  /// safe.
  bool call(ArrayRef<const lathe_host_tensor *> inputs,
            std::vector<HostTensor> &results, CallStats &stats,
            std::string &error);

  // Facts about the compilation (lathe-run's report fields).
  const RunOptions &getOptions() const { return options; }
  double compileMs = 0;
  /// "off", "hit" or "miss".
  std::string compileCache = "off";
  uint64_t constantBytes = 0;
  int64_t flops = 0;
  bool flopsComplete = false;
  /// "bf16" when bf16 was requested and the CPU has it, else "f32".
  std::string effectivePrecision = "f32";

private:
  LoadedModule() = default;
  RunOptions options;
  std::unique_ptr<MLIRContext> context;
  FunctionType type;
  std::unique_ptr<Executable> executable;
  lathe_rt_session *session = nullptr;
  std::vector<TensorSpec> inputSpecs, resultSpecs;
};

} // namespace lathe
} // namespace mlir

#endif // LATHE_DRIVER_LOADEDMODULE_H
