//===- Hdf5.cpp - Reading and writing HDF5 datasets -----------------------===//
//
// Debian's HDF5 is built without thread safety, so every call into it holds
// one process-wide lock. HDF5 prints its error stack to stderr by default;
// that is switched off and errors are reported through lathe statuses.
//
// Isolation: libhdf5 1.10 (Debian's) trusts the structure of the files it
// reads; a corrupt file can make it read out of bounds, fault or allocate
// without bound (test/fuzz/known/). So each read runs in a forked child
// process under a memory limit and sends the tensor back through a pipe; a
// child that dies is reported as a corrupt file, never a crash of the caller.
// LATHE_H5_IN_PROCESS=1 reads in the calling process (for debuggers and the
// fuzz target, which must see libhdf5's code).
//
// Types: native floats/ints map to the matching lathe_dtype; a 2-byte float
// is float16 or bfloat16 by its exponent width; h5py's bool (an int8 enum
// FALSE/TRUE) maps to bool. Writing uses the same encodings, so float16 and
// bool files read back in h5py as float16 and bool.
//
//===----------------------------------------------------------------------===//

#include "HostTensor.h"
#include "SplitFields.h"

#include <hdf5.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <type_traits>
#include <unistd.h>
#include <vector>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) ||     \
    __has_feature(thread_sanitizer)
#define LATHE_UNDER_SANITIZER 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LATHE_UNDER_SANITIZER 1
#endif

using namespace lathe::rt;

namespace {

std::mutex &hdf5Mutex() {
  static auto *m = new std::mutex();
  return *m;
}

/// Closes an HDF5 identifier with the matching H5?close on scope exit.
class Handle {
public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id(id), closer(closer) {}
  ~Handle() { reset(); }
  Handle(const Handle &) = delete;
  Handle &operator=(const Handle &) = delete;
  Handle(Handle &&other) noexcept
      : id(std::exchange(other.id, H5I_INVALID_HID)), closer(other.closer) {}
  Handle &operator=(Handle &&other) noexcept {
    if (this != &other) {
      reset();
      id = std::exchange(other.id, H5I_INVALID_HID);
      closer = other.closer;
    }
    return *this;
  }

