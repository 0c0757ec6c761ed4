//===- Dnnl.h - oneDNN engine, descriptors and primitive caches -*- C++ -*-===//

#ifndef LATHE_RUNTIME_LIB_DNNL_H
#define LATHE_RUNTIME_LIB_DNNL_H

#include "Internal.h"
#include "Session.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace lathe::rt {

/// The process's CPU engine, created on first use.
dnnl::engine &cpuEngine();
/// A stream for the calling thread (CPU streams are cheap; one per thread
/// avoids sharing one across concurrent kernels).
dnnl::stream &cpuStream();

using Dims = std::vector<int64_t>;

/// An operand as oneDNN sees it: logical dims and strides in elements.
struct Operand {
  float *data = nullptr;
  Dims dims;
  Dims strides;
  /// The elements are bf16 (a kernel's bf16 input or output; `data` points
  /// at the first of them).
  bool bf16 = false;
  /// 0: plain strided. Otherwise a rank-4 [N, C, H, W] operand whose channels
  /// are blocked by `block` (oneDNN's aBcd16b): `dims` stay logical, and
  /// strides[1] steps from one channel block to the next; the `block`
  /// channels of a block are contiguous (the memref is
  /// [N, C/block, H, W, block]).
  int64_t block = 0;

  /// Strides of size-1 dimensions carry no information; give them the value
  /// a plain layout with the same order would have, so oneDNN recognises
  /// plain formats (e.g. a [1,K,N] broadcast of a transposed [K,N] view).
  void normalizeStrides();
  /// True if every dimension of size > 1 has a positive stride and no two
  /// elements overlap in an obvious way (oneDNN needs that; others are
  /// copied to a dense buffer first).
  bool hasUsableStrides() const;
  /// Dense and row-major (a channel-blocked operand: dense in its blocked
  /// [N, C/b, H, W, b] layout).
  bool isDenseRowMajor() const;
  int64_t numel() const;
  dnnl::memory::data_type type() const;
  dnnl::memory::desc desc() const;
  dnnl::memory::desc denseDesc() const;
  /// Byte range [lo, hi) of the elements the operand touches.
  std::pair<const char *, const char *> range() const;
  /// A MemRefView over the same elements (for copyStrided).
  MemRefView view() const;
  /// The same elements, densely row-major, at `dst` (of the same type).
  MemRefView denseView(float *dst) const;
};

Dims denseStrides(const Dims &dims);

/// The operand for a rank-5 channel-blocked [N, C/16, H, W, 16] view (see
/// Operand::block), or for a channels-last [N, 1, H, W, C] view (one block of
/// all channels: a plain operand with NHWC strides); throws when the view is
/// of neither form.
Operand blockedOperand(const MemRefView &view, const char *what);
bool overlaps(const Operand &a, const Operand &b);

dnnl::algorithm activationAlgorithm(int act, const char *kernel);

/// Appends v's dims and strides to a cache key.
void appendKey(std::vector<int64_t> &key, const Operand &v);

struct KeyHash {
  size_t operator()(const std::vector<int64_t> &key) const {
    uint64_t h = 0xcbf29ce484222325ull;
    for (int64_t v : key)
      h = (h ^ static_cast<uint64_t>(v)) * 0x100000001b3ull;
    return static_cast<size_t>(h);
  }
};

/// Thread-safe map from a shape/stride/flag key to a built entry; entries
/// are built once and shared (creation happens outside the lock, so two
/// threads may race to build the same entry; the first one wins). Each
/// session owns its own (see Session.h).
template <typename Entry> class PrimitiveCache : public SessionCache {
public:
  std::shared_ptr<Entry>
  getOrCreate(const std::vector<int64_t> &key,
              const std::function<std::shared_ptr<Entry>()> &create) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      auto it = map.find(key);
      if (it != map.end())
        return it->second;
    }
    std::shared_ptr<Entry> entry = create();
    std::lock_guard<std::mutex> lock(mutex);
    return map.emplace(key, std::move(entry)).first->second;
  }
  void clear() override {
    std::lock_guard<std::mutex> lock(mutex);
    map.clear();
  }

private:
  std::mutex mutex;
  std::unordered_map<std::vector<int64_t>, std::shared_ptr<Entry>, KeyHash> map;
};

/// Constant weights reordered once into a primitive's preferred layout,
/// keyed by the address of the original weights. Lives in a cache entry of
/// the current session, so it dies with the session (or
/// lathe_rt_clear_caches), never later.
class PackedWeights {
public:
  /// The packed copy of the weights at `key`, or null if not packed yet.
  void *lookup(const float *key);
  /// Reorders `src` (layout `srcMd`) into a new buffer of layout `packedMd`
  /// and remembers it under `key` (the address of the original weights).
  void *pack(const float *key, const float *src,
             const dnnl::memory::desc &srcMd,
             const dnnl::memory::desc &packedMd);

private:
  std::mutex mutex;
  std::unordered_map<const float *, std::shared_ptr<ScratchBuffer>> packed;
};

/// An operand over `view` taking its dimensions in `order` (e.g. NHWC data
/// as oneDNN's logical NCHW: {0, 3, 1, 2}).
Operand permuted(const MemRefView &view, std::array<int, 4> order);

/// Primitive attributes with a user-managed scratchpad: oneDNN's temporary
/// memory then comes from the runtime's counted allocator (see
/// UserScratchpad), so peak_memory_bytes includes it.
inline dnnl::primitive_attr userScratchpadAttr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

