//===- Parallel.h - The runtime's worker pool -------------------*- C++ -*-===//
//
// Kernels that split their own work (SpMM, quantization) run it on a small
// pool of our own rather than OpenMP's fork-join: on a machine whose cores are
// busy with other work, an OpenMP join waits a scheduler time slice for a team
// member that has not run yet, which costs more than a whole kernel; here late
// workers simply find no work. Inside a job, the OpenMP thread count oneDNN
// reads is 1 (oneDNN calls made by a body run single-threaded), and the workers
// bind the caller's session while they run it.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_LIB_PARALLEL_H
#define LATHE_RUNTIME_LIB_PARALLEL_H

#include "lathe/runtime/Runtime.h"

#include <algorithm>
#include <cstdint>

namespace lathe::rt {

/// Below this much work (flops, or bytes for memory-bound kernels) a kernel
/// runs on the calling thread: waking a worker costs microseconds.
constexpr int64_t kMinParallelWork = int64_t(1) << 20;

/// Runs run(body, begin, end) over [0, n) in chunks of `grain`, handed out
/// dynamically to the caller and up to `workers` pool threads. Returns when
/// every chunk is done. `run` must not throw.
void runParallelJob(int64_t n, int64_t grain, int workers,
                    void (*run)(const void *body, int64_t begin, int64_t end),
                    const void *body);

/// True on a thread that is running a job's chunks (the caller of
/// runParallelJob or a pool worker): a nested parallelChunks runs serially.
bool insideParallelJob();

/// Runs body(begin, end) over [0, n) in chunks of `grain` on the current
/// session's threads (lathe_rt_get_num_threads), serially when `work` (the
/// work of the whole range) is below `minWork` or inside another job. Which
/// thread runs which chunk varies from call to call: results must not depend
/// on it. `body` must not throw.
template <typename Body>
void parallelChunks(int64_t n, int64_t grain, int64_t work, const Body &body,
                    int64_t minWork = kMinParallelWork) {
  grain = std::max<int64_t>(1, grain);
  int threads = lathe_rt_get_num_threads();
  if (threads <= 1 || n <= grain || work < minWork || insideParallelJob()) {
    body(int64_t(0), n);
    return;
  }
  int64_t chunks = (n + grain - 1) / grain;
  runParallelJob(
      n, grain, static_cast<int>(std::min<int64_t>(threads - 1, chunks - 1)),
      [](const void *b, int64_t begin, int64_t end) {
        (*static_cast<const Body *>(b))(begin, end);
      },
      &body);
}

} // namespace lathe::rt

#endif // LATHE_RUNTIME_LIB_PARALLEL_H
