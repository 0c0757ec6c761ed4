//===- Nccl.cpp - NCCL collectives on the runtime's stream ----------------===//
//
// libnccl.so.2 is dlopen'ed on first use (nccl.h for its types only), so the
// library loads where NCCL is missing and the collectives then fail with a
// status and a message.
//
//===----------------------------------------------------------------------===//

#include "lathe/runtime/CUDA.h"
#include "lathe/runtime/CUDAKernels.h"

#include "CudaInternal.h"
#include "NcclGroups.h"

#include <dlfcn.h>
#include <nccl.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

using namespace lathe_cuda;

struct lathe_cuda_comm {
  ncclComm_t comm = nullptr;
  int nranks = 0, rank = 0;
};

namespace {

struct Nccl {
  decltype(&::ncclGetUniqueId) getUniqueId = nullptr;
  decltype(&::ncclCommInitRank) commInitRank = nullptr;
  decltype(&::ncclCommDestroy) commDestroy = nullptr;
  decltype(&::ncclCommSplit) commSplit = nullptr;
  decltype(&::ncclCommCount) commCount = nullptr;
  decltype(&::ncclAllGather) allGather = nullptr;
  decltype(&::ncclReduceScatter) reduceScatter = nullptr;
  decltype(&::ncclAllReduce) allReduce = nullptr;
  decltype(&::ncclSend) send = nullptr;
  decltype(&::ncclRecv) recv = nullptr;
  decltype(&::ncclGroupStart) groupStart = nullptr;
  decltype(&::ncclGroupEnd) groupEnd = nullptr;
  decltype(&::ncclGetErrorString) errorString = nullptr;
  std::string error;
  bool ok = false;
} nccl;
std::once_flag ncclOnce;
int fail(const std::string &message) {
  setLastError(message);
  return LATHE_CUDA_ERROR;
}

bool loadNccl() {
  std::call_once(ncclOnce, [] {
    void *lib = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      nccl.error = std::string("cannot load NCCL: ") + dlerror();
      return;
    }
    bool ok = true;
#define LOAD(f, s) ok &= loadSymbol(lib, nccl.f, s)
    LOAD(getUniqueId, "ncclGetUniqueId");
    LOAD(commInitRank, "ncclCommInitRank");
    LOAD(commDestroy, "ncclCommDestroy");
    LOAD(commSplit, "ncclCommSplit");
    LOAD(commCount, "ncclCommCount");
    LOAD(allGather, "ncclAllGather");
    LOAD(reduceScatter, "ncclReduceScatter");
    LOAD(allReduce, "ncclAllReduce");
    LOAD(send, "ncclSend");
    LOAD(recv, "ncclRecv");
    LOAD(groupStart, "ncclGroupStart");
    LOAD(groupEnd, "ncclGroupEnd");
    LOAD(errorString, "ncclGetErrorString");
#undef LOAD
    nccl.ok = ok;
    if (!ok)
      nccl.error = "NCCL lacks an entry point";
  });
  return nccl.ok;
}

int result(ncclResult_t r, const char *what) {
  if (r == ncclSuccess)
    return LATHE_CUDA_OK;
  return fail(std::string(what) + ": " + nccl.errorString(r));
}

bool ready(lathe_cuda_comm *comm) {
  if (lathe_cuda_init() != LATHE_CUDA_OK)
    return false; // its message is the last error
  if (!loadNccl()) {
    fail(nccl.error);
    return false;
  }
  if (comm && !comm->comm) {
    fail("NCCL: no communicator");
    return false;
  }
  return true;
}

/// Runs `call(communicator, stream)`, one NCCL collective on the runtime's
/// stream, timed as the profile region `region`; its error names `what`.
template <typename Call>
int collective(lathe_cuda_comm *comm, const char *region, const char *what,
               Call call) {
  if (!ready(comm))
    return LATHE_CUDA_ERROR;
  TimedRegion timed(region);
  return result(call(comm->comm, theStream()), what);
}

