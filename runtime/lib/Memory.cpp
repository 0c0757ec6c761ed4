//===- Memory.cpp - Counting allocator for generated code and scratch -----===//
//
// Every allocation of generated code (finalize-memref-to-llvm with
// use-generic-functions) and of the runtime's scratch goes through here, so
// the high-water mark covers everything. Each block is counted in the session
// current when it was allocated (its MemoryCounters), whichever thread frees
// it and whether or not that session still exists. Live allocations are kept in
// a sharded hash map: freeing needs the size for the accounting, and
// lathe_rt_mem_owns / freeing unknown pointers must not touch memory the
// runtime did not hand out (a size header in front of the block could not
// tell a foreign pointer apart safely).
//
//===----------------------------------------------------------------------===//

#include "Session.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#ifdef __GLIBC__
#include <malloc.h>
#endif

using namespace lathe::rt;

namespace {

constexpr size_t kMinAlignment = 64;
constexpr size_t kNumShards = 64;

/// A live block: its requested size, the counters it was added to and the
/// malloc-ed pointer it was aligned from.
struct Block {
  size_t size = 0;
  std::shared_ptr<MemoryCounters> counters;
  void *base = nullptr;
};

struct alignas(64) Shard {
  std::mutex mutex;
  std::unordered_map<uintptr_t, Block> blocks;
};

/// The registry of live blocks (process-wide: any thread may free any
/// block). Leaked on purpose: generated code or other static destructors may
/// free memory after this TU's statics would have died.
struct Registry {
  Shard shards[kNumShards];

  Shard &shardFor(uintptr_t p) {
    // Blocks are >= 64-byte aligned; mix the higher bits.
    uint64_t h = static_cast<uint64_t>(p >> 6) * 0x9E3779B97F4A7C15ull;
    return shards[h >> 58];
  }
};

Registry &registry() {
  static Registry *r = new Registry();
  return *r;
}

/// Generated code allocates the same activation buffers on every call.
/// glibc gives freed memory at the top of a heap back to the OS once more
/// than M_TRIM_THRESHOLD of it is free (by default twice the largest freed
/// mmap-ed block, a few MiB) and serves blocks above M_MMAP_THRESHOLD with
/// fresh mappings; either way the next call touches new pages, one page fault
/// per 4 KiB (the encoder layer of bench/realmodels at batch 8: ~3,400 faults
/// per call, about a tenth of its time). Like onnxruntime's arena, the memory
/// is kept instead: blocks up to glibc's 32 MiB limit come from the heaps, and
/// freed heap memory stays mapped for the next call.
bool keepFreedMemory() {
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  return true;
}

/// Allocates `size` bytes aligned to `alignment` (a power of two >= 64) and
/// registers them. Returns null on failure without throwing.
void *allocate(size_t alignment, size_t size) noexcept {
  static const bool kept = keepFreedMemory();
  (void)kept;
  // Over-allocated by malloc and aligned here: glibc's aligned_alloc does
  // not reuse the large blocks freed by the previous call for the same
  // request (it carves the alignment out of them and then needs more than
  // they hold), so every call got fresh pages. A zero-byte request still
  // gets a unique, freeable pointer.
  size_t padded = std::max<size_t>(size, 1) + alignment;
  if (padded < size)
    return nullptr;
  void *base = std::malloc(padded);
  if (!base)
    return nullptr;
  void *p = reinterpret_cast<void *>(
      (reinterpret_cast<uintptr_t>(base) + alignment - 1) & ~(alignment - 1));
  Registry &r = registry();
  auto key = reinterpret_cast<uintptr_t>(p);
  Shard &shard = r.shardFor(key);
  std::shared_ptr<MemoryCounters> counters = currentSession().memory;
  try {
    std::lock_guard<std::mutex> lock(shard.mutex);
    shard.blocks.emplace(key, Block{size, counters, base});
  } catch (...) {
    std::free(base);
    return nullptr;
  }
  counters->add(static_cast<int64_t>(size));
  recordMemorySample(counters->current.load(std::memory_order_relaxed));
  return p;
}

void deallocate(void *ptr) noexcept {
  if (!ptr)
    return;
  Registry &r = registry();
  auto key = reinterpret_cast<uintptr_t>(ptr);
  Shard &shard = r.shardFor(key);
  Block block;
  {
    std::lock_guard<std::mutex> lock(shard.mutex);
    auto it = shard.blocks.find(key);
    if (it == shard.blocks.end())
      return; // Not ours: leave it alone.
    block = std::move(it->second);
    shard.blocks.erase(it);
  }
  std::free(block.base);
  block.counters->sub(static_cast<int64_t>(block.size));
  recordMemorySample(block.counters->current.load(std::memory_order_relaxed));
}

size_t normalizeAlignment(size_t alignment) {
  if (alignment <= kMinAlignment)
    return kMinAlignment;
  // Round a non-power-of-two request up instead of failing.
  size_t a = kMinAlignment;
  while (a < alignment && a < (size_t(1) << 62))
    a <<= 1;
  return a;
}

void *allocateOrRecord(size_t alignment, size_t size) {
  void *p = allocate(alignment, size);
  if (!p)
    setPendingError(concat("allocator: out of memory allocating ", size,
                           " bytes (", lathe_rt_mem_current(), " bytes live)"));
  return p;
}

} // namespace

