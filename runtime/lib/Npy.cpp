//===- Npy.cpp - NumPy .npy reader and writer -----------------------------===//
//
// Format:
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html A
// magic string, a version, a little-endian header length (2 bytes in 1.0, 4
// bytes in 2.0/3.0), a Python dict literal, then the raw data.
//
//===----------------------------------------------------------------------===//

#include "HostTensor.h"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

using namespace lathe::rt;

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

struct FileCloser {
  void operator()(std::FILE *f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

struct NpyHeader {
  std::string descr;
  bool descrIsStructured = false;
  bool fortranOrder = false;
  bool haveDescr = false, haveOrder = false, haveShape = false;
  std::vector<int64_t> shape;
};

/// A parser for the small Python literal subset numpy writes.
class HeaderParser {
public:
  HeaderParser(const std::string &text, const std::string &path)
      : text(text), path(path) {}

  NpyHeader parse() {
    NpyHeader h;
    skipSpace();
    expect('{');
    while (true) {
      skipSpace();
      if (peek() == '}')
        break;
      std::string key = parseString();
      skipSpace();
      expect(':');
      skipSpace();
      if (key == "descr") {
        h.haveDescr = true;
        if (peek() == '[') {
          h.descrIsStructured = true;
          h.descr = parseBracketed();
        } else {
          h.descr = parseString();
        }
      } else if (key == "fortran_order") {
        h.haveOrder = true;
        h.fortranOrder = parseBool();
      } else if (key == "shape") {
        h.haveShape = true;
        h.shape = parseShape();
      } else {
        formatError("unknown header key '", key, "'");
      }
      skipSpace();
      if (peek() == ',') {
        ++pos;
        continue;
      }
      skipSpace();
      if (peek() != '}')
        formatError("expected ',' or '}' in header at offset ", pos);
    }
    if (!h.haveDescr || !h.haveOrder || !h.haveShape)
      formatError("header lacks one of 'descr', 'fortran_order', 'shape'");
    return h;
  }

private:
  template <typename... Args> [[noreturn]] void formatError(Args &&...args) {
    fail(LATHE_ERR_FORMAT, "'", path,
         "': malformed .npy header: ", std::forward<Args>(args)...,
         " (header: ", text, ")");
  }

  char peek() const { return pos < text.size() ? text[pos] : '\0'; }
  void skipSpace() {
    while (pos < text.size() &&
           std::isspace(static_cast<unsigned char>(text[pos])))
      ++pos;
  }
  void expect(char c) {
    if (peek() != c)
      formatError("expected '", c, "' at offset ", pos);
    ++pos;
  }
  std::string parseString() {
    char quote = peek();
    if (quote != '\'' && quote != '"')
      formatError("expected a string at offset ", pos);
    ++pos;
    size_t end = text.find(quote, pos);
    if (end == std::string::npos)
      formatError("unterminated string");
    std::string s = text.substr(pos, end - pos);
    pos = end + 1;
    return s;
  }
  std::string parseBracketed() {
    size_t start = pos;
    int depth = 0;
    for (; pos < text.size(); ++pos) {
      if (text[pos] == '[')
        ++depth;
      else if (text[pos] == ']' && --depth == 0)
        return text.substr(start, ++pos - start);
    }
    formatError("unterminated list");
  }
  bool parseBool() {
    if (text.compare(pos, 4, "True") == 0) {
      pos += 4;
      return true;
    }
    if (text.compare(pos, 5, "False") == 0) {
      pos += 5;
      return false;
    }
    formatError("expected True or False at offset ", pos);
  }
  std::vector<int64_t> parseShape() {
    std::vector<int64_t> shape;
    expect('(');
    while (true) {
      skipSpace();
      if (peek() == ')') {
        ++pos;
        return shape;
      }
      if (!std::isdigit(static_cast<unsigned char>(peek())))
        formatError("expected a dimension at offset ", pos);
      int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        int digit = peek() - '0';
        if (v > (INT64_MAX - digit) / 10)
          formatError("dimension overflows int64");
        v = v * 10 + digit;
        ++pos;
      }
      if (peek() == 'L') // Python 2 longs.
        ++pos;
      shape.push_back(v);
      skipSpace();
      if (peek() == ',')
        ++pos;
      else if (peek() != ')')
        formatError("expected ',' or ')' in shape at offset ", pos);
    }
  }

  const std::string &text;
  const std::string &path;
  size_t pos = 0;
};

/// Maps a numpy descr to a dtype; throws naming the file for anything else.
lathe_dtype dtypeFromDescr(const NpyHeader &h, const std::string &path) {
  if (h.descrIsStructured)
    fail(LATHE_ERR_DTYPE, "'", path, "': structured dtype ", h.descr,
         " is not supported");
  const std::string &d = h.descr;
  if (d.size() >= 2 && d[0] == '>' && d.substr(1) != "i1" &&
      d.substr(1) != "u1" && d.substr(1) != "b1")
    fail(LATHE_ERR_DTYPE, "'", path, "': big-endian dtype '", d,
         "' is not supported (convert with "
         "arr.astype(arr.dtype.newbyteorder('<')))");
  // '<', '|' and '=' (native, little-endian here) mean the same for us.
  std::string body = d;
  if (!body.empty() &&
      (body[0] == '<' || body[0] == '|' || body[0] == '=' || body[0] == '>'))
    body = body.substr(1);
  static const struct {
    const char *code;
    lathe_dtype dtype;
  } kMap[] = {{"f4", LATHE_F32}, {"f8", LATHE_F64}, {"f2", LATHE_F16},
              {"i8", LATHE_I64}, {"i4", LATHE_I32}, {"i2", LATHE_I16},
              {"i1", LATHE_I8},  {"u1", LATHE_U8},  {"b1", LATHE_BOOL}};
  for (const auto &entry : kMap)
    if (body == entry.code)
      return entry.dtype;
  fail(LATHE_ERR_DTYPE, "'", path, "': unsupported dtype '", d,
       "' (supported: <f4 <f8 <f2 <i8 <i4 <i2 |i1 |u1 |b1)");
}

const char *descrFor(lathe_dtype dtype) {
  switch (dtype) {
  case LATHE_F32:
    return "<f4";
  case LATHE_F64:
    return "<f8";
  case LATHE_F16:
    return "<f2";
  case LATHE_I64:
    return "<i8";
  case LATHE_I32:
    return "<i4";
  case LATHE_I16:
    return "<i2";
  case LATHE_I8:
    return "|i1";
  case LATHE_U8:
    return "|u1";
  case LATHE_BOOL:
    return "|b1";
  default:
    return nullptr;
  }
}

/// Rewrites Fortran-ordered data as C-ordered.
void fortranToC(const char *src, char *dst, const std::vector<int64_t> &shape,
                size_t elementSize) {
  size_t rank = shape.size();
  int64_t numel = 1;
  for (int64_t d : shape)
    numel *= d;
  if (numel == 0)
    return;
  // Fortran strides (elements): stride[k] = prod(shape[0..k)).
  std::vector<int64_t> fStride(rank, 1);
  for (size_t k = 1; k < rank; ++k)
    fStride[k] = fStride[k - 1] * shape[k - 1];
  std::vector<int64_t> index(rank, 0);
  int64_t srcOffset = 0;
  for (int64_t i = 0; i < numel; ++i) {
    std::memcpy(dst + i * elementSize, src + srcOffset * elementSize,
                elementSize);
    // Advance the C-order index (last dim fastest).
    for (size_t k = rank; k-- > 0;) {
      if (++index[k] < shape[k]) {
        srcOffset += fStride[k];
        break;
      }
      srcOffset -= (shape[k] - 1) * fStride[k];
      index[k] = 0;
    }
  }
}

std::string shapeTuple(const int64_t *shape, int32_t rank) {
  std::string s = "(";
  for (int32_t i = 0; i < rank; ++i) {
    if (i)
      s += ", ";
    s += std::to_string(shape[i]);
  }
  if (rank == 1)
    s += ",";
  return s + ")";
}

uint32_t readLittleEndian(const unsigned char *p, size_t n) {
  uint32_t v = 0;
  for (size_t i = n; i-- > 0;)
    v = (v << 8) | p[i];
  return v;
}

void readNpy(const std::string &path, lathe_host_tensor &out) {
  FilePtr file(std::fopen(path.c_str(), "rb"));
  if (!file)
    fail(LATHE_ERR_IO, "cannot open '", path, "': ", std::strerror(errno));
  if (std::fseek(file.get(), 0, SEEK_END) != 0)
    fail(LATHE_ERR_IO, "cannot read '", path, "': ", std::strerror(errno));
  long fileSizeLong = std::ftell(file.get());
  if (fileSizeLong < 0)
    fail(LATHE_ERR_IO, "cannot read '", path, "': ", std::strerror(errno));
  std::rewind(file.get());
  auto fileSize = static_cast<uint64_t>(fileSizeLong);

  unsigned char preamble[12];
  size_t got = std::fread(preamble, 1, 10, file.get());
  if (std::ferror(file.get()))
    fail(LATHE_ERR_IO, "cannot read '", path, "': ", std::strerror(errno));
  if (got < 10 || std::memcmp(preamble, kMagic, kMagicLen) != 0)
    fail(LATHE_ERR_FORMAT, "'", path,
         "' is not a .npy file (missing \\x93NUMPY magic)");
  int major = preamble[6], minor = preamble[7];
  if (major < 1 || major > 3)
    fail(LATHE_ERR_FORMAT, "'", path, "': unsupported .npy format version ",
         major, ".", minor);
  size_t preambleLen = 10;
  uint32_t headerLen;
  if (major == 1) {
    headerLen = readLittleEndian(preamble + 8, 2);
  } else {
    if (std::fread(preamble + 10, 1, 2, file.get()) != 2)
      fail(LATHE_ERR_FORMAT, "'", path, "': truncated .npy preamble");
    headerLen = readLittleEndian(preamble + 8, 4);
    preambleLen = 12;
  }
  if (preambleLen + uint64_t(headerLen) > fileSize)
    fail(LATHE_ERR_FORMAT, "'", path, "': truncated .npy header (header says ",
         headerLen, " bytes, file has ", fileSize - preambleLen,
         " after the preamble)");
  std::string headerText(headerLen, '\0');
  if (headerLen &&
      std::fread(&headerText[0], 1, headerLen, file.get()) != headerLen)
    fail(LATHE_ERR_IO, "cannot read the header of '", path, "'");

  NpyHeader header = HeaderParser(headerText, path).parse();
  lathe_dtype dtype = dtypeFromDescr(header, path);
  if (header.shape.size() > LATHE_MAX_RANK)
    fail(LATHE_ERR_SHAPE, "'", path, "': rank ", header.shape.size(),
         " exceeds the maximum of ", LATHE_MAX_RANK);
  auto rank = static_cast<int32_t>(header.shape.size());
  size_t elementSize = lathe_dtype_size(dtype);
  int64_t numel =
      checkedNumel(rank, header.shape.data(), elementSize, "'" + path + "'");
  uint64_t expected = uint64_t(numel) * elementSize;
  uint64_t actual = fileSize - preambleLen - headerLen;
  if (actual < expected)
    fail(LATHE_ERR_FORMAT, "'", path, "' is truncated: shape ",
         shapeTuple(header.shape.data(), rank), " of ", header.descr, " needs ",
         expected, " data bytes, the file has ", actual);

  HostTensorHolder holder;
  allocHostTensor(holder.get(), dtype, rank, header.shape.data(),
                  "'" + path + "'");
  if (expected) {
    if (!header.fortranOrder || rank < 2) {
      if (std::fread(holder.get().data, 1, expected, file.get()) != expected)
        fail(LATHE_ERR_IO, "cannot read the data of '", path, "'");
    } else {
      std::vector<char> raw(expected);
      if (std::fread(raw.data(), 1, expected, file.get()) != expected)
        fail(LATHE_ERR_IO, "cannot read the data of '", path, "'");
      fortranToC(raw.data(), static_cast<char *>(holder.get().data),
                 header.shape, elementSize);
    }
  }
  out = holder.release();
}

void writeNpy(const std::string &path, const lathe_host_tensor *t) {
  if (!t)
    fail(LATHE_ERR_INVALID, "null tensor for '", path, "'");
  if (!isValidDtype(t->dtype))
    fail(LATHE_ERR_DTYPE, "'", path, "': invalid dtype code ",
         static_cast<int>(t->dtype));
  const char *descr = descrFor(t->dtype);
  if (!descr)
    fail(LATHE_ERR_DTYPE, "'", path, "': dtype ", lathe_dtype_name(t->dtype),
         " has no .npy equivalent (convert to float32 first)");
  size_t elementSize = lathe_dtype_size(t->dtype);
  int64_t numel =
      checkedNumel(t->rank, t->shape, elementSize, "'" + path + "'");
  size_t bytes = size_t(numel) * elementSize;
  if (bytes && !t->data)
    fail(LATHE_ERR_INVALID, "'", path, "': tensor has no data");

  std::string dict =
      std::string("{'descr': '") + descr +
      "', 'fortran_order': False, 'shape': " + shapeTuple(t->shape, t->rank) +
      ", }";
  // Pad with spaces so the data starts on a 64-byte boundary; the header
  // ends with '\n'. Version 2.0 only when the header outgrows 16 bits.
  size_t preambleLen = 10;
  size_t total = (preambleLen + dict.size() + 1 + 63) / 64 * 64;
  if (total - preambleLen > 0xFFFF) {
    preambleLen = 12;
    total = (preambleLen + dict.size() + 1 + 63) / 64 * 64;
  }
  size_t headerLen = total - preambleLen;
  dict.append(headerLen - dict.size() - 1, ' ');
  dict.push_back('\n');

  std::string preamble(kMagic, kMagicLen);
  preamble.push_back(preambleLen == 10 ? 1 : 2);
  preamble.push_back(0);
  for (size_t i = 0; i < preambleLen - 8; ++i)
    preamble.push_back(static_cast<char>((headerLen >> (8 * i)) & 0xFF));

  FilePtr file(std::fopen(path.c_str(), "wb"));
  if (!file)
    fail(LATHE_ERR_IO, "cannot create '", path, "': ", std::strerror(errno));
  bool ok =
      std::fwrite(preamble.data(), 1, preamble.size(), file.get()) ==
          preamble.size() &&
      std::fwrite(dict.data(), 1, dict.size(), file.get()) == dict.size() &&
      (bytes == 0 || std::fwrite(t->data, 1, bytes, file.get()) == bytes);
  int closeResult = std::fclose(file.release());
  if (!ok || closeResult != 0)
    fail(LATHE_ERR_IO, "cannot write '", path, "': ", std::strerror(errno));
}

} // namespace

extern "C" lathe_status lathe_npy_read(const char *path,
                                       lathe_host_tensor *out) {
  return guardStatus("npy read", [&] {
    if (!path || !out)
      fail(LATHE_ERR_INVALID, "null path or output tensor");
    out->data = nullptr;
    readNpy(path, *out);
  });
}

extern "C" lathe_status lathe_npy_write(const char *path,
                                        const lathe_host_tensor *t) {
  return guardStatus("npy write", [&] {
    if (!path)
      fail(LATHE_ERR_INVALID, "null path");
    writeNpy(path, t);
  });
}
