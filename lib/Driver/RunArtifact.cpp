//===- RunArtifact.cpp - lathe-run on a .lathe file -----------------------===//
//
// A file compiled by lathe-compile is loaded and run through the runtime's
// Model.h API, exactly as a program embedding it would: nothing is compiled.
// Inputs, outputs, --repeat and --report work as for .mlir files; the report
// says how long loading and the first call took instead of compile time.
//
//===----------------------------------------------------------------------===//

#include "RunSupport.h"
#include "lathe/Driver/HostTensors.h"
#include "lathe/Driver/Observe.h"
#include "lathe/Driver/Run.h"
#ifdef LATHE_HAS_CUDA
#include "lathe/Driver/RunCUDA.h"
#endif
#include "lathe/runtime/Model.h"
#include "lathe/runtime/ModelFormat.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>

using namespace mlir;
using namespace mlir::lathe;

using run_support::Clock;
using run_support::fail;
using run_support::msSince;

namespace {

std::string infoString(const lathe_tensor_info &info) {
  std::string s = "[";
  for (int32_t d = 0; d < info.rank; ++d)
    s += (d ? ", " : "") + (info.dims[d] == LATHE_DYNAMIC_DIM
                                ? std::string("?")
                                : std::to_string(info.dims[d]));
  return s + "] " + lathe_dtype_name(info.dtype);
}

/// Frees the model (and the outputs it returned) on every path out.
struct ModelHolder {
  lathe_model *model = nullptr;
  std::vector<lathe_host_tensor> outputs;
  ~ModelHolder() {
    for (lathe_host_tensor &t : outputs)
      lathe_host_tensor_free(&t);
    lathe_model_free(model);
  }
};

} // namespace

bool mlir::lathe::isModelArtifact(llvm::StringRef path) {
  if (path.ends_with(".lathe"))
    return true;
  std::ifstream file(path.str(), std::ios::binary);
  char magic[8] = {};
  return file.read(magic, sizeof(magic)) &&
         std::memcmp(magic, LATHE_MODEL_MAGIC, sizeof(magic)) == 0;
}

