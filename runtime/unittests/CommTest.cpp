//===- CommTest.cpp - Tests of the multi-rank collectives (Comm.h) --------===//
//
// One binary for every world size: ctest runs it under `mpirun -n 4`,
// `mpirun -n 2` and as a plain process (a world of 1); each case names the
// world size it is written for and is skipped in the others. Every rank runs
// the same tests in the same order (collectives must match up) and checks
// its own results against values computed here from the rank numbers, with
// each case's groups written out by hand as lists of world ranks in group
// order.
//
// `lathe-comm-tests --fault=MODE` runs one of the fault scenarios of
// comm-fault.sh instead of the tests.
//
//===----------------------------------------------------------------------===//

#include "lathe/runtime/Comm.h"

#include "TestUtils.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using lathe::test::MemRef;
using lathe::test::takePending;

namespace {

int64_t worldRank() { return lathe_rt_comm_rank(); }
int64_t worldSize() { return lathe_rt_comm_size(); }

/// Packs grid axis sizes (axis i in bits [16i, 16i+16)).
int64_t packGrid(std::vector<int64_t> sizes) {
  int64_t packed = 0;
  for (size_t i = 0; i < sizes.size(); ++i)
    packed |= sizes[i] << (16 * i);
  return packed;
}

/// Packs a group: count in bits 0-3, axis k in bits [4+4k, 8+4k).
int64_t packGroup(std::vector<int64_t> axes) {
  int64_t packed = static_cast<int64_t>(axes.size());
  for (size_t k = 0; k < axes.size(); ++k)
    packed |= axes[k] << (4 + 4 * k);
  return packed;
}

/// A memref descriptor over bytes with `elemBytes`-byte elements (the data
/// pointer is `base`; the offset counts elements).
struct ByteMemRef {
  std::vector<int64_t> words;
  ByteMemRef(void *base, std::vector<int64_t> sizes, int64_t offset = 0) {
    size_t rank = sizes.size();
    std::vector<int64_t> strides(rank, 1);
    for (size_t i = rank; i-- > 1;)
      strides[i - 1] = strides[i] * sizes[i];
    words.resize(3 + 2 * rank);
    words[0] = reinterpret_cast<int64_t>(base);
    words[1] = reinterpret_cast<int64_t>(base);
    words[2] = offset;
    for (size_t i = 0; i < rank; ++i) {
      words[3 + i] = sizes[i];
      words[3 + rank + i] = strides[i];
    }
  }
  int64_t rank() const { return static_cast<int64_t>((words.size() - 3) / 2); }
  void *desc() { return words.data(); }
};

/// One (grid, group) on a world of `world` ranks, with its groups listed by
/// hand: each inner list is one group's world ranks in group order.
struct Case {
  const char *name;
  int64_t world;
  std::vector<int64_t> grid;
  std::vector<int64_t> group;
  std::vector<std::vector<int64_t>> groups;
};

void PrintTo(const Case &c, std::ostream *os) { *os << c.name; }

const std::vector<Case> &cases() {
  static const std::vector<Case> all = {
      // 2x2: rank r sits at (r / 2, r % 2).
      {"g2x2_axes01", 4, {2, 2}, {0, 1}, {{0, 1, 2, 3}}},
      {"g2x2_axes10", 4, {2, 2}, {1, 0}, {{0, 2, 1, 3}}},
      {"g2x2_axis1", 4, {2, 2}, {1}, {{0, 1}, {2, 3}}},
      {"g2x2_axis0", 4, {2, 2}, {0}, {{0, 2}, {1, 3}}},
      {"g2x2_none", 4, {2, 2}, {}, {{0}, {1}, {2}, {3}}},
      {"g4_axis0", 4, {4}, {0}, {{0, 1, 2, 3}}},
      {"g2_axis0", 2, {2}, {0}, {{0, 1}}},
      {"g1x2_axis1", 2, {1, 2}, {1}, {{0, 1}}},
      {"g1x2_axis0", 2, {1, 2}, {0}, {{0}, {1}}},
      {"g2x1_axes10", 2, {2, 1}, {1, 0}, {{0, 1}}},
      {"g1_axis0", 1, {1}, {0}, {{0}}},
  };
  return all;
}

/// This rank's group (world ranks in group order) and index in it.
struct Membership {
  std::vector<int64_t> members;
  int64_t index = -1;
};

Membership membershipOf(const Case &c, int64_t rank) {
  for (const auto &g : c.groups)
    for (size_t i = 0; i < g.size(); ++i)
      if (g[i] == rank)
        return {g, static_cast<int64_t>(i)};
  return {};
}

/// The value rank `rank` puts at flat index `i` (exact in f32).
float value(int64_t rank, int64_t i) {
  return static_cast<float>(rank * 1000 + i);
}

template <typename T>
void expectEqualVectors(const std::vector<T> &actual,
                        const std::vector<T> &expected, const char *what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < actual.size(); ++i) {
    if (actual[i] != expected[i]) {
      ADD_FAILURE() << what << ": rank " << worldRank() << ", index " << i
                    << ": got " << +actual[i] << ", expected " << +expected[i];
      return;
    }
  }
}

