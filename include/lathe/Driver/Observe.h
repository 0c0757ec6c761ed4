//===- Observe.h - Traces and memory timelines of a run ---------*- C++ -*-===//
//
// What `--trace` and `--memory-timeline` write, from the runtime's recorders
// (lathe_rt_trace_*, lathe_rt_mem_timeline_*).
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_DRIVER_OBSERVE_H
#define LATHE_DRIVER_OBSERVE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>

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

} // namespace mlir::lathe

#endif // LATHE_DRIVER_OBSERVE_H
