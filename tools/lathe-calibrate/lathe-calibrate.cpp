//===- lathe-calibrate.cpp - measure kernel latencies for lowrank targets -===//
//
// Measures the oneDNN matmuls and convolutions a model's lowrank-select-ranks
// candidates would run, through the same runtime entry points and flags the
// generated code calls (lathe_rt_matmul_f32 with a constant, transposed
// weight; lathe_rt_conv2d_f32 NCHW/FCHW without padding), at batch 1 and 64
// by default, with the thread count lathe-run uses, and writes the JSON
// target description whose `lowrank` table `#lathe.target` carries
// (`lathe-opt --lathe-attach-target=FILE.json`, `lathe-compress
// --target=FILE.json`). The work is lib/Target/CPU/Calibrate.cpp's.
//
//   lathe-calibrate model.mlir -o target.json [--batches=1,64]
//       [--granularity=16] [--threads=N] [--repeat=50] [--stat=median|min]
//   lathe-calibrate --matmul=N,K --conv=C,H,W,F,KH,KW[,S[,D]] -o target.json
//
//===----------------------------------------------------------------------===//

#include "lathe/InitAllDialects.h"
#include "lathe/Support/ParseGuard.h"
#include "lathe/Support/Progress.h"
#include "lathe/Support/ToolInfo.h"
#include "lathe/Target/CPU/Calibrate.h"
#include "lathe/runtime/Runtime.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

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

  mlir::lathe::CalibrationLayers shapes;
  if (!inputFile.empty()) {
    DialectRegistry registry = mlir::lathe::makeRegistry();
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
    mlir::lathe::collectCalibrationLayers(*module, shapes);
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
    mlir::lowrank::ConvShape s;
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
  if (shapes.empty()) {
    if (inputFile.empty())
      return fail("nothing to calibrate: give a model .mlir or --matmul / "
                  "--conv shapes");
    return fail("'" + inputFile +
                "' has no linalg.matmul or linalg.conv_2d_nchw_fchw with "
                "static shapes; nothing to calibrate");
  }

  mlir::lathe::CalibrationOptions options;
  options.batches = batchList;
  options.granularity = granularity;
  options.repeat = repeat;
  options.useMin = stat == "min";
  options.threads = threads;
  options.source = inputFile;
  auto [matmuls, convs] = mlir::lathe::countCalibrationShapes(shapes, options);
  if (threads > 0)
    lathe_rt_set_num_threads(threads);
  llvm::errs() << "lathe-calibrate: " << matmuls << " matmuls and " << convs
               << " convolutions, " << lathe_rt_get_num_threads()
               << " thread(s), " << repeat << " calls each (" << stat << ")\n";
  // A bar on a terminal; a line every few seconds elsewhere.
  std::optional<mlir::lathe::Progress> progress;
  progress.emplace("lathe-calibrate", "shapes",
                   static_cast<int64_t>(matmuls + convs),
                   /*quietSeconds=*/0.0);
  options.progress = [&](int64_t done, int64_t, const std::string &line) {
    progress->update(done, line);
  };
  std::string error;
  FailureOr<llvm::json::Value> description =
      mlir::lathe::calibrateCpu(shapes, options, error);
  progress.reset();
  if (failed(description))
    return fail(error);
  if (failed(
          mlir::lathe::writeTargetDescription(*description, outputFile, error)))
    return fail(error);
  llvm::errs() << "lathe-calibrate: wrote " << outputFile << "\n";
  return 0;
}