/// The counter of (collective, group), or calls = -1.
lathe_comm_counter counterOf(const char *collective, int64_t group) {
  std::vector<lathe_comm_counter> all(lathe_rt_comm_counters(nullptr, 0));
  int64_t n =
      lathe_rt_comm_counters(all.data(), static_cast<int64_t>(all.size()));
  EXPECT_EQ(n, static_cast<int64_t>(all.size()));
  for (const auto &c : all)
    if (c.group == group && !std::strcmp(c.collective, collective))
      return c;
  lathe_comm_counter none{};
  none.calls = -1;
  return none;
}

class CommCase : public ::testing::TestWithParam<Case> {
protected:
  void SetUp() override {
    const Case &c = GetParam();
    if (worldSize() != c.world)
      GTEST_SKIP() << "written for " << c.world << " rank(s)";
    grid = packGrid(c.grid);
    group = packGroup(c.group);
    me = membershipOf(c, worldRank());
    ASSERT_GE(me.index, 0) << "rank " << worldRank() << " in no group";
    lathe_rt_comm_reset_counters();
    ASSERT_EQ(takePending(), "");
  }
  void TearDown() override { EXPECT_EQ(takePending(), ""); }

  int64_t grid = 0, group = 0;
  Membership me;
};

TEST_P(CommCase, GroupIndexAndSize) {
  EXPECT_EQ(lathe_rt_comm_group_index(grid, group), me.index);
  EXPECT_EQ(lathe_rt_comm_group_size(grid, group),
            static_cast<int64_t>(me.members.size()));
}

TEST_P(CommCase, AllGatherF32) {
  const int64_t n = 6, g = static_cast<int64_t>(me.members.size());
  std::vector<float> in(n), out(n * g, -1.f), expected;
  for (int64_t i = 0; i < n; ++i)
    in[i] = value(worldRank(), i);
  for (int64_t m : me.members)
    for (int64_t i = 0; i < n; ++i)
      expected.push_back(value(m, i));
  MemRef inRef(in.data(), {2, 3}), outRef(out.data(), {g * 2, 3});
  lathe_rt_comm_all_gather(grid, group, inRef.rank(), inRef.desc(),
                           outRef.rank(), outRef.desc(), 4);
  EXPECT_EQ(takePending(), "");
  expectEqualVectors(out, expected, "all_gather f32");
  // Twice: the second call uses the cached communicator.
  std::fill(out.begin(), out.end(), -1.f);
  lathe_rt_comm_all_gather(grid, group, inRef.rank(), inRef.desc(),
                           outRef.rank(), outRef.desc(), 4);
  expectEqualVectors(out, expected, "all_gather f32 (again)");
  lathe_comm_counter c = counterOf("all_gather", group);
  EXPECT_EQ(c.calls, 2);
  EXPECT_EQ(c.bytes, 2 * n * 4);
}

