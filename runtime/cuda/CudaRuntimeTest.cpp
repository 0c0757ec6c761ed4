// GoogleTest for libLatheRuntimeCUDA.so, loaded as lathe-run loads it
// (dlopen). On a machine without a device: init reports "no CUDA device"
// with the driver's reason and every call fails cleanly. With a device: the
// allocator's high-water mark, copies, the NCCL single-rank collectives.

#include "lathe/runtime/CUDA.h"
#include "lathe/runtime/CUDAKernels.h"

#include "TestUtils.h"

#include <gtest/gtest.h>

#include <dlfcn.h>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace {

struct Api {
  void *lib = nullptr;
  template <typename T> T get(const char *name) {
    return reinterpret_cast<T>(dlsym(lib, name));
  }
};

Api &api() {
  static Api a = [] {
    Api x;
    x.lib = dlopen(LATHE_CUDA_RUNTIME_PATH, RTLD_NOW | RTLD_LOCAL);
    return x;
  }();
  return a;
}

bool haveDevice() {
  auto init = api().get<int (*)()>("lathe_cuda_init");
  return init && init() == LATHE_CUDA_OK;
}

TEST(CudaRuntime, LoadsWithoutLinkingCuda) {
  ASSERT_NE(api().lib, nullptr) << dlerror();
  for (const char *name :
       {"lathe_cuda_init", "mgpuModuleLoad", "mgpuLaunchKernel", "mgpuMemAlloc",
        "mgpuMemcpy", "lathe_cuda_matmul_f32", "lathe_cuda_all_to_all_f32"})
    EXPECT_NE(dlsym(api().lib, name), nullptr) << name;
}

TEST(CudaRuntime, NoDeviceIsAStatus) {
  auto init = api().get<int (*)()>("lathe_cuda_init");
  auto last = api().get<const char *(*)()>("lathe_cuda_last_error");
  int status = init();
  struct stat st;
  bool nodes = stat("/dev/nvidiactl", &st) == 0;
  if (status == LATHE_CUDA_OK) {
    EXPECT_TRUE(nodes);
    return;
  }
  EXPECT_EQ(status, LATHE_CUDA_NO_DEVICE) << last();
  EXPECT_STRNE(last(), "");
  // Calls after a failed init fail the same way, twice (init is cached).
  EXPECT_EQ(init(), status);
  void *ptr = reinterpret_cast<void *>(1);
  auto alloc = api().get<int (*)(size_t, void **)>("lathe_cuda_alloc");
  EXPECT_NE(alloc(64, &ptr), LATHE_CUDA_OK);
  EXPECT_EQ(ptr, nullptr);
  char id[128];
  auto uid = api().get<int (*)(char *)>("lathe_cuda_nccl_unique_id");
  EXPECT_NE(uid(id), LATHE_CUDA_OK);
}

TEST(CudaRuntime, AllocatorHighWaterMark) {
  if (!haveDevice())
    GTEST_SKIP() << "no CUDA device";
  auto alloc = api().get<int (*)(size_t, void **)>("lathe_cuda_alloc");
  auto freeFn = api().get<void (*)(void *)>("lathe_cuda_free");
  auto peak = api().get<int64_t (*)()>("lathe_cuda_peak_bytes");
  auto live = api().get<int64_t (*)()>("lathe_cuda_live_bytes");
  int64_t base = live();
  void *a, *b;
  ASSERT_EQ(alloc(1 << 20, &a), LATHE_CUDA_OK);
  ASSERT_EQ(alloc(1 << 20, &b), LATHE_CUDA_OK);
  freeFn(a);
  freeFn(b);
  void *c;
  ASSERT_EQ(alloc(1 << 20, &c), LATHE_CUDA_OK);
  EXPECT_TRUE(c == a || c == b); // reused from the cache
  EXPECT_GE(peak(), base + (2 << 20));
  freeFn(c);
}

