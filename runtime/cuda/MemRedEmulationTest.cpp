//===- MemRedEmulationTest.cpp - memred's CUDA kernels, run on the CPU ----===//
//
// No GPU is needed: MemRedKernels.cu is compiled here as C++ with CUDA's
// thread model emulated (one std::thread per CUDA thread of a block, a
// barrier for __syncthreads, statics for __shared__), and driven by the real
// host side (MemRedKernels.cpp) through stand-ins for the runtime's launch,
// allocator and pending error. Every case is compared with the CPU runtime's
// kernel (lathe_rt_bank_append_policy_f32, lathe_rt_cross_modal_reduce_f32,
// themselves checked against numpy in test/e2e/memred-*.test) on the same
// inputs: the same count, the same rows bit for bit, the same messages.
//
//===----------------------------------------------------------------------===//

#include "lathe/runtime/Attention.h"
#include "lathe/runtime/CUDA.h"
#include "lathe/runtime/CUDAKernels.h"

#include "CudaInternal.h"
#include "TestUtils.h"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

//===----------------------------------------------------------------------===//
// CUDA's thread model on host threads
//===----------------------------------------------------------------------===//

namespace {

struct Dim3 {
  unsigned x = 0;
};

/// A reusable barrier for the threads of one emulated block.
class Barrier {
public:
  explicit Barrier(unsigned count) : count(count) {}
  void wait() {
    std::unique_lock<std::mutex> lock(mutex);
    unsigned gen = generation;
    if (++arrived == count) {
      arrived = 0;
      ++generation;
      cv.notify_all();
      return;
    }
    cv.wait(lock, [&] { return gen != generation; });
  }

private:
  std::mutex mutex;
  std::condition_variable cv;
  unsigned count, arrived = 0, generation = 0;
};

thread_local Dim3 threadIdx;
Dim3 blockIdx, blockDim, gridDim;
Barrier *blockBarrier = nullptr;

inline void __syncthreads() { blockBarrier->wait(); }

} // namespace

#define __global__
#define __device__
#define __host__
#define __launch_bounds__(n)
#define __shared__ static
#include "MemRedKernels.cu"
#undef __shared__

//===----------------------------------------------------------------------===//
// Stand-ins for the runtime MemRedKernels.cpp calls
//===----------------------------------------------------------------------===//

namespace {

using Runner = void (*)(void **params);
struct Kernel {
  const char *name;
  Runner run;
  bool usesBlock; ///< __syncthreads and shared memory: the real block size
};

template <typename P> P &param(void **params, int i) {
  return *static_cast<P *>(params[i]);
}

const Kernel kKernels[] = {
    {"lathe_memred_row_stats",
     [](void **p) {
       lathe_memred_row_stats(param<lathe_cuda::SelectParams>(p, 0));
     },
     false},
    {"lathe_memred_scores",
     [](void **p) {
       lathe_memred_scores(param<lathe_cuda::SelectParams>(p, 0));
     },
     false},
    {"lathe_memred_select",
     [](void **p) {
       lathe_memred_select(param<lathe_cuda::SelectParams>(p, 0));
     },
     false},
    {"lathe_memred_compact",
     [](void **p) {
       lathe_memred_compact(param<lathe_cuda::CompactParams>(p, 0));
     },
     false},
    {"lathe_memred_copy_rows",
     [](void **p) {
       lathe_memred_copy_rows(param<const float *>(p, 0), param<int64_t>(p, 1),
                              param<int64_t>(p, 2), param<float *>(p, 3),
                              param<int64_t>(p, 4), param<int64_t>(p, 5),
                              param<int64_t>(p, 6), param<int64_t>(p, 7));
     },
     false},
    {"lathe_memred_merge",
     [](void **p) { lathe_memred_merge(param<lathe_cuda::MergeParams>(p, 0)); },
     true},
};

std::string pending;
std::multiset<std::string> launched;
int64_t liveBlocks = 0;

std::string takeCudaPending() {
  std::string message = pending;
  pending.clear();
  return message;
}

} // namespace

void lathe_cuda::setPending(const std::string &message) {
  if (pending.empty())
    pending = message;
}

CUfunction lathe_cuda::ownKernel(const char *name) {
  for (const Kernel &k : kKernels)
    if (!std::strcmp(k.name, name))
      return reinterpret_cast<CUfunction>(const_cast<Kernel *>(&k));
  setPending(std::string("no kernel ") + name);
  return nullptr;
}