TEST_P(CommCase, AllGatherBytesWithOffsets) {
  // int8 and 2-byte elements, descriptors with a non-zero element offset.
  const int64_t n = 5, g = static_cast<int64_t>(me.members.size());
  std::vector<int8_t> in(n + 3), out(n * g + 2, 0);
  for (int64_t i = 0; i < n; ++i)
    in[3 + i] = static_cast<int8_t>(worldRank() * 20 - i);
  std::vector<int8_t> expected(out.begin(), out.begin() + 2);
  for (int64_t m : me.members)
    for (int64_t i = 0; i < n; ++i)
      expected.push_back(static_cast<int8_t>(m * 20 - i));
  ByteMemRef inRef(in.data(), {n}, 3), outRef(out.data(), {n * g}, 2);
  lathe_rt_comm_all_gather(grid, group, inRef.rank(), inRef.desc(),
                           outRef.rank(), outRef.desc(), 1);
  expectEqualVectors(out, expected, "all_gather i8");

  std::vector<uint16_t> in16(n + 1), out16(n * g + 1, 7);
  for (int64_t i = 0; i < n; ++i)
    in16[1 + i] = static_cast<uint16_t>(worldRank() * 300 + i);
  std::vector<uint16_t> expected16{7};
  for (int64_t m : me.members)
    for (int64_t i = 0; i < n; ++i)
      expected16.push_back(static_cast<uint16_t>(m * 300 + i));
  ByteMemRef in16Ref(in16.data(), {1, n}, 1),
      out16Ref(out16.data(), {n * g}, 1);
  lathe_rt_comm_all_gather(grid, group, in16Ref.rank(), in16Ref.desc(),
                           out16Ref.rank(), out16Ref.desc(), 2);
  expectEqualVectors(out16, expected16, "all_gather 2-byte");
  lathe_comm_counter c = counterOf("all_gather", group);
  EXPECT_EQ(c.calls, 2);
  EXPECT_EQ(c.bytes, n * 1 + n * 2);
}

TEST_P(CommCase, AllToAll) {
  const int64_t g = static_cast<int64_t>(me.members.size()), b = 3, n = g * b;
  std::vector<float> in(n), out(n, -1.f), expected(n);
  for (int64_t i = 0; i < n; ++i)
    in[i] = value(worldRank(), i);
  // Block j of the output is block `me.index` of member j's input.
  for (int64_t j = 0; j < g; ++j)
    for (int64_t i = 0; i < b; ++i)
      expected[j * b + i] = value(me.members[j], me.index * b + i);
  MemRef inRef(in.data(), {n}), outRef(out.data(), {g, b});
  lathe_rt_comm_all_to_all(grid, group, inRef.rank(), inRef.desc(),
                           outRef.rank(), outRef.desc(), 4);
  EXPECT_EQ(takePending(), "");
  expectEqualVectors(out, expected, "all_to_all");

  // i8 blocks: all-to-all twice is the identity (block j goes to member j
  // and comes back).
  std::vector<int8_t> bytes(n), once(n), twice(n);
  for (int64_t i = 0; i < n; ++i)
    bytes[i] = static_cast<int8_t>(worldRank() * 10 + i);
  ByteMemRef a(bytes.data(), {n}), b1(once.data(), {n}), b2(twice.data(), {n});
  lathe_rt_comm_all_to_all(grid, group, a.rank(), a.desc(), b1.rank(),
                           b1.desc(), 1);
  lathe_rt_comm_all_to_all(grid, group, b1.rank(), b1.desc(), b2.rank(),
                           b2.desc(), 1);
  expectEqualVectors(twice, bytes, "all_to_all twice");
  lathe_comm_counter c = counterOf("all_to_all", group);
  EXPECT_EQ(c.calls, 3);
  EXPECT_EQ(c.bytes, n * 4 + 2 * n);
}

TEST_P(CommCase, AllToAllStridedViews) {
  // Send and receive buffers laid out [b, g, c]; the all-to-all sees them as
  // [g, b, c] views (strides [c, g * c, 1]), the layout the compiler hands
  // it instead of packed copies. Block j is column j of the buffer.
  const int64_t g = static_cast<int64_t>(me.members.size()), b = 3, c = 2;
  const int64_t n = g * b * c;
  std::vector<float> in(n), out(n, -1.f), expected(n);
  for (int64_t i = 0; i < n; ++i)
    in[i] = value(worldRank(), i);
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < g; ++j)
      for (int64_t k = 0; k < c; ++k)
        expected[(i * g + j) * c + k] =
            value(me.members[j], (i * g + me.index) * c + k);
  auto view = [&](float *data) {
    std::vector<int64_t> words = {reinterpret_cast<int64_t>(data),
                                  reinterpret_cast<int64_t>(data),
                                  0,
                                  g,
                                  b,
                                  c,
                                  c,
                                  g * c,
                                  1};
    return words;
  };
  std::vector<int64_t> inDesc = view(in.data()), outDesc = view(out.data());
  lathe_rt_comm_all_to_all(grid, group, 3, inDesc.data(), 3, outDesc.data(), 4);
  EXPECT_EQ(takePending(), "");
  expectEqualVectors(out, expected, "strided all_to_all");
  lathe_comm_counter counter = counterOf("all_to_all", group);
  EXPECT_EQ(counter.calls, 1);
  EXPECT_EQ(counter.bytes, n * 4);
}

