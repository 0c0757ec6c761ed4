//===- Compress.cpp - lathe-compress: low-rank compression by accuracy ----===//
//
// Measures the dense model's validation accuracy, enumerates the operating
// points of lowrank-select-ranks (max-error sweeps in several error norms),
// orders them by the latency table's prediction (or FLOPs), and keeps the
// cheapest whose measured validation accuracy is within the budget. Every
// candidate is compiled by the CPU pipeline and run on the validation data:
// the accuracy is the one the written module gets, not an estimate.
//
//===----------------------------------------------------------------------===//

#include "lathe/Driver/Compress.h"

#include "RunSupport.h"

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Driver/Executable.h"
#include "lathe/Driver/HostTensors.h"
#include "lathe/Driver/TargetFile.h"
#include "lathe/Driver/Train.h"
#include "lathe/Interfaces/DecisionInterface.h"
#include "lathe/Support/ParseGuard.h"
#include "lathe/Target/CPU/Pipeline.h"
#include "lathe/runtime/Runtime.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <set>
#include <tuple>

using namespace mlir;
using namespace mlir::lathe;

using run_support::inlineWeights;

namespace {

int fail(const llvm::Twine &message) {
  llvm::outs().flush();
  llvm::errs() << "lathe-compress: error: " << message << "\n";
  return 1;
}

/// The dataset an entry argument reads: `lathe.name` (or the importer's
/// `onnx.name`), else `input<i>`.
std::string argName(func::FuncOp fn, unsigned i) {
  for (StringRef attr : {"lathe.name", "onnx.name"})
    if (auto name = fn.getArgAttrOfType<StringAttr>(i, attr))
      return name.str();
  return "input" + std::to_string(i);
}

std::string datasetSpec(StringRef file, StringRef name) {
  return (file + ":/" + name).str();
}

/// One layer's choice, as lowrank-select-ranks recorded it.
struct LayerChoice {
  std::string where;
  std::string action;
  int64_t rank = 0;
  double beforeUs = 0, afterUs = 0;
};

struct Candidate {
  std::string options; ///< lowrank-select-ranks options
  std::vector<LayerChoice> layers;
  double predictedUs = 0; ///< sum over the decided layers
  double denseUs = 0;
  int64_t flops = 0;
  std::string key; ///< the ranks, for deduplication
  bool finetuned = false;
  double accuracyBeforeFinetune = 0;
  OwningOpRef<ModuleOp> module;
};

std::string locString(Location loc) {
  std::string s;
  llvm::raw_string_ostream os(s);
  if (auto name = dyn_cast<NameLoc>(loc))
    os << name.getName().getValue();
  else if (auto file = dyn_cast<FileLineColLoc>(loc))
    os << llvm::sys::path::filename(file.getFilename().getValue()) << ":"
       << file.getLine();
  else
    loc.print(os);
  return s;
}

/// FLOPs of the matmuls and convolutions (dense and factorized), with a
/// dynamic dimension counted as `batch` rows.
int64_t modelFlops(ModuleOp module, int64_t batch) {
  auto dim = [&](Value v, unsigned i) -> int64_t {
    auto t = cast<ShapedType>(v.getType());
    return t.isDynamicDim(i) ? batch : t.getDimSize(i);
  };
  auto rows = [&](Value v) -> int64_t {
    auto t = cast<ShapedType>(v.getType());
    int64_t m = 1;
    for (unsigned i = 0; i + 1 < t.getRank(); ++i)
      m *= dim(v, i);
    return m;
  };
  int64_t total = 0;
  module.walk([&](Operation *op) {
    StringRef name = op->getName().getStringRef();
    if (isa<linalg::MatmulOp, linalg::BatchMatmulOp, linalg::Conv2DNchwFchwOp>(
            op)) {
      // One multiply and one add per point of the iteration space.
      int64_t points = 2;
      for (int64_t size : cast<linalg::LinalgOp>(op).getStaticLoopRanges())
        points *= ShapedType::isDynamic(size) ? batch : size;
      total += points;
    } else if (name == "lowrank.linear") {
      Value in = op->getOperand(0), u = op->getOperand(1);
      int64_t k = dim(in, cast<ShapedType>(in.getType()).getRank() - 1);
      total += 2 * rows(in) * dim(u, 1) * (k + dim(u, 0));
    } else if (name == "lowrank.conv2d_tucker") {
      Value in = op->getOperand(0), core = op->getOperand(2),
            uOut = op->getOperand(3), out = op->getResult(0);
      int64_t r = dim(core, 0), pixelsIn = dim(in, 2) * dim(in, 3),
              pixelsOut = dim(out, 2) * dim(out, 3), n = dim(in, 0);
      total += 2 * n *
               (pixelsIn * dim(in, 1) * r +
                pixelsOut * r * r * dim(core, 2) * dim(core, 3) +
                pixelsOut * r * dim(uOut, 0));
    }
  });
  return total;
}

/// Why lowrank-select-ranks left a matmul or convolution without a decision
/// (the pass skips shapes it cannot price without a remark).
std::vector<std::string>
explainUndecided(ModuleOp module, const std::set<std::string> &remarked) {
  std::vector<std::string> reasons;
  module.walk([&](Operation *op) {
    if (!isa<linalg::MatmulOp, linalg::Conv2DNchwFchwOp>(op) ||
        lathe::getDecision(op) || remarked.count(locString(op->getLoc())))
      return;
    bool conv = isa<linalg::Conv2DNchwFchwOp>(op);
    std::string what =
        (conv ? "convolution " : "matmul ") + locString(op->getLoc()) + ": ";
    auto weight = dyn_cast<RankedTensorType>(op->getOperand(1).getType());
    auto in = dyn_cast<RankedTensorType>(op->getOperand(0).getType());
    if (!weight || !in || !weight.getElementType().isF32() ||
        !in.getElementType().isF32()) {
      reasons.push_back(what + "not f32; only f32 layers are factorized");
      return;
    }
    if (conv &&
        (!in.hasStaticShape() ||
         !cast<ShapedType>(op->getResult(0).getType()).hasStaticShape())) {
      reasons.push_back(
          what + "dynamic shape " +
          [&] {
            std::string s;
            llvm::raw_string_ostream os(s);
            os << in;
            return s;
          }() +
          ": lowrank-select-ranks factorizes convolutions of static "
          "shape only (the --batch option prices a dynamic matmul "
          "batch, not a convolution's); give the model a static "
          "batch");
      return;
    }
    if (!conv && !weight.hasStaticShape()) {
      reasons.push_back(what + "the weight's shape is dynamic");
      return;
    }
    if (!conv)
      reasons.push_back(what + "not x·W or x·Wᵀ with a constant [K, N] or "
                               "[N, K] weight (indexing maps or operand "
                               "not supported)");
  });
  return reasons;
}

} // namespace

