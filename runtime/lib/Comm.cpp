//===- Comm.cpp - Multi-rank collectives on Open MPI ----------------------===//
//
// The world is MPI_COMM_WORLD under mpirun and this process alone otherwise.
// One lock serialises everything that talks to MPI (init, communicator
// creation, collectives, finalize), so MPI_THREAD_SERIALIZED suffices.
// Communicators per (grid, group) are made on first use with MPI_Comm_split
// (color = coordinates on the other axes, key = index in the group) and kept
// until finalize. Every collective is started nonblocking and waited for
// with MPI_Test and growing sleeps (waitIdle): a rank waiting for a slower one
// leaves its core to the ranks that compute.
//
// Faults: MPI returns its errors (MPI_ERRORS_RETURN) and each is turned into a
// message naming this rank, the call and MPI's error string before
// MPI_Abort. A peer that dies is noticed by mpirun, which ends the job; a peer
// that stalls (or a rank that skipped a collective) would leave the others
// waiting forever, so a watchdog thread ends the job when one call has
// waited longer than LATHE_COMM_TIMEOUT seconds.
//
//===----------------------------------------------------------------------===//

#include "lathe/runtime/Comm.h"
#include "CommGroups.h"

#include "Internal.h"

#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <sched.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace lathe::rt;

namespace {

//===----------------------------------------------------------------------===//
// Grids and groups
//===----------------------------------------------------------------------===//

using lathe::comm_groups::Grid;
using lathe::comm_groups::Group;
using lathe::comm_groups::kMaxAxes;
using lathe::comm_groups::place;
using lathe::comm_groups::Placement;

std::string gridString(int64_t packed) {
  std::string s;
  auto bits = static_cast<uint64_t>(packed);
  for (int i = 0; i < kMaxAxes; ++i) {
    uint64_t size = (bits >> (16 * i)) & 0xffff;
    if (!size)
      break;
    if (i)
      s += "x";
    s += std::to_string(size);
  }
  return s.empty() ? "(empty)" : s;
}

std::string groupString(int64_t packed) {
  auto bits = static_cast<uint64_t>(packed);
  int count = static_cast<int>(bits & 0xf);
  std::string s = "[";
  for (int k = 0; k < count && k < kMaxAxes; ++k) {
    if (k)
      s += ", ";
    s += std::to_string((bits >> (4 + 4 * k)) & 0xf);
  }
  return s + "]";
}

Grid decodeGrid(int64_t packed) {
  auto bits = static_cast<uint64_t>(packed);
  Grid grid;
  bool ended = false;
  for (int i = 0; i < kMaxAxes; ++i) {
    int64_t size = static_cast<int64_t>((bits >> (16 * i)) & 0xffff);
    if (!size) {
      ended = true;
      continue;
    }
    if (ended)
      fail(LATHE_ERR_INVALID, "bad packed grid 0x", std::hex, bits, ": axis ",
           std::dec, i, " has size ", size,
           " after an axis of size 0 (axis sizes are 16-bit fields, axes "
           "after the last are 0)");
    grid.sizes[grid.rank++] = size;
    grid.processes *= size;
  }
  if (!grid.rank)
    fail(LATHE_ERR_INVALID,
         "bad packed grid 0: a grid needs at least one axis");
  return grid;
}

Group decodeGroup(int64_t packed, const Grid &grid, int64_t packedGrid) {
  auto bits = static_cast<uint64_t>(packed);
  Group group;
  group.count = static_cast<int>(bits & 0xf);
  if (group.count > grid.rank)
    fail(LATHE_ERR_INVALID, "bad packed group 0x", std::hex, bits, std::dec,
         ": it has ", group.count, " axes but grid ", gridString(packedGrid),
         " has ", grid.rank);
  if (bits >> (4 + 4 * group.count))
    fail(LATHE_ERR_INVALID, "bad packed group 0x", std::hex, bits, std::dec,
         ": bits set beyond its ", group.count, " axes");
  bool seen[kMaxAxes] = {};
  for (int k = 0; k < group.count; ++k) {
    int axis = static_cast<int>((bits >> (4 + 4 * k)) & 0xf);
    if (axis >= grid.rank)
      fail(LATHE_ERR_INVALID, "group ", groupString(packed), " names axis ",
           axis, " but grid ", gridString(packedGrid), " has ", grid.rank,
           " axes");
    if (seen[axis])
      fail(LATHE_ERR_INVALID, "group ", groupString(packed), " names axis ",
           axis, " twice");
    seen[axis] = true;
    group.axes[k] = axis;
  }
  return group;
}

//===----------------------------------------------------------------------===//
// Counters
//===----------------------------------------------------------------------===//

struct Counter {
  const char *collective;
  int64_t group;
  int64_t calls;
  int64_t bytes;
};

std::mutex counterMutex;
std::vector<Counter> counters;

void count(const char *collective, int64_t group, int64_t bytes) {
  std::lock_guard<std::mutex> lock(counterMutex);
  for (Counter &c : counters) {
    if (c.group == group && !std::strcmp(c.collective, collective)) {
      ++c.calls;
      c.bytes += bytes;
      return;
    }
  }
  counters.push_back({collective, group, 1, bytes});
}

//===----------------------------------------------------------------------===//
// Watchdog
//===----------------------------------------------------------------------===//

/// What a rank is doing, for messages: `grid` 0 means the world.
struct CallSite {
  const char *collective;
  int64_t grid = 0;
  int64_t group = 0;
};

std::string describe(const CallSite &site) {
  if (!site.grid)
    return std::string(site.collective) + " over the world";
  return concat(site.collective, " over group ", groupString(site.group),
                " of grid ", gridString(site.grid));
}

/// Set once before the watchdog starts; read by the abort paths.
int worldRankForMessages = 0;

[[noreturn]] void abortJob() {
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  _exit(1);
}

class Watchdog {
public:
  void start(double seconds) {
    timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(seconds));
    timeoutSeconds = seconds;
    stopping = false;
    thread = std::thread([this] { run(); });
  }

