//===- Threads.cpp - Thread count for oneDNN ------------------------------===//
//
// Debian's oneDNN is built on GNU OpenMP (libgomp). omp_set_num_threads only
// changes the calling thread's ICV, and a process may hold two OpenMP
// runtimes (LLVM's libomp for generated code); so the requested count is
// stored here and applied, through libgomp's own entry point, on each thread
// that runs a kernel the first time it sees a new value.
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

void *lookupOmp(const char *symbol) {
  // Prefer the runtime oneDNN links against, already loaded with it.
  static void *gomp = dlopen("libgomp.so.1", RTLD_LAZY | RTLD_NOLOAD);
  if (gomp)
    if (void *fn = dlsym(gomp, symbol))
      return fn;
  return dlsym(RTLD_DEFAULT, symbol);
}
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
