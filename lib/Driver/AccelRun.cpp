//===- AccelRun.cpp - lathe-run --backend=accel ---------------------------===//
//
// The accelerator backend of lathe-run (docs/Targets/Accel.md): compiles the
// module with lathe-accel-pipeline for the device of --accel-config, runs the
// engine program of the entry on the simulator (runtime/accel) for the
// simulated latency, per-engine busy time, waits, bytes moved and a Chrome
// trace, and executes the same engine program on the data (runtime/accel's
// AccelExec: every DMA transfer, product and vector-core kernel tile by tile
// in schedule order) for the results. The CPU backend runs the module too,
// only as the reference the report's max_rel_err_vs_cpu measures against.
//
//===----------------------------------------------------------------------===//

#include "lathe/Driver/Run.h"

#include "RunSupport.h"
#include "lathe/Driver/Decisions.h"
#include "lathe/Driver/Executable.h"
#include "lathe/Driver/HostTensors.h"
#include "lathe/Support/ParseGuard.h"
#include "lathe/Target/Accel/Device.h"
#include "lathe/Target/Accel/IR/AccelOps.h"
#include "lathe/Target/Accel/Pipeline.h"
#include "lathe/runtime/AccelExec.h"
#include "lathe/runtime/AccelSim.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <fcntl.h>
#include <unistd.h>

using namespace mlir;
using namespace mlir::lathe;

using run_support::fail;

namespace {

/// A loop-carried tensor that enters as a cast of a more static value
/// (a specialised input's shape) is carried at the static type: the body
/// sees a cast of it, the yield a cast back, the uses of the result a cast
/// to the old type. Upstream's scf.for canonicalization does this only for
/// results with one use; an RNN layer's outputs have several (tensor.dim,
/// the transpose after the loop).
struct StaticLoopCarried : OpRewritePattern<scf::ForOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(scf::ForOp loop,
                                PatternRewriter &rewriter) const override {
    for (OpOperand &init : loop.getInitArgsMutable()) {
      auto cast = init.get().getDefiningOp<tensor::CastOp>();
      if (!cast || cast.getSource().getType() == cast.getType() ||
          !tensor::preservesStaticInformation(cast.getType(),
                                              cast.getSource().getType()))
        continue;
      rewriter.replaceOp(
          loop, scf::replaceAndCastForOpIterArg(
                    rewriter, loop, init, cast.getSource(),
                    [](OpBuilder &b, Location loc, Type type, Value v) {
                      return tensor::CastOp::create(b, loc, type, v);
                    }));
      return success();
    }
    return failure();
  }
};

/// A reshape to a constant shape gets that shape as its static result type
/// (a cast back to the old type for its uses), once its source is static:
/// an ONNX Reshape's shape computed from input sizes becomes constant once
/// they are.
struct StaticReshape : OpRewritePattern<tensor::ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(tensor::ReshapeOp reshape,
                                PatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(reshape.getResult().getType());
    DenseIntElementsAttr shape;
    if (type.hasStaticShape() ||
        !matchPattern(reshape.getShape(), m_Constant(&shape)))
      return failure();
    SmallVector<int64_t> sizes;
    for (const APInt &size : shape.getValues<APInt>())
      sizes.push_back(size.getSExtValue());
    auto staticType =
        RankedTensorType::get(sizes, type.getElementType(), type.getEncoding());
    if (!tensor::CastOp::areCastCompatible(staticType, type))
      return failure();
    // As the importer writes a static Reshape: a collapse to one dimension
    // and an expand to the shape (views the engine program addresses).
    Value source = reshape.getSource();
    if (auto sourceCast = source.getDefiningOp<tensor::CastOp>())
      source = sourceCast.getSource();
    auto sourceType = cast<RankedTensorType>(source.getType());
    if (!sourceType.hasStaticShape() || sourceType.getRank() == 0 ||
        sizes.empty())
      return failure();
    Location loc = reshape.getLoc();
    SmallVector<ReassociationIndices> all(1);
    for (int64_t d = 0; d < sourceType.getRank(); ++d)
      all[0].push_back(d);
    Value flat = tensor::CollapseShapeOp::create(rewriter, loc, source, all);
    SmallVector<ReassociationIndices> into(1);
    for (int64_t d = 0; d < static_cast<int64_t>(sizes.size()); ++d)
      into[0].push_back(d);
    Value replacement =
        tensor::ExpandShapeOp::create(rewriter, loc, staticType, flat, into);
    rewriter.replaceOpWithNewOp<tensor::CastOp>(reshape, type, replacement);
    return success();
  }
};

