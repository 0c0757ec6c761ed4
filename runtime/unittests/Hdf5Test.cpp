//===- Hdf5Test.cpp - HDF5 dataset read/write tests -----------------------===//

#include "TestUtils.h"

#include <cstring>
#include <fstream>

using namespace lathe::test;

namespace {

lathe_host_tensor makeTensor(lathe_dtype dtype, std::vector<int64_t> shape,
                             unsigned seed) {
  lathe_host_tensor t{};
  EXPECT_EQ(
      lathe_host_tensor_alloc(&t, dtype, int32_t(shape.size()), shape.data()),
      LATHE_OK);
  size_t bytes = lathe_host_tensor_numel(&t) * lathe_dtype_size(dtype);
  auto *p = static_cast<unsigned char *>(t.data);
  for (size_t i = 0; i < bytes; ++i)
    p[i] = dtype == LATHE_BOOL ? ((i + seed) % 2)
                               : static_cast<unsigned char>(i * 13 + seed);
  // Keep float bit patterns finite and non-NaN so memcmp is meaningful.
  if (dtype == LATHE_F32)
    for (int64_t i = 0; i < lathe_host_tensor_numel(&t); ++i)
      static_cast<float *>(t.data)[i] = float(i) * 0.25f - 3.f;
  if (dtype == LATHE_F64)
    for (int64_t i = 0; i < lathe_host_tensor_numel(&t); ++i)
      static_cast<double *>(t.data)[i] = double(i) * -1.5 + seed;
  if (dtype == LATHE_F16 || dtype == LATHE_BF16)
    for (int64_t i = 0; i < lathe_host_tensor_numel(&t); ++i)
      static_cast<uint16_t *>(t.data)[i] =
          uint16_t(0x3C00 + i) & 0x7BFF; // Finite values in both encodings.
  return t;
}

TEST(Hdf5, RoundTripEveryDtypeIntoNestedGroups) {
  TempDir dir;
  std::string path = dir.file("model.h5");
  std::vector<std::vector<int64_t>> shapes = {{}, {0}, {4}, {2, 3}, {2, 0, 3}};
  bool first = true;
  for (int d = 0; d < LATHE_DTYPE_COUNT; ++d) {
    auto dtype = static_cast<lathe_dtype>(d);
    for (size_t s = 0; s < shapes.size(); ++s) {
      lathe_host_tensor t = makeTensor(dtype, shapes[s], d * 10 + s);
      std::string name = std::string("/") + lathe_dtype_name(dtype) + "/layer" +
                         std::to_string(s) + "/weight";
      ASSERT_EQ(lathe_h5_write(path.c_str(), name.c_str(), &t, first), LATHE_OK)
          << lathe_rt_last_error();
      first = false;
      lathe_host_tensor_free(&t);
    }
  }
  // Read everything back after all writes (later writes kept earlier ones).
  for (int d = 0; d < LATHE_DTYPE_COUNT; ++d) {
    auto dtype = static_cast<lathe_dtype>(d);
    for (size_t s = 0; s < shapes.size(); ++s) {
      lathe_host_tensor want = makeTensor(dtype, shapes[s], d * 10 + s);
      std::string name = std::string("/") + lathe_dtype_name(dtype) + "/layer" +
                         std::to_string(s) + "/weight";
      lathe_host_tensor got{};
      ASSERT_EQ(lathe_h5_read(path.c_str(), name.c_str(), &got), LATHE_OK)
          << lathe_rt_last_error();
      SCOPED_TRACE(name);
      EXPECT_EQ(got.dtype, dtype);
      ASSERT_EQ(got.rank, want.rank);
      for (int i = 0; i < got.rank; ++i)
        EXPECT_EQ(got.shape[i], want.shape[i]);
      size_t bytes = lathe_host_tensor_numel(&want) * lathe_dtype_size(dtype);
      EXPECT_EQ(std::memcmp(got.data, want.data, bytes), 0);
      lathe_host_tensor_free(&got);
      lathe_host_tensor_free(&want);
    }
  }
}

TEST(Hdf5, OverwriteAndTruncate) {
  TempDir dir;
  std::string path = dir.file("w.h5");
  lathe_host_tensor a = makeTensor(LATHE_F32, {3}, 1);
  lathe_host_tensor b = makeTensor(LATHE_I32, {2, 2}, 2);
  ASSERT_EQ(lathe_h5_write(path.c_str(), "fc1/weight", &a, 1), LATHE_OK);
  ASSERT_EQ(lathe_h5_write(path.c_str(), "/fc1/bias", &a, 0), LATHE_OK);
  // Replacing a dataset with another type and shape.
  ASSERT_EQ(lathe_h5_write(path.c_str(), "/fc1/weight", &b, 0), LATHE_OK);
  lathe_host_tensor got{};
  ASSERT_EQ(lathe_h5_read(path.c_str(), "/fc1/weight", &got), LATHE_OK);
  EXPECT_EQ(got.dtype, LATHE_I32);
  EXPECT_EQ(got.rank, 2);
  lathe_host_tensor_free(&got);
  ASSERT_EQ(lathe_h5_read(path.c_str(), "/fc1/bias", &got), LATHE_OK);
  lathe_host_tensor_free(&got);
  // Truncating drops the other datasets.
  ASSERT_EQ(lathe_h5_write(path.c_str(), "/x", &a, 1), LATHE_OK);
  EXPECT_EQ(lathe_h5_read(path.c_str(), "/fc1/bias", &got), LATHE_ERR_IO);
  lathe_host_tensor_free(&a);
  lathe_host_tensor_free(&b);
}

TEST(Hdf5, ErrorsNameFileAndDataset) {
  TempDir dir;
  std::string path = dir.file("e.h5");
  lathe_host_tensor t{};
  EXPECT_EQ(lathe_h5_read(path.c_str(), "/fc1/weight", &t), LATHE_ERR_IO);
  std::string msg = lathe_rt_last_error();
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("/fc1/weight"), std::string::npos) << msg;

