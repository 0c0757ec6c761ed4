//===- Status.cpp - Last-error and pending-error state --------------------===//
//
// The last error is per thread (a failed call's message must not be clobbered
// by another thread). The pending error belongs to the current session and is
// sticky: kernels run by generated code cannot return a status, so the first
// failure is kept until the driver takes it.
//
//===----------------------------------------------------------------------===//

#include "Session.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>

using namespace lathe::rt;

namespace {
thread_local std::string lastError;
} // namespace

void lathe::rt::setLastError(const std::string &message) {
  try {
    lastError = message;
  } catch (...) {
    // Out of memory while reporting: keep whatever fits without allocating.
    lastError.clear();
  }
}

void lathe::rt::clearLastError() { lastError.clear(); }

void lathe::rt::setPendingError(const std::string &message) {
  setLastError(message);
  Session &session = currentSession();
  std::lock_guard<std::mutex> lock(session.pendingMutex);
  if (session.pendingError)
    return;
  try {
    session.pendingError = message;
  } catch (...) {
    session.pendingError.reset();
  }
}

lathe_status lathe::rt::statusFromCurrentException(const char *context) {
  std::string prefix = std::string(context) + ": ";
  try {
    throw;
  } catch (const RuntimeError &e) {
    setLastError(prefix + e.what());
    return e.getStatus();
  } catch (const std::bad_alloc &) {
    setLastError(prefix + "out of memory");
    return LATHE_ERR_OOM;
  } catch (const dnnl::error &e) {
    setLastError(prefix + "oneDNN error: " + e.what() + " (dnnl_status " +
                 std::to_string(static_cast<int>(e.status)) + ")");
    return LATHE_ERR_BACKEND;
  } catch (const std::exception &e) {
    setLastError(prefix + "internal error: " + e.what());
    return LATHE_ERR_INVALID;
  } catch (...) {
    setLastError(prefix + "unknown internal error");
    return LATHE_ERR_INVALID;
  }
}

extern "C" const char *lathe_rt_last_error(void) { return lastError.c_str(); }

extern "C" int lathe_rt_take_pending_error(char *buf, size_t bufSize) {
  std::optional<std::string> taken;
  {
    Session &session = currentSession();
    std::lock_guard<std::mutex> lock(session.pendingMutex);
    taken.swap(session.pendingError);
  }
  if (!taken)
    return 0;
  if (buf && bufSize > 0) {
    size_t n = std::min(bufSize - 1, taken->size());
    std::memcpy(buf, taken->data(), n);
    buf[n] = '\0';
  }
  return 1;
}
