//===- Threads.cpp - Thread count for oneDNN ------------------------------===//
//
// Debian's oneDNN is built on GNU OpenMP (libgomp); lathe-run loads LLVM's
// libomp first so that it serves both. omp_set_num_threads only changes the
// calling thread's ICV, so the requested count is stored here and applied,
// through the process's OpenMP entry point, on each thread that runs a kernel
// the first time it sees a new value.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <atomic>
#include <dlfcn.h>

using namespace lathe::rt;

namespace {
using SetNumThreadsFn = void (*)(int);
using GetMaxThreadsFn = int (*)();

std::atomic<int> requestedThreads{0}; // 0: leave OpenMP's default.
std::atomic<unsigned> generation{0};
thread_local unsigned appliedGeneration = 0;

/// The definition oneDNN's own OpenMP calls bind to: the first in the global
/// scope. In lathe-run that is LLVM's libomp (loaded first, it interposes
/// libgomp's entry points, so generated code and oneDNN share one pool);
/// in a process with libgomp alone, libgomp's.
void *lookupOmp(const char *symbol) { return dlsym(RTLD_DEFAULT, symbol); }
} // namespace

void lathe::rt::applyThreadSettings() {
  unsigned gen = generation.load(std::memory_order_acquire);
  if (gen == appliedGeneration)
    return;
  appliedGeneration = gen;
  int n = requestedThreads.load(std::memory_order_relaxed);
  if (n <= 0)
    return;
  static auto setFn =
      reinterpret_cast<SetNumThreadsFn>(lookupOmp("omp_set_num_threads"));
  if (setFn)
    setFn(n);
}

extern "C" void lathe_rt_set_num_threads(int n) {
  requestedThreads.store(n > 0 ? n : 0, std::memory_order_relaxed);
  generation.fetch_add(1, std::memory_order_release);
  applyThreadSettings();
}

extern "C" int lathe_rt_get_num_threads(void) {
  int n = requestedThreads.load(std::memory_order_relaxed);
  if (n > 0)
    return n;
  static auto getFn =
      reinterpret_cast<GetMaxThreadsFn>(lookupOmp("omp_get_max_threads"));
  return getFn ? getFn() : 1;
}
