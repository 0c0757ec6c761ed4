//===- HostTensors.cpp - Tensors crossing the JIT boundary ----------------===//

#include "lathe/Driver/HostTensors.h"

#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>

using namespace mlir;
using namespace mlir::lathe;

std::optional<lathe_dtype> mlir::lathe::dtypeFor(Type type) {
  if (type.isF32())
    return LATHE_F32;
  if (type.isF64())
    return LATHE_F64;
  if (type.isF16())
    return LATHE_F16;
  if (type.isBF16())
    return LATHE_BF16;
  if (type.isIndex())
    return LATHE_I64;
  auto intType = dyn_cast<IntegerType>(type);
  if (!intType)
    return std::nullopt;
  switch (intType.getWidth()) {
  case 1:
    return LATHE_BOOL;
  case 8:
    return intType.isUnsigned() ? LATHE_U8 : LATHE_I8;
  case 16:
    return LATHE_I16;
  case 32:
    return LATHE_I32;
  case 64:
    return LATHE_I64;
  default:
    return std::nullopt;
  }
}

Type mlir::lathe::elementTypeFor(MLIRContext &ctx, lathe_dtype dtype) {
  switch (dtype) {
  case LATHE_F32:
    return Float32Type::get(&ctx);
  case LATHE_F64:
    return Float64Type::get(&ctx);
  case LATHE_F16:
    return Float16Type::get(&ctx);
  case LATHE_BF16:
    return BFloat16Type::get(&ctx);
  case LATHE_I64:
    return IntegerType::get(&ctx, 64);
  case LATHE_I32:
    return IntegerType::get(&ctx, 32);
  case LATHE_I16:
    return IntegerType::get(&ctx, 16);
  case LATHE_I8:
    return IntegerType::get(&ctx, 8);
  case LATHE_U8:
    return IntegerType::get(&ctx, 8, IntegerType::Unsigned);
  case LATHE_BOOL:
    return IntegerType::get(&ctx, 1);
  default:
    return Type();
  }
}

std::string mlir::lathe::shapeString(const lathe_host_tensor &t) {
  std::string s = "[";
  for (int i = 0; i < t.rank; ++i) {
    if (i)
      s += ", ";
    s += std::to_string(t.shape[i]);
  }
  return s + "]";
}

/// Splits "file.h5:/dataset" (also .hdf5, .he5) into its two parts.
static bool splitHdf5Spec(StringRef spec, StringRef &file, StringRef &dataset) {
  for (StringRef ext : {".h5:", ".hdf5:", ".he5:"}) {
    size_t pos = spec.find(ext);
    if (pos == StringRef::npos)
      continue;
    file = spec.take_front(pos + ext.size() - 1);
    dataset = spec.drop_front(pos + ext.size());
    return true;
  }
  return false;
}

bool mlir::lathe::readTensorFile(StringRef spec, HostTensor &out,
                                 std::string &error) {
  StringRef file, dataset;
  lathe_status status;
  if (splitHdf5Spec(spec, file, dataset))
    status = lathe_h5_read(file.str().c_str(), dataset.str().c_str(), &out.t);
  else
    status = lathe_npy_read(spec.str().c_str(), &out.t);
  if (status != LATHE_OK) {
    error = lathe_rt_last_error();
    return false;
  }
  return true;
}

bool mlir::lathe::writeTensorFile(StringRef spec, const HostTensor &t,
                                  std::string &error) {
  StringRef file, dataset;
  lathe_status status;
  if (splitHdf5Spec(spec, file, dataset))
    status = lathe_h5_write(file.str().c_str(), dataset.str().c_str(), &t.t,
                            /*truncate=*/0);
  else
    status = lathe_npy_write(spec.str().c_str(), &t.t);
  if (status != LATHE_OK) {
    error = lathe_rt_last_error();
    return false;
  }
  return true;
}

static std::string typeString(Type type) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << type;
  return s;
}

bool mlir::lathe::checkMatchesType(const HostTensor &t, RankedTensorType type,
                                   std::string &error) {
  std::optional<lathe_dtype> expected = dtypeFor(type.getElementType());
  if (!expected) {
    error = "element type " + typeString(type.getElementType()) +
            " cannot be passed from a file";
    return false;
  }
  if (*expected != t.t.dtype) {
    error = llvm::formatv("expected dtype {0} ({1}), got {2}",
                          lathe_dtype_name(*expected), typeString(type),
                          lathe_dtype_name(t.t.dtype))
                .str();
    return false;
  }
  bool shapeOk = type.getRank() == t.t.rank;
  for (int64_t i = 0; shapeOk && i < type.getRank(); ++i)
    shapeOk = type.isDynamicDim(i) || type.getDimSize(i) == t.t.shape[i];
  if (!shapeOk) {
    std::string expectedShape = "[";
    for (int64_t i = 0; i < type.getRank(); ++i) {
      if (i)
        expectedShape += ", ";
      expectedShape +=
          type.isDynamicDim(i) ? "?" : std::to_string(type.getDimSize(i));
    }
    error = llvm::formatv("expected shape {0}] ({1}), got {2}", expectedShape,
                          typeString(type), shapeString(t.t))
                .str();
    return false;
  }
  return true;
}

