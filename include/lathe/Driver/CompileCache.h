//===- CompileCache.h - Compiled modules cached by content hash -*- C++ -*-===//
//
// lathe-run compiles a module once: the object and constant data of a
// CompiledModule are kept in a cache folder under a key that hashes
// everything the compiled code depends on (the input's bytes, the options
// that change code generation, the target CPU and its features, and the
// identity of the Lathe binary). A later run with the same key loads them
// instead of compiling. Entries are written atomically (a folder renamed into
// place), so concurrent runs never see half an entry; a damaged entry is
// recompiled; the least recently used entries are removed when the folder
// outgrows its limit.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_DRIVER_COMPILECACHE_H
#define LATHE_DRIVER_COMPILECACHE_H

#include "lathe/Driver/Executable.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>

namespace mlir {
namespace lathe {

class CompileCache {
public:
  /// The default folder: $LATHE_CACHE_DIR, else $XDG_CACHE_HOME/lathe, else
  /// $HOME/.cache/lathe; empty (no cache) when none of them is set.
  static std::string defaultDir();
  /// The default size limit: $LATHE_CACHE_MAX_MB megabytes, else 2048.
  static uint64_t defaultMaxBytes();

  /// A cache in `dir` (created on first store); an empty `dir` disables it.
  CompileCache(std::string dir, uint64_t maxBytes)
      : dir(std::move(dir)), maxBytes(maxBytes) {}

  bool enabled() const { return !dir.empty(); }
  const std::string &getDir() const { return dir; }

  /// A key for `parts` (hashed in order, each with its length).
  static std::string makeKey(llvm::ArrayRef<llvm::StringRef> parts);
  /// The identity of the running Lathe binary (path, size, modification time).
  static std::string binaryIdentity();

  /// Fills `compiled` from the entry for `key`. False on a miss; a damaged
  /// entry is a miss too, with `warning` saying what was wrong.
  bool lookup(llvm::StringRef key, CompiledModule &compiled,
              std::string &warning);
  /// Stores `compiled` under `key`; false with `warning` when it cannot (the
  /// run goes on without caching).
  bool store(llvm::StringRef key, const CompiledModule &compiled,
             std::string &warning);

private:
  void prune();
  std::string dir;
  uint64_t maxBytes;
};

} // namespace lathe
} // namespace mlir

#endif // LATHE_DRIVER_COMPILECACHE_H
