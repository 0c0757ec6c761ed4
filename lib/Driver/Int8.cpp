//===- Int8.cpp - lathe-run --precision=int8: calibration -----------------===//
//
// See Int8.h.
//
//===----------------------------------------------------------------------===//

#include "lathe/Driver/Int8.h"
#include "lathe/Target/CPU/Pipeline.h"
#include "lathe/runtime/Runtime.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstring>

using namespace mlir;
using namespace mlir::lathe;

namespace {

constexpr int64_t kDynamicBatch = 256;

/// The dataset an entry argument reads (as lathe-train / lathe-compress).
std::string argName(func::FuncOp fn, unsigned i) {
  for (StringRef attr : {"lathe.name", "onnx.name"})
    if (auto name = fn.getArgAttrOfType<StringAttr>(i, attr))
      return name.str();
  return "input" + std::to_string(i);
}

/// Rows begin, begin+1, ... (count of them, wrapping around to row 0) of
/// `src`.
bool sliceRows(const HostTensor &src, int64_t begin, int64_t count,
               HostTensor &dst, std::string &error) {
  SmallVector<int64_t> shape(src.t.shape, src.t.shape + src.t.rank);
  int64_t rows = shape[0];
  shape[0] = count;
  if (lathe_host_tensor_alloc(&dst.t, src.t.dtype, shape.size(),
                              shape.data()) != LATHE_OK) {
    error = lathe_rt_last_error();
    return false;
  }
  size_t row = src.numBytes() / std::max<int64_t>(rows, 1);
  for (int64_t r = 0; r < count; ++r)
    std::memcpy(static_cast<char *>(dst.t.data) + r * row,
                static_cast<const char *>(src.t.data) +
                    ((begin + r) % rows) * row,
                row);
  return true;
}

/// True when a float tensor holds NaN or Inf (the first index in `where`).
bool findNonFinite(const HostTensor &t, int64_t &where) {
  int64_t n = t.numElements();
  for (int64_t i = 0; i < n; ++i) {
    double v;
    if (t.t.dtype == LATHE_F32)
      v = static_cast<const float *>(t.t.data)[i];
    else if (t.t.dtype == LATHE_F64)
      v = static_cast<const double *>(t.t.data)[i];
    else
      return false;
    if (!std::isfinite(v)) {
      where = i;
      return true;
    }
  }
  return false;
}

/// Max |a - b| and max |b| over f32 tensors of the same shape.
void compare(const HostTensor &a, const HostTensor &b, double &maxErr,
             double &maxRef) {
  if (a.t.dtype != LATHE_F32 || b.t.dtype != LATHE_F32 ||
      a.numElements() != b.numElements())
    return;
  auto *x = static_cast<const float *>(a.t.data);
  auto *y = static_cast<const float *>(b.t.data);
  for (int64_t i = 0; i < a.numElements(); ++i) {
    maxErr = std::max(maxErr, std::fabs(double(x[i]) - double(y[i])));
    maxRef = std::max(maxRef, std::fabs(double(y[i])));
  }
}

} // namespace

