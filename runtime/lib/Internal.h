//===- Internal.h - Lathe runtime private helpers ---------------*- C++ -*-===//
//
// Shared by the runtime's translation units only; never installed and never
// included by generated code or the tools. The C API in Runtime.h is the only
// public surface.
//
// Errors inside the runtime are C++ exceptions (RuntimeError, std::bad_alloc,
// dnnl::error); every extern "C" entry point catches them with guardStatus()
// or guardKernel() so that nothing ever unwinds across the C boundary.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_LIB_INTERNAL_H
#define LATHE_RUNTIME_LIB_INTERNAL_H

#include "lathe/runtime/Runtime.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace lathe::rt {

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

/// An error with the status code the C API reports for it.
class RuntimeError : public std::runtime_error {
public:
  RuntimeError(lathe_status status, const std::string &message)
      : std::runtime_error(message), status(status) {}
  lathe_status getStatus() const { return status; }

private:
  lathe_status status;
};

/// Builds a message from stream-insertable pieces.
template <typename... Args> std::string concat(Args &&...args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

template <typename... Args>
[[noreturn]] void fail(lathe_status status, Args &&...args) {
  throw RuntimeError(status, concat(std::forward<Args>(args)...));
}

/// Sets this thread's last-error message.
void setLastError(const std::string &message);
void clearLastError();
/// Records `message` as the current session's pending error unless one is
/// pending already (the first failure is the interesting one), and as the last
/// error.
void setPendingError(const std::string &message);

/// Converts the exception being handled into a status and last-error message.
/// Must be called from inside a catch block.
lathe_status statusFromCurrentException(const char *context);

/// Runs `fn` (returning void) for a status-returning C entry point.
template <typename Fn> lathe_status guardStatus(const char *context, Fn &&fn) {
  try {
    clearLastError();
    fn();
    return LATHE_OK;
  } catch (...) {
    return statusFromCurrentException(context);
  }
}

/// Runs `fn` for a kernel entry point: failures become the pending error.
template <typename Fn> void guardKernel(const char *context, Fn &&fn) {
  try {
    fn();
  } catch (...) {
    statusFromCurrentException(context);
    setPendingError(lathe_rt_last_error());
  }
}

//===----------------------------------------------------------------------===//
// Memref descriptors
//===----------------------------------------------------------------------===//

/// A decoded strided memref: element pointer (aligned + offset), sizes and
/// strides in elements. With `bf16` the elements are bf16 (2 bytes; `data`
/// then points at the first of them, read through bf16ToFloat).
struct MemRefView {
  float *data = nullptr;
  int64_t rank = 0;
  bool bf16 = false;
  std::array<int64_t, LATHE_MAX_RANK> sizes{};
  std::array<int64_t, LATHE_MAX_RANK> strides{};

  int64_t numel() const;
  /// True if the view is dense and row-major (strides of size-1 dims ignored).
  bool isContiguous() const;
};

/// Decodes an unranked-memref pair; throws on a null descriptor, a rank out
/// of [0, LATHE_MAX_RANK] or negative sizes. `what` names the operand in
/// messages ("matmul: A"). `bf16`: the memref's elements are bf16.
MemRefView decodeMemRef(int64_t rank, void *descriptor, const char *what,
                        bool bf16 = false);

/// The object representation of `from` read as a `To` (std::bit_cast of
/// C++20; the project builds as C++17).
template <typename To, typename From>
inline __attribute__((always_inline)) To bitCast(const From &from) {
  static_assert(sizeof(To) == sizeof(From), "bitCast: sizes differ");
  static_assert(std::is_trivially_copyable_v<To> &&
                    std::is_trivially_copyable_v<From>,
                "bitCast: types must be trivially copyable");
  To to;
  std::memcpy(&to, &from, sizeof(To));
  return to;
}

/// bf16 <-> f32: the upper half of the f32 bits; f32 -> bf16 rounds to
/// nearest even and keeps NaN a NaN (as vcvtneps2bf16).
inline float bf16ToFloat(uint16_t h) {
  return bitCast<float>(uint32_t(h) << 16);
}
/// Branch-free, so that loops over it vectorise.
inline uint16_t floatToBf16(float f) {
  uint32_t bits = bitCast<uint32_t>(f);
  uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
  uint32_t quieted = (bits >> 16) | 0x40u;
  return uint16_t((bits & 0x7fffffffu) > 0x7f800000u ? quieted : rounded);
}

/// Formats "[2x3x4]" for messages.
std::string shapeString(const MemRefView &view);

/// Copies between two views of the same shape, element by element
/// (converting where one is bf16 and the other f32).
void copyStrided(const MemRefView &src, const MemRefView &dst);

/// Elementwise activation used by the scalar fallbacks (ReLU as
/// arith.maximumf: NaN stays NaN).
float applyActivation(int act, float x);

/// The largest magnitude among the elements: NaN if any element is NaN,
/// +Inf if any is infinite (and none is NaN), else the largest |x|; 0 for no
/// elements. A vectorised scan, used to pick a kernel that keeps NaN and Inf
/// exact only when the data holds them (see docs/Architecture.md, "NaN and
/// infinities").
float maxAbs(const float *data, int64_t n);
float maxAbs(const MemRefView &view);
/// maxAbs of data[0], data[stride], ..., data[(n - 1) * stride] on the
/// calling thread only (for kernels that already run in parallel).
float maxAbsOnThisThread(const float *data, int64_t stride, int64_t n);
/// True if `m` (a maxAbs result) says every element was finite.
inline bool allFinite(float m) { return m <= 3.40282347e38f; }
/// Converts `n` contiguous floats to bf16 into `dst` (as floatToBf16) and
/// returns their maxAbs, in one vectorised pass split over the session's
/// threads like maxAbs: a bf16 kernel that scans its f32 input for NaN and
/// Inf reads it once instead of twice (scan, then oneDNN's reorder).
float toBf16MaxAbs(const float *src, uint16_t *dst, int64_t n);

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

/// Runtime-owned scratch buffer counted in the high-water mark.
class ScratchBuffer {
public:
  ScratchBuffer() = default;
  explicit ScratchBuffer(size_t bytes);
  ~ScratchBuffer();
  ScratchBuffer(const ScratchBuffer &) = delete;
  ScratchBuffer &operator=(const ScratchBuffer &) = delete;
  ScratchBuffer(ScratchBuffer &&other) noexcept
      : ptr(std::exchange(other.ptr, nullptr)) {}
  ScratchBuffer &operator=(ScratchBuffer &&other) noexcept;

  void *get() const { return ptr; }
  float *floats() const { return static_cast<float *>(ptr); }

private:
  void *ptr = nullptr;
};

/// A grow-only scratch buffer of the calling thread: `slots` (with `size`
/// entries) and `slotsSession` are the caller's thread_local state, one
/// buffer per slot, reused by every call (fresh megabyte buffers cost page
/// faults on each call). A call in another session than the buffers' starts
/// afresh, so each session's memory count has the scratch its own calls need.
void *threadScratchSlot(std::pair<ScratchBuffer, size_t> *slots, size_t size,
                        uint64_t &slotsSession, size_t slot, size_t bytes);

//===----------------------------------------------------------------------===//
// Profiling and threads
//===----------------------------------------------------------------------===//

/// Returns the stable index of a profile kind, registering it on first use.
int getProfileKind(const char *name);
void addProfileSample(int kind, int64_t ns, int64_t calls = 1);

/// True while lathe_rt_trace_enable(1) is in force: kernels then also record
/// one trace event per call.
bool traceEnabled();
/// Records one trace event (times on the steady clock).
void recordTraceEvent(const char *name, const char *category,
                      std::string detail,
                      std::chrono::steady_clock::time_point start,
                      std::chrono::steady_clock::time_point end);
/// "f32[64x128] f32[128x256] -> f32[64x256], 229376 bytes" for the memref
/// descriptors of a kernel call (inputs, then `numOutputs` outputs); null
/// descriptors are skipped.
std::string
describeOperands(std::initializer_list<std::pair<int64_t, void *>> operands,
                 int numOutputs = 1, int64_t elementBytes = 4);

/// Adds a sample to the memory timeline while it is on.
void recordMemorySample(int64_t liveBytes);

/// Times a scope into a profile kind, and into the trace while tracing.
class ProfileScope {
public:
  explicit ProfileScope(int kind)
      : kind(kind), start(std::chrono::steady_clock::now()) {}
  ~ProfileScope() {
    auto end = std::chrono::steady_clock::now();
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(end - start)
                  .count();
    addProfileSample(kind, ns);
    if (traceEnabled())
      recordTrace(end);
  }
  /// Counts the scope under another kind (decided after it started).
  void setKind(int newKind) { kind = newKind; }
  /// Shapes and bytes for the trace event (set only while tracing).
  void setDetail(std::string text) { detail = std::move(text); }
  ProfileScope(const ProfileScope &) = delete;
  ProfileScope &operator=(const ProfileScope &) = delete;

private:
  void recordTrace(std::chrono::steady_clock::time_point end) noexcept;

  int kind;
  std::chrono::steady_clock::time_point start;
  std::string detail;
};

/// The OpenMP runtime's omp_set_num_threads / omp_get_max_threads that
/// oneDNN's calls bind to (the first definitions in the global scope: LLVM's
/// libomp where the runtime is loaded, which interposes libgomp's); null
/// where no OpenMP runtime is loaded.
using SetNumThreadsFn = void (*)(int);
using GetMaxThreadsFn = int (*)();
SetNumThreadsFn ompSetNumThreads();
GetMaxThreadsFn ompGetMaxThreads();

/// Applies the current session's thread count (lathe_rt_set_num_threads) to
/// the calling thread's OpenMP runtime (the one oneDNN uses) if the thread
/// was last set to another count.
void applyThreadSettings();

/// Kernels with fewer floating-point operations than this run on the calling
/// thread: a fork/join of the OpenMP team costs microseconds with idle cores
/// and a scheduler time slice when a team thread is descheduled (a loaded
/// machine), more than such a kernel gains from a second thread.
constexpr double kMinParallelFlops = 16.0 * 1024 * 1024;

/// Memory-bound work (the kernels' input scans, pooling) over at least this
/// many bytes is split over the session's threads: a kernel's scan of its
/// input on one thread while the others waited took about 4 % of
/// ResNet-18's time with 2 threads. Waking a pool worker costs a few
/// microseconds, about what one core takes for 256 KiB.
constexpr int64_t kMinParallelScanBytes = int64_t(1) << 18;

/// applyThreadSettings for a kernel of `flops` operations: one thread below
/// kMinParallelFlops, else the session's count.
void applyThreadSettings(double flops);

/// The thread count of one kernel call of `flops` operations, from before
/// its oneDNN primitive is built (oneDNN fixes a primitive's thread count
/// when it is created, and its primitive cache keys on that count) to its
/// end, where the session's count is restored: generated code shares the
/// OpenMP runtime, and its parallel loops must not inherit one thread.
class KernelThreads {
public:
  explicit KernelThreads(double flops) { applyThreadSettings(flops); }
  ~KernelThreads() { applyThreadSettings(); }
  KernelThreads(const KernelThreads &) = delete;
  KernelThreads &operator=(const KernelThreads &) = delete;
};

} // namespace lathe::rt

#endif // LATHE_RUNTIME_LIB_INTERNAL_H
