//===- QCommArithTest.cpp - qcomm kernel arithmetic without a GPU ---------===//
//
// The CUDA qcomm kernels' element arithmetic (QCommArith.h, the code the
// kernels run) executed on the host the way the kernels schedule it (a
// group's maximum, then its bytes; the Hadamard transform's butterflies by
// lane exchange) against independent references: the CPU runtime's
// kernels (Quant.h; a GPU rank must produce their bytes and scales bit for
// bit), int4 bytes written out by hand, and the Hadamard matrix in double.
// Also the communicator groups (CommGroups.h) against tables written here.
//
//===----------------------------------------------------------------------===//

#include "QCommArith.h"

#include "CommGroups.h"
#include "lathe/runtime/CUDA.h"
#include "lathe/runtime/CUDAQComm.h"
#include "lathe/runtime/Quant.h"
#include "lathe/runtime/Runtime.h"

#include "TestUtils.h"

#include <cstring>
#include <dlfcn.h>
#include <limits>

using namespace lathe_cuda::qcomm;
using lathe::test::MemRef;
using lathe::test::randomVector;

namespace {

/// lathe_qcomm_quantize's work on the host: per group the largest |x| as
/// bits (the warp's shuffle maximum), the scale, then every byte.
void emulateQuantize(QuantizeParams p) {
  for (int64_t g = 0; g < p.groups; ++g) {
    uint32_t m = 0;
    for (int64_t i = 0; i < p.group; ++i)
      m = std::max(m, absBits(quantizeSource(p, g * p.group + i)));
    float scale = scaleOf(m, p.bits);
    p.scales[g] = scale;
    int64_t bytes = p.group * p.bits / 8;
    for (int64_t b = 0; b < bytes; ++b)
      p.q[g * bytes + b] = quantizedByte(p, g, b, scale);
  }
}

/// lathe_qcomm_hadamard32 on the host: lane l exchanges with lane l ^ h.
void emulateHadamard(const float *x, float *y, int64_t blocks) {
  for (int64_t blk = 0; blk < blocks; ++blk) {
    float v[32];
    std::memcpy(v, x + 32 * blk, sizeof(v));
    for (int h = 16; h >= 1; h /= 2) {
      float next[32];
      for (int lane = 0; lane < 32; ++lane)
        next[lane] = butterfly(v[lane], v[lane ^ h], (lane & h) != 0);
      std::memcpy(v, next, sizeof(v));
    }
    for (int lane = 0; lane < 32; ++lane)
      y[32 * blk + lane] = mulRn(v[lane], kInvSqrt32);
  }
}

/// Whether the CPU runtime recorded an error (printed).
bool pendingError() {
  char message[512];
  if (!lathe_rt_take_pending_error(message, sizeof(message)))
    return false;
  ADD_FAILURE() << message;
  return true;
}

bool sameBits(const std::vector<float> &a, const std::vector<float> &b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

/// Random values with the cases rounding is decided on: exact ties
/// (x / scale = k + 0.5 once the group's maximum is 7 or 127), zeros, a
/// group of zeros, a group with NaN and one with an infinity.
std::vector<float> awkwardValues(int64_t n, int64_t group, int bits,
                                 unsigned seed) {
  std::vector<float> x = randomVector(n, seed, -3.f, 3.f);
  float qmax = qmaxOf(bits);
  // Group 0: max |x| = qmax, so x / scale = x exactly; ties at k + 0.5.
  x[0] = qmax;
  for (int64_t i = 1; i < group && i < 8; ++i)
    x[i] = static_cast<float>(i) - 3.5f;
  if (n / group > 3) {
    std::fill(x.begin() + group, x.begin() + 2 * group, 0.f);
    x[2 * group + 1] = std::numeric_limits<float>::quiet_NaN();
    x[3 * group] = -std::numeric_limits<float>::infinity();
  }
  return x;
}

struct Case {
  int bits;
  int64_t group;
  bool stochastic;
};

class QuantizeMatchesCpu : public ::testing::TestWithParam<Case> {};

TEST_P(QuantizeMatchesCpu, BytesAndScales) {
  Case c = GetParam();
  const int64_t n = 16 * c.group;
  std::vector<float> x = awkwardValues(n, c.group, c.bits, 7);
  const int64_t seed = 0x1234567;
  std::vector<int8_t> q(n * c.bits / 8, 99), qCpu(q.size(), 99);
  std::vector<float> s(n / c.group), sCpu(s.size());

  QuantizeParams p;
  p.x = x.data();
  p.q = q.data();
  p.scales = s.data();
  p.groups = n / c.group;
  p.group = c.group;
  p.bits = c.bits;
  p.stochastic = c.stochastic;
  p.seed = seed;
  emulateQuantize(p);

  MemRef X(x.data(), {n}),
      Q(reinterpret_cast<float *>(qCpu.data()),
        {static_cast<int64_t>(qCpu.size())}),
      S(sCpu.data(), {static_cast<int64_t>(sCpu.size())});
  lathe_rt_quantize_f32(1, X.desc(), 1, Q.desc(), 1, S.desc(), c.bits, c.group,
                        c.stochastic ? LATHE_QUANT_STOCHASTIC : 0, seed);
  ASSERT_FALSE(pendingError());
  EXPECT_TRUE(sameBits(s, sCpu));
  EXPECT_EQ(q, qCpu);
  EXPECT_TRUE(std::isnan(s[2]));
  EXPECT_TRUE(std::isnan(s[3]));
  EXPECT_EQ(s[1], 0.f);
}

INSTANTIATE_TEST_SUITE_P(
    Qcomm, QuantizeMatchesCpu,
    ::testing::Values(Case{8, 64, false}, Case{8, 512, true},
                      Case{4, 128, false}, Case{4, 2048, true},
                      Case{4, 34, false}, Case{8, 40, true}));

TEST(QCommArith, Int4PackingByHand) {
  // Element 2i in the low nibble, two's complement.
  EXPECT_EQ(static_cast<uint8_t>(packPair(-1, 3)), 0x3Fu);
  EXPECT_EQ(static_cast<uint8_t>(packPair(7, -7)), 0x97u);
  EXPECT_EQ(static_cast<uint8_t>(packPair(-8, 0)), 0x08u);
  EXPECT_EQ(static_cast<uint8_t>(packPair(0, 1)), 0x10u);
  const int8_t bytes[] = {static_cast<int8_t>(0x3F), static_cast<int8_t>(0x97)};
  const int expected[] = {-1, 3, 7, -7};
  for (int e = 0; e < 4; ++e)
    EXPECT_EQ(quantizedAt(bytes, e, 4), expected[e]) << "element " << e;
  EXPECT_EQ(quantizedAt(bytes, 1, 8), -105);
}

TEST(QCommArith, RoundingByHand) {
  // Ties go to even; values beyond qmax clamp.
  EXPECT_EQ(quantizeValue(2.5f, 1.f, 4, false, 0, 0), 2);
  EXPECT_EQ(quantizeValue(-3.5f, 1.f, 4, false, 0, 0), -4);
  EXPECT_EQ(quantizeValue(9.f, 1.f, 4, false, 0, 0), 7);
  EXPECT_EQ(quantizeValue(-200.f, 1.f, 8, false, 0, 0), -127);
  // Stochastic: floor(t + u), u in [0, 1): t or t + 1 for a fraction.
  for (uint64_t i = 0; i < 64; ++i) {
    int r = quantizeValue(1.25f, 1.f, 8, true, 42, i);
    float u = uniformOffset(42, i);
    EXPECT_EQ(r, u >= 0.75f ? 2 : 1) << "index " << i;
  }
}

TEST(QCommArith, DequantizeReduceMatchesCpu) {
  for (int bits : {4, 8}) {
    const int64_t n = 1024, group = 128, parts = 3;
    std::vector<int8_t> q(parts * n * bits / 8);
    std::vector<float> s(parts * n / group);
    for (int64_t p = 0; p < parts; ++p) {
      std::vector<float> x = randomVector(n, 11 + p);
      MemRef X(x.data(), {n}),
          Q(reinterpret_cast<float *>(q.data() + p * n * bits / 8),
            {n * bits / 8}),
          S(s.data() + p * n / group, {n / group});
      lathe_rt_quantize_f32(1, X.desc(), 1, Q.desc(), 1, S.desc(), bits, group,
                            0, 0);
    }
    std::vector<float> y0 = randomVector(n, 5), y = y0, yCpu = y0;
    PartsView v;
    v.q = q.data();
    v.scales = s.data();
    v.n = n;
    v.parts = parts;
    v.group = group;
    v.bits = bits;
    for (int64_t e = 0; e < n; ++e)
      y[e] = addRn(y[e], sumParts(v, e));
    MemRef Q(reinterpret_cast<float *>(q.data()),
             {static_cast<int64_t>(q.size())}),
        S(s.data(), {static_cast<int64_t>(s.size())}), Y(yCpu.data(), {n});
    lathe_rt_dequantize_reduce_f32(1, Q.desc(), 1, S.desc(), 1, Y.desc(), parts,
                                   bits, group, LATHE_QUANT_ACCUMULATE);
    ASSERT_FALSE(pendingError());
    EXPECT_TRUE(sameBits(y, yCpu)) << bits << " bits";
  }
}

TEST(QCommArith, RequantizeMatchesCpu) {
  // SDP4Bit's step between the hops: 2 parts of 8-bit / 512, summed and
  // requantized at 4 bits / 128 (stochastic and to nearest).
  const int64_t n = 2048, parts = 2, group = 512, outGroup = 128;
  std::vector<int8_t> q(parts * n);
  std::vector<float> s(parts * n / group);
  for (int64_t p = 0; p < parts; ++p) {
    std::vector<float> x = randomVector(n, 21 + p, -2.f, 2.f);
    MemRef X(x.data(), {n}),
        Q(reinterpret_cast<float *>(q.data() + p * n), {n}),
        S(s.data() + p * n / group, {n / group});
    lathe_rt_quantize_f32(1, X.desc(), 1, Q.desc(), 1, S.desc(), 8, group, 0,
                          0);
  }
  for (bool stochastic : {false, true}) {
    std::vector<int8_t> qo(n / 2), qoCpu(n / 2);
    std::vector<float> so(n / outGroup), soCpu(n / outGroup);
    QuantizeParams p;
    p.in.q = q.data();
    p.in.scales = s.data();
    p.in.n = n;
    p.in.parts = parts;
    p.in.group = group;
    p.in.bits = 8;
    p.q = qo.data();
    p.scales = so.data();
    p.groups = n / outGroup;
    p.group = outGroup;
    p.bits = 4;
    p.stochastic = stochastic;
    p.seed = 77;
    emulateQuantize(p);
    MemRef Q(reinterpret_cast<float *>(q.data()),
             {static_cast<int64_t>(q.size())}),
        S(s.data(), {static_cast<int64_t>(s.size())}),
        QO(reinterpret_cast<float *>(qoCpu.data()), {n / 2}),
        SO(soCpu.data(), {n / outGroup});
    lathe_rt_dequantize_reduce_requantize_f32(
        1, Q.desc(), 1, S.desc(), 1, QO.desc(), 1, SO.desc(), parts, 8, group,
        4, outGroup, stochastic ? LATHE_QUANT_STOCHASTIC : 0, 77);
    ASSERT_FALSE(pendingError());
    EXPECT_TRUE(sameBits(so, soCpu)) << "stochastic " << stochastic;
    EXPECT_EQ(qo, qoCpu) << "stochastic " << stochastic;
  }
}

TEST(QCommArith, HadamardMatchesCpuAndMatrix) {
  const int64_t n = 32 * 9;
  std::vector<float> x = randomVector(n, 3), y(n), yCpu(n);
  emulateHadamard(x.data(), y.data(), n / 32);
  MemRef X(x.data(), {n}), Y(yCpu.data(), {n});
  lathe_rt_hadamard32_f32(1, X.desc(), 1, Y.desc());
  ASSERT_FALSE(pendingError());
  EXPECT_TRUE(sameBits(y, yCpu));
  // H32[i][j] = (-1)^popcount(i & j) / sqrt(32), in double.
  for (int64_t blk = 0; blk < n / 32; ++blk)
    for (int i = 0; i < 32; ++i) {
      double sum = 0;
      for (int j = 0; j < 32; ++j)
        sum += (__builtin_popcount(i & j) % 2 ? -1.0 : 1.0) * x[32 * blk + j];
      EXPECT_NEAR(y[32 * blk + i], sum / std::sqrt(32.0), 1e-5);
    }
}

//===----------------------------------------------------------------------===//
// Communicator groups (ncclCommSplit's color and key)
//===----------------------------------------------------------------------===//

namespace groups = lathe::comm_groups;

/// Comm.h's packing of a group's axes.
int64_t packGroup(std::initializer_list<int> axes) {
  int64_t packed = static_cast<int64_t>(axes.size());
  int k = 0;
  for (int axis : axes)
    packed |= static_cast<int64_t>(axis) << (4 + 4 * k++);
  return packed;
}

TEST(CommGroups, NodesTimesRanksPerNode) {
  // lathe-shard-data-parallel's grid: 2 nodes x 3 ranks per node. Axis 1 is
  // the node's ranks (intra-node hop), axis 0 the nodes (inter-node hop);
  // world rank = node * 3 + local.
  groups::Grid grid;
  ASSERT_TRUE(groups::unpackGrid(2 | 3 << 16, grid));
  EXPECT_EQ(grid.processes, 6);
  groups::Group intra, inter, both;
  ASSERT_TRUE(groups::unpackGroup(packGroup({1}), grid, intra));
  ASSERT_TRUE(groups::unpackGroup(packGroup({0}), grid, inter));
  ASSERT_TRUE(groups::unpackGroup(packGroup({1, 0}), grid, both));
  for (int64_t rank = 0; rank < 6; ++rank) {
    int64_t node = rank / 3, local = rank % 3;
    groups::Placement p = groups::place(grid, intra, rank);
    EXPECT_EQ(p.color, node) << rank; // one communicator per node
    EXPECT_EQ(p.groupIndex, local) << rank;
    EXPECT_EQ(p.groupSize, 3);
    p = groups::place(grid, inter, rank);
    EXPECT_EQ(p.color, local) << rank; // one per local rank, across nodes
    EXPECT_EQ(p.groupIndex, node) << rank;
    EXPECT_EQ(p.groupSize, 2);
    p = groups::place(grid, both, rank);
    EXPECT_EQ(p.color, 0);
    EXPECT_EQ(p.groupIndex, local * 2 + node) << rank; // [1, 0]: local slowest
    EXPECT_EQ(p.groupSize, 6);
  }
}

TEST(CommGroups, BadPackings) {
  groups::Grid grid;
  EXPECT_FALSE(groups::unpackGrid(0, grid));
  EXPECT_FALSE(groups::unpackGrid(int64_t(2) << 32, grid)); // gap at axis 1
  ASSERT_TRUE(groups::unpackGrid(2 | 2 << 16, grid));
  groups::Group group;
  EXPECT_FALSE(groups::unpackGroup(packGroup({2}), grid, group));
  EXPECT_FALSE(groups::unpackGroup(packGroup({0, 0}), grid, group));
  EXPECT_FALSE(groups::unpackGroup(packGroup({0}) | 1 << 12, grid, group));
  EXPECT_TRUE(groups::unpackGroup(0, grid, group)); // every process alone
  EXPECT_EQ(groups::place(grid, group, 3).groupSize, 1);
  EXPECT_EQ(groups::place(grid, group, 3).color, 3);
}

} // namespace

//===----------------------------------------------------------------------===//
// The runtime's argument checks and world (loaded as lathe-run loads it; no
// device needed: everything here fails before the first device call)
//===----------------------------------------------------------------------===//

namespace {

struct CudaApi {
  void *lib = dlopen(LATHE_CUDA_RUNTIME_PATH, RTLD_NOW | RTLD_LOCAL);
  template <typename T> T get(const char *name) {
    return reinterpret_cast<T>(dlsym(lib, name));
  }
  std::string pending() {
    const char *p = get<const char *(*)()>("lathe_cuda_take_pending_error")();
    return p ? p : "";
  }
  bool haveDevice() { return get<int (*)()>("lathe_cuda_init")() == 0; }
};

CudaApi &cuda() {
  static CudaApi api;
  return api;
}

TEST(CudaQComm, ArgumentChecksNameTheProblem) {
  ASSERT_NE(cuda().lib, nullptr) << dlerror();
  std::vector<float> x(64), s(2);
  std::vector<int8_t> q(64);
  MemRef X(x.data(), {64}), Q(reinterpret_cast<float *>(q.data()), {64}),
      S(s.data(), {2});
  auto quantize =
      cuda().get<decltype(&lathe_cuda_quantize_f32)>("lathe_cuda_quantize_f32");
  quantize(1, X.desc(), 1, Q.desc(), 1, S.desc(), 3, 32, 0, 0);
  EXPECT_EQ(cuda().pending(),
            "lathe_cuda_quantize_f32: bits must be 4 or 8, got 3");
  quantize(1, X.desc(), 1, Q.desc(), 1, S.desc(), 4, 32, 0, 0);
  EXPECT_EQ(cuda().pending(), "lathe_cuda_quantize_f32: q has 64 elements, "
                              "expected 32");
  MemRef strided(x.data(), {32}, {2});
  auto hadamard = cuda().get<decltype(&lathe_cuda_hadamard32_f32)>(
      "lathe_cuda_hadamard32_f32");
  hadamard(1, strided.desc(), 1, X.desc());
  EXPECT_EQ(cuda().pending(),
            "lathe_cuda_hadamard32_f32: x is not contiguous (the quantization "
            "kernels need an identity layout)");
}

int64_t broadcasts = 0, broadcastBytes = 0;
char rootStatus = 0;
int fakeBroadcast(void *data, int64_t bytes, int64_t root) {
  ++broadcasts;
  broadcastBytes = bytes;
  EXPECT_EQ(root, 0);
  static_cast<char *>(data)[0] |= rootStatus;
  return 0;
}

TEST(CudaQComm, WorldAndBootstrap) {
  ASSERT_NE(cuda().lib, nullptr) << dlerror();
  if (cuda().haveDevice())
    GTEST_SKIP() << "a fake world of 4 ranks would wait for its peers";
  auto gather = cuda().get<decltype(&lathe_cuda_comm_all_gather_i8)>(
      "lathe_cuda_comm_all_gather_i8");
  auto setBootstrap = cuda().get<decltype(&lathe_cuda_comm_set_bootstrap)>(
      "lathe_cuda_comm_set_bootstrap");
  auto last = cuda().get<const char *(*)()>("lathe_cuda_last_error");
  std::vector<int8_t> in(8), out(32);
  MemRef I(reinterpret_cast<float *>(in.data()), {8}),
      O(reinterpret_cast<float *>(out.data()), {32});
  const int64_t grid = 2 | 2 << 16, group = packGroup({1, 0});
  // The default world: the CPU runtime's, one process outside mpirun.
  gather(grid, group, 1, I.desc(), 1, O.desc());
  EXPECT_NE(cuda().pending().find("all-gather: the grid has 4 processes, but "
                                  "this CUDA run's world has 1 rank"),
            std::string::npos);
  // A world of 4: rank 0 makes the id (no device here: it fails) and still
  // broadcasts its status byte and the id, so the other ranks fail too.
  lathe_cuda_bootstrap b = {0, 4, fakeBroadcast};
  ASSERT_EQ(setBootstrap(&b), 0) << last();
  gather(grid, group, 1, I.desc(), 1, O.desc());
  EXPECT_EQ(broadcasts, 1);
  EXPECT_EQ(broadcastBytes, 129);
  EXPECT_NE(cuda().pending().find("all-gather: "), std::string::npos);
  // Rank 2 learns of rank 0's failure from the status byte.
  b.rank = 2;
  rootStatus = 1;
  ASSERT_EQ(setBootstrap(&b), 0) << last();
  gather(grid, group, 1, I.desc(), 1, O.desc());
  EXPECT_EQ(broadcasts, 2);
  EXPECT_EQ(cuda().pending(),
            "all-gather: rank 0 could not make NCCL's unique id");
  // Bad worlds are refused.
  lathe_cuda_bootstrap bad = {4, 4, fakeBroadcast};
  EXPECT_NE(setBootstrap(&bad), 0);
  bad = {0, 2, nullptr};
  EXPECT_NE(setBootstrap(&bad), 0);
  EXPECT_EQ(setBootstrap(nullptr), 0);
  // Nothing was sent: no counter.
  auto counters = cuda().get<decltype(&lathe_cuda_comm_counters)>(
      "lathe_cuda_comm_counters");
  EXPECT_EQ(counters(nullptr, 0), 0);
}

} // namespace
