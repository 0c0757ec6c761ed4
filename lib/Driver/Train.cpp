//===- Train.cpp - lathe-train: compile a training step and run it --------===//
//
// Parse the model; build @loss from @main when asked (lathe-append-loss);
// generate @loss_grad and @loss_train_step (lathe-differentiate,
// lathe-make-train-step); compile the module once with the CPU pipeline;
// then loop over the data in seeded shuffled batches, one call of the step
// per batch, parameters and optimizer state carried from call to call.
// Validation after each epoch calls @loss (and @loss_predict for the
// accuracy). Deterministic: the same seed and data give the same losses.
//
//===----------------------------------------------------------------------===//

#include "lathe/Driver/Train.h"

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Dialect/MemRed/Passes.h"
#include "lathe/Dialect/QComm/Passes.h"
#include "lathe/Driver/CompileCache.h"
#include "lathe/Driver/Executable.h"
#include "lathe/Driver/HostTensors.h"
#include "lathe/Driver/Observe.h"
#include "lathe/Driver/Ranks.h"
#include "lathe/Driver/TargetFile.h"
#include "lathe/Interfaces/FlopsInterface.h"
#include "lathe/Support/ParseGuard.h"
#include "lathe/Support/Progress.h"
#include "lathe/Target/CPU/Pipeline.h"
#include "lathe/Transforms/Passes.h"
#include "lathe/runtime/Comm.h"
#include "lathe/runtime/Runtime.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>
#include <unistd.h>

using namespace mlir;
using namespace mlir::lathe;

namespace {

using Clock = std::chrono::steady_clock;

/// This process's rank in a multi-rank run, else -1.
int64_t worldRank = -1;

int fail(const llvm::Twine &message) {
  llvm::errs() << "lathe-train: "
               << (worldRank >= 0 ? "rank " + std::to_string(worldRank) + ": "
                                  : std::string())
               << "error: " << message << "\n";
  return 1;
}

/// The output of rank 0 (every rank computes the same losses).
llvm::raw_ostream &say() {
  return worldRank > 0 ? llvm::nulls() : llvm::outs();
}

/// "[1, 0]" from Comm.h's packed group.
llvm::json::Array groupAxes(int64_t group) {
  llvm::json::Array axes;
  for (int64_t k = 0; k < (group & 15); ++k)
    axes.push_back((group >> (4 + 4 * k)) & 15);
  return axes;
}

/// A function argument as the driver sees it.
struct Arg {
  std::string name;
  RankedTensorType type;
  bool param = false;
  ExternalWeightAttr init;
};

std::string argName(func::FuncOp fn, unsigned i) {
  for (StringRef attr : {"lathe.name", "onnx.name"})
    if (auto name = fn.getArgAttrOfType<StringAttr>(i, attr))
      return name.str();
  return "arg" + std::to_string(i);
}

/// "file.h5" + "name" -> "file.h5:/name" (a name may start with '/').
std::string datasetSpec(StringRef file, StringRef name) {
  return (file + ":" + (name.starts_with("/") ? "" : "/") + name).str();
}

bool allocTensor(HostTensor &t, lathe_dtype dtype, ArrayRef<int64_t> shape,
                 std::string &error) {
  if (lathe_host_tensor_alloc(&t.t, dtype, shape.size(), shape.data()) !=
      LATHE_OK) {
    error = lathe_rt_last_error();
    return false;
  }
  return true;
}

/// Glorot-uniform for rank >= 2 (fans from the first two dimensions times
/// the receptive field), zeros for biases and gains (rank < 2).
void initParam(HostTensor &t, uint64_t seed) {
  auto *p = static_cast<float *>(t.t.data);
  int64_t n = t.numElements();
  if (t.t.rank < 2) {
    std::fill(p, p + n, 0.0f);
    return;
  }
  double field = 1;
  for (int r = 2; r < t.t.rank; ++r)
    field *= t.t.shape[r];
  double limit = std::sqrt(6.0 / ((t.t.shape[0] + t.t.shape[1]) * field));
  std::mt19937_64 rng(seed);
  for (int64_t i = 0; i < n; ++i)
    p[i] = float((double(rng() >> 11) * 0x1.0p-53 * 2 - 1) * limit);
}

/// Host-side copy of train.warmup_cosine (for the log).
double learningRate(const TrainOptions &o, int64_t step, int64_t total) {
  if (o.schedule != "cosine")
    return o.lr;
  double s = double(step), warm = double(o.warmupSteps);
  if (s < warm)
    return o.lr * (s + 1) / std::max(warm, 1.0);
  double progress = std::min(1.0, (s - warm) / std::max(1.0, total - warm));
  return o.minLr + 0.5 * (o.lr - o.minLr) * (1 + std::cos(M_PI * progress));
}

bool allFinite(const HostTensor &t) {
  if (t.t.dtype != LATHE_F32)
    return true;
  const auto *p = static_cast<const float *>(t.t.data);
  for (int64_t i = 0, n = t.numElements(); i < n; ++i)
    if (!std::isfinite(p[i]))
      return false;
  return true;
}

/// Copies rows `order[first .. first + rows)` of `src` into `dst`.
void gatherRows(const HostTensor &src, const std::vector<int64_t> &order,
                int64_t first, int64_t rows, HostTensor &dst) {
  size_t rowBytes = src.numBytes() / std::max<int64_t>(src.t.shape[0], 1);
  const char *from = static_cast<const char *>(src.t.data);
  char *to = static_cast<char *>(dst.t.data);
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(to + r * rowBytes, from + order[first + r] * rowBytes,
                rowBytes);
}

} // namespace