/// Runs `fn` block after block, each block's threads at once. Grid-stride
/// kernels take any launch shape, so they run on at most 2 blocks of 4
/// threads (still several threads sharing the work); a kernel that uses its
/// block runs with its real block size.
void lathe_cuda::launch(const char *, CUfunction fn, unsigned grid,
                        unsigned block, void **params) {
  const Kernel &k = *reinterpret_cast<const Kernel *>(fn);
  launched.insert(k.name);
  if (!k.usesBlock) {
    grid = std::min(grid, 2u);
    block = std::min(block, 4u);
  }
  gridDim.x = grid;
  blockDim.x = block;
  for (unsigned b = 0; b < grid; ++b) {
    blockIdx.x = b;
    Barrier barrier(block);
    blockBarrier = &barrier;
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < block; ++t)
      threads.emplace_back([&, t] {
        threadIdx.x = t;
        k.run(params);
      });
    for (std::thread &t : threads)
      t.join();
    blockBarrier = nullptr;
  }
}

extern "C" int lathe_cuda_alloc(size_t bytes, void **ptr) {
  *ptr = std::malloc(bytes);
  ++liveBlocks;
  return *ptr ? LATHE_CUDA_OK : LATHE_CUDA_ERROR;
}

extern "C" void lathe_cuda_free(void *ptr) {
  --liveBlocks;
  std::free(ptr);
}

//===----------------------------------------------------------------------===//
// Tests
//===----------------------------------------------------------------------===//

namespace {

using lathe::test::MemRef;
using lathe::test::randomVector;
using lathe::test::takePending;

class MemRedEmulationTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(takePending(), "");
    ASSERT_EQ(takeCudaPending(), "");
    launched.clear();
  }
  void TearDown() override { EXPECT_EQ(liveBlocks, 0) << "scratch leaked"; }
};

/// A bank append case: frame [F, C] (column stride frameCol, so that a
/// transposed frame is a view), queries [H, Lq, D] (or [Lq, D]: heads 0),
/// bank [cap, C].
struct BankCase {
  int64_t frameRows, c, heads, lq, d, cap, count;
  double recent, keep;
  float scale;
  int64_t policy, seed, step;
  bool transposedFrame = false;
};

/// Runs the CUDA host side (emulated kernels) and the CPU runtime on copies
/// of the same bank; returns the two new counts and banks.
void runBoth(const BankCase &k, unsigned seed, std::vector<float> &gpuBank,
             std::vector<float> &cpuBank, int64_t &gpuCount, int64_t &cpuCount,
             const std::vector<float> *queryData = nullptr,
             const std::vector<float> *bankData = nullptr) {
  auto frame = randomVector(k.frameRows * k.c, seed, -2.f, 2.f);
  int64_t heads = std::max<int64_t>(k.heads, 1);
  auto q = queryData ? *queryData
                     : randomVector(heads * k.lq * k.d, seed + 1, -2.f, 2.f);
  auto bank = bankData ? *bankData : randomVector(k.cap * k.c, seed + 2);
  std::vector<int64_t> qShape = {k.lq, k.d};
  if (k.heads)
    qShape.insert(qShape.begin(), k.heads);
  // A transposed frame: the data of a [C, F] tensor seen as [F, C].
  std::vector<int64_t> frameStrides = {k.c, 1};
  if (k.transposedFrame)
    frameStrides = {1, k.frameRows};
  auto frameBefore = frame;
  gpuBank = bank;
  cpuBank = bank;
  MemRef mf(frame.data(), {k.frameRows, k.c}, frameStrides),
      mq(q.data(), qShape), mg(gpuBank.data(), {k.cap, k.c}),
      mc(cpuBank.data(), {k.cap, k.c});
  int64_t qRank = int64_t(qShape.size());
  gpuCount = lathe_cuda_bank_append_policy_f32(
      2, mf.desc(), qRank, mq.desc(), 2, mg.desc(), k.count, k.recent, k.keep,
      k.scale, k.policy, k.seed, k.step);
  cpuCount = lathe_rt_bank_append_policy_f32(
      2, mf.desc(), qRank, mq.desc(), 2, mc.desc(), k.count, k.recent, k.keep,
      k.scale, k.policy, k.seed, k.step);
  EXPECT_EQ(frame, frameBefore) << "the frame is read only";
}

void expectSameBank(const BankCase &k, unsigned seed,
                    const std::vector<float> *queryData = nullptr,
                    const std::vector<float> *bankData = nullptr) {
  SCOPED_TRACE(testing::Message()
               << "policy " << k.policy << " count " << k.count << " cap "
               << k.cap << " frame " << k.frameRows << " seed " << seed);
  std::vector<float> gpu, cpu;
  int64_t gpuCount, cpuCount;
  runBoth(k, seed, gpu, cpu, gpuCount, cpuCount, queryData, bankData);
  ASSERT_EQ(takePending(), "");
  ASSERT_EQ(takeCudaPending(), "");
  ASSERT_EQ(gpuCount, cpuCount);
  // Rows past the count are unspecified; the valid ones agree bit for bit.
  ASSERT_EQ(0, std::memcmp(gpu.data(), cpu.data(),
                           sizeof(float) * size_t(cpuCount * k.c)));
}

