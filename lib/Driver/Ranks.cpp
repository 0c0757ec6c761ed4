//===- Ranks.cpp - lathe-train on several ranks (Open MPI) ----------------===//

#include "lathe/Driver/Ranks.h"

#include "lathe/runtime/Comm.h"
#include "lathe/runtime/Runtime.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <unistd.h>

using namespace mlir;
using namespace mlir::lathe;

bool mlir::lathe::launchedByMpirun() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr ||
         std::getenv("PMIX_RANK") != nullptr;
}

void mlir::lathe::relaunchUnderMpirun(int64_t ranks,
                                      llvm::ArrayRef<std::string> arguments,
                                      std::string &error) {
  llvm::ErrorOr<std::string> mpirun = llvm::sys::findProgramByName("mpirun");
  if (!mpirun) {
    error = "--ranks=" + std::to_string(ranks) +
            " runs the ranks with Open MPI, but mpirun is not on PATH "
            "(install openmpi-bin: bash scripts/setup.sh)";
    return;
  }
  char self[4096];
  ssize_t length = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (length <= 0) {
    error = "cannot find this program's path (/proc/self/exe)";
    return;
  }
  self[length] = 0;
  std::vector<std::string> words = {
      *mpirun,           "-n",        std::to_string(ranks),
      "--oversubscribe", "--bind-to", "none"};
  if (::geteuid() == 0) {
    // Open MPI refuses to run as root unless told twice.
    ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  }
  // Containers often forbid the cross-process memory attach of the shared
  // memory transport; copying through the shared segment always works.
  ::setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
  words.push_back(self);
  words.insert(words.end(), arguments.begin(), arguments.end());
  std::vector<char *> argv;
  for (std::string &w : words)
    argv.push_back(w.data());
  argv.push_back(nullptr);
  ::execv(mpirun->c_str(), argv.data());
  error = "cannot run '" + *mpirun + "': " + std::strerror(errno);
}

namespace {

void putU64(std::vector<char> &out, uint64_t v) {
  const char *p = reinterpret_cast<const char *>(&v);
  out.insert(out.end(), p, p + sizeof(v));
}

bool getU64(const std::vector<char> &in, size_t &at, uint64_t &v) {
  if (in.size() - at < sizeof(v))
    return false;
  std::memcpy(&v, in.data() + at, sizeof(v));
  at += sizeof(v);
  return true;
}

std::string commError(const char *what) {
  const char *last = lathe_rt_last_error();
  return std::string(what) + (last && *last ? std::string(": ") + last : "");
}

} // namespace

/// The heartbeat's period: a second, or a quarter of a shorter watchdog
/// timeout (LATHE_COMM_TIMEOUT; the runtime rejects values that are not a
/// number of seconds).
static std::chrono::milliseconds heartbeatPeriod() {
  double period = 1.0;
  if (const char *text = std::getenv("LATHE_COMM_TIMEOUT")) {
    double timeout = std::strtod(text, nullptr);
    if (timeout > 0 && timeout / 4 < period)
      period = timeout / 4;
  }
  return std::chrono::milliseconds(std::max<int64_t>(1, period * 1000));
}

bool mlir::lathe::runOnRankZero(llvm::function_ref<void()> work,
                                std::string &error) {
  if (lathe_rt_comm_rank() != 0) {
    for (int64_t done = 0; !done;)
      if (lathe_rt_comm_broadcast_bytes(&done, sizeof(done), 0) != 0) {
        error = commError("cannot wait for rank 0");
        return false;
      }
    return true;
  }
  std::mutex mutex;
  std::condition_variable cv;
  bool finished = false, sent = true;
  std::chrono::milliseconds period = heartbeatPeriod();
  std::thread heartbeat([&] {
    std::unique_lock<std::mutex> lock(mutex);
    for (int64_t done = 0; !done && sent;) {
      cv.wait_for(lock, period, [&] { return finished; });
      done = finished;
      lock.unlock();
      bool ok = lathe_rt_comm_broadcast_bytes(&done, sizeof(done), 0) == 0;
      lock.lock();
      sent = ok;
    }
  });
  work();
  {
    std::lock_guard<std::mutex> lock(mutex);
    finished = true;
  }
  cv.notify_one();
  heartbeat.join();
  if (!sent)
    error = commError("cannot tell the other ranks that rank 0 is working");
  return sent;
}

