//===- Observe.h - Traces and memory timelines of a run ---------*- C++ -*-===//
//
// What `--trace` and `--memory-timeline` write, from the runtime's recorders
// (lathe_rt_trace_*, lathe_rt_mem_timeline_*).
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_DRIVER_OBSERVE_H
#define LATHE_DRIVER_OBSERVE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace llvm {
class raw_ostream;
namespace json {
class Object;
} // namespace json
} // namespace llvm

namespace mlir::lathe {

/// One call of the entry, as the trace shows it (times as the runtime's
/// trace clock counts them: nanoseconds since tracing was enabled).
struct TracedCall {
  std::string name; // "call #0 (kept results)", "call #3"
  int64_t startNs = 0;
  int64_t durationNs = 0;
};

/// Nanoseconds on the runtime's trace clock now.
int64_t traceClockNs();

/// Writes the runtime's recorded events, plus one event per call, as a Chrome
/// trace-event JSON file (Perfetto, chrome://tracing). `process` names the
/// process row.
bool writeChromeTrace(llvm::StringRef path, llvm::StringRef process,
                      llvm::ArrayRef<TracedCall> calls, std::string &error);

/// Plots the runtime's memory timeline (live bytes over time) with the peak
/// marked, as a PNG (matplotlib, run by $LATHE_PYTHON or /usr/bin/python3).
/// `title` heads the plot. Returns the peak of the samples in `peakBytes`.
bool writeMemoryTimeline(llvm::StringRef path, llvm::StringRef title,
                         int64_t &peakBytes, std::string &error);

/// How observeCalls runs a module's calls: one call whose results are kept,
/// then `repeat` timed ones.
struct CallObservation {
  /// Names the tool on the progress line.
  std::string tool;
  int repeat = 0;
  /// Chrome trace of every call, or "" (process row: `traceProcess`).
  std::string tracePath;
  std::string traceProcess;
  /// PNG of the live bytes over the first call, or "" (headed `timelineTitle`).
  std::string memoryTimelinePath;
  std::string timelineTitle;
  /// Whether the progress of the timed calls is shown.
  bool showProgress = true;
  /// Whether SIGINT during the timed calls ends them (after the current one)
  /// instead of the process.
  bool stopOnInterrupt = false;
};

/// What observeCalls measured.
struct ObservedCalls {
  /// The first call, in milliseconds.
  double firstMs = 0;
  /// One per timed call done.
  std::vector<double> timesMs;
  /// SIGINT ended the timed calls early.
  bool interrupted = false;
  /// The memory timeline's peak (0 without one).
  int64_t timelinePeakBytes = 0;

  double minMs() const;
  double medianMs() const;
  /// "latency over N call(s): ..." when there were timed calls.
  void printLatency(llvm::raw_ostream &os) const;
  /// The report's `calls_timed`, `latency_ms`, `trace` and `memory_timeline`.
  void addToReport(llvm::json::Object &report,
                   const CallObservation &how) const;
};

/// The median of `values` (0 for none).
double medianOf(std::vector<double> values);

/// Runs `runCall(0)` (the call whose results are kept, the only one the
/// memory timeline covers), then `afterFirstCall()`, then `runCall(1)` ..
/// `runCall(how.repeat)` timed, each followed by `afterTimedCall(i)`, tracing
/// every call and showing progress as `how` says; writes the trace and the
/// timeline at the end. Returns false when a callback failed (it reported
/// why; `error` stays empty) or an output could not be written (`error`).
bool observeCalls(const CallObservation &how,
                  llvm::function_ref<bool(int call)> runCall,
                  llvm::function_ref<bool()> afterFirstCall,
                  llvm::function_ref<void(int call)> afterTimedCall,
                  ObservedCalls &observed, std::string &error);

} // namespace mlir::lathe

#endif // LATHE_DRIVER_OBSERVE_H
