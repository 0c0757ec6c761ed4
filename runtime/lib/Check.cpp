//===- Check.cpp - Run-time checks emitted by the importers ---------------===//
//
// Imported models may take sizes from declared types that only the run-time
// values can confirm (an ONNX Reshape whose shape is a graph input, a
// broadcast between two symbolic dimensions, ...). The generated code compares
// the values itself and calls lathe_rt_shape_check_failed only on a mismatch;
// the message becomes the pending error, which lathe-run reports after the
// call. The generated code goes on with safe (declared) sizes, so nothing
// reads out of bounds after a failed check.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <cstring>
#include <string>

using namespace lathe::rt;

extern "C" void lathe_rt_shape_check_failed(int64_t rank, void *what,
                                            int64_t expected, int64_t given) {
  std::string message;
  try {
    // A rank-1 i8 memref descriptor: {allocated, aligned, offset, size,
    // stride}.
    if (rank == 1 && what) {
      const int64_t *words = static_cast<const int64_t *>(what);
      const char *aligned = reinterpret_cast<const char *>(words[1]);
      int64_t offset = words[2], size = words[3], stride = words[4];
      if (aligned && size > 0 && size < (1 << 16)) {
        for (int64_t i = 0; i < size; ++i) {
          char c = aligned[offset + i * stride];
          if (c == '\0')
            break;
          message.push_back(c);
        }
      }
    }
    if (message.empty())
      message = "run-time shape check failed";
    message += ": expected " + std::to_string(expected) + ", given " +
               std::to_string(given);
    setPendingError(message);
  } catch (...) {
    // Out of memory while reporting: nothing more can be said.
  }
}