/// A cache entry's execution arguments kept between calls: its dnnl::memory
/// objects are re-pointed at each call's data (set_data_handle) instead of
/// created anew, which cost one to two microseconds per kernel call. One
/// call at a time uses them; a call that finds them in use (another thread
/// running the same entry) binds a map of its own.
class BoundArgs {
public:
  class Use {
  public:
    explicit Use(BoundArgs &owner)
        : lock(owner.mutex, std::try_to_lock),
          args(lock.owns_lock() ? owner.args : own) {}
    /// Points argument `arg` (layout `md`, the same for every call of the
    /// entry) at `data`.
    void bind(int arg, const dnnl::memory::desc &md, void *data);
    std::unordered_map<int, dnnl::memory> &map() { return args; }

  private:
    std::unique_lock<std::mutex> lock;
    std::unordered_map<int, dnnl::memory> own;
    std::unordered_map<int, dnnl::memory> &args;
  };

private:
  std::mutex mutex;
  std::unordered_map<int, dnnl::memory> args;
};

/// The scratchpad of one primitive execution (`md` from the primitive
/// descriptor of a user-mode primitive), allocated through the runtime's
/// counting allocator for the duration of the call, so that the measured
/// peak counts it while it is in use (and only then: the compile-time peak
/// estimate of lathe-run --report models it so).
class UserScratchpad {
public:
  explicit UserScratchpad(const dnnl::memory::desc &md) : md(md) {
    if (md.get_size())
      buffer = ScratchBuffer(md.get_size());
  }
  /// Adds DNNL_ARG_SCRATCHPAD to `args` when the primitive needs one.
  void addTo(std::unordered_map<int, dnnl::memory> &args,
             const dnnl::engine &engine) {
    if (buffer.get())
      args.emplace(DNNL_ARG_SCRATCHPAD, dnnl::memory(md, engine, buffer.get()));
  }
  /// The same through a BoundArgs::Use.
  void addTo(BoundArgs::Use &args) {
    if (buffer.get())
      args.bind(DNNL_ARG_SCRATCHPAD, md, buffer.get());
  }

private:
  dnnl::memory::desc md;
  ScratchBuffer buffer;
};

/// Reorders between two layouts of the same logical tensor.
void reorder(const dnnl::memory::desc &srcMd, void *src,
             const dnnl::memory::desc &dstMd, void *dst);

/// True for oneDNN errors that mean "this configuration is not supported"
/// (so a plainer configuration should be tried).
bool isUnsupported(const dnnl::error &e);

/// True if oneDNN chose its reference (scalar, slow) implementation.
bool isReference(const dnnl::primitive_desc_base &pd);

/// Builds a cache entry with `build(true)` (bf16 operands) when `bf16`, and
/// with `build(false)` (f32) when it is not, or when oneDNN has no bf16 form
/// of the primitive or only a reference kernel for it. Entries expose
/// `reference`.
template <typename Entry, typename Build>
std::shared_ptr<Entry> buildPreferringBf16(bool bf16, Build build) {
  if (bf16) {
    try {
      std::shared_ptr<Entry> entry = build(true);
      if (!entry->reference)
        return entry;
    } catch (const dnnl::error &err) {
      if (!isUnsupported(err))
        throw;
    }
  }
  return build(false);
}

/// Builds a cache entry with `build(false)` (the caller's layouts) and, when
/// that is unsupported or only has a reference implementation, with
/// `build(true)` (dense copies or oneDNN's preferred layouts plus reorders),
/// keeping the second unless it is no better. Entries expose `reference`.
template <typename Entry, typename Build>
std::shared_ptr<Entry> buildPreferringOptimized(Build build) {
  std::shared_ptr<Entry> first;
  try {
    first = build(false);
    if (!first->reference)
      return first;
  } catch (const dnnl::error &err) {
    if (!isUnsupported(err))
      throw;
  }
  try {
    std::shared_ptr<Entry> second = build(true);
    if (!first || !second->reference)
      return second;
  } catch (const dnnl::error &err) {
    if (!first || !isUnsupported(err))
      throw;
  }
  return first;
}

/// maxAbs (Internal.h) of a constant operand (LATHE_MM_CONST_B), scanned
/// once per address and shape in the current session, like PackedWeights;
/// lathe_rt_clear_caches forgets the results.
float constantMaxAbs(const MemRefView &view);
/// `scan()` of a constant operand, computed once per session for `key` (the
/// operand's address and shape, tagged with what is scanned: keys must not
/// collide with constantMaxAbs's, which start with the address).
float constantScan(const std::vector<int64_t> &key,
                   const std::function<float()> &scan);
/// maxAbs of `view`: constantMaxAbs when `isConstant`, else a fresh scan.
float operandMaxAbs(const MemRefView &view, bool isConstant);

/// oneDNN's eltwise post-op for `act`, appended to `ops`. Its ReLU
/// (eltwise_relu with alpha 0) is max(x, 0) with vmaxps, which turns NaN into
/// 0; with `keepNaN` ReLU is appended instead as ELU with alpha 0 (x if
/// x > 0, else 0 * (exp(x) - 1): NaN stays NaN) plus 1*x + 0 (turns ELU's
/// -0 for negative x into +0). The second form costs an exp per element, so
/// it is used only when an input holds NaN or Inf. Returns the number of
/// post-ops appended.
int appendActivation(dnnl::post_ops &ops, int act, bool keepNaN,
                     const char *kernel);

} // namespace lathe::rt

#endif // LATHE_RUNTIME_LIB_DNNL_H
