//===- MemoryTest.cpp - Allocator accounting and status tests -------------===//

#include "TestUtils.h"

#include <cstdlib>
#include <cstring>
#include <sys/resource.h>
#include <thread>
#include <vector>

using namespace lathe::test;

namespace {

TEST(Memory, PeakAndCurrentAccounting) {
  constexpr int64_t mb = 1 << 20;
  int64_t base = lathe_rt_mem_current();
  lathe_rt_mem_reset_peak();
  EXPECT_EQ(lathe_rt_mem_peak(), base);

  void *a = _mlir_memref_to_llvm_alloc(mb);
  void *b = lathe_rt_alloc(2 * mb);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(lathe_rt_mem_owns(a));
  EXPECT_TRUE(lathe_rt_mem_owns(b));
  EXPECT_EQ(lathe_rt_mem_current() - base, 3 * mb);

  _mlir_memref_to_llvm_free(a);
  EXPECT_FALSE(lathe_rt_mem_owns(a));
  EXPECT_EQ(lathe_rt_mem_current() - base, 2 * mb);
  EXPECT_EQ(lathe_rt_mem_peak() - base, 3 * mb);

  lathe_rt_mem_reset_peak();
  EXPECT_EQ(lathe_rt_mem_peak() - base, 2 * mb);
  lathe_rt_free(b);
  EXPECT_EQ(lathe_rt_mem_current(), base);
}

TEST(Memory, AlignmentAndZeroSize) {
  for (size_t align : {1, 16, 64, 128, 4096, 100}) {
    void *p = _mlir_memref_to_llvm_aligned_alloc(align, 37);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
    if ((align & (align - 1)) == 0) {
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % align, 0u);
    }
    _mlir_memref_to_llvm_free(p);
  }
  int64_t base = lathe_rt_mem_current();
  void *z = _mlir_memref_to_llvm_alloc(0);
  ASSERT_NE(z, nullptr);
  EXPECT_TRUE(lathe_rt_mem_owns(z));
  EXPECT_EQ(lathe_rt_mem_current(), base);
  _mlir_memref_to_llvm_free(z);
  EXPECT_FALSE(lathe_rt_mem_owns(z));
}

TEST(Memory, ForeignAndNullFreesAreNoOps) {
  int64_t base = lathe_rt_mem_current();
  _mlir_memref_to_llvm_free(nullptr);
  lathe_rt_free(nullptr);
  void *foreign = std::malloc(128);
  EXPECT_FALSE(lathe_rt_mem_owns(foreign));
  _mlir_memref_to_llvm_free(foreign); // Must not free or count it.
  static_cast<char *>(foreign)[0] = 1;
  std::free(foreign);
  int onStack = 0;
  lathe_rt_free(&onStack);
  EXPECT_EQ(lathe_rt_mem_current(), base);
}

TEST(Memory, DoubleFreeIsHarmless) {
  int64_t base = lathe_rt_mem_current();
  void *p = lathe_rt_alloc(256);
  lathe_rt_free(p);
  // The address may be reused by malloc elsewhere; a second free of an
  // address we no longer own must not touch the counters.
  lathe_rt_free(p);
  EXPECT_EQ(lathe_rt_mem_current(), base);
}

TEST(Memory, ConcurrentAllocFree) {
  int64_t base = lathe_rt_mem_current();
  auto work = [] {
    for (int i = 0; i < 2000; ++i) {
      void *p = _mlir_memref_to_llvm_alloc(64 + (i % 7) * 64);
      ASSERT_NE(p, nullptr);
      static_cast<char *>(p)[0] = 1;
      _mlir_memref_to_llvm_free(p);
    }
  };
  std::thread t1(work), t2(work), t3(work);
  t1.join();
  t2.join();
  t3.join();
  EXPECT_EQ(lathe_rt_mem_current(), base);
}

/// Minor page faults of the calling thread so far.
long minorFaults() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_minflt;
}

