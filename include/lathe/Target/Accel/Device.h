//===- Device.h - Device descriptions of the accelerator target -*- C++ -*-===//

#ifndef LATHE_TARGET_ACCEL_DEVICE_H
#define LATHE_TARGET_ACCEL_DEVICE_H

#include "lathe/runtime/AccelExec.h"
#include "lathe/runtime/AccelSim.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace mlir {
namespace lathe {

/// The device is a cost table of the module's target (`lathe.target =
/// #lathe.target<..., tables = {accel = {...}}>`, lathe/Interfaces/Target.h),
/// looked up like every other pass's table.
constexpr llvm::StringLiteral kAccelDeviceTable = "accel";

/// Parses a device description (configs/accel/*.json); on failure returns
/// false with `error` naming the key and what was wrong.
bool parseAccelDevice(llvm::StringRef json, ::lathe::accel::Device &device,
                      std::string &error);
/// Reads and parses `path`.
bool loadAccelDevice(llvm::StringRef path, ::lathe::accel::Device &device,
                     std::string &error);

/// The device as a dictionary attribute (the simulator's field names) and
/// back.
DictionaryAttr accelDeviceToAttr(MLIRContext *ctx,
                                 const ::lathe::accel::Device &device);
::lathe::accel::Device accelDeviceFromAttr(DictionaryAttr attr);
/// The `accel` table of the target attached to `module` (by
/// accel-attach-device), or null.
DictionaryAttr getAccelDeviceAttr(ModuleOp module);
/// Attaches `device` as the `accel` table of `module`'s target: added to
/// the attached `lathe.target` (its other tables kept), or a new
/// `#lathe.target` named after the device.
void setAccelDeviceAttr(ModuleOp module, DictionaryAttr device);

/// The simulator's program for `program` (ops in program order, tokens as
/// dependencies). Returns false with `error` for an op it does not know.
bool buildAccelProgram(Operation *program, ::lathe::accel::Program &out,
                       std::string &error);

/// A buffer of an executable program (accel.program's `buffers`).
struct AccelBufferInfo {
  int64_t elements = 0;
  int arg = -1, result = -1;
  ElementsAttr value;
};

/// The data semantics of `program` (built by buildAccelProgram into
/// `sim`): one ExecOp per compute op, Op::exec set on every op (a transfer
/// names its group's compute op), and the buffers. Returns false with
/// `error` when the program is timing only (its `not_executable` reason) or
/// malformed.
bool buildAccelExec(Operation *program, ::lathe::accel::Program &sim,
                    std::vector<::lathe::accel::ExecOp> &execs,
                    std::vector<AccelBufferInfo> &buffers, std::string &error);

/// A program written as JSON ({"ops": [{"kind": "mme_matmul", "tiles": 4,
/// "m": 64, "n": 64, "k": 64, "deps": [0], "group": 1}, ...]}: the fields of
/// ::lathe::accel::Op in snake case), for programs no compiler pass makes
/// (bench/accel's H-GCN tiles).
bool parseAccelProgramJson(llvm::StringRef json, ::lathe::accel::Program &out,
                           std::string &error);

} // namespace lathe
} // namespace mlir

#endif // LATHE_TARGET_ACCEL_DEVICE_H