int mlir::lathe::runArtifactMain(const RunOptions &options) {
#ifdef LATHE_HAS_CUDA
  // lathe-compile --backend=cuda: the CUDA runtime loads it.
  if (isCudaArtifact(options.inputFile))
    return runCudaArtifact(options, options.inputFile, std::nullopt);
#endif
  if (options.allowTf32)
    return fail("--allow-tf32 applies to --backend=cuda; '" +
                options.inputFile + "' was compiled for the CPU");
  // What describes compilation has no meaning for a compiled file.
  if (!options.compileTo.empty() || !options.passPipeline.empty() ||
      options.pipeline != "default")
    return fail("'" + options.inputFile +
                "' is compiled already: --compile-to, --pass-pipeline and "
                "--pipeline apply to .mlir files only");
  if (options.ranks > 1)
    return fail("--ranks runs .mlir files only");
  if (options.repeat < 0 || options.repeat > kMaxRepeat)
    return fail("--repeat must be in [0, " + llvm::Twine(kMaxRepeat) +
                "], got " + llvm::Twine(options.repeat));
  if (options.threadsGiven && options.threads < 1)
    return fail("--threads must be at least 1, got " +
                llvm::Twine(options.threads));

  // Inputs first: loading is what is timed.
  std::vector<HostTensor> inputs(options.inputs.size());
  for (auto [i, spec] : llvm::enumerate(options.inputs)) {
    std::string error;
    if (!readTensorFile(spec, inputs[i], error))
      return fail(llvm::formatv("input #{0}: {1}", i, error));
  }

  ModelHolder holder;
  lathe_model_options modelOptions;
  lathe_model_options_init(&modelOptions);
  modelOptions.num_threads = options.threadsGiven ? options.threads : 0;
  Clock::time_point loadStart = Clock::now();
  if (lathe_model_load_with_options(options.inputFile.c_str(), &modelOptions,
                                    &holder.model) != LATHE_OK)
    return fail(lathe_status_message());
  double loadMs = msSince(loadStart);
  lathe_model *model = holder.model;
  int32_t numInputs = lathe_model_num_inputs(model);
  int32_t numOutputs = lathe_model_num_outputs(model);
  if (int rc = run_support::checkArtifactSignature(
          options, lathe_model_metadata(model, "entry"), inputs.size(),
          numInputs, numOutputs))
    return rc;
  inputs.resize(numInputs);
  MLIRContext context;
  for (int32_t i = static_cast<int32_t>(options.inputs.size()); i < numInputs;
       ++i) {
    lathe_tensor_info info;
    lathe_model_input_info(model, i, &info);
    if (!options.fillMissing)
      return fail(llvm::formatv("missing input for input #{0} ('{1}', "
                                "expected {2}); pass --input=FILE or "
                                "--fill-missing",
                                i, info.name, infoString(info)));
    std::vector<int64_t> shape(info.dims, info.dims + info.rank);
    if (llvm::is_contained(shape, LATHE_DYNAMIC_DIM))
      return fail(llvm::formatv("--fill-missing: input #{0} ('{1}') has "
                                "dynamic sizes ({2}); pass --input=FILE",
                                i, info.name, infoString(info)));
    std::string error;
    auto type =
        RankedTensorType::get(shape, elementTypeFor(context, info.dtype));
    if (!fillRandom(type, options.seed + i, inputs[i], error))
      return fail(llvm::formatv("input #{0}: {1}", i, error));
  }
  std::vector<lathe_host_tensor> views;
  for (const HostTensor &t : inputs)
    views.push_back(t.t);

  // The first call's results are kept; the timed calls write into buffers
  // of their own. --trace records every call (kernel calls; the generated
  // code of a .lathe file has no region marks), --memory-timeline the first.
  holder.outputs.assign(numOutputs, lathe_host_tensor{});
  std::vector<lathe_host_tensor> scratch(numOutputs);
  std::vector<HostTensor> scratchOwner(numOutputs);
  lathe_rt_profile_reset();
  CallObservation how;
  how.tool = "lathe-run";
  how.repeat = options.repeat;
  how.tracePath = options.tracePath;
  how.traceProcess = "lathe-run " + options.inputFile;
  how.memoryTimelinePath = options.memoryTimelinePath;
  how.timelineTitle = "live bytes over one call (" + options.inputFile + ")";
  auto runCall = [&](int call) {
    lathe_host_tensor *outputs =
        call == 0 ? holder.outputs.data() : scratch.data();
    if (lathe_model_run(model, views.data(), numInputs, outputs, numOutputs) ==
        LATHE_OK)
      return true;
    fail(lathe_status_message());
    return false;
  };
  auto allocScratch = [&] {
    for (int32_t i = 0; i < numOutputs; ++i) {
      const lathe_host_tensor &first = holder.outputs[i];
      if (lathe_host_tensor_alloc(&scratchOwner[i].t, first.dtype, first.rank,
                                  first.shape) != LATHE_OK) {
        fail(lathe_rt_last_error());
        return false;
      }
      scratch[i] = scratchOwner[i].t;
    }
    if (options.repeat > 0)
      lathe_rt_profile_reset();
    return true;
  };
  ObservedCalls observed;
  std::string observeError;
  if (!observeCalls(
          how, runCall, allocScratch, [](int) {}, observed, observeError))
    return observeError.empty() ? 1 : fail(observeError);

  for (int32_t i = 0; i < numOutputs; ++i) {
    HostTensor result;
    result.t = holder.outputs[i];
    std::string error;
    llvm::outs() << "result #" << i << ": " << summarize(result) << "\n";
    bool ok = static_cast<size_t>(i) >= options.outputs.size() ||
              writeTensorFile(options.outputs[i], result, error);
    result.t = lathe_host_tensor{}; // still the holder's
    if (!ok)
      return fail("output #" + llvm::Twine(i) + ": " + error);
  }
  observed.printLatency(llvm::outs());
  llvm::outs() << llvm::formatv("load {0:f1} ms, first call {1:f1} ms "
                                "(compiled ahead of time)\n",
                                loadMs, observed.firstMs);

  if (!options.reportPath.empty()) {
    auto metadata = [&](const char *key) {
      const char *value = lathe_model_metadata(model, key);
      return value ? llvm::json::Value(value) : llvm::json::Value(nullptr);
    };
    llvm::json::Object kernels;
    int repeats = std::max<int>(observed.timesMs.size(), 1);
    for (int k = 0; k < lathe_rt_profile_count(); ++k)
      kernels[lathe_rt_profile_name(k)] =
          llvm::json::Object{{"ms", lathe_rt_profile_ms(k) / repeats},
                             {"calls", lathe_rt_profile_calls(k) / repeats}};
    llvm::json::Object report{
        {"file", options.inputFile},
        {"artifact", true},
        {"entry", metadata("entry")},
        {"backend", "cpu"},
        {"target", metadata("target")},
        {"cpu_features", metadata("cpu_features")},
        {"precision", metadata("precision")},
        {"load_ms", loadMs},
        {"first_call_ms", observed.firstMs},
        {"repeat", options.repeat},
        {"kernels", std::move(kernels)},
    };
    observed.addToReport(report, how);
    if (int rc =
            run_support::writeReport(options.reportPath, std::move(report)))
      return rc;
  }
  return 0;
}