  void stop() {
    if (!thread.joinable())
      return;
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    cv.notify_one();
    thread.join();
  }

  bool running() const { return thread.joinable(); }

  void begin(const CallSite &s) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      site = s;
      started = std::chrono::steady_clock::now();
      active = true;
    }
    cv.notify_one();
  }

  void end() {
    std::lock_guard<std::mutex> lock(mutex);
    active = false;
  }

private:
  void run() {
    std::unique_lock<std::mutex> lock(mutex);
    while (!stopping) {
      if (!active) {
        cv.wait(lock);
        continue;
      }
      auto deadline = started + timeout;
      if (std::chrono::steady_clock::now() >= deadline) {
        double waited = std::chrono::duration<double>(
                            std::chrono::steady_clock::now() - started)
                            .count();
        std::fprintf(stderr,
                     "lathe: rank %d: %s has waited %.1f s "
                     "(LATHE_COMM_TIMEOUT=%g): a peer rank has probably "
                     "failed or stalled; aborting the job\n",
                     worldRankForMessages, describe(site).c_str(), waited,
                     timeoutSeconds);
        abortJob();
      }
      cv.wait_until(lock, deadline);
    }
  }

  std::mutex mutex;
  std::condition_variable cv;
  std::thread thread;
  std::chrono::steady_clock::duration timeout{};
  double timeoutSeconds = 0;
  bool stopping = false;
  bool active = false;
  CallSite site{"none"};
  std::chrono::steady_clock::time_point started;
};

//===----------------------------------------------------------------------===//
// World
//===----------------------------------------------------------------------===//

enum class State { Uninitialized, Ready, Finalized };

struct World {
  /// Serialises every MPI call made here.
  std::mutex mutex;
  State state = State::Uninitialized;
  bool useMpi = false;
  bool initializedMpi = false; ///< we called MPI_Init_thread
  int rank = 0;
  int size = 1;
  std::map<std::pair<int64_t, int64_t>, MPI_Comm> comms;
  Watchdog watchdog;
};

/// Never destroyed: the atexit handler and late callers may still use it.
World &world() {
  static World *w = new World;
  return *w;
}

bool underMpirun() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMIX_RANK");
}

/// LATHE_COMM_TIMEOUT in seconds (default 20, 0 = no watchdog).
double parseTimeout() {
  const char *text = std::getenv("LATHE_COMM_TIMEOUT");
  if (!text)
    return 20.0;
  char *end = nullptr;
  errno = 0;
  double value = std::strtod(text, &end);
  if (end == text || *end != '\0' || errno || !std::isfinite(value) ||
      value < 0 || value > 1e9)
    fail(LATHE_ERR_INVALID, "LATHE_COMM_TIMEOUT='", text,
         "' is not a number of seconds (>= 0; 0 disables the watchdog)");
  return value;
}

void finalizeAtExit() { lathe_rt_comm_finalize(); }

/// Aborts the job if an MPI call failed.
void check(int rc, const CallSite &site) {
  if (rc == MPI_SUCCESS)
    return;
  char text[MPI_MAX_ERROR_STRING + 1] = {};
  int length = 0;
  if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS)
    std::snprintf(text, sizeof(text), "MPI error code %d", rc);
  std::fprintf(stderr,
               "lathe: rank %d: MPI error in %s: %s; aborting the job\n",
               worldRankForMessages, describe(site).c_str(), text);
  abortJob();
}

/// Runs one blocking MPI call under the watchdog.
template <typename Fn> void watched(World &w, const CallSite &site, Fn &&fn) {
  bool watch = w.watchdog.running();
  if (watch)
    w.watchdog.begin(site);
  int rc = fn();
  if (watch)
    w.watchdog.end();
  check(rc, site);
}

/// Whether this node runs more ranks than this process may use cores
/// (OMPI_COMM_WORLD_LOCAL_SIZE against the affinity mask); set at init.
bool oversubscribed = false;