LogicalResult mlir::lathe::run_support::inlineWeights(ModuleOp module,
                                                      StringRef baseDir,
                                                      std::string &error) {
  SmallVector<WeightOp> weights;
  module.walk([&](WeightOp w) { weights.push_back(w); });
  for (WeightOp w : weights) {
    ExternalWeightAttr source = w.getSource();
    SmallString<256> path(source.getPath());
    if (!llvm::sys::path::is_absolute(path)) {
      path = baseDir;
      llvm::sys::path::append(path, source.getPath());
    }
    HostTensor t;
    std::string spec = (path + ":" + source.getDataset()).str();
    if (!readTensorFile(spec, t, error)) {
      error = "weight '" + spec + "': " + error;
      return failure();
    }
    auto type = cast<RankedTensorType>(w.getType());
    if (!checkMatchesType(t, type, error)) {
      error = "weight '" + spec + "': " + error;
      return failure();
    }
    DenseElementsAttr values = DenseElementsAttr::getFromRawBuffer(
        type,
        ArrayRef<char>(static_cast<const char *>(t.t.data), t.numBytes()));
    OpBuilder b(w);
    auto c = arith::ConstantOp::create(b, w.getLoc(), type, values);
    w.getResult().replaceAllUsesWith(c.getResult());
    w.erase();
  }
  return success();
}

