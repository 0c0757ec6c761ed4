//===- Trace.cpp - Trace events and the memory timeline -------------------===//
//
// While tracing is on (lathe_rt_trace_enable), every kernel call (through
// ProfileScope) and every instrumented region of generated code
// (lathe_rt_trace_region_begin/end, inserted by lathe-cpu-instrument-trace)
// becomes one event: name, category, detail (shapes and bytes), start,
// duration and thread. While the memory timeline is on, every allocation and
// free adds a sample (time, bytes live in the allocating session). Both are
// process-wide, guarded by one mutex each: events are per kernel call, never
// per element, so the lock is not on a hot path. The driver reads them back
// through the C API and writes the Chrome trace / the plot.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <atomic>
#include <mutex>
#include <sstream>
#include <vector>

#include <sys/syscall.h>
#include <unistd.h>

using namespace lathe::rt;
using Clock = std::chrono::steady_clock;

namespace {

struct Event {
  std::string name;
  std::string category;
  std::string detail;
  int64_t startNs = 0;
  int64_t durNs = 0;
  int64_t thread = 0;
};

struct Recorder {
  std::atomic<bool> tracing{false};
  std::atomic<bool> memory{false};
  std::mutex mutex;
  Clock::time_point origin = Clock::now();
  std::vector<Event> events;
  std::vector<std::pair<int64_t, int64_t>> samples; // (ns, live bytes)
};

Recorder &recorder() {
  static Recorder *r = new Recorder(); // leaked: kernels may run at exit
  return *r;
}

int64_t threadId() {
  static thread_local int64_t id = static_cast<int64_t>(::syscall(SYS_gettid));
  return id;
}

int64_t sinceOrigin(const Recorder &r, Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t - r.origin)
      .count();
}

/// The NUL-terminated text of a rank-1 i8 memref descriptor (as
/// lathe-cpu-instrument-trace passes region names).
std::string textOf(int64_t rank, void *descriptor) {
  std::string text;
  if (rank != 1 || !descriptor)
    return text;
  const int64_t *words = static_cast<const int64_t *>(descriptor);
  const char *aligned = reinterpret_cast<const char *>(words[1]);
  int64_t offset = words[2], size = words[3], stride = words[4];
  if (!aligned || size <= 0 || size >= (1 << 16))
    return text;
  for (int64_t i = 0; i < size; ++i) {
    char c = aligned[offset + i * stride];
    if (c == '\0')
      break;
    text.push_back(c);
  }
  return text;
}

/// Open regions of generated code on this thread (regions do not nest in
/// practice, but a stack costs nothing).
thread_local std::vector<Clock::time_point> openRegions;

} // namespace

bool lathe::rt::traceEnabled() {
  return recorder().tracing.load(std::memory_order_relaxed);
}

void lathe::rt::recordTraceEvent(const char *name, const char *category,
                                 std::string detail, Clock::time_point start,
                                 Clock::time_point end) {
  Recorder &r = recorder();
  Event e;
  e.name = name;
  e.category = category;
  e.detail = std::move(detail);
  e.startNs = sinceOrigin(r, start);
  e.durNs =
      std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count();
  e.thread = threadId();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (r.tracing.load(std::memory_order_relaxed))
    r.events.push_back(std::move(e));
}

void ProfileScope::recordTrace(Clock::time_point end) noexcept {
  try {
    recordTraceEvent(lathe_rt_profile_name(kind), "kernel", std::move(detail),
                     start, end);
  } catch (...) {
    // Tracing must never fail a run.
  }
}

std::string lathe::rt::describeOperands(
    std::initializer_list<std::pair<int64_t, void *>> operands, int numOutputs,
    int64_t elementBytes) {
  std::ostringstream os;
  int64_t bytes = 0;
  int index = 0;
  bool sawOutput = false;
  int numInputs = static_cast<int>(operands.size()) - numOutputs;
  bool first = true;
  for (auto [rank, descriptor] : operands) {
    bool output = index++ >= numInputs;
    if (!descriptor || rank < 0 || rank > 8)
      continue; // An operand the call does not have (no bias, ...).
    if (output && !std::exchange(sawOutput, true))
      os << (first ? "-> " : " -> ");
    else if (!first)
      os << ' ';
    first = false;
    const int64_t *words = static_cast<const int64_t *>(descriptor);
    int64_t elements = 1;
    os << '[';
    for (int64_t d = 0; d < rank; ++d) {
      os << (d ? "x" : "") << words[3 + d];
      elements *= words[3 + d];
    }
    os << ']';
    bytes += elements * elementBytes;
  }
  os << ", " << bytes << " bytes";
  return os.str();
}

