//===- NcclGroups.cpp - NCCL world, group communicators, typed collectives ===//
//
// The world: a world of one process makes its NCCL communicator alone (the
// single-rank path). A world of P ranks (from lathe_cuda_comm_set_bootstrap
// or the CPU runtime's Open MPI world in the process) makes it as NCCL
// prescribes: rank 0 calls ncclGetUniqueId and broadcasts a status byte and
// the 128-byte id; every rank calls ncclCommInitRank(P, id, rank). The
// status byte lets the other ranks fail with rank 0 instead of waiting in
// ncclCommInitRank for an id that never comes.
//
// Groups: ncclCommSplit of the world with CommGroups.h's color and key, the
// same rule the CPU runtime's MPI_Comm_split uses. Whether a group needs a
// split depends on the grid and group only (never on the rank), so every
// rank takes the same path through the collective calls.
//
//===----------------------------------------------------------------------===//

#include "NcclGroups.h"

#include "CommGroups.h"
#include "lathe/runtime/CUDAKernels.h"
#include "lathe/runtime/CUDAQComm.h"

#include "CudaInternal.h"
#include "LaunchGeometry.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

using namespace lathe_cuda;
namespace groups = lathe::comm_groups;

namespace {

struct World {
  bool resolved = false; ///< rank and size known
  lathe_cuda_bootstrap bootstrap = {0, 1, nullptr};
  lathe_cuda_comm *comm = nullptr;
  std::map<std::pair<int64_t, int64_t>, lathe_cuda_comm *> groups;
};

std::mutex worldMutex;
World world;
std::optional<lathe_cuda_bootstrap> customBootstrap;

/// The CPU runtime's Open MPI world when the process has it (lathe-run and
/// lathe-train link the CPU runtime); a world of one otherwise.
bool defaultBootstrap(lathe_cuda_bootstrap &b, std::string &error) {
  b = {0, 1, nullptr};
  auto rankFn = reinterpret_cast<int64_t (*)()>(
      dlsym(RTLD_DEFAULT, "lathe_rt_comm_rank"));
  auto sizeFn = reinterpret_cast<int64_t (*)()>(
      dlsym(RTLD_DEFAULT, "lathe_rt_comm_size"));
  auto broadcast = reinterpret_cast<int (*)(void *, int64_t, int64_t)>(
      dlsym(RTLD_DEFAULT, "lathe_rt_comm_broadcast_bytes"));
  if (rankFn && sizeFn && broadcast) {
    int64_t size = sizeFn();
    if (size > 1)
      b = {rankFn(), size, broadcast};
    return true;
  }
  const char *mpiSize = std::getenv("OMPI_COMM_WORLD_SIZE");
  if (mpiSize && std::atoi(mpiSize) > 1) {
    error = "this process runs under mpirun with " + std::string(mpiSize) +
            " ranks, but has no bootstrap to send NCCL's unique id "
            "(lathe_cuda_comm_set_bootstrap, or the CPU runtime's Open MPI "
            "world in the process)";
    return false;
  }
  return true;
}

bool resolveWorld(std::string &error) {
  if (world.resolved)
    return true;
  if (customBootstrap)
    world.bootstrap = *customBootstrap;
  else if (!defaultBootstrap(world.bootstrap, error))
    return false;
  world.resolved = true;
  return true;
}

/// ncclCommInitRank over the world (rank 0's id broadcast first).
bool makeWorldComm(std::string &error) {
  if (world.comm)
    return true;
  const lathe_cuda_bootstrap &b = world.bootstrap;
  // Byte 0: rank 0's status (0 = the id follows).
  char message[1 + 128] = {};
  if (b.rank == 0 && lathe_cuda_nccl_unique_id(message + 1) != LATHE_CUDA_OK) {
    error = lathe_cuda_last_error();
    message[0] = 1;
  }
  if (b.size > 1 && b.broadcast(message, sizeof(message), 0) != 0) {
    error = "broadcasting NCCL's unique id from rank 0 failed";
    return false;
  }
  if (message[0]) {
    if (error.empty())
      error = "rank 0 could not make NCCL's unique id";
    return false;
  }
  if (lathe_cuda_nccl_init(message + 1, static_cast<int>(b.size),
                           static_cast<int>(b.rank),
                           &world.comm) != LATHE_CUDA_OK) {
    error = lathe_cuda_last_error();
    return false;
  }
  return true;
}

/// Whether the group is every axis of the grid in order (the world itself).
bool isWholeGrid(const groups::Grid &grid, const groups::Group &group) {
  if (group.count != grid.rank)
    return false;
  for (int k = 0; k < group.count; ++k)
    if (group.axes[k] != k)
      return false;
  return true;
}

struct Counter {
  std::string collective;
  int64_t group, calls, bytes;
};
std::mutex counterMutex;
std::vector<Counter> counters;

} // namespace