TEST(Memory, FreedBuffersStayMappedForTheNextCall) {
  // Generated code allocates, writes and frees the same activation buffers
  // on every call: the second round must not page-fault them in again
  // (glibc's defaults gave them back to the OS: one fault per 4 KiB).
  constexpr size_t kBytes = size_t(6) << 20;
  auto round = [] {
    std::vector<void *> blocks;
    for (int i = 0; i < 3; ++i) {
      blocks.push_back(lathe_rt_alloc(kBytes));
      std::memset(blocks.back(), 1, kBytes);
    }
    for (void *b : blocks)
      lathe_rt_free(b);
  };
  round();
  round();
  long before = minorFaults();
  round();
  long faults = minorFaults() - before;
  EXPECT_LT(faults, long(3 * kBytes / 4096 / 10)) << faults << " page faults";
}

TEST(Status, LastErrorIsPerCallAndPendingIsSticky) {
  lathe_host_tensor t{};
  EXPECT_EQ(lathe_npy_read("/nonexistent/dir/x.npy", &t), LATHE_ERR_IO);
  EXPECT_NE(std::string(lathe_rt_last_error()).find("/nonexistent/dir/x.npy"),
            std::string::npos);
  int64_t shape[1] = {2};
  EXPECT_EQ(lathe_host_tensor_alloc(&t, LATHE_F32, 1, shape), LATHE_OK);
  EXPECT_STREQ(lathe_rt_last_error(), "");
  lathe_host_tensor_free(&t);
  EXPECT_EQ(t.data, nullptr);

  // Last error is thread-local.
  std::string other = "unset";
  std::thread([&] { other = lathe_rt_last_error(); }).join();
  EXPECT_EQ(other, "");

  char buf[8];
  EXPECT_EQ(lathe_rt_take_pending_error(buf, sizeof(buf)), 0);
}

TEST(HostTensor, AllocValidatesArguments) {
  lathe_host_tensor t{};
  int64_t bad[1] = {-1};
  EXPECT_EQ(lathe_host_tensor_alloc(&t, LATHE_F32, 1, bad), LATHE_ERR_SHAPE);
  int64_t ok[2] = {2, 3};
  EXPECT_EQ(lathe_host_tensor_alloc(&t, LATHE_DTYPE_COUNT, 2, ok),
            LATHE_ERR_DTYPE);
  EXPECT_EQ(lathe_host_tensor_alloc(&t, LATHE_F32, 9, ok), LATHE_ERR_SHAPE);
  int64_t huge[2] = {INT64_MAX / 2, 4};
  EXPECT_EQ(lathe_host_tensor_alloc(&t, LATHE_F32, 2, huge), LATHE_ERR_SHAPE);
  EXPECT_EQ(lathe_host_tensor_alloc(nullptr, LATHE_F32, 2, ok),
            LATHE_ERR_INVALID);
  ASSERT_EQ(lathe_host_tensor_alloc(&t, LATHE_I16, 2, ok), LATHE_OK);
  EXPECT_EQ(lathe_host_tensor_numel(&t), 6);
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(static_cast<int16_t *>(t.data)[i], 0);
  lathe_host_tensor_free(&t);
  lathe_host_tensor_free(nullptr);
}

TEST(HostTensor, DtypeNamesAndSizes) {
  const char *names[] = {"float32", "float64", "float16", "bfloat16", "int64",
                         "int32",   "int16",   "int8",    "uint8",    "bool"};
  size_t sizes[] = {4, 8, 2, 2, 8, 4, 2, 1, 1, 1};
  for (int i = 0; i < LATHE_DTYPE_COUNT; ++i) {
    EXPECT_STREQ(lathe_dtype_name(static_cast<lathe_dtype>(i)), names[i]);
    EXPECT_EQ(lathe_dtype_size(static_cast<lathe_dtype>(i)), sizes[i]);
  }
  EXPECT_EQ(lathe_dtype_size(LATHE_DTYPE_COUNT), 0u);
}

} // namespace
