//===- NcclGroups.h - The world and group communicators -------------------===//
//
// Inside libLatheRuntimeCUDA: the communicators generated code's collectives
// run on (NcclGroups.cpp) and their counters.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_CUDA_NCCLGROUPS_H
#define LATHE_RUNTIME_CUDA_NCCLGROUPS_H

#include "lathe/runtime/CUDA.h"

#include <cstdint>

namespace lathe_cuda {

/// The communicator of this process's group of the packed (grid, group)
/// (Comm.h): the world's when the group is every axis in order, else the
/// world split by ncclCommSplit, made on first use (collectively: every rank
/// reaches the same collectives in the same order). Null, with a pending
/// error naming `what`, when the grid does not match the world or NCCL
/// fails.
lathe_cuda_comm *groupComm(int64_t grid, int64_t group, const char *what);
/// This process's rank in the world (0 for a world of one).
int64_t worldRank();
/// Adds one call of `bytes` sent to the counter of (collective, group).
void countCollective(const char *collective, int64_t group, int64_t bytes);

} // namespace lathe_cuda

#endif // LATHE_RUNTIME_CUDA_NCCLGROUPS_H