  void reset() {
    if (id >= 0 && closer)
      closer(id);
    id = H5I_INVALID_HID;
  }
  hid_t get() const { return id; }
  bool valid() const { return id >= 0; }

private:
  hid_t id = H5I_INVALID_HID;
  Closer closer = nullptr;
};

void silenceHdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

/// 2-byte IEEE-style float types HDF5 1.10 has no predefined names for.
Handle makeHalfType(bool bfloat) {
  Handle t(H5Tcopy(H5T_IEEE_F32LE), H5Tclose);
  if (!t.valid())
    fail(LATHE_ERR_BACKEND, "cannot create a 16-bit float type");
  // Layout (sign position, exponent position/size, mantissa position/size).
  herr_t ok = bfloat ? H5Tset_fields(t.get(), 15, 7, 8, 0, 7)
                     : H5Tset_fields(t.get(), 15, 10, 5, 0, 10);
  if (ok < 0 || H5Tset_size(t.get(), 2) < 0 ||
      H5Tset_ebias(t.get(), bfloat ? 127 : 15) < 0)
    fail(LATHE_ERR_BACKEND, "cannot create a 16-bit float type");
  return t;
}

Handle makeBoolType() {
  Handle t(H5Tenum_create(H5T_NATIVE_INT8), H5Tclose);
  int8_t no = 0, yes = 1;
  if (!t.valid() || H5Tenum_insert(t.get(), "FALSE", &no) < 0 ||
      H5Tenum_insert(t.get(), "TRUE", &yes) < 0)
    fail(LATHE_ERR_BACKEND, "cannot create the bool enum type");
  return t;
}

/// Memory type used to write or read a dtype.
Handle memoryType(lathe_dtype dtype) {
  auto copy = [](hid_t t) { return Handle(H5Tcopy(t), H5Tclose); };
  switch (dtype) {
  case LATHE_F32:
    return copy(H5T_NATIVE_FLOAT);
  case LATHE_F64:
    return copy(H5T_NATIVE_DOUBLE);
  case LATHE_F16:
    return makeHalfType(false);
  case LATHE_BF16:
    return makeHalfType(true);
  case LATHE_I64:
    return copy(H5T_NATIVE_INT64);
  case LATHE_I32:
    return copy(H5T_NATIVE_INT32);
  case LATHE_I16:
    return copy(H5T_NATIVE_INT16);
  case LATHE_I8:
    return copy(H5T_NATIVE_INT8);
  case LATHE_U8:
    return copy(H5T_NATIVE_UINT8);
  case LATHE_BOOL:
    return makeBoolType();
  default:
    fail(LATHE_ERR_DTYPE, "invalid dtype code ", static_cast<int>(dtype));
  }
}

/// The lathe dtype closest to a file type, or throws naming the type.
lathe_dtype dtypeForFileType(hid_t type, const std::string &where) {
  H5T_class_t cls = H5Tget_class(type);
  size_t size = H5Tget_size(type);
  if (cls == H5T_FLOAT) {
    if (size == 4)
      return LATHE_F32;
    if (size == 8)
      return LATHE_F64;
    if (size == 2) {
      size_t spos, epos, esize, mpos, msize;
      if (H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize) >= 0 &&
          esize == 8)
        return LATHE_BF16;
      return LATHE_F16;
    }
    fail(LATHE_ERR_DTYPE, where, ": unsupported ", size * 8,
         "-bit floating-point type");
  }
  if (cls == H5T_INTEGER) {
    bool isSigned = H5Tget_sign(type) == H5T_SGN_2;
    if (isSigned) {
      switch (size) {
      case 1:
        return LATHE_I8;
      case 2:
        return LATHE_I16;
      case 4:
        return LATHE_I32;
      case 8:
        return LATHE_I64;
      }
    } else {
      // The next wider signed type holds every value.
      switch (size) {
      case 1:
        return LATHE_U8;
      case 2:
        return LATHE_I32;
      case 4:
        return LATHE_I64;
      }
    }
    fail(LATHE_ERR_DTYPE, where, ": unsupported ",
         isSigned ? "signed" : "unsigned", " ", size * 8,
         "-bit integer type (uint64 has no lossless lathe dtype)");
  }
  if (cls == H5T_ENUM) {
    Handle base(H5Tget_super(type), H5Tclose);
    if (base.valid() && H5Tget_size(base.get()) == 1 &&
        H5Tget_nmembers(type) == 2)
      return LATHE_BOOL;
    fail(LATHE_ERR_DTYPE, where,
         ": enum types other than h5py's bool are not supported");
  }
  static const char *const kClassNames[] = {
      "integer",  "float",     "time", "string",          "bitfield", "opaque",
      "compound", "reference", "enum", "variable-length", "array"};
  const char *name = cls >= 0 && cls < 11 ? kClassNames[cls] : "unknown";
  fail(LATHE_ERR_DTYPE, where, ": unsupported HDF5 type class '", name, "'");
}

bool fileExists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

/// True if every link on the way to `dataset` exists (H5Lexists fails,
/// rather than answering no, when an intermediate group is missing).
bool linkExists(hid_t file, const std::vector<std::string> &parts) {
  std::string prefix;
  for (const std::string &part : parts) {
    prefix += "/" + part;
    if (H5Lexists(file, prefix.c_str(), H5P_DEFAULT) <= 0)
      return false;
  }
  return true;
}