TEST_F(MemRedEmulationTest, AppendThatFitsCopiesTheFrame) {
  BankCase k{4, 12, 2, 3, 4, 16, 5, 0.25, 0.5, 0.5f, 0, 0, 0};
  expectSameBank(k, 1);
  EXPECT_EQ(launched.count("lathe_memred_copy_rows"), 1u);
  EXPECT_EQ(launched.count("lathe_memred_select"), 0u);
  k.transposedFrame = true;
  k.count = 12; // fills the bank exactly
  expectSameBank(k, 2);
}

TEST_F(MemRedEmulationTest, EveryPolicyReducesAsTheCpuRuntime) {
  // The e2e test's shapes (18 rows reduced to 11), and a larger bank with
  // three heads, rank-2 queries and a transposed frame.
  for (int64_t policy = 0; policy <= 3; ++policy) {
    BankCase small{4, 12, 2, 3, 4, 16, 14, 0.25, 0.5, 0.5f, policy, 42, 1000};
    expectSameBank(small, 10 + unsigned(policy));
    BankCase wide{8, 32, 3, 5, 8, 40, 37, 0.1, 0.3, 0.35f, policy, 7, 3};
    expectSameBank(wide, 20 + unsigned(policy));
    BankCase oneHead{6, 10, 0, 4, 10, 20, 20, 0.2, 0.2, 0.3f, policy, 1, 2};
    oneHead.transposedFrame = true;
    expectSameBank(oneHead, 30 + unsigned(policy));
  }
}

TEST_F(MemRedEmulationTest, BanksLongerThanABlock) {
  // 300 + 20 rows reduced to 240 (80 merges): every thread of the merge
  // block and of the grid-stride kernels takes several rows.
  for (int64_t policy : {0, 3}) {
    BankCase k{20, 8, 2, 2, 4, 300, 300, 0.5, 0.5, 0.5f, policy, 0, 0};
    expectSameBank(k, 60 + unsigned(policy));
  }
}

TEST_F(MemRedEmulationTest, OnlyTheScoringPoliciesScore) {
  BankCase k{4, 12, 2, 3, 4, 16, 14, 0.25, 0.5, 0.5f, 2, 42, 1000};
  expectSameBank(k, 3); // random: priorities, no scores
  EXPECT_EQ(launched.count("lathe_memred_scores"), 0u);
  EXPECT_EQ(launched.count("lathe_memred_select"), 1u);
  launched.clear();
  k.policy = 1; // recent: no selection at all
  expectSameBank(k, 4);
  EXPECT_EQ(launched.count("lathe_memred_select"), 0u);
  EXPECT_EQ(launched.count("lathe_memred_compact"), 1u);
}

TEST_F(MemRedEmulationTest, TiesNaNAndZeroRowsAsTheCpuRuntime) {
  // All-zero queries: every score ties (the newer token wins); a NaN query
  // makes every total NaN (NaN ranks first, ties to the newer); a bank of
  // equal and zero rows gives the merge equal and zero similarities.
  BankCase k{4, 12, 2, 3, 4, 16, 14, 0.25, 0.5, 0.5f, 0, 0, 0};
  std::vector<float> zeros(2 * 3 * 4, 0.f);
  expectSameBank(k, 5, &zeros);
  std::vector<float> nanQ = randomVector(2 * 3 * 4, 6);
  nanQ[7] = NAN;
  expectSameBank(k, 7, &nanQ);
  std::vector<float> flat(16 * 12, 1.f);
  for (int64_t e = 0; e < 12; ++e)
    flat[5 * 12 + e] = flat[9 * 12 + e] = 0.f;
  flat[3 * 12] = NAN;
  for (int64_t policy : {0, 3}) {
    k.policy = policy;
    expectSameBank(k, 8, nullptr, &flat);
  }
}

