//===- Observe.cpp - Traces and memory timelines of a run -----------------===//

#include "lathe/Driver/Observe.h"

#include "lathe/Support/Progress.h"
#include "lathe/runtime/Runtime.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <optional>
#include <vector>

#include <sys/syscall.h>
#include <unistd.h>

using namespace mlir::lathe;

int64_t mlir::lathe::traceClockNs() { return lathe_rt_trace_clock_ns(); }

bool mlir::lathe::writeChromeTrace(llvm::StringRef path,
                                   llvm::StringRef process,
                                   llvm::ArrayRef<TracedCall> calls,
                                   std::string &error) {
  constexpr int64_t kPid = 1;
  auto us = [](int64_t ns) { return static_cast<double>(ns) / 1000.0; };
  int64_t mainThread = static_cast<int64_t>(::syscall(SYS_gettid));
  llvm::json::Array events;
  events.push_back(llvm::json::Object{
      {"name", "process_name"},
      {"ph", "M"},
      {"pid", kPid},
      {"args", llvm::json::Object{{"name", process.str()}}}});
  for (const TracedCall &call : calls)
    events.push_back(llvm::json::Object{{"name", call.name},
                                        {"cat", "call"},
                                        {"ph", "X"},
                                        {"ts", us(call.startNs)},
                                        {"dur", us(call.durationNs)},
                                        {"pid", kPid},
                                        {"tid", mainThread}});
  int64_t n = lathe_rt_trace_count();
  for (int64_t i = 0; i < n; ++i) {
    lathe_rt_trace_record record;
    if (!lathe_rt_trace_get(i, &record))
      break;
    llvm::json::Object args;
    if (record.detail && *record.detail)
      args["shapes"] = std::string(record.detail);
    events.push_back(llvm::json::Object{{"name", std::string(record.name)},
                                        {"cat", std::string(record.category)},
                                        {"ph", "X"},
                                        {"ts", us(record.start_ns)},
                                        {"dur", us(record.duration_ns)},
                                        {"pid", kPid},
                                        {"tid", record.thread},
                                        {"args", std::move(args)}});
  }
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec) {
    error = ("cannot write trace '" + path + "': " + ec.message()).str();
    return false;
  }
  os << llvm::json::Value(llvm::json::Object{{"traceEvents", std::move(events)},
                                             {"displayTimeUnit", "ms"}});
  os << "\n";
  return true;
}

namespace {
/// Reads the CSV (ms, bytes) given as argv[1], writes the PNG argv[2].
constexpr const char *kPlotScript = R"PY(
import csv, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
rows = list(csv.reader(open(sys.argv[1])))
t = [float(r[0]) for r in rows]
b = [float(r[1]) / 2**20 for r in rows]
fig, ax = plt.subplots(figsize=(9, 3.6), dpi=110)
ax.step(t, b, where="post", color="#1f77b4", linewidth=1.2)
ax.fill_between(t, b, step="post", alpha=0.15, color="#1f77b4")
k = max(range(len(b)), key=lambda i: b[i])
ax.plot([t[k]], [b[k]], "o", color="#d62728")
right = t[k] > 0.5 * (t[0] + t[-1])
ax.annotate("peak %.2f MiB at %.2f ms" % (b[k], t[k]), (t[k], b[k]),
            textcoords="offset points", xytext=(-8 if right else 8, 6),
            ha="right" if right else "left", color="#d62728")
ax.set_xlabel("time in the call (ms)")
ax.set_ylabel("live bytes (MiB)")
ax.set_title(sys.argv[3])
ax.set_ylim(bottom=0, top=max(b) * 1.15 if max(b) > 0 else 1)
fig.tight_layout()
fig.savefig(sys.argv[2])
)PY";
} // namespace

bool mlir::lathe::writeMemoryTimeline(llvm::StringRef path,
                                      llvm::StringRef title, int64_t &peakBytes,
                                      std::string &error) {
  int64_t n = lathe_rt_mem_timeline_count();
  peakBytes = 0;
  llvm::SmallString<128> csvPath;
  int fd;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
          "lathe-memory", "csv", fd, csvPath)) {
    error = "cannot create a temporary file: " + ec.message();
    return false;
  }
  {
    llvm::raw_fd_ostream csv(fd, /*shouldClose=*/true);
    // A call with no allocation still draws a line.
    for (int64_t i = 0; i < n; ++i) {
      int64_t ns = 0, bytes = 0;
      if (!lathe_rt_mem_timeline_sample(i, &ns, &bytes))
        break;
      if (i == 0)
        csv << "0," << bytes << "\n";
      csv << llvm::formatv("{0:f6},{1}\n", ns / 1e6, bytes);
      peakBytes = std::max(peakBytes, bytes);
    }
    if (n == 0)
      csv << "0,0\n0.001,0\n";
  }
  const char *python = std::getenv("LATHE_PYTHON");
  std::string interpreter = python && *python ? python : "/usr/bin/python3";
  std::string scriptError;
  bool failedToRun = false;
  llvm::SmallVector<llvm::StringRef> args = {interpreter, "-c", kPlotScript,
                                             csvPath,     path, title};
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, std::nullopt,
                                                std::nullopt};
  int rc = llvm::sys::ExecuteAndWait(interpreter, args, std::nullopt, redirects,
                                     /*SecondsToWait=*/120, 0, &scriptError,
                                     &failedToRun);
  llvm::sys::fs::remove(csvPath);
  if (failedToRun || rc != 0) {
    error = llvm::formatv("--memory-timeline: plotting with {0} and "
                          "matplotlib failed ({1}); install python3-matplotlib "
                          "or set LATHE_PYTHON",
                          interpreter,
                          scriptError.empty() ? "exit " + std::to_string(rc)
                                              : scriptError)
                .str();
    return false;
  }
  return true;
}

