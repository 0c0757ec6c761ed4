//===- Train.h - lathe-train: compile a training step and run it -*- C++
//-*-===//

#ifndef LATHE_DRIVER_TRAIN_H
#define LATHE_DRIVER_TRAIN_H

#include <cstdint>
#include <string>
#include <vector>

namespace mlir {
class DialectRegistry;
namespace lathe {

struct TrainOptions {
  std::string inputFile;
  /// Without a @loss function: build it from @main with this loss
  /// (cross-entropy or mse); empty: the module must have @loss.
  std::string loss;
  /// Name of the labels dataset (with --loss).
  std::string labels = "labels";
  /// Weights that are not trained (with --loss): buffers such as masks.
  std::vector<std::string> frozen;
  /// Initial parameters (datasets named after the parameters); empty: the
  /// weights' own files (`lathe.init`), else seeded initialisation.
  std::string paramsFile;
  std::string dataFile;
  std::string valDataFile;
  int64_t batch = 32;
  int64_t epochs = 1;
  /// When > 0, train this many steps instead of `epochs` epochs.
  int64_t steps = 0;
  std::string optimizer = "adamw";
  double lr = 1e-3;
  double minLr = 0.0;
  /// "constant" or "cosine" (warm-up + cosine decay to min-lr).
  std::string schedule = "constant";
  int64_t warmupSteps = 0;
  double momentum = 0.9;
  double weightDecay = 0.01;
  double clipNorm = 0.0;
  uint64_t seed = 0;
  /// Shuffle the samples every epoch (seeded); false: in file order.
  bool shuffle = true;
  std::string savePath;
  /// Directory of `checkpoint.h5` (parameters, optimizer state, the next
  /// step), replaced atomically every `checkpointEvery` steps (0: at the end
  /// of every epoch).
  std::string checkpointDir;
  int64_t checkpointEvery = 0;
  /// Continue from `checkpointDir`'s checkpoint.
  bool resume = false;
  std::string logPath;
  /// Chrome trace of the first `traceSteps` steps (kernel calls and regions
  /// of generated code, as lathe-run --trace), or "".
  std::string tracePath;
  int64_t traceSteps = 10;
  int threads = 0;
  bool threadsGiven = false;
  std::string targetCpu = "host";
  /// A JSON target description (lathe-calibrate's) attached as the module's
  /// #lathe.target before anything runs; empty: the CPU's shipped tables.
  std::string targetFile;
  /// Compile without reading or writing the compile cache (lathe-run's:
  /// $LATHE_CACHE_DIR, else $XDG_CACHE_HOME/lathe, else ~/.cache/lathe).
  bool noCache = false;
  /// Ranks of sharded data parallelism (Open MPI processes; lathe-train
  /// starts itself under mpirun when it was not); 1: one process.
  int64_t ranks = 1;
  /// Ranks per node (0: all on one node): the grid's second axis, the intra-
  /// node hop of two-level collectives.
  int64_t ranksPerNode = 0;
  /// How weights and gradients travel: fp32, sdp4bit (4-bit weight
  /// differences + two-hop 8/4-bit gradients with Hadamard smoothing), qw
  /// (4-bit weights, SDP4Bit's ablation), zeropp (ZeRO++: 8-bit weights,
  /// 4-bit gradients on both hops).
  std::string comm = "fp32";
  /// Sequence parallelism (DeepSpeed-Ulysses) over the `ranks` instead of
  /// data parallelism: every rank holds the whole parameters and the whole
  /// batch, @loss is sharded along dimension 1 of its first batch argument
  /// by seqshard-ulysses before differentiation, and the parameter
  /// gradients are all-reduced (summed) over the ranks.
  bool seqParallel = false;
  /// Gradient accumulation on one rank: every batch is split into this many
  /// equal parts (the model's batch is one part; lathe-make-train-step's
  /// micro-batches) whose gradients and losses are added in order, then
  /// divided by it.
  int64_t microBatches = 1;
  /// Bit-reproducible arithmetic: the runtime's reduce-scatter and
  /// all-reduce add in world rank order (lathe_rt_comm_set_deterministic),
  /// the CPU pipeline runs with fp-reassoc=false fp-contract=false, and each
  /// rank runs one thread unless `threads` is given. Then --ranks=N (fp32,
  /// no clipping) gives the losses of --micro-batches=N on one rank, bit for
  /// bit.
  bool deterministic = false;
  /// memred-raise-attention's min-scores, before lathe-differentiate and in
  /// the CPU pipeline: attention with at least this many scores (Lq·Lk) per
  /// batch element becomes memred.attention, whose backward
  /// (memred.attention_grad) never stores the L x L scores; 0 raises all.
  int64_t attentionMinScores = 262144;
  /// The command line's arguments (without the program), to restart under
  /// mpirun.
  std::vector<std::string> commandLine;
};

/// Runs lathe-train; returns the process exit code.
int trainMain(const TrainOptions &options, DialectRegistry &registry);

} // namespace lathe
} // namespace mlir

#endif // LATHE_DRIVER_TRAIN_H