bool mlir::lathe::broadcastCompiledModule(CompiledModule &compiled, bool ok,
                                          std::string &error) {
  bool root = lathe_rt_comm_rank() == 0;
  std::vector<char> blob;
  int64_t size = -1;
  if (root && ok) {
    llvm::StringRef object = compiled.object->getBuffer();
    putU64(blob, object.size());
    blob.insert(blob.end(), object.begin(), object.end());
    putU64(blob, compiled.constants.size());
    for (const ConstantSlice &c : compiled.constants) {
      putU64(blob, c.symbol.size());
      blob.insert(blob.end(), c.symbol.begin(), c.symbol.end());
      putU64(blob, c.offset);
      putU64(blob, c.size);
    }
    putU64(blob, compiled.data.size());
    blob.insert(blob.end(), compiled.data.data(),
                compiled.data.data() + compiled.data.size());
    size = static_cast<int64_t>(blob.size());
  }
  if (lathe_rt_comm_broadcast_bytes(&size, sizeof(size), 0) != 0) {
    error = commError("cannot broadcast the compiled module");
    return false;
  }
  if (size < 0) {
    error = root ? "compilation failed"
                 : "compilation failed on rank 0 (see its message)";
    return false;
  }
  if (!root)
    blob.resize(size);
  if (lathe_rt_comm_broadcast_bytes(blob.data(), size, 0) != 0) {
    error = commError("cannot broadcast the compiled module");
    return false;
  }
  if (root)
    return true;
  size_t at = 0;
  uint64_t n = 0, count = 0;
  auto bad = [&] {
    error = "the compiled module received from rank 0 is truncated";
    return false;
  };
  if (!getU64(blob, at, n) || blob.size() - at < n)
    return bad();
  compiled.object = llvm::MemoryBuffer::getMemBufferCopy(
      llvm::StringRef(blob.data() + at, n), "lathe-rank0-module");
  at += n;
  if (!getU64(blob, at, count))
    return bad();
  compiled.constants.clear();
  for (uint64_t i = 0; i < count; ++i) {
    ConstantSlice c;
    if (!getU64(blob, at, n) || blob.size() - at < n)
      return bad();
    c.symbol.assign(blob.data() + at, n);
    at += n;
    if (!getU64(blob, at, c.offset) || !getU64(blob, at, c.size))
      return bad();
    compiled.constants.push_back(std::move(c));
  }
  if (!getU64(blob, at, n) || blob.size() - at != n)
    return bad();
  if (n && !compiled.data.allocate(n)) {
    error = "out of memory for the compiled module's constants";
    return false;
  }
  if (n)
    std::memcpy(compiled.data.data(), blob.data() + at, n);
  return true;
}

int64_t mlir::lathe::shardIndexOfRank(int64_t rank, int64_t ranks,
                                      int64_t ranksPerNode) {
  int64_t nodes = ranks / ranksPerNode;
  return (rank % ranksPerNode) * nodes + rank / ranksPerNode;
}

bool mlir::lathe::gatherShards(const float *shard, int64_t shardSize,
                               int64_t ranks, int64_t ranksPerNode,
                               std::vector<float> &full, std::string &error) {
  std::vector<float> byRank(shardSize * ranks);
  if (lathe_rt_comm_all_gather_bytes(shard, byRank.data(),
                                     shardSize * int64_t(sizeof(float))) != 0) {
    error = commError("cannot gather the sharded state");
    return false;
  }
  full.assign(shardSize * ranks, 0.0f);
  for (int64_t r = 0; r < ranks; ++r)
    std::memcpy(full.data() +
                    shardIndexOfRank(r, ranks, ranksPerNode) * shardSize,
                byRank.data() + r * shardSize, shardSize * sizeof(float));
  return true;
}
