//===- NpyTest.cpp - .npy reader/writer tests -----------------------------===//
//
// Files for the reader are written byte by byte here so the tests do not
// depend on numpy.
//
//===----------------------------------------------------------------------===//

#include "TestUtils.h"

#include <cstring>
#include <fstream>

using namespace lathe::test;

namespace {

/// Writes a .npy file by hand: magic, version, header length (2 or 4 bytes),
/// the dict padded to a multiple of 64 bytes, then `data`.
void writeRawNpy(const std::string &path, int major, const std::string &dict,
                 const std::string &data, bool pad = true) {
  size_t lenBytes = major == 1 ? 2 : 4;
  size_t preamble = 8 + lenBytes;
  std::string header = dict;
  if (pad) {
    size_t total = (preamble + header.size() + 1 + 63) / 64 * 64;
    header.append(total - preamble - header.size() - 1, ' ');
  }
  header.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back(static_cast<char>(major));
  out.push_back(0);
  for (size_t i = 0; i < lenBytes; ++i)
    out.push_back(static_cast<char>((header.size() >> (8 * i)) & 0xFF));
  out += header;
  out += data;
  std::ofstream f(path, std::ios::binary);
  f.write(out.data(), static_cast<std::streamsize>(out.size()));
}

template <typename T> std::string bytesOf(const std::vector<T> &v) {
  return std::string(reinterpret_cast<const char *>(v.data()),
                     v.size() * sizeof(T));
}

std::string readFile(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

struct DtypeCase {
  lathe_dtype dtype;
  const char *descr;
};

const DtypeCase kCases[] = {
    {LATHE_F32, "<f4"}, {LATHE_F64, "<f8"}, {LATHE_F16, "<f2"},
    {LATHE_I64, "<i8"}, {LATHE_I32, "<i4"}, {LATHE_I16, "<i2"},
    {LATHE_I8, "|i1"},  {LATHE_U8, "|u1"},  {LATHE_BOOL, "|b1"},
};

TEST(Npy, RoundTripEveryDtypeAndShape) {
  TempDir dir;
  std::vector<std::vector<int64_t>> shapes = {{},     {0},       {5},
                                              {2, 3}, {3, 0, 2}, {2, 1, 3, 2}};
  for (const DtypeCase &c : kCases) {
    for (const auto &shape : shapes) {
      lathe_host_tensor t{};
      ASSERT_EQ(lathe_host_tensor_alloc(&t, c.dtype,
                                        static_cast<int32_t>(shape.size()),
                                        shape.data()),
                LATHE_OK);
      size_t bytes = lathe_host_tensor_numel(&t) * lathe_dtype_size(c.dtype);
      auto *p = static_cast<unsigned char *>(t.data);
      for (size_t i = 0; i < bytes; ++i)
        p[i] = c.dtype == LATHE_BOOL ? (i % 3 == 0) : (i * 37 + 11) & 0xFF;
      std::string path =
          dir.file(std::string("rt_") + c.descr[1] + c.descr[2] + ".npy");
      ASSERT_EQ(lathe_npy_write(path.c_str(), &t), LATHE_OK)
          << lathe_rt_last_error();

      // The header is what numpy itself writes.
      std::string raw = readFile(path);
      ASSERT_GE(raw.size(), 10u);
      EXPECT_EQ(raw.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
      size_t headerLen = static_cast<unsigned char>(raw[8]) |
                         (static_cast<unsigned char>(raw[9]) << 8);
      EXPECT_EQ((10 + headerLen) % 64, 0u);
      EXPECT_NE(raw.find(std::string("'descr': '") + c.descr + "'"),
                std::string::npos);
      EXPECT_EQ(raw.size(), 10 + headerLen + bytes);

      lathe_host_tensor back{};
      ASSERT_EQ(lathe_npy_read(path.c_str(), &back), LATHE_OK)
          << lathe_rt_last_error();
      EXPECT_EQ(back.dtype, c.dtype);
      ASSERT_EQ(back.rank, static_cast<int32_t>(shape.size()));
      for (size_t i = 0; i < shape.size(); ++i)
        EXPECT_EQ(back.shape[i], shape[i]);
      ASSERT_NE(back.data, nullptr);
      EXPECT_EQ(std::memcmp(back.data, t.data, bytes), 0);
      lathe_host_tensor_free(&back);
      lathe_host_tensor_free(&t);
    }
  }
}

TEST(Npy, ShapeTupleSpelling) {
  TempDir dir;
  std::string path = dir.file("s.npy");
  int64_t shape1[1] = {4};
  lathe_host_tensor t{};
  ASSERT_EQ(lathe_host_tensor_alloc(&t, LATHE_F32, 1, shape1), LATHE_OK);
  ASSERT_EQ(lathe_npy_write(path.c_str(), &t), LATHE_OK);
  EXPECT_NE(readFile(path).find("'shape': (4,)"), std::string::npos);
  lathe_host_tensor_free(&t);
  ASSERT_EQ(lathe_host_tensor_alloc(&t, LATHE_F32, 0, nullptr), LATHE_OK);
  ASSERT_EQ(lathe_npy_write(path.c_str(), &t), LATHE_OK);
  EXPECT_NE(readFile(path).find("'shape': ()"), std::string::npos);
  lathe_host_tensor_free(&t);
}

TEST(Npy, ReadsFortranOrder) {
  TempDir dir;
  std::string path = dir.file("f.npy");
  // A 2x3x2 int32 array a[i][j][k] = 100*i + 10*j + k stored column-major.
  const int64_t d0 = 2, d1 = 3, d2 = 2;
  std::vector<int32_t> fortran(d0 * d1 * d2);
  for (int64_t i = 0; i < d0; ++i)
    for (int64_t j = 0; j < d1; ++j)
      for (int64_t k = 0; k < d2; ++k)
        fortran[i + d0 * (j + d1 * k)] = int32_t(100 * i + 10 * j + k);
  writeRawNpy(path, 1,
              "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3, 2), }",
              bytesOf(fortran));
  lathe_host_tensor t{};
  ASSERT_EQ(lathe_npy_read(path.c_str(), &t), LATHE_OK)
      << lathe_rt_last_error();
  ASSERT_EQ(t.rank, 3);
  EXPECT_EQ(t.dtype, LATHE_I32);
  auto *data = static_cast<int32_t *>(t.data);
  for (int64_t i = 0; i < d0; ++i)
    for (int64_t j = 0; j < d1; ++j)
      for (int64_t k = 0; k < d2; ++k)
        EXPECT_EQ(data[(i * d1 + j) * d2 + k], 100 * i + 10 * j + k);
  lathe_host_tensor_free(&t);
}

TEST(Npy, ReadsVersions2And3AndDoubleQuotes) {
  TempDir dir;
  std::vector<double> values = {1.5, -2.25, 3.0};
  for (int major : {2, 3}) {
    std::string path = dir.file("v" + std::to_string(major) + ".npy");
    writeRawNpy(path, major,
                "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": "
                "(3,)}",
                bytesOf(values));
    lathe_host_tensor t{};
    ASSERT_EQ(lathe_npy_read(path.c_str(), &t), LATHE_OK)
        << lathe_rt_last_error();
    ASSERT_EQ(t.rank, 1);
    EXPECT_EQ(t.shape[0], 3);
    EXPECT_EQ(static_cast<double *>(t.data)[1], -2.25);
    lathe_host_tensor_free(&t);
  }
  // Unpadded header, key order changed, 'L' suffixes (Python 2 writers).
  std::string path = dir.file("odd.npy");
  writeRawNpy(path, 1,
              "{'shape': (1L, 3L), 'fortran_order': False, 'descr': '<f8'}",
              bytesOf(values), /*pad=*/false);
  lathe_host_tensor t{};
  ASSERT_EQ(lathe_npy_read(path.c_str(), &t), LATHE_OK)
      << lathe_rt_last_error();
  EXPECT_EQ(t.rank, 2);
  EXPECT_EQ(static_cast<double *>(t.data)[2], 3.0);
  lathe_host_tensor_free(&t);
}

TEST(Npy, TruncatedDataIsAFormatErrorNamingThePath) {
  TempDir dir;
  std::string path = dir.file("trunc.npy");
  std::vector<float> values(5, 1.f); // Header promises 6 floats = 24 bytes.
  writeRawNpy(path, 1,
              "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
              bytesOf(values));
  lathe_host_tensor t{};
  EXPECT_EQ(lathe_npy_read(path.c_str(), &t), LATHE_ERR_FORMAT);
  std::string msg = lathe_rt_last_error();
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("24"), std::string::npos) << msg;
  EXPECT_NE(msg.find("20"), std::string::npos) << msg;
  EXPECT_EQ(t.data, nullptr);
}

TEST(Npy, TruncatedHeaderAndWrongMagic) {
  TempDir dir;
  std::string path = dir.file("bad.npy");
  {
    std::ofstream f(path, std::ios::binary);
    f << "PK\x03\x04 this is a zip file, not npy";
  }
  lathe_host_tensor t{};
  EXPECT_EQ(lathe_npy_read(path.c_str(), &t), LATHE_ERR_FORMAT);
  EXPECT_NE(std::string(lathe_rt_last_error()).find(path), std::string::npos);

  {
    std::ofstream f(path, std::ios::binary);
    f << "\x93NUM";
  }
  EXPECT_EQ(lathe_npy_read(path.c_str(), &t), LATHE_ERR_FORMAT);

  {
    std::ofstream f(path, std::ios::binary);
    f.write("\x93NUMPY\x01\x00\xff\x00{'descr'", 17);
  }
  EXPECT_EQ(lathe_npy_read(path.c_str(), &t), LATHE_ERR_FORMAT);
  EXPECT_NE(std::string(lathe_rt_last_error()).find(path), std::string::npos);

  writeRawNpy(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, ",
              "");
  EXPECT_EQ(lathe_npy_read(path.c_str(), &t), LATHE_ERR_FORMAT);

  writeRawNpy(path, 7, "{'descr': '<f4', 'fortran_order': False, 'shape': ()}",
              "abcd");
  EXPECT_EQ(lathe_npy_read(path.c_str(), &t), LATHE_ERR_FORMAT);
  EXPECT_NE(std::string(lathe_rt_last_error()).find("version"),
            std::string::npos);
}

TEST(Npy, RejectsUnsupportedDtypesNamingFileAndDtype) {
  TempDir dir;
  std::string path = dir.file("dtype.npy");
  for (const char *descr : {">f4", "|O", "<c8", "<u4", "<U3", ">i8"}) {
    writeRawNpy(path, 1,
                std::string("{'descr': '") + descr +
                    "', 'fortran_order': False, 'shape': (1,), }",
                std::string(16, '\0'));
    lathe_host_tensor t{};
    EXPECT_EQ(lathe_npy_read(path.c_str(), &t), LATHE_ERR_DTYPE) << descr;
    std::string msg = lathe_rt_last_error();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(descr), std::string::npos) << msg;
  }
  writeRawNpy(path, 1,
              "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': "
              "False, 'shape': (1,), }",
              std::string(8, '\0'));
  lathe_host_tensor t{};
  EXPECT_EQ(lathe_npy_read(path.c_str(), &t), LATHE_ERR_DTYPE);
  // Single-byte types are fine with any byte-order mark.
  writeRawNpy(path, 1,
              "{'descr': '>u1', 'fortran_order': False, 'shape': (2,), }",
              "\x07\x09");
  ASSERT_EQ(lathe_npy_read(path.c_str(), &t), LATHE_OK);
  EXPECT_EQ(static_cast<uint8_t *>(t.data)[1], 9);
  lathe_host_tensor_free(&t);
}

TEST(Npy, WriteErrors) {
  TempDir dir;
  int64_t shape[1] = {2};
  lathe_host_tensor t{};
  ASSERT_EQ(lathe_host_tensor_alloc(&t, LATHE_BF16, 1, shape), LATHE_OK);
  std::string path = dir.file("bf16.npy");
  EXPECT_EQ(lathe_npy_write(path.c_str(), &t), LATHE_ERR_DTYPE);
  EXPECT_NE(std::string(lathe_rt_last_error()).find("bfloat16"),
            std::string::npos);
  t.dtype = LATHE_F16;
  std::string bad = dir.file("no/such/dir/x.npy");
  EXPECT_EQ(lathe_npy_write(bad.c_str(), &t), LATHE_ERR_IO);
  EXPECT_NE(std::string(lathe_rt_last_error()).find(bad), std::string::npos);
  EXPECT_EQ(lathe_npy_write(path.c_str(), nullptr), LATHE_ERR_INVALID);
  lathe_host_tensor_free(&t);
}

} // namespace