TEST_P(CommCase, ReduceScatter) {
  const int64_t g = static_cast<int64_t>(me.members.size()), b = 4, n = g * b;
  std::vector<float> in(n), out(b, -1.f), expected(b, 0.f);
  for (int64_t i = 0; i < n; ++i)
    in[i] = value(worldRank(), i);
  for (int64_t i = 0; i < b; ++i)
    for (int64_t m : me.members)
      expected[i] += value(m, me.index * b + i);
  MemRef inRef(in.data(), {g, b}), outRef(out.data(), {b});
  lathe_rt_comm_reduce_scatter_sum_f32(grid, group, inRef.rank(), inRef.desc(),
                                       outRef.rank(), outRef.desc());
  EXPECT_EQ(takePending(), "");
  expectEqualVectors(out, expected, "reduce_scatter");
  lathe_comm_counter c = counterOf("reduce_scatter", group);
  EXPECT_EQ(c.calls, 1);
  EXPECT_EQ(c.bytes, n * 4);
}

TEST_P(CommCase, AllReduce) {
  const int64_t n = 7;
  std::vector<float> in(n), out(n, -1.f), expected(n, 0.f);
  for (int64_t i = 0; i < n; ++i)
    in[i] = value(worldRank(), i);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t m : me.members)
      expected[i] += value(m, i);
  MemRef inRef(in.data(), {n}), outRef(out.data(), {1, n});
  lathe_rt_comm_all_reduce_sum_f32(grid, group, inRef.rank(), inRef.desc(),
                                   outRef.rank(), outRef.desc());
  EXPECT_EQ(takePending(), "");
  expectEqualVectors(out, expected, "all_reduce");
  // In place.
  lathe_rt_comm_all_reduce_sum_f32(grid, group, inRef.rank(), inRef.desc(),
                                   inRef.rank(), inRef.desc());
  expectEqualVectors(in, expected, "all_reduce in place");
  lathe_comm_counter c = counterOf("all_reduce", group);
  EXPECT_EQ(c.calls, 2);
  EXPECT_EQ(c.bytes, 2 * n * 4);
  EXPECT_EQ(counterOf("all_gather", group).calls, -1);
}

/// A value whose sums depend on the order of the additions (magnitudes
/// from 2^-10 to 2^12, not exact in f32 when added).
float unevenValue(int64_t rank, int64_t i) {
  return std::ldexp(1.0f + 0.1234567f * static_cast<float>(rank + 1) +
                        0.0101f * static_cast<float>(i),
                    static_cast<int>((rank * 7 + i * 3) % 23) - 10);
}

/// The sum over `members` of unevenValue(member, i), added one member at a
/// time in ascending world rank.
float sumByWorldRank(std::vector<int64_t> members, int64_t i) {
  std::sort(members.begin(), members.end());
  float acc = unevenValue(members[0], i);
  for (size_t k = 1; k < members.size(); ++k)
    acc += unevenValue(members[k], i);
  return acc;
}