bool mlir::lathe::fillRandom(RankedTensorType type, uint64_t seed,
                             HostTensor &out, std::string &error) {
  if (!type.hasStaticShape()) {
    error = "cannot fill " + typeString(type) +
            " with --fill-missing: it has dynamic dimensions (pass an input)";
    return false;
  }
  std::optional<lathe_dtype> dtype = dtypeFor(type.getElementType());
  if (!dtype || *dtype == LATHE_F16 || *dtype == LATHE_BF16) {
    error = "cannot fill " + typeString(type) + " with --fill-missing";
    return false;
  }
  SmallVector<int64_t> shape(type.getShape());
  if (lathe_host_tensor_alloc(&out.t, *dtype, type.getRank(), shape.data()) !=
      LATHE_OK) {
    error = lathe_rt_last_error();
    return false;
  }
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  int64_t n = out.numElements();
  for (int64_t i = 0; i < n; ++i) {
    double v = uniform(rng);
    switch (*dtype) {
    case LATHE_F32:
      static_cast<float *>(out.t.data)[i] = static_cast<float>(v);
      break;
    case LATHE_F64:
      static_cast<double *>(out.t.data)[i] = v;
      break;
    case LATHE_I64:
      static_cast<int64_t *>(out.t.data)[i] = static_cast<int64_t>(v * 8);
      break;
    case LATHE_I32:
      static_cast<int32_t *>(out.t.data)[i] = static_cast<int32_t>(v * 8);
      break;
    case LATHE_I16:
      static_cast<int16_t *>(out.t.data)[i] = static_cast<int16_t>(v * 8);
      break;
    case LATHE_I8:
      static_cast<int8_t *>(out.t.data)[i] = static_cast<int8_t>(v * 8);
      break;
    case LATHE_U8:
    case LATHE_BOOL:
      static_cast<uint8_t *>(out.t.data)[i] =
          static_cast<uint8_t>((v + 1) * (*dtype == LATHE_BOOL ? 1 : 8));
      break;
    default:
      break;
    }
  }
  return true;
}

/// Element `i` as a double (f16/bf16 decoded).
static double elementAsDouble(const lathe_host_tensor &t, int64_t i) {
  switch (t.dtype) {
  case LATHE_F32:
    return static_cast<const float *>(t.data)[i];
  case LATHE_F64:
    return static_cast<const double *>(t.data)[i];
  case LATHE_F16: {
    uint16_t h = static_cast<const uint16_t *>(t.data)[i];
    int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    double sign = (h & 0x8000) ? -1.0 : 1.0;
    if (exp == 0)
      return sign * std::ldexp(mant, -24);
    if (exp == 31)
      return mant ? std::numeric_limits<double>::quiet_NaN()
                  : sign * std::numeric_limits<double>::infinity();
    return sign * std::ldexp(mant + 1024, exp - 25);
  }
  case LATHE_BF16: {
    uint32_t bits =
        static_cast<uint32_t>(static_cast<const uint16_t *>(t.data)[i]) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  case LATHE_I64:
    return static_cast<double>(static_cast<const int64_t *>(t.data)[i]);
  case LATHE_I32:
    return static_cast<const int32_t *>(t.data)[i];
  case LATHE_I16:
    return static_cast<const int16_t *>(t.data)[i];
  case LATHE_I8:
    return static_cast<const int8_t *>(t.data)[i];
  case LATHE_U8:
  case LATHE_BOOL:
    return static_cast<const uint8_t *>(t.data)[i];
  default:
    return 0;
  }
}

std::string mlir::lathe::summarize(const HostTensor &t) {
  std::string s =
      "shape " + shapeString(t.t) + " " + lathe_dtype_name(t.t.dtype);
  int64_t n = t.numElements();
  if (n == 0)
    return s + " (empty)";
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo, sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    double v = elementAsDouble(t.t, i);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    sum += v;
  }
  char buf[128];
  std::snprintf(buf, sizeof(buf), " min=%.6g max=%.6g mean=%.6g", lo, hi,
                sum / static_cast<double>(n));
  return s + buf;
}
