//===- lathe-calibrate.cpp - measure kernel latencies for lowrank targets -===//
//
// Measures the oneDNN matmuls and convolutions a model's lowrank-select-ranks
// candidates would run, through the same runtime entry points and flags the
// generated code calls (lathe_rt_matmul_f32 with a constant, transposed
// weight; lathe_rt_conv2d_f32 NCHW/FCHW without padding), at batch 1 and 64
// by default, with the thread count lathe-run uses, and writes the JSON
// target description that `lowrank-select-ranks{target=FILE.json}` reads.
//
//   lathe-calibrate model.mlir -o target.json [--batches=1,64]
//       [--granularity=16] [--threads=N] [--repeat=50] [--stat=median|min]
//   lathe-calibrate --matmul=N,K --conv=C,H,W,F,KH,KW[,S[,D]] -o target.json
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/LowRank/LatencyModel.h"
#include "lathe/InitAllDialects.h"
#include "lathe/Support/ParseGuard.h"
#include "lathe/Support/Progress.h"
#include "lathe/Support/ToolInfo.h"
#include "lathe/runtime/Runtime.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <set>
#include <vector>

using namespace mlir;
using namespace mlir::lowrank;
namespace cl = llvm::cl;

static cl::OptionCategory category("lathe-calibrate options");

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("[model.mlir]"),
                                      cl::init(""), cl::cat(category));
static cl::opt<std::string> outputFile("o", cl::desc("Output JSON file"),
                                       cl::value_desc("file"), cl::init(""),
                                       cl::cat(category));
static cl::list<int64_t>
    batches("batches", cl::desc("Batch sizes to measure (default 1,64)"),
            cl::CommaSeparated, cl::cat(category));
static cl::opt<int64_t>
    granularity("granularity",
                cl::desc("Candidate ranks are multiples of this (default 16, "
                         "the bundled cpu target's)"),
                cl::init(16), cl::cat(category));
static cl::opt<int> repeat("repeat",
                           cl::desc("Timed calls per shape (default 50)"),
                           cl::init(50), cl::cat(category));
static cl::opt<std::string>
    stat("stat", cl::desc("Statistic of the timed calls: median or min"),
         cl::init("median"), cl::cat(category));
static cl::list<std::string>
    matmulLayers("matmul",
                 cl::desc("A linear layer N,K (weight [N, K]) to calibrate "
                          "besides the model's"),
                 cl::value_desc("N,K"), cl::cat(category));
static cl::list<std::string> convLayers(
    "conv",
    cl::desc("A convolution C,H,W,F,KH,KW[,S[,D]] (input [b, C, H, W] "
             "already padded, filter [F, C, KH, KW], stride S, dilation D) to "
             "calibrate besides the model's"),
    cl::value_desc("C,H,W,F,KH,KW[,S[,D]]"), cl::cat(category));