TEST_P(CommCase, DeterministicSumsAddInWorldRankOrder) {
  const int64_t g = static_cast<int64_t>(me.members.size()), b = 37, n = g * b;
  lathe_rt_comm_set_deterministic(1);
  EXPECT_EQ(lathe_rt_comm_deterministic(), 1);
  std::vector<float> in(n), out(b, -1.f), expected(b);
  for (int64_t i = 0; i < n; ++i)
    in[i] = unevenValue(worldRank(), i);
  for (int64_t i = 0; i < b; ++i)
    expected[i] = sumByWorldRank(me.members, me.index * b + i);
  MemRef inRef(in.data(), {n}), outRef(out.data(), {b});
  lathe_rt_comm_reduce_scatter_sum_f32(grid, group, inRef.rank(), inRef.desc(),
                                       outRef.rank(), outRef.desc());
  EXPECT_EQ(takePending(), "");
  expectEqualVectors(out, expected, "deterministic reduce_scatter");

  std::vector<float> all(b), allExpected(b);
  for (int64_t i = 0; i < b; ++i) {
    all[i] = unevenValue(worldRank(), i);
    allExpected[i] = sumByWorldRank(me.members, i);
  }
  MemRef allRef(all.data(), {b});
  lathe_rt_comm_all_reduce_sum_f32(grid, group, allRef.rank(), allRef.desc(),
                                   allRef.rank(), allRef.desc());
  EXPECT_EQ(takePending(), "");
  expectEqualVectors(all, allExpected, "deterministic all_reduce in place");
  lathe_rt_comm_set_deterministic(0);
  // The same bytes are handed over as without deterministic sums.
  EXPECT_EQ(counterOf("reduce_scatter", group).bytes, n * 4);
  EXPECT_EQ(counterOf("all_reduce", group).bytes, b * 4);
}

