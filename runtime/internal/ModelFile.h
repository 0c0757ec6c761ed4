//===- ModelFile.h - The .lathe container for both loaders ------*- C++ -*-===//
//
// Header-only, C++ only (not part of the C ABI, so not in the installed
// include folder: runtime/internal is a private include directory of the two
// runtime libraries, runtime/CMakeLists.txt): the parts of loading a .lathe
// file (ModelFormat.h) that do not depend on the backend, that is the header
// and section table, the sections' checksums, the META text, the CODE
// section handed to the dynamic loader, the code's constant table and
// entry, and the entry's packed arguments. The CPU runtime (Model.cpp) and the
// CUDA runtime (CudaModel.cpp) both load with it; header-only so that the CUDA
// runtime does not link the CPU runtime.
//
// The checking functions take `fail`, a callable `void(ErrorKind, const
// std::string &)` that must not return (it throws): the loader turns the
// kind into its own status.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_MODELFILE_H
#define LATHE_RUNTIME_MODELFILE_H

#include "lathe/runtime/ModelFormat.h"

#include "SplitFields.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lathe::model_file {

/// What went wrong: the system refused (Io), or the file is not sound.
enum class ErrorKind { Io, Format };

/// Moves `size` bytes with `io(done, left)`, a read or write of the `left`
/// bytes after the first `done` that returns how many it moved (a short count
/// goes on, EINTR retries); false when it fails (errno says why) or moves
/// nothing.
template <typename Io> bool transferAll(size_t size, Io &&io) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = io(done, size - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

/// Reads exactly `size` bytes at `offset`.
inline bool readAt(int fd, void *buf, size_t size, uint64_t offset) {
  char *p = static_cast<char *>(buf);
  return transferAll(size, [&](size_t done, size_t left) {
    return ::pread(fd, p + done, left, static_cast<off_t>(offset + done));
  });
}

inline bool writeAll(int fd, const char *p, size_t size) {
  return transferAll(size, [&](size_t done, size_t left) {
    return ::write(fd, p + done, left);
  });
}

/// What a loader tells the user of a file it cannot read.
struct Advice {
  /// The command that writes the files this loader reads.
  const char *writer;
  /// Appended to the message of a format version this loader does not read.
  const char *onVersion;
};

/// The three sections a .lathe file has, checked to lie inside the file.
struct Container {
  lathe_model_section meta = {}, code = {}, data = {};
};

/// Checks the header and section table of the open file `fd`.
template <typename Fail>
Container readContainer(int fd, const std::string &path, const Advice &advice,
                        Fail &&fail) {
  struct stat info;
  if (::fstat(fd, &info) != 0)
    fail(ErrorKind::Io, "cannot stat '" + path + "': " + std::strerror(errno));
  if (!S_ISREG(info.st_mode))
    fail(ErrorKind::Io, "'" + path + "' is not a regular file");
  uint64_t fileSize = static_cast<uint64_t>(info.st_size);

  lathe_model_file_header header;
  if (fileSize < sizeof(header) || !readAt(fd, &header, sizeof(header), 0) ||
      std::memcmp(header.magic, LATHE_MODEL_MAGIC, 8) != 0)
    fail(ErrorKind::Format,
         "'" + path +
             "' is not a .lathe file (no LATHEMOD header; write one with " +
             advice.writer + ")");
  if (header.format_version != LATHE_MODEL_FORMAT_VERSION)
    fail(ErrorKind::Format, "'" + path + "' has format version " +
                                std::to_string(header.format_version) +
                                "; this runtime reads version " +
                                std::to_string(LATHE_MODEL_FORMAT_VERSION) +
                                advice.onVersion);
  if (header.file_size != fileSize)
    fail(ErrorKind::Format,
         "'" + path + "' is " + std::to_string(fileSize) +
             " bytes but its header says " + std::to_string(header.file_size) +
             (header.file_size > fileSize ? " (truncated)" : " (damaged)"));
  if (header.num_sections == 0 ||
      header.num_sections > LATHE_MODEL_MAX_SECTIONS)
    fail(ErrorKind::Format,
         "'" + path + "' is damaged: " + std::to_string(header.num_sections) +
             " sections");
  std::vector<lathe_model_section> sections(header.num_sections);
  uint64_t tableEnd =
      sizeof(header) + sections.size() * sizeof(lathe_model_section);
  if (tableEnd > fileSize ||
      !readAt(fd, sections.data(),
              sections.size() * sizeof(lathe_model_section), sizeof(header)))
    fail(ErrorKind::Format, "'" + path + "' is truncated (section table)");
  Container container;
  bool seenMeta = false, seenCode = false, seenData = false;
  for (const lathe_model_section &s : sections) {
    std::string kind(s.kind, strnlen(s.kind, sizeof(s.kind)));
    if (s.offset < tableEnd || s.offset > fileSize ||
        s.size > fileSize - s.offset ||
        s.offset % LATHE_MODEL_SECTION_ALIGN != 0)
      fail(ErrorKind::Format, "'" + path + "' is damaged: section " + kind +
                                  " lies outside the file");
    bool *seen = kind == "META"   ? &seenMeta
                 : kind == "CODE" ? &seenCode
                 : kind == "DATA" ? &seenData
                                  : nullptr;
    if (!seen)
      continue;
    if (*seen)
      fail(ErrorKind::Format,
           "'" + path + "' is damaged: two " + kind + " sections");
    *seen = true;
    (kind == "META"   ? container.meta
     : kind == "CODE" ? container.code
                      : container.data) = s;
  }
  if (!seenMeta || !seenCode || !seenData)
    fail(ErrorKind::Format, "'" + path + "' is damaged: missing the " +
                                (!seenMeta   ? "META"
                                 : !seenCode ? "CODE"
                                             : "DATA") +
                                " section");
  return container;
}

/// The bytes of section `s` (named `kind`), checked against its checksum.
template <typename Fail>
std::vector<char> readSection(int fd, const std::string &path,
                              const lathe_model_section &s, const char *kind,
                              Fail &&fail) {
  std::vector<char> bytes(s.size);
  if (!readAt(fd, bytes.data(), bytes.size(), s.offset))
    fail(ErrorKind::Io, "cannot read '" + path + "': " + std::strerror(errno));
  if (s.checksum != 0 &&
      lathe_model_checksum(bytes.data(), bytes.size()) != s.checksum)
    fail(ErrorKind::Format, "'" + path + "' is corrupt: the checksum of its " +
                                kind + " section does not match");
  return bytes;
}

/// An `input` or `output` line of META.
struct TensorDecl {
  std::string name;
  std::string dtype; ///< a name lathe_dtype_name gives
  int32_t rank = 0;
  std::vector<int64_t> dims; ///< -1 where the size is chosen at run time
};

/// A `constant` line of META: a constant's bytes in the DATA section.
struct ConstantDecl {
  uint64_t offset = 0;
  uint64_t size = 0;
  std::string symbol;
};

struct Metadata {
  std::map<std::string, std::string> values; ///< the other lines, first wins
  std::vector<TensorDecl> inputs, outputs;
  std::vector<ConstantDecl> constants;
};

/// Parses the META text; `knownDtype` says whether a dtype name is one the
/// loader reads, and every key of `required` must be there.
template <typename Fail>
Metadata
parseMetadata(const std::string &text, const std::string &path, int32_t maxRank,
              const std::function<bool(const std::string &)> &knownDtype,
              std::initializer_list<const char *> required, Fail &&fail) {
  auto bad = [&](const std::string &line, const char *why) {
    fail(ErrorKind::Format,
         "'" + path + "': bad metadata line '" + line + "' (" + why + ")");
  };
  Metadata metadata;
  bool first = true;
  for (const std::string &line : splitFields(text, '\n')) {
    size_t space = line.find(' ');
    std::string key = line.substr(0, space);
    std::string value =
        space == std::string::npos ? "" : line.substr(space + 1);
    if (first) {
      if (key != "lathe-model")
        bad(line, "expected 'lathe-model 1' first");
      first = false;
      continue;
    }
    if (key == "input" || key == "output") {
      TensorDecl decl;
      char *cursor = &value[0];
      char *tokEnd = std::strchr(cursor, ' ');
      if (!tokEnd)
        bad(line, "expected DTYPE RANK DIMS... NAME");
      decl.dtype.assign(cursor, tokEnd);
      if (!knownDtype(decl.dtype))
        bad(line, "unknown dtype");
      cursor = tokEnd + 1;
      char *num = nullptr;
      long rank = std::strtol(cursor, &num, 10);
      if (num == cursor || rank < 0 || rank > maxRank)
        bad(line, "bad rank");
      decl.rank = static_cast<int32_t>(rank);
      cursor = num;
      for (int32_t d = 0; d < decl.rank; ++d) {
        long long dim = std::strtoll(cursor, &num, 10);
        if (num == cursor || dim < -1)
          bad(line, "bad dimension");
        decl.dims.push_back(dim);
        cursor = num;
      }
      if (*cursor == ' ')
        ++cursor;
      decl.name = cursor;
      std::vector<TensorDecl> &list =
          key == "input" ? metadata.inputs : metadata.outputs;
      if (decl.name.empty())
        decl.name = key + std::to_string(list.size());
      list.push_back(std::move(decl));
    } else if (key == "constant") {
      ConstantDecl c;
      char symbol[512] = {};
      unsigned long long offset = 0, size = 0;
      if (std::sscanf(value.c_str(), "%llu %llu %511s", &offset, &size,
                      symbol) != 3)
        bad(line, "expected OFFSET SIZE SYMBOL");
      c.offset = offset;
      c.size = size;
      c.symbol = symbol;
      metadata.constants.push_back(std::move(c));
    } else if (!metadata.values.count(key)) {
      metadata.values[key] = value;
    }
  }
  if (first)
    fail(ErrorKind::Format, "'" + path + "': empty metadata");
  for (const char *key : required)
    if (!metadata.values.count(key))
      fail(ErrorKind::Format,
           "'" + path + "': the metadata has no '" + key + "'");
  return metadata;
}

/// Checks that every constant (a ConstantDecl, or a loader's record with its
/// offset, size and symbol) lies inside the DATA section.
template <typename Constants, typename Fail>
void checkConstants(const Constants &constants, const lathe_model_section &data,
                    const std::string &path, Fail &&fail) {
  for (const auto &c : constants)
    if (c.offset > data.size || c.size > data.size - c.offset)
      fail(ErrorKind::Format, "'" + path + "' is damaged: constant " +
                                  c.symbol + " lies outside the DATA section");
}

/// Reads the CODE section and checks that it is an ELF library.
template <typename Fail>
std::vector<char> readCode(int fd, const std::string &path,
                           const lathe_model_section &code, Fail &&fail) {
  std::vector<char> bytes = readSection(fd, path, code, "CODE", fail);
  if (bytes.size() < 4 || std::memcmp(bytes.data(),
                                      "\x7f"
                                      "ELF",
                                      4) != 0)
    fail(ErrorKind::Format,
         "'" + path + "' is damaged: its CODE section is not an ELF library");
  return bytes;
}

/// Hands the library's bytes to the dynamic loader: through a memfd named
/// `name`, or a temporary file where memfds are unavailable. `codeFd` is the
/// memfd the library stays loaded from (the owner closes it after dlclose),
/// or -1.
template <typename Fail>
void *loadLibrary(const std::vector<char> &code, const std::string &path,
                  const char *name, int &codeFd, Fail &&fail) {
  int fd = ::memfd_create(name, MFD_CLOEXEC);
  std::string libraryPath;
  std::string tempPath;
  if (fd >= 0) {
    libraryPath = "/proc/self/fd/" + std::to_string(fd);
    // A name already loaded (a model freed while its library stays loaded)
    // would make dlopen hand back that library: use a unique file then.
    if (void *stale = ::dlopen(libraryPath.c_str(), RTLD_NOW | RTLD_NOLOAD)) {
      ::dlclose(stale);
      ::close(fd);
      fd = -1;
    }
  }
  if (fd < 0) {
    const char *dir = std::getenv("TMPDIR");
    tempPath = std::string(dir && *dir ? dir : "/tmp") + "/" + name + "-XXXXXX";
    fd = ::mkstemp(&tempPath[0]);
    if (fd < 0)
      fail(ErrorKind::Io, "cannot create a temporary file for the code of '" +
                              path + "': " + std::strerror(errno));
    libraryPath = tempPath;
  }
  codeFd = fd;
  if (!writeAll(fd, code.data(), code.size())) {
    std::string why = std::strerror(errno);
    if (!tempPath.empty())
      ::unlink(tempPath.c_str());
    fail(ErrorKind::Io, "cannot write the code of '" + path + "': " + why);
  }
  ::dlerror();
  void *library = ::dlopen(libraryPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!tempPath.empty()) {
    ::unlink(tempPath.c_str());
    ::close(fd);
    codeFd = -1;
  }
  if (!library) {
    const char *why = ::dlerror();
    fail(ErrorKind::Format, "cannot load the code of '" + path +
                                "': " + (why ? why : "unknown dlopen error"));
  }
  return library;
}

/// The code's table of `count` constant pointers (nullptr when none).
template <typename Fail>
void **constantTable(void *library, size_t count, const std::string &path,
                     Fail &&fail) {
  if (count == 0)
    return nullptr;
  auto *table =
      static_cast<void **>(::dlsym(library, LATHE_MODEL_CONSTANT_TABLE));
  auto *size = static_cast<const int64_t *>(
      ::dlsym(library, LATHE_MODEL_CONSTANT_TABLE "_size"));
  if (!table || !size || *size != static_cast<int64_t>(count))
    fail(ErrorKind::Format, "'" + path +
                                "' is damaged: its code has no table for its " +
                                std::to_string(count) + " constants");
  return table;
}

/// The code's entry `symbol`.
template <typename Fail>
void (*findEntry(void *library, const std::string &symbol,
                 const std::string &path, Fail &&fail))(void **) {
  auto entry =
      reinterpret_cast<void (*)(void **)>(::dlsym(library, symbol.c_str()));
  if (!entry)
    fail(ErrorKind::Format,
         "'" + path + "' is damaged: its code has no entry " + symbol);
  return entry;
}

/// The descriptor words of the entry's packed arguments for `count` dense
/// row-major inputs (any tensor struct with data, rank and shape):
/// {allocated, aligned, offset, sizes[rank], strides[rank]} each.
template <typename Tensor>
std::vector<int64_t> inputDescriptorWords(const Tensor *inputs, size_t count) {
  std::vector<int64_t> words;
  for (size_t i = 0; i < count; ++i) {
    const Tensor &t = inputs[i];
    int64_t ptr = reinterpret_cast<int64_t>(t.data);
    words.insert(words.end(), {ptr, ptr, 0});
    size_t sizesAt = words.size();
    words.resize(sizesAt + 2 * t.rank);
    int64_t stride = 1;
    for (int32_t r = t.rank - 1; r >= 0; --r) {
      words[sizesAt + r] = t.shape[r];
      words[sizesAt + t.rank + r] = stride;
      stride *= t.shape[r];
    }
  }
  return words;
}

} // namespace lathe::model_file

#endif // LATHE_RUNTIME_MODELFILE_H
