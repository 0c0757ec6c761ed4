//===- Profile.cpp - Per-kernel-kind time and call counters ---------------===//
//
// Kinds are registered once and never removed, so indices and name pointers
// stay valid for the life of the process; counters are atomics so kernels on
// several threads can add without a lock.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <atomic>
#include <deque>
#include <mutex>

using namespace lathe::rt;

namespace {
struct Kind {
  explicit Kind(std::string name) : name(std::move(name)) {}
  const std::string name;
  std::atomic<int64_t> ns{0};
  std::atomic<int64_t> calls{0};
};

struct Profiler {
  std::mutex mutex;
  std::deque<Kind> kinds; // deque: stable addresses while growing.
  std::atomic<int> count{0};
};

Profiler &profiler() {
  static Profiler *p = new Profiler();
  return *p;
}

Kind *kindAt(int index) {
  Profiler &p = profiler();
  if (index < 0 || index >= p.count.load(std::memory_order_acquire))
    return nullptr;
  std::lock_guard<std::mutex> lock(p.mutex);
  return &p.kinds[index];
}
} // namespace

int lathe::rt::getProfileKind(const char *name) {
  Profiler &p = profiler();
  std::lock_guard<std::mutex> lock(p.mutex);
  for (size_t i = 0; i < p.kinds.size(); ++i)
    if (p.kinds[i].name == name)
      return static_cast<int>(i);
  p.kinds.emplace_back(name);
  p.count.store(static_cast<int>(p.kinds.size()), std::memory_order_release);
  return static_cast<int>(p.kinds.size() - 1);
}

void lathe::rt::addProfileSample(int kind, int64_t ns, int64_t calls) {
  Kind *k = kindAt(kind);
  if (!k)
    return;
  k->ns.fetch_add(ns, std::memory_order_relaxed);
  k->calls.fetch_add(calls, std::memory_order_relaxed);
}

extern "C" void lathe_rt_profile_reset(void) {
  Profiler &p = profiler();
  std::lock_guard<std::mutex> lock(p.mutex);
  for (Kind &k : p.kinds) {
    k.ns.store(0, std::memory_order_relaxed);
    k.calls.store(0, std::memory_order_relaxed);
  }
}

extern "C" int lathe_rt_profile_count(void) {
  return profiler().count.load(std::memory_order_acquire);
}

extern "C" const char *lathe_rt_profile_name(int index) {
  Kind *k = kindAt(index);
  return k ? k->name.c_str() : "";
}

extern "C" double lathe_rt_profile_ms(int index) {
  Kind *k = kindAt(index);
  return k ? static_cast<double>(k->ns.load(std::memory_order_relaxed)) * 1e-6
           : 0.0;
}

extern "C" int64_t lathe_rt_profile_calls(int index) {
  Kind *k = kindAt(index);
  return k ? k->calls.load(std::memory_order_relaxed) : 0;
}

extern "C" void lathe_rt_profile_add(const char *name, int64_t ns,
                                     int64_t calls) {
  if (!name)
    return;
  try {
    addProfileSample(getProfileKind(name), ns, calls);
  } catch (...) {
    // Profiling must never fail a run.
  }
}