lathe_cuda_comm *lathe_cuda::groupComm(int64_t packedGrid, int64_t packedGroup,
                                       const char *what) {
  std::lock_guard<std::mutex> lock(worldMutex);
  auto failWith = [&](const std::string &why) -> lathe_cuda_comm * {
    setPending(std::string(what) + ": " + why);
    return nullptr;
  };
  groups::Grid grid;
  groups::Group group;
  if (!groups::unpackGrid(packedGrid, grid) ||
      !groups::unpackGroup(packedGroup, grid, group))
    return failWith("bad packed grid " + std::to_string(packedGrid) +
                    " or group " + std::to_string(packedGroup));
  std::string error;
  if (!resolveWorld(error))
    return failWith(error);
  const lathe_cuda_bootstrap &b = world.bootstrap;
  if (grid.processes != b.size)
    return failWith(
        "the grid has " + std::to_string(grid.processes) +
        " processes, but this CUDA run's world has " + std::to_string(b.size) +
        (b.size == 1 ? " rank" : " ranks") +
        " (a multi-rank CUDA run is one process per rank under mpirun, "
        "which lathe-run --backend=cuda does not start): run it on the CPU "
        "backend (lathe-run --ranks=N)");
  if (!makeWorldComm(error))
    return failWith(error);
  if (b.size == 1 || isWholeGrid(grid, group))
    return world.comm;
  auto key = std::make_pair(packedGrid, packedGroup);
  auto it = world.groups.find(key);
  if (it != world.groups.end())
    return it->second;
  groups::Placement p = groups::place(grid, group, b.rank);
  lathe_cuda_comm *comm = nullptr;
  if (lathe_cuda_nccl_split(world.comm, static_cast<int>(p.color),
                            static_cast<int>(p.groupIndex),
                            &comm) != LATHE_CUDA_OK)
    return failWith(lathe_cuda_last_error());
  world.groups[key] = comm;
  return comm;
}

int64_t lathe_cuda::worldRank() {
  std::lock_guard<std::mutex> lock(worldMutex);
  std::string error;
  return resolveWorld(error) ? world.bootstrap.rank : 0;
}

void lathe_cuda::countCollective(const char *collective, int64_t group,
                                 int64_t bytes) {
  std::lock_guard<std::mutex> lock(counterMutex);
  for (Counter &c : counters)
    if (c.group == group && c.collective == collective) {
      ++c.calls;
      c.bytes += bytes;
      return;
    }
  counters.push_back({collective, group, 1, bytes});
}

namespace {

/// A dense device memref's element count, or -1 with a pending error.
int64_t denseCount(const Ref &r, const char *what, const char *operand) {
  int64_t expected = 1;
  for (int64_t d = r.rank - 1; d >= 0; --d) {
    if (r.size(d) != 1 && r.stride(d) != expected) {
      setPending(std::string(what) + ": the " + operand +
                 " is not contiguous (the CUDA target's collectives of "
                 "non-f32 elements need dense buffers)");
      return -1;
    }
    expected *= r.size(d);
  }
  return r.numel();
}

/// All-gather (gather = true) or all-to-all of dense memrefs of
/// `elementBytes`-byte elements as NCCL bytes.
void typedCollective(bool gather, int64_t elementBytes, int64_t grid,
                     int64_t group, int64_t rankIn, void *in, int64_t rankOut,
                     void *out) {
  const char *what = gather ? "all-gather" : "all-to-all";
  Ref I = ref(rankIn, in, elementBytes), O = ref(rankOut, out, elementBytes);
  int64_t nIn = denseCount(I, what, "input"),
          nOut = denseCount(O, what, "output");
  if (nIn < 0 || nOut < 0)
    return;
  lathe_cuda_comm *comm = groupComm(grid, group, what);
  if (!comm)
    return;
  int64_t members = lathe_cuda_nccl_size(comm);
  bool sizesOk =
      gather ? nOut == nIn * members : nOut == nIn && nIn % members == 0;
  if (!sizesOk) {
    setPending(std::string(what) + ": " + std::to_string(nIn) + " input and " +
               std::to_string(nOut) +
               " output elements do not fit a group of " +
               std::to_string(members));
    return;
  }
  auto bytes = static_cast<size_t>(nIn * elementBytes);
  int status =
      gather ? lathe_cuda_all_gather_bytes(comm, I.data, O.data, bytes)
             : lathe_cuda_all_to_all_bytes(
                   comm, I.data, O.data, bytes / static_cast<size_t>(members));
  if (status != LATHE_CUDA_OK) {
    setPending(std::string(what) + ": " + lathe_cuda_last_error());
    return;
  }
  countCollective(gather ? "all_gather" : "all_to_all", group,
                  static_cast<int64_t>(bytes));
}

} // namespace