int mlir::lathe::trainMain(const TrainOptions &o, DialectRegistry &registry) {
  if (o.batch < 1)
    return fail("--batch must be >= 1, got " + llvm::Twine(o.batch));
  if (!o.tracePath.empty() && o.traceSteps < 1)
    return fail("--trace-steps must be at least 1, got " +
                llvm::Twine(o.traceSteps));
  if (o.steps < 0 || (o.steps == 0 && o.epochs < 1))
    return fail("--epochs must be >= 1 (or --steps >= 1)");
  if (o.optimizer != "adamw" && o.optimizer != "sgd")
    return fail("--optimizer=" + o.optimizer + ": expected adamw or sgd");
  if (o.schedule != "constant" && o.schedule != "cosine")
    return fail("--schedule=" + o.schedule + ": expected constant or cosine");
  if (!(o.lr > 0))
    return fail("--lr must be > 0");
  if (o.threadsGiven && o.threads < 1)
    return fail("--threads must be at least 1, got " + llvm::Twine(o.threads));
  if (o.dataFile.empty())
    return fail("--data=FILE.h5 is required (datasets named after the batch "
                "arguments, first dimension = samples)");
  if (o.resume && o.checkpointDir.empty())
    return fail("--resume needs --checkpoint=DIR");
  if (o.checkpointEvery < 0)
    return fail("--checkpoint-every must be >= 0");
  if (o.attentionMinScores < 0)
    return fail("--attention-min-scores must be >= 0, got " +
                llvm::Twine(o.attentionMinScores));
  if (!o.loss.empty() && o.loss != "cross-entropy" && o.loss != "mse")
    return fail("--loss=" + o.loss + ": expected cross-entropy or mse");
  if (o.ranks < 1)
    return fail("--ranks must be >= 1, got " + llvm::Twine(o.ranks));
  int64_t perNode = o.ranksPerNode > 0 ? o.ranksPerNode : o.ranks;
  if (o.ranksPerNode < 0 || o.ranks % perNode != 0)
    return fail("--ranks-per-node=" + llvm::Twine(o.ranksPerNode) +
                " must divide --ranks=" + llvm::Twine(o.ranks));
  if (o.comm != "fp32" && o.comm != "sdp4bit" && o.comm != "qw" &&
      o.comm != "zeropp")
    return fail("--comm=" + o.comm + ": expected fp32, sdp4bit, qw or zeropp");
  if (o.seqParallel && o.comm != "fp32")
    return fail("--seq-parallel shards the sequence and keeps the whole "
                "parameters on every rank; --comm=" +
                o.comm +
                " quantizes the weights and gradients of sharded data "
                "parallelism: use one or the other");
  if (o.seqParallel && o.ranksPerNode > 0)
    return fail("--ranks-per-node is for sharded data parallelism; "
                "--seq-parallel shards the sequence over one flat group of "
                "--ranks=" +
                llvm::Twine(o.ranks) + " ranks");
  if (!o.seqParallel && o.batch % o.ranks != 0)
    return fail("--batch=" + llvm::Twine(o.batch) +
                " must be a multiple of --ranks=" + llvm::Twine(o.ranks) +
                " (each rank takes an equal part of every batch)");
  if (o.microBatches < 1)
    return fail("--micro-batches must be >= 1, got " +
                llvm::Twine(o.microBatches));
  if (o.microBatches > 1 && (o.ranks > 1 || o.seqParallel))
    return fail(
        "--micro-batches=" + llvm::Twine(o.microBatches) +
        " splits the batch of one rank; with --ranks=" + llvm::Twine(o.ranks) +
        " the ranks split it already (run --ranks=1 "
        "--micro-batches=N to compute what N ranks compute)");
  if (o.batch % o.microBatches != 0)
    return fail("--batch=" + llvm::Twine(o.batch) +
                " must be a multiple of --micro-batches=" +
                llvm::Twine(o.microBatches));
  // Sharded data parallelism (or, with --seq-parallel, sequence
  // parallelism): the ranks are Open MPI processes. Started without mpirun,
  // lathe-train starts itself under it. `sharded` is data parallelism: the
  // optimizer state is split over the ranks.
  bool sharded = !o.seqParallel && (o.ranks > 1 || o.comm != "fp32");
  if (o.ranks > 1 && !launchedByMpirun()) {
    std::string launchError;
    relaunchUnderMpirun(o.ranks, o.commandLine, launchError);
    return fail(launchError);
  }
  if (sharded || o.ranks > 1 || launchedByMpirun()) {
    if (lathe_rt_comm_init() != 0)
      return fail(llvm::Twine("cannot start the multi-rank runtime: ") +
                  lathe_rt_last_error());
    if (lathe_rt_comm_size() != o.ranks)
      return fail("this run has " + llvm::Twine(lathe_rt_comm_size()) +
                  " process(es) but --ranks=" + llvm::Twine(o.ranks) +
                  ": start it as lathe-train --ranks=N (or mpirun -n N "
                  "lathe-train --ranks=N)");
    if (o.ranks > 1)
      worldRank = lathe_rt_comm_rank();
  }
  // Before the first collective, alike on every rank.
  lathe_rt_comm_set_deterministic(o.deterministic ? 1 : 0);
  bool root = worldRank <= 0;
  // Sequence parallelism: every rank takes the whole batch (and its part of
  // each sequence).
  int64_t localBatch = o.seqParallel ? o.batch : o.batch / o.ranks;
  // The batch the model computes on: one part of the local batch.
  int64_t modelBatch = localBatch / o.microBatches;

  std::string error;
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // Errors name the op; the whole module after them helps no one here.
  context.printOpOnDiagnostic(false);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context);
  // Every rank compiles the same module into the same errors: rank 0 prints
  // them.
  if (worldRank > 0)
    context.getDiagEngine().registerHandler(
        [](Diagnostic &) { return success(); });
  std::string seeAbove =
      worldRank > 0 ? "(rank 0 prints the error)" : "(see the error above)";
  OwningOpRef<ModuleOp> module =
      parseFileOrExit(o.inputFile, &context, sourceMgr, "lathe-train", error);
  if (!module && !error.empty())
    return fail("cannot open '" + o.inputFile + "': " + error);
  if (!module)
    return fail("could not parse or verify '" + o.inputFile + "'");
  // In the IR, so the compile cache's key (the step's IR) covers it.
  std::string targetText;
  if (!o.targetFile.empty() &&
      failed(attachTargetFile(*module, o.targetFile, targetText, error)))
    return fail(error);

  // The loss function: given, or built from @main.
  if (!module->lookupSymbol<func::FuncOp>("loss")) {
    if (o.loss.empty())
      return fail("'" + o.inputFile +
                  "' has no @loss function; pass --loss=cross-entropy or "
                  "--loss=mse to build one from @main");
    PassManager pm = PassManager::on<ModuleOp>(&context);
    LatheAppendLossOptions appendOptions;
    appendOptions.kind =
        o.loss == "mse" ? LossKind::Mse : LossKind::CrossEntropy;
    appendOptions.labels = o.labels;
    appendOptions.frozen.assign(o.frozen.begin(), o.frozen.end());
    pm.addPass(createLatheAppendLoss(appendOptions));
    if (failed(pm.run(*module)))
      return fail("cannot build @loss from @main " + seeAbove);
  } else if (!o.loss.empty()) {
    return fail("--loss given, but '" + o.inputFile +
                "' already has a @loss function");
  }
  auto lossFn = module->lookupSymbol<func::FuncOp>("loss");
  std::vector<Arg> args;
  for (unsigned i = 0; i < lossFn.getNumArguments(); ++i) {
    Arg a;
    a.name = argName(lossFn, i);
    a.type = dyn_cast<RankedTensorType>(lossFn.getArgumentTypes()[i]);
    a.param = bool(lossFn.getArgAttr(i, "lathe.param"));
    if (auto init =
            lossFn.getArgAttrOfType<ExternalWeightAttr>(i, "lathe.init"))
      a.init = init;
    if (!a.type)
      return fail("argument #" + llvm::Twine(i) + " ('" + a.name +
                  "') of @loss is not a ranked tensor");
    if (a.param &&
        (!a.type.hasStaticShape() || !a.type.getElementType().isF32()))
      return fail("parameter '" + a.name +
                  "' must be a static f32 tensor, got " +
                  llvm::Twine(a.type.getRank()) + "-D of another type");
    args.push_back(a);
  }
  std::vector<unsigned> params, batchArgs;
  for (unsigned i = 0; i < args.size(); ++i)
    (args[i].param ? params : batchArgs).push_back(i);
  if (params.empty())
    return fail("@loss has no argument marked lathe.param: nothing to train");
  if (o.seqParallel &&
      (batchArgs.empty() || args[batchArgs.front()].type.getRank() < 2))
    return fail(
        "--seq-parallel shards dimension 1 (the sequence) of @loss's first "
        "data argument, but " +
        (batchArgs.empty()
             ? std::string("@loss has none")
             : "'" + args[batchArgs.front()].name + "' has rank " +
                   std::to_string(args[batchArgs.front()].type.getRank())));

  // Data: one dataset per batch argument, samples along dimension 0.
  auto readData = [&](const std::string &fileName, std::vector<HostTensor> &out,
                      int64_t &samples) -> bool {
    out.clear();
    out.resize(batchArgs.size());
    samples = -1;
    for (auto [k, i] : llvm::enumerate(batchArgs)) {
      const Arg &a = args[i];
      if (!readTensorFile(datasetSpec(fileName, a.name), out[k], error)) {
        error = "data for '" + a.name + "': " + error;
        return false;
      }
      const lathe_host_tensor &t = out[k].t;
      std::optional<lathe_dtype> dtype = dtypeFor(a.type.getElementType());
      if (!dtype || t.rank != a.type.getRank() || t.rank == 0 ||
          t.dtype != *dtype) {
        error = "dataset '" + a.name + "' of '" + fileName +
                "': expected samples of " + std::to_string(a.type.getRank()) +
                "-D " + (dtype ? lathe_dtype_name(*dtype) : "?") +
                " batches, got shape " + shapeString(t) + " " +
                lathe_dtype_name(t.dtype);
        return false;
      }
      for (int r = 1; r < t.rank; ++r)
        if (!a.type.isDynamicDim(r) && a.type.getDimSize(r) != t.shape[r]) {
          error = "dataset '" + a.name + "' of '" + fileName + "' has shape " +
                  shapeString(t) + ", which does not fit the argument's " +
                  "sample shape";
          return false;
        }
      if (samples >= 0 && t.shape[0] != samples) {
        error = "datasets of '" + fileName +
                "' have different numbers of samples (" +
                std::to_string(samples) + " and " + std::to_string(t.shape[0]) +
                " for '" + a.name + "')";
        return false;
      }
      samples = t.shape[0];
    }
    return true;
  };
  std::vector<HostTensor> data, valData;
  int64_t samples = 0, valSamples = 0;
  if (!readData(o.dataFile, data, samples))
    return fail(error);
  for (unsigned i : batchArgs)
    if (!args[i].type.isDynamicDim(0) &&
        args[i].type.getDimSize(0) != modelBatch)
      return fail("argument '" + args[i].name + "' has a static batch of " +
                  llvm::Twine(args[i].type.getDimSize(0)) +
                  ", but --batch=" + llvm::Twine(o.batch) +
                  (o.ranks > 1 && !o.seqParallel
                       ? " gives each of the " + llvm::Twine(o.ranks) +
                             " ranks " + llvm::Twine(localBatch)
                   : o.microBatches > 1
                       ? " gives each of the " + llvm::Twine(o.microBatches) +
                             " micro-batches " + llvm::Twine(modelBatch)
                       : llvm::Twine("")));
  if (samples < o.batch)
    return fail("'" + o.dataFile + "' has " + llvm::Twine(samples) +
                " samples, fewer than --batch=" + llvm::Twine(o.batch));
  if (!o.valDataFile.empty() && !readData(o.valDataFile, valData, valSamples))
    return fail(error);
  int64_t stepsPerEpoch = samples / o.batch;
  int64_t totalSteps = o.steps > 0 ? o.steps : o.epochs * stepsPerEpoch;

  // Gradients, the step, and the CPU pipeline, once.
  SmallString<256> baseDir(o.inputFile);
  llvm::sys::path::remove_filename(baseDir);
  if (baseDir.empty())
    baseDir = ".";
  std::vector<ExternalWeight> weights;
  collectExternalWeights(*module, baseDir, weights);
  bool hasPredict = bool(module->lookupSymbol<func::FuncOp>("loss_predict"));
  {
    PassManager pm = PassManager::on<ModuleOp>(&context);
    if (o.seqParallel) {
      // Activations sharded along the sequence, the Ulysses all-to-alls
      // around each attention; lathe-differentiate then swaps the axes of
      // each all-to-all in the backward and all-reduces the gradients of
      // the (replicated) parameters.
      SeqShardUlyssesOptions ulysses;
      ulysses.degree = o.ranks;
      ulysses.function = "loss";
      ulysses.seqArg = batchArgs.front();
      ulysses.seqDim = 1;
      pm.addPass(createSeqShardUlysses(ulysses));
    }
    // Attention as memred ops first, so that its gradient is
    // memred.attention_grad (scores recomputed block by block) rather than
    // the linalg backward, which stores the L x L probabilities.
    memred::MemRedRaiseAttentionOptions raise;
    raise.minScores = o.attentionMinScores;
    pm.addNestedPass<func::FuncOp>(memred::createMemRedRaiseAttention(raise));
    LatheDifferentiateOptions differentiate;
    differentiate.function = "loss";
    pm.addPass(createLatheDifferentiate(differentiate));
    LatheMakeTrainStepOptions step;
    step.function = "loss";
    step.optimizer =
        o.optimizer == "sgd" ? TrainOptimizer::Sgd : TrainOptimizer::AdamW;
    step.lr = o.lr;
    step.minLr = o.minLr;
    step.warmupSteps = o.warmupSteps;
    step.totalSteps = o.schedule == "cosine" ? totalSteps : 0;
    step.momentum = o.momentum;
    step.weightDecay = o.weightDecay;
    step.clipNorm = o.clipNorm;
    step.microBatches = o.microBatches;
    pm.addPass(createLatheMakeTrainStep(step));
    if (sharded) {
      LatheShardDataParallelOptions dp;
      dp.function = "loss";
      dp.ranks = o.ranks;
      dp.ranksPerNode = perNode;
      pm.addPass(createLatheShardDataParallel(dp));
      if (o.comm == "sdp4bit") {
        pm.addPass(qcomm::createQCommQuantizeWeightDiffs());
        pm.addPass(qcomm::createQCommQuantizeGradients());
      } else if (o.comm == "qw") {
        // SDP4Bit's ablation: the weights themselves at 4 bits (gradients
        // in full precision, so that only the weight scheme differs).
        qcomm::QCommQuantizeWeightDiffsOptions qw;
        qw.differences = false;
        pm.addPass(qcomm::createQCommQuantizeWeightDiffs(qw));
      } else if (o.comm == "zeropp") {
        pm.addPass(qcomm::createQCommZeroPP());
      }
    }
    if (failed(pm.run(*module)))
      return fail("cannot build the training step " + seeAbove);
  }
  FunctionType stepType, lossType, predictType;
  if (failed(getEntrySignature(*module, "loss_train_step", stepType, error)) ||
      failed(getEntrySignature(*module, "loss", lossType, error)) ||
      (hasPredict &&
       failed(getEntrySignature(*module, "loss_predict", predictType, error))))
    return fail(error);
  // The arithmetic of one step on this rank (FlopsOpInterface over the step
  // function before the CPU pipeline, as lathe-run --report counts its
  // input): what a cost model of the step needs, with no second compile.
  bool stepFlopsComplete = true;
  int64_t stepFlops =
      countEntryFlops(*module, "loss_train_step", stepFlopsComplete);
  // Sharded: the master weights and optimizer state of this rank's shard.
  int64_t shardSize = 0, totalSize = 0, shardIndex = 0;
  std::vector<std::string> shardKinds;
  if (sharded) {
    auto stepFn = module->lookupSymbol<func::FuncOp>("loss_train_step");
    auto dp = stepFn->getAttrOfType<DictionaryAttr>("lathe.data_parallel");
    shardSize = cast<IntegerAttr>(dp.get("shard_size")).getInt();
    totalSize = cast<IntegerAttr>(dp.get("total_size")).getInt();
    for (unsigned i = 0; i < stepFn.getNumArguments(); ++i)
      if (auto kind = stepFn.getArgAttrOfType<StringAttr>(i, "lathe.dp_state"))
        shardKinds.push_back(kind.str());
    shardIndex =
        shardIndexOfRank(std::max<int64_t>(worldRank, 0), o.ranks, perNode);
  }

  // The CPU pipeline and LLVM, once: on rank 0, whose object the other
  // ranks load.
  ExecutableOptions exeOptions;
  exeOptions.targetCpu = o.targetCpu;
  exeOptions.threads = o.threadsGiven ? o.threads : 0;
  if (o.deterministic && !o.threadsGiven) {
    // Kernels may split a reduction over their threads.
    exeOptions.threads = 1;
  } else if (o.ranks > 1 && !o.threadsGiven) {
    // The ranks share this machine's cores (more threads than cores makes
    // every collective wait for descheduled threads).
    const char *local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    int64_t localRanks = local ? std::max(1L, std::atol(local)) : o.ranks;
    exeOptions.threads = static_cast<int>(std::max<int64_t>(
        1, int64_t(std::thread::hardware_concurrency()) / localRanks));
  }
  CompiledModule compiled;
  bool compiledOk = true;
  auto compileStep = [&] {
    // The compile cache (as lathe-run's): keyed by the training step's IR
    // before the CPU pipeline, which the options above are all baked into.
    CompileCache cache(o.noCache ? "" : CompileCache::defaultDir(),
                       CompileCache::defaultMaxBytes());
    std::string key, warning;
    if (cache.enabled()) {
      std::string ir;
      llvm::raw_string_ostream os(ir);
      module->print(os, OpPrintingFlags().enableDebugInfo(false));
      key = CompileCache::makeKey(
          {"lathe-train", CompileCache::binaryIdentity(),
           describeTarget(exeOptions), std::to_string(exeOptions.minDataBytes),
           std::to_string(o.attentionMinScores),
           o.tracePath.empty() ? "" : "trace",
           o.deterministic ? "deterministic" : "", ir});
    }
    if (!key.empty() && cache.lookup(key, compiled, warning)) {
      compiledOk = true;
    } else {
      if (!warning.empty())
        llvm::errs() << "lathe-train: warning: " << warning << "\n";
      PassManager pm = PassManager::on<ModuleOp>(&context);
      CpuPipelineOptions cpu;
      cpu.attentionMinScores = o.attentionMinScores;
      cpu.trace = !o.tracePath.empty();
      if (o.deterministic) {
        // Every sum in the order the program states it.
        cpu.fpReassoc = false;
        cpu.fpContract = false;
      }
      if (failed(buildCpuPipeline(pm, "", error, cpu))) {
        compiledOk = false;
        error = "bad pipeline: " + error;
        return;
      }
      compiledOk =
          succeeded(pm.run(*module)) &&
          succeeded(compileModule(*module, exeOptions, compiled, error));
      if (!compiledOk && error.empty())
        error = "compilation of the training step failed";
      if (compiledOk && !key.empty() && !cache.store(key, compiled, warning))
        llvm::errs() << "lathe-train: warning: " << warning << "\n";
    }
  };
  if (o.ranks == 1)
    compileStep();
  else if (!runOnRankZero(compileStep, error))
    return fail(error);
  if (o.ranks > 1 && !broadcastCompiledModule(compiled, compiledOk, error))
    return fail(error);
  if (!compiledOk)
    return fail(error);
  std::unique_ptr<Executable> exe = Executable::load(
      std::move(compiled), std::move(weights), exeOptions, error);
  if (!exe)
    return fail(error);

  // Parameters and optimizer state.
  unsigned perParam = o.optimizer == "adamw" ? 2 : 1;
  std::vector<HostTensor> paramValues(params.size()),
      state(params.size() * perParam);
  for (auto [k, i] : llvm::enumerate(params)) {
    const Arg &a = args[i];
    HostTensor &t = paramValues[k];
    std::string source;
    if (!o.paramsFile.empty())
      source = datasetSpec(o.paramsFile, a.name);
    else if (a.init) {
      SmallString<256> path(a.init.getPath());
      if (!llvm::sys::path::is_absolute(path)) {
        path = baseDir;
        llvm::sys::path::append(path, a.init.getPath());
      }
      source = datasetSpec(path, a.init.getDataset());
    }
    if (!source.empty()) {
      if (!readTensorFile(source, t, error) ||
          !checkMatchesType(t, a.type, error))
        return fail("initial value of parameter '" + a.name + "' (" + source +
                    "): " + error);
    } else {
      if (!allocTensor(t, LATHE_F32, a.type.getShape(), error))
        return fail(error);
      initParam(t, o.seed * 1000003 + k);
    }
    for (unsigned s = 0; s < perParam && !sharded; ++s) {
      HostTensor &z = state[k * perParam + s];
      if (!allocTensor(z, LATHE_F32, a.type.getShape(), error))
        return fail(error);
      std::memset(z.t.data, 0, z.numBytes());
    }
  }
  // Sharded: the master weights of this rank's shard are its part of the
  // flat parameters (every rank starts from the same ones); the optimizer
  // state starts at zero.
  auto flatParams = [&](const std::vector<HostTensor> &tensors) {
    std::vector<float> flat(shardSize * o.ranks, 0.0f);
    size_t at = 0;
    for (const HostTensor &t : tensors) {
      std::memcpy(flat.data() + at, t.t.data, t.numBytes());
      at += t.numElements();
    }
    return flat;
  };
  if (sharded) {
    state.clear();
    state.resize(shardKinds.size());
    std::vector<float> flat = flatParams(paramValues);
    for (size_t s = 0; s < shardKinds.size(); ++s) {
      if (!allocTensor(state[s], LATHE_F32, {shardSize}, error))
        return fail(error);
      if (shardKinds[s] == "master")
        std::memcpy(state[s].t.data, flat.data() + shardIndex * shardSize,
                    state[s].numBytes());
      else
        std::memset(state[s].t.data, 0, state[s].numBytes());
    }
  }
  // Batch buffers and the step counter.
  std::vector<HostTensor> batch(batchArgs.size());
  for (auto [k, i] : llvm::enumerate(batchArgs)) {
    SmallVector<int64_t> shape(data[k].t.shape,
                               data[k].t.shape + data[k].t.rank);
    shape[0] = localBatch;
    if (!allocTensor(batch[k], data[k].t.dtype, shape, error))
      return fail(error);
  }
  HostTensor stepTensor;
  if (!allocTensor(stepTensor, LATHE_F32, {}, error))
    return fail(error);
  std::vector<const lathe_host_tensor *> views;
  for (HostTensor &t : paramValues)
    views.push_back(&t.t);
  for (HostTensor &t : state)
    views.push_back(&t.t);
  for (HostTensor &t : batch)
    views.push_back(&t.t);
  views.push_back(&stepTensor.t);
  std::unique_ptr<Invocation> step =
      exe->prepare("loss_train_step", stepType, views, error);
  if (!step)
    return fail(error);

  // Checkpoints: DIR/checkpoint.h5 with /step (the next step), /param/<k>
  // and /state/<k>; written to a temporary file, then renamed over the old
  // one, so a crash at any moment leaves the previous checkpoint whole.
  std::string checkpointFile =
      o.checkpointDir.empty() ? "" : o.checkpointDir + "/checkpoint.h5";
  std::vector<std::vector<float>> gathered;
  auto saveCheckpoint = [&](int64_t nextStep) -> bool {
    // Sequence parallelism: every rank holds the same parameters and state.
    if (o.seqParallel && !root)
      return true;
    if (sharded) {
      // Every rank hands in its shards; rank 0 writes.
      gathered.resize(state.size());
      for (size_t k = 0; k < state.size(); ++k)
        if (!gatherShards(static_cast<const float *>(state[k].t.data),
                          shardSize, o.ranks, perNode, gathered[k], error))
          return false;
      if (!root)
        return true;
    }
    if (std::error_code ec =
            llvm::sys::fs::create_directories(o.checkpointDir)) {
      error = "cannot create '" + o.checkpointDir + "': " + ec.message();
      return false;
    }
    std::string tmp = checkpointFile + ".tmp.h5";
    std::remove(tmp.c_str());
    HostTensor stepValue;
    if (!allocTensor(stepValue, LATHE_I64, {}, error))
      return false;
    *static_cast<int64_t *>(stepValue.t.data) = nextStep;
    if (!writeTensorFile(tmp + ":/step", stepValue, error))
      return false;
    for (size_t k = 0; k < paramValues.size(); ++k)
      if (!writeTensorFile(tmp + ":/param/" + std::to_string(k), paramValues[k],
                           error))
        return false;
    for (size_t k = 0; k < state.size() && !sharded; ++k)
      if (!writeTensorFile(tmp + ":/state/" + std::to_string(k), state[k],
                           error))
        return false;
    for (size_t k = 0; k < state.size() && sharded; ++k) {
      // The whole flat vector (its first total_size values), so that any
      // number of ranks can resume from it.
      HostTensor whole;
      if (!allocTensor(whole, LATHE_F32, {totalSize}, error))
        return false;
      std::memcpy(whole.t.data, gathered[k].data(), whole.numBytes());
      if (!writeTensorFile(tmp + ":/sharded/" + shardKinds[k], whole, error))
        return false;
    }
    if (std::error_code ec = llvm::sys::fs::rename(tmp, checkpointFile)) {
      error = "cannot replace '" + checkpointFile + "': " + ec.message();
      return false;
    }
    return true;
  };
  int64_t startStep = 0;
  if (o.resume) {
    if (!llvm::sys::fs::exists(checkpointFile))
      return fail("--resume: no checkpoint in '" + o.checkpointDir + "'");
    auto bad = [&](const std::string &what) {
      return fail("checkpoint '" + checkpointFile +
                  "' is corrupt or from "
                  "another model or optimizer: " +
                  what);
    };
    HostTensor stepValue;
    if (!readTensorFile(checkpointFile + ":/step", stepValue, error))
      return bad(error);
    if (stepValue.t.dtype != LATHE_I64 || stepValue.t.rank != 0)
      return bad("/step is not an int64 scalar");
    startStep = *static_cast<int64_t *>(stepValue.t.data);
    if (startStep < 0 || startStep > totalSteps)
      return bad("step " + std::to_string(startStep) + " is outside [0, " +
                 std::to_string(totalSteps) + "]");
    auto load = [&](const std::string &dataset, HostTensor &into) -> bool {
      HostTensor t;
      if (!readTensorFile(checkpointFile + ":" + dataset, t, error))
        return false;
      if (t.t.dtype != into.t.dtype || t.t.rank != into.t.rank ||
          !std::equal(t.t.shape, t.t.shape + t.t.rank, into.t.shape)) {
        error = dataset + " has shape " + shapeString(t.t) + ", expected " +
                shapeString(into.t);
        return false;
      }
      std::memcpy(into.t.data, t.t.data, into.numBytes());
      return true;
    };
    for (size_t k = 0; k < paramValues.size(); ++k)
      if (!load("/param/" + std::to_string(k), paramValues[k]))
        return bad(error);
    for (size_t k = 0; k < state.size() && !sharded; ++k)
      if (!load("/state/" + std::to_string(k), state[k]))
        return bad(error);
    // Sharded state is stored whole: this run's shard of it, whatever the
    // number of ranks that wrote it.
    for (size_t k = 0; k < state.size() && sharded; ++k) {
      HostTensor whole;
      std::string dataset = "/sharded/" + shardKinds[k];
      if (!readTensorFile(checkpointFile + ":" + dataset, whole, error))
        return bad(llvm::sys::fs::exists(checkpointFile)
                       ? "it was not written by a sharded run with this "
                         "optimizer (no " +
                             dataset +
                             "); resume it with --ranks=1 "
                             "--comm=fp32"
                       : error);
      if (whole.t.dtype != LATHE_F32 || whole.t.rank != 1 ||
          whole.t.shape[0] != totalSize)
        return bad(dataset + " has shape " + shapeString(whole.t) +
                   ", expected [" + std::to_string(totalSize) + "]");
      auto *to = static_cast<float *>(state[k].t.data);
      std::fill(to, to + shardSize, 0.0f);
      int64_t first = shardIndex * shardSize;
      int64_t count =
          std::max<int64_t>(0, std::min(shardSize, totalSize - first));
      if (count > 0)
        std::memcpy(to, static_cast<float *>(whole.t.data) + first,
                    count * sizeof(float));
    }
    say() << "resuming at step " << startStep << " from '" << checkpointFile
          << "'\n";
  }

  std::unique_ptr<llvm::raw_fd_ostream> log;
  if (!o.logPath.empty() && root) {
    std::error_code ec;
    log = std::make_unique<llvm::raw_fd_ostream>(
        o.logPath, ec,
        o.resume ? llvm::sys::fs::OF_Append : llvm::sys::fs::OF_None);
    if (ec)
      return fail("cannot write '" + o.logPath + "': " + ec.message());
  }
  auto emit = [&](llvm::json::Object object) {
    if (log) {
      *log << llvm::json::Value(std::move(object)) << "\n";
      log->flush();
    }
  };
  // Progress on stderr (rank 0): a bar on a terminal, a line every few
  // seconds elsewhere.
  std::optional<Progress> progress;
  if (root)
    progress.emplace("lathe-train", "steps", totalSteps, /*quietSeconds=*/0.5);

  // Validation: mean loss over full batches, and the accuracy of
  // @loss_predict's argmax when the labels are integers.
  // A model whose batch dimension is dynamic sees the whole validation set
  // in one call; a static one in full batches (a remainder is left out).
  bool dynamicBatch = llvm::all_of(
      batchArgs, [&](unsigned i) { return args[i].type.isDynamicDim(0); });
  auto validate = [&](int64_t epoch) -> bool {
    int64_t valBatch = dynamicBatch ? valSamples : modelBatch;
    int64_t valSteps = valSamples / valBatch;
    if (valSteps == 0) {
      error = "'" + o.valDataFile + "' has fewer samples than --batch";
      return false;
    }
    std::vector<int64_t> order(valSamples);
    for (int64_t i = 0; i < valSamples; ++i)
      order[i] = i;
    std::vector<HostTensor> vb(batchArgs.size());
    for (auto [k, i] : llvm::enumerate(batchArgs)) {
      SmallVector<int64_t> shape(valData[k].t.shape,
                                 valData[k].t.shape + valData[k].t.rank);
      shape[0] = valBatch;
      if (!allocTensor(vb[k], valData[k].t.dtype, shape, error))
        return false;
    }
    std::vector<const lathe_host_tensor *> lossViews, predictViews;
    for (HostTensor &t : paramValues) {
      lossViews.push_back(&t.t);
      predictViews.push_back(&t.t);
    }
    for (auto [k, t] : llvm::enumerate(vb)) {
      lossViews.push_back(&t.t);
      if (k + 1 < vb.size())
        predictViews.push_back(&t.t);
    }
    auto lossCall = exe->prepare("loss", lossType, lossViews, error);
    if (!lossCall)
      return false;
    std::unique_ptr<Invocation> predictCall;
    bool intLabels = vb.back().t.dtype == LATHE_I64;
    if (hasPredict && intLabels) {
      predictCall =
          exe->prepare("loss_predict", predictType, predictViews, error);
      if (!predictCall)
        return false;
    }
    double lossSum = 0;
    int64_t correct = 0, counted = 0;
    std::vector<HostTensor> out;
    for (int64_t s = 0; s < valSteps; ++s) {
      for (size_t k = 0; k < vb.size(); ++k)
        gatherRows(valData[k], order, s * valBatch, valBatch, vb[k]);
      if (!lossCall->run(error) || !lossCall->takeResults(out, error))
        return false;
      lossSum += *static_cast<float *>(out[0].t.data);
      if (predictCall) {
        if (!predictCall->run(error) || !predictCall->takeResults(out, error))
          return false;
        const HostTensor &logits = out[0];
        int64_t classes = logits.t.shape[logits.t.rank - 1];
        int64_t rows = logits.numElements() / std::max<int64_t>(classes, 1);
        const auto *l = static_cast<const float *>(logits.t.data);
        const auto *y = static_cast<const int64_t *>(vb.back().t.data);
        for (int64_t r = 0; r < rows; ++r) {
          int64_t best = 0;
          for (int64_t c = 1; c < classes; ++c)
            if (l[r * classes + c] > l[r * classes + best])
              best = c;
          correct += best == y[r];
          ++counted;
        }
      }
    }
    llvm::json::Object object{{"epoch", epoch},
                              {"val_loss", lossSum / valSteps}};
    say() << llvm::formatv("epoch {0}: val_loss {1:f6}", epoch,
                           lossSum / valSteps);
    if (counted) {
      double accuracy = double(correct) / counted;
      object["val_accuracy"] = accuracy;
      say() << llvm::formatv(" val_accuracy {0:f4}", accuracy);
    }
    say() << "\n";
    emit(std::move(object));
    return true;
  };

  // The first step whose gradients were not all finite, and the first
  // parameter (in argument order) with a non-finite gradient there.
  struct {
    int64_t step = -1;
    std::string param;
  } gradFailure;
  // With micro-batches, @loss_grad takes one part of the batch: each part is
  // tried in order.
  std::vector<lathe_host_tensor> partViews(batch.size());
  auto findNonFiniteGradient = [&](int64_t k) -> bool {
    FunctionType gradType;
    if (failed(getEntrySignature(*module, "loss_grad", gradType, error)))
      return false;
    gradFailure.step = k;
    for (int64_t part = 0; part < o.microBatches; ++part) {
      std::vector<const lathe_host_tensor *> gradViews;
      for (HostTensor &t : paramValues)
        gradViews.push_back(&t.t);
      for (auto [b, t] : llvm::enumerate(batch)) {
        lathe_host_tensor &v = partViews[b];
        v = t.t;
        int64_t rowBytes = t.numBytes() / std::max<int64_t>(1, t.t.shape[0]);
        v.shape[0] = modelBatch;
        v.data = static_cast<char *>(t.t.data) + part * modelBatch * rowBytes;
        gradViews.push_back(&v);
      }
      std::unique_ptr<Invocation> gradCall =
          exe->prepare("loss_grad", gradType, gradViews, error);
      if (!gradCall)
        return false;
      std::vector<HostTensor> grads;
      if (!gradCall->run(error) || !gradCall->takeResults(grads, error))
        return false;
      for (auto [i, p] : llvm::enumerate(params))
        if (!allFinite(grads[1 + i])) {
          gradFailure.param = args[p].name;
          return true;
        }
    }
    return true;
  };

  // The loop.
  Clock::time_point start = Clock::now();
  std::vector<int64_t> order(samples);
  std::vector<HostTensor> results;
  std::vector<TracedCall> tracedSteps;
  double lastLoss = NAN;
  for (int64_t k = startStep; k < totalSteps; ++k) {
    int64_t epoch = k / stepsPerEpoch, inEpoch = k % stepsPerEpoch;
    if (inEpoch == 0 || k == startStep) {
      // A seeded Fisher-Yates shuffle per epoch (the same on every machine).
      std::mt19937_64 rng(o.seed * 7919 + epoch);
      for (int64_t i = 0; i < samples; ++i)
        order[i] = i;
      for (int64_t i = samples - 1; o.shuffle && i > 0; --i)
        std::swap(order[i], order[rng() % uint64_t(i + 1)]);
    }
    // This rank's part of the global batch.
    for (size_t b = 0; b < batch.size(); ++b)
      gatherRows(data[b], order,
                 inEpoch * o.batch +
                     (o.seqParallel
                          ? 0
                          : std::max<int64_t>(worldRank, 0) * localBatch),
                 localBatch, batch[b]);
    *static_cast<float *>(stepTensor.t.data) = float(k);
    Clock::time_point t0 = Clock::now();
    bool tracing = root && !o.tracePath.empty() && k - startStep < o.traceSteps;
    if (tracing && k == startStep)
      lathe_rt_trace_enable(1);
    int64_t traceStart = tracing ? traceClockNs() : 0;
    if (!step->run(error))
      return fail("step " + llvm::Twine(k) + ": " + error);
    if (tracing) {
      tracedSteps.push_back({"step " + std::to_string(k), traceStart,
                             traceClockNs() - traceStart});
      if (k + 1 == totalSteps || k + 1 - startStep == o.traceSteps) {
        lathe_rt_trace_enable(0);
        if (!writeChromeTrace(o.tracePath, "lathe-train " + o.inputFile,
                              tracedSteps, error))
          return fail(error);
      }
    }
    if (!step->takeResults(results, error))
      return fail(error);
    double ms =
        std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    lastLoss = *static_cast<float *>(results[0].t.data);
    // The first non-finite gradient: when the loss or an updated parameter
    // stops being finite, @loss_grad runs again on this step's batch and the
    // parameters from before the step (still in paramValues) to find it.
    if (!sharded && gradFailure.step < 0) {
      bool updatedFinite = true;
      for (size_t i = 0; i < paramValues.size() && updatedFinite; ++i)
        updatedFinite = allFinite(results[1 + i]);
      if ((!std::isfinite(lastLoss) || !updatedFinite) &&
          !findNonFiniteGradient(k))
        return fail("step " + llvm::Twine(k) + ": " + error);
    }
    for (size_t i = 0; i < paramValues.size(); ++i)
      std::memcpy(paramValues[i].t.data, results[1 + i].t.data,
                  paramValues[i].numBytes());
    for (size_t i = 0; i < state.size(); ++i)
      std::memcpy(state[i].t.data, results[1 + paramValues.size() + i].t.data,
                  state[i].numBytes());
    if (!std::isfinite(lastLoss)) {
      if (sharded) {
        std::string which = "none";
        for (auto [i, p] : llvm::enumerate(params))
          if (!allFinite(paramValues[i])) {
            which = "'" + args[p].name + "'";
            break;
          }
        return fail(llvm::formatv("step {0}: the loss is {1}; first parameter "
                                  "that is no longer finite: {2}",
                                  k, lastLoss, which));
      }
      std::string which = gradFailure.param.empty()
                              ? std::string("none")
                              : "'" + gradFailure.param + "'";
      if (gradFailure.step != k)
        which += " (at step " + std::to_string(gradFailure.step) + ")";
      return fail(llvm::formatv("step {0}: the loss is {1}; first parameter "
                                "whose gradient went non-finite: {2}",
                                k, lastLoss, which));
    }
    llvm::json::Object record{
        {"step", k},        {"epoch", epoch},
        {"loss", lastLoss}, {"lr", learningRate(o, k, totalSteps)},
        {"ms", ms},         {"samples_per_s", o.batch / (ms / 1000)}};
    // Floating-point operations of this rank's step, as counted (null when
    // an op's count was unknown).
    record["flops"] = stepFlopsComplete ? llvm::json::Value(stepFlops)
                                        : llvm::json::Value(nullptr);
    if (sharded || o.seqParallel) {
      // The bytes this rank handed to each collective during the step.
      lathe_comm_counter counters[32];
      int64_t n = std::min<int64_t>(lathe_rt_comm_counters(counters, 32), 32);
      llvm::json::Array comm;
      for (int64_t c = 0; c < n; ++c)
        comm.push_back(
            llvm::json::Object{{"collective", counters[c].collective},
                               {"grid_axes", groupAxes(counters[c].group)},
                               {"calls", counters[c].calls},
                               {"bytes", counters[c].bytes}});
      lathe_rt_comm_reset_counters();
      record["comm"] = std::move(comm);
    }
    emit(std::move(record));
    if (progress)
      progress->update(
          k + 1,
          llvm::formatv("epoch {0}, loss {1:f4}", epoch, lastLoss).str());
    bool epochEnd = inEpoch + 1 == stepsPerEpoch || k + 1 == totalSteps;
    if (!checkpointFile.empty() &&
        (o.checkpointEvery > 0 ? (k + 1) % o.checkpointEvery == 0 : epochEnd) &&
        !saveCheckpoint(k + 1))
      return fail("checkpoint after step " + llvm::Twine(k) + ": " + error);
    if (epochEnd && !valData.empty()) {
      if (progress)
        progress->finish();
      if (!validate(epoch))
        return fail("validation: " + error);
    }
  }
  if (progress)
    progress->finish();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  say() << llvm::formatv("trained {0} steps ({1} samples each) in "
                         "{2:f2} s; final loss {3:f6}\n",
                         totalSteps - startStep, o.batch, seconds, lastLoss);

  if (!o.savePath.empty() && sharded) {
    // The trained weights are the master weights (the model copy can lag
    // behind them by quantization error): gathered, back in the parameters'
    // shapes.
    std::vector<float> master;
    if (!gatherShards(static_cast<const float *>(state[0].t.data), shardSize,
                      o.ranks, perNode, master, error))
      return fail("saving: " + error);
    size_t at = 0;
    for (HostTensor &t : paramValues) {
      std::memcpy(t.t.data, master.data() + at, t.numBytes());
      at += t.numElements();
    }
  }
  if (!o.savePath.empty() && root) {
    // A fresh file: datasets named after the parameters.
    std::remove(o.savePath.c_str());
    for (auto [k, i] : llvm::enumerate(params))
      if (!writeTensorFile(datasetSpec(o.savePath, args[i].name),
                           paramValues[k], error))
        return fail("saving '" + args[i].name + "': " + error);
    say() << "saved " << params.size() << " parameter(s) to '" << o.savePath
          << "'\n";
  }
  return 0;
}