/// Waits for `request` without keeping a core busy for long: MPI_Test in a
/// loop, tight for the first 50 us, then up to 10 ms tight too where each
/// rank has a core of its own, or with sched_yield where the ranks
/// outnumber the cores (the ranks on this core run; the test comes back at
/// once when none wants it), then sleeping between tests, 50 us at first
/// and doubling up to `maxPause`. Open MPI progresses a nonblocking
/// collective's rounds inside MPI_Test, so the first phases keep a training
/// step's collectives (microseconds to milliseconds) close to blocking ones;
/// sleeping after 100 us made a small model's 4-rank step 10x slower. A
/// blocking MPI call polls a core for as long as it waits (Open MPI's
/// `mpi_yield_when_idle`, which mpirun sets when it knows the node is
/// oversubscribed, only adds sched_yield to that loop): the driver's ranks
/// wait in a broadcast for as long as rank 0 compiles (lathe-train's
/// heartbeat, Ranks.cpp), and in a step's collectives for the slowest rank;
/// with more ranks than cores (tests, benchmarks) the polling ranks took the
/// cores the others computed on.
int waitIdle(MPI_Request &request, std::chrono::microseconds maxPause =
                                       std::chrono::microseconds(2000)) {
  using std::chrono::microseconds;
  auto start = std::chrono::steady_clock::now();
  microseconds pause(50);
  for (;;) {
    int flag = 0;
    int rc = MPI_Test(&request, &flag, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS || flag)
      return rc;
    auto waited = std::chrono::steady_clock::now() - start;
    if (waited < microseconds(50))
      continue;
    if (waited < microseconds(10000)) {
      if (oversubscribed)
        sched_yield();
      continue;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, maxPause);
  }
}

/// More ranks on this node than cores this process may run on.
bool nodeIsOversubscribed() {
  const char *local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  cpu_set_t set;
  CPU_ZERO(&set);
  if (!local || sched_getaffinity(0, sizeof(set), &set) != 0)
    return false;
  return std::atol(local) > CPU_COUNT(&set);
}

/// Starts a nonblocking collective (`start` gets the request to fill) and
/// waits for it with waitIdle: the collectives of a step wait for the
/// slowest rank without spinning for long. The longest pause is short: it
/// bounds what each round of a collective waits once its data arrived.
template <typename Start> int nonblocking(Start &&start) {
  MPI_Request request = MPI_REQUEST_NULL;
  int rc = start(&request);
  if (rc != MPI_SUCCESS)
    return rc;
  return waitIdle(request, std::chrono::microseconds(250));
}

/// Initialises the world; `w.mutex` held.
void initLocked(World &w) {
  if (w.state == State::Ready)
    return;
  if (w.state == State::Finalized)
    fail(LATHE_ERR_INVALID,
         "communication was finalized (lathe_rt_comm_finalize) and cannot "
         "start again");
  // Checked in every world, so that a bad value shows before a run scales.
  double timeout = parseTimeout();
  if (!underMpirun()) {
    w.useMpi = false;
    w.rank = 0;
    w.size = 1;
    w.state = State::Ready;
    return;
  }
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    int rc =
        MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
    if (rc != MPI_SUCCESS)
      fail(LATHE_ERR_BACKEND, "MPI_Init_thread failed (error ", rc, ")");
    if (provided < MPI_THREAD_SERIALIZED) {
      MPI_Finalize();
      fail(LATHE_ERR_BACKEND, "MPI provides thread level ", provided,
           " but the runtime needs MPI_THREAD_SERIALIZED");
    }
    w.initializedMpi = true;
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &w.size);
  worldRankForMessages = w.rank;
  oversubscribed = nodeIsOversubscribed();
  w.useMpi = true;
  if (timeout > 0)
    w.watchdog.start(timeout);
  w.state = State::Ready;
  std::atexit(finalizeAtExit);
}

void finalizeLocked(World &w) {
  if (w.state != State::Ready)
    return;
  w.state = State::Finalized;
  if (!w.useMpi)
    return;
  // A peer that never reaches MPI_Finalize would hang it: keep watching.
  // MPI_Finalize waits for the other ranks polling: meet them in a
  // nonblocking barrier first (a rank that ends its work early waits idle).
  CallSite site{"finalize"};
  watched(w, site, [] {
    return nonblocking([](MPI_Request *request) {
      return MPI_Ibarrier(MPI_COMM_WORLD, request);
    });
  });
  for (auto &entry : w.comms)
    watched(w, site, [&] { return MPI_Comm_free(&entry.second); });
  w.comms.clear();
  if (w.initializedMpi) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized)
      watched(w, site, [] { return MPI_Finalize(); });
  }
  w.watchdog.stop();
}

/// The grid checked against the world, and this process's place in `group`.
struct Resolved {
  Grid grid;
  Group group;
  Placement placement;
};

Resolved resolve(World &w, int64_t packedGrid, int64_t packedGroup) {
  Resolved r;
  r.grid = decodeGrid(packedGrid);
  r.group = decodeGroup(packedGroup, r.grid, packedGrid);
  if (r.grid.processes != w.size)
    fail(LATHE_ERR_SHAPE, "grid ", gridString(packedGrid), " has ",
         r.grid.processes, " processes but this run has ", w.size,
         " rank(s): run with lathe-train --ranks=", r.grid.processes,
         " or under mpirun -n ", r.grid.processes);
  r.placement = place(r.grid, r.group, w.rank);
  return r;
}