/// A file must hold the data its datasets declare: a few bytes claiming a
/// huge shape would otherwise make the reader allocate all of it (and HDF5
/// fill it with the fill value). Datasets that are never written, partly
/// written or truncated have less storage than their shape needs.
void checkStoredSize(hid_t dset, hid_t fileType, int rank, const int64_t *shape,
                     int64_t numel, const std::string &where) {
  if (numel == 0)
    return;
  Handle dcpl(H5Dget_create_plist(dset), H5Pclose);
  int filters = dcpl.valid() ? H5Pget_nfilters(dcpl.get()) : -1;
  size_t elementSize = H5Tget_size(fileType);
  if (filters < 0 || elementSize == 0)
    fail(LATHE_ERR_BACKEND, where, ": cannot query the dataset's storage");
  uint64_t declared = uint64_t(numel) * elementSize;
  uint64_t stored = H5Dget_storage_size(dset);
  // Compressed data may be smaller than its shape; deflate's best ratio is
  // 1032:1, and no filter HDF5 applies does much better on weights.
  constexpr uint64_t kMaxRatio = 1100;
  uint64_t limit = filters == 0                      ? stored
                   : stored > UINT64_MAX / kMaxRatio ? UINT64_MAX
                                                     : stored * kMaxRatio;
  if (declared <= limit)
    return;
  std::string dims = "(";
  for (int i = 0; i < rank; ++i)
    dims += (i ? ", " : "") + std::to_string(shape[i]);
  fail(LATHE_ERR_FORMAT, where, " has shape ", dims, ") of ", declared,
       " bytes, but the file stores ", stored, filters ? " compressed" : "",
       " bytes of it (never written, truncated or corrupt)");
}

/// Set in the child process of an isolated read: the memory limit grows to
/// fit the dataset once its declared size has been checked.
bool inIsolatedChild = false;

/// Bytes of address space mapped by this process.
uint64_t mappedBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0;
  statm >> pages;
  return pages * uint64_t(::sysconf(_SC_PAGESIZE));
}

/// Limits the address space the rest of this (child) process may add to
/// `extra` bytes. Not under sanitizers, which reserve terabytes of shadow.
void limitAddressSpace(uint64_t extra) {
#ifndef LATHE_UNDER_SANITIZER
  struct rlimit limit;
  if (::getrlimit(RLIMIT_AS, &limit) != 0)
    return;
  uint64_t want = mappedBytes() + extra;
  if (limit.rlim_max != RLIM_INFINITY && want > limit.rlim_max)
    want = limit.rlim_max;
  limit.rlim_cur = want;
  ::setrlimit(RLIMIT_AS, &limit);
#else
  (void)extra;
#endif
}

/// Reads a dataset; the caller holds hdf5Mutex (or is an isolated child).
void readDatasetUnlocked(const std::string &path, const std::string &dataset,
                         lathe_host_tensor &out) {
  std::string where = "'" + path + "' dataset '" + dataset + "'";
  silenceHdf5();
  if (H5Fis_hdf5(path.c_str()) <= 0)
    fail(LATHE_ERR_FORMAT, "'", path,
         "' is not an HDF5 file (reading dataset '", dataset, "')");
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.valid())
    fail(LATHE_ERR_IO, "cannot open HDF5 file '", path, "'");
  std::vector<std::string> parts = lathe::splitFields(dataset, '/');
  if (parts.empty() || !linkExists(file.get(), parts))
    fail(LATHE_ERR_IO, "no dataset '", dataset, "' in HDF5 file '", path, "'");
  Handle dset(H5Dopen2(file.get(), dataset.c_str(), H5P_DEFAULT), H5Dclose);
  if (!dset.valid())
    fail(LATHE_ERR_IO, "'", dataset, "' in HDF5 file '", path,
         "' is not a dataset");

  Handle fileType(H5Dget_type(dset.get()), H5Tclose);
  Handle space(H5Dget_space(dset.get()), H5Sclose);
  if (!fileType.valid() || !space.valid())
    fail(LATHE_ERR_BACKEND, where, ": cannot query type or shape");
  lathe_dtype dtype = dtypeForFileType(fileType.get(), where);
  H5S_class_t spaceClass = H5Sget_simple_extent_type(space.get());
  if (spaceClass == H5S_NULL)
    fail(LATHE_ERR_SHAPE, where, " has a null dataspace (no data)");
  int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0)
    fail(LATHE_ERR_BACKEND, where, ": cannot query the rank");
  if (rank > LATHE_MAX_RANK)
    fail(LATHE_ERR_SHAPE, where, " has rank ", rank, " (maximum ",
         LATHE_MAX_RANK, ")");
  hsize_t dims[LATHE_MAX_RANK] = {};
  if (rank > 0)
    H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  int64_t shape[LATHE_MAX_RANK] = {};
  for (int i = 0; i < rank; ++i)
    shape[i] = static_cast<int64_t>(dims[i]);

  int64_t numel = checkedNumel(rank, shape, lathe_dtype_size(dtype), where);
  checkStoredSize(dset.get(), fileType.get(), rank, shape, numel, where);
  if (inIsolatedChild) // Room for the tensor and libhdf5's conversion buffer.
    limitAddressSpace((uint64_t(1) << 30) +
                      2 * uint64_t(numel) * lathe_dtype_size(dtype));

  HostTensorHolder holder;
  allocHostTensor(holder.get(), dtype, rank, shape, where);
  if (lathe_host_tensor_numel(&holder.get()) > 0) {
    // Enums (bool) read as stored; a conversion from enum to integer does
    // not exist in HDF5.
    Handle memType =
        dtype == LATHE_BOOL
            ? Handle(H5Tget_native_type(fileType.get(), H5T_DIR_ASCEND),
                     H5Tclose)
            : memoryType(dtype);
    if (H5Dread(dset.get(), memType.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                holder.get().data) < 0)
      fail(LATHE_ERR_BACKEND, where, ": H5Dread failed");
  }
  out = holder.release();
}

