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
/// sparsegcn-tile's table (readTileCostTable), which a device with a sparse
/// engine sets for itself.
constexpr llvm::StringLiteral kAccelSparseGCNTable = "sparsegcn";

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
/// `#lathe.target` named after the device; with `sparseGCN`, that as its
/// `sparsegcn` table too (replacing one the target had: the module is
/// compiled for the device).
void setAccelDeviceAttr(ModuleOp module, DictionaryAttr device,
                        DictionaryAttr sparseGCN = nullptr);

/// The `sparsegcn` cost table (sparsegcn-tile's TileCostTable, the keys of
/// lathe/Dialect/SparseGCN/CostModel.h) of a device with a sparse engine, or
/// null when it has none: sparsegcn-tile's density-aware tiling then decides
/// per tile between the device's dense engine (the matrix engines, T x T
/// tile times T x F block) and its sparse engine (nnz x F MACs), priced with
/// the simulator's costs rather than measured rates. Per tile (cycles):
/// every non-empty tile pays o = max(sparse start-up, HBM time of its T x F
/// block of X) whichever engine runs it (`tile_overhead_us`); a dense tile
/// max(its matrix-engine cycles, HBM time of its adjacency and X blocks),
/// `gemm_gflops` pricing what that costs beyond o; the sparse engine per
/// non-zero max(F / MACs per cycle, HBM time of 8 bytes). So the break-even
/// density is where one tile costs the same on both engines (up to the
/// overlap of compute and transfers the simulator models).
DictionaryAttr accelSparseGCNTable(MLIRContext *ctx,
                                   const ::lathe::accel::Device &device);
/// Tile sizes and feature widths of that table.
constexpr int64_t kAccelGcnTileSizes[] = {32, 64, 128, 256};
constexpr int64_t kAccelGcnWidths[] = {16, 32, 64, 128, 256};

/// The simulator's program for `program` (ops in program order, tokens as
/// dependencies). Returns false with `error` for an op it does not know.
bool buildAccelProgram(Operation *program, ::lathe::accel::Program &out,
                       std::string &error);

/// A buffer of an executable program (accel.program's `buffers`).
struct AccelBufferInfo {
  int64_t elements = 0;
  int arg = -1, result = -1;
  ElementsAttr value;
  /// Integer data (a gather's ids) the simulator holds as f32.
  bool integer = false;
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
