//===- ProfileTest.cpp - Profile counters and thread settings -------------===//

#include "TestUtils.h"

#include <cstring>

using namespace lathe::test;

namespace {

TEST(Profile, KernelsCountCallsAndTime) {
  std::vector<float> a(64 * 64, 1.f), b(64 * 64, 1.f), c(64 * 64);
  MemRef ma(a.data(), {64, 64}), mb(b.data(), {64, 64}), mc(c.data(), {64, 64});
  lathe_rt_matmul_f32(2, ma.desc(), 2, mb.desc(), 0, nullptr, 0, nullptr, 2,
                      mc.desc(), 0);
  int kind = findProfileKind("matmul");
  ASSERT_GE(kind, 0);
  lathe_rt_profile_reset();
  EXPECT_EQ(lathe_rt_profile_calls(kind), 0);
  EXPECT_EQ(lathe_rt_profile_ms(kind), 0.0);
  for (int i = 0; i < 3; ++i)
    lathe_rt_matmul_f32(2, ma.desc(), 2, mb.desc(), 0, nullptr, 0, nullptr, 2,
                        mc.desc(), 0);
  EXPECT_EQ(lathe_rt_profile_calls(kind), 3);
  EXPECT_GT(lathe_rt_profile_ms(kind), 0.0);
  EXPECT_EQ(c[0], 64.f);

  lathe_rt_softmax_f32(2, mc.desc(), 2, mc.desc(), 1);
  int sm = findProfileKind("softmax");
  ASSERT_GE(sm, 0);
  EXPECT_EQ(lathe_rt_profile_calls(sm), 1);
  EXPECT_EQ(takePending(), "");
}

TEST(Profile, ExternalSamplesAndBadIndices) {
  lathe_rt_profile_add("jit.forward", 2'500'000, 2);
  lathe_rt_profile_add("jit.forward", 500'000, 1);
  int kind = findProfileKind("jit.forward");
  ASSERT_GE(kind, 0);
  EXPECT_EQ(lathe_rt_profile_calls(kind), 3);
  EXPECT_DOUBLE_EQ(lathe_rt_profile_ms(kind), 3.0);
  EXPECT_STREQ(lathe_rt_profile_name(-1), "");
  EXPECT_STREQ(lathe_rt_profile_name(1 << 20), "");
  EXPECT_EQ(lathe_rt_profile_calls(-3), 0);
  EXPECT_EQ(lathe_rt_profile_ms(99999), 0.0);
}

TEST(Threads, SetAndGet) {
  int before = lathe_rt_get_num_threads();
  EXPECT_GE(before, 1);
  lathe_rt_set_num_threads(1);
  EXPECT_EQ(lathe_rt_get_num_threads(), 1);
  // Kernels still run (and give the same answer) with one thread.
  std::vector<float> a(32 * 32, 0.5f), b(32 * 32, 2.f), c(32 * 32);
  MemRef ma(a.data(), {32, 32}), mb(b.data(), {32, 32}), mc(c.data(), {32, 32});
  lathe_rt_matmul_f32(2, ma.desc(), 2, mb.desc(), 0, nullptr, 0, nullptr, 2,
                      mc.desc(), 0);
  EXPECT_EQ(c[5], 32.f);
  lathe_rt_set_num_threads(before);
  EXPECT_EQ(lathe_rt_get_num_threads(), before);
}

} // namespace
