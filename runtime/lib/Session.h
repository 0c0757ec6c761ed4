//===- Session.h - Per-session runtime state --------------------*- C++ -*-===//
//
// A session (lathe_rt_session in Runtime.h) owns every piece of runtime state
// that outlives one call: the primitive caches, the pre-packed constant
// weights and other caches keyed by address, the pending (sticky) error, the
// memory counters and the thread count. Entry points find the session through
// currentSession(): the one bound to the calling thread, else the only session
// bound anywhere in the process (so the worker threads of generated code's
// parallel loops use the session of the run that started them), else the
// process's default session.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_LIB_SESSION_H
#define LATHE_RUNTIME_LIB_SESSION_H

#include "Internal.h"

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace lathe::rt {

/// Bytes a session has live and its high-water mark. Shared with every block
/// allocated while the session was current, so freeing a block after its
/// session is gone stays safe.
struct MemoryCounters {
  std::atomic<int64_t> current{0};
  std::atomic<int64_t> peak{0};

  void add(int64_t bytes) {
    int64_t now = current.fetch_add(bytes, std::memory_order_relaxed) + bytes;
    int64_t seen = peak.load(std::memory_order_relaxed);
    while (now > seen &&
           !peak.compare_exchange_weak(seen, now, std::memory_order_relaxed))
      ;
  }
  void sub(int64_t bytes) {
    current.fetch_sub(bytes, std::memory_order_relaxed);
  }
};

/// A cache a session owns; lathe_rt_clear_caches clears it, destroying the
/// session destroys it.
class SessionCache {
public:
  virtual ~SessionCache() = default;
  virtual void clear() = 0;
};

/// One slot per kind of cache (each kernel file owns the type in its slot).
enum class CacheSlot {
  Matmul,
  Conv,
  LayerNorm,
  Softmax,
  Pool,
  ConstantScans,
  SpMMPlans,
  SpMMValidated,
  Int8Sites,
  Rnn,
  SkinnyB,
  ConvBounds,
  Count
};

} // namespace lathe::rt

struct lathe_rt_session {
  explicit lathe_rt_session(int numThreads,
                            int precision = LATHE_PRECISION_F32);
  ~lathe_rt_session();
  lathe_rt_session(const lathe_rt_session &) = delete;
  lathe_rt_session &operator=(const lathe_rt_session &) = delete;

  /// The cache in `slot`, created (as a T) on first use. Every use of a slot
  /// must name the same T.
  template <typename T> T &cache(lathe::rt::CacheSlot slot) {
    std::lock_guard<std::mutex> lock(cacheMutex);
    auto &entry = caches[static_cast<size_t>(slot)];
    if (!entry)
      entry = std::make_unique<T>();
    return static_cast<T &>(*entry);
  }
  /// Empties every cache (the cache objects themselves stay).
  void clearCaches();

  /// Unique for the life of the process (never reused, unlike the address).
  const uint64_t id;
  std::shared_ptr<lathe::rt::MemoryCounters> memory;
  /// Threads for oneDNN and the runtime's own parallel kernels; 0: OpenMP's
  /// default.
  std::atomic<int> numThreads;
  /// LATHE_PRECISION_F32 or LATHE_PRECISION_BF16 (Runtime.h).
  const int precision;

  std::mutex pendingMutex;
  std::optional<std::string> pendingError;

private:
  std::mutex cacheMutex;
  std::array<std::unique_ptr<lathe::rt::SessionCache>,
             static_cast<size_t>(lathe::rt::CacheSlot::Count)>
      caches;
};

namespace lathe::rt {

using Session = ::lathe_rt_session;

/// The session the calling thread's runtime calls act on (see file comment).
Session &currentSession();

/// Makes `session` current on the calling thread for the scope's life (by
/// binding it, unless it is current already), restoring the previous binding
/// after; carries the caller's session into the runtime's own worker threads.
class SessionBinding {
public:
  explicit SessionBinding(Session *session)
      : active(session && session != &currentSession()) {
    if (active)
      previous = lathe_rt_session_bind(session);
  }
  ~SessionBinding() {
    if (active)
      lathe_rt_session_bind(previous);
  }
  SessionBinding(const SessionBinding &) = delete;
  SessionBinding &operator=(const SessionBinding &) = delete;

private:
  bool active;
  Session *previous = nullptr;
};

} // namespace lathe::rt

#endif // LATHE_RUNTIME_LIB_SESSION_H