/// Gives the entry's dynamic arguments the shapes of the given inputs (a
/// tensor.cast back to the declared type; canonicalization, with
/// StaticLoopCarried for the loops of an RNN layer and StaticReshape,
/// propagates the sizes),
/// so every engine op has static sizes: the module is compiled for the
/// inputs' shapes, as a shape-specialised build would be.
LogicalResult specializeToInputs(ModuleOp module, StringRef entry,
                                 const RunOptions &options,
                                 std::string &error) {
  auto func = module.lookupSymbol<func::FuncOp>(entry);
  if (!func || func.isExternal()) {
    error = "no function @" + entry.str() + " with a body";
    return failure();
  }
  Block &body = func.getBody().front();
  OpBuilder builder(module.getContext());
  builder.setInsertionPointToStart(&body);
  SmallVector<Type> argTypes;
  bool changed = false;
  for (auto [i, arg] : llvm::enumerate(body.getArguments())) {
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (type && !type.hasStaticShape()) {
      if (i >= options.inputs.size()) {
        error = llvm::formatv("argument #{0} of @{1} has a dynamic shape: the "
                              "accelerator simulates static shapes, pass "
                              "--input for it",
                              i, entry)
                    .str();
        return failure();
      }
      HostTensor input;
      if (!readTensorFile(options.inputs[i], input, error))
        return failure();
      SmallVector<int64_t> shape(input.t.shape, input.t.shape + input.t.rank);
      auto given = RankedTensorType::get(shape, type.getElementType());
      if (!tensor::CastOp::areCastCompatible(given, type)) {
        error = llvm::formatv("input #{0} has shape {1}, which argument #{0} "
                              "of @{2} ({3}) cannot take",
                              i, given, entry, type)
                    .str();
        return failure();
      }
      arg.setType(RankedTensorType::get(shape, type.getElementType(),
                                        type.getEncoding()));
      auto cast = tensor::CastOp::create(builder, func.getLoc(), type, arg);
      arg.replaceAllUsesExcept(cast, cast);
      changed = true;
    }
    argTypes.push_back(arg.getType());
  }
  if (!changed)
    return success();
  func.setFunctionType(FunctionType::get(module.getContext(), argTypes,
                                         func.getFunctionType().getResults()));
  MLIRContext *context = module.getContext();
  RewritePatternSet patterns(context);
  for (Dialect *dialect : context->getLoadedDialects())
    dialect->getCanonicalizationPatterns(patterns);
  for (RegisteredOperationName op : context->getRegisteredOperations())
    op.getCanonicalizationPatterns(patterns, context);
  patterns.add<StaticLoopCarried, StaticReshape>(context);
  // Not reaching a fixed point is no error (as for the canonicalizer pass):
  // a size left dynamic is reported by the op that needs it static.
  (void)applyPatternsGreedily(module, std::move(patterns));
  return success();
}

/// The f32 elements of a constant.
bool constantData(ElementsAttr value, std::vector<float> &out) {
  if (auto ints = dyn_cast<DenseIntElementsAttr>(value)) {
    out.clear();
    for (const APInt &x : ints.getValues<APInt>())
      out.push_back(::lathe::accel::idAsFloat(x.getSExtValue()));
    return true;
  }
  if (auto res = dyn_cast<DenseF32ResourceElementsAttr>(value)) {
    std::optional<ArrayRef<float>> data = res.tryGetAsArrayRef();
    if (!data)
      return false;
    out.assign(data->begin(), data->end());
    return true;
  }
  if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
    if (!dense.getElementType().isF32())
      return false;
    out.clear();
    for (float x : dense.getValues<float>())
      out.push_back(x);
    return true;
  }
  return false;
}

