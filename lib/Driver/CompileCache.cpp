//===- CompileCache.cpp - Compiled modules cached by content hash ---------===//

#include "lathe/Driver/CompileCache.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <sys/time.h>
#include <unistd.h>
#include <vector>

using namespace mlir;
using namespace mlir::lathe;

namespace {

/// The first line of an entry's manifest: bump when the layout changes.
constexpr llvm::StringLiteral kManifestVersion = "lathe-compile-cache 1";

std::string hex128(llvm::XXH128_hash_t hash) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format_hex_no_prefix(hash.high64, 16)
     << llvm::format_hex_no_prefix(hash.low64, 16);
  return s;
}

bool writeFile(llvm::StringRef path, llvm::StringRef bytes,
               std::string &warning) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (!ec) {
    os << bytes;
    os.close();
    ec = os.error();
  }
  if (ec) {
    warning = "cannot write '" + path.str() + "': " + ec.message();
    return false;
  }
  return true;
}

uint64_t folderBytes(llvm::StringRef path) {
  uint64_t total = 0;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(path, ec), end; it != end && !ec;
       it.increment(ec)) {
    uint64_t size = 0;
    if (!llvm::sys::fs::file_size(it->path(), size))
      total += size;
  }
  return total;
}

} // namespace

std::string CompileCache::defaultDir() {
  if (const char *dir = std::getenv("LATHE_CACHE_DIR"))
    return dir;
  llvm::SmallString<256> path;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    path = xdg;
  } else if (const char *home = std::getenv("HOME"); home && *home) {
    path = home;
    llvm::sys::path::append(path, ".cache");
  } else {
    return "";
  }
  llvm::sys::path::append(path, "lathe");
  return path.str().str();
}

uint64_t CompileCache::defaultMaxBytes() {
  uint64_t mb = 2048;
  if (const char *text = std::getenv("LATHE_CACHE_MAX_MB")) {
    char *end = nullptr;
    unsigned long long value = std::strtoull(text, &end, 10);
    if (end && *end == '\0' && end != text)
      mb = value;
  }
  return mb << 20;
}

std::string CompileCache::makeKey(llvm::ArrayRef<llvm::StringRef> parts) {
  std::vector<uint8_t> digest;
  for (llvm::StringRef part : parts) {
    llvm::XXH128_hash_t h = llvm::xxh3_128bits(llvm::ArrayRef<uint8_t>(
        reinterpret_cast<const uint8_t *>(part.data()), part.size()));
    for (uint64_t word :
         {static_cast<uint64_t>(part.size()), h.low64, h.high64})
      for (int b = 0; b < 8; ++b)
        digest.push_back(static_cast<uint8_t>(word >> (8 * b)));
  }
  return hex128(llvm::xxh3_128bits(digest));
}

std::string CompileCache::binaryIdentity() {
  std::string self = llvm::sys::fs::getMainExecutable(
      nullptr, reinterpret_cast<void *>(&CompileCache::binaryIdentity));
  llvm::sys::fs::file_status status;
  if (self.empty() || llvm::sys::fs::status(self, status))
    return "unknown-binary";
  auto mtime = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   status.getLastModificationTime().time_since_epoch())
                   .count();
  return self + " " + std::to_string(status.getSize()) + " " +
         std::to_string(mtime);
}

