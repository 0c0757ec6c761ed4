//===- LatheModule.cpp - The `lathe._lathe` Python extension --------------===//
//
// Thin bindings of lib/Driver: LoadedModule (lathe-run's compilation, kept and
// called on NumPy buffers) and trainMain (lathe-train). The Python side
// (python/lathe/__init__.py) turns other array types into NumPy arrays and
// builds the user-facing API on these.
//
//===----------------------------------------------------------------------===//

#include "lathe/Driver/CompileCache.h"
#include "lathe/Driver/LoadedModule.h"
#include "lathe/Driver/Train.h"
#include "lathe/InitAllDialects.h"
#include "lathe/InitAllPasses.h"
#ifdef LATHE_HAVE_ONNX_IMPORT
#include "lathe/Import/ONNX/ImportONNX.h"
#endif
#include "lathe/runtime/Model.h"
#include "lathe/runtime/Runtime.h"

#include "mlir/IR/DialectRegistry.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace py = pybind11;
using namespace mlir::lathe;

namespace {

/// Raised as lathe.Error (a RuntimeError).
struct LatheError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

mlir::DialectRegistry &getRegistry() {
  static mlir::DialectRegistry *registry = [] {
    auto *r = new mlir::DialectRegistry(makeRegistry());
    registerAllPasses();
    return r;
  }();
  return *registry;
}

const char *numpyName(lathe_dtype dtype) {
  switch (dtype) {
  case LATHE_F32:
    return "float32";
  case LATHE_F64:
    return "float64";
  case LATHE_F16:
    return "float16";
  case LATHE_I64:
    return "int64";
  case LATHE_I32:
    return "int32";
  case LATHE_I16:
    return "int16";
  case LATHE_I8:
    return "int8";
  case LATHE_U8:
    return "uint8";
  case LATHE_BOOL:
    return "bool";
  default:
    return nullptr; // bfloat16: NumPy has no such dtype
  }
}

std::optional<lathe_dtype> dtypeOf(const py::dtype &dtype) {
  if (dtype.byteorder() == '>')
    return std::nullopt;
  char kind = dtype.kind();
  py::ssize_t size = dtype.itemsize();
  if (kind == 'f')
    return size == 4   ? std::optional(LATHE_F32)
           : size == 8 ? std::optional(LATHE_F64)
           : size == 2 ? std::optional(LATHE_F16)
                       : std::nullopt;
  if (kind == 'i')
    return size == 8   ? std::optional(LATHE_I64)
           : size == 4 ? std::optional(LATHE_I32)
           : size == 2 ? std::optional(LATHE_I16)
           : size == 1 ? std::optional(LATHE_I8)
                       : std::nullopt;
  if (kind == 'u' && size == 1)
    return LATHE_U8;
  if (kind == 'b' && size == 1)
    return LATHE_BOOL;
  return std::nullopt;
}

py::dict specDict(const TensorSpec &spec) {
  py::dict d;
  d["name"] = spec.name;
  const char *name = numpyName(spec.dtype);
  d["dtype"] = name ? name : lathe_dtype_name(spec.dtype);
  py::list shape;
  for (int64_t size : spec.shape)
    shape.append(size < 0 ? py::object(py::none()) : py::int_(size));
  d["shape"] = py::tuple(shape);
  d["type"] = spec.type;
  return d;
}

/// The kernel profile's counters (process-wide), to take the difference
/// over one call.
struct ProfileSnapshot {
  std::vector<double> ms;
  std::vector<int64_t> calls;
  ProfileSnapshot() {
    int n = lathe_rt_profile_count();
    for (int k = 0; k < n; ++k) {
      ms.push_back(lathe_rt_profile_ms(k));
      calls.push_back(lathe_rt_profile_calls(k));
    }
  }
};

/// CallStats of a call that took `ms` between two profile snapshots.
CallStats statsBetween(double ms, int64_t peakBytes,
                       const ProfileSnapshot &before,
                       const ProfileSnapshot &after) {
  CallStats stats;
  stats.ms = ms;
  stats.peakBytes = peakBytes;
  for (size_t k = 0; k < after.ms.size(); ++k) {
    int64_t calls =
        after.calls[k] - (k < before.calls.size() ? before.calls[k] : 0);
    if (calls <= 0)
      continue;
    stats.kernelNames.push_back(lathe_rt_profile_name(static_cast<int>(k)));
    stats.kernelMs.push_back(after.ms[k] -
                             (k < before.ms.size() ? before.ms[k] : 0));
    stats.kernelCalls.push_back(calls);
  }
  return stats;
}

py::dict statsDict(const CallStats &stats) {
  py::dict s;
  s["ms"] = stats.ms;
  s["peak_memory_bytes"] = stats.peakBytes < 0
                               ? py::object(py::none())
                               : py::object(py::int_(stats.peakBytes));
  py::dict kernels;
  for (size_t k = 0; k < stats.kernelNames.size(); ++k) {
    py::dict kd;
    kd["ms"] = stats.kernelMs[k];
    kd["calls"] = stats.kernelCalls[k];
    kernels[py::str(stats.kernelNames[k])] = kd;
  }
  s["kernels"] = kernels;
  return s;
}

/// NumPy arrays that take over the results' buffers (malloc'd): the one copy
/// out of the runtime's memory is the only one.
py::list toNumpy(std::vector<HostTensor> &results) {
  py::list outputs;
  for (HostTensor &r : results) {
    const char *name = numpyName(r.t.dtype);
    if (!name)
      throw LatheError(std::string("a result has dtype ") +
                       lathe_dtype_name(r.t.dtype) +
                       ", which NumPy cannot hold");
    std::vector<py::ssize_t> shape(r.t.shape, r.t.shape + r.t.rank);
    void *data = r.t.data;
    r.t.data = nullptr;
    py::capsule owner(data, [](void *p) { std::free(p); });
    outputs.append(py::array(py::dtype(name), shape, data, owner));
  }
  return outputs;
}

/// Host tensors that view C-contiguous NumPy arrays in place (the Python
/// side ensures contiguity; the entry's arguments are compiled read-only, so
/// the data is only read); `arrays` keeps the arrays alive. `where(i)` names
/// input i in the message for a dtype Lathe does not pass, `expected(i)` (may
/// be empty) adds the type expected.
std::vector<lathe_host_tensor>
viewArrays(const py::list &args, std::vector<py::array> &arrays,
           const std::function<std::string(size_t)> &where,
           const std::function<std::string(size_t)> &expected) {
  std::vector<lathe_host_tensor> views(args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    std::string input = "input #" + std::to_string(i);
    if (!py::isinstance<py::array>(args[i]))
      throw LatheError(input + ": expected a NumPy array");
    py::array a = py::reinterpret_borrow<py::array>(args[i]);
    if (!(a.flags() & py::array::c_style))
      throw LatheError(input + ": expected a C-contiguous array");
    std::optional<lathe_dtype> dtype = dtypeOf(a.dtype());
    if (!dtype) {
      std::string type = expected(i);
      throw LatheError(where(i) + ": NumPy dtype " +
                       py::str(a.dtype()).cast<std::string>() +
                       " is not one Lathe passes" +
                       (type.empty() ? "" : " (expected " + type + ")"));
    }
    if (a.ndim() > LATHE_MAX_RANK)
      throw LatheError(input + ": rank " + std::to_string(a.ndim()) +
                       " is above the maximum " +
                       std::to_string(LATHE_MAX_RANK));
    lathe_host_tensor &t = views[i];
    t.dtype = *dtype;
    t.rank = static_cast<int32_t>(a.ndim());
    for (int r = 0; r < t.rank; ++r)
      t.shape[r] = a.shape(r);
    t.data = const_cast<void *>(a.data());
    arrays.push_back(a);
  }
  return views;
}

/// A compiled module held by Python.
class PyModule {
public:
  explicit PyModule(std::unique_ptr<LoadedModule> module)
      : module(std::move(module)) {}