namespace {

/// Copies rows [begin, begin + count) of `src` (samples along dim 0); rows
/// past the end of `src` are zeros (a static batch's last, partial chunk).
bool sliceRows(const HostTensor &src, int64_t begin, int64_t count,
               HostTensor &dst, std::string &error) {
  SmallVector<int64_t> shape(src.t.shape, src.t.shape + src.t.rank);
  shape[0] = count;
  if (lathe_host_tensor_alloc(&dst.t, src.t.dtype, shape.size(),
                              shape.data()) != LATHE_OK) {
    error = lathe_rt_last_error();
    return false;
  }
  size_t row = src.numBytes() / std::max<int64_t>(src.t.shape[0], 1);
  int64_t present = std::min(count, src.t.shape[0] - begin);
  std::memcpy(dst.t.data, static_cast<const char *>(src.t.data) + begin * row,
              row * present);
  std::memset(static_cast<char *>(dst.t.data) + row * present, 0,
              row * (count - present));
  return true;
}

/// The f32 weight constants of `module` (rank >= 1, not splat), in walk
/// order: what fine-tuning trains.
SmallVector<arith::ConstantOp> weightConstants(ModuleOp module) {
  SmallVector<arith::ConstantOp> out;
  module.walk([&](arith::ConstantOp c) {
    auto type = dyn_cast<RankedTensorType>(c.getType());
    if (!type || type.getRank() == 0 || !type.getElementType().isF32() ||
        !type.hasStaticShape())
      return;
    if (auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
        dense && dense.isSplat())
      return;
    out.push_back(c);
  });
  return out;
}

/// The values of a weight constant (dense or dense_resource).
bool constantValues(arith::ConstantOp c, std::vector<float> &values) {
  Attribute value = c.getValue();
  if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
    auto range = dense.getValues<float>();
    values.assign(range.begin(), range.end());
    return true;
  }
  if (auto resource = dyn_cast<DenseF32ResourceElementsAttr>(value)) {
    std::optional<ArrayRef<float>> data = resource.tryGetAsArrayRef();
    if (!data)
      return false;
    values.assign(data->begin(), data->end());
    return true;
  }
  return false;
}

struct Evaluation {
  double accuracy = 0;
  int64_t correct = 0, counted = 0;
  double measuredUs = 0; ///< median of a call on `timingBatch` rows
};

struct ValData {
  std::vector<HostTensor> inputs; ///< one per entry argument
  HostTensor labels;
  int64_t samples = 0;
};

class Compressor {
public:
  Compressor(const CompressOptions &o, MLIRContext &ctx,
             DialectRegistry &registry)
      : o(o), ctx(ctx), registry(registry) {}

  const CompressOptions &o;
  MLIRContext &ctx;
  DialectRegistry &registry;
  std::string error;
  FunctionType entryType;
  int64_t runBatch = 0;    ///< rows per call on the validation data
  int64_t timingBatch = 0; ///< rows of the timed call
  ValData val;

  /// Compiles `module` (a clone is lowered) and runs it on the validation
  /// data: accuracy by argmax against the labels, and a timed call.
  bool evaluate(ModuleOp module, Evaluation &out) {
    OwningOpRef<ModuleOp> clone = module.clone();
    PassManager pm = PassManager::on<ModuleOp>(&ctx);
    CpuPipelineOptions cpu;
    if (failed(buildCpuPipeline(pm, "", error, cpu)))
      return false;
    if (failed(pm.run(*clone))) {
      error = "the CPU pipeline failed (see the error above)";
      return false;
    }
    ExecutableOptions exeOptions;
    exeOptions.targetCpu = o.targetCpu;
    exeOptions.threads = o.threadsGiven ? o.threads : 0;
    CompiledModule compiled;
    if (failed(compileModule(*clone, exeOptions, compiled, error)))
      return false;
    std::unique_ptr<Executable> exe =
        Executable::load(std::move(compiled), {}, exeOptions, error);
    if (!exe)
      return false;
    int64_t correct = 0, counted = 0;
    std::vector<HostTensor> results;
    for (int64_t begin = 0; begin < val.samples; begin += runBatch) {
      std::vector<HostTensor> chunk(val.inputs.size());
      std::vector<const lathe_host_tensor *> views;
      for (size_t k = 0; k < val.inputs.size(); ++k) {
        if (!sliceRows(val.inputs[k], begin, runBatch, chunk[k], error))
          return false;
        views.push_back(&chunk[k].t);
      }
      auto call = exe->prepare(o.entry, entryType, views, error);
      if (!call || !call->run(error) || !call->takeResults(results, error))
        return false;
      if (!countCorrect(results, begin, correct, counted))
        return false;
    }
    out.correct = correct;
    out.counted = counted;
    out.accuracy = counted ? double(correct) / counted : 0;
    // Latency: a call on the first `timingBatch` rows, median of repeats.
    std::vector<HostTensor> chunk(val.inputs.size());
    std::vector<const lathe_host_tensor *> views;
    for (size_t k = 0; k < val.inputs.size(); ++k) {
      if (!sliceRows(val.inputs[k], 0, timingBatch, chunk[k], error))
        return false;
      views.push_back(&chunk[k].t);
    }
    auto call = exe->prepare(o.entry, entryType, views, error);
    if (!call)
      return false;
    std::vector<double> times;
    for (int i = 0; i < o.repeat + 3; ++i) {
      auto start = std::chrono::steady_clock::now();
      if (!call->run(error))
        return false;
      auto stop = std::chrono::steady_clock::now();
      call->freeResults();
      if (i >= 3)
        times.push_back(
            std::chrono::duration<double, std::micro>(stop - start).count());
    }
    std::sort(times.begin(), times.end());
    out.measuredUs = times.empty() ? 0 : times[times.size() / 2];
    return true;
  }