namespace {
/// Set by SIGINT while interruptible timed calls run: the loop stops after
/// the current call.
volatile std::sig_atomic_t interrupted = 0;
void onInterrupt(int) { interrupted = 1; }
} // namespace

double mlir::lathe::medianOf(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  if (n == 0)
    return 0.0;
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

double ObservedCalls::minMs() const {
  return timesMs.empty() ? 0.0
                         : *std::min_element(timesMs.begin(), timesMs.end());
}

double ObservedCalls::medianMs() const { return medianOf(timesMs); }

void ObservedCalls::printLatency(llvm::raw_ostream &os) const {
  if (timesMs.empty())
    return;
  os << llvm::formatv("latency over {0} call(s): min {1:f3} ms, "
                      "median {2:f3} ms\n",
                      timesMs.size(), minMs(), medianMs());
}

void ObservedCalls::addToReport(llvm::json::Object &report,
                                const CallObservation &how) const {
  auto pathOrNull = [](const std::string &path) {
    return path.empty() ? llvm::json::Value(nullptr) : llvm::json::Value(path);
  };
  report["calls_timed"] = static_cast<int64_t>(timesMs.size());
  report["latency_ms"] =
      llvm::json::Object{{"min", minMs()}, {"median", medianMs()}};
  report["trace"] = pathOrNull(how.tracePath);
  report["memory_timeline"] = how.memoryTimelinePath.empty()
                                  ? llvm::json::Value(nullptr)
                                  : llvm::json::Value(llvm::json::Object{
                                        {"path", how.memoryTimelinePath},
                                        {"peak_bytes", timelinePeakBytes}});
}

bool mlir::lathe::observeCalls(
    const CallObservation &how, llvm::function_ref<bool(int call)> runCall,
    llvm::function_ref<bool()> afterFirstCall,
    llvm::function_ref<void(int call)> afterTimedCall, ObservedCalls &observed,
    std::string &error) {
  using Clock = std::chrono::steady_clock;
  auto msSince = [](Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start)
        .count();
  };
  observed = ObservedCalls();
  std::vector<TracedCall> tracedCalls;
  bool tracing = !how.tracePath.empty();
  bool timeline = !how.memoryTimelinePath.empty();
  if (tracing)
    lathe_rt_trace_enable(1);
  auto traced = [&](int call, llvm::StringRef name) {
    int64_t start = tracing ? traceClockNs() : 0;
    bool ok = runCall(call);
    if (tracing)
      tracedCalls.push_back({name.str(), start, traceClockNs() - start});
    return ok;
  };

  if (timeline)
    lathe_rt_mem_timeline_enable(1);
  Clock::time_point firstStart = Clock::now();
  bool firstOk = traced(0, "call #0 (results kept)");
  observed.firstMs = msSince(firstStart);
  if (timeline)
    lathe_rt_mem_timeline_enable(0);
  if (!firstOk || !afterFirstCall())
    return false;

  interrupted = 0;
  using Handler = void (*)(int);
  Handler previousHandler =
      how.stopOnInterrupt ? std::signal(SIGINT, onInterrupt) : nullptr;
  std::optional<Progress> progress;
  if (how.repeat > 0 && how.showProgress)
    progress.emplace(how.tool, "timed calls", how.repeat);
  for (int r = 0; r < how.repeat && !interrupted; ++r) {
    Clock::time_point start = Clock::now();
    bool ok = traced(r + 1, "call #" + std::to_string(r + 1));
    observed.timesMs.push_back(msSince(start));
    if (!ok) {
      if (how.stopOnInterrupt)
        std::signal(SIGINT, previousHandler);
      return false;
    }
    afterTimedCall(r + 1);
    // Long runs say how far they are on stderr: a bar on a terminal, a line
    // every few seconds elsewhere.
    if (progress && r + 1 < how.repeat)
      progress->update(r + 1, how.stopOnInterrupt
                                  ? "Ctrl-C stops and writes the report"
                                  : "");
  }
  if (progress)
    progress->finish();
  if (how.stopOnInterrupt)
    std::signal(SIGINT, previousHandler);
  observed.interrupted = interrupted;

  if (tracing) {
    lathe_rt_trace_enable(0);
    if (!writeChromeTrace(how.tracePath, how.traceProcess, tracedCalls, error))
      return false;
  }
  if (timeline &&
      !writeMemoryTimeline(how.memoryTimelinePath, how.timelineTitle,
                           observed.timelinePeakBytes, error))
    return false;
  if (observed.interrupted)
    llvm::errs() << how.tool << ": interrupted after "
                 << observed.timesMs.size() << " of " << how.repeat
                 << " timed calls\n";
  return true;
}