  py::list inputs() const {
    py::list l;
    for (const TensorSpec &s : module->inputs())
      l.append(specDict(s));
    return l;
  }
  py::list results() const {
    py::list l;
    for (const TensorSpec &s : module->results())
      l.append(specDict(s));
    return l;
  }
  py::dict info() const {
    const RunOptions &o = module->getOptions();
    py::dict d;
    d["file"] = o.inputFile;
    d["entry"] = o.entry;
    d["backend"] = o.backend;
    d["pipeline"] = o.passPipeline.empty() ? o.pipeline : o.passPipeline;
    d["compile_ms"] = module->compileMs;
    py::dict precision;
    precision["requested"] = o.precision;
    precision["effective"] = module->effectivePrecision;
    d["precision"] = precision;
    d["compile_cache"] = module->compileCache;
    d["constant_data_bytes"] = module->constantBytes;
    d["target_cpu"] = o.targetCpu;
    d["fast_math"] = o.fastMath;
    d["flops"] = module->flops;
    d["flops_complete"] = module->flopsComplete;
    return d;
  }

  /// Calls the entry on NumPy arrays that are C-contiguous (the Python side
  /// ensures it) and returns (results, stats).
  py::tuple call(const py::list &args) {
    std::vector<py::array> arrays;
    const std::vector<TensorSpec> &specs = module->inputs();
    const std::string &entry = module->getOptions().entry;
    std::vector<lathe_host_tensor> views = viewArrays(
        args, arrays,
        [&](size_t i) {
          return "input #" + std::to_string(i) + " for argument #" +
                 std::to_string(i) + " of @" + entry;
        },
        [&](size_t i) { return i < specs.size() ? specs[i].type : "?"; });
    std::vector<const lathe_host_tensor *> viewPtrs;
    for (lathe_host_tensor &t : views)
      viewPtrs.push_back(&t);

    std::vector<HostTensor> results;
    CallStats stats;
    std::string error;
    bool ok;
    {
      py::gil_scoped_release release;
      ok = module->call(viewPtrs, results, stats, error);
    }
    if (!ok)
      throw LatheError(error);

    return py::make_tuple(toNumpy(results), statsDict(stats));
  }

private:
  std::unique_ptr<LoadedModule> module;
};

/// A model loaded from a .lathe file (runtime/include/lathe/runtime/Model.h):
/// no compilation, no MLIR. The same interface as PyModule.
class PyArtifact {
public:
  PyArtifact(lathe_model *model, std::string path, double loadMs)
      : model(model), path(std::move(path)), loadMs(loadMs) {}
  ~PyArtifact() { lathe_model_free(model); }
  PyArtifact(const PyArtifact &) = delete;
  PyArtifact &operator=(const PyArtifact &) = delete;

