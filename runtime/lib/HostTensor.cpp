//===- HostTensor.cpp - Dense host tensors and dtype helpers --------------===//

#include "HostTensor.h"

#include <cstdlib>
#include <cstring>
#include <limits>

using namespace lathe::rt;

namespace {
struct DtypeInfo {
  const char *name;
  size_t size;
};

constexpr DtypeInfo kDtypes[LATHE_DTYPE_COUNT] = {
    {"float32", 4}, {"float64", 8}, {"float16", 2}, {"bfloat16", 2},
    {"int64", 8},   {"int32", 4},   {"int16", 2},   {"int8", 1},
    {"uint8", 1},   {"bool", 1},
};
} // namespace

bool lathe::rt::isValidDtype(lathe_dtype dtype) {
  return static_cast<int>(dtype) >= 0 &&
         static_cast<int>(dtype) < LATHE_DTYPE_COUNT;
}

int64_t lathe::rt::checkedNumel(int32_t rank, const int64_t *shape,
                                size_t elementSize, const std::string &what) {
  if (rank < 0 || rank > LATHE_MAX_RANK)
    fail(LATHE_ERR_SHAPE, what, ": rank ", rank, " is outside [0, ",
         LATHE_MAX_RANK, "]");
  if (rank > 0 && !shape)
    fail(LATHE_ERR_INVALID, what, ": null shape");
  int64_t numel = 1;
  for (int32_t i = 0; i < rank; ++i) {
    if (shape[i] < 0)
      fail(LATHE_ERR_SHAPE, what, ": negative dimension ", shape[i]);
    if (shape[i] != 0 && numel > std::numeric_limits<int64_t>::max() / shape[i])
      fail(LATHE_ERR_SHAPE, what, ": element count overflows");
    numel *= shape[i];
  }
  if (elementSize && numel > std::numeric_limits<int64_t>::max() /
                                 static_cast<int64_t>(elementSize))
    fail(LATHE_ERR_SHAPE, what, ": byte size overflows");
  return numel;
}

void lathe::rt::allocHostTensor(lathe_host_tensor &t, lathe_dtype dtype,
                                int32_t rank, const int64_t *shape,
                                const std::string &what) {
  if (!isValidDtype(dtype))
    fail(LATHE_ERR_DTYPE, what, ": invalid dtype code ",
         static_cast<int>(dtype));
  size_t elementSize = lathe_dtype_size(dtype);
  int64_t numel = checkedNumel(rank, shape, elementSize, what);
  size_t bytes = static_cast<size_t>(numel) * elementSize;
  // Zero-element tensors still get a non-null buffer so callers need no
  // special case.
  void *data = std::calloc(bytes ? bytes : 1, 1);
  if (!data)
    fail(LATHE_ERR_OOM, what, ": out of memory allocating ", bytes, " bytes");
  t = lathe_host_tensor{};
  t.dtype = dtype;
  t.rank = rank;
  for (int32_t i = 0; i < rank; ++i)
    t.shape[i] = shape[i];
  t.data = data;
}

extern "C" size_t lathe_dtype_size(lathe_dtype dtype) {
  return isValidDtype(dtype) ? kDtypes[dtype].size : 0;
}

extern "C" const char *lathe_dtype_name(lathe_dtype dtype) {
  return isValidDtype(dtype) ? kDtypes[dtype].name : "invalid";
}

extern "C" int64_t lathe_host_tensor_numel(const lathe_host_tensor *t) {
  if (!t || t->rank < 0 || t->rank > LATHE_MAX_RANK)
    return 0;
  int64_t numel = 1;
  for (int32_t i = 0; i < t->rank; ++i)
    numel *= t->shape[i];
  return numel;
}

extern "C" lathe_status lathe_host_tensor_alloc(lathe_host_tensor *t,
                                                lathe_dtype dtype, int32_t rank,
                                                const int64_t *shape) {
  return guardStatus("lathe_host_tensor_alloc", [&] {
    if (!t)
      fail(LATHE_ERR_INVALID, "null tensor");
    t->data = nullptr;
    allocHostTensor(*t, dtype, rank, shape, "tensor");
  });
}

extern "C" void lathe_host_tensor_free(lathe_host_tensor *t) {
  if (!t)
    return;
  std::free(t->data);
  t->data = nullptr;
}