/// Moves exactly `size` bytes through `fd` with `io` (::read or ::write),
/// retrying short transfers and EINTR; false on end of file, a closed pipe or
/// an error.
template <typename Buffer, typename IO>
bool transferAll(IO io, int fd, Buffer *data, size_t size) {
  auto *p = reinterpret_cast<
      std::conditional_t<std::is_const_v<Buffer>, const char, char> *>(data);
  while (size > 0) {
    ssize_t n = io(fd, p, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    size -= size_t(n);
  }
  return true;
}
bool writeAll(int fd, const void *data, size_t size) {
  return transferAll(::write, fd, data, size);
}
bool readAll(int fd, void *data, size_t size) {
  return transferAll(::read, fd, data, size);
}

/// The child's side of an isolated read: the status, then either the error
/// message or dtype, rank, shape and the tensor's bytes. Never returns.
[[noreturn]] void isolatedChild(int fd, const std::string &path,
                                const std::string &dataset) {
  // A fault in libhdf5 must end this process quietly: the parent reports it.
  for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL})
    ::signal(sig, SIG_DFL);
  ::signal(SIGPIPE, SIG_IGN);
  inIsolatedChild = true;
  struct stat st;
  uint64_t fileSize = ::stat(path.c_str(), &st) == 0 ? uint64_t(st.st_size) : 0;
  // Opening and walking the file's metadata needs memory in proportion to
  // the file, not gigabytes (a corrupt file can claim any size).
  limitAddressSpace((uint64_t(1) << 30) + 4 * fileSize);
  int32_t code = LATHE_OK;
  std::string message;
  HostTensorHolder holder;
  try {
    readDatasetUnlocked(path, dataset, holder.get());
  } catch (const RuntimeError &e) {
    code = e.getStatus();
    message = e.what();
  } catch (const std::bad_alloc &) {
    code = LATHE_ERR_FORMAT;
    message = "'" + path + "' dataset '" + dataset +
              "': reading it needs more memory than the file can justify "
              "(corrupt metadata?)";
  } catch (...) {
    code = LATHE_ERR_BACKEND;
    message = "'" + path + "' dataset '" + dataset + "': unknown error";
  }
  bool ok = writeAll(fd, &code, sizeof(code));
  if (code != LATHE_OK) {
    uint64_t length = message.size();
    ok = ok && writeAll(fd, &length, sizeof(length)) &&
         writeAll(fd, message.data(), message.size());
  } else {
    const lathe_host_tensor &t = holder.get();
    int32_t header[2] = {static_cast<int32_t>(t.dtype), t.rank};
    size_t bytes =
        size_t(lathe_host_tensor_numel(&t)) * lathe_dtype_size(t.dtype);
    ok = ok && writeAll(fd, header, sizeof(header)) &&
         writeAll(fd, t.shape, sizeof(int64_t) * size_t(t.rank)) &&
         writeAll(fd, t.data, bytes);
  }
  ::_exit(ok ? 0 : 1);
}

