//===- Compress.h - lathe-compress: low-rank compression by accuracy ------===//
//
// The library behind lathe-compress: searches lowrank-select-ranks'
// operating points, measures each candidate's validation accuracy through
// the CPU pipeline and keeps the cheapest one within an accuracy budget
// (docs/Dialects/LowRank.md, "lathe-compress").
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_DRIVER_COMPRESS_H
#define LATHE_DRIVER_COMPRESS_H

#include <cstdint>
#include <string>
#include <vector>

namespace mlir {
class DialectRegistry;
namespace lathe {

struct CompressOptions {
  std::string inputFile;
  std::string outputFile;
  /// Entry function (its arguments name the datasets of the data files).
  std::string entry = "main";
  /// Validation data: one dataset per argument and `labels`.
  std::string valDataFile;
  std::string labels = "labels";
  /// Largest allowed drop of validation accuracy (fraction, 0.005 = 0.5 pt).
  double maxAccuracyDrop = 0.005;
  /// Target of lowrank-select-ranks: `cpu` (the shipped default) or a JSON
  /// target description, read once and attached as `#lathe.target`.
  std::string target = "cpu";
  /// Rows the latency table prices a dynamic batch at (0: the validation
  /// batch, at most 64).
  int64_t batch = 0;
  /// Error norms whose max-error sweeps make the operating points.
  std::vector<std::string> errorNorms = {"spectral", "relative", "frobenius"};
  /// `latency` (the table's prediction) or `flops`: what "cheapest" means;
  /// `measured`: every candidate is run and the fastest measured one within
  /// the accuracy budget is written (if faster than the dense model).
  std::string objective = "latency";
  /// Timed calls for the measured latency (median).
  int repeat = 20;
  int threads = 0;
  bool threadsGiven = false;
  std::string targetCpu = "host";
  /// Fine-tuning of the chosen factorized model with lathe-train's library.
  bool finetune = false;
  std::string trainDataFile;
  int64_t steps = 100;
  int64_t finetuneBatch = 32;
  double lr = 1e-3;
};

/// Runs lathe-compress; returns the process exit status (0: written).
int compressMain(const CompressOptions &options, DialectRegistry &registry);

} // namespace lathe
} // namespace mlir

#endif // LATHE_DRIVER_COMPRESS_H