/// The communicator of this process's group; created (collectively) on
/// first use.
MPI_Comm communicator(World &w, int64_t packedGrid, int64_t packedGroup,
                      const Placement &p, const char *collective) {
  auto key = std::make_pair(packedGrid, packedGroup);
  auto it = w.comms.find(key);
  if (it != w.comms.end())
    return it->second;
  MPI_Comm comm = MPI_COMM_NULL;
  CallSite site{collective, packedGrid, packedGroup};
  // MPI_Comm_split has no nonblocking form and waits for every rank,
  // polling: the ranks meet in a nonblocking barrier first (creation is
  // collective over the world, so every rank makes it here in this order).
  watched(w, site, [] {
    return nonblocking([](MPI_Request *request) {
      return MPI_Ibarrier(MPI_COMM_WORLD, request);
    });
  });
  watched(w, site, [&] {
    return MPI_Comm_split(MPI_COMM_WORLD, static_cast<int>(p.color),
                          static_cast<int>(p.groupIndex), &comm);
  });
  check(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN), site);
  w.comms.emplace(key, comm);
  return comm;
}

//===----------------------------------------------------------------------===//
// Buffers
//===----------------------------------------------------------------------===//

/// A memref operand as bytes: contiguous, or (all-to-all only) a strided
/// view whose sizes and strides (in elements) are kept.
struct Buffer {
  unsigned char *data = nullptr;
  int64_t elements = 0;
  int64_t bytes = 0;
  bool contiguous = true;
  MemRefView view;
};

Buffer decodeBuffer(int64_t rank, void *descriptor, int64_t elemBytes,
                    const char *what, bool allowStrided = false) {
  MemRefView view = decodeMemRef(rank, descriptor, what);
  bool contiguous = view.isContiguous();
  if (!contiguous && !allowStrided)
    fail(LATHE_ERR_SHAPE, what, " (", shapeString(view),
         ") is not contiguous: collectives need identity-layout buffers");
  if (!contiguous)
    for (int64_t d = 0; d < view.rank; ++d)
      if (view.strides[d] < 0)
        fail(LATHE_ERR_SHAPE, what, " (", shapeString(view),
             ") has a negative stride in dimension ", d);
  // decodeMemRef assumes 4-byte elements for the offset; redo it in bytes.
  auto *words = static_cast<const int64_t *>(descriptor);
  unsigned char *aligned;
  std::memcpy(&aligned, &words[1], sizeof(aligned));
  Buffer b;
  b.elements = view.numel();
  b.bytes = b.elements * elemBytes;
  b.data = aligned ? aligned + words[2] * elemBytes : nullptr;
  b.contiguous = contiguous;
  b.view = view;
  return b;
}

/// The bytes a strided buffer spans, from its first element.
int64_t spanBytes(const Buffer &b, int64_t elemBytes) {
  if (b.contiguous || !b.elements)
    return b.bytes;
  int64_t last = 0;
  for (int64_t d = 0; d < b.view.rank; ++d)
    last += (b.view.sizes[d] - 1) * b.view.strides[d];
  return (last + 1) * elemBytes;
}

/// Copies `in` to `out` (same number of elements, either strided) in
/// row-major element order.
void copyStridedBytes(const Buffer &in, const Buffer &out, int64_t elemBytes) {
  if (!in.elements)
    return;
  auto offsetOf = [](const Buffer &b, int64_t linear) {
    if (b.contiguous)
      return linear;
    int64_t offset = 0;
    for (int64_t d = b.view.rank - 1; d >= 0; --d) {
      offset += (linear % b.view.sizes[d]) * b.view.strides[d];
      linear /= b.view.sizes[d];
    }
    return offset;
  };
  for (int64_t i = 0; i < in.elements; ++i)
    std::memcpy(out.data + offsetOf(out, i) * elemBytes,
                in.data + offsetOf(in, i) * elemBytes,
                static_cast<size_t>(elemBytes));
}

int floatCount(int64_t elements, const char *what) {
  if (elements > INT_MAX)
    fail(LATHE_ERR_SHAPE, what, " has ", elements,
         " elements: more than MPI's 2^31-1 per call");
  return static_cast<int>(elements);
}

bool overlap(const Buffer &a, const Buffer &b) {
  if (!a.bytes || !b.bytes)
    return false;
  return a.data < b.data + b.bytes && b.data < a.data + a.bytes;
}

/// An MPI (count, datatype) for `elements` elements of `elemBytes` bytes.
class Units {
public:
  Units(int64_t elements, int64_t elemBytes, const char *what) {
    int64_t bytes = elements * elemBytes;
    if (bytes <= INT_MAX) {
      count = static_cast<int>(bytes);
      return;
    }
    if (elements > INT_MAX || elemBytes > INT_MAX)
      fail(LATHE_ERR_SHAPE, what, " has ", elements,
           " elements: more than MPI's 2^31-1 per call");
    MPI_Type_contiguous(static_cast<int>(elemBytes), MPI_BYTE, &type);
    MPI_Type_commit(&type);
    owned = true;
    count = static_cast<int>(elements);
  }
  ~Units() {
    if (owned)
      MPI_Type_free(&type);
  }
  Units(const Units &) = delete;
  Units &operator=(const Units &) = delete;