/// Waits for the child; throws if it did not exit normally.
void reapChild(pid_t pid, const std::string &where) {
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR)
      fail(LATHE_ERR_BACKEND, where, ": cannot wait for the reader process");
  }
  if (WIFSIGNALED(wstatus)) {
    int sig = WTERMSIG(wstatus);
    const char *name = ::strsignal(sig);
    fail(LATHE_ERR_FORMAT, where, ": libhdf5 crashed reading the file (signal ",
         sig, name ? std::string(": ") + name : std::string(),
         "); the file is corrupt");
  }
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0)
    fail(LATHE_ERR_FORMAT, where,
         ": the reader process failed (the file is corrupt)");
}

/// Reads a dataset in a forked child process (see the file comment).
void readDatasetIsolated(const std::string &path, const std::string &dataset,
                         lathe_host_tensor &out) {
  std::string where = "'" + path + "' dataset '" + dataset + "'";
  int fds[2];
  if (::pipe(fds) != 0)
    fail(LATHE_ERR_BACKEND, where,
         ": cannot create a pipe: ", std::strerror(errno));
  pid_t pid;
  {
    // No other thread of this process is inside libhdf5 while it forks.
    std::lock_guard<std::mutex> lock(hdf5Mutex());
    pid = ::fork();
  }
  if (pid < 0) {
    int error = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    fail(LATHE_ERR_BACKEND, where,
         ": cannot start the reader process: ", std::strerror(error));
  }
  if (pid == 0) {
    ::close(fds[0]);
    isolatedChild(fds[1], path, dataset);
  }
  ::close(fds[1]);
  struct Reader {
    int fd;
    pid_t pid;
    bool reaped = false;
    ~Reader() {
      ::close(fd);
      if (!reaped) {
        ::kill(pid, SIGKILL);
        int ignored;
        while (::waitpid(pid, &ignored, 0) < 0 && errno == EINTR) {
        }
      }
    }
  } reader{fds[0], pid};
  auto reap = [&] {
    reader.reaped = true;
    reapChild(pid, where);
  };

  int32_t code = 0;
  if (!readAll(reader.fd, &code, sizeof(code))) {
    reap();
    fail(LATHE_ERR_FORMAT, where, ": the reader process sent no result");
  }
  if (code != LATHE_OK) {
    uint64_t length = 0;
    std::string message;
    if (readAll(reader.fd, &length, sizeof(length)) && length < (1u << 20)) {
      message.resize(length);
      if (!readAll(reader.fd, message.data(), length))
        message.clear();
    }
    reap();
    fail(static_cast<lathe_status>(code),
         message.empty() ? where + ": read failed" : message);
  }
  int32_t header[2] = {0, 0};
  int64_t shape[LATHE_MAX_RANK] = {};
  bool ok = readAll(reader.fd, header, sizeof(header)) && header[1] >= 0 &&
            header[1] <= LATHE_MAX_RANK &&
            readAll(reader.fd, shape, sizeof(int64_t) * size_t(header[1]));
  if (!ok || !isValidDtype(static_cast<lathe_dtype>(header[0]))) {
    reap();
    fail(LATHE_ERR_BACKEND, where, ": malformed reply from the reader process");
  }
  HostTensorHolder holder;
  allocHostTensor(holder.get(), static_cast<lathe_dtype>(header[0]), header[1],
                  shape, where);
  size_t bytes = size_t(lathe_host_tensor_numel(&holder.get())) *
                 lathe_dtype_size(holder.get().dtype);
  bool complete = readAll(reader.fd, holder.get().data, bytes);
  reap();
  if (!complete)
    fail(LATHE_ERR_BACKEND, where, ": the reader process sent a short reply");
  out = holder.release();
}

bool isolateReads() {
  const char *env = std::getenv("LATHE_H5_IN_PROCESS");
  return !(env && env[0] == '1');
}

void readDataset(const std::string &path, const std::string &dataset,
                 lathe_host_tensor &out) {
  if (!fileExists(path))
    fail(LATHE_ERR_IO, "cannot open '", path, "' (reading dataset '", dataset,
         "'): no such file");
  if (isolateReads())
    return readDatasetIsolated(path, dataset, out);
  std::lock_guard<std::mutex> lock(hdf5Mutex());
  readDatasetUnlocked(path, dataset, out);
}