  static py::dict infoDict(const lathe_tensor_info &info) {
    py::dict d;
    d["name"] = info.name ? info.name : "";
    const char *name = numpyName(info.dtype);
    d["dtype"] = name ? name : lathe_dtype_name(info.dtype);
    py::list shape;
    for (int r = 0; r < info.rank; ++r)
      shape.append(info.dims[r] == LATHE_DYNAMIC_DIM
                       ? py::object(py::none())
                       : py::object(py::int_(info.dims[r])));
    d["shape"] = py::tuple(shape);
    return d;
  }
  py::list inputs() const {
    py::list l;
    for (int32_t i = 0; i < lathe_model_num_inputs(model); ++i) {
      lathe_tensor_info info;
      if (lathe_model_input_info(model, i, &info) == LATHE_OK)
        l.append(infoDict(info));
    }
    return l;
  }
  py::list results() const {
    py::list l;
    for (int32_t i = 0; i < lathe_model_num_outputs(model); ++i) {
      lathe_tensor_info info;
      if (lathe_model_output_info(model, i, &info) == LATHE_OK)
        l.append(infoDict(info));
    }
    return l;
  }
  py::dict info() const {
    py::dict d;
    d["file"] = path;
    d["backend"] = "cpu";
    d["load_ms"] = loadMs;
    d["compile_cache"] = "artifact";
    for (const char *key : {"entry", "target", "cpu_features", "precision",
                            "source", "fast_math"}) {
      const char *value = lathe_model_metadata(model, key);
      d[key] = value ? py::object(py::str(value)) : py::object(py::none());
    }
    return d;
  }