  int count = 0;
  MPI_Datatype type = MPI_BYTE;

private:
  bool owned = false;
};

/// The MPI datatype of one of the `g` blocks of an all-to-all operand:
/// contiguous bytes, or for a strided view whose dimension 0 has the `g`
/// blocks, the nested vectors of dimensions 1..rank-1, resized so block p
/// starts p · strides[0] elements in. MPI walks the view itself, so no
/// packed copy of the operand is made here.
class BlockType {
public:
  BlockType(const Buffer &b, int64_t g, int64_t elemBytes, const char *what)
      : units(b.contiguous ? b.elements / g : 0, elemBytes, what) {
    if (b.contiguous) {
      count = units.count;
      type = units.type;
      return;
    }
    const MemRefView &v = b.view;
    if (v.rank < 1 || v.sizes[0] != g)
      fail(LATHE_ERR_SHAPE, what, " (", shapeString(v),
           ") is strided: its dimension 0 must hold the ", g,
           " blocks of the all-to-all");
    MPI_Datatype t;
    MPI_Type_contiguous(static_cast<int>(elemBytes), MPI_BYTE, &t);
    for (int64_t d = v.rank - 1; d >= 1; --d) {
      if (v.sizes[d] > INT_MAX)
        fail(LATHE_ERR_SHAPE, what, " (", shapeString(v),
             ") has a dimension over MPI's 2^31-1");
      MPI_Datatype next;
      MPI_Type_create_hvector(static_cast<int>(v.sizes[d]), 1,
                              v.strides[d] * elemBytes, t, &next);
      MPI_Type_free(&t);
      t = next;
    }
    MPI_Type_create_resized(t, 0, v.strides[0] * elemBytes, &type);
    MPI_Type_free(&t);
    MPI_Type_commit(&type);
    owned = true;
    count = 1;
  }
  ~BlockType() {
    if (owned)
      MPI_Type_free(&type);
  }
  BlockType(const BlockType &) = delete;
  BlockType &operator=(const BlockType &) = delete;

  int count = 0;
  MPI_Datatype type = MPI_BYTE;

private:
  Units units;
  bool owned = false;
};

/// `in` itself, or a copy of it when it overlaps `out` (MPI forbids
/// aliasing).
const unsigned char *separate(const Buffer &in, const Buffer &out,
                              ScratchBuffer &scratch) {
  if (!overlap(in, out))
    return in.data;
  scratch = ScratchBuffer(static_cast<size_t>(in.bytes));
  std::memcpy(scratch.get(), in.data, static_cast<size_t>(in.bytes));
  return static_cast<const unsigned char *>(scratch.get());
}

void copyBytes(const Buffer &in, const Buffer &out) {
  if (in.bytes && in.data != out.data)
    std::memmove(out.data, in.data, static_cast<size_t>(in.bytes));
}

void checkElemBytes(int64_t elemBytes) {
  if (elemBytes <= 0 || elemBytes > (int64_t(1) << 20))
    fail(LATHE_ERR_INVALID, "element size ", elemBytes,
         " bytes is not positive (or absurdly large)");
}

//===----------------------------------------------------------------------===//
// Collectives
//===----------------------------------------------------------------------===//

enum class Kind { AllGather, AllToAll, ReduceScatter, AllReduce };

std::atomic<bool> deterministicSums{false};

/// The group indices of this process's group, in ascending world rank.
std::vector<int64_t> membersByWorldRank(const Resolved &r) {
  std::vector<int64_t> order;
  for (int64_t rank = 0; rank < r.grid.processes; ++rank) {
    Placement p = place(r.grid, r.group, rank);
    if (p.color == r.placement.color)
      order.push_back(p.groupIndex);
  }
  return order;
}

/// out[i] = sum over k of parts[order[k] * n + i], added in the order of
/// `order`, one f32 add at a time.
void sumInOrder(const float *parts, const std::vector<int64_t> &order,
                int64_t n, float *out) {
  for (int64_t i = 0; i < n; ++i) {
    float acc = parts[order[0] * n + i];
    for (size_t k = 1; k < order.size(); ++k)
      acc += parts[order[k] * n + i];
    out[i] = acc;
  }
}

const char *kindName(Kind kind) {
  switch (kind) {
  case Kind::AllGather:
    return "all_gather";
  case Kind::AllToAll:
    return "all_to_all";
  case Kind::ReduceScatter:
    return "reduce_scatter";
  case Kind::AllReduce:
    return "all_reduce";
  }
  return "?";
}

int profileKindOf(Kind kind) {
  static const int kinds[] = {
      getProfileKind("comm_all_gather"), getProfileKind("comm_all_to_all"),
      getProfileKind("comm_reduce_scatter"), getProfileKind("comm_all_reduce")};
  return kinds[static_cast<int>(kind)];
}