void writeDataset(const std::string &path, const std::string &dataset,
                  const lathe_host_tensor *t, bool truncate) {
  if (!t)
    fail(LATHE_ERR_INVALID, "null tensor for '", path, "' dataset '", dataset,
         "'");
  std::string where = "'" + path + "' dataset '" + dataset + "'";
  if (!isValidDtype(t->dtype))
    fail(LATHE_ERR_DTYPE, where, ": invalid dtype code ",
         static_cast<int>(t->dtype));
  int64_t numel =
      checkedNumel(t->rank, t->shape, lathe_dtype_size(t->dtype), where);
  if (numel > 0 && !t->data)
    fail(LATHE_ERR_INVALID, where, ": tensor has no data");
  std::vector<std::string> parts = lathe::splitFields(dataset, '/');
  if (parts.empty())
    fail(LATHE_ERR_INVALID, "empty dataset name for '", path, "'");

  std::lock_guard<std::mutex> lock(hdf5Mutex());
  silenceHdf5();
  Handle file;
  if (!truncate && fileExists(path)) {
    if (H5Fis_hdf5(path.c_str()) <= 0)
      fail(LATHE_ERR_FORMAT, "'", path,
           "' exists and is not an HDF5 file (pass truncate to replace it)");
    file = Handle(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
  } else {
    file =
        Handle(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
               H5Fclose);
  }
  if (!file.valid())
    fail(LATHE_ERR_IO, "cannot open '", path, "' for writing");

  // Replace an existing dataset of the same name.
  if (linkExists(file.get(), parts) &&
      H5Ldelete(file.get(), dataset.c_str(), H5P_DEFAULT) < 0)
    fail(LATHE_ERR_BACKEND, where, ": cannot replace the existing dataset");

  hsize_t dims[LATHE_MAX_RANK] = {};
  for (int32_t i = 0; i < t->rank; ++i)
    dims[i] = static_cast<hsize_t>(t->shape[i]);
  Handle space(t->rank == 0 ? H5Screate(H5S_SCALAR)
                            : H5Screate_simple(t->rank, dims, nullptr),
               H5Sclose);
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  if (!space.valid() || !lcpl.valid() ||
      H5Pset_create_intermediate_group(lcpl.get(), 1) < 0)
    fail(LATHE_ERR_BACKEND, where, ": cannot create the dataspace");
  Handle type = memoryType(t->dtype);
  // Store little-endian IEEE/two's-complement types (what h5py writes).
  Handle fileType(H5Tcopy(type.get()), H5Tclose);
  Handle dset(H5Dcreate2(file.get(), dataset.c_str(), fileType.get(),
                         space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
              H5Dclose);
  if (!dset.valid())
    fail(LATHE_ERR_BACKEND, where,
         ": cannot create the dataset (is a "
         "parent a dataset rather than a group?)");
  if (numel > 0 && H5Dwrite(dset.get(), type.get(), H5S_ALL, H5S_ALL,
                            H5P_DEFAULT, t->data) < 0)
    fail(LATHE_ERR_BACKEND, where, ": H5Dwrite failed");
  dset.reset();
  if (H5Fflush(file.get(), H5F_SCOPE_LOCAL) < 0)
    fail(LATHE_ERR_IO, "cannot flush '", path, "'");
}

} // namespace

extern "C" lathe_status lathe_h5_read(const char *path, const char *dataset,
                                      lathe_host_tensor *out) {
  return guardStatus("HDF5 read", [&] {
    if (!path || !dataset || !out)
      fail(LATHE_ERR_INVALID, "null path, dataset or output tensor");
    out->data = nullptr;
    readDataset(path, dataset, *out);
  });
}

extern "C" lathe_status lathe_h5_write(const char *path, const char *dataset,
                                       const lathe_host_tensor *t,
                                       int truncate) {
  return guardStatus("HDF5 write", [&] {
    if (!path || !dataset)
      fail(LATHE_ERR_INVALID, "null path or dataset");
    writeDataset(path, dataset, t, truncate != 0);
  });
}
