//===- Nccl.cpp - NCCL collectives on the runtime's stream ----------------===//
//
// libnccl.so.2 is dlopen'ed on first use (nccl.h for its types only), so the
// library loads where NCCL is missing and the collectives then fail with a
// status and a message.
//
//===----------------------------------------------------------------------===//

#include "lathe/runtime/CUDA.h"

#include "CudaInternal.h"

#include <dlfcn.h>
#include <nccl.h>

#include <cstring>
#include <mutex>
#include <string>

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
  decltype(&::ncclAllGather) allGather = nullptr;
  decltype(&::ncclReduceScatter) reduceScatter = nullptr;
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
#define LOAD(f, s)                                                             \
  ok &= (nccl.f = reinterpret_cast<decltype(nccl.f)>(dlsym(lib, s))) != nullptr
    LOAD(getUniqueId, "ncclGetUniqueId");
    LOAD(commInitRank, "ncclCommInitRank");
    LOAD(commDestroy, "ncclCommDestroy");
    LOAD(allGather, "ncclAllGather");
    LOAD(reduceScatter, "ncclReduceScatter");
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

int lathe_cuda_all_gather_f32(lathe_cuda_comm *comm, const float *send,
                              float *recv, size_t count) {
  if (!ready(comm))
    return LATHE_CUDA_ERROR;
  TimedRegion timed("nccl_all_gather");
  return result(
      nccl.allGather(send, recv, count, ncclFloat32, comm->comm, theStream()),
      "ncclAllGather");
}

int lathe_cuda_reduce_scatter_f32(lathe_cuda_comm *comm, const float *send,
                                  float *recv, size_t count) {
  if (!ready(comm))
    return LATHE_CUDA_ERROR;
  TimedRegion timed("nccl_reduce_scatter");
  return result(nccl.reduceScatter(send, recv, count, ncclFloat32, ncclSum,
                                   comm->comm, theStream()),
                "ncclReduceScatter");
}

int lathe_cuda_all_to_all_f32(lathe_cuda_comm *comm, const float *send,
                              float *recv, size_t count) {
  return allToAll(comm, send, recv, count * sizeof(float));
}

int lathe_cuda_all_gather_bytes(lathe_cuda_comm *comm, const void *send,
                                void *recv, size_t bytes) {
  if (!ready(comm))
    return LATHE_CUDA_ERROR;
  TimedRegion timed("nccl_all_gather");
  return result(
      nccl.allGather(send, recv, bytes, ncclChar, comm->comm, theStream()),
      "ncclAllGather (bytes)");
}

int lathe_cuda_all_to_all_bytes(lathe_cuda_comm *comm, const void *send,
                                void *recv, size_t bytes) {
  return allToAll(comm, send, recv, bytes);
}

} // extern "C"