  /// Fine-tunes the weight constants of `module` (factors, biases and the
  /// dense layers) with lathe-train's library entry: the constants go to an
  /// HDF5 file as `lathe.weight`s, the lowrank ops become linalg, trainMain
  /// trains them (cross-entropy, AdamW) and the trained values replace the
  /// constants' values in `module`, which keeps its lowrank ops.
  bool finetune(ModuleOp module, int64_t staticBatch) {
    SmallString<128> dir;
    if (std::error_code ec =
            llvm::sys::fs::createUniqueDirectory("lathe-compress", dir)) {
      error = "cannot create a temporary directory: " + ec.message();
      return false;
    }
    auto path = [&](StringRef name) {
      SmallString<128> p(dir);
      llvm::sys::path::append(p, name);
      return p.str().str();
    };
    std::string init = path("init.h5"), trained = path("trained.h5"),
                model = path("finetune.mlir");
    OwningOpRef<ModuleOp> ft = module.clone();
    SmallVector<arith::ConstantOp> original = weightConstants(module);
    SmallVector<arith::ConstantOp> copies = weightConstants(*ft);
    if (original.empty()) {
      error = "no weight constants to fine-tune";
      return false;
    }
    for (auto [k, c] : llvm::enumerate(copies)) {
      auto type = cast<RankedTensorType>(c.getType());
      std::vector<float> values;
      if (!constantValues(c, values)) {
        error = "cannot read the values of a weight constant";
        return false;
      }
      HostTensor t;
      if (lathe_host_tensor_alloc(&t.t, LATHE_F32, type.getRank(),
                                  type.getShape().data()) != LATHE_OK) {
        error = lathe_rt_last_error();
        return false;
      }
      std::memcpy(t.t.data, values.data(), values.size() * sizeof(float));
      std::string name = "p" + std::to_string(k);
      if (!writeTensorFile(init + ":/" + name, t, error))
        return false;
      OpBuilder b(c);
      auto w = WeightOp::create(
          b, c.getLoc(), type,
          ExternalWeightAttr::get(&ctx, init, "/" + name, type));
      c.getResult().replaceAllUsesWith(w.getResult());
      c.erase();
    }
    auto fn = ft->lookupSymbol<func::FuncOp>(o.entry);
    for (unsigned i = 0; i < fn.getNumArguments(); ++i)
      if (!fn.getArgAttr(i, "lathe.name") && !fn.getArgAttr(i, "onnx.name"))
        fn.setArgAttr(i, "lathe.name",
                      StringAttr::get(&ctx, "input" + std::to_string(i)));
    {
      PassManager pm = PassManager::on<ModuleOp>(&ctx);
      if (failed(parsePassPipeline(
              "func.func(convert-lowrank-to-lathe{linalg-only=true})", pm,
              llvm::errs())) ||
          failed(pm.run(*ft))) {
        error = "cannot lower the lowrank ops to linalg for training";
        return false;
      }
    }
    {
      std::string writeError;
      auto file = openOutputFile(model, &writeError);
      if (!file) {
        error = writeError;
        return false;
      }
      ft->print(file->os());
      file->keep();
    }
    TrainOptions t;
    t.inputFile = model;
    t.loss = "cross-entropy";
    t.labels = o.labels;
    t.dataFile = o.trainDataFile;
    t.batch = staticBatch ? staticBatch : o.finetuneBatch;
    t.steps = o.steps;
    t.lr = o.lr;
    t.optimizer = "adamw";
    t.weightDecay = 0;
    t.savePath = trained;
    t.threads = o.threads;
    t.threadsGiven = o.threadsGiven;
    t.targetCpu = o.targetCpu;
    t.noCache = true;
    llvm::outs().flush();
    if (trainMain(t, registry) != 0) {
      error = "fine-tuning failed (lathe-train's error above)";
      return false;
    }
    for (auto [k, c] : llvm::enumerate(original)) {
      HostTensor v;
      auto type = cast<RankedTensorType>(c.getType());
      if (!readTensorFile(trained + ":/p" + std::to_string(k), v, error) ||
          !checkMatchesType(v, type, error))
        return false;
      c.setValueAttr(DenseElementsAttr::getFromRawBuffer(
          type,
          ArrayRef<char>(static_cast<const char *>(v.t.data), v.numBytes())));
    }
    llvm::sys::fs::remove_directories(dir);
    return true;
  }