/// Runs `fn` with stdout sent to /dev/null (the CPU reference run prints its
/// own result lines, which are not lathe-run --backend=accel's results).
int withoutStdout(llvm::function_ref<int()> fn) {
  llvm::outs().flush();
  fflush(stdout);
  int saved = dup(1);
  int null = open("/dev/null", O_WRONLY);
  if (saved < 0 || null < 0)
    return fn();
  dup2(null, 1);
  close(null);
  int rc = fn();
  llvm::outs().flush();
  fflush(stdout);
  dup2(saved, 1);
  close(saved);
  return rc;
}

std::string locString(Location loc) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << loc;
  return s;
}
} // namespace

int mlir::lathe::runAccelMain(const RunOptions &options,
                              DialectRegistry &registry) {
  if (options.accelConfig.empty())
    return fail("--backend=accel needs --accel-config=FILE (a device "
                "description such as configs/accel/gaudi2.json)");
  if (options.accelPolicy != "cost" && options.accelPolicy != "all-mme" &&
      options.accelPolicy != "all-tpc")
    return fail("unknown --accel-policy '" + options.accelPolicy +
                "' (expected cost, all-mme or all-tpc)");
  if (!options.compileTo.empty() || !options.passPipeline.empty() ||
      options.pipeline != "default" || options.ranks > 0)
    return fail("--backend=accel takes none of --compile-to, --pass-pipeline, "
                "--pipeline=reference or --ranks (lathe-opt "
                "--lathe-accel-pipeline prints the engine IR)");
  if (options.precision != "f32")
    return fail("--backend=accel runs f32 (with --accel-mme-type=bf16, the "
                "matrix engines' products at bf16); --precision=" +
                options.precision + " is the CPU backend's");
  if (options.accelMmeType != "f32" && options.accelMmeType != "bf16")
    return fail("unknown --accel-mme-type '" + options.accelMmeType +
                "' (expected f32 or bf16)");
  ::lathe::accel::Device device;
  std::string error;
  if (!loadAccelDevice(options.accelConfig, device, error))
    return fail(error);
  device.mmeBf16 = options.accelMmeType == "bf16";

  // Compile for the device and simulate.
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context);
  std::string parseError;
  OwningOpRef<ModuleOp> module = parseFileOrExit(
      options.inputFile, &context, sourceMgr, "lathe-run", parseError);
  if (!module && !parseError.empty())
    return fail("cannot open '" + options.inputFile + "': " + parseError);
  if (!module)
    return fail("could not parse or verify '" + options.inputFile + "'");
  // Weights from HDF5 (`lathe.weight`) become constants: the engine program
  // reads a weight from its buffer like any other constant.
  SmallString<256> baseDir(options.inputFile);
  llvm::sys::path::remove_filename(baseDir);
  if (baseDir.empty())
    baseDir = ".";
  if (failed(run_support::inlineWeights(*module, baseDir, error)))
    return fail(error);
  if (failed(specializeToInputs(*module, options.entry, options, error)))
    return fail(error);
  PassManager pm = PassManager::on<ModuleOp>(&context);
  // Every decision, each seen once: accel-place's replaces an earlier pass's
  // on the same op (a sparsegcn aggregate), which the report still lists.
  auto decisionCollector = std::make_unique<DecisionCollector>();
  DecisionCollector *decisionsSeen = decisionCollector.get();
  decisionsSeen->collect(*module, "input");
  pm.addInstrumentation(std::move(decisionCollector));
  AccelPipelineOptions pipelineOptions;
  pipelineOptions.config = options.accelConfig;
  pipelineOptions.policy =
      options.accelPolicy == "all-mme"   ? AccelPolicy::AllMme
      : options.accelPolicy == "all-tpc" ? AccelPolicy::AllTpc
                                         : AccelPolicy::Cost;
  pipelineOptions.mmeType =
      options.accelMmeType == "bf16" ? AccelMmeType::BF16 : AccelMmeType::F32;
  buildAccelPipeline(pm, pipelineOptions);
  if (failed(pm.run(*module)))
    return fail("compilation of '" + options.inputFile +
                "' for the accelerator failed");
  accel::ProgramOp program;
  for (auto p : module->getOps<accel::ProgramOp>())
    if (p.getFunction() == options.entry)
      program = p;
  if (!program)
    return fail("no engine program for @" + options.entry);
  ::lathe::accel::Program sim;
  if (!buildAccelProgram(program, sim, error))
    return fail(error);
  ::lathe::accel::Result result;
  if (!::lathe::accel::simulate(device, sim, result, error))
    return fail("simulation failed: " + error);

  // Placement decisions, for the report.
  llvm::json::Array placement;
  int64_t onMme = 0, onTpc = 0, onBoth = 0, onSparse = 0;
  if (auto func = module->lookupSymbol<func::FuncOp>(options.entry))
    func.walk([&](Operation *op) {
      auto placed = dyn_cast_or_null<accel::DecisionAttr>(getDecision(op));
      if (!placed)
        return;
      StringRef engine = placed.getEngine();
      (engine == "mme"      ? onMme
       : engine == "tpc"    ? onTpc
       : engine == "sparse" ? onSparse
                            : onBoth)++;
      llvm::json::Object d{{"op", op->getName().getStringRef().str()},
                           {"loc", locString(op->getLoc())},
                           {"engine", engine.str()}};
      if (std::optional<int64_t> c = placed.getMmeCycles())
        d["mme_cycles"] = *c;
      d["tpc_cycles"] = placed.getTpcCycles();
      if (std::optional<int64_t> c = placed.getSparseCycles())
        d["sparse_cycles"] = *c;
      if (std::optional<double> f = placed.getTpcShare())
        d["tpc_fraction"] = *f;
      if (std::optional<int64_t> e = placed.getTpcExtent())
        d["tpc_extent"] = *e;
      if (std::optional<int64_t> e = placed.getSplitExtent())
        d["split_extent"] = *e;
      if (!placed.getSplit().empty())
        d["split"] = placed.getSplit().str();
      d["reason"] = placed.getReason().str();
      placement.push_back(std::move(d));
    });

  std::string hostReportPath;
  // Functional results: the engine program executed on the data.
  llvm::json::Object report;
  int rc = 0;
  double maxRelErr = -1;
  std::vector<HostTensor> results;
  if (!options.accelTimingOnly) {
    std::vector<::lathe::accel::ExecOp> execs;
    std::vector<AccelBufferInfo> buffers;
    if (!buildAccelExec(program, sim, execs, buffers, error))
      return fail(error + " (--accel-timing-only simulates the timing alone)");
    auto func = module->lookupSymbol<func::FuncOp>(options.entry);
    ::lathe::accel::Memory memory;
    int numResults = 0;
    for (const AccelBufferInfo &b : buffers) {
      int id = memory.add(b.elements);
      numResults = std::max(numResults, b.result + 1);
      if (b.arg >= 0) {
        auto type = cast<RankedTensorType>(func.getArgumentTypes()[b.arg]);
        HostTensor input;
        if (static_cast<size_t>(b.arg) < options.inputs.size()) {
          if (!readTensorFile(options.inputs[b.arg], input, error))
            return fail("input #" + llvm::Twine(b.arg) + ": " + error);
        } else if (options.fillMissing) {
          if (!fillRandom(type, options.seed + b.arg, input, error))
            return fail(error);
        } else {
          return fail(llvm::formatv("argument #{0} of @{1} has no --input",
                                    b.arg, options.entry));
        }
        if (b.integer) {
          // A gather's ids, as the CPU backend takes them (int64 or int32).
          if ((input.t.dtype != LATHE_I64 && input.t.dtype != LATHE_I32) ||
              input.numElements() != b.elements)
            return fail(llvm::formatv("input #{0} must be int64 or int32 "
                                      "with {1} elements, got {2}",
                                      b.arg, b.elements, summarize(input)));
          memory.hbm[id].resize(b.elements);
          for (int64_t k = 0; k < b.elements; ++k)
            memory.hbm[id][k] = ::lathe::accel::idAsFloat(
                input.t.dtype == LATHE_I64
                    ? static_cast<const int64_t *>(input.t.data)[k]
                    : static_cast<const int32_t *>(input.t.data)[k]);
          continue;
        }
        if (input.t.dtype != LATHE_F32 || input.numElements() != b.elements)
          return fail(llvm::formatv("input #{0} must be float32 with {1} "
                                    "elements, got {2}",
                                    b.arg, b.elements, summarize(input)));
        const float *data = static_cast<const float *>(input.t.data);
        memory.hbm[id].assign(data, data + b.elements);
      } else if (b.value) {
        if (!constantData(b.value, memory.hbm[id]) ||
            static_cast<int64_t>(memory.hbm[id].size()) != b.elements)
          return fail("a constant of @" + options.entry +
                      " is not f32 data the simulator can read");
      }
    }
    if (!::lathe::accel::execute(sim, execs, memory, error))
      return fail("execution of the engine program failed: " + error);
    auto returned =
        cast<func::ReturnOp>(func.getBody().front().getTerminator());
    results.resize(numResults);
    for (auto [id, b] : llvm::enumerate(buffers)) {
      if (b.result < 0)
        continue;
      // The returned value's static shape (through casts to dynamic types).
      Value v = returned.getOperand(b.result);
      while (auto castOp = v.getDefiningOp<tensor::CastOp>())
        v = castOp.getSource();
      auto type = cast<RankedTensorType>(v.getType());
      HostTensor &t = results[b.result];
      if (lathe_host_tensor_alloc(&t.t, LATHE_F32, type.getRank(),
                                  type.getShape().data()) != LATHE_OK)
        return fail("out of memory for result #" + llvm::Twine(b.result));
      std::copy(memory.hbm[id].begin(), memory.hbm[id].end(),
                static_cast<float *>(t.t.data));
    }
    for (auto [i, t] : llvm::enumerate(results)) {
      if (!t.t.data)
        return fail(llvm::formatv("result #{0} of @{1} is not in the engine "
                                  "program's buffers",
                                  i, options.entry));
      llvm::outs() << "result #" << i << ": " << summarize(t) << "\n";
      if (i < options.outputs.size() &&
          !writeTensorFile(options.outputs[i], t, error))
        return fail("output #" + llvm::Twine(i) + ": " + error);
    }

    // The reference: the CPU backend on the same inputs, compared here.
    llvm::SmallString<128> dir;
    if (llvm::sys::fs::createUniqueDirectory("lathe-accel-ref", dir))
      return fail("cannot create a folder for the CPU reference");
    RunOptions cpu = options;
    cpu.backend = "cpu";
    cpu.outputs.clear();
    for (size_t i = 0; i < results.size(); ++i) {
      llvm::SmallString<128> path(dir);
      llvm::sys::path::append(path, "ref" + llvm::Twine(i) + ".npy");
      cpu.outputs.push_back(path.str().str());
    }
    hostReportPath = (dir + "/host.json").str();
    cpu.reportPath = hostReportPath;
    rc = withoutStdout([&] { return runMain(cpu, registry); });
    if (rc != 0)
      return fail("the CPU reference run failed");
    maxRelErr = 0;
    for (size_t i = 0; i < results.size(); ++i) {
      HostTensor ref;
      if (!readTensorFile(cpu.outputs[i], ref, error))
        return fail("CPU reference #" + llvm::Twine(i) + ": " + error);
      if (ref.numElements() != results[i].numElements() ||
          ref.t.dtype != LATHE_F32)
        return fail("CPU reference #" + llvm::Twine(i) +
                    " differs in shape or type");
      const float *a = static_cast<const float *>(results[i].t.data);
      const float *r = static_cast<const float *>(ref.t.data);
      // Normwise: the largest difference over the largest reference
      // magnitude (bench/accel.py's rel_err); NaN on one side only is
      // infinite.
      double diff = 0, scale = 0;
      for (int64_t j = 0; j < ref.numElements(); ++j) {
        if (std::isnan(a[j]) != std::isnan(r[j]))
          diff = INFINITY;
        else if (!std::isnan(a[j]))
          diff = std::max(diff, std::fabs(double(a[j]) - double(r[j])));
        scale = std::max(scale, std::fabs(double(r[j])));
      }
      maxRelErr = std::max(maxRelErr, diff / std::max(scale, 1e-30));
    }
    auto buffer = llvm::MemoryBuffer::getFile(hostReportPath);
    if (buffer)
      if (auto parsed = llvm::json::parse((*buffer)->getBuffer()))
        if (auto *object = parsed->getAsObject())
          report = std::move(*object);
    llvm::sys::fs::remove_directories(dir);
    llvm::outs() << llvm::formatv(
        "functional: the engine program executed tile by tile; max relative "
        "error against the CPU backend {0:e}\n",
        maxRelErr);
  }

  double simulatedMs = result.timeUs / 1e3;
  llvm::outs() << llvm::formatv(
      "simulated latency on {0} (policy {1}): {2} cycles = {3:f3} us at "
      "{4:f2} GHz (simulated, not measured)\n",
      device.name, options.accelPolicy, result.totalCycles, result.timeUs,
      device.clockGHz);
  llvm::outs() << llvm::formatv(
      "placement: {0} op(s) on the matrix engines, {1} on the vector cores, "
      "{6} split between them{7}; bytes loaded {2}, stored {3}; MMEs idle "
      "while TPCs busy {4:f3} of the time (charged to TPC waits: {5:f3})\n",
      onMme, onTpc, result.bytesLoaded, result.bytesStored,
      result.mmeIdleWhileTpcBusy, result.mmeWaitShareOnTpc, onBoth,
      onSparse ? ", " + std::to_string(onSparse) + " on the sparse engine"
               : std::string());
  llvm::json::Array engines;
  std::string busyLine;
  for (const auto &e : result.engines) {
    if (e.slices.empty())
      continue;
    llvm::json::Object waits;
    for (int k = 0; k < 5; ++k)
      if (e.waitCycles[k])
        waits[::lathe::accel::engineKindName(
            static_cast<::lathe::accel::EngineKind>(k))] = e.waitCycles[k];
    double busy = ::lathe::accel::busyFraction(result, e);
    engines.push_back(llvm::json::Object{{"name", e.name},
                                         {"busy_cycles", e.busyCycles},
                                         {"busy_fraction", busy},
                                         {"wait_cycles", std::move(waits)}});
    if (e.kind != ::lathe::accel::EngineKind::TPC || e.name == "TPC0")
      busyLine += llvm::formatv(" {0} {1:f2}", e.name, busy).str();
  }
  llvm::outs() << "busy fraction:" << busyLine << "\n";

  if (!options.accelTrace.empty()) {
    std::error_code ec;
    llvm::raw_fd_ostream os(options.accelTrace, ec);
    if (ec)
      return fail("cannot write trace '" + options.accelTrace +
                  "': " + ec.message());
    os << ::lathe::accel::chromeTrace(device, sim, result);
  }
  if (!options.reportPath.empty()) {
    if (report.empty())
      report = llvm::json::Object{{"file", options.inputFile},
                                  {"entry", options.entry}};
    // The host's wall times measure the CPU reference run, not the device:
    // they move under host_reference.
    llvm::json::Object host;
    for (const char *key : {"latency_ms", "kernels", "compile_ms",
                            "peak_memory_bytes", "calls_timed"})
      if (auto *v = report.get(key)) {
        host[key] = std::move(*v);
        report.erase(key);
      }
    report["host_reference"] = std::move(host);
    report["backend"] = "accel";
    report["latency_kind"] = "simulated";
    report["simulated_latency_ms"] = simulatedMs;
    report["simulated"] = llvm::json::Object{
        {"device", device.name},
        {"config", options.accelConfig},
        {"policy", options.accelPolicy},
        {"mme_element_type", options.accelMmeType},
        {"clock_ghz", device.clockGHz},
        {"total_cycles", result.totalCycles},
        {"latency_us", result.timeUs},
        {"bytes_loaded", result.bytesLoaded},
        {"bytes_stored", result.bytesStored},
        {"mme_wait_share_on_tpc", result.mmeWaitShareOnTpc},
        {"mme_idle_while_tpc_busy", result.mmeIdleWhileTpcBusy},
        {"engine_ops", static_cast<int64_t>(sim.ops.size())},
        {"engines", std::move(engines)},
        {"placement", std::move(placement)},
        {"decisions", decisionsSeen->take()},
        {"functional", options.accelTimingOnly
                           ? "skipped (--accel-timing-only)"
                           : "engine program executed tile by tile"}};
    if (maxRelErr >= 0)
      report["max_rel_err_vs_cpu"] = maxRelErr;
    if (int status =
            run_support::writeReport(options.reportPath, std::move(report)))
      return status;
  }
  return rc;
}