TEST_P(CommCase, SizeErrorsAreLocalAndNotCounted) {
  const int64_t g = static_cast<int64_t>(me.members.size());
  std::vector<float> a(64), b(64);
  MemRef in4(a.data(), {4}), out5(b.data(), {4 * g + 1});
  lathe_rt_comm_all_gather(grid, group, in4.rank(), in4.desc(), out5.rank(),
                           out5.desc(), 4);
  std::string e = takePending();
  EXPECT_NE(e.find("lathe_rt_comm_all_gather: all_gather over group"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("out has " + std::to_string(4 * g + 1) +
                   " elements but needs in's 4 times " + std::to_string(g)),
            std::string::npos)
      << e;

  MemRef out4(b.data(), {4});
  lathe_rt_comm_reduce_scatter_sum_f32(grid, group, in4.rank(), in4.desc(),
                                       out4.rank(), out4.desc());
  e = takePending();
  if (g == 1)
    EXPECT_EQ(e, "");
  else
    EXPECT_NE(e.find("in has 4 elements but needs out's 4 times"),
              std::string::npos)
        << e;

  MemRef out3(b.data(), {3});
  lathe_rt_comm_all_reduce_sum_f32(grid, group, in4.rank(), in4.desc(),
                                   out3.rank(), out3.desc());
  e = takePending();
  EXPECT_NE(e.find("in has 4 elements but out has 3"), std::string::npos) << e;

  if (g > 1) {
    MemRef inOdd(a.data(), {g + 1}), outOdd(b.data(), {g + 1});
    lathe_rt_comm_all_to_all(grid, group, inOdd.rank(), inOdd.desc(),
                             outOdd.rank(), outOdd.desc(), 4);
    e = takePending();
    EXPECT_NE(e.find("elements are not divisible by the group size " +
                     std::to_string(g)),
              std::string::npos)
        << e;
  }

  // A strided (non-contiguous) view.
  MemRef strided(a.data(), {2, 2}, {4, 1});
  MemRef out2x2(b.data(), {2, 2});
  lathe_rt_comm_all_reduce_sum_f32(grid, group, strided.rank(), strided.desc(),
                                   out2x2.rank(), out2x2.desc());
  e = takePending();
  EXPECT_NE(e.find("in ([2x2]) is not contiguous"), std::string::npos) << e;

  // Bad element size, group naming an axis the grid lacks.
  lathe_rt_comm_all_gather(grid, group, in4.rank(), in4.desc(), out4.rank(),
                           out4.desc(), 0);
  EXPECT_NE(takePending().find("element size 0"), std::string::npos);
  int64_t badGroup = packGroup({static_cast<int64_t>(GetParam().grid.size())});
  EXPECT_EQ(lathe_rt_comm_group_index(grid, badGroup), -1);
  e = takePending();
  EXPECT_NE(e.find("names axis " + std::to_string(GetParam().grid.size()) +
                   " but grid"),
            std::string::npos)
      << e;

  // None of the failed calls counted (the g == 1 reduce_scatter succeeded).
  lathe_comm_counter c = counterOf("all_gather", group);
  EXPECT_EQ(c.calls, -1);
  EXPECT_EQ(counterOf("all_reduce", group).calls, -1);
  EXPECT_EQ(counterOf("reduce_scatter", group).calls, g == 1 ? 1 : -1);
}

std::string caseName(const ::testing::TestParamInfo<Case> &info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Grids, CommCase, ::testing::ValuesIn(cases()),
                         caseName);

TEST(Comm, GridMustMatchTheWorld) {
  int64_t w = worldSize();
  std::vector<float> a(8), b(8);
  MemRef in(a.data(), {8}), out(b.data(), {8});
  // 2x2 on anything but 4 ranks; 2x2x2 (8) on 4.
  std::vector<int64_t> sizes =
      w == 4 ? std::vector<int64_t>{2, 2, 2} : std::vector<int64_t>{2, 2};
  int64_t n = w == 4 ? 8 : 4;
  std::string gridText = w == 4 ? "2x2x2" : "2x2";
  std::string expected =
      "lathe_rt_comm_all_reduce_sum_f32: grid " + gridText + " has " +
      std::to_string(n) + " processes but this run has " + std::to_string(w) +
      " rank(s): run with lathe-train --ranks=" + std::to_string(n) +
      " or under mpirun -n " + std::to_string(n);
  lathe_rt_comm_all_reduce_sum_f32(packGrid(sizes), packGroup({0}), in.rank(),
                                   in.desc(), out.rank(), out.desc());
  EXPECT_EQ(takePending(), expected);
  EXPECT_EQ(lathe_rt_comm_group_index(packGrid(sizes), packGroup({0})), -1);
  EXPECT_NE(takePending().find("processes but this run has"),
            std::string::npos);
  EXPECT_EQ(lathe_rt_comm_group_size(packGrid(sizes), packGroup({0})), -1);
  EXPECT_NE(takePending().find("processes but this run has"),
            std::string::npos);
}

TEST(Comm, SingleProcessWorld) {
  if (worldSize() != 1)
    GTEST_SKIP() << "for a plain process";
  EXPECT_EQ(worldRank(), 0);
  // The exact message of the contract.
  std::vector<float> a(4, 1.f), b(16);
  MemRef in(a.data(), {4}), out(b.data(), {16});
  lathe_rt_comm_all_gather(packGrid({2, 2}), packGroup({1, 0}), in.rank(),
                           in.desc(), out.rank(), out.desc(), 4);
  EXPECT_EQ(takePending(),
            "lathe_rt_comm_all_gather: grid 2x2 has 4 processes but this run "
            "has 1 rank(s): run with lathe-train --ranks=4 or under mpirun "
            "-n 4");
  // Host helpers are copies / no-ops.
  double sums[2] = {1.5, -2};
  EXPECT_EQ(lathe_rt_comm_all_reduce_sum_f64(sums, 2), 0);
  EXPECT_EQ(sums[0], 1.5);
  EXPECT_EQ(sums[1], -2);
  char src[3] = {'a', 'b', 'c'}, dst[3] = {};
  EXPECT_EQ(lathe_rt_comm_all_gather_bytes(src, dst, 3), 0);
  EXPECT_EQ(std::string(dst, 3), "abc");
  EXPECT_EQ(lathe_rt_comm_broadcast_bytes(src, 3, 0), 0);
  EXPECT_NE(lathe_rt_comm_broadcast_bytes(src, 3, 1), 0);
  EXPECT_NE(std::string(lathe_rt_last_error()).find("root 1 is not a rank"),
            std::string::npos);
  lathe_rt_comm_barrier();
  EXPECT_EQ(takePending(), "");
}

TEST(Comm, HostHelpers) {
  int64_t w = worldSize(), r = worldRank();
  lathe_rt_comm_reset_counters();
  // Broadcast from the last rank.
  std::vector<int32_t> data(5);
  for (int i = 0; i < 5; ++i)
    data[i] = static_cast<int32_t>(r * 100 + i);
  ASSERT_EQ(lathe_rt_comm_broadcast_bytes(data.data(), 20, w - 1), 0);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(data[i], (w - 1) * 100 + i);
  // All-gather of bytes.
  std::vector<uint8_t> mine = {static_cast<uint8_t>(r), 200, 7};
  std::vector<uint8_t> all(3 * w), expected;
  for (int64_t q = 0; q < w; ++q)
    expected.insert(expected.end(), {static_cast<uint8_t>(q), 200, 7});
  ASSERT_EQ(lathe_rt_comm_all_gather_bytes(mine.data(), all.data(), 3), 0);
  EXPECT_EQ(all, expected);
  // f64 sum.
  double v[3] = {static_cast<double>(r), 0.5, -1.0 * r * r};
  ASSERT_EQ(lathe_rt_comm_all_reduce_sum_f64(v, 3), 0);
  double s = 0, s2 = 0;
  for (int64_t q = 0; q < w; ++q) {
    s += q;
    s2 -= q * q;
  }
  EXPECT_EQ(v[0], s);
  EXPECT_EQ(v[1], 0.5 * w);
  EXPECT_EQ(v[2], s2);
  lathe_rt_comm_barrier();
  EXPECT_EQ(takePending(), "");
  // Host helpers are not counted.
  EXPECT_EQ(lathe_rt_comm_counters(nullptr, 0), 0);
}

TEST(Comm, CountersAcrossGroups) {
  if (worldSize() != 4)
    GTEST_SKIP() << "for 4 ranks";
  lathe_rt_comm_reset_counters();
  int64_t grid = packGrid({2, 2});
  int64_t g10 = packGroup({1, 0}), g1 = packGroup({1});
  ASSERT_EQ(g10, 2 | 1 << 4 | 0 << 8);
  std::vector<float> a(8, 1.f), b(8);
  MemRef in8(a.data(), {8}), out8(b.data(), {8}), out2(b.data(), {2});
  lathe_rt_comm_reduce_scatter_sum_f32(grid, g10, in8.rank(), in8.desc(),
                                       out2.rank(), out2.desc());
  lathe_rt_comm_all_reduce_sum_f32(grid, g1, in8.rank(), in8.desc(),
                                   out8.rank(), out8.desc());
  lathe_rt_comm_all_reduce_sum_f32(grid, g1, in8.rank(), in8.desc(),
                                   out8.rank(), out8.desc());
  ASSERT_EQ(takePending(), "");
  lathe_comm_counter c[4];
  ASSERT_EQ(lathe_rt_comm_counters(c, 4), 2);
  EXPECT_STREQ(c[0].collective, "reduce_scatter");
  EXPECT_EQ(c[0].group, g10);
  EXPECT_EQ(c[0].calls, 1);
  EXPECT_EQ(c[0].bytes, 32);
  EXPECT_STREQ(c[1].collective, "all_reduce");
  EXPECT_EQ(c[1].group, g1);
  EXPECT_EQ(c[1].calls, 2);
  EXPECT_EQ(c[1].bytes, 64);
  // A short array gets the first entries; the count is still the total.
  lathe_comm_counter one;
  EXPECT_EQ(lathe_rt_comm_counters(&one, 1), 2);
  EXPECT_STREQ(one.collective, "reduce_scatter");
}

TEST(Comm, CountersFromManyThreads) {
  // Groups of one process (empty group) are local copies, so threads may
  // run them concurrently on every world; the counters must add up.
  int64_t grid = packGrid({worldSize()}), group = packGroup({});
  lathe_rt_comm_reset_counters();
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 1);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      std::vector<float> a(5, static_cast<float>(t)), b(5);
      MemRef in(a.data(), {5}), out(b.data(), {5});
      for (int i = 0; i < 250; ++i) {
        lathe_rt_comm_all_reduce_sum_f32(grid, group, in.rank(), in.desc(),
                                         out.rank(), out.desc());
        ok[t] &= b[4] == static_cast<float>(t);
      }
    });
  for (auto &t : threads)
    t.join();
  EXPECT_EQ(ok, std::vector<int>(4, 1));
  lathe_comm_counter c = counterOf("all_reduce", group);
  EXPECT_EQ(c.calls, 1000);
  EXPECT_EQ(c.bytes, 1000 * 5 * 4);
  EXPECT_EQ(takePending(), "");
}

