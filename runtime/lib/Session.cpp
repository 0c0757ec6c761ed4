//===- Session.cpp - Sessions and how entry points find theirs ------------===//
//
// The binding is thread-local. Threads nobody bound (OpenMP workers running a
// parallel loop of generated code) cannot be told which run they serve; they
// use the session bound on other threads when exactly one session is bound
// in the whole process, which is always the case for one run at a time, and
// the default session otherwise.
//
//===----------------------------------------------------------------------===//

#include "Session.h"

#include <unordered_map>

using namespace lathe::rt;

namespace {

std::atomic<uint64_t> nextSessionId{1};

thread_local Session *boundSession = nullptr;

/// How many threads have each session bound, and the session unbound threads
/// use (null: the default session).
struct Bindings {
  std::mutex mutex;
  std::unordered_map<Session *, int64_t> threadsBinding;
  std::atomic<Session *> fallback{nullptr};

  void update(Session *from, Session *to) {
    if (from == to)
      return;
    std::lock_guard<std::mutex> lock(mutex);
    if (from && --threadsBinding[from] <= 0)
      threadsBinding.erase(from);
    if (to)
      ++threadsBinding[to];
    fallback.store(threadsBinding.size() == 1 ? threadsBinding.begin()->first
                                              : nullptr,
                   std::memory_order_release);
  }
  int64_t count(Session *s) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = threadsBinding.find(s);
    return it == threadsBinding.end() ? 0 : it->second;
  }
};

/// Leaked on purpose: threads may still run kernels while statics die.
Bindings &bindings() {
  static auto *b = new Bindings();
  return *b;
}

/// Unbinds when a thread ends with a session still bound, so that the
/// session counts as bound on no thread afterwards.
struct ExitUnbinder {
  Session *session = nullptr;
  ~ExitUnbinder() {
    if (session) {
      try {
        bindings().update(session, nullptr);
      } catch (...) {
      }
    }
  }
};
thread_local ExitUnbinder exitUnbinder;

Session &defaultSession() {
  static auto *s = new Session(0);
  return *s;
}

} // namespace

lathe_rt_session::lathe_rt_session(int numThreads, int precision)
    : id(nextSessionId.fetch_add(1)),
      memory(std::make_shared<MemoryCounters>()),
      numThreads(numThreads > 0 ? numThreads : 0), precision(precision) {}

// Destroying the caches frees the packed weights (counted in `memory`).
lathe_rt_session::~lathe_rt_session() = default;

void lathe_rt_session::clearCaches() {
  std::lock_guard<std::mutex> lock(cacheMutex);
  for (auto &cache : caches)
    if (cache)
      cache->clear();
}

Session &lathe::rt::currentSession() {
  if (Session *s = boundSession)
    return *s;
  if (Session *s = bindings().fallback.load(std::memory_order_acquire))
    return *s;
  return defaultSession();
}

extern "C" void
lathe_rt_session_options_init(lathe_rt_session_options *options) {
  if (!options)
    return;
  *options = lathe_rt_session_options{};
  options->num_threads = 0;
  options->precision = LATHE_PRECISION_F32;
}

extern "C" lathe_rt_session *
lathe_rt_session_create(const lathe_rt_session_options *options) {
  try {
    clearLastError();
    int precision = options ? options->precision : LATHE_PRECISION_F32;
    if (precision != LATHE_PRECISION_F32 && precision != LATHE_PRECISION_BF16) {
      setLastError(concat("lathe_rt_session_create: unknown precision ",
                          precision,
                          " (expected LATHE_PRECISION_F32 or "
                          "LATHE_PRECISION_BF16)"));
      return nullptr;
    }
    return new Session(options ? options->num_threads : 0, precision);
  } catch (...) {
    statusFromCurrentException("lathe_rt_session_create");
    return nullptr;
  }
}

extern "C" lathe_status lathe_rt_session_destroy(lathe_rt_session *session) {
  if (!session)
    return LATHE_OK;
  if (boundSession == session)
    lathe_rt_session_bind(nullptr);
  if (int64_t n = bindings().count(session)) {
    setLastError(concat("lathe_rt_session_destroy: the session is still bound "
                        "on ",
                        n, " other thread(s); unbind it there first"));
    return LATHE_ERR_INVALID;
  }
  delete session;
  clearLastError();
  return LATHE_OK;
}

extern "C" lathe_rt_session *lathe_rt_session_bind(lathe_rt_session *session) {
  Session *previous = boundSession;
  if (previous == session)
    return previous;
  try {
    bindings().update(previous, session);
  } catch (...) {
    // Out of memory in the bookkeeping: the binding below still holds for
    // this thread; only the fallback of unbound threads may be stale.
  }
  boundSession = session;
  exitUnbinder.session = session;
  applyThreadSettings();
  return previous;
}

extern "C" lathe_rt_session *lathe_rt_session_current(void) {
  return boundSession;
}

extern "C" void lathe_rt_clear_caches(void) {
  try {
    currentSession().clearCaches();
  } catch (...) {
    // Clearing only frees memory; nothing to report.
  }
}
