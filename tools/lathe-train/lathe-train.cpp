//===- lathe-train.cpp - Train a model compiled by Lathe ------------------===//
//
// Parses flags and hands them to the driver library (lib/Driver/Train.cpp).
//
//===----------------------------------------------------------------------===//

#include "lathe/Driver/Train.h"
#include "lathe/InitAllDialects.h"
#include "lathe/InitAllPasses.h"
#include "lathe/Support/ToolInfo.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"

namespace cl = llvm::cl;

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  mlir::lathe::initTool("lathe-train", mlir::lathe::ToolOwns::Threads);
  static cl::OptionCategory modelCat("Model and data");
  static cl::OptionCategory optimCat("Optimization");
  static cl::OptionCategory saveCat("Checkpoints, weights and logs");
  static cl::OptionCategory runCat("Execution and ranks");
  mlir::lathe::TrainOptions d;
  cl::opt<std::string> inputFile(
      cl::Positional, cl::desc("<model .mlir: @loss, or @main with --loss>"),
      cl::Required, cl::cat(modelCat));
  cl::opt<std::string> loss(
      "loss",
      cl::desc("Build @loss from @main: cross-entropy (logits, i64 labels) "
               "or mse"),
      cl::cat(modelCat));
  cl::opt<std::string> labels("labels",
                              cl::desc("Dataset of the labels (with --loss)"),
                              cl::init(d.labels), cl::cat(modelCat));
  cl::list<std::string> freeze(
      "freeze",
      cl::desc("Weights not to train (with --loss), e.g. buffers such as an "
               "attention mask: dataset names, comma-separated"),
      cl::CommaSeparated, cl::cat(modelCat));
  cl::opt<std::string> params(
      "params",
      cl::desc("Initial parameters: HDF5 with one dataset per parameter "
               "(default: the weights' own files, else seeded Glorot)"),
      cl::cat(modelCat));
  cl::opt<std::string> data(
      "data",
      cl::desc("Training data: HDF5 with one dataset per batch argument, "
               "samples along dimension 0"),
      cl::cat(modelCat));
  cl::opt<std::string> valData(
      "val-data", cl::desc("Validation data (same datasets), after each epoch"),
      cl::cat(modelCat));
  cl::opt<int64_t> batch("batch", cl::desc("Samples per step"),
                         cl::init(d.batch), cl::cat(modelCat));
  cl::opt<int64_t> epochs("epochs", cl::desc("Passes over the data"),
                          cl::init(d.epochs), cl::cat(modelCat));
  cl::opt<int64_t> steps("steps",
                         cl::desc("Train this many steps instead of --epochs"),
                         cl::init(0), cl::cat(modelCat));
  cl::opt<std::string> optimizer("optimizer", cl::desc("adamw or sgd"),
                                 cl::init(d.optimizer), cl::cat(optimCat));
  cl::opt<double> lr("lr", cl::desc("Learning rate (peak)"), cl::init(d.lr),
                     cl::cat(optimCat));
  cl::opt<double> minLr("min-lr", cl::desc("Final learning rate (cosine)"),
                        cl::init(d.minLr), cl::cat(optimCat));
  cl::opt<std::string> schedule(
      "schedule", cl::desc("constant, or cosine (warm-up then cosine decay)"),
      cl::init(d.schedule), cl::cat(optimCat));
  cl::opt<int64_t> warmup("warmup-steps", cl::desc("Warm-up steps (cosine)"),
                          cl::init(0), cl::cat(optimCat));
  cl::opt<double> momentum("momentum", cl::desc("SGD momentum"),
                           cl::init(d.momentum), cl::cat(optimCat));
  cl::opt<double> weightDecay("weight-decay", cl::desc("Weight decay"),
                              cl::init(d.weightDecay), cl::cat(optimCat));
  cl::opt<double> clipNorm("clip-norm",
                           cl::desc("Clip gradients to this global norm (0: "
                                    "off)"),
                           cl::init(0.0), cl::cat(optimCat));
  cl::opt<uint64_t> seed("seed",
                         cl::desc("Seed of the initialisation and data order"),
                         cl::init(0), cl::cat(modelCat));
  cl::opt<bool> shuffle(
      "shuffle",
      cl::desc("Shuffle the samples every epoch (default true; "
               "--shuffle=false: in file order)"),
      cl::init(true), cl::cat(modelCat));
  cl::opt<std::string> save(
      "save", cl::desc("Write the trained parameters to this HDF5 file"),
      cl::cat(saveCat));
  cl::opt<std::string> checkpoint(
      "checkpoint",
      cl::desc("Directory for checkpoint.h5 (parameters, optimizer state, "
               "step), replaced atomically"),
      cl::cat(saveCat));
  cl::opt<int64_t> checkpointEvery(
      "checkpoint-every",
      cl::desc("Steps between checkpoints (default 0: every epoch)"),
      cl::init(0), cl::cat(saveCat));
  cl::opt<bool> resume("resume",
                       cl::desc("Continue from --checkpoint's checkpoint"),
                       cl::cat(saveCat));
  cl::opt<std::string> logFile(
      "log", cl::desc("JSON lines: one object per step, one per validation"),
      cl::cat(saveCat));
  cl::opt<std::string> trace(
      "trace",
      cl::desc("Chrome trace (Perfetto) of the first --trace-steps steps: one "
               "event per step, per kernel call and per region of generated "
               "code, as lathe-run --trace"),
      cl::value_desc("trace.json"), cl::cat(saveCat));
  cl::opt<int64_t> traceSteps("trace-steps",
                              cl::desc("Steps --trace records (default 10)"),
                              cl::init(d.traceSteps), cl::cat(saveCat));
  cl::opt<int> threads("threads", cl::desc("Threads (>= 1)"), cl::init(0),
                       cl::cat(runCat));
  cl::opt<int64_t> ranks(
      "ranks",
      cl::desc("Sharded data parallelism over N ranks (Open MPI processes; "
               "started under mpirun when needed)"),
      cl::init(d.ranks), cl::cat(runCat));
  cl::opt<int64_t> ranksPerNode(
      "ranks-per-node",
      cl::desc("Ranks per node: the intra-node hop of two-level collectives "
               "(default: all ranks on one node)"),
      cl::init(d.ranksPerNode), cl::cat(runCat));
  cl::opt<std::string> comm(
      "comm",
      cl::desc("Communication of weights and gradients: fp32, sdp4bit, qw or "
               "zeropp"),
      cl::init(d.comm), cl::cat(runCat));
  cl::opt<bool> seqParallel(
      "seq-parallel",
      cl::desc("With --ranks=P: sequence parallelism (DeepSpeed-Ulysses, "
               "seqshard-ulysses{degree=P}) instead of data parallelism: "
               "every rank holds the whole parameters and batch and 1/P of "
               "the sequence (dimension 1 of the first data argument)"),
      cl::init(false), cl::cat(runCat));
  cl::opt<int64_t> microBatches(
      "micro-batches",
      cl::desc("Gradient accumulation: split every batch into N equal parts "
               "(the model's batch is one part), add their gradients and "
               "losses in order, then divide by N (one rank only)"),
      cl::init(d.microBatches), cl::cat(runCat));
  cl::opt<bool> deterministic(
      "deterministic",
      cl::desc("Bit-reproducible arithmetic: collectives add in rank order, "
               "no floating-point reassociation or contraction in generated "
               "code, one thread per rank unless --threads is given; "
               "--ranks=N equals --micro-batches=N on one rank, loss for "
               "loss"),
      cl::init(false), cl::cat(runCat));
  cl::opt<int64_t> attentionMinScores(
      "attention-min-scores",
      cl::desc("Fuse attention with at least this many scores (Lq*Lk) per "
               "batch and head into memred.attention before differentiation: "
               "its backward recomputes the scores block by block instead of "
               "storing them (0: all attention; default 262144 = 512x512)"),
      cl::init(d.attentionMinScores), cl::cat(runCat));
  cl::opt<bool> noCache(
      "no-cache",
      cl::desc("Always compile; do not read or write the compile cache "
               "($LATHE_CACHE_DIR, else $XDG_CACHE_HOME/lathe, else "
               "~/.cache/lathe)"),
      cl::init(false), cl::cat(runCat));
  cl::opt<std::string> targetCpu("target-cpu",
                                 cl::desc("host (default) or an LLVM CPU name"),
                                 cl::init("host"), cl::cat(runCat));
  cl::opt<std::string> targetFile(
      "target",
      cl::desc("Attach this JSON target description (lathe-calibrate's) as "
               "the module's #lathe.target: passes price kernels with its "
               "tables (default: the CPU's shipped ones)"),
      cl::value_desc("FILE.json"), cl::cat(runCat));

  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  mlir::lathe::registerAllPasses();
  mlir::lathe::parseToolOptions(
      argc, argv, {&modelCat, &optimCat, &saveCat, &runCat},
      "lathe-train: train a model compiled by Lathe\n\n"
      "  lathe-train model.mlir --data=train.h5 --epochs=3 --save=w.h5\n\n"
      "Exit status: 0 trained; 1 bad input, compile error, or a loss or\n"
      "gradient that is no longer finite (the message names the step and\n"
      "the parameter).\n");

  mlir::DialectRegistry registry = mlir::lathe::makeRegistry();

  mlir::lathe::TrainOptions o;
  o.inputFile = inputFile;
  o.loss = loss;
  o.labels = labels;
  o.frozen.assign(freeze.begin(), freeze.end());
  o.paramsFile = params;
  o.dataFile = data;
  o.valDataFile = valData;
  o.batch = batch;
  o.epochs = epochs;
  o.steps = steps;
  o.optimizer = optimizer;
  o.lr = lr;
  o.minLr = minLr;
  o.schedule = schedule;
  o.warmupSteps = warmup;
  o.momentum = momentum;
  o.weightDecay = weightDecay;
  o.clipNorm = clipNorm;
  o.seed = seed;
  o.shuffle = shuffle;
  o.savePath = save;
  o.logPath = logFile;
  o.tracePath = trace;
  o.traceSteps = traceSteps;
  o.checkpointDir = checkpoint;
  o.checkpointEvery = checkpointEvery;
  o.resume = resume;
  o.threads = threads;
  o.threadsGiven = threads.getNumOccurrences() > 0;
  o.targetCpu = targetCpu;
  o.targetFile = targetFile;
  o.noCache = noCache;
  o.ranks = ranks;
  o.ranksPerNode = ranksPerNode;
  o.comm = comm;
  o.seqParallel = seqParallel;
  o.microBatches = microBatches;
  o.deterministic = deterministic;
  o.attentionMinScores = attentionMinScores;
  o.commandLine.assign(argv + 1, argv + argc);
  return mlir::lathe::trainMain(o, registry);
}