namespace {

int fail(const llvm::Twine &message) {
  llvm::errs() << "lathe-calibrate: error: " << message << "\n";
  return 1;
}

/// A layer: a linear weight [n, k] (`transposed` as stored) or a conv.
struct LinearLayer {
  int64_t n, k;
};

struct Shapes {
  std::vector<LinearLayer> linears;
  std::vector<ConvShape> convs; // batch in n is ignored
};

/// The layers of `module` lowrank-select-ranks would consider: linalg.matmul
/// with a static [N, K] (transposed) or [K, N] right operand, and
/// linalg.conv_2d_nchw_fchw with static shapes. Constness is not required:
/// every such layer gets its dense latency measured.
void collectLayers(ModuleOp module, Shapes &shapes) {
  module.walk([&](Operation *op) {
    if (auto mm = dyn_cast<linalg::MatmulOp>(op)) {
      if (mm.getNumDpsInputs() != 2)
        return;
      auto rhsType = dyn_cast<RankedTensorType>(mm.getDpsInputs()[1].getType());
      if (!rhsType || !rhsType.hasStaticShape() || rhsType.getRank() != 2)
        return;
      MLIRContext *ctx = op->getContext();
      AffineMap transposedB = AffineMap::get(
          3, 0, {getAffineDimExpr(1, ctx), getAffineDimExpr(2, ctx)}, ctx);
      bool transposed = mm.getIndexingMapsArray()[1] == transposedB;
      int64_t n = rhsType.getDimSize(transposed ? 0 : 1);
      int64_t k = rhsType.getDimSize(transposed ? 1 : 0);
      shapes.linears.push_back({n, k});
    } else if (auto conv = dyn_cast<linalg::Conv2DNchwFchwOp>(op)) {
      auto inType =
          dyn_cast<RankedTensorType>(conv.getDpsInputs()[0].getType());
      auto fType = dyn_cast<RankedTensorType>(conv.getDpsInputs()[1].getType());
      if (!inType || !fType || !inType.hasStaticShape() ||
          !fType.hasStaticShape())
        return;
      auto strides = llvm::to_vector(conv.getStrides().getValues<int64_t>());
      auto dilations =
          llvm::to_vector(conv.getDilations().getValues<int64_t>());
      ConvShape s;
      s.c = inType.getDimSize(1);
      s.h = inType.getDimSize(2);
      s.w = inType.getDimSize(3);
      s.f = fType.getDimSize(0);
      s.kh = fType.getDimSize(2);
      s.kw = fType.getDimSize(3);
      s.sh = strides[0];
      s.sw = strides[1];
      s.dh = dilations[0];
      s.dw = dilations[1];
      shapes.convs.push_back(s);
    }
  });
}

bool parseInts(StringRef spec, SmallVectorImpl<int64_t> &out) {
  SmallVector<StringRef> parts;
  spec.split(parts, ',');
  for (StringRef part : parts) {
    int64_t v;
    if (part.trim().getAsInteger(10, v) || v <= 0)
      return false;
    out.push_back(v);
  }
  return true;
}

/// Calls `body` `repeat` times after three warm-up calls (the first builds
/// the oneDNN primitive and packs a constant weight); the chosen statistic
/// in microseconds.
template <typename Fn> double timeUs(Fn body) {
  for (int i = 0; i < 3; ++i)
    body();
  std::vector<double> us;
  us.reserve(repeat);
  for (int i = 0; i < repeat; ++i) {
    auto start = std::chrono::steady_clock::now();
    body();
    us.push_back(std::chrono::duration<double, std::micro>(
                     std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(us.begin(), us.end());
  if (stat == "min")
    return us.front();
  size_t mid = us.size() / 2;
  return us.size() % 2 ? us[mid] : 0.5 * (us[mid - 1] + us[mid]);
}

/// A strided memref descriptor over `data` (row-major unless `strides`).
struct Desc {
  std::vector<int64_t> words;
  Desc(float *data, std::vector<int64_t> sizes,
       std::vector<int64_t> strides = {}) {
    size_t rank = sizes.size();
    if (strides.empty()) {
      strides.assign(rank, 1);
      for (size_t i = rank; i-- > 1;)
        strides[i - 1] = strides[i] * sizes[i];
    }
    words = {reinterpret_cast<int64_t>(data), reinterpret_cast<int64_t>(data),
             0};
    words.insert(words.end(), sizes.begin(), sizes.end());
    words.insert(words.end(), strides.begin(), strides.end());
  }
  int64_t rank() const { return (words.size() - 3) / 2; }
  void *ptr() { return words.data(); }
};

std::vector<float> filled(int64_t n, float v) {
  return std::vector<float>(n, v);
}

/// [m, k] · [k, n] with the weight stored [n, k] and passed transposed and
/// constant, as convert-lowrank-to-lathe's lathe.matmul(transpose_rhs) of a
/// constant factor reaches the runtime.
double measureMatmul(int64_t m, int64_t n, int64_t k, std::string &error) {
  std::vector<float> a = filled(m * k, 0.5f), b = filled(n * k, 0.25f),
                     c(m * n);
  Desc da(a.data(), {m, k}), db(b.data(), {k, n}, {1, k}), dc(c.data(), {m, n});
  double us = timeUs([&] {
    lathe_rt_matmul_f32(da.rank(), da.ptr(), db.rank(), db.ptr(), dc.rank(),
                        dc.ptr(), dc.rank(), dc.ptr(), dc.rank(), dc.ptr(),
                        LATHE_MM_CONST_B);
  });
  char buf[512];
  if (lathe_rt_take_pending_error(buf, sizeof(buf)))
    error = buf;
  lathe_rt_clear_caches();
  return us;
}

/// A convolution as lathe-cpu-lower-to-runtime calls it: NCHW/FCHW, no
/// padding, no bias, flags 0.
double measureConv(const ConvShape &s, std::string &error) {
  std::vector<float> in = filled(s.n * s.c * s.h * s.w, 0.5f),
                     filter = filled(s.f * s.c * s.kh * s.kw, 0.25f),
                     out(s.n * s.f * s.outH() * s.outW());
  Desc di(in.data(), {s.n, s.c, s.h, s.w}),
      df(filter.data(), {s.f, s.c, s.kh, s.kw}),
      dout(out.data(), {s.n, s.f, s.outH(), s.outW()});
  double us = timeUs([&] {
    lathe_rt_conv2d_f32(di.rank(), di.ptr(), df.rank(), df.ptr(), dout.rank(),
                        dout.ptr(), dout.rank(), dout.ptr(), /*layout=*/0, s.sh,
                        s.sw, 0, 0, s.dh, s.dw, /*flags=*/0);
  });
  char buf[512];
  if (lathe_rt_take_pending_error(buf, sizeof(buf)))
    error = buf;
  lathe_rt_clear_caches();
  return us;
}

std::string today() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d", std::gmtime(&t));
  return buf;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // libLLVM's int --threads is replaced by this tool's own (declared here,
  // after libLLVM's is unregistered: a global would clash with it).
  mlir::lathe::initTool("lathe-calibrate", mlir::lathe::ToolOwns::Threads,
                        {&category});
  cl::opt<int> threadsOption(
      "threads",
      cl::desc("The runtime's thread count as in lathe-run (>= 1; default: "
               "OpenMP's, OMP_NUM_THREADS)"),
      cl::init(0), cl::cat(category));
  mlir::lathe::parseToolOptions(
      argc, argv, {&category},
      "lathe-calibrate: measure the oneDNN matmul and convolution latencies "
      "of a model's lowrank candidates and write a lowrank target "
      "description\n\n"
      "  lathe-calibrate model.mlir --batches=1,32 -o target.json\n\n"
      "Exit status: 0 written; 1 bad input or a failed measurement.\n");
  int threads = threadsOption;

  if (outputFile.empty())
    return fail("no output file (-o FILE.json)");
  if (stat != "median" && stat != "min")
    return fail("--stat must be median or min, got '" + stat + "'");
  if (repeat < 1)
    return fail("--repeat must be >= 1, got " + llvm::Twine(repeat.getValue()));
  if (granularity < 1)
    return fail("--granularity must be >= 1, got " +
                llvm::Twine(granularity.getValue()));
  if (threadsOption.getNumOccurrences() > 0 && threads < 1)
    return fail("--threads must be at least 1, got " + llvm::Twine(threads));
  std::vector<int64_t> batchList(batches.begin(), batches.end());
  if (batchList.empty())
    batchList = {1, 64};
  for (int64_t b : batchList)
    if (b < 1)
      return fail("--batches must be positive, got " + llvm::Twine(b));

  Shapes shapes;
  if (!inputFile.empty()) {
    DialectRegistry registry;
    mlir::lathe::registerAllDialects(registry);
    MLIRContext context(registry);
    context.allowUnregisteredDialects(false);
    llvm::SourceMgr sourceMgr;
    std::string errorMessage;
    auto file = openInputFile(inputFile, &errorMessage);
    if (!file)
      return fail("cannot read '" + inputFile + "': " + errorMessage);
    sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
    SourceMgrDiagnosticHandler handler(sourceMgr, &context);
    OwningOpRef<ModuleOp> module = mlir::lathe::parseModuleOrExit(
        sourceMgr, &context, "lathe-calibrate", inputFile);
    if (!module)
      return fail("cannot parse '" + inputFile + "' (see above)");
    collectLayers(*module, shapes);
  }
  for (const std::string &spec : matmulLayers) {
    SmallVector<int64_t> v;
    if (!parseInts(spec, v) || v.size() != 2)
      return fail("--matmul expects N,K (two positive integers), got '" + spec +
                  "'");
    shapes.linears.push_back({v[0], v[1]});
  }
  for (const std::string &spec : convLayers) {
    SmallVector<int64_t> v;
    if (!parseInts(spec, v) || v.size() < 6 || v.size() > 8)
      return fail("--conv expects C,H,W,F,KH,KW[,S[,D]] (positive integers), "
                  "got '" +
                  spec + "'");
    ConvShape s;
    s.c = v[0];
    s.h = v[1];
    s.w = v[2];
    s.f = v[3];
    s.kh = v[4];
    s.kw = v[5];
    s.sh = s.sw = v.size() > 6 ? v[6] : 1;
    s.dh = s.dw = v.size() > 7 ? v[7] : 1;
    if (!s.isValid())
      return fail("--conv '" + spec + "': the dilated " + llvm::Twine(s.kh) +
                  "x" + llvm::Twine(s.kw) + " window does not fit the " +
                  llvm::Twine(s.h) + "x" + llvm::Twine(s.w) + " input");
    shapes.convs.push_back(s);
  }
  if (shapes.linears.empty() && shapes.convs.empty()) {
    if (inputFile.empty())
      return fail("nothing to calibrate: give a model .mlir or --matmul / "
                  "--conv shapes");
    return fail("'" + inputFile +
                "' has no linalg.matmul or linalg.conv_2d_nchw_fchw with "
                "static shapes; nothing to calibrate");
  }

  // Every shape the pass prices: the dense layer and each candidate rank's
  // kernels, at every batch.
  std::set<std::tuple<int64_t, int64_t, int64_t>> matmuls;
  std::set<std::array<int64_t, 11>> convs;
  int64_t g = granularity;
  for (int64_t b : batchList) {
    for (const LinearLayer &l : shapes.linears) {
      matmuls.insert({b, l.n, l.k});
      for (int64_t r : linearCandidateRanks(l.n, l.k, g)) {
        matmuls.insert({b, r, l.k});
        matmuls.insert({b, l.n, r});
      }
    }
    for (ConvShape s : shapes.convs) {
      s.n = b;
      convs.insert(s.key());
      for (int64_t r : tuckerCandidateRanks(s.f, s.c, s.kh * s.kw, g))
        for (const ConvShape &part : tuckerConvShapes(s, r))
          convs.insert(part.key());
    }
  }

  if (threads > 0)
    lathe_rt_set_num_threads(threads);
  int usedThreads = lathe_rt_get_num_threads();
  size_t total = matmuls.size() + convs.size(), done = 0;
  llvm::errs() << "lathe-calibrate: " << matmuls.size() << " matmuls and "
               << convs.size() << " convolutions, " << usedThreads
               << " thread(s), " << repeat << " calls each (" << stat << ")\n";

  // A bar on a terminal; a line every few seconds elsewhere.
  mlir::lathe::Progress progress("lathe-calibrate", "shapes",
                                 static_cast<int64_t>(total),
                                 /*quietSeconds=*/0.0);
  llvm::json::Array matmulRows, convRows;
  double peakGflops = 0, bandwidth = 0, overhead = 1e30;
  for (auto [m, n, k] : matmuls) {
    std::string error;
    double us = measureMatmul(m, n, k, error);
    if (!error.empty())
      return fail("matmul M=" + llvm::Twine(m) + " N=" + llvm::Twine(n) +
                  " K=" + llvm::Twine(k) + ": " + error);
    matmulRows.push_back(llvm::json::Object{
        {"m", m}, {"n", n}, {"k", k}, {"us", std::round(us * 1000) / 1000}});
    double flops = 2.0 * m * n * k;
    double bytes = 4.0 * (double(m) * k + double(k) * n + double(m) * n);
    peakGflops = std::max(peakGflops, flops / (us * 1e3));
    bandwidth = std::max(bandwidth, bytes / (us * 1e3));
    overhead = std::min(overhead, us);
    progress.update(
        static_cast<int64_t>(++done),
        llvm::formatv("matmul M={0} N={1} K={2}: {3:f2} us", m, n, k, us)
            .str());
  }
  for (const auto &key : convs) {
    ConvShape s{key[0], key[1], key[2], key[3], key[4], key[5],
                key[6], key[7], key[8], key[9], key[10]};
    std::string error;
    double us = measureConv(s, error);
    if (!error.empty())
      return fail("conv " + llvm::Twine(s.n) + "x" + llvm::Twine(s.c) + "x" +
                  llvm::Twine(s.h) + "x" + llvm::Twine(s.w) + " -> " +
                  llvm::Twine(s.f) + ": " + error);
    convRows.push_back(
        llvm::json::Object{{"n", s.n},
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
                           {"us", std::round(us * 1000) / 1000}});
    overhead = std::min(overhead, us);
    progress.update(
        static_cast<int64_t>(++done),
        llvm::formatv("conv N={0} C={1} {2}x{3} F={4} {5}x{6}: {7:f2} us", s.n,
                      s.c, s.h, s.w, s.f, s.kh, s.kw, us)
            .str());
  }
  progress.finish();
  // The roofline for shapes not in the tables: the best throughput and
  // bandwidth any measured matmul reached, the cheapest call as overhead.
  if (matmuls.empty()) {
    std::string error;
    double us = measureMatmul(64, 256, 256, error);
    if (!error.empty())
      return fail("roofline matmul: " + error);
    peakGflops = 2.0 * 64 * 256 * 256 / (us * 1e3);
    bandwidth = 4.0 * (64 * 256 * 2 + 256 * 256) / (us * 1e3);
  }
  std::string batchText;
  for (int64_t b : batchList)
    batchText += (batchText.empty() ? "" : ",") + std::to_string(b);
  llvm::json::Object desc{
      {"name", "cpu-calibrated"},
      {"provenance", "lathe-calibrate " + today() + ": " + stat.getValue() +
                         " of " + std::to_string(repeat) +
                         " calls of the Lathe runtime's oneDNN "
                         "kernels, " +
                         std::to_string(usedThreads) + " thread(s), batches " +
                         batchText +
                         (inputFile.empty() ? "" : ", layers of " + inputFile)},
      {"threads", usedThreads},
      {"peak_gflops", std::round(peakGflops * 1000) / 1000},
      {"bandwidth_gbps", std::round(bandwidth * 1000) / 1000},
      {"call_overhead_us", std::round(overhead * 1000) / 1000},
      {"min_efficient_dim", 16},
      {"granularity", g},
      {"matmul", std::move(matmulRows)},
      {"conv", std::move(convRows)},
  };
  std::error_code ec;
  llvm::raw_fd_ostream os(outputFile, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return fail("cannot write '" + outputFile + "': " + ec.message());
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(desc))) << "\n";
  os.close();
  if (os.has_error())
    return fail("cannot write '" + outputFile + "'");
  llvm::errs() << "lathe-calibrate: wrote " << outputFile << "\n";
  return 0;
}
