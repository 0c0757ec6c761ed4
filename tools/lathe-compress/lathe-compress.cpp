//===- lathe-compress.cpp - Low-rank compression within an accuracy budget ===//
//
// Parses flags and hands them to the driver library (lib/Driver/Compress.cpp).
//
//===----------------------------------------------------------------------===//

#include "lathe/Driver/Compress.h"
#include "lathe/InitAllDialects.h"
#include "lathe/InitAllPasses.h"
#include "lathe/Support/ToolInfo.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"

namespace cl = llvm::cl;

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  mlir::lathe::initTool("lathe-compress", mlir::lathe::ToolOwns::Threads);
  static cl::OptionCategory cat("Compression");
  mlir::lathe::CompressOptions d;
  cl::opt<std::string> inputFile(cl::Positional,
                                 cl::desc("<model .mlir with @main>"),
                                 cl::Required, cl::cat(cat));
  cl::opt<std::string> output("o", cl::desc("Write the compressed model here"),
                              cl::value_desc("file"), cl::cat(cat));
  cl::opt<std::string> entry("entry", cl::desc("The model's function"),
                             cl::init(d.entry), cl::cat(cat));
  cl::opt<std::string> valData(
      "val-data",
      cl::desc("Validation data: HDF5 with one dataset per argument of the "
               "entry (lathe.name, else input0, input1, ...) and the labels"),
      cl::cat(cat));
  cl::opt<std::string> labels("labels",
                              cl::desc("Dataset of the integer classes"),
                              cl::init(d.labels), cl::cat(cat));
  cl::opt<double> maxDrop(
      "max-accuracy-drop",
      cl::desc("Largest allowed drop of validation accuracy (0.005 = 0.5 pt)"),
      cl::init(d.maxAccuracyDrop), cl::cat(cat));
  cl::opt<std::string> target(
      "target",
      cl::desc("Target of lowrank-select-ranks: cpu (the shipped default) "
               "or a JSON target description (lathe-calibrate), attached to "
               "the module as #lathe.target"),
      cl::init(d.target), cl::cat(cat));
  cl::opt<int64_t> batch(
      "batch",
      cl::desc("Rows a dynamic batch is priced and timed at (default: 64, "
               "or fewer validation samples)"),
      cl::init(0), cl::cat(cat));
  cl::list<std::string> norms(
      "error-norms",
      cl::desc("Error norms of the max-error sweeps (default "
               "spectral,relative,frobenius)"),
      cl::CommaSeparated, cl::cat(cat));
  cl::opt<std::string> objective(
      "objective",
      cl::desc("What 'cheapest' means: latency (the table's prediction), "
               "flops, or measured (run every candidate, keep the fastest "
               "measured within the budget)"),
      cl::init(d.objective), cl::cat(cat));
  cl::opt<int> repeat("repeat", cl::desc("Timed calls (median)"),
                      cl::init(d.repeat), cl::cat(cat));
  cl::opt<int> threads("threads", cl::desc("Threads (>= 1)"), cl::init(0),
                       cl::cat(cat));
  cl::opt<std::string> targetCpu("target-cpu",
                                 cl::desc("host (default) or an LLVM CPU name"),
                                 cl::init("host"), cl::cat(cat));

  static cl::OptionCategory ftCat("Fine-tuning");
  cl::opt<bool> finetune(
      "finetune",
      cl::desc("Fine-tune every tried factorized model (factors, biases and "
               "dense layers) with lathe-train's library before measuring it"),
      cl::cat(ftCat));
  cl::opt<std::string> trainData(
      "train-data",
      cl::desc("Training data for --finetune (the --val-data datasets)"),
      cl::cat(ftCat));
  cl::opt<int64_t> steps("steps", cl::desc("Fine-tuning steps"),
                         cl::init(d.steps), cl::cat(ftCat));
  cl::opt<int64_t> ftBatch(
      "finetune-batch",
      cl::desc("Samples per fine-tuning step (a static batch wins)"),
      cl::init(d.finetuneBatch), cl::cat(ftCat));
  cl::opt<double> lr("lr", cl::desc("Fine-tuning learning rate (AdamW)"),
                     cl::init(d.lr), cl::cat(ftCat));
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  mlir::lathe::registerAllPasses();
  mlir::lathe::parseToolOptions(
      argc, argv, {&cat, &ftCat},
      "lathe-compress: low-rank compression within a validation-accuracy "
      "budget\n\n"
      "  lathe-compress model.mlir --val-data=val.h5 "
      "--max-accuracy-drop=0.005 -o small.mlir\n\n"
      "Exit status: 0 written; 1 bad input, nothing factorizable, or no\n"
      "operating point within the budget.\n");

  mlir::DialectRegistry registry = mlir::lathe::makeRegistry();

  mlir::lathe::CompressOptions o;
  o.inputFile = inputFile;
  o.outputFile = output;
  o.entry = entry;
  o.valDataFile = valData;
  o.labels = labels;
  o.maxAccuracyDrop = maxDrop;
  o.target = target;
  o.batch = batch;
  if (!norms.empty())
    o.errorNorms.assign(norms.begin(), norms.end());
  o.objective = objective;
  o.repeat = repeat;
  o.threads = threads;
  o.threadsGiven = threads.getNumOccurrences() > 0;
  o.targetCpu = targetCpu;
  o.finetune = finetune;
  o.trainDataFile = trainData;
  o.steps = steps;
  o.finetuneBatch = ftBatch;
  o.lr = lr;
  return mlir::lathe::compressMain(o, registry);
}