ScratchBuffer::ScratchBuffer(size_t bytes)
    : ptr(allocate(kMinAlignment, bytes)) {
  if (!ptr)
    throw std::bad_alloc();
}

ScratchBuffer::~ScratchBuffer() { deallocate(ptr); }

ScratchBuffer &ScratchBuffer::operator=(ScratchBuffer &&other) noexcept {
  if (this != &other) {
    deallocate(ptr);
    ptr = std::exchange(other.ptr, nullptr);
  }
  return *this;
}

extern "C" void *_mlir_memref_to_llvm_alloc(size_t size) {
  return allocateOrRecord(kMinAlignment, size);
}

extern "C" void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment,
                                                    size_t size) {
  return allocateOrRecord(normalizeAlignment(alignment), size);
}

extern "C" void _mlir_memref_to_llvm_free(void *ptr) { deallocate(ptr); }

extern "C" void *lathe_rt_alloc(size_t size) {
  return allocateOrRecord(kMinAlignment, size);
}

extern "C" void lathe_rt_free(void *ptr) { deallocate(ptr); }

extern "C" int64_t lathe_rt_mem_current(void) {
  return currentSession().memory->current.load(std::memory_order_relaxed);
}

extern "C" int64_t lathe_rt_mem_peak(void) {
  return currentSession().memory->peak.load(std::memory_order_relaxed);
}

extern "C" void lathe_rt_mem_reset_peak(void) {
  MemoryCounters &m = *currentSession().memory;
  m.peak.store(m.current.load(std::memory_order_relaxed),
               std::memory_order_relaxed);
}

extern "C" int lathe_rt_mem_owns(const void *ptr) {
  if (!ptr)
    return 0;
  Registry &r = registry();
  auto key = reinterpret_cast<uintptr_t>(ptr);
  Shard &shard = r.shardFor(key);
  std::lock_guard<std::mutex> lock(shard.mutex);
  return shard.blocks.count(key) ? 1 : 0;
}

void *lathe::rt::threadScratchSlot(std::pair<ScratchBuffer, size_t> *slots,
                                   size_t size, uint64_t &slotsSession,
                                   size_t slot, size_t bytes) {
  uint64_t session = currentSession().id;
  if (slotsSession != session) {
    for (size_t i = 0; i < size; ++i)
      slots[i] = {ScratchBuffer(), 0};
    slotsSession = session;
  }
  auto &[buffer, held] = slots[slot];
  if (held < bytes || !buffer.get()) {
    buffer = ScratchBuffer(bytes);
    held = bytes;
  }
  return buffer.get();
}
