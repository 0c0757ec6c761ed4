//===- AccelSim.h - Cycle-approximate simulator of an MME+TPC device
//-------===//
//
// The timing half of Lathe's accelerator target (docs/Targets/Accel.md): a
// device description (the numbers of configs/accel/*.json), the cost of one
// tile of each engine op, and an event-driven simulation of a program of
// engine ops on per-engine timelines (matrix engines, each vector core, DMA
// engines, HBM). Plain C++: no MLIR, no LLVM. The compiler (lib/Target/Accel)
// uses the same cost functions for placement, so placement and simulation
// never disagree about what an op costs.
//
// Thread safety: every function is reentrant; a Program or Device is not
// shared between threads by the simulator.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_ACCELSIM_H
#define LATHE_RUNTIME_ACCELSIM_H

#include <cstdint>
#include <string>
#include <vector>

namespace lathe {
namespace accel {

/// What a device is made of. Every field has the unit in its name; the JSON
/// keys are the same words (lib/Target/Accel/Device.cpp).
struct Device {
  std::string name = "device";
  double clockGHz = 1.0;
  // Matrix engines (systolic arrays).
  int64_t mmeCount = 1;
  int64_t mmeRows = 128;
  int64_t mmeCols = 128;
  /// MACs per PE per cycle for f32 relative to bf16 (1.0 = full rate).
  double mmeF32Rate = 1.0;
  /// Cycles to fill and drain the array once per tile.
  int64_t mmeFillCycles = 0;
  /// Products on the matrix engines run at bf16 (their rate here; bf16
  /// operands with f32 accumulation in AccelExec); from
  /// accel-attach-device{mme-type=bf16}.
  bool mmeBf16 = false;
  // Vector cores.
  int64_t tpcCount = 1;
  int64_t tpcSimdBytes = 256;
  int64_t tpcLocalMemoryBytes = 80 * 1024;
  /// Fixed cost of starting a kernel on a core (per tile).
  int64_t tpcStartupCycles = 0;
  /// Vector instructions per element of a row softmax / layer norm (max,
  /// subtract, exp, sum, divide...), per element of a reduction, and the
  /// extra cost of a transcendental (exp, tanh, erf) over one instruction.
  double tpcSoftmaxOpsPerElement = 10;
  double tpcLayerNormOpsPerElement = 8;
  double tpcTranscendentalOps = 4;
  // Memories and data movement.
  int64_t sramBytes = 24 << 20;
  int64_t hbmBytes = int64_t(32) << 30;
  double hbmBytesPerCycle = 512;
  int64_t hbmLatencyCycles = 500;
  int64_t dmaCount = 2;
  double dmaBytesPerCycle = 256;
  /// Sparse engine (programmable logic of a Versal-like device; 0 = none):
  /// non-zeros times features it multiplies and adds per cycle.
  double sparseMacsPerCycle = 0;
  int64_t sparseStartupCycles = 0;