int allToAll(lathe_cuda_comm *comm, const void *send, void *recv,
             size_t bytes) {
  if (!ready(comm))
    return LATHE_CUDA_ERROR;
  TimedRegion timed("nccl_all_to_all");
  nccl.groupStart();
  for (int r = 0; r < comm->nranks; ++r) {
    nccl.send(static_cast<const char *>(send) + r * bytes, bytes, ncclChar, r,
              comm->comm, theStream());
    nccl.recv(static_cast<char *>(recv) + r * bytes, bytes, ncclChar, r,
              comm->comm, theStream());
  }
  return result(nccl.groupEnd(), "ncclGroupEnd (all-to-all)");
}

} // namespace

extern "C" {

int lathe_cuda_nccl_unique_id(char id[128]) {
  if (!ready(nullptr))
    return LATHE_CUDA_ERROR;
  ncclUniqueId unique;
  static_assert(sizeof(unique) == 128, "NCCL ids are 128 bytes");
  int status = result(nccl.getUniqueId(&unique), "ncclGetUniqueId");
  std::memcpy(id, &unique, sizeof(unique));
  return status;
}

int lathe_cuda_nccl_init(const char id[128], int nranks, int rank,
                         lathe_cuda_comm **comm) {
  *comm = nullptr;
  if (!ready(nullptr))
    return LATHE_CUDA_ERROR;
  ncclUniqueId unique;
  std::memcpy(&unique, id, sizeof(unique));
  auto *c = new lathe_cuda_comm;
  c->nranks = nranks;
  c->rank = rank;
  int status = result(nccl.commInitRank(&c->comm, nranks, unique, rank),
                      "ncclCommInitRank");
  if (status != LATHE_CUDA_OK) {
    delete c;
    return status;
  }
  *comm = c;
  return LATHE_CUDA_OK;
}

void lathe_cuda_nccl_destroy(lathe_cuda_comm *comm) {
  if (!comm)
    return;
  if (comm->comm && nccl.ok)
    nccl.commDestroy(comm->comm);
  delete comm;
}

int lathe_cuda_nccl_split(lathe_cuda_comm *parent, int color, int key,
                          lathe_cuda_comm **comm) {
  *comm = nullptr;
  if (!ready(parent))
    return LATHE_CUDA_ERROR;
  auto *c = new lathe_cuda_comm;
  c->rank = key;
  int status =
      result(nccl.commSplit(parent->comm, color, key, &c->comm, nullptr),
             "ncclCommSplit");
  int count = 0;
  if (status == LATHE_CUDA_OK)
    status = result(nccl.commCount(c->comm, &count), "ncclCommCount");
  if (status != LATHE_CUDA_OK) {
    delete c;
    return status;
  }
  c->nranks = count;
  *comm = c;
  return LATHE_CUDA_OK;
}

int lathe_cuda_nccl_size(const lathe_cuda_comm *comm) {
  return comm ? comm->nranks : 0;
}

int lathe_cuda_all_gather_f32(lathe_cuda_comm *comm, const float *send,
                              float *recv, size_t count) {
  return collective(
      comm, "nccl_all_gather", "ncclAllGather", [&](ncclComm_t c, CUstream s) {
        return nccl.allGather(send, recv, count, ncclFloat32, c, s);
      });
}

int lathe_cuda_reduce_scatter_f32(lathe_cuda_comm *comm, const float *send,
                                  float *recv, size_t count) {
  return collective(comm, "nccl_reduce_scatter", "ncclReduceScatter",
                    [&](ncclComm_t c, CUstream s) {
                      return nccl.reduceScatter(send, recv, count, ncclFloat32,
                                                ncclSum, c, s);
                    });
}

int lathe_cuda_all_reduce_f32(lathe_cuda_comm *comm, const float *send,
                              float *recv, size_t count) {
  return collective(
      comm, "nccl_all_reduce", "ncclAllReduce", [&](ncclComm_t c, CUstream s) {
        return nccl.allReduce(send, recv, count, ncclFloat32, ncclSum, c, s);
      });
}

int lathe_cuda_all_to_all_f32(lathe_cuda_comm *comm, const float *send,
                              float *recv, size_t count) {
  return allToAll(comm, send, recv, count * sizeof(float));
}

int lathe_cuda_all_gather_bytes(lathe_cuda_comm *comm, const void *send,
                                void *recv, size_t bytes) {
  return collective(comm, "nccl_all_gather", "ncclAllGather (bytes)",
                    [&](ncclComm_t c, CUstream s) {
                      return nccl.allGather(send, recv, bytes, ncclChar, c, s);
                    });
}

int lathe_cuda_all_to_all_bytes(lathe_cuda_comm *comm, const void *send,
                                void *recv, size_t bytes) {
  return allToAll(comm, send, recv, bytes);
}

} // extern "C"