  py::tuple call(const py::list &args) {
    std::vector<py::array> arrays;
    std::vector<lathe_host_tensor> views = viewArrays(
        args, arrays, [](size_t i) { return "input #" + std::to_string(i); },
        [](size_t) { return std::string(); });
    int32_t numOutputs = lathe_model_num_outputs(model);
    std::vector<HostTensor> outputs(numOutputs);
    lathe_status status;
    std::string error;
    double ms;
    std::unique_ptr<ProfileSnapshot> before, after;
    {
      py::gil_scoped_release release;
      before = std::make_unique<ProfileSnapshot>();
      std::vector<lathe_host_tensor> outs(numOutputs);
      auto start = std::chrono::steady_clock::now();
      status = lathe_model_run(model, views.data(),
                               static_cast<int32_t>(views.size()), outs.data(),
                               numOutputs);
      ms = std::chrono::duration<double, std::milli>(
               std::chrono::steady_clock::now() - start)
               .count();
      after = std::make_unique<ProfileSnapshot>();
      if (status != LATHE_OK)
        error = lathe_status_message();
      for (int32_t i = 0; i < numOutputs; ++i)
        outputs[i].t = outs[i];
    }
    if (status != LATHE_OK)
      throw LatheError(error);
    // The model's session is its own: its peak memory is not visible here.
    return py::make_tuple(
        toNumpy(outputs),
        statsDict(statsBetween(ms, /*peakBytes=*/-1, *before, *after)));
  }

private:
  lathe_model *model;
  std::string path;
  double loadMs;
};

std::unique_ptr<PyArtifact> loadArtifact(const std::string &path, int threads) {
  lathe_model_options options;
  lathe_model_options_init(&options);
  options.num_threads = threads;
  lathe_model *model = nullptr;
  lathe_status status;
  std::string error;
  double ms;
  {
    py::gil_scoped_release release;
    auto start = std::chrono::steady_clock::now();
    status = lathe_model_load_with_options(path.c_str(), &options, &model);
    ms = std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - start)
             .count();
    if (status != LATHE_OK)
      error = lathe_status_message();
  }
  if (status != LATHE_OK)
    throw LatheError(error);
  return std::make_unique<PyArtifact>(model, path, ms);
}

/// One keyword of lathe.compile's options or lathe.train's: its name and
/// what it sets. The Python side (python/lathe/__init__.py) has already
/// checked the value's type against its own table of the same names.
template <typename Options> struct Keyword {
  const char *name;
  std::function<void(Options &, py::handle)> set;
};

/// A keyword that sets `member` to the value.
template <typename Options, typename T>
Keyword<Options> field(const char *name, T Options::*member) {
  return {name,
          [member](Options &o, py::handle v) { o.*member = v.cast<T>(); }};
}

/// `threads`: the count, and that it was given.
template <typename Options> Keyword<Options> threadsField() {
  return {"threads", [](Options &o, py::handle v) {
            o.threads = v.cast<int>();
            o.threadsGiven = true;
          }};
}

/// Sets `o` from `opts` through `table`; an unknown keyword is an error that
/// names it and lists the known ones.
template <typename Options>
void applyKeywords(const std::vector<Keyword<Options>> &table,
                   const py::dict &opts, Options &o) {
  for (auto item : opts) {
    std::string key = py::str(item.first);
    auto it = llvm::find_if(
        table, [&](const Keyword<Options> &k) { return key == k.name; });
    if (it == table.end()) {
      std::vector<std::string> names;
      for (const Keyword<Options> &k : table)
        names.push_back(k.name);
      llvm::sort(names);
      throw LatheError("unknown option '" + key +
                       "' (expected one of: " + llvm::join(names, ", ") + ")");
    }
    it->set(o, item.second);
  }
}

/// lathe.compile's keywords (backend and precision are its arguments).
const std::vector<Keyword<RunOptions>> &compileKeywords() {
  using O = RunOptions;
  static const std::vector<Keyword<O>> table = {
      field("entry", &O::entry),
      field("backend", &O::backend),
      field("precision", &O::precision),
      field("pipeline", &O::pipeline),
      field("pass_pipeline", &O::passPipeline),
      field("fast_math", &O::fastMath),
      field("target_cpu", &O::targetCpu),
      field("target", &O::targetFile),
      field("cache_dir", &O::cacheDir),
      field("no_cache", &O::noCache),
      threadsField<O>(),
  };
  return table;
}

/// lathe.train's keywords: lathe-train's flags with underscores.
const std::vector<Keyword<TrainOptions>> &trainKeywords() {
  using O = TrainOptions;
  static const std::vector<Keyword<O>> table = {
      field("loss", &O::loss),
      field("labels", &O::labels),
      field("freeze", &O::frozen),
      field("params", &O::paramsFile),
      field("data", &O::dataFile),
      field("val_data", &O::valDataFile),
      field("batch", &O::batch),
      field("epochs", &O::epochs),
      field("steps", &O::steps),
      field("optimizer", &O::optimizer),
      field("lr", &O::lr),
      field("min_lr", &O::minLr),
      field("schedule", &O::schedule),
      field("warmup_steps", &O::warmupSteps),
      field("momentum", &O::momentum),
      field("weight_decay", &O::weightDecay),
      field("clip_norm", &O::clipNorm),
      field("seed", &O::seed),
      field("shuffle", &O::shuffle),
      field("save", &O::savePath),
      field("checkpoint", &O::checkpointDir),
      field("checkpoint_every", &O::checkpointEvery),
      field("resume", &O::resume),
      field("log", &O::logPath),
      threadsField<O>(),
      field("target_cpu", &O::targetCpu),
      field("target", &O::targetFile),
      field("no_cache", &O::noCache),
      field("attention_min_scores", &O::attentionMinScores),
  };
  return table;
}