LogicalResult
mlir::lathe::calibrateInt8(ModuleOp module, StringRef entryName,
                           StringRef dataFile,
                           const CpuPipelineOptions &pipeline,
                           const ExecutableOptions &executableOptions,
                           const std::vector<ExternalWeight> &weights,
                           Int8Calibration &out, std::string &error) {
  auto entry = module.lookupSymbol<func::FuncOp>(entryName);
  if (!entry || entry.isExternal()) {
    error = ("no function @" + entryName + " to calibrate").str();
    return failure();
  }
  FunctionType type;
  if (failed(getEntrySignature(module, entryName, type, error)))
    return failure();

  // One dataset per argument, samples along dimension 0.
  std::vector<HostTensor> data(type.getNumInputs());
  int64_t staticBatch = 0;
  for (unsigned i = 0; i < type.getNumInputs(); ++i) {
    std::string name = argName(entry, i);
    auto argType = dyn_cast<RankedTensorType>(type.getInput(i));
    if (!argType || argType.getRank() == 0) {
      error = llvm::formatv("argument #{0} ('{1}') of @{2} is not a tensor "
                            "with a sample dimension; --precision=int8 "
                            "calibrates on batches of samples",
                            i, name, entryName);
      return failure();
    }
    std::string readError;
    if (!readTensorFile((dataFile + ":/" + name).str(), data[i], readError)) {
      error = llvm::formatv("--calibration-data: argument #{0} of @{1} reads "
                            "the dataset '{2}': {3}",
                            i, entryName, name, readError);
      return failure();
    }
    const lathe_host_tensor &t = data[i].t;
    std::optional<lathe_dtype> dtype = dtypeFor(argType.getElementType());
    bool fits = dtype && t.dtype == *dtype && t.rank == argType.getRank();
    for (int r = 1; fits && r < t.rank; ++r)
      fits = argType.isDynamicDim(r) || argType.getDimSize(r) == t.shape[r];
    if (!fits) {
      error = llvm::formatv(
          "--calibration-data: dataset '{0}' of '{1}' has shape {2} {3}, "
          "which does not fit argument #{4} of @{5} ({6}; samples along the "
          "first dimension)",
          name, dataFile, shapeString(t), lathe_dtype_name(t.dtype), i,
          entryName, [&] {
            std::string s;
            llvm::raw_string_ostream os(s);
            os << argType;
            return s;
          }());
      return failure();
    }
    if (i > 0 && t.shape[0] != out.samples) {
      error = llvm::formatv("--calibration-data: the datasets of '{0}' have "
                            "different numbers of samples ({1} and {2} for "
                            "'{3}')",
                            dataFile, out.samples, t.shape[0], name);
      return failure();
    }
    out.samples = t.shape[0];
    int64_t where = 0;
    if (findNonFinite(data[i], where)) {
      error = llvm::formatv("--calibration-data: dataset '{0}' of '{1}' holds "
                            "NaN or Inf (element {2}); calibration needs "
                            "finite data",
                            name, dataFile, where);
      return failure();
    }
    if (!argType.isDynamicDim(0))
      staticBatch = argType.getDimSize(0);
  }
  if (type.getNumInputs() == 0 || out.samples == 0) {
    error = ("--calibration-data: '" + dataFile + "' has no samples").str();
    return failure();
  }
  int64_t batch =
      staticBatch ? staticBatch : std::min<int64_t>(out.samples, kDynamicBatch);

  // The calibrating copy: f32 kernels with range probes before them.
  OwningOpRef<ModuleOp> clone = module.clone();
  MLIRContext *context = module.getContext();
  PassManager pm = PassManager::on<ModuleOp>(context);
  CpuPipelineOptions calibrate;
  calibrate.copyOptionValuesFrom(pipeline);
  calibrate.int8Calibrate = true;
  calibrate.int8Ranges.clear();
  calibrate.trace = false;
  std::vector<Int8Site> &sites = out.sites;
  PhaseCallback onPhaseEnd = [&sites](CpuPhase phase, ModuleOp m) {
    if (phase != CpuPhase::RuntimeCalls)
      return;
    m.walk([&](func::CallOp call) {
      if (call.getCallee() != "lathe_rt_observe_range_f32")
        return;
      APInt site;
      if (!matchPattern(call.getOperands().back(), m_ConstantInt(&site)))
        return;
      size_t index = site.getZExtValue();
      if (sites.size() <= index)
        sites.resize(index + 1);
      std::string loc;
      llvm::raw_string_ostream os(loc);
      os << call.getLoc();
      sites[index].loc = loc;
      for (Operation *next = call->getNextNode(); next;
           next = next->getNextNode())
        if (auto kernel = dyn_cast<func::CallOp>(next)) {
          sites[index].kernel = kernel.getCallee().str();
          break;
        }
    });
  };
  if (failed(buildCpuPipeline(pm, "", error, calibrate, onPhaseEnd)))
    return failure();
  if (failed(pm.run(*clone))) {
    error = "compilation of the calibrating module failed";
    return failure();
  }
  std::unique_ptr<Executable> exe =
      Executable::create(*clone, weights, executableOptions, error);
  if (!exe)
    return failure();
  for (int64_t begin = 0; begin < out.samples; begin += batch) {
    std::vector<HostTensor> chunk(data.size());
    std::vector<const lathe_host_tensor *> views;
    for (size_t k = 0; k < data.size(); ++k) {
      if (!sliceRows(data[k], begin, batch, chunk[k], error))
        return failure();
      views.push_back(&chunk[k].t);
    }
    std::unique_ptr<Invocation> call =
        exe->prepare(entryName, type, views, error);
    if (!call)
      return failure();
    std::string callError;
    if (!call->run(callError)) {
      error = "calibration run on samples " + std::to_string(begin) + ".." +
              std::to_string(std::min(begin + batch, out.samples) - 1) + ": " +
              callError;
      return failure();
    }
    ++out.calls;
    if (begin == 0) {
      if (!call->takeResults(out.f32Results, error))
        return failure();
      out.firstInputs = std::move(chunk);
    } else {
      call->freeResults();
    }
  }
  // The executable's session is current while it lives.
  for (auto [site, s] : llvm::enumerate(sites)) {
    s.observed = lathe_rt_observed_range(site, &s.lo, &s.hi);
    out.ranges.push_back(s.observed ? s.lo : NAN);
    out.ranges.push_back(s.observed ? s.hi : NAN);
  }
  return success();
}