void collective(Kind kind, int64_t packedGrid, int64_t packedGroup,
                int64_t rankIn, void *inDesc, int64_t rankOut, void *outDesc,
                int64_t elemBytes) {
  ProfileScope scope(profileKindOf(kind));
  checkElemBytes(elemBytes);
  World &w = world();
  std::lock_guard<std::mutex> lock(w.mutex);
  initLocked(w);
  Resolved r = resolve(w, packedGrid, packedGroup);
  // All-to-alls take strided views: the compiler hands them the permuted
  // layouts around the exchange instead of packed copies.
  bool strided = kind == Kind::AllToAll;
  Buffer in = decodeBuffer(rankIn, inDesc, elemBytes, "in", strided);
  Buffer out = decodeBuffer(rankOut, outDesc, elemBytes, "out", strided);
  const char *name = kindName(kind);
  int64_t g = r.placement.groupSize;
  auto where = [&] {
    return concat(name, " over group ", groupString(packedGroup), " of grid ",
                  gridString(packedGrid), " (group size ", g, ")");
  };
  switch (kind) {
  case Kind::AllGather:
    if (out.elements != in.elements * g)
      fail(LATHE_ERR_SHAPE, where(), ": out has ", out.elements,
           " elements but needs in's ", in.elements, " times ", g, " = ",
           in.elements * g);
    break;
  case Kind::AllToAll:
    if (out.elements != in.elements)
      fail(LATHE_ERR_SHAPE, where(), ": in has ", in.elements,
           " elements but out has ", out.elements, " (they must be equal)");
    if (in.elements % g)
      fail(LATHE_ERR_SHAPE, where(), ": ", in.elements,
           " elements are not divisible by the group size ", g);
    break;
  case Kind::ReduceScatter:
    if (in.elements != out.elements * g)
      fail(LATHE_ERR_SHAPE, where(), ": in has ", in.elements,
           " elements but needs out's ", out.elements, " times ", g, " = ",
           out.elements * g);
    break;
  case Kind::AllReduce:
    if (out.elements != in.elements)
      fail(LATHE_ERR_SHAPE, where(), ": in has ", in.elements,
           " elements but out has ", out.elements, " (they must be equal)");
    break;
  }

  if (!in.contiguous || !out.contiguous) {
    Buffer inSpan = in, outSpan = out;
    inSpan.bytes = spanBytes(in, elemBytes);
    outSpan.bytes = spanBytes(out, elemBytes);
    if (overlap(inSpan, outSpan))
      fail(LATHE_ERR_INVALID, where(),
           ": strided in and out overlap (MPI forbids aliasing)");
  }
  if (g == 1) {
    if (in.contiguous && out.contiguous)
      copyBytes(in, out);
    else
      copyStridedBytes(in, out, elemBytes);
    count(name, packedGroup, in.bytes);
    return;
  }
  MPI_Comm comm = communicator(w, packedGrid, packedGroup, r.placement, name);
  CallSite site{name, packedGrid, packedGroup};
  ScratchBuffer scratch;
  switch (kind) {
  case Kind::AllGather: {
    Units units(in.elements, elemBytes, "in");
    const unsigned char *send = separate(in, out, scratch);
    watched(w, site, [&] {
      return nonblocking([&](MPI_Request *request) {
        return MPI_Iallgather(send, units.count, units.type, out.data,
                              units.count, units.type, comm, request);
      });
    });
    break;
  }
  case Kind::AllToAll: {
    BlockType sendType(in, g, elemBytes, "in");
    BlockType recvType(out, g, elemBytes, "out");
    const unsigned char *send =
        in.contiguous && out.contiguous ? separate(in, out, scratch) : in.data;
    watched(w, site, [&] {
      return nonblocking([&](MPI_Request *request) {
        return MPI_Ialltoall(send, sendType.count, sendType.type, out.data,
                             recvType.count, recvType.type, comm, request);
      });
    });
    break;
  }
  case Kind::ReduceScatter: {
    int n = floatCount(out.elements, "out");
    floatCount(in.elements, "in");
    if (deterministicSums) {
      // Block j of every member's `in` to member j, then the sum here.
      ScratchBuffer parts(static_cast<size_t>(in.bytes));
      watched(w, site, [&] {
        return nonblocking([&](MPI_Request *request) {
          return MPI_Ialltoall(in.data, n, MPI_FLOAT, parts.get(), n, MPI_FLOAT,
                               comm, request);
        });
      });
      sumInOrder(static_cast<const float *>(parts.get()), membersByWorldRank(r),
                 n, reinterpret_cast<float *>(out.data));
      break;
    }
    const unsigned char *send = separate(in, out, scratch);
    watched(w, site, [&] {
      return nonblocking([&](MPI_Request *request) {
        return MPI_Ireduce_scatter_block(send, out.data, n, MPI_FLOAT, MPI_SUM,
                                         comm, request);
      });
    });
    break;
  }
  case Kind::AllReduce: {
    int n = floatCount(in.elements, "in");
    if (deterministicSums) {
      ScratchBuffer parts(static_cast<size_t>(in.bytes) * g);
      watched(w, site, [&] {
        return nonblocking([&](MPI_Request *request) {
          return MPI_Iallgather(in.data, n, MPI_FLOAT, parts.get(), n,
                                MPI_FLOAT, comm, request);
        });
      });
      sumInOrder(static_cast<const float *>(parts.get()), membersByWorldRank(r),
                 n, reinterpret_cast<float *>(out.data));
      break;
    }
    const void *send =
        in.data == out.data ? MPI_IN_PLACE : separate(in, out, scratch);
    watched(w, site, [&] {
      return nonblocking([&](MPI_Request *request) {
        return MPI_Iallreduce(send, out.data, n, MPI_FLOAT, MPI_SUM, comm,
                              request);
      });
    });
    break;
  }
  }
  count(name, packedGroup, in.bytes);
}

