//===- Parallel.cpp - The runtime's worker pool ---------------------------===//
//
// See Parallel.h. Moved out of SpMM.cpp so that every kernel that splits its
// own work shares one pool.
//
//===----------------------------------------------------------------------===//

#include "Parallel.h"

#include "Internal.h"
#include "Session.h"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

using namespace lathe::rt;

namespace {

/// Set while this thread runs a job's chunks (see insideParallelJob).
thread_local bool inJob = false;

/// Sets inJob for the lifetime of the guard.
struct InJobGuard {
  bool saved = inJob;
  InJobGuard() { inJob = true; }
  ~InJobGuard() { inJob = saved; }
};

// The pool's threads and the caller run oneDNN single-threaded inside a job
// through the OpenMP entry points oneDNN binds to (Internal.h). (Looking the
// setter up inside libgomp itself set libgomp's own count, which oneDNN's
// calls, served by libomp, never read.)

/// One parallel call. The caller works through the chunks itself; a worker
/// that arrives after the chunks are gone, or after the caller closed the
/// job, leaves without touching the body. So a call never waits for a worker
/// that the OS has not scheduled yet (with the cores busy, an OpenMP join
/// waits a whole time slice for it); it waits only for workers that are
/// running a chunk.
struct Job {
  std::atomic<int64_t> next{0};
  int64_t n = 0, grain = 1;
  std::atomic<int> tickets{0};
  int maxWorkers = 0;
  std::atomic<int> inFlight{0};
  std::atomic<bool> closed{false};
  void (*run)(const void *body, int64_t begin, int64_t end) = nullptr;
  const void *body = nullptr;
  /// The caller's session, bound on the workers while they run the body.
  Session *session = nullptr;

  void drain() {
    for (;;) {
      int64_t begin = next.fetch_add(grain);
      if (begin >= n)
        return;
      run(body, begin, std::min(begin + grain, n));
    }
  }
};

class Pool {
public:
  static Pool &get() {
    static auto *pool = new Pool(); // Never destroyed: workers may be parked.
    return *pool;
  }

  /// Runs `job` on the caller and up to `workers` pool threads.
  void execute(const std::shared_ptr<Job> &job, int workers) {
    ensureWorkers(workers);
    job->maxWorkers = workers;
    {
      std::lock_guard<std::mutex> lock(mutex);
      current = job;
      ++generation;
    }
    wake.notify_all();
    {
      InJobGuard guard;
      job->drain();
    }
    job->closed.store(true);
    while (job->inFlight.load() != 0)
      std::this_thread::yield();
    std::lock_guard<std::mutex> lock(mutex);
    if (current == job)
      current.reset();
  }

private:
  void ensureWorkers(int count) {
    std::lock_guard<std::mutex> lock(mutex);
    for (; started < count; ++started)
      std::thread([this] { workerLoop(); }).detach();
  }

  void workerLoop() {
    if (SetNumThreadsFn set = ompSetNumThreads())
      set(1);
    uint64_t seen = 0;
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return generation != seen; });
        seen = generation;
        job = current;
      }
      if (!job || job->tickets.fetch_add(1) >= job->maxWorkers)
        continue;
      // Register, then look: the caller closes, then waits for registered
      // workers, so a worker that sees the job open may use its body.
      job->inFlight.fetch_add(1);
      if (!job->closed.load()) {
        SessionBinding binding(job->session);
        InJobGuard guard;
        job->drain();
      }
      job->inFlight.fetch_sub(1);
    }
  }

  std::mutex mutex;
  std::condition_variable wake;
  std::shared_ptr<Job> current;
  uint64_t generation = 0;
  int started = 0; // Detached workers, parked on `wake` between jobs.
};

} // namespace

bool lathe::rt::insideParallelJob() { return inJob; }

void lathe::rt::runParallelJob(int64_t n, int64_t grain, int workers,
                               void (*run)(const void *, int64_t, int64_t),
                               const void *body) {
  auto job = std::make_shared<Job>();
  job->n = n;
  job->grain = grain;
  job->body = body;
  job->run = run;
  job->session = &currentSession();
  // oneDNN calls inside the job must not fork teams of their own.
  SetNumThreadsFn set = ompSetNumThreads();
  GetMaxThreadsFn get = ompGetMaxThreads();
  int saved = get ? get() : 0;
  if (set)
    set(1);
  Pool::get().execute(job, workers);
  if (set && saved > 0)
    set(saved);
}
