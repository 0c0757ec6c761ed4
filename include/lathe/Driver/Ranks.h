//===- Ranks.h - lathe-train on several ranks (Open MPI) ---------*- C++
//-*-===//
//
// What the training driver needs beyond one process: starting itself under
// Open MPI's mpirun, handing the module rank 0 compiled to the other ranks
// (compiled once, not once per rank), and gathering sharded state.
// Communication goes through the runtime's multi-rank layer
// (runtime/include/lathe/runtime/Comm.h).
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_DRIVER_RANKS_H
#define LATHE_DRIVER_RANKS_H

#include "lathe/Driver/Executable.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir {
namespace lathe {

/// True when this process was started by mpirun.
bool launchedByMpirun();

/// Replaces this process by `mpirun -n ranks <this program> <arguments>`
/// (oversubscribed, unbound, allowed to run as root). Returns only when that
/// fails, with `error` set.
void relaunchUnderMpirun(int64_t ranks, llvm::ArrayRef<std::string> arguments,
                         std::string &error);

/// Runs `work` on rank 0 while the other ranks wait for it: rank 0
/// broadcasts a heartbeat every second (or every quarter of a shorter
/// LATHE_COMM_TIMEOUT) until `work` returns, so that a long
/// compilation is not taken for a stalled rank by the communication
/// watchdog (LATHE_COMM_TIMEOUT). Collective: every rank calls it; `work` is
/// called on rank 0 only. False (with `error`) when a broadcast failed.
bool runOnRankZero(llvm::function_ref<void()> work, std::string &error);

/// Rank 0 (`compiled` filled, `ok` saying whether compilation succeeded)
/// sends its compiled module; the other ranks receive it into `compiled`.
/// False on every rank when rank 0 failed or the transfer did.
bool broadcastCompiledModule(CompiledModule &compiled, bool ok,
                             std::string &error);

/// The shard of the process at world rank `rank` in lathe-shard-data-parallel's
/// layout (`ranksPerNode` ranks per node): local rank * nodes + node.
int64_t shardIndexOfRank(int64_t rank, int64_t ranks, int64_t ranksPerNode);

/// Every rank's `shard` (floats, the same count on every rank) gathered into
/// `full` in shard order (shard index, not rank order).
bool gatherShards(const float *shard, int64_t shardSize, int64_t ranks,
                  int64_t ranksPerNode, std::vector<float> &full,
                  std::string &error);

} // namespace lathe
} // namespace mlir

#endif // LATHE_DRIVER_RANKS_H