//===----------------------------------------------------------------------===//
// Fault scenarios (comm-fault.sh)
//===----------------------------------------------------------------------===//

double cpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

double wallSeconds() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// wait-cpu: one rank arrives 1.5 s late at a collective and the other
/// prints the wall and CPU time it spent waiting there: an all_reduce on a
/// grid of 2 (rank 1 late) and a barrier (rank 0 late). comm-fault.sh checks
/// that the waiting rank left its core idle.
int runWaitCpu(int64_t rank) {
  float x[4] = {1, 2, 3, 4}, y[4];
  MemRef in(x, {4}), out(y, {4});
  auto report = [&](const char *what, double wall0, double cpu0) {
    std::printf("rank %lld: waited %.3f s in %s, CPU time %.3f s\n",
                static_cast<long long>(rank), wallSeconds() - wall0, what,
                cpuSeconds() - cpu0);
    std::fflush(stdout);
  };
  if (rank == 1)
    usleep(1500 * 1000);
  double wall0 = wallSeconds(), cpu0 = cpuSeconds();
  lathe_rt_comm_all_reduce_sum_f32(packGrid({2}), packGroup({0}), in.rank(),
                                   in.desc(), out.rank(), out.desc());
  if (rank == 0)
    report("all_reduce", wall0, cpu0);
  if (rank == 0)
    usleep(1500 * 1000);
  wall0 = wallSeconds();
  cpu0 = cpuSeconds();
  lathe_rt_comm_barrier();
  if (rank == 1)
    report("barrier", wall0, cpu0);
  std::string e = takePending();
  if (!e.empty()) {
    std::fprintf(stderr, "rank %lld: %s\n", static_cast<long long>(rank),
                 e.c_str());
    return 1;
  }
  lathe_rt_comm_finalize();
  return 0;
}