TEST(CudaRuntime, NcclSingleRankAllToAllIsIdentity) {
  if (!haveDevice())
    GTEST_SKIP() << "no CUDA device";
  auto uid = api().get<int (*)(char *)>("lathe_cuda_nccl_unique_id");
  auto initComm =
      api().get<int (*)(const char *, int, int, lathe_cuda_comm **)>(
          "lathe_cuda_nccl_init");
  auto a2a =
      api().get<int (*)(lathe_cuda_comm *, const float *, float *, size_t)>(
          "lathe_cuda_all_to_all_f32");
  auto alloc = api().get<int (*)(size_t, void **)>("lathe_cuda_alloc");
  auto toDev = api().get<int (*)(void *, const void *, size_t)>(
      "lathe_cuda_copy_to_device");
  auto toHost = api().get<int (*)(void *, const void *, size_t)>(
      "lathe_cuda_copy_to_host");
  char id[128];
  ASSERT_EQ(uid(id), LATHE_CUDA_OK);
  lathe_cuda_comm *comm = nullptr;
  ASSERT_EQ(initComm(id, 1, 0, &comm), LATHE_CUDA_OK);
  std::vector<float> x(1000), y(1000, 0.f);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = float(i) * 0.5f;
  void *dx, *dy;
  ASSERT_EQ(alloc(4000, &dx), LATHE_CUDA_OK);
  ASSERT_EQ(alloc(4000, &dy), LATHE_CUDA_OK);
  ASSERT_EQ(toDev(dx, x.data(), 4000), LATHE_CUDA_OK);
  ASSERT_EQ(a2a(comm, static_cast<float *>(dx), static_cast<float *>(dy), 1000),
            LATHE_CUDA_OK);
  ASSERT_EQ(toHost(y.data(), dy, 4000), LATHE_CUDA_OK);
  EXPECT_EQ(x, y);
}

/// The pending error of the last failed call ("" if none).
std::string takePending() {
  const char *p =
      api().get<const char *(*)()>("lathe_cuda_take_pending_error")();
  return p ? p : "";
}

// Each index width's entry of the sparse kernels reports its errors under its
// own name. The shape checks run before any device call: no device needed.
TEST(CudaRuntime, SparseEntriesNameThemselves) {
  ASSERT_NE(api().lib, nullptr) << dlerror();
  takePending(); // whatever an earlier test left
  std::vector<float> data(4);
  lathe::test::MemRef a(data.data(), {1}), x(data.data(), {1, 1});
  const std::string emptyGraph = ": empty graph: the adjacency is 0 x 1 (a "
                                 "graph needs at least one node)";
  for (const char *name :
       {"lathe_cuda_csr_transpose", "lathe_cuda_csr_transpose_i32"}) {
    auto transpose = api().get<decltype(&lathe_cuda_csr_transpose)>(name);
    ASSERT_NE(transpose, nullptr) << name;
    transpose(1, a.desc(), 1, a.desc(), 1, a.desc(), 1, a.desc(), 1, a.desc(),
              1, a.desc(), 0, 1);
    EXPECT_EQ(takePending(), name + emptyGraph);
  }
  for (const char *name :
       {"lathe_cuda_spmm_csr_f32", "lathe_cuda_spmm_csr_f32_i32"}) {
    auto spmm = api().get<decltype(&lathe_cuda_spmm_csr_f32)>(name);
    ASSERT_NE(spmm, nullptr) << name;
    spmm(1, a.desc(), 1, a.desc(), 1, a.desc(), 2, x.desc(), 2, x.desc(), 0, 1,
         0);
    EXPECT_EQ(takePending(), name + emptyGraph);
  }
  for (const char *name :
       {"lathe_cuda_spmm_tiled_f32", "lathe_cuda_spmm_tiled_f32_i32"}) {
    auto spmm = api().get<decltype(&lathe_cuda_spmm_tiled_f32)>(name);
    ASSERT_NE(spmm, nullptr) << name;
    spmm(1, a.desc(), 1, a.desc(), 1, a.desc(), 1, a.desc(), 1, a.desc(), 2,
         x.desc(), 2, x.desc(), 0, 1, 1, 0, 0);
    EXPECT_EQ(takePending(), name + emptyGraph);
  }
}

} // namespace