//===----------------------------------------------------------------------===//
// What generated code calls: the CPU runtime's Comm.h collectives
// (lathe_rt_comm_*, which the CUDA pipeline retargets) on device memrefs,
// through the wrappers above on one process-wide communicator. Errors are
// pending errors (generated code cannot take a status).
//===----------------------------------------------------------------------===//

namespace {

int64_t elementsOf(const View &v) {
  int64_t n = 1;
  for (int64_t r = 0; r < v.rank; ++r)
    n *= v.size(r);
  return n;
}

bool isDense(const View &v) {
  int64_t expected = 1;
  for (int64_t r = v.rank - 1; r >= 0; --r) {
    if (v.size(r) != 1 && v.stride(r) != expected)
      return false;
    expected *= v.size(r);
  }
  return true;
}

/// Elements from `data` to one past the last one the view reaches.
int64_t spanOf(const View &v) {
  int64_t last = 0;
  for (int64_t r = 0; r < v.rank; ++r) {
    if (v.size(r) == 0)
      return 0;
    last += (v.size(r) - 1) * v.stride(r);
  }
  return last + 1;
}

/// Host-side walk of a strided view: pack (view -> dense) or unpack.
void walk(float *base, int64_t rank, const int64_t *sizes,
          const int64_t *strides, float *&dense, bool pack) {
  if (rank == 0) {
    if (pack)
      *dense++ = *base;
    else
      *base = *dense++;
    return;
  }
  for (int64_t i = 0; i < sizes[0]; ++i)
    walk(base + i * strides[0], rank - 1, sizes + 1, strides + 1, dense, pack);
}

/// A dense device buffer for a collective's operand: the view itself when
/// it is dense, else a block of the allocator staged through the host (the
/// all-to-alls read and write transposed views: lathe-cpu-lower-collectives
/// folds the transposes around them into their descriptors).
struct Operand {
  View v;
  float *dense = nullptr;
  void *block = nullptr;
  ~Operand() {
    if (block) {
      lathe_cuda_synchronize();
      lathe_cuda_free(block);
    }
  }
  bool prepare(const View &view, bool isInput, const char *what) {
    v = view;
    if (isDense(v)) {
      dense = v.data;
      return true;
    }
    int64_t count = elementsOf(v);
    if (lathe_cuda_alloc(std::max<int64_t>(count, 1) * sizeof(float), &block) !=
        LATHE_CUDA_OK)
      return fail(what);
    dense = static_cast<float *>(block);
    if (!isInput || count == 0)
      return true;
    std::vector<float> span(spanOf(v)), packed(count);
    if (lathe_cuda_copy_to_host(span.data(), v.data,
                                span.size() * sizeof(float)) != LATHE_CUDA_OK)
      return fail(what);
    float *cursor = packed.data();
    walk(span.data(), v.rank, v.sizes, v.strides, cursor, /*pack=*/true);
    if (lathe_cuda_copy_to_device(dense, packed.data(),
                                  packed.size() * sizeof(float)) !=
            LATHE_CUDA_OK ||
        lathe_cuda_synchronize() != LATHE_CUDA_OK)
      return fail(what);
    return true;
  }
  /// Writes a staged result back into the strided view.
  bool finish(const char *what) {
    int64_t count = elementsOf(v);
    if (!block || count == 0)
      return true;
    std::vector<float> span(spanOf(v)), packed(count);
    if (lathe_cuda_copy_to_host(packed.data(), dense,
                                packed.size() * sizeof(float)) !=
            LATHE_CUDA_OK ||
        lathe_cuda_copy_to_host(span.data(), v.data,
                                span.size() * sizeof(float)) != LATHE_CUDA_OK)
      return fail(what);
    float *cursor = packed.data();
    walk(span.data(), v.rank, v.sizes, v.strides, cursor, /*pack=*/false);
    if (lathe_cuda_copy_to_device(v.data, span.data(),
                                  span.size() * sizeof(float)) !=
            LATHE_CUDA_OK ||
        lathe_cuda_synchronize() != LATHE_CUDA_OK)
      return fail(what);
    return true;
  }
  static bool fail(const char *what) {
    setPending(std::string(what) + ": " + lathe_cuda_last_error());
    return false;
  }
};

enum class Collective { AllGather, ReduceScatter, AllReduce, AllToAll };

void collective(Collective kind, const char *what, int64_t grid, int64_t group,
                int64_t rankIn, void *in, int64_t rankOut, void *out) {
  lathe_cuda_comm *comm = groupComm(grid, group, what);
  if (!comm)
    return;
  Operand I, O;
  if (!I.prepare(view(rankIn, in), /*isInput=*/true, what) ||
      !O.prepare(view(rankOut, out), /*isInput=*/false, what))
    return;
  int64_t inCount = elementsOf(I.v), outCount = elementsOf(O.v);
  int status = LATHE_CUDA_OK;
  switch (kind) {
  case Collective::AllGather:
    status = lathe_cuda_all_gather_f32(comm, I.dense, O.dense,
                                       static_cast<size_t>(inCount));
    break;
  case Collective::ReduceScatter:
    status = lathe_cuda_reduce_scatter_f32(comm, I.dense, O.dense,
                                           static_cast<size_t>(outCount));
    break;
  case Collective::AllReduce:
    if (outCount != inCount) {
      setPending(std::string(what) + ": the output has " +
                 std::to_string(outCount) + " elements, the input " +
                 std::to_string(inCount));
      return;
    }
    status = lathe_cuda_all_reduce_f32(comm, I.dense, O.dense,
                                       static_cast<size_t>(inCount));
    break;
  case Collective::AllToAll:
    status = lathe_cuda_all_to_all_f32(
        comm, I.dense, O.dense, static_cast<size_t>(inCount / comm->nranks));
    break;
  }
  if (status != LATHE_CUDA_OK) {
    Operand::fail(what);
    return;
  }
  static const char *const kCounterNames[] = {"all_gather", "reduce_scatter",
                                              "all_reduce", "all_to_all"};
  countCollective(kCounterNames[static_cast<int>(kind)], group,
                  inCount * static_cast<int64_t>(sizeof(float)));
  O.finish(what);
}

} // namespace

extern "C" {

void lathe_cuda_comm_all_gather_f32(int64_t grid, int64_t group, int64_t rankIn,
                                    void *in, int64_t rankOut, void *out) {
  collective(Collective::AllGather, "all-gather", grid, group, rankIn, in,
             rankOut, out);
}

void lathe_cuda_comm_reduce_scatter_sum_f32(int64_t grid, int64_t group,
                                            int64_t rankIn, void *in,
                                            int64_t rankOut, void *out) {
  collective(Collective::ReduceScatter, "reduce-scatter", grid, group, rankIn,
             in, rankOut, out);
}

void lathe_cuda_comm_all_reduce_sum_f32(int64_t grid, int64_t group,
                                        int64_t rankIn, void *in,
                                        int64_t rankOut, void *out) {
  collective(Collective::AllReduce, "all-reduce", grid, group, rankIn, in,
             rankOut, out);
}

void lathe_cuda_comm_all_to_all_f32(int64_t grid, int64_t group, int64_t rankIn,
                                    void *in, int64_t rankOut, void *out) {
  collective(Collective::AllToAll, "all-to-all", grid, group, rankIn, in,
             rankOut, out);
}

int64_t lathe_cuda_comm_rank(void) { return worldRank(); }

} // extern "C"