TEST_F(MemRedEmulationTest, BadInputIsTheCpuRuntimesError) {
  std::vector<float> gpu, cpu;
  int64_t gpuCount, cpuCount;
  auto same = [&](const BankCase &k, const std::string &expected) {
    runBoth(k, 1, gpu, cpu, gpuCount, cpuCount);
    std::string g = takeCudaPending(), c = takePending();
    EXPECT_NE(g.find(expected), std::string::npos) << g;
    EXPECT_NE(c.find(g), std::string::npos) << "CPU: " << c << "\nCUDA: " << g;
    EXPECT_EQ(gpuCount, k.count);
    EXPECT_EQ(cpuCount, k.count);
  };
  BankCase k{4, 12, 2, 3, 4, 16, 17, 0.25, 0.5, 0.5f, 0, 0, 0};
  same(k, "bank append: count 17 is outside [0, capacity 16]");
  k.count = -1;
  same(k, "bank append: count -1 is outside [0, capacity 16]");
  k.count = 14;
  k.policy = 7;
  same(k, "bank append: unknown policy 7 (0 adacm2, 1 recent, 2 random, "
          "3 merge)");
  k.policy = 0;
  k.recent = 0;
  same(k, "bank append: fractions must be in (0, 1], got recent 0 and keep "
          "0.5");
  k.recent = 1;
  same(k, "bank append: keeps 18 of 18 rows, more than the capacity 16");
  k.recent = 0.25;
  k.d = 7; // 2 heads x 7 > 12 columns
  same(k, "bank append: queries [2x3x7] need keys of 14 columns, but bank "
          "rows have 12");
}

TEST_F(MemRedEmulationTest, CrossModalReduceAsTheCpuRuntime) {
  int64_t h = 2, lq = 3, d = 8, n = 40, c = 16;
  auto q = randomVector(h * lq * d, 50, -2.f, 2.f);
  auto k = randomVector(h * n * d, 51, -2.f, 2.f);
  auto t = randomVector(n * c, 52);
  int64_t m = lathe_rt_cross_modal_kept_count(n, 0.2, 0.25);
  std::vector<float> gpu(m * c, -1.f), cpu(m * c, -2.f);
  MemRef mq(q.data(), {h, lq, d}), mk(k.data(), {h, n, d}),
      mt(t.data(), {n, c}), mg(gpu.data(), {m, c}), mc(cpu.data(), {m, c});
  lathe_cuda_cross_modal_reduce_f32(3, mq.desc(), 3, mk.desc(), 2, mt.desc(), 2,
                                    mg.desc(), 0.2, 0.25, 0.35f);
  lathe_rt_cross_modal_reduce_f32(3, mq.desc(), 3, mk.desc(), 2, mt.desc(), 2,
                                  mc.desc(), 0.2, 0.25, 0.35f);
  ASSERT_EQ(takePending(), "");
  ASSERT_EQ(takeCudaPending(), "");
  EXPECT_EQ(gpu, cpu);
  // Keys seen through a transposed view ([H, D, N] data as [H, N, D]).
  std::vector<float> kt(h * d * n);
  for (int64_t a = 0; a < h; ++a)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t e = 0; e < d; ++e)
        kt[(a * d + e) * n + j] = k[(a * n + j) * d + e];
  std::fill(gpu.begin(), gpu.end(), -1.f);
  MemRef mkt(kt.data(), {h, n, d}, {d * n, 1, n});
  lathe_cuda_cross_modal_reduce_f32(3, mq.desc(), 3, mkt.desc(), 2, mt.desc(),
                                    2, mg.desc(), 0.2, 0.25, 0.35f);
  ASSERT_EQ(takeCudaPending(), "");
  EXPECT_EQ(gpu, cpu);
  // Errors: the output's rows, the fractions.
  MemRef bad(gpu.data(), {m - 1, c});
  lathe_cuda_cross_modal_reduce_f32(3, mq.desc(), 3, mk.desc(), 2, mt.desc(), 2,
                                    bad.desc(), 0.2, 0.25, 0.35f);
  lathe_rt_cross_modal_reduce_f32(3, mq.desc(), 3, mk.desc(), 2, mt.desc(), 2,
                                  bad.desc(), 0.2, 0.25, 0.35f);
  std::string g = takeCudaPending(), cpuMessage = takePending();
  EXPECT_EQ(g, "cross-modal reduce: keeps 16 of 40 tokens but the output has "
               "15 rows");
  EXPECT_NE(cpuMessage.find(g), std::string::npos) << cpuMessage;
  lathe_cuda_cross_modal_reduce_f32(3, mq.desc(), 3, mk.desc(), 2, mt.desc(), 2,
                                    mg.desc(), 1.5, 0.25, 0.35f);
  lathe_rt_cross_modal_reduce_f32(3, mq.desc(), 3, mk.desc(), 2, mt.desc(), 2,
                                  mg.desc(), 1.5, 0.25, 0.35f);
  g = takeCudaPending();
  cpuMessage = takePending();
  EXPECT_EQ(g, "cross-modal reduce: fractions must be in (0, 1], got recent "
               "1.5 and keep 0.25");
  EXPECT_NE(cpuMessage.find(g), std::string::npos) << cpuMessage;
}

} // namespace
