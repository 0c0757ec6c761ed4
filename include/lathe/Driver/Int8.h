//===- Int8.h - lathe-run --precision=int8: calibration ---------*- C++ -*-===//
//
// Post-training static quantization for lathe-run: the module is compiled
// once with calibration probes (lathe-cpu-quantize-int8{calibrate}) and run
// in f32 on the calibration data; the ranges it records become the
// `int8-ranges` of the real compilation, which runs its matmuls and
// convolutions with constant weights in int8. The f32 results on the first
// calibration batch are kept, so the report can give the int8 output's error.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_DRIVER_INT8_H
#define LATHE_DRIVER_INT8_H

#include "lathe/Driver/Executable.h"
#include "lathe/Driver/HostTensors.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/JSON.h"

#include <string>
#include <vector>

namespace mlir {
namespace lathe {

struct CpuPipelineOptions;

/// One kernel site of the calibrated module.
struct Int8Site {
  std::string kernel; ///< the f32 runtime call it replaces
  std::string loc;
  bool observed = false;
  float lo = 0, hi = 0;
};

struct Int8Calibration {
  std::vector<Int8Site> sites;
  /// lo, hi per site (NaN for a site calibration never reached): the
  /// pipeline's int8-ranges.
  std::vector<double> ranges;
  int64_t samples = 0;
  int64_t calls = 0;
  /// The first calibration batch and the f32 module's results on it.
  std::vector<HostTensor> firstInputs;
  std::vector<HostTensor> f32Results;
};

/// Reads `dataFile` (an HDF5 dataset per argument of `entry`, named after
/// it: `lathe.name` / `onnx.name`, else `input<i>`; samples along dimension
/// 0), compiles a calibrating copy of `module` with `pipeline`'s options and
/// runs it in f32 on every batch (the entry's static batch, or up to 256
/// samples when the batch is dynamic). Fails with a message naming what is
/// wrong with the data (a missing file or dataset, a shape or dtype that does
/// not fit, NaN or Inf).
LogicalResult calibrateInt8(ModuleOp module, StringRef entry,
                            StringRef dataFile,
                            const CpuPipelineOptions &pipeline,
                            const ExecutableOptions &executableOptions,
                            const std::vector<ExternalWeight> &weights,
                            Int8Calibration &out, std::string &error);

/// The report's "int8" object: the calibration, each site's range and the
/// precision it ran in (asked from the current runtime session, that of the
/// int8 module), and the error of `int8Results` (the int8 module on
/// `calibration.firstInputs`) against the f32 results.
llvm::json::Object int8Report(const Int8Calibration &calibration,
                              const std::vector<HostTensor> &int8Results);

/// One line for stdout: "int8: N of M kernel sites in int8, max abs error
/// E vs f32 on the first calibration batch".
std::string int8Summary(const Int8Calibration &calibration,
                        const std::vector<HostTensor> &int8Results);

} // namespace lathe
} // namespace mlir

#endif // LATHE_DRIVER_INT8_H
