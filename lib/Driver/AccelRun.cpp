//===- AccelRun.cpp - lathe-run --backend=accel ---------------------------===//
//
// The accelerator backend of lathe-run (docs/Targets/Accel.md): compiles the
// module with lathe-accel-pipeline for the device of --accel-config, runs the
// engine program of the entry on the simulator (runtime/accel) for the
// simulated latency, per-engine busy time, waits, bytes moved and a Chrome
// trace, and computes the results functionally with the host kernels (the
// CPU backend's kernels of the same kernel ops; the tiled program itself is
// not executed element by element).
//
//===----------------------------------------------------------------------===//

#include "lathe/Driver/Run.h"

#include "lathe/Driver/Executable.h"
#include "lathe/Driver/HostTensors.h"
#include "lathe/Support/ParseGuard.h"
#include "lathe/Target/Accel/Device.h"
#include "lathe/Target/Accel/IR/AccelOps.h"
#include "lathe/Target/Accel/Pipeline.h"
#include "lathe/runtime/AccelSim.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::lathe;

namespace {
int fail(const llvm::Twine &message) {
  llvm::errs() << "lathe-run: error: " << message << "\n";
  return 1;
}

/// Gives the entry's dynamic arguments the shapes of the given inputs (a
/// tensor.cast back to the declared type; canonicalization propagates the
/// sizes), so every engine op has static sizes.
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
  PassManager pm(module.getContext());
  pm.addPass(createCanonicalizerPass());
  if (failed(pm.run(module))) {
    error = "could not propagate the input shapes through @" + entry.str();
    return failure();
  }
  return success();
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
  if (failed(specializeToInputs(*module, options.entry, options, error)))
    return fail(error);
  PassManager pm = PassManager::on<ModuleOp>(&context);
  AccelPipelineOptions pipelineOptions;
  pipelineOptions.config = options.accelConfig;
  pipelineOptions.policy = options.accelPolicy;
  pipelineOptions.mmeType = options.accelMmeType;
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
  int64_t onMme = 0, onTpc = 0, onBoth = 0;
  if (auto func = module->lookupSymbol<func::FuncOp>(options.entry))
    func.walk([&](Operation *op) {
      auto engine = op->getAttrOfType<StringAttr>("accel.engine");
      if (!engine)
        return;
      (engine.getValue() == "mme"   ? onMme
       : engine.getValue() == "tpc" ? onTpc
                                    : onBoth)++;
      llvm::json::Object d{{"op", op->getName().getStringRef().str()},
                           {"loc", locString(op->getLoc())},
                           {"engine", engine.getValue().str()}};
      if (auto c = op->getAttrOfType<IntegerAttr>("accel.mme_cycles"))
        d["mme_cycles"] = c.getInt();
      if (auto c = op->getAttrOfType<IntegerAttr>("accel.tpc_cycles"))
        d["tpc_cycles"] = c.getInt();
      if (auto f = op->getAttrOfType<FloatAttr>("accel.tpc_fraction"))
        d["tpc_fraction"] = f.getValueAsDouble();
      if (auto r = op->getAttrOfType<StringAttr>("accel.reason"))
        d["reason"] = r.getValue().str();
      placement.push_back(std::move(d));
    });

  // Functional results from the host kernels.
  llvm::json::Object report;
  int rc = 0;
  std::string hostReport;
  if (!options.accelTimingOnly) {
    RunOptions cpu = options;
    cpu.backend = "cpu";
    if (!options.reportPath.empty())
      hostReport = options.reportPath + ".host.json";
    cpu.reportPath = hostReport;
    rc = runMain(cpu, registry);
    if (rc != 0)
      return rc;
    if (!hostReport.empty()) {
      auto buffer = llvm::MemoryBuffer::getFile(hostReport);
      if (buffer)
        if (auto parsed = llvm::json::parse((*buffer)->getBuffer()))
          if (auto *object = parsed->getAsObject())
            report = std::move(*object);
      llvm::sys::fs::remove(hostReport);
    }
  }

  double simulatedMs = result.timeUs / 1e3;
  llvm::outs() << llvm::formatv(
      "simulated latency on {0} (policy {1}): {2} cycles = {3:f3} us at "
      "{4:f2} GHz (simulated, not measured)\n",
      device.name, options.accelPolicy, result.totalCycles, result.timeUs,
      device.clockGHz);
  llvm::outs() << llvm::formatv(
      "placement: {0} op(s) on the matrix engines, {1} on the vector cores, "
      "{6} split between them; bytes loaded {2}, stored {3}; MMEs idle while "
      "TPCs busy {4:f3} of the time (charged to TPC waits: {5:f3})\n",
      onMme, onTpc, result.bytesLoaded, result.bytesStored,
      result.mmeIdleWhileTpcBusy, result.mmeWaitShareOnTpc, onBoth);
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
    // The host's wall times measure the functional execution, not the
    // device: they move under host_functional.
    llvm::json::Object host;
    for (const char *key : {"latency_ms", "kernels", "compile_ms",
                            "peak_memory_bytes", "calls_timed"})
      if (auto *v = report.get(key)) {
        host[key] = std::move(*v);
        report.erase(key);
      }
    report["host_functional"] = std::move(host);
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
        {"functional", options.accelTimingOnly
                           ? "skipped (--accel-timing-only)"
                           : "host kernels (CPU backend) on the same kernel "
                             "ops"}};
    std::error_code ec;
    llvm::raw_fd_ostream os(options.reportPath, ec);
    if (ec)
      return fail("cannot write report '" + options.reportPath +
                  "': " + ec.message());
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(report))) << "\n";
  }
  return rc;
}