std::unique_ptr<PyModule> compileFile(const std::string &path,
                                      const py::dict &opts) {
  RunOptions o;
  o.inputFile = path;
  o.cacheDir = CompileCache::defaultDir();
  applyKeywords(compileKeywords(), opts, o);
  ModelImporter importer;
#ifdef LATHE_HAVE_ONNX_IMPORT
  importer = [](mlir::MLIRContext &context, const std::string &file,
                std::string &error) {
    registerONNXImportDialects(context);
    ONNXImportOptions options;
    return importONNXModel(context, file, options, error);
  };
#endif
  std::string error;
  std::unique_ptr<LoadedModule> module;
  mlir::DialectRegistry &registry = getRegistry();
  {
    py::gil_scoped_release release;
    module = LoadedModule::compile(o, registry, error, importer);
  }
  if (!module)
    throw LatheError(error);
  return std::make_unique<PyModule>(std::move(module));
}

/// Runs `fn` with this process's stderr (fd 2) going through a pipe: what is
/// written there still reaches stderr as it comes (progress lines), and is
/// returned (the error messages).
template <typename Fn> std::string teeStderr(Fn fn) {
  llvm::errs().flush();
  std::fflush(stderr);
  int fds[2];
  int saved = -1;
  if (::pipe(fds) == 0) {
    saved = ::dup(2);
    if (saved < 0) {
      ::close(fds[0]);
      ::close(fds[1]);
    }
  }
  if (saved < 0) {
    fn();
    return "";
  }
  ::dup2(fds[1], 2);
  ::close(fds[1]);
  std::string text;
  std::thread reader([&] {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof(buf))) > 0 ||
           (n < 0 && errno == EINTR)) {
      if (n <= 0)
        continue;
      text.append(buf, static_cast<size_t>(n));
      for (ssize_t off = 0; off < n;) {
        ssize_t w = ::write(saved, buf + off, static_cast<size_t>(n - off));
        if (w <= 0 && errno != EINTR)
          break;
        off += w > 0 ? w : 0;
      }
    }
  });
  fn();
  llvm::errs().flush();
  llvm::outs().flush();
  std::fflush(stderr);
  ::dup2(saved, 2); // closes the pipe's last write end: the reader ends
  reader.join();
  ::close(fds[0]);
  ::close(saved);
  return text;
}

py::tuple train(const std::string &path, const py::dict &opts) {
  TrainOptions o;
  o.inputFile = path;
  applyKeywords(trainKeywords(), opts, o);
  mlir::DialectRegistry &registry = getRegistry();
  int rc = 0;
  std::string text;
  {
    py::gil_scoped_release release;
    text = teeStderr([&] { rc = trainMain(o, registry); });
  }
  return py::make_tuple(rc, text);
}

} // namespace

PYBIND11_MODULE(_lathe, m) {
  m.doc() = "Lathe's compiler and runtime (see the lathe package)";
  py::register_exception<LatheError>(m, "Error", PyExc_RuntimeError);
  py::class_<PyModule>(m, "Module")
      .def_property_readonly("inputs", &PyModule::inputs)
      .def_property_readonly("results", &PyModule::results)
      .def("info", &PyModule::info)
      .def("call", &PyModule::call);
  py::class_<PyArtifact>(m, "Artifact")
      .def_property_readonly("inputs", &PyArtifact::inputs)
      .def_property_readonly("results", &PyArtifact::results)
      .def("info", &PyArtifact::info)
      .def("call", &PyArtifact::call);
  m.def("compile_file", &compileFile, py::arg("path"), py::arg("options"));
  m.def("load", &loadArtifact, py::arg("path"), py::arg("threads"));
  m.def("train", &train, py::arg("path"), py::arg("options"));
  m.def("cpu_has_bf16", [] { return lathe_rt_cpu_has_bf16() != 0; });
}
