//===- TempFile.h - A fuzz input as a file path ---------------------------===//
//
// The readers under test open files by path, as the tools do, so each input
// is written to one temporary file per process (under $TMPDIR, else /tmp;
// scripts/fuzz.sh points TMPDIR at a folder it empties). Not a memfd: HDF5
// resolves /proc/self/fd/N with realpath() and fails.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_FUZZ_TEMPFILE_H
#define LATHE_FUZZ_TEMPFILE_H

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace lathe::fuzz {

class TempFile {
public:
  /// `suffix` is the extension, e.g. ".h5".
  explicit TempFile(const char *suffix) {
    const char *dir = std::getenv("TMPDIR");
    path =
        std::string(dir && *dir ? dir : "/tmp") + "/lathe-fuzz-XXXXXX" + suffix;
    fd = mkstemps(&path[0], static_cast<int>(std::string(suffix).size()));
    if (fd < 0) {
      std::perror("mkstemps");
      std::abort();
    }
  }
  ~TempFile() {
    close(fd);
    unlink(path.c_str());
  }

  /// Replaces the file's contents with `data`; returns the path to open.
  const std::string &set(const uint8_t *data, size_t size) {
    if (ftruncate(fd, 0) != 0 ||
        (size && pwrite(fd, data, size, 0) != static_cast<ssize_t>(size))) {
      std::perror("writing the fuzz input");
      std::abort();
    }
    return path;
  }

private:
  int fd;
  std::string path;
};

} // namespace lathe::fuzz

#endif // LATHE_FUZZ_TEMPFILE_H