extern "C" {

#define LATHE_CUDA_COMM_TYPED(SUFFIX, BYTES)                                   \
  void lathe_cuda_comm_all_gather_##SUFFIX(int64_t grid, int64_t group,        \
                                           int64_t rankIn, void *in,           \
                                           int64_t rankOut, void *out) {       \
    typedCollective(true, BYTES, grid, group, rankIn, in, rankOut, out);       \
  }                                                                            \
  void lathe_cuda_comm_all_to_all_##SUFFIX(int64_t grid, int64_t group,        \
                                           int64_t rankIn, void *in,           \
                                           int64_t rankOut, void *out) {       \
    typedCollective(false, BYTES, grid, group, rankIn, in, rankOut, out);      \
  }
LATHE_CUDA_COMM_TYPED(i8, 1)
LATHE_CUDA_COMM_TYPED(i16, 2)
LATHE_CUDA_COMM_TYPED(i32, 4)
LATHE_CUDA_COMM_TYPED(i64, 8)
LATHE_CUDA_COMM_TYPED(f16, 2)
LATHE_CUDA_COMM_TYPED(bf16, 2)
LATHE_CUDA_COMM_TYPED(f64, 8)
#undef LATHE_CUDA_COMM_TYPED

int lathe_cuda_comm_set_bootstrap(const lathe_cuda_bootstrap *bootstrap) {
  std::lock_guard<std::mutex> lock(worldMutex);
  if (world.comm) {
    setLastError("lathe_cuda_comm_set_bootstrap: the world communicator "
                 "exists already (set the bootstrap before the first "
                 "collective)");
    return LATHE_CUDA_ERROR;
  }
  if (bootstrap && (bootstrap->size < 1 || bootstrap->rank < 0 ||
                    bootstrap->rank >= bootstrap->size ||
                    (bootstrap->size > 1 && !bootstrap->broadcast))) {
    setLastError("lathe_cuda_comm_set_bootstrap: rank " +
                 std::to_string(bootstrap->rank) + " of " +
                 std::to_string(bootstrap->size) +
                 " (a world of several ranks needs a broadcast)");
    return LATHE_CUDA_ERROR;
  }
  if (bootstrap)
    customBootstrap = *bootstrap;
  else
    customBootstrap.reset();
  world.resolved = false;
  return LATHE_CUDA_OK;
}

int64_t lathe_cuda_comm_counters(lathe_comm_counter *out, int64_t capacity) {
  std::lock_guard<std::mutex> lock(counterMutex);
  auto n = static_cast<int64_t>(counters.size());
  for (int64_t i = 0; i < n && i < capacity; ++i) {
    lathe_comm_counter &c = out[i];
    std::memset(c.collective, 0, sizeof(c.collective));
    std::strncpy(c.collective, counters[i].collective.c_str(),
                 sizeof(c.collective) - 1);
    c.group = counters[i].group;
    c.calls = counters[i].calls;
    c.bytes = counters[i].bytes;
  }
  return n;
}

void lathe_cuda_comm_reset_counters(void) {
  std::lock_guard<std::mutex> lock(counterMutex);
  counters.clear();
}

} // extern "C"