  lathe_host_tensor a = makeTensor(LATHE_F32, {3}, 1);
  ASSERT_EQ(lathe_h5_write(path.c_str(), "/fc1/weight", &a, 1), LATHE_OK);
  for (const char *missing : {"/fc2/weight", "/fc1/bias", "/fc1/weight/x"}) {
    EXPECT_EQ(lathe_h5_read(path.c_str(), missing, &t), LATHE_ERR_IO)
        << missing;
    msg = lathe_rt_last_error();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(missing), std::string::npos) << msg;
    EXPECT_EQ(t.data, nullptr);
  }
  // A group is not a dataset.
  EXPECT_NE(lathe_h5_read(path.c_str(), "/fc1", &t), LATHE_OK);
  EXPECT_NE(std::string(lathe_rt_last_error()).find("/fc1"), std::string::npos);

  std::string notH5 = dir.file("plain.txt");
  std::ofstream(notH5) << "hello";
  EXPECT_EQ(lathe_h5_read(notH5.c_str(), "/x", &t), LATHE_ERR_FORMAT);
  EXPECT_NE(std::string(lathe_rt_last_error()).find(notH5), std::string::npos);
  EXPECT_EQ(lathe_h5_write(notH5.c_str(), "/x", &a, 0), LATHE_ERR_FORMAT);
  std::string badDir = dir.file("no/such/dir.h5");
  EXPECT_EQ(lathe_h5_write(badDir.c_str(), "/x", &a, 1), LATHE_ERR_IO);
  EXPECT_NE(std::string(lathe_rt_last_error()).find(badDir), std::string::npos);
  lathe_host_tensor_free(&a);
}

// Inputs the HDF5 fuzz target found, and datasets of the same kind made with
// h5py: the file holds less data than the dataset's shape needs. The reader
// must say so before allocating the shape (768 GiB for the fuzzer's input).
TEST(Hdf5, FuzzRegressionsStoreLessThanTheirShape) {
  std::string dir =
      std::string(LATHE_SOURCE_DIR) + "/test/fuzz/regressions/hdf5/";
  const struct {
    const char *file;
    const char *shape;
  } cases[] = {{"huge-shape-no-storage.h5", "(68719476736, 3)"},
               {"never-written.h5", "(1000000, 1000000)"},
               {"partly-written-chunks.h5", "(1024, 1024)"}};
  for (const auto &c : cases) {
    std::string path = dir + c.file;
    lathe_host_tensor t{};
    EXPECT_EQ(lathe_h5_read(path.c_str(), "w", &t), LATHE_ERR_FORMAT) << path;
    std::string msg = lathe_rt_last_error();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(std::string("has shape ") + c.shape), std::string::npos)
        << msg;
    EXPECT_NE(msg.find("never written, truncated or corrupt"),
              std::string::npos)
        << msg;
    EXPECT_EQ(t.data, nullptr);
  }
}

// Files on which libhdf5 1.10 itself faults (test/fuzz/known/README.md):
// the read runs in a child process, so the caller gets a format error naming
// the file instead of a crash.
TEST(Hdf5, LibraryCrashOnCorruptFileIsAnError) {
  std::string dir = std::string(LATHE_SOURCE_DIR) + "/test/fuzz/known/";
  for (const char *file :
       {"hdf5-segv-local-heap-read.h5", "hdf5-segv-compact-read.h5"}) {
    std::string path = dir + file;
    lathe_host_tensor t{};
    EXPECT_EQ(lathe_h5_read(path.c_str(), "w", &t), LATHE_ERR_FORMAT) << path;
    std::string msg = lathe_rt_last_error();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("corrupt"), std::string::npos) << msg;
    EXPECT_EQ(t.data, nullptr);
  }
}

// The isolated reader hands back exactly what the in-process one reads.
TEST(Hdf5, IsolatedReadMatchesInProcessRead) {
  TempDir dir;
  std::string path = dir.file("iso.h5");
  lathe_host_tensor a = makeTensor(LATHE_F32, {3, 5, 7}, 1);
  ASSERT_EQ(lathe_h5_write(path.c_str(), "/a", &a, 1), LATHE_OK);
  lathe_host_tensor isolated{}, direct{};
  ASSERT_EQ(lathe_h5_read(path.c_str(), "/a", &isolated), LATHE_OK)
      << lathe_rt_last_error();
  setenv("LATHE_H5_IN_PROCESS", "1", 1);
  lathe_status st = lathe_h5_read(path.c_str(), "/a", &direct);
  unsetenv("LATHE_H5_IN_PROCESS");
  ASSERT_EQ(st, LATHE_OK) << lathe_rt_last_error();
  ASSERT_EQ(isolated.rank, 3);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(isolated.shape[i], a.shape[i]);
  EXPECT_EQ(std::memcmp(isolated.data, a.data, 3 * 5 * 7 * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(direct.data, a.data, 3 * 5 * 7 * sizeof(float)), 0);
  // An error inside the child comes back with its status and message.
  lathe_host_tensor missing{};
  EXPECT_EQ(lathe_h5_read(path.c_str(), "/nope", &missing), LATHE_ERR_IO);
  EXPECT_NE(std::string(lathe_rt_last_error()).find("no dataset '/nope'"),
            std::string::npos)
      << lathe_rt_last_error();
  lathe_host_tensor_free(&a);
  lathe_host_tensor_free(&isolated);
  lathe_host_tensor_free(&direct);
}

} // namespace