/// Runs `fn` with the world initialised and locked.
template <typename Fn> void withWorld(Fn &&fn) {
  World &w = world();
  std::lock_guard<std::mutex> lock(w.mutex);
  initLocked(w);
  fn(w);
}

constexpr int64_t kChunk = int64_t(1) << 30;

} // namespace

//===----------------------------------------------------------------------===//
// C API
//===----------------------------------------------------------------------===//

extern "C" int lathe_rt_comm_init(void) {
  lathe_status status =
      guardStatus("lathe_rt_comm_init", [] { withWorld([](World &) {}); });
  if (status != LATHE_OK)
    setPendingError(lathe_rt_last_error());
  return status;
}

extern "C" int64_t lathe_rt_comm_rank(void) {
  int64_t rank = 0;
  guardKernel("lathe_rt_comm_rank",
              [&] { withWorld([&](World &w) { rank = w.rank; }); });
  return rank;
}

extern "C" int64_t lathe_rt_comm_size(void) {
  int64_t size = 1;
  guardKernel("lathe_rt_comm_size",
              [&] { withWorld([&](World &w) { size = w.size; }); });
  return size;
}

extern "C" void lathe_rt_comm_finalize(void) {
  World &w = world();
  std::lock_guard<std::mutex> lock(w.mutex);
  finalizeLocked(w);
}

extern "C" void lathe_rt_comm_barrier(void) {
  guardKernel("lathe_rt_comm_barrier", [] {
    withWorld([](World &w) {
      if (w.useMpi)
        watched(w, {"barrier"}, [] {
          return nonblocking([](MPI_Request *request) {
            return MPI_Ibarrier(MPI_COMM_WORLD, request);
          });
        });
    });
  });
}

extern "C" int lathe_rt_comm_broadcast_bytes(void *data, int64_t bytes,
                                             int64_t root) {
  return guardStatus("lathe_rt_comm_broadcast_bytes", [&] {
    withWorld([&](World &w) {
      if (bytes < 0)
        fail(LATHE_ERR_INVALID, "negative byte count ", bytes);
      if (root < 0 || root >= w.size)
        fail(LATHE_ERR_INVALID, "root ", root, " is not a rank of this run (",
             w.size, " rank(s))");
      if (bytes && !data)
        fail(LATHE_ERR_INVALID, "null data");
      if (!w.useMpi)
        return;
      auto *p = static_cast<unsigned char *>(data);
      // Chunks also keep an empty broadcast collective on every rank.
      int64_t done = 0;
      do {
        int n = static_cast<int>(std::min(kChunk, bytes - done));
        watched(w, {"broadcast"}, [&] {
          MPI_Request request;
          int rc = MPI_Ibcast(p + done, n, MPI_BYTE, static_cast<int>(root),
                              MPI_COMM_WORLD, &request);
          return rc == MPI_SUCCESS ? waitIdle(request) : rc;
        });
        done += n;
      } while (done < bytes);
    });
  });
}

extern "C" int lathe_rt_comm_all_gather_bytes(const void *in, void *out,
                                              int64_t bytesPerRank) {
  return guardStatus("lathe_rt_comm_all_gather_bytes", [&] {
    withWorld([&](World &w) {
      if (bytesPerRank < 0)
        fail(LATHE_ERR_INVALID, "negative byte count ", bytesPerRank);
      if (bytesPerRank && (!in || !out))
        fail(LATHE_ERR_INVALID, "null buffer");
      Buffer inBuf{static_cast<unsigned char *>(const_cast<void *>(in)),
                   bytesPerRank, bytesPerRank};
      Buffer outBuf{static_cast<unsigned char *>(out), bytesPerRank * w.size,
                    bytesPerRank * w.size};
      if (!w.useMpi) {
        copyBytes(inBuf, outBuf);
        return;
      }
      Units units(bytesPerRank, 1, "in");
      ScratchBuffer scratch;
      const unsigned char *send = separate(inBuf, outBuf, scratch);
      watched(w, {"all_gather_bytes"}, [&] {
        return nonblocking([&](MPI_Request *request) {
          return MPI_Iallgather(send, units.count, units.type, out, units.count,
                                units.type, MPI_COMM_WORLD, request);
        });
      });
    });
  });
}

extern "C" int lathe_rt_comm_all_reduce_sum_f64(double *values, int64_t count) {
  return guardStatus("lathe_rt_comm_all_reduce_sum_f64", [&] {
    withWorld([&](World &w) {
      if (count < 0)
        fail(LATHE_ERR_INVALID, "negative count ", count);
      if (count && !values)
        fail(LATHE_ERR_INVALID, "null values");
      if (!w.useMpi)
        return;
      int64_t done = 0;
      do {
        int n = static_cast<int>(std::min(kChunk, count - done));
        watched(w, {"all_reduce_sum_f64"}, [&] {
          return nonblocking([&](MPI_Request *request) {
            return MPI_Iallreduce(MPI_IN_PLACE, values + done, n, MPI_DOUBLE,
                                  MPI_SUM, MPI_COMM_WORLD, request);
          });
        });
        done += n;
      } while (done < count);
    });
  });
}

