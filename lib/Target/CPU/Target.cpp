//===- Target.cpp - The CPU target's shipped default ----------------------===//
//
// The cost tables a module without `#lathe.target` gets. Each table is what
// one consumer reads (docs/Architecture.md, "The target in the IR"); a
// calibrated target description (lathe-calibrate) replaces them per table.
//
//===----------------------------------------------------------------------===//

#include "lathe/Target/CPU/Target.h"

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Interfaces/Target.h"
#include "lathe/runtime/Sparse.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/ErrorHandling.h"

using namespace mlir;
using namespace mlir::lathe;

namespace {

/// lowrank-select-ranks' latency table: the JSON target description that
/// scripts/recalibrate_cpu_target.py generates from lathe-calibrate
/// measurements (a fitted roofline plus the measured rows); see
/// docs/Dialects/LowRank.md, "The cost model".
DictionaryAttr lowRankTable(Builder &b) {
  static const char kJson[] =
#include "CpuLowRankTable.inc"
      ;
  std::string error;
  FailureOr<DictionaryAttr> table =
      parseCostTable(b.getContext(), kJson, error);
  if (failed(table))
    llvm::report_fatal_error(
        llvm::Twine("lib/Target/CPU/CpuLowRankTable.inc: ") + error);
  return *table;
}

/// sparsegcn-tile's rates, measured on this machine (2 cores of an AVX-512
/// Xeon, 48 KiB L1d and 2 MiB L2 per core, Debian 12, oneDNN 2.6.3) by
///   /usr/bin/python3 bench/sparsegcn.py --calibrate --threads 1
/// which times the runtime's own kernels through ctypes, on 64-byte-aligned
/// X and Y as the runtime's allocator hands them to compiled code: for every
/// tile size T and width F, interleaved, the tiled kernel on a block-diagonal
/// matrix of fully dense T x T tiles (its dense engine: oneDNN sgemm on
/// gathered blocks) and on random 50%-dense T x T diagonal tiles classified
/// sparse (its sparse engine, the CSR kernel, on block-local non-zeros); then
/// the CSR kernel on random graphs. Rates are GFLOP/s of useful work (2·T²·F
/// resp. 2·nnz·F per second), one calibration run of 2026-11-27 23:32 UTC
/// with --threads 1 (the 2-core machine was shared with other builds, load
/// average 10: absolute rates carry +-30% noise, the dense/sparse ratio of a
/// cell, timed interleaved, about +-7% between runs). One thread: both
/// engines split the same tile rows over threads, so their ratio does not
/// depend on the count. Re-run the calibration and paste its table here when
/// the machine or the kernels change.
DictionaryAttr sparseGCNTable(Builder &b) {
  // clang-format off
  static const int64_t tileSizes[] = {32, 64, 128, 256};
  static const int64_t widths[] = {16, 32, 64, 128, 256};
  static const double gemm[] = {
      // F =       16     32     64    128    256
      /*T=32 */  39.4,  68.5,  75.9,  90.6,  98.5,
      /*T=64 */  78.8,  84.2, 106.4, 117.5, 121.4,
      /*T=128*/  97.1, 130.5, 133.3, 143.5, 113.4,
      /*T=256*/ 116.1, 148.5, 145.2, 146.7, 117.9,
  };
  // Random 50%-dense T x T diagonal tiles (4096 nodes).
  static const double spmmLocal[] = {
      /*T=32 */  42.3,  61.4,  59.1,  64.4,  67.8,
      /*T=64 */  47.3,  50.9,  73.4,  76.8,  65.7,
      /*T=128*/  48.3,  71.1,  88.1,  72.6,  44.0,
      /*T=256*/  55.8,  79.0,  74.4,  51.6,  28.4,
  };
  // Random graphs of degree 8: 2048 nodes (X in the cache), 16384 (streamed).
  static const double spmmResident[] = {31.7, 42.4, 45.4, 42.5, 27.5};
  static const double spmmStreamed[] = {16.1, 22.6, 18.7, 13.1, 10.8};
  // The micro-tile engine (LATHE_SPMM_MICRO) on a 2048-node matrix of full
  // 4 x 4 tiles (10 per tile row, 82k non-zeros), and the CSR kernel on the
  // same non-zeros, timed interleaved by
  //   /usr/bin/python3 bench/sparsegcn.py --calibrate-micro --threads 1
  // (2026-12-07 07:16 UTC, one thread, load average 25): GFLOP/s of 2·nnz·F.
  // Break-even densities 0.75-1.01 (with the safety margin: only tiles with
  // at least 14 or all 16 entries stored go to the micro-tile engine).
  static const double microGemm[] = {98.8, 106.7, 155.7, 121.9, 85.2};
  static const double microCsr[] = {77.9, 104.3, 117.1, 123.2, 76.3};
  // The row-group engine (LATHE_SPMM_ROW_GROUPS) on 2048-node matrices cut
  // into full groups of g = 2, 3, 4 consecutive rows sharing 40 random
  // columns (~82k non-zeros), and the CSR kernel on the same non-zeros,
  // timed interleaved by
  //   /usr/bin/python3 bench/sparsegcn.py --calibrate-groups --threads 1
  // (2026-12-07 09:41 UTC, one thread, load average 10): GFLOP/s of
  // 2·nnz·F, [g - 2][width]. Break-even densities 0.59-0.93 (g = 2 the
  // highest: with the safety margin groups must be 84-100 % full).
  static const double groupGemm[] = {
      /*g=2*/  89.9,  91.9, 126.4, 120.7,  81.4,
      /*g=3*/ 113.4, 123.6, 156.8, 142.3,  93.4,
      /*g=4*/ 122.9, 129.2, 169.5, 149.0, 104.9,
  };
  static const double groupCsr[] = {
      /*g=2*/  67.8,  85.0,  92.4,  91.8,  67.8,
      /*g=3*/  71.4,  93.7, 104.2, 103.1,  74.6,
      /*g=4*/  72.7,  98.1, 109.9, 108.0,  80.9,
  };
  // clang-format on
  return b.getDictionaryAttr({
      b.getNamedAttr("tile_sizes", b.getDenseI64ArrayAttr(tileSizes)),
      b.getNamedAttr("widths", b.getDenseI64ArrayAttr(widths)),
      b.getNamedAttr("gemm_gflops", b.getDenseF64ArrayAttr(gemm)),
      b.getNamedAttr("spmm_local_gflops", b.getDenseF64ArrayAttr(spmmLocal)),
      b.getNamedAttr("spmm_resident_gflops",
                     b.getDenseF64ArrayAttr(spmmResident)),
      b.getNamedAttr("spmm_streamed_gflops",
                     b.getDenseF64ArrayAttr(spmmStreamed)),
      // L2 per core of the calibration machine (2 MiB).
      b.getNamedAttr("cache_bytes", b.getI64IntegerAttr(int64_t(2) << 20)),
      // A tile goes to the GEMM only when predicted >= 15% faster there:
      // twice the run-to-run spread of the measured ratios.
      b.getNamedAttr("safety_margin", b.getF64FloatAttr(1.15)),
      b.getNamedAttr("micro_tile",
                     b.getI64IntegerAttr(int64_t(LATHE_SPMM_MICRO_TILE))),
      b.getNamedAttr("micro_gflops", b.getDenseF64ArrayAttr(microGemm)),
      b.getNamedAttr("micro_csr_gflops", b.getDenseF64ArrayAttr(microCsr)),
      b.getNamedAttr("row_group_max",
                     b.getI64IntegerAttr(int64_t(LATHE_SPMM_ROW_GROUP_MAX))),
      b.getNamedAttr("row_group_gflops", b.getDenseF64ArrayAttr(groupGemm)),
      b.getNamedAttr("row_group_csr_gflops", b.getDenseF64ArrayAttr(groupCsr)),
  });
}

/// memred's attention kernel: `workers` blocks of scores in flight (the
/// runtime's team on this project's 2-core machine), and the per-batch
/// score count (Lq·Lk) from which the CPU pipeline raises attention to
/// memred.attention (below it, matmul + softmax through oneDNN is faster).
DictionaryAttr memRedTable(Builder &b) {
  return b.getDictionaryAttr({
      b.getNamedAttr("workers", b.getI64IntegerAttr(2)),
      b.getNamedAttr("attention_min_scores", b.getI64IntegerAttr(262144)),
  });
}

} // namespace

DictionaryAttr mlir::lathe::getCpuDefaultTables(MLIRContext *context) {
  Builder b(context);
  return b.getDictionaryAttr({
      b.getNamedAttr("lowrank", lowRankTable(b)),
      b.getNamedAttr("memred", memRedTable(b)),
      b.getNamedAttr("sparsegcn", sparseGCNTable(b)),
  });
}

void mlir::lathe::registerCpuTarget() {
  TargetDefault cpu;
  cpu.name = kDefaultTargetName.str();
  cpu.threads = 0;
  cpu.features = {"avx512f"};
  cpu.tables = getCpuDefaultTables;
  registerTargetDefault(std::move(cpu));
}
