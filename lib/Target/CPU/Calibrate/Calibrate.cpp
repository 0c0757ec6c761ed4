//===- Calibrate.cpp - Measure the CPU's kernel latencies -----------------===//

#include "lathe/Target/CPU/Calibrate.h"

#include "lathe/Dialect/LowRank/Layers.h"
#include "lathe/Support/MemRefDescriptor.h"
#include "lathe/runtime/Runtime.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <set>

using namespace mlir;
using namespace mlir::lathe;
using mlir::lowrank::ConvShape;

void mlir::lathe::collectCalibrationLayers(ModuleOp module,
                                           CalibrationLayers &layers) {
  module.walk([&](Operation *op) {
    if (auto mm = dyn_cast<linalg::MatmulOp>(op)) {
      if (std::optional<lowrank::LinearLayerShape> s =
              lowrank::matchLinearLayer(mm))
        layers.linears.push_back({s->n, s->k});
    } else if (auto conv = dyn_cast<linalg::Conv2DNchwFchwOp>(op)) {
      if (std::optional<ConvShape> s = lowrank::matchConvLayer(conv))
        layers.convs.push_back(*s);
    }
  });
}

namespace {

using MatmulKey = std::tuple<int64_t, int64_t, int64_t>;
using ConvKey = std::array<int64_t, 11>;

/// Every shape the pass prices: the dense layer and each candidate rank's
/// kernels, at every batch.
void enumerate(const CalibrationLayers &layers,
               const CalibrationOptions &options, std::set<MatmulKey> &matmuls,
               std::set<ConvKey> &convs) {
  int64_t g = options.granularity;
  for (int64_t b : options.batches) {
    for (auto [n, k] : layers.linears) {
      matmuls.insert({b, n, k});
      for (int64_t r : lowrank::linearCandidateRanks(n, k, g)) {
        matmuls.insert({b, r, k});
        matmuls.insert({b, n, r});
      }
    }
    for (ConvShape s : layers.convs) {
      s.n = b;
      convs.insert(s.key());
      for (int64_t r : lowrank::tuckerCandidateRanks(s.f, s.c, s.kh * s.kw, g))
        for (const ConvShape &part : lowrank::tuckerConvShapes(s, r))
          convs.insert(part.key());
    }
  }
}

/// Calls `body` `repeat` times after three warm-up calls (the first builds
/// the oneDNN primitive and packs a constant weight); the chosen statistic
/// in microseconds.
template <typename Fn>
double timeUs(const CalibrationOptions &options, Fn body) {
  for (int i = 0; i < 3; ++i)
    body();
  std::vector<double> us;
  us.reserve(options.repeat);
  for (int i = 0; i < options.repeat; ++i) {
    auto start = std::chrono::steady_clock::now();
    body();
    us.push_back(std::chrono::duration<double, std::micro>(
                     std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(us.begin(), us.end());
  if (options.useMin)
    return us.front();
  size_t mid = us.size() / 2;
  return us.size() % 2 ? us[mid] : 0.5 * (us[mid - 1] + us[mid]);
}

/// The runtime's pending error after a measurement, and a clean cache.
void takeError(std::string &error) {
  char buf[512];
  if (lathe_rt_take_pending_error(buf, sizeof(buf)))
    error = buf;
  lathe_rt_clear_caches();
}

/// [m, k] · [k, n] with the weight stored [n, k] and passed transposed and
/// constant, as convert-lowrank-to-lathe's lathe.matmul(transpose_rhs) of a
/// constant factor reaches the runtime.
double measureMatmul(const CalibrationOptions &options, int64_t m, int64_t n,
                     int64_t k, std::string &error) {
  std::vector<float> a(m * k, 0.5f), b(n * k, 0.25f), c(m * n);
  std::vector<int64_t> da = makeMemRefDescriptor(a.data(), {m, k}),
                       db = makeMemRefDescriptor(b.data(), {k, n}, {1, k}),
                       dc = makeMemRefDescriptor(c.data(), {m, n});
  double us = timeUs(options, [&] {
    lathe_rt_matmul_f32(2, da.data(), 2, db.data(), 2, dc.data(), 2, dc.data(),
                        2, dc.data(), LATHE_MM_CONST_B);
  });
  takeError(error);
  return us;
}

/// A convolution as lathe-cpu-lower-to-runtime calls it: NCHW/FCHW, no
/// padding, no bias, flags 0.
double measureConv(const CalibrationOptions &options, const ConvShape &s,
                   std::string &error) {
  std::vector<float> in(s.n * s.c * s.h * s.w, 0.5f),
      filter(s.f * s.c * s.kh * s.kw, 0.25f),
      out(s.n * s.f * s.outH() * s.outW());
  std::vector<int64_t> di = makeMemRefDescriptor(in.data(),
                                                 {s.n, s.c, s.h, s.w}),
                       df = makeMemRefDescriptor(filter.data(),
                                                 {s.f, s.c, s.kh, s.kw}),
                       dout = makeMemRefDescriptor(
                           out.data(), {s.n, s.f, s.outH(), s.outW()});
  double us = timeUs(options, [&] {
    lathe_rt_conv2d_f32(4, di.data(), 4, df.data(), 4, dout.data(), 4,
                        dout.data(), /*layout=*/0, s.sh, s.sw, 0, 0, s.dh, s.dw,
                        /*flags=*/0);
  });
  takeError(error);
  return us;
}

std::string today() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d", std::gmtime(&t));
  return buf;
}

double round3(double v) { return std::round(v * 1000) / 1000; }

} // namespace

std::pair<size_t, size_t>
mlir::lathe::countCalibrationShapes(const CalibrationLayers &layers,
                                    const CalibrationOptions &options) {
  std::set<MatmulKey> matmuls;
  std::set<ConvKey> convs;
  enumerate(layers, options, matmuls, convs);
  return {matmuls.size(), convs.size()};
}

FailureOr<llvm::json::Value>
mlir::lathe::calibrateCpu(const CalibrationLayers &layers,
                          const CalibrationOptions &options,
                          std::string &error) {
  std::set<MatmulKey> matmuls;
  std::set<ConvKey> convs;
  enumerate(layers, options, matmuls, convs);
  if (options.threads > 0)
    lathe_rt_set_num_threads(options.threads);
  int usedThreads = lathe_rt_get_num_threads();
  int64_t total = matmuls.size() + convs.size(), done = 0;
  auto report = [&](const std::string &line) {
    if (options.progress)
      options.progress(++done, total, line);
  };

  llvm::json::Array matmulRows, convRows;
  double peakGflops = 0, bandwidth = 0, overhead = 1e30;
  for (auto [m, n, k] : matmuls) {
    double us = measureMatmul(options, m, n, k, error);
    if (!error.empty()) {
      error = llvm::formatv("matmul M={0} N={1} K={2}: {3}", m, n, k, error);
      return failure();
    }
    matmulRows.push_back(
        llvm::json::Object{{"m", m}, {"n", n}, {"k", k}, {"us", round3(us)}});
    double flops = 2.0 * m * n * k;
    double bytes = 4.0 * (double(m) * k + double(k) * n + double(m) * n);
    peakGflops = std::max(peakGflops, flops / (us * 1e3));
    bandwidth = std::max(bandwidth, bytes / (us * 1e3));
    overhead = std::min(overhead, us);
    report(llvm::formatv("matmul M={0} N={1} K={2}: {3:f2} us", m, n, k, us));
  }
  for (const ConvKey &key : convs) {
    ConvShape s{key[0], key[1], key[2], key[3], key[4], key[5],
                key[6], key[7], key[8], key[9], key[10]};
    double us = measureConv(options, s, error);
    if (!error.empty()) {
      error = llvm::formatv("conv {0}x{1}x{2}x{3} -> {4}: {5}", s.n, s.c, s.h,
                            s.w, s.f, error);
      return failure();
    }
    convRows.push_back(llvm::json::Object{{"n", s.n},
                                          {"c", s.c},
                                          {"h", s.h},
                                          {"w", s.w},
                                          {"f", s.f},
                                          {"kh", s.kh},
                                          {"kw", s.kw},
                                          {"sh", s.sh},
                                          {"sw", s.sw},
                                          {"dh", s.dh},
                                          {"dw", s.dw},
                                          {"us", round3(us)}});
    overhead = std::min(overhead, us);
    report(llvm::formatv("conv N={0} C={1} {2}x{3} F={4} {5}x{6}: {7:f2} us",
                         s.n, s.c, s.h, s.w, s.f, s.kh, s.kw, us));
  }
  // The roofline for shapes not in the tables: the best throughput and
  // bandwidth any measured matmul reached, the cheapest call as overhead.
  if (matmuls.empty()) {
    double us = measureMatmul(options, 64, 256, 256, error);
    if (!error.empty()) {
      error = "roofline matmul: " + error;
      return failure();
    }
    peakGflops = 2.0 * 64 * 256 * 256 / (us * 1e3);
    bandwidth = 4.0 * (64 * 256 * 2 + 256 * 256) / (us * 1e3);
  }
  std::string batchText;
  for (int64_t b : options.batches)
    batchText += (batchText.empty() ? "" : ",") + std::to_string(b);
  llvm::json::Object lowRank{
      {"provenance",
       "lathe-calibrate " + today() + ": " +
           (options.useMin ? "min" : "median") + " of " +
           std::to_string(options.repeat) +
           " calls of the Lathe runtime's oneDNN kernels, " +
           std::to_string(usedThreads) + " thread(s), batches " + batchText +
           (options.source.empty() ? "" : ", layers of " + options.source)},
      {"peak_gflops", round3(peakGflops)},
      {"bandwidth_gbps", round3(bandwidth)},
      {"call_overhead_us", round3(overhead)},
      {"min_efficient_dim", 16},
      {"granularity", options.granularity},
      {"matmul", std::move(matmulRows)},
      {"conv", std::move(convRows)},
  };
  return llvm::json::Value(llvm::json::Object{
      {"name", "cpu-calibrated"},
      {"threads", usedThreads},
      {"lowrank", std::move(lowRank)},
  });
}

LogicalResult
mlir::lathe::writeTargetDescription(const llvm::json::Value &description,
                                    StringRef path, std::string &error) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_Text);
  if (ec) {
    error = ("cannot write '" + path + "': " + ec.message()).str();
    return failure();
  }
  os << llvm::formatv("{0:2}", description) << "\n";
  os.close();
  if (os.has_error()) {
    error = ("cannot write '" + path + "'").str();
    os.clear_error();
    return failure();
  }
  return success();
}