extern "C" void lathe_rt_comm_all_gather(int64_t grid, int64_t group,
                                         int64_t rankIn, void *in,
                                         int64_t rankOut, void *out,
                                         int64_t elemBytes) {
  guardKernel("lathe_rt_comm_all_gather", [&] {
    collective(Kind::AllGather, grid, group, rankIn, in, rankOut, out,
               elemBytes);
  });
}

extern "C" void lathe_rt_comm_all_to_all(int64_t grid, int64_t group,
                                         int64_t rankIn, void *in,
                                         int64_t rankOut, void *out,
                                         int64_t elemBytes) {
  guardKernel("lathe_rt_comm_all_to_all", [&] {
    collective(Kind::AllToAll, grid, group, rankIn, in, rankOut, out,
               elemBytes);
  });
}

// Typed entry points: generated code declares one function per MLIR type
// of its operands, so each element type has its own symbol.
#define LATHE_COMM_TYPED(NAME, SUFFIX, BYTES)                                  \
  extern "C" void lathe_rt_comm_##NAME##_##SUFFIX(                             \
      int64_t grid, int64_t group, int64_t rankIn, void *in, int64_t rankOut,  \
      void *out) {                                                             \
    lathe_rt_comm_##NAME(grid, group, rankIn, in, rankOut, out, BYTES);        \
  }
#define LATHE_COMM_ALL_TYPES(NAME)                                             \
  LATHE_COMM_TYPED(NAME, i8, 1)                                                \
  LATHE_COMM_TYPED(NAME, i16, 2)                                               \
  LATHE_COMM_TYPED(NAME, i32, 4)                                               \
  LATHE_COMM_TYPED(NAME, i64, 8)                                               \
  LATHE_COMM_TYPED(NAME, f16, 2)                                               \
  LATHE_COMM_TYPED(NAME, bf16, 2)                                              \
  LATHE_COMM_TYPED(NAME, f32, 4)                                               \
  LATHE_COMM_TYPED(NAME, f64, 8)
LATHE_COMM_ALL_TYPES(all_gather)
LATHE_COMM_ALL_TYPES(all_to_all)
#undef LATHE_COMM_ALL_TYPES
#undef LATHE_COMM_TYPED

extern "C" void lathe_rt_comm_reduce_scatter_sum_f32(int64_t grid,
                                                     int64_t group,
                                                     int64_t rankIn, void *in,
                                                     int64_t rankOut,
                                                     void *out) {
  guardKernel("lathe_rt_comm_reduce_scatter_sum_f32", [&] {
    collective(Kind::ReduceScatter, grid, group, rankIn, in, rankOut, out,
               sizeof(float));
  });
}

extern "C" void lathe_rt_comm_all_reduce_sum_f32(int64_t grid, int64_t group,
                                                 int64_t rankIn, void *in,
                                                 int64_t rankOut, void *out) {
  guardKernel("lathe_rt_comm_all_reduce_sum_f32", [&] {
    collective(Kind::AllReduce, grid, group, rankIn, in, rankOut, out,
               sizeof(float));
  });
}

extern "C" int64_t lathe_rt_comm_group_index(int64_t grid, int64_t group) {
  int64_t index = -1;
  guardKernel("lathe_rt_comm_group_index", [&] {
    withWorld([&](World &w) {
      index = resolve(w, grid, group).placement.groupIndex;
    });
  });
  return index;
}

extern "C" int64_t lathe_rt_comm_group_size(int64_t grid, int64_t group) {
  int64_t size = -1;
  guardKernel("lathe_rt_comm_group_size", [&] {
    withWorld(
        [&](World &w) { size = resolve(w, grid, group).placement.groupSize; });
  });
  return size;
}

extern "C" void lathe_rt_comm_set_deterministic(int on) {
  deterministicSums = on != 0;
}

extern "C" int lathe_rt_comm_deterministic(void) {
  return deterministicSums ? 1 : 0;
}

extern "C" int64_t lathe_rt_comm_counters(lathe_comm_counter *out,
                                          int64_t capacity) {
  std::lock_guard<std::mutex> lock(counterMutex);
  int64_t n = static_cast<int64_t>(counters.size());
  for (int64_t i = 0; out && i < std::min(n, capacity); ++i) {
    lathe_comm_counter &c = out[i];
    std::memset(&c, 0, sizeof(c));
    std::snprintf(c.collective, sizeof(c.collective), "%s",
                  counters[i].collective);
    c.group = counters[i].group;
    c.calls = counters[i].calls;
    c.bytes = counters[i].bytes;
  }
  return n;
}

extern "C" void lathe_rt_comm_reset_counters(void) {
  std::lock_guard<std::mutex> lock(counterMutex);
  counters.clear();
}
