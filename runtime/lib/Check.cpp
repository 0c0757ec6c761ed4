//===- Check.cpp - Run-time checks of generated code ----------------------===//
//
// Imported models may take sizes from declared types that only the run-time
// values can confirm (an ONNX Reshape whose shape is a graph input, a
// broadcast between two symbolic dimensions, ...), and read or write tensors
// at indices that are data (a token id, a Gather index). The generated code
// compares the values itself and calls lathe_rt_shape_check_failed or
// lathe_rt_index_check_failed only on a failure; the message becomes the
// pending error, which lathe-run reports after the call. The generated code
// goes on with safe sizes and skips the out-of-range access, so nothing reads
// or writes out of bounds after a failed check.
//
// A failed cf.assert (torch-mlir emits them for conditions its code relies
// on) cannot go on: lathe_rt_assert_failed records the message and never
// returns. On the thread that entered generated code through
// lathe_rt_call_guarded it longjmps back there, so the caller reports the
// error as for any other check; anywhere else (a worker thread of a parallel
// loop, or a caller that did not use lathe_rt_call_guarded) it prints the
// message ("<program>: error: <message>") and ends the process with _exit(1).
// The frames skipped by longjmp are generated code, which holds no C++ objects;
// its buffers leak, which is harmless because the caller stops after a failed
// assert.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>

using namespace lathe::rt;

namespace {
/// The text of a rank-1 i8 memref descriptor {allocated, aligned, offset,
/// size, stride}, up to its first NUL; "" when there is none.
std::string messageOf(int64_t rank, void *what) {
  std::string message;
  if (rank != 1 || !what)
    return message;
  const int64_t *words = static_cast<const int64_t *>(what);
  const char *aligned = reinterpret_cast<const char *>(words[1]);
  int64_t offset = words[2], size = words[3], stride = words[4];
  if (!aligned || size <= 0 || size >= (1 << 16))
    return message;
  for (int64_t i = 0; i < size; ++i) {
    char c = aligned[offset + i * stride];
    if (c == '\0')
      break;
    message.push_back(c);
  }
  return message;
}

/// Where a failed assertion on this thread returns to (set while
/// lathe_rt_call_guarded runs generated code), or null.
thread_local std::jmp_buf *assertTarget = nullptr;
} // namespace

extern "C" void lathe_rt_shape_check_failed(int64_t rank, void *what,
                                            int64_t expected, int64_t given) {
  try {
    std::string message = messageOf(rank, what);
    if (message.empty())
      message = "run-time shape check failed";
    message += ": expected " + std::to_string(expected) + ", given " +
               std::to_string(given);
    setPendingError(message);
  } catch (...) {
    // Out of memory while reporting: nothing more can be said.
  }
}

extern "C" void lathe_rt_index_check_failed(int64_t rank, void *what,
                                            int64_t index, int64_t lo,
                                            int64_t hi) {
  try {
    std::string message = messageOf(rank, what);
    if (message.empty())
      message = "run-time index check failed";
    message += ": index " + std::to_string(index) + " out of range [" +
               std::to_string(lo) + ", " + std::to_string(hi) + ")";
    setPendingError(message);
  } catch (...) {
    // Out of memory while reporting: nothing more can be said.
  }
}

extern "C" void lathe_rt_assert_failed(int64_t rank, void *message,
                                       int64_t inParallelLoop) {
  // No C++ object may be alive when longjmp skips this frame.
  {
    try {
      std::string text = messageOf(rank, message);
      if (text.empty())
        text = "assertion failed in generated code";
      setPendingError(text);
    } catch (...) {
      // Out of memory while reporting: the generic text below is printed.
    }
  }
  if (assertTarget && !inParallelLoop)
    std::longjmp(*assertTarget, 1);
  char buf[1024];
  if (!lathe_rt_take_pending_error(buf, sizeof(buf)))
    std::strcpy(buf, "assertion failed in generated code");
  std::fprintf(stderr, "%s: error: %s\n", program_invocation_short_name, buf);
  std::fflush(stderr);
  _exit(1);
}

extern "C" int lathe_rt_call_guarded(void (*fn)(void **), void **args) {
  std::jmp_buf target;
  std::jmp_buf *volatile previous = assertTarget;
  if (setjmp(target) != 0) {
    assertTarget = previous;
    return 1;
  }
  assertTarget = &target;
  fn(args);
  assertTarget = previous;
  return 0;
}