  bool countCorrect(const std::vector<HostTensor> &results, int64_t begin,
                    int64_t &correct, int64_t &counted) {
    if (results.empty() || results[0].t.dtype != LATHE_F32 ||
        results[0].t.rank != 2) {
      error = "@" + o.entry +
              "'s first result must be f32 logits [samples, classes], got " +
              (results.empty() ? std::string("nothing")
                               : shapeString(results[0].t) + " " +
                                     lathe_dtype_name(results[0].t.dtype));
      return false;
    }
    const HostTensor &logits = results[0];
    // Padding rows of the last chunk are not counted.
    int64_t rows = std::min(logits.t.shape[0], val.samples - begin),
            classes = logits.t.shape[1];
    const auto *l = static_cast<const float *>(logits.t.data);
    for (int64_t r = 0; r < rows; ++r) {
      int64_t best = 0;
      for (int64_t c = 1; c < classes; ++c)
        if (l[r * classes + c] > l[r * classes + best])
          best = c;
      int64_t y = labelAt(begin + r);
      correct += best == y;
      ++counted;
    }
    return true;
  }

  int64_t labelAt(int64_t i) const {
    switch (val.labels.t.dtype) {
    case LATHE_I64:
      return static_cast<const int64_t *>(val.labels.t.data)[i];
    case LATHE_I32:
      return static_cast<const int32_t *>(val.labels.t.data)[i];
    default:
      return -1;
    }
  }
};

} // namespace