/// Rank 1 dies (kill), stalls (stall) or everybody skips finalize
/// (no-finalize) around one all_reduce on a grid of 2; wait-cpu: runWaitCpu.
int runFault(const std::string &mode) {
  if (lathe_rt_comm_init() != 0) {
    std::fprintf(stderr, "init failed: %s\n", takePending().c_str());
    return 1;
  }
  int64_t rank = worldRank();
  if (worldSize() != 2) {
    std::fprintf(stderr, "fault scenarios need 2 ranks\n");
    return 1;
  }
  if (mode == "wait-cpu")
    return runWaitCpu(rank);
  float x[4] = {1, 2, 3, 4}, y[4];
  MemRef in(x, {4}), out(y, {4});
  if (rank == 1 && mode == "kill")
    std::raise(SIGKILL);
  if (rank == 1 && mode == "stall")
    sleep(60);
  lathe_rt_comm_all_reduce_sum_f32(packGrid({2}), packGroup({0}), in.rank(),
                                   in.desc(), out.rank(), out.desc());
  std::string e = takePending();
  if (!e.empty()) {
    std::fprintf(stderr, "rank %lld: %s\n", static_cast<long long>(rank),
                 e.c_str());
    return 1;
  }
  std::printf("rank %lld: all_reduce gave %g\n", static_cast<long long>(rank),
              y[0]);
  std::fflush(stdout);
  if (mode != "no-finalize")
    lathe_rt_comm_finalize();
  return 0;
}

/// On ranks other than 0, prints only failures, prefixed with the rank.
class FailurePrinter : public ::testing::EmptyTestEventListener {
public:
  explicit FailurePrinter(int64_t rank) : rank(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult &result) override {
    if (!result.failed())
      return;
    std::fprintf(stderr, "[rank %lld] %s:%d: failure\n%s\n",
                 static_cast<long long>(rank),
                 result.file_name() ? result.file_name() : "?",
                 result.line_number(), result.summary());
  }

private:
  int64_t rank;
};

} // namespace

int main(int argc, char **argv) {
  for (int i = 1; i < argc; ++i)
    if (!std::strncmp(argv[i], "--fault=", 8))
      return runFault(argv[i] + 8);
  ::testing::InitGoogleTest(&argc, argv);
  if (lathe_rt_comm_init() != 0) {
    std::fprintf(stderr, "lathe_rt_comm_init failed: %s\n",
                 takePending().c_str());
    return 1;
  }
  int64_t rank = worldRank();
  if (rank != 0) {
    auto &listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new FailurePrinter(rank));
  }
  int rc = RUN_ALL_TESTS();
  lathe_rt_comm_finalize();
  return rc;
}