  int64_t tpcLanesF32() const {
    return tpcSimdBytes / 4 > 0 ? tpcSimdBytes / 4 : 1;
  }
};

/// The engine kinds that have timelines.
enum class EngineKind { MME, TPC, DMA, HBM, Sparse };
const char *engineKindName(EngineKind kind);

/// What one engine op does (the `accel` dialect's ops, lib/Target/Accel/IR).
enum class OpKind {
  MmeMatmul,      ///< [tm x tk] * [tk x tn] per tile on a matrix engine
  TpcMatmul,      ///< the same on a vector core
  TpcElementwise, ///< `elements` elements, `opsPerElement` instructions each
  TpcSoftmax,     ///< `rows` rows of `cols`
  TpcLayerNorm,   ///< `rows` rows of `cols`
  TpcReduce,      ///< `elements` inputs
  DmaLoad,        ///< `bytes` HBM -> SRAM per tile
  DmaStore,       ///< `bytes` SRAM -> HBM per tile
  SparseSpMM, ///< `nnz` non-zeros times `cols` features on the sparse engine
};
const char *opKindName(OpKind kind);

/// One engine op of a program: `tiles` identical tiles. The sizes are those
/// of one tile. Ops of the same `group` (one compute op with its loads and
/// stores) depend on each other tile by tile: compute tile i needs load tile
/// i, store tile i needs compute tile i, and load tile i needs compute tile
/// i - `buffers` * E done, E the number of engines of the compute op's kind
/// (each has `buffers` buffers: 2 = double buffering). Every other
/// dependency is on the whole op.
struct Op {
  OpKind kind = OpKind::TpcElementwise;
  std::string name;
  std::vector<int> deps; ///< indices of earlier ops
  int group = -1;
  int64_t tiles = 1;
  int64_t buffers = 2;
  // Per tile:
  int64_t m = 0, n = 0, k = 0;
  int64_t rows = 0, cols = 0;
  int64_t elements = 0;
  double opsPerElement = 1;
  int64_t bytes = 0;
  int64_t nnz = 0;
  bool f32 = true;
  /// Per tile, where tiles differ (empty: every tile has the sizes above):
  /// a sparse aggregation's blocks of output rows each cost their own
  /// non-zeros, `tileNnz[i]` (SparseSpMM) or `tileElements[i]` multiply-adds
  /// (TpcReduce); `nnz` / `elements` above are then the average tile's.
  std::vector<int64_t> tileNnz, tileElements;
  /// What the op computes (an index into the ExecOps given to execute(),
  /// AccelExec.h; -1: timing only). A transfer names its group's compute op.
  int exec = -1;
};

struct Program {
  std::vector<Op> ops;
};

/// Cycles from the start of one tile of `op` to its completion (DMA: the HBM
/// latency plus the transfer; the engine itself is busy dmaBusyCycles and
/// HBM hbmCycles). Matrix engine: ceil(m/rows) * ceil(n/cols)
/// passes of k cycles each (divided by mmeF32Rate for f32) plus the fill;
/// vector core: instructions / lanes plus the start-up.
int64_t tileCycles(const Device &device, const Op &op);
/// Cycles of tile `tile` of `op`: its own sizes where the op has per-tile
/// ones (Op::tileNnz, Op::tileElements), else tileCycles(device, op).
int64_t tileCycles(const Device &device, const Op &op, int64_t tile);
/// Cycles one DMA tile occupies HBM.
int64_t hbmCycles(const Device &device, int64_t bytes);
/// Cycles one DMA tile occupies its engine: the transfer at the slower of the
/// engine's and HBM's bandwidth.
int64_t dmaBusyCycles(const Device &device, int64_t bytes);
/// The engine an op kind runs on.
EngineKind engineOf(OpKind kind);

/// One interval on one engine's timeline.
struct Slice {
  int op;
  int64_t tile;
  int64_t start, end;
  /// The EngineKind this tile waited for before it could start (its input's
  /// producer, or whose transfer held HBM); -1: nothing.
  int cause = -1;
};

struct EngineTimeline {
  std::string name; ///< "MME0", "TPC3", "DMA1", "HBM"
  EngineKind kind;
  std::vector<Slice> slices;
  int64_t busyCycles = 0;
  /// Cycles this engine sat idle with work ready except for an input that
  /// another engine kind was still producing, by that kind. A transfer of
  /// another group counts as the work of that group's compute engine (the
  /// matrix engine waiting for a softmax's results to come back from HBM
  /// waits on the vector cores); a transfer of the op's own group counts as
  /// whatever held it up (DMA, HBM, or the producer of what it loads).
  int64_t waitCycles[5] = {0, 0, 0, 0, 0};
};

struct Result {
  int64_t totalCycles = 0;
  double timeUs = 0;
  std::vector<EngineTimeline> engines;
  int64_t bytesLoaded = 0, bytesStored = 0;
  /// Per op: start of its first tile, end of its last.
  std::vector<int64_t> opStart, opEnd;
  /// Fraction of the total time the matrix engines (together: any of them
  /// busy counts as busy) sat idle waiting on vector-core work.
  double mmeWaitShareOnTpc = 0;
  /// Fraction of the total time in which no matrix engine is busy while at
  /// least one vector core is: the MMEs idle while vector-core work runs.
  double mmeIdleWhileTpcBusy = 0;
};

/// Simulates `program` on `device`. Ops must be in an order in which every
/// dependency comes first (the accel-schedule pass's order); returns false
/// with `error` otherwise. Tiles are placed in program order, each in the
/// earliest gap of an engine of its kind at or after the time its inputs
/// are ready (engines keep calendars, so a later op can use an idle gap an
/// earlier one left); idle time before a tile is charged to what it waited
/// for (EngineTimeline::waitCycles).
bool simulate(const Device &device, const Program &program, Result &result,
              std::string &error);

/// Busy fraction of an engine over the whole run.
double busyFraction(const Result &result, const EngineTimeline &engine);

/// Chrome trace event JSON (Perfetto, chrome://tracing): one track per
/// engine, one event per tile, microseconds at the device clock.
std::string chromeTrace(const Device &device, const Program &program,
                        const Result &result);

} // namespace accel
} // namespace lathe

#endif // LATHE_RUNTIME_ACCELSIM_H