int mlir::lathe::compressMain(const CompressOptions &o,
                              DialectRegistry &registry) {
  if (o.valDataFile.empty())
    return fail("--val-data=FILE.h5 is required (datasets named after the "
                "entry's arguments, and 'labels')");
  if (o.outputFile.empty())
    return fail("-o FILE.mlir is required");
  if (!(o.maxAccuracyDrop >= 0 && o.maxAccuracyDrop < 1))
    return fail(llvm::formatv("--max-accuracy-drop must be in [0, 1), got {0}",
                              o.maxAccuracyDrop)
                    .str());
  if (o.objective != "latency" && o.objective != "flops" &&
      o.objective != "measured")
    return fail("--objective=" + o.objective +
                ": expected latency, flops or measured");
  if (o.repeat < 1)
    return fail("--repeat must be >= 1");
  if (o.batch < 0)
    return fail("--batch must be >= 0");
  if (o.threadsGiven && o.threads < 1)
    return fail("--threads must be at least 1, got " + llvm::Twine(o.threads));
  for (const std::string &n : o.errorNorms)
    if (n != "spectral" && n != "relative" && n != "frobenius")
      return fail("--error-norms: unknown norm '" + n +
                  "' (expected spectral, relative or frobenius)");
  if (o.finetune && o.trainDataFile.empty())
    return fail("--finetune needs --train-data=FILE.h5 (the same datasets as "
                "--val-data; never the validation or test data)");
  if (!o.finetune && !o.trainDataFile.empty())
    return fail("--train-data is only used with --finetune");
  if (o.finetune && (o.steps < 1 || o.finetuneBatch < 1 || !(o.lr > 0)))
    return fail("--steps and --finetune-batch must be >= 1 and --lr > 0");

  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  context.printOpOnDiagnostic(false);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context);
  std::string error;
  OwningOpRef<ModuleOp> module = parseFileOrExit(
      o.inputFile, &context, sourceMgr, "lathe-compress", error);
  if (!module && !error.empty())
    return fail("cannot open '" + o.inputFile + "': " + error);
  if (!module)
    return fail("could not parse or verify '" + o.inputFile + "'");
  auto entry = module->lookupSymbol<func::FuncOp>(o.entry);
  if (!entry || entry.isExternal())
    return fail("'" + o.inputFile + "' has no function @" + o.entry +
                " (--entry names the model's function)");
  Compressor c(o, context, registry);
  c.entryType = entry.getFunctionType();

  // Validation data: one dataset per argument, samples along dimension 0.
  int64_t staticBatch = 0;
  for (unsigned i = 0; i < entry.getNumArguments(); ++i) {
    std::string name = argName(entry, i);
    auto type = dyn_cast<RankedTensorType>(entry.getArgumentTypes()[i]);
    if (!type || type.getRank() == 0)
      return fail("argument #" + llvm::Twine(i) + " ('" + name + "') of @" +
                  o.entry + " is not a tensor with a sample dimension");
    HostTensor t;
    if (!readTensorFile(datasetSpec(o.valDataFile, name), t, error))
      return fail("validation data for argument #" + llvm::Twine(i) + " ('" +
                  name + "'): " + error);
    std::optional<lathe_dtype> dtype = dtypeFor(type.getElementType());
    bool fits = dtype && t.t.dtype == *dtype && t.t.rank == type.getRank();
    for (int r = 1; fits && r < t.t.rank; ++r)
      fits = type.isDynamicDim(r) || type.getDimSize(r) == t.t.shape[r];
    if (!fits)
      return fail("dataset '" + name + "' of '" + o.valDataFile +
                  "' has shape " + shapeString(t.t) + " " +
                  lathe_dtype_name(t.t.dtype) + ", which does not fit " +
                  "argument #" + llvm::Twine(i) + " of @" + o.entry +
                  " (samples along the first dimension)");
    if (i > 0 && t.t.shape[0] != c.val.samples)
      return fail("datasets of '" + o.valDataFile +
                  "' have different numbers of samples (" +
                  llvm::Twine(c.val.samples) + " and " +
                  llvm::Twine(t.t.shape[0]) + " for '" + name + "')");
    c.val.samples = t.t.shape[0];
    if (!type.isDynamicDim(0)) {
      if (staticBatch && staticBatch != type.getDimSize(0))
        return fail("the arguments of @" + o.entry +
                    " have different static batches");
      staticBatch = type.getDimSize(0);
    }
    c.val.inputs.push_back(std::move(t));
  }
  if (!readTensorFile(datasetSpec(o.valDataFile, o.labels), c.val.labels,
                      error))
    return fail("validation labels: " + error);
  {
    const lathe_host_tensor &l = c.val.labels.t;
    if ((l.dtype != LATHE_I64 && l.dtype != LATHE_I32) || l.rank != 1 ||
        l.shape[0] != c.val.samples)
      return fail("dataset '" + o.labels + "' of '" + o.valDataFile +
                  "' must hold one integer class per sample ([" +
                  llvm::Twine(c.val.samples) + "] int64 or int32), got " +
                  shapeString(l) + " " + lathe_dtype_name(l.dtype));
  }
  if (c.val.samples == 0)
    return fail("'" + o.valDataFile + "' has no samples");
  c.runBatch = staticBatch ? staticBatch : c.val.samples;
  int64_t pricedBatch =
      staticBatch ? staticBatch
                  : (o.batch ? o.batch : std::min<int64_t>(64, c.val.samples));
  c.timingBatch =
      staticBatch ? staticBatch : std::min<int64_t>(pricedBatch, c.val.samples);

  // Weights from HDF5 become constants, which the pass factorizes.
  SmallString<256> baseDir(o.inputFile);
  llvm::sys::path::remove_filename(baseDir);
  if (baseDir.empty())
    baseDir = ".";
  if (failed(inlineWeights(*module, baseDir, error)))
    return fail(error);

  // The target is read once and travels in the IR: lowrank-select-ranks
  // prices candidates with the attribute's table ("cpu": none attached, the
  // shipped default).
  std::string targetText;
  if (o.target != "cpu" &&
      failed(attachTargetFile(*module, o.target, targetText, error)))
    return fail(error);

  llvm::raw_ostream &os = llvm::outs();
  int64_t denseFlops = modelFlops(*module, pricedBatch);

  // Operating points: max-error sweeps in each norm.
  static const double kErrors[] = {0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3,
                                   0.35, 0.4,  0.5, 0.6,  0.7, 0.8,  0.9};
  std::vector<Candidate> candidates;
  std::vector<std::string> skipped;
  bool anyCandidateLayer = false;
  for (const std::string &norm : o.errorNorms) {
    for (double e : kErrors) {
      Candidate cand;
      cand.options = llvm::formatv("max-error={0} error-norm={1} target={2} "
                                   "batch={3}",
                                   e, norm, o.target, pricedBatch)
                         .str();
      std::string passOptions =
          llvm::formatv("max-error={0} error-norm={1} batch={2}", e, norm,
                        pricedBatch)
              .str();
      cand.module = module->clone();
      std::vector<std::string> remarks;
      std::string firstError;
      {
        ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
          std::string text = d.str();
          if (d.getSeverity() == DiagnosticSeverity::Error &&
              firstError.empty())
            firstError = locString(d.getLocation()) + ": " + text;
          else if (d.getSeverity() != DiagnosticSeverity::Error)
            remarks.push_back(locString(d.getLocation()) + ": " + text);
          return success();
        });
        PassManager pm = PassManager::on<ModuleOp>(&context);
        if (failed(parsePassPipeline(
                "lowrank-select-ranks{" + passOptions + "}", pm, llvm::errs())))
          return fail("cannot build lowrank-select-ranks{" + cand.options +
                      "}");
        if (failed(pm.run(*cand.module)))
          return fail("lowrank-select-ranks{" + cand.options +
                      "} failed: " + firstError);
      }
      cand.module->walk([&](Operation *op) {
        lathe::DecisionAttrInterface decision = lathe::getDecision(op);
        if (!decision || decision.getPassName() != "lowrank-select-ranks")
          return;
        DictionaryAttr d = decision.toDictionary();
        LayerChoice l;
        l.where = locString(op->getLoc());
        l.action = d.getAs<StringAttr>("action").str();
        l.rank = d.getAs<IntegerAttr>("rank").getInt();
        l.beforeUs = d.getAs<FloatAttr>("latency_before_us").getValueAsDouble();
        l.afterUs = d.getAs<FloatAttr>("latency_after_us").getValueAsDouble();
        cand.predictedUs += l.afterUs;
        cand.denseUs += l.beforeUs;
        cand.key +=
            (l.action == "dense" ? std::string("D") : std::to_string(l.rank)) +
            ",";
        cand.layers.push_back(l);
      });
      if (skipped.empty()) {
        std::set<std::string> remarked;
        for (const std::string &r : remarks)
          remarked.insert(r.substr(0, r.find(": ")));
        skipped = explainUndecided(*cand.module, remarked);
        for (const std::string &r : remarks)
          if (StringRef(r).contains("left") ||
              StringRef(r).contains("no rank") ||
              StringRef(r).contains("skipped") || StringRef(r).contains("not "))
            skipped.push_back(r);
      }
      // A layer with candidate ranks: decided, and no "no rank" remark.
      for (const LayerChoice &l : cand.layers)
        if (llvm::none_of(remarks, [&](const std::string &r) {
              return StringRef(r).starts_with(l.where + ": ") &&
                     StringRef(r).contains("no rank");
            }))
          anyCandidateLayer = true;
      if (cand.key.empty() || llvm::all_of(cand.layers, [](auto &l) {
            return l.action == "dense";
          }))
        continue;
      cand.flops = modelFlops(*cand.module, pricedBatch);
      if (llvm::any_of(candidates,
                       [&](const Candidate &x) { return x.key == cand.key; }))
        continue;
      candidates.push_back(std::move(cand));
    }
  }
  if (candidates.empty()) {
    std::string why;
    for (const std::string &s : skipped)
      why += "\n  " + s;
    if (anyCandidateLayer)
      return fail(
          llvm::formatv("no operating point of the sweep (max-error up to {0} "
                        "in the {1} norm(s), target {2}, batch {3}) factorizes "
                        "a layer of '{4}': every layer with candidate ranks "
                        "stays dense because no candidate is both within the "
                        "error bound and predicted faster",
                        kErrors[std::size(kErrors) - 1],
                        llvm::join(o.errorNorms, ", "), o.target, pricedBatch,
                        o.inputFile)
              .str() +
          why);
    if (why.empty())
      why = "\n  (no linalg.matmul with a constant weight and no "
            "linalg.conv_2d_nchw_fchw with a constant filter)";
    return fail("no layer of '" + o.inputFile +
                "' can be factorized at any operating point; per layer:" + why);
  }
  for (const std::string &s : skipped)
    os << "not factorized: " << s << "\n";
  Evaluation dense;
  if (!c.evaluate(*module, dense))
    return fail("cannot run the dense model: " + c.error);

  std::vector<size_t> order(candidates.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t i, size_t j) {
    const Candidate &a = candidates[i], &b = candidates[j];
    double primaryA = o.objective == "flops" ? a.flops : a.predictedUs;
    double primaryB = o.objective == "flops" ? b.flops : b.predictedUs;
    double secondA = o.objective == "flops" ? a.predictedUs : a.flops;
    double secondB = o.objective == "flops" ? b.predictedUs : b.flops;
    return std::tie(primaryA, secondA, i) < std::tie(primaryB, secondB, j);
  });

  double denseUs = candidates.front().denseUs;
  os << llvm::formatv("dense: flops {0} predicted {1:f1} us measured {2:f1} us "
                      "(batch {3}) val_accuracy {4:f4} ({5}/{6})\n",
                      denseFlops, denseUs, dense.measuredUs, c.timingBatch,
                      dense.accuracy, dense.correct, dense.counted);
  os << llvm::formatv("{0} operating point(s); {1}, budget: val_accuracy "
                      ">= {2:f4}\n",
                      candidates.size(),
                      o.objective == "measured"
                          ? "running all (in order of predicted latency), "
                            "keeping the fastest measured"
                          : "trying the cheapest first (by " + o.objective +
                                ")",
                      dense.accuracy - o.maxAccuracyDrop);
  // --objective=measured: every candidate is run, and the one with the least
  // measured latency among those within the accuracy budget is written;
  // otherwise the first (cheapest by the objective) within the budget.
  bool byMeasured = o.objective == "measured";
  Candidate *chosen = nullptr;
  Evaluation chosenEval;
  for (size_t i : order) {
    Candidate &cand = candidates[i];
    Evaluation e;
    if (!c.evaluate(*cand.module, e))
      return fail("cannot run the candidate {" + cand.options +
                  "}: " + c.error);
    std::string tunedNote;
    if (o.finetune) {
      // HALOC's recipe: factorize, then fine-tune; the candidate is judged by
      // the better of the two on the validation data.
      OwningOpRef<ModuleOp> tuned = cand.module->clone();
      Evaluation t;
      if (!c.finetune(*tuned, staticBatch) || !c.evaluate(*tuned, t))
        return fail("cannot fine-tune the candidate {" + cand.options +
                    "}: " + c.error);
      tunedNote = llvm::formatv(" -> {0:f4} fine-tuned", t.accuracy).str();
      if (t.accuracy >= e.accuracy) {
        cand.module = std::move(tuned);
        cand.finetuned = true;
        cand.accuracyBeforeFinetune = e.accuracy;
        e = t;
      }
    }
    bool ok = dense.accuracy - e.accuracy <= o.maxAccuracyDrop + 1e-12;
    os << llvm::formatv(
        "  ranks [{0}] flops {1:f3} predicted {2:f3} measured {3:f3} "
        "val_accuracy {4:f4}{5} ({6}) {7}\n",
        StringRef(cand.key).drop_back(), double(cand.flops) / denseFlops,
        cand.predictedUs / denseUs,
        e.measuredUs / std::max(dense.measuredUs, 1e-9),
        cand.finetuned ? cand.accuracyBeforeFinetune : e.accuracy, tunedNote,
        cand.options, ok ? "accepted" : "rejected");
    if (!ok)
      continue;
    if (!chosen || e.measuredUs < chosenEval.measuredUs) {
      chosen = &cand;
      chosenEval = e;
    }
    if (!byMeasured)
      break;
  }
  if (chosen && byMeasured) {
    if (chosenEval.measuredUs >= dense.measuredUs)
      return fail(llvm::formatv("no operating point within the accuracy "
                                "budget was measured faster than the dense "
                                "model ({0:f1} us at best, dense {1:f1} us); "
                                "nothing written",
                                chosenEval.measuredUs, dense.measuredUs)
                      .str());
    os << llvm::formatv("chosen by measured latency: ranks [{0}]\n",
                        StringRef(chosen->key).drop_back());
  }
  if (!chosen)
    return fail(llvm::formatv("no operating point keeps the validation "
                              "accuracy within {0} of the dense model's "
                              "{1:f4}; nothing written",
                              o.maxAccuracyDrop, dense.accuracy)
                    .str());

  for (const LayerChoice &l : chosen->layers)
    os << llvm::formatv("  layer {0}: {1}{2} predicted {3:f1} -> {4:f1} us\n",
                        l.where, l.action,
                        l.action == "dense" ? std::string()
                                            : " rank " + std::to_string(l.rank),
                        l.beforeUs, l.afterUs);
  os << llvm::formatv("compressed: flops {0} ({1:f3} of dense) predicted "
                      "{2:f1} us ({3:f3}) measured {4:f1} us ({5:f2}x) "
                      "val_accuracy {6:f4} ({7}/{8}, drop {9:f4})\n",
                      chosen->flops, double(chosen->flops) / denseFlops,
                      chosen->predictedUs, chosen->predictedUs / denseUs,
                      chosenEval.measuredUs,
                      dense.measuredUs / std::max(chosenEval.measuredUs, 1e-9),
                      chosenEval.accuracy, chosenEval.correct,
                      chosenEval.counted, dense.accuracy - chosenEval.accuracy);

  if (chosen->finetuned)
    os << llvm::formatv("fine-tuned: val_accuracy {0:f4} before, {1:f4} after "
                        "({2} steps of AdamW, lr {3:e1})\n",
                        chosen->accuracyBeforeFinetune, chosenEval.accuracy,
                        o.steps, o.lr);
  std::string writeError;
  auto out = openOutputFile(o.outputFile, &writeError);
  if (!out)
    return fail("cannot write '" + o.outputFile + "': " + writeError);
  chosen->module->print(out->os());
  out->os() << "\n";
  out->keep();
  os << "wrote '" << o.outputFile << "'\n";
  return 0;
}