void lathe::rt::recordMemorySample(int64_t liveBytes) {
  Recorder &r = recorder();
  if (!r.memory.load(std::memory_order_relaxed))
    return;
  try {
    int64_t ns = sinceOrigin(r, Clock::now());
    std::lock_guard<std::mutex> lock(r.mutex);
    if (r.memory.load(std::memory_order_relaxed))
      r.samples.emplace_back(ns, liveBytes);
  } catch (...) {
    // Out of memory while recording: the timeline just misses a sample.
  }
}

extern "C" void lathe_rt_trace_enable(int enable) {
  Recorder &r = recorder();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (enable) {
    r.events.clear();
    r.origin = Clock::now();
  }
  r.tracing.store(enable != 0, std::memory_order_relaxed);
}

extern "C" int64_t lathe_rt_trace_clock_ns(void) {
  return sinceOrigin(recorder(), Clock::now());
}

extern "C" int64_t lathe_rt_trace_count(void) {
  Recorder &r = recorder();
  std::lock_guard<std::mutex> lock(r.mutex);
  return static_cast<int64_t>(r.events.size());
}

extern "C" int lathe_rt_trace_get(int64_t index, lathe_rt_trace_record *out) {
  Recorder &r = recorder();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (!out || index < 0 || index >= static_cast<int64_t>(r.events.size()))
    return 0;
  const Event &e = r.events[index];
  out->name = e.name.c_str();
  out->category = e.category.c_str();
  out->detail = e.detail.c_str();
  out->start_ns = e.startNs;
  out->duration_ns = e.durNs;
  out->thread = e.thread;
  return 1;
}

extern "C" void lathe_rt_trace_region_begin(int64_t rank, void *name) {
  (void)rank;
  (void)name;
  if (!traceEnabled())
    return;
  try {
    openRegions.push_back(Clock::now());
  } catch (...) {
  }
}

/// Ends the innermost open region: one event named by the text before '|' in
/// `name`, whose detail is the text after it with its '?'s replaced, in
/// order, by the entries of the rank-1 i64 memref `values` (when given).
static void endRegion(int64_t rank, void *name, int64_t valuesRank,
                      void *values) {
  if (openRegions.empty())
    return; // Tracing was switched on inside the region.
  Clock::time_point start = openRegions.back();
  openRegions.pop_back();
  if (!traceEnabled())
    return;
  try {
    Clock::time_point end = Clock::now();
    // "<name>|<detail>": the instrumentation pass joins them with '|'.
    std::string text = textOf(rank, name);
    size_t bar = text.find('|');
    std::string detail = bar == std::string::npos ? "" : text.substr(bar + 1);
    if (bar != std::string::npos)
      text.resize(bar);
    if (valuesRank == 1 && values) {
      const int64_t *words = static_cast<const int64_t *>(values);
      const int64_t *aligned = reinterpret_cast<const int64_t *>(words[1]);
      int64_t offset = words[2], size = words[3], stride = words[4];
      std::string filled;
      int64_t next = 0;
      for (char c : detail) {
        if (c == '?' && aligned && next < size)
          filled += std::to_string(aligned[offset + stride * next++]);
        else
          filled.push_back(c);
      }
      detail = std::move(filled);
    }
    recordTraceEvent(text.c_str(), "generated", std::move(detail), start, end);
  } catch (...) {
  }
}

extern "C" void lathe_rt_trace_region_end(int64_t rank, void *name) {
  endRegion(rank, name, 0, nullptr);
}

extern "C" void lathe_rt_trace_region_end_sized(int64_t rank, void *name,
                                                int64_t values_rank,
                                                void *values) {
  endRegion(rank, name, values_rank, values);
}

extern "C" void lathe_rt_mem_timeline_enable(int enable) {
  Recorder &r = recorder();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (enable) {
    r.samples.clear();
    r.origin = Clock::now();
  }
  r.memory.store(enable != 0, std::memory_order_relaxed);
}

extern "C" int64_t lathe_rt_mem_timeline_count(void) {
  Recorder &r = recorder();
  std::lock_guard<std::mutex> lock(r.mutex);
  return static_cast<int64_t>(r.samples.size());
}

extern "C" int lathe_rt_mem_timeline_sample(int64_t index, int64_t *time_ns,
                                            int64_t *live_bytes) {
  Recorder &r = recorder();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (index < 0 || index >= static_cast<int64_t>(r.samples.size()))
    return 0;
  if (time_ns)
    *time_ns = r.samples[index].first;
  if (live_bytes)
    *live_bytes = r.samples[index].second;
  return 1;
}
