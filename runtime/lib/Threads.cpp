//===- Threads.cpp - Thread count for oneDNN ------------------------------===//
//
// Debian's oneDNN is built on GNU OpenMP (libgomp); lathe-run loads LLVM's
// libomp first so that it serves both. omp_set_num_threads only changes the
// calling thread's ICV, so each session stores its requested count and every
// thread that runs a kernel (or binds a session) applies the current
// session's count, through the process's OpenMP entry point, when it differs
// from what that thread was last set to. A session that requests none (0)
// gets the thread's count from before any session changed it.
//
//===----------------------------------------------------------------------===//

#include "Session.h"

#include <dlfcn.h>

using namespace lathe::rt;

namespace {

/// What this thread's OpenMP ICV was set to by applyThreadSettings (0: never
/// touched), and its value before the first change.
thread_local int appliedThreads = 0;
thread_local int originalThreads = 0;

/// The definition oneDNN's own OpenMP calls bind to: the first in the global
/// scope. In lathe-run that is LLVM's libomp (loaded first, it interposes
/// libgomp's entry points, so generated code and oneDNN share one pool);
/// in a process with libgomp alone, libgomp's.
void *lookupOmp(const char *symbol) { return dlsym(RTLD_DEFAULT, symbol); }
} // namespace

SetNumThreadsFn lathe::rt::ompSetNumThreads() {
  static auto fn =
      reinterpret_cast<SetNumThreadsFn>(lookupOmp("omp_set_num_threads"));
  return fn;
}

GetMaxThreadsFn lathe::rt::ompGetMaxThreads() {
  static auto fn =
      reinterpret_cast<GetMaxThreadsFn>(lookupOmp("omp_get_max_threads"));
  return fn;
}

void lathe::rt::applyThreadSettings() {
  applyThreadSettings(kMinParallelFlops);
}

void lathe::rt::applyThreadSettings(double flops) {
  int n = currentSession().numThreads.load(std::memory_order_relaxed);
  if (flops < kMinParallelFlops)
    n = 1;
  if (n == appliedThreads)
    return;
  SetNumThreadsFn set = ompSetNumThreads();
  if (!set)
    return;
  if (n > 0) {
    if (appliedThreads == 0) {
      GetMaxThreadsFn get = ompGetMaxThreads();
      originalThreads = get ? get() : 0;
    }
    set(n);
    appliedThreads = n;
    return;
  }
  // Back to the thread's own setting.
  if (originalThreads > 0)
    set(originalThreads);
  appliedThreads = 0;
}

extern "C" void lathe_rt_set_num_threads(int n) {
  currentSession().numThreads.store(n > 0 ? n : 0, std::memory_order_relaxed);
  applyThreadSettings();
}

extern "C" int lathe_rt_get_num_threads(void) {
  int n = currentSession().numThreads.load(std::memory_order_relaxed);
  if (n > 0)
    return n;
  GetMaxThreadsFn get = ompGetMaxThreads();
  if (!get)
    return 1;
  // A count another session set on this thread is not this session's.
  return appliedThreads > 0 && originalThreads > 0 ? originalThreads : get();
}