bool CompileCache::lookup(llvm::StringRef key, CompiledModule &compiled,
                          std::string &warning) {
  if (!enabled())
    return false;
  llvm::SmallString<256> entry(dir);
  llvm::sys::path::append(entry, key);
  if (!llvm::sys::fs::is_directory(entry))
    return false;
  auto damaged = [&](const std::string &why) {
    warning = "ignoring the damaged cache entry '" + entry.str().str() + "' (" +
              why + "); compiling again";
    llvm::sys::fs::remove_directories(entry);
    return false;
  };
  llvm::SmallString<256> manifestPath(entry), objectPath(entry),
      dataPath(entry);
  llvm::sys::path::append(manifestPath, "manifest");
  llvm::sys::path::append(objectPath, "module.o");
  llvm::sys::path::append(dataPath, "constants.bin");
  auto manifest = llvm::MemoryBuffer::getFile(manifestPath);
  if (!manifest)
    return damaged("no manifest");
  llvm::SmallVector<llvm::StringRef> lines;
  (*manifest)->getBuffer().split(lines, '\n', -1, /*KeepEmpty=*/false);
  uint64_t dataBytes = 0;
  if (lines.size() < 2 || lines[0] != kManifestVersion ||
      !lines[1].consume_front("data ") || lines[1].getAsInteger(10, dataBytes))
    return damaged("unknown manifest format");
  std::vector<ConstantSlice> constants;
  for (llvm::StringRef line : llvm::ArrayRef(lines).drop_front(2)) {
    llvm::SmallVector<llvm::StringRef> fields;
    line.split(fields, ' ');
    ConstantSlice slice;
    if (fields.size() != 3 || fields[1].getAsInteger(10, slice.offset) ||
        fields[2].getAsInteger(10, slice.size) ||
        slice.offset + slice.size < slice.offset ||
        slice.offset + slice.size > dataBytes)
      return damaged("bad constant line '" + line.str() + "'");
    slice.symbol = fields[0].str();
    constants.push_back(std::move(slice));
  }
  auto object = llvm::MemoryBuffer::getFile(objectPath, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!object)
    return damaged("no object file");
  std::string error;
  ConstantData data;
  if (!data.mapFile(dataPath.str().str(), dataBytes, error))
    return damaged(error);
  compiled.object = std::move(*object);
  compiled.constants = std::move(constants);
  compiled.data = std::move(data);
  // Most recently used: pruning removes the oldest entries first.
  ::utimes(entry.c_str(), nullptr);
  return true;
}

bool CompileCache::store(llvm::StringRef key, const CompiledModule &compiled,
                         std::string &warning) {
  if (!enabled() || !compiled.object)
    return false;
  if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
    warning = "cannot create the cache folder '" + dir + "': " + ec.message();
    return false;
  }
  llvm::SmallString<256> entry(dir);
  llvm::sys::path::append(entry, key);
  if (llvm::sys::fs::is_directory(entry))
    return true;
  // Written under a private name, then renamed into place: readers never see
  // a partial entry.
  llvm::SmallString<256> temp(dir);
  llvm::sys::path::append(temp, "tmp-" + key.str() + "-" +
                                    std::to_string(::getpid()));
  llvm::sys::fs::remove_directories(temp);
  if (std::error_code ec = llvm::sys::fs::create_directory(temp)) {
    warning = "cannot create '" + temp.str().str() + "': " + ec.message();
    return false;
  }
  std::string manifest;
  llvm::raw_string_ostream os(manifest);
  os << kManifestVersion << "\ndata " << compiled.data.size() << "\n";
  for (const ConstantSlice &slice : compiled.constants)
    os << slice.symbol << " " << slice.offset << " " << slice.size << "\n";
  auto path = [&](llvm::StringRef name) {
    llvm::SmallString<256> p(temp);
    llvm::sys::path::append(p, name);
    return p;
  };
  bool ok =
      writeFile(path("module.o"), compiled.object->getBuffer(), warning) &&
      writeFile(path("constants.bin"),
                llvm::StringRef(compiled.data.data(), compiled.data.size()),
                warning) &&
      writeFile(path("manifest"), manifest, warning);
  if (ok) {
    if (std::error_code ec = llvm::sys::fs::rename(temp, entry)) {
      // Another run stored the same entry first: theirs is as good.
      if (!llvm::sys::fs::is_directory(entry)) {
        warning = "cannot store '" + entry.str().str() + "': " + ec.message();
        ok = false;
      }
    }
  }
  llvm::sys::fs::remove_directories(temp);
  if (ok)
    prune();
  return ok;
}

void CompileCache::prune() {
  struct Entry {
    std::string path;
    llvm::sys::TimePoint<> used;
    uint64_t bytes;
  };
  std::vector<Entry> entries;
  uint64_t total = 0;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec)) {
    llvm::StringRef name = llvm::sys::path::filename(it->path());
    llvm::sys::fs::file_status status;
    if (name.starts_with("tmp-") || it->status().getError() ||
        llvm::sys::fs::status(it->path(), status) ||
        status.type() != llvm::sys::fs::file_type::directory_file)
      continue;
    uint64_t bytes = folderBytes(it->path());
    entries.push_back({it->path(), status.getLastModificationTime(), bytes});
    total += bytes;
  }
  if (total <= maxBytes)
    return;
  std::sort(entries.begin(), entries.end(),
            [](const Entry &a, const Entry &b) { return a.used < b.used; });
  for (const Entry &e : entries) {
    if (total <= maxBytes)
      break;
    llvm::sys::fs::remove_directories(e.path);
    total -= e.bytes;
  }
}