llvm::json::Object
mlir::lathe::int8Report(const Int8Calibration &calibration,
                        const std::vector<HostTensor> &int8Results) {
  llvm::json::Array kernels;
  for (auto [site, s] : llvm::enumerate(calibration.sites)) {
    char text[256] = "";
    bool ran = lathe_rt_int8_site_info(site, text, sizeof(text));
    kernels.push_back(llvm::json::Object{
        {"site", static_cast<int64_t>(site)},
        {"kernel", s.kernel},
        {"loc", s.loc},
        {"input_range", s.observed ? llvm::json::Value(llvm::json::Array{
                                         double(s.lo), double(s.hi)})
                                   : llvm::json::Value(nullptr)},
        {"precision", ran ? std::string(text)
                      : s.observed
                          ? std::string("did not run")
                          : std::string("f32 (calibration never reached it)")},
    });
  }
  llvm::json::Array errors;
  for (size_t i = 0;
       i < int8Results.size() && i < calibration.f32Results.size(); ++i) {
    double maxErr = 0, maxRef = 0;
    compare(int8Results[i], calibration.f32Results[i], maxErr, maxRef);
    errors.push_back(
        llvm::json::Object{{"result", static_cast<int64_t>(i)},
                           {"max_abs_err", maxErr},
                           {"max_abs_f32", maxRef},
                           {"rel_err", maxRef > 0 ? maxErr / maxRef : maxErr}});
  }
  return llvm::json::Object{
      {"calibration_samples", calibration.samples},
      {"calibration_calls", calibration.calls},
      {"vnni_or_amx", static_cast<bool>(lathe_rt_cpu_has_int8_dot())},
      {"kernels", std::move(kernels)},
      {"error_vs_f32_first_batch", std::move(errors)},
  };
}

std::string
mlir::lathe::int8Summary(const Int8Calibration &calibration,
                         const std::vector<HostTensor> &int8Results) {
  int64_t inInt8 = 0;
  for (size_t site = 0; site < calibration.sites.size(); ++site) {
    char text[16] = "";
    if (lathe_rt_int8_site_info(site, text, sizeof(text)) &&
        std::strncmp(text, "int8", 4) == 0)
      ++inInt8;
  }
  double maxErr = 0, maxRef = 0;
  for (size_t i = 0;
       i < int8Results.size() && i < calibration.f32Results.size(); ++i)
    compare(int8Results[i], calibration.f32Results[i], maxErr, maxRef);
  return llvm::formatv("int8: {0} of {1} kernel site(s) ran in int8; max abs "
                       "error {2:e} (max |f32| {3:e}) against f32 on the first "
                       "calibration batch",
                       inInt8, calibration.sites.size(), maxErr, maxRef)
      .str();
}
