//===- RunCUDA.h - lathe-run's CUDA backend ---------------------*- C++ -*-===//

#ifndef LATHE_DRIVER_RUNCUDA_H
#define LATHE_DRIVER_RUNCUDA_H

#include "lathe/Driver/Run.h"

#include <string>

namespace mlir {
class DialectRegistry;
namespace lathe {

/// `lathe-run --backend=cuda` and `--compile-to=ptx`: compiles with the CUDA
/// pipeline; `--compile-to=<cuda phase>` prints the IR after that phase,
/// `--compile-to=ptx` the one PTX module, `--compile-to=object` the host
/// code as a PIC x86-64 object with the cubin inside (for
/// scripts/pack-gpu-check.sh until lathe-compile --backend=cuda exists).
/// Running needs a device: the CUDA runtime library (libLatheRuntimeCUDA.so,
/// loaded here and nowhere else) decides, and without one this is `lathe-run:
/// error: --backend=cuda: no CUDA device (...)`, exit 1.
int runCudaMain(const RunOptions &options, DialectRegistry &registry);

/// Loads libLatheRuntimeCUDA.so (beside the tool's lib/ folder) and
/// initialises it. Returns 0 on success; 1 with `error` set otherwise, the
/// text starting "no CUDA device (" when the machine has none.
int loadCudaRuntime(std::string &error);

} // namespace lathe
} // namespace mlir

#endif // LATHE_DRIVER_RUNCUDA_H
