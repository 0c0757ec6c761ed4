//===- SpMMTest.cpp - Sparse graph aggregation kernels --------------------===//

#include "lathe/runtime/Sparse.h"

#include "TestUtils.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <set>

using namespace lathe::test;

namespace {

/// A CSR matrix with typed indices, sorted columns, no duplicates.
template <typename Index> struct Csr {
  int64_t n = 0;
  std::vector<Index> rowPtr, colIdx;
  std::vector<float> values;
};

/// Random graph: background edges with probability `p`, plus dense diagonal
/// blocks of `blockSize` nodes filled with probability `blockP`.
template <typename Index>
Csr<Index> randomGraph(int64_t n, double p, int64_t blockSize, double blockP,
                       unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(0., 1.);
  Csr<Index> a;
  a.n = n;
  a.rowPtr.push_back(0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      bool sameBlock = blockSize > 0 && i / blockSize == j / blockSize;
      if (u(gen) < (sameBlock ? blockP : p)) {
        a.colIdx.push_back(static_cast<Index>(j));
        a.values.push_back(static_cast<float>(u(gen) - 0.5));
      }
    }
    a.rowPtr.push_back(static_cast<Index>(a.colIdx.size()));
  }
  return a;
}

template <typename Index>
std::vector<double> reference(const Csr<Index> &a, const std::vector<float> &x,
                              int64_t f) {
  std::vector<double> y(static_cast<size_t>(a.n * f), 0.);
  for (int64_t i = 0; i < a.n; ++i)
    for (Index k = a.rowPtr[i]; k < a.rowPtr[i + 1]; ++k)
      for (int64_t j = 0; j < f; ++j)
        y[i * f + j] += double(a.values[k]) * x[a.colIdx[k] * f + j];
  return y;
}

/// The tiled kernel's output for the stored matrix `a` with the permutation
/// operand `perm`: stored row i is node perm[i], and node p's row holds
/// A[i, j] at column perm[j], i.e. y[perm[i]] = sum_j A[i, j] x[perm[j]].
template <typename Index>
std::vector<double> permutedReference(const Csr<Index> &a,
                                      const std::vector<float> &x, int64_t f,
                                      const std::vector<int32_t> &perm) {
  std::vector<double> y(static_cast<size_t>(a.n * f), 0.);
  for (int64_t i = 0; i < a.n; ++i)
    for (Index k = a.rowPtr[i]; k < a.rowPtr[i + 1]; ++k)
      for (int64_t j = 0; j < f; ++j)
        y[perm[i] * f + j] +=
            double(a.values[k]) * x[perm[a.colIdx[k]] * f + j];
  return y;
}

template <typename T> MemRef vec(std::vector<T> &v) {
  return MemRef(reinterpret_cast<float *>(v.data()),
                {static_cast<int64_t>(v.size())});
}

template <typename Index> int64_t indexFlag() {
  return sizeof(Index) == 4 ? LATHE_SPMM_INDEX32 : 0;
}

template <typename Index>
std::vector<float> runCsr(Csr<Index> &a, std::vector<float> &x, int64_t f,
                          int64_t flags = 0) {
  std::vector<float> y(static_cast<size_t>(a.n * f), -7.f);
  MemRef rp = vec(a.rowPtr), ci = vec(a.colIdx), v = vec(a.values);
  MemRef xm(x.data(), {a.n, f}), ym(y.data(), {a.n, f});
  lathe_rt_spmm_csr_f32(1, rp.desc(), 1, ci.desc(), 1, v.desc(), 2, xm.desc(),
                        2, ym.desc(), a.n, a.n, flags | indexFlag<Index>());
  return y;
}

template <typename Index>
std::vector<float>
runTiled(Csr<Index> &a, std::vector<float> &x, int64_t f, int64_t tile,
         double threshold, std::vector<int8_t> *classes = nullptr,
         std::vector<Index> *perm = nullptr, int64_t flags = 0) {
  std::vector<float> y(static_cast<size_t>(a.n * f), -7.f);
  MemRef rp = vec(a.rowPtr), ci = vec(a.colIdx), v = vec(a.values);
  MemRef xm(x.data(), {a.n, f}), ym(y.data(), {a.n, f});
  std::vector<int8_t> none(1);
  std::vector<Index> noPerm(1);
  MemRef cm = vec(classes ? *classes : none);
  MemRef pm = vec(perm ? *perm : noPerm);
  flags |= indexFlag<Index>();
  if (!classes)
    flags |= LATHE_SPMM_CLASSIFY;
  if (perm)
    flags |= LATHE_SPMM_PERMUTED;
  lathe_rt_spmm_tiled_f32(1, rp.desc(), 1, ci.desc(), 1, v.desc(), 1, cm.desc(),
                          1, pm.desc(), 2, xm.desc(), 2, ym.desc(), a.n, a.n,
                          tile, static_cast<int64_t>(threshold * 1e6), flags);
  return y;
}

template <typename Index> void checkCsr() {
  for (int64_t f : {1, 5, 16, 37, 64, 130}) {
    Csr<Index> a = randomGraph<Index>(97, 0.05, 0, 0., 1);
    std::vector<float> x = randomVector(size_t(a.n * f), 2);
    std::vector<float> y = runCsr(a, x, f);
    EXPECT_EQ(takePending(), "");
    expectClose(y, reference(a, x, f));
  }
}

TEST(SpMMCsr, MatchesReferenceI64) { checkCsr<int64_t>(); }
TEST(SpMMCsr, MatchesReferenceI32) { checkCsr<int32_t>(); }

// Every register block (64, 32, 16, 4, 1 columns) and every remainder of the
// accumulator sets (rows of 0 to 9 non-zeros: 2 or 4 sets take consecutive
// non-zeros in turn), against the double-precision reference.
TEST(SpMMCsr, RegisterBlocksAndRowLengths) {
  Csr<int32_t> a;
  a.n = 40;
  a.rowPtr.push_back(0);
  std::mt19937 gen(31);
  std::uniform_int_distribution<int> col(0, 39);
  for (int64_t i = 0; i < a.n; ++i) {
    std::vector<int32_t> cols;
    while (static_cast<int64_t>(cols.size()) < i % 10) {
      int32_t c = col(gen);
      if (std::find(cols.begin(), cols.end(), c) == cols.end())
        cols.push_back(c);
    }
    std::sort(cols.begin(), cols.end());
    for (int32_t c : cols) {
      a.colIdx.push_back(c);
      a.values.push_back(static_cast<float>(c % 7) - 2.5f);
    }
    a.rowPtr.push_back(static_cast<int32_t>(a.colIdx.size()));
  }
  for (int64_t f : {1, 3, 4, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 96, 100,
                    128, 130, 256}) {
    SCOPED_TRACE(testing::Message() << "f=" << f);
    std::vector<float> x = randomVector(size_t(a.n * f), 32 + f);
    expectClose(runCsr(a, x, f), reference(a, x, f));
    expectClose(runTiled(a, x, f, 8, 2.0), reference(a, x, f));
    EXPECT_EQ(takePending(), "");
  }
}

// An output larger than the L2 cache is written with non-temporal stores
// (whole 64-byte lines only), and features larger than it are taken 64
// columns at a time over runs of rows (F > 64): against the reference at
// widths whose rows start on a cache line (64, 256), half of them (24, 40,
// 72, 200) or none (1, 5), F = 72 and 200 leaving 8 columns after the
// blocks of 64, with empty rows and NaN / Inf in x; the plain kernel and the
// tiled one with every tile sparse (the same loop), on one thread and two
// (each takes its own contiguous rows, then the other's).
TEST(SpMMCsr, LargeOutputMatchesReference) {
  std::mt19937 gen(13);
  Csr<int32_t> a;
  a.n = 40000;
  a.rowPtr.push_back(0);
  std::uniform_int_distribution<int32_t> col(0, int32_t(a.n - 1)), len(0, 7);
  for (int64_t i = 0; i < a.n; ++i) {
    std::set<int32_t> cols;
    int n = i % 11 == 0 ? 0 : len(gen);
    while (static_cast<int>(cols.size()) < n)
      cols.insert(col(gen));
    for (int32_t c : cols) {
      a.colIdx.push_back(c);
      a.values.push_back(static_cast<float>(c % 5) - 1.5f);
    }
    a.rowPtr.push_back(static_cast<int32_t>(a.colIdx.size()));
  }
  const int saved = lathe_rt_get_num_threads();
  for (int64_t f : {1, 5, 24, 40, 64, 72, 200, 256}) {
    std::vector<float> x = randomVector(size_t(a.n * f), 14);
    x[size_t(a.colIdx[3]) * f] = std::numeric_limits<float>::quiet_NaN();
    x[size_t(a.colIdx[7]) * f + f - 1] = std::numeric_limits<float>::infinity();
    std::vector<double> ref = reference(a, x, f);
    for (int threads : {1, 2})
      for (bool tiled : {false, true}) {
        SCOPED_TRACE(testing::Message() << "f=" << f << " threads=" << threads
                                        << (tiled ? " tiled" : " csr"));
        lathe_rt_set_num_threads(threads);
        // y on a 64-byte boundary, as the runtime's allocator gives it.
        std::vector<float> buf(size_t(a.n * f) + 16, -7.f);
        float *yd = buf.data();
        while (reinterpret_cast<uintptr_t>(yd) % 64)
          ++yd;
        MemRef rp = vec(a.rowPtr), ci = vec(a.colIdx), v = vec(a.values);
        MemRef xm(x.data(), {a.n, f}), ym(yd, {a.n, f});
        std::vector<int8_t> none(1);
        MemRef cm = vec(none);
        if (tiled)
          lathe_rt_spmm_tiled_f32(1, rp.desc(), 1, ci.desc(), 1, v.desc(), 1,
                                  cm.desc(), 1, rp.desc(), 2, xm.desc(), 2,
                                  ym.desc(), a.n, a.n, 64, 2000000,
                                  LATHE_SPMM_INDEX32 | LATHE_SPMM_CLASSIFY);
        else
          lathe_rt_spmm_csr_f32(1, rp.desc(), 1, ci.desc(), 1, v.desc(), 2,
                                xm.desc(), 2, ym.desc(), a.n, a.n,
                                LATHE_SPMM_INDEX32);
        EXPECT_EQ(takePending(), "");
        std::vector<float> y(yd, yd + a.n * f);
        size_t mismatched = 0;
        for (size_t k = 0; k < y.size(); ++k) {
          bool same = std::isnan(ref[k])   ? std::isnan(y[k])
                      : std::isinf(ref[k]) ? y[k] == ref[k]
                                           : std::abs(y[k] - ref[k]) <=
                                                 1e-5 * (1 + std::abs(ref[k]));
          mismatched += !same;
        }
        EXPECT_EQ(mismatched, 0u);
      }
  }
  lathe_rt_set_num_threads(saved);
}

TEST(SpMMCsr, StridedFeaturesAndOutput) {
  Csr<int64_t> a = randomGraph<int64_t>(40, 0.1, 0, 0., 3);
  int64_t f = 6;
  // x stored transposed ([f, n] buffer viewed as [n, f]); y likewise.
  std::vector<float> xt = randomVector(size_t(a.n * f), 4);
  std::vector<float> x(xt.size());
  for (int64_t i = 0; i < a.n; ++i)
    for (int64_t j = 0; j < f; ++j)
      x[i * f + j] = xt[j * a.n + i];
  std::vector<float> yt(size_t(a.n * f));
  MemRef rp = vec(a.rowPtr), ci = vec(a.colIdx), v = vec(a.values);
  MemRef xm(xt.data(), {a.n, f}, {1, a.n}), ym(yt.data(), {a.n, f}, {1, a.n});
  lathe_rt_spmm_csr_f32(1, rp.desc(), 1, ci.desc(), 1, v.desc(), 2, xm.desc(),
                        2, ym.desc(), a.n, a.n, 0);
  EXPECT_EQ(takePending(), "");
  std::vector<float> y(yt.size());
  for (int64_t i = 0; i < a.n; ++i)
    for (int64_t j = 0; j < f; ++j)
      y[i * f + j] = yt[j * a.n + i];
  expectClose(y, reference(a, x, f));
}

template <typename Index> void checkTiled() {
  Csr<Index> a = randomGraph<Index>(150, 0.02, 32, 0.6, 5);
  for (int64_t f : {3, 16, 64}) {
    std::vector<float> x = randomVector(size_t(a.n * f), 6);
    std::vector<double> ref = reference(a, x, f);
    for (int64_t tile : {1, 16, 32, 50, 200}) {
      // Hybrid, all-dense (threshold 0) and all-sparse (threshold > 1).
      for (double threshold : {0.3, 0.0, 2.0}) {
        SCOPED_TRACE(testing::Message() << "f=" << f << " tile=" << tile
                                        << " threshold=" << threshold);
        expectClose(runTiled(a, x, f, tile, threshold), ref);
        EXPECT_EQ(takePending(), "");
      }
    }
  }
}

TEST(SpMMTiled, MatchesReferenceI64) { checkTiled<int64_t>(); }
TEST(SpMMTiled, MatchesReferenceI32) { checkTiled<int32_t>(); }

TEST(SpMMTiled, GivenClassesAndCachedPlan) {
  Csr<int64_t> a = randomGraph<int64_t>(64, 0.03, 16, 0.7, 7);
  int64_t f = 16, tile = 16, tiles = 4;
  std::vector<int8_t> classes(size_t(tiles * tiles));
  std::vector<int64_t> counts(classes.size());
  for (int64_t i = 0; i < a.n; ++i)
    for (int64_t k = a.rowPtr[i]; k < a.rowPtr[i + 1]; ++k)
      ++counts[(i / tile) * tiles + a.colIdx[k] / tile];
  for (size_t t = 0; t < classes.size(); ++t)
    classes[t] = counts[t] == 0         ? LATHE_TILE_EMPTY
                 : t % (tiles + 1) == 0 ? LATHE_TILE_DENSE
                                        : LATHE_TILE_SPARSE;
  for (int repeat = 0; repeat < 3; ++repeat) {
    std::vector<float> x = randomVector(size_t(a.n * f), 8 + repeat);
    expectClose(runTiled(a, x, f, tile, 0., &classes,
                         (std::vector<int64_t> *)nullptr, LATHE_SPMM_CONST_A),
                reference(a, x, f));
    EXPECT_EQ(takePending(), "");
  }
  lathe_rt_spmm_clear_plans();
}

// A cached plan (dense blocks, the filtered CSR, the permutation) lives in
// the runtime's counted allocator: it shows in lathe_rt_mem_current and the
// high-water mark while cached, and leaves with lathe_rt_spmm_clear_plans.
TEST(SpMMTiled, PlanMemoryIsCounted) {
  lathe_rt_spmm_clear_plans();
  Csr<int32_t> a = randomGraph<int32_t>(96, 0.05, 32, 0.7, 41);
  int64_t f = 8, tile = 32, tiles = 3;
  // Diagonal tiles dense, the others sparse or empty.
  std::vector<int8_t> classes(size_t(tiles * tiles));
  std::vector<int64_t> counts(classes.size());
  for (int64_t i = 0; i < a.n; ++i)
    for (int32_t k = a.rowPtr[i]; k < a.rowPtr[i + 1]; ++k)
      ++counts[(i / tile) * tiles + a.colIdx[k] / tile];
  int64_t sparseNnz = 0;
  for (int64_t t = 0; t < tiles * tiles; ++t) {
    bool diagonal = t / tiles == t % tiles;
    classes[t] = diagonal    ? LATHE_TILE_DENSE
                 : counts[t] ? LATHE_TILE_SPARSE
                             : LATHE_TILE_EMPTY;
    if (!diagonal)
      sparseNnz += counts[t];
  }
  // Three 32x32 float blocks, row_ptr (n + 1 int32), the sparse tiles'
  // indices (int32) and values (float).
  int64_t expected = 3 * 32 * 32 * 4 + (a.n + 1) * 4 + sparseNnz * (4 + 4);
  std::vector<float> x = randomVector(size_t(a.n * f), 42);
  int64_t before = lathe_rt_mem_current();
  lathe_rt_mem_reset_peak();
  expectClose(runTiled(a, x, f, tile, 0., &classes,
                       (std::vector<int32_t> *)nullptr, LATHE_SPMM_CONST_A),
              reference(a, x, f));
  EXPECT_EQ(takePending(), "");
  EXPECT_EQ(lathe_rt_mem_current() - before, expected);
  EXPECT_GE(lathe_rt_mem_peak() - before, expected);
  // The second call reuses the plan: nothing new stays allocated.
  runTiled(a, x, f, tile, 0., &classes, (std::vector<int32_t> *)nullptr,
           LATHE_SPMM_CONST_A);
  EXPECT_EQ(lathe_rt_mem_current() - before, expected);
  lathe_rt_spmm_clear_plans();
  EXPECT_EQ(lathe_rt_mem_current(), before);

  // With a permutation the plan holds it too (numRows int64), and the
  // permuted copies of X and Y, which it keeps for the next call.
  std::vector<int32_t> perm(size_t(a.n));
  std::iota(perm.rbegin(), perm.rend(), 0);
  lathe_rt_mem_reset_peak();
  runTiled(a, x, f, tile, 0., &classes, &perm, LATHE_SPMM_CONST_A);
  EXPECT_EQ(takePending(), "");
  int64_t withPerm = expected + a.n * 8 + 2 * a.n * f * 4;
  EXPECT_EQ(lathe_rt_mem_current() - before, withPerm);
  EXPECT_GE(lathe_rt_mem_peak() - before, withPerm);
  runTiled(a, x, f, tile, 0., &classes, &perm, LATHE_SPMM_CONST_A);
  EXPECT_EQ(lathe_rt_mem_current() - before, withPerm);
  lathe_rt_spmm_clear_plans();
  EXPECT_EQ(lathe_rt_mem_current(), before);
}

TEST(SpMMTiled, Permutation) {
  Csr<int64_t> a = randomGraph<int64_t>(50, 0.05, 10, 0.8, 9);
  int64_t f = 8;
  std::vector<int64_t> perm(size_t(a.n));
  std::iota(perm.begin(), perm.end(), 0);
  std::mt19937 gen(10);
  std::shuffle(perm.begin(), perm.end(), gen);
  // B = P A P^T: row i of B is node perm[i]; column j of B is node perm[j].
  std::vector<int64_t> inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i)
    inv[perm[i]] = static_cast<int64_t>(i);
  Csr<int64_t> b;
  b.n = a.n;
  b.rowPtr.push_back(0);
  for (int64_t i = 0; i < a.n; ++i) {
    int64_t node = perm[i];
    for (int64_t k = a.rowPtr[node]; k < a.rowPtr[node + 1]; ++k) {
      b.colIdx.push_back(inv[a.colIdx[k]]);
      b.values.push_back(a.values[k]);
    }
    b.rowPtr.push_back(static_cast<int64_t>(b.colIdx.size()));
  }
  std::vector<float> x = randomVector(size_t(a.n * f), 11);
  expectClose(runTiled(b, x, f, 10, 0.4, nullptr, &perm), reference(a, x, f));
  EXPECT_EQ(takePending(), "");
}

/// `a` with its nodes renamed by a random permutation (seed `seed`).
template <typename Index>
Csr<Index> shuffled(const Csr<Index> &a, unsigned seed) {
  std::vector<int64_t> perm(size_t(a.n));
  std::iota(perm.begin(), perm.end(), 0);
  std::mt19937 gen(seed);
  std::shuffle(perm.begin(), perm.end(), gen);
  std::vector<int64_t> inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i)
    inv[perm[i]] = static_cast<int64_t>(i);
  Csr<Index> b;
  b.n = a.n;
  b.rowPtr.push_back(0);
  std::vector<std::pair<Index, float>> row;
  for (int64_t i = 0; i < a.n; ++i) {
    row.clear();
    for (Index k = a.rowPtr[perm[i]]; k < a.rowPtr[perm[i] + 1]; ++k)
      row.emplace_back(static_cast<Index>(inv[a.colIdx[k]]), a.values[k]);
    std::sort(row.begin(), row.end());
    for (auto [c, v] : row) {
      b.colIdx.push_back(c);
      b.values.push_back(v);
    }
    b.rowPtr.push_back(static_cast<Index>(b.colIdx.size()));
  }
  return b;
}

template <typename Index>
std::vector<int64_t> graphOrder(const Csr<Index> &a, int64_t order,
                                int64_t maxCluster = 32) {
  std::vector<int64_t> perm(size_t(a.n), -1);
  EXPECT_EQ(lathe_rt_graph_order(order, a.n, a.rowPtr.data(), a.colIdx.data(),
                                 sizeof(Index) == 4, maxCluster, perm.data()),
            0);
  return perm;
}

/// Tiles of `a` (after the ordering `perm`) with density >= threshold.
template <typename Index>
int64_t denseTiles(const Csr<Index> &a, const std::vector<int64_t> &perm,
                   int64_t t, double threshold) {
  std::vector<int64_t> inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i)
    inv[perm[i]] = static_cast<int64_t>(i);
  int64_t tiles = (a.n + t - 1) / t;
  std::vector<int64_t> counts(size_t(tiles * tiles));
  for (int64_t i = 0; i < a.n; ++i)
    for (Index k = a.rowPtr[i]; k < a.rowPtr[i + 1]; ++k)
      ++counts[(inv[i] / t) * tiles + inv[a.colIdx[k]] / t];
  return std::count_if(counts.begin(), counts.end(), [&](int64_t c) {
    return c >= threshold * double(t * t);
  });
}

template <typename Index>
int64_t bandwidth(const Csr<Index> &a, const std::vector<int64_t> &perm) {
  std::vector<int64_t> inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i)
    inv[perm[i]] = static_cast<int64_t>(i);
  int64_t bw = 0;
  for (int64_t i = 0; i < a.n; ++i)
    for (Index k = a.rowPtr[i]; k < a.rowPtr[i + 1]; ++k)
      bw = std::max<int64_t>(bw, std::abs(inv[i] - inv[a.colIdx[k]]));
  return bw;
}

template <typename Index> void checkOrders() {
  // Eight communities of 32 nodes (70 % inside, 0.2 % outside), shuffled.
  Csr<Index> a = shuffled(randomGraph<Index>(256, 0.002, 32, 0.7, 51), 52);
  std::vector<int64_t> identity(size_t(a.n));
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_EQ(graphOrder(a, LATHE_ORDER_NONE), identity);
  for (int64_t order :
       {LATHE_ORDER_DEGREE, LATHE_ORDER_RCM, LATHE_ORDER_CLUSTER}) {
    std::vector<int64_t> perm = graphOrder(a, order);
    std::vector<int64_t> sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, identity) << "order " << order;
  }
  // Shuffled, no 32-tile reaches half density; clustered, most communities
  // fill one (a community split over two tiles may fill neither).
  EXPECT_EQ(denseTiles(a, identity, 32, 0.5), 0);
  EXPECT_GE(denseTiles(a, graphOrder(a, LATHE_ORDER_CLUSTER), 32, 0.5), 6);
  // RCM recovers a shuffled band matrix's band (up to a factor).
  Csr<Index> band;
  band.n = 300;
  band.rowPtr.push_back(0);
  for (int64_t i = 0; i < band.n; ++i) {
    for (int64_t j = std::max<int64_t>(0, i - 3);
         j <= std::min<int64_t>(band.n - 1, i + 3); ++j) {
      band.colIdx.push_back(static_cast<Index>(j));
      band.values.push_back(1.f);
    }
    band.rowPtr.push_back(static_cast<Index>(band.colIdx.size()));
  }
  Csr<Index> mixed = shuffled(band, 53);
  EXPECT_GT(bandwidth(mixed, identity), 100);
  EXPECT_LE(bandwidth(mixed, graphOrder(mixed, LATHE_ORDER_RCM)), 12);
  // Decreasing degree in the symmetrised pattern (A + A^T, no loops).
  std::vector<std::set<int64_t>> neighbours(size_t(a.n));
  for (int64_t i = 0; i < a.n; ++i)
    for (Index k = a.rowPtr[i]; k < a.rowPtr[i + 1]; ++k)
      if (a.colIdx[k] != i) {
        neighbours[i].insert(a.colIdx[k]);
        neighbours[a.colIdx[k]].insert(i);
      }
  std::vector<int64_t> byDegree = graphOrder(a, LATHE_ORDER_DEGREE);
  for (size_t i = 1; i < byDegree.size(); ++i)
    EXPECT_GE(neighbours[byDegree[i - 1]].size(),
              neighbours[byDegree[i]].size())
        << "position " << i;
}

TEST(GraphOrder, PermutationsAndTheirEffectI32) { checkOrders<int32_t>(); }
TEST(GraphOrder, PermutationsAndTheirEffectI64) { checkOrders<int64_t>(); }

TEST(GraphOrder, BadInputIsAnError) {
  Csr<int64_t> a = randomGraph<int64_t>(20, 0.2, 0, 0., 54);
  std::vector<int64_t> perm(size_t(a.n));
  EXPECT_NE(lathe_rt_graph_order(7, a.n, a.rowPtr.data(), a.colIdx.data(), 0, 8,
                                 perm.data()),
            0);
  EXPECT_NE(takePending().find("unknown node ordering 7"), std::string::npos);
  a.colIdx[3] = 99;
  EXPECT_NE(lathe_rt_graph_order(LATHE_ORDER_RCM, a.n, a.rowPtr.data(),
                                 a.colIdx.data(), 0, 8, perm.data()),
            0);
  EXPECT_NE(takePending().find("column index 99"), std::string::npos);
}

// The tiled kernel reorders the adjacency itself (an adjacency known only
// at run time): every ordering gives A x in the original node order, with
// and without a cached plan.
template <typename Index> void checkRuntimeReorder() {
  Csr<Index> a = shuffled(randomGraph<Index>(256, 0.002, 32, 0.7, 61), 62);
  Csr<Index> plain = randomGraph<Index>(200, 0.01, 0, 0., 63);
  for (int64_t f : {7, 64}) {
    std::vector<float> x = randomVector(size_t(a.n * f), 64);
    std::vector<float> px = randomVector(size_t(plain.n * f), 65);
    for (int64_t order : {LATHE_ORDER_DEGREE, LATHE_ORDER_RCM,
                          LATHE_ORDER_CLUSTER, LATHE_ORDER_AUTO}) {
      SCOPED_TRACE(testing::Message() << "f=" << f << " order=" << order);
      int64_t flags = order << LATHE_SPMM_REORDER_SHIFT;
      for (int repeat = 0; repeat < 2; ++repeat) {
        expectClose(runTiled(a, x, f, 32, 0.5, (std::vector<int8_t> *)nullptr,
                             (std::vector<Index> *)nullptr,
                             flags | LATHE_SPMM_CONST_A),
                    reference(a, x, f));
        // No ordering gives a dense tile here (auto then keeps A as it is).
        expectClose(runTiled(plain, px, f, 32, 0.5,
                             (std::vector<int8_t> *)nullptr,
                             (std::vector<Index> *)nullptr, flags),
                    reference(plain, px, f));
        EXPECT_EQ(takePending(), "");
      }
    }
  }
  lathe_rt_spmm_clear_plans();
}

TEST(SpMMTiled, RuntimeReorderI32) { checkRuntimeReorder<int32_t>(); }
TEST(SpMMTiled, RuntimeReorderI64) { checkRuntimeReorder<int64_t>(); }

TEST(SpMMErrors, ReorderNeedsRuntimeClassification) {
  Csr<int64_t> a = randomGraph<int64_t>(16, 0.2, 0, 0., 66);
  std::vector<float> x = randomVector(size_t(a.n * 4), 67);
  std::vector<int8_t> classes(1, LATHE_TILE_SPARSE);
  runTiled(a, x, 4, 16, 0.5, &classes, (std::vector<int64_t> *)nullptr,
           int64_t(LATHE_ORDER_RCM) << LATHE_SPMM_REORDER_SHIFT);
  EXPECT_NE(takePending().find("needs runtime classification"),
            std::string::npos);
  runTiled(a, x, 4, 16, 0.5, (std::vector<int8_t> *)nullptr,
           (std::vector<int64_t> *)nullptr,
           int64_t(6) << LATHE_SPMM_REORDER_SHIFT);
  EXPECT_NE(takePending().find("unknown node ordering 6"), std::string::npos);
}

// Big enough for the parallel path (> 2^20 flops), repeated to shake out
// races between the caller and the pool's workers.
TEST(SpMMParallel, CsrAndTiledMatchReference) {
  int saved = lathe_rt_get_num_threads();
  lathe_rt_set_num_threads(4);
  Csr<int32_t> a = randomGraph<int32_t>(1200, 0.01, 100, 0.5, 22);
  int64_t f = 48;
  std::vector<float> x = randomVector(size_t(a.n * f), 23);
  std::vector<double> ref = reference(a, x, f);
  for (int repeat = 0; repeat < 20; ++repeat) {
    expectClose(runCsr(a, x, f), ref);
    expectClose(runTiled(a, x, f, 100, 0.3, (std::vector<int8_t> *)nullptr,
                         (std::vector<int32_t> *)nullptr, LATHE_SPMM_CONST_A),
                ref);
    EXPECT_EQ(takePending(), "");
  }
  lathe_rt_spmm_clear_plans();
  lathe_rt_set_num_threads(saved);
}

//===----------------------------------------------------------------------===//
// Bad input: a pending error with a clear message, never a crash.
//===----------------------------------------------------------------------===//

TEST(SpMMErrors, OutOfRangeColumn) {
  Csr<int64_t> a = randomGraph<int64_t>(20, 0.2, 0, 0., 12);
  a.colIdx[3] = 20;
  std::vector<float> x = randomVector(size_t(a.n * 4), 13);
  runCsr(a, x, 4);
  EXPECT_NE(takePending().find("column index 20 at position 3"),
            std::string::npos);
  runTiled(a, x, 4, 8, 0.5);
  EXPECT_NE(takePending().find("out of range [0, 20)"), std::string::npos);
}

TEST(SpMMErrors, NonMonotonicRowPtr) {
  Csr<int32_t> a = randomGraph<int32_t>(20, 0.2, 0, 0., 14);
  std::swap(a.rowPtr[5], a.rowPtr[6]);
  std::vector<float> x = randomVector(size_t(a.n * 4), 15);
  runCsr(a, x, 4);
  EXPECT_NE(takePending().find("row_ptr is not non-decreasing"),
            std::string::npos);
}

TEST(SpMMErrors, FeatureRowMismatch) {
  Csr<int64_t> a = randomGraph<int64_t>(20, 0.2, 0, 0., 16);
  std::vector<float> x = randomVector(size_t(19 * 4), 17);
  std::vector<float> y(size_t(20 * 4));
  MemRef rp = vec(a.rowPtr), ci = vec(a.colIdx), v = vec(a.values);
  MemRef xm(x.data(), {19, 4}), ym(y.data(), {20, 4});
  lathe_rt_spmm_csr_f32(1, rp.desc(), 1, ci.desc(), 1, v.desc(), 2, xm.desc(),
                        2, ym.desc(), 20, 20, 0);
  EXPECT_NE(takePending().find("the feature matrix has 19 rows"),
            std::string::npos);
}

TEST(SpMMErrors, NonSquareAndEmptyGraph) {
  Csr<int64_t> a = randomGraph<int64_t>(20, 0.2, 0, 0., 18);
  std::vector<float> x = randomVector(size_t(20 * 4), 19);
  std::vector<float> y(size_t(20 * 4));
  MemRef rp = vec(a.rowPtr), ci = vec(a.colIdx), v = vec(a.values);
  MemRef xm(x.data(), {20, 4}), ym(y.data(), {20, 4});
  lathe_rt_spmm_csr_f32(1, rp.desc(), 1, ci.desc(), 1, v.desc(), 2, xm.desc(),
                        2, ym.desc(), 20, 21, 0);
  EXPECT_NE(takePending().find("must be square"), std::string::npos);
  std::vector<int64_t> zero = {0};
  MemRef zp = vec(zero);
  MemRef x0(x.data(), {0, 4}), y0(y.data(), {0, 4});
  lathe_rt_spmm_csr_f32(1, zp.desc(), 1, ci.desc(), 1, v.desc(), 2, x0.desc(),
                        2, y0.desc(), 0, 0, 0);
  EXPECT_NE(takePending().find("empty graph"), std::string::npos);
}

TEST(SpMMErrors, TileSizeZeroAndWrongClasses) {
  Csr<int64_t> a = randomGraph<int64_t>(20, 0.2, 0, 0., 20);
  std::vector<float> x = randomVector(size_t(a.n * 4), 21);
  runTiled(a, x, 4, 0, 0.5);
  EXPECT_NE(takePending().find("tile size must be positive"),
            std::string::npos);
  std::vector<int8_t> classes(4, LATHE_TILE_EMPTY);
  runTiled(a, x, 4, 10, 0.5, &classes);
  EXPECT_NE(takePending().find("classified empty but holds"),
            std::string::npos);
  std::vector<int8_t> tooFew(3, LATHE_TILE_SPARSE);
  runTiled(a, x, 4, 10, 0.5, &tooFew);
  EXPECT_NE(takePending().find("expected 4 tile classes"), std::string::npos);
}

} // namespace

namespace {

/// lathe_rt_csr_transpose(_i32) on `a` (square), as a new Csr.
template <typename Index> Csr<Index> runTranspose(Csr<Index> &a) {
  Csr<Index> t;
  t.n = a.n;
  t.rowPtr.assign(a.rowPtr.size(), Index(-1));
  t.colIdx.assign(a.colIdx.size(), Index(-1));
  t.values.assign(a.values.size(), -7.f);
  MemRef rp = vec(a.rowPtr), ci = vec(a.colIdx), v = vec(a.values);
  MemRef trp = vec(t.rowPtr), tci = vec(t.colIdx), tv = vec(t.values);
  if (sizeof(Index) == 4)
    lathe_rt_csr_transpose_i32(1, rp.desc(), 1, ci.desc(), 1, v.desc(), 1,
                               trp.desc(), 1, tci.desc(), 1, tv.desc(), a.n,
                               a.n);
  else
    lathe_rt_csr_transpose(1, rp.desc(), 1, ci.desc(), 1, v.desc(), 1,
                           trp.desc(), 1, tci.desc(), 1, tv.desc(), a.n, a.n);
  return t;
}

template <typename Index> void checkTranspose() {
  Csr<Index> a = randomGraph<Index>(37, 0.15, 8, 0.6, 31);
  Csr<Index> t = runTranspose(a);
  ASSERT_EQ(takePending(), "");
  // Against the dense transpose, entry by entry.
  std::vector<float> dense(size_t(a.n * a.n), 0.f), denseT(dense.size(), 0.f);
  for (int64_t i = 0; i < a.n; ++i)
    for (Index k = a.rowPtr[i]; k < a.rowPtr[i + 1]; ++k)
      dense[a.colIdx[k] * a.n + i] = a.values[k];
  for (int64_t i = 0; i < t.n; ++i) {
    for (Index k = t.rowPtr[i]; k < t.rowPtr[i + 1]; ++k) {
      denseT[i * t.n + t.colIdx[k]] = t.values[k];
      if (k > t.rowPtr[i])
        EXPECT_LT(t.colIdx[k - 1], t.colIdx[k]) << "row " << i;
    }
  }
  EXPECT_EQ(dense, denseT);
  // Transposing twice gives A back, array for array.
  Csr<Index> back = runTranspose(t);
  ASSERT_EQ(takePending(), "");
  EXPECT_EQ(back.rowPtr, a.rowPtr);
  EXPECT_EQ(back.colIdx, a.colIdx);
  EXPECT_EQ(back.values, a.values);
}

// A malformed graph's error names the entry point that was called (the i32
// entry used to report under the i64 entry's name).
template <typename Index> void checkTransposeErrorName(const char *entry) {
  Csr<Index> a = randomGraph<Index>(20, 0.2, 0, 0., 33);
  std::swap(a.rowPtr[5], a.rowPtr[6]);
  runTranspose(a);
  std::string message = takePending();
  EXPECT_NE(message.find("row_ptr is not non-decreasing"), std::string::npos)
      << message;
  EXPECT_NE(message.find(std::string(entry) + ":"), std::string::npos)
      << message;
}

TEST(SpMMErrors, TransposeNamesItsEntry) {
  checkTransposeErrorName<int64_t>("lathe_rt_csr_transpose");
  checkTransposeErrorName<int32_t>("lathe_rt_csr_transpose_i32");
}

//===----------------------------------------------------------------------===//
// The micro-tile engine (LATHE_SPMM_MICRO)
//===----------------------------------------------------------------------===//

/// A graph of `n` nodes with background edges (probability `p`) and planted
/// 4 x 4 tiles (a tile is planted with probability `planted`, then each of
/// its entries with probability 0.8), including tiles on the border when n
/// is not a multiple of 4.
template <typename Index>
Csr<Index> microGraph(int64_t n, double p, double planted, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(0., 1.);
  int64_t tiles = (n + 3) / 4;
  std::vector<char> plant(size_t(tiles * tiles));
  for (char &c : plant)
    c = u(gen) < planted;
  Csr<Index> a;
  a.n = n;
  a.rowPtr.push_back(0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      bool inPlanted = plant[(i / 4) * tiles + j / 4];
      if (u(gen) < (inPlanted ? 0.8 : p)) {
        a.colIdx.push_back(static_cast<Index>(j));
        a.values.push_back(static_cast<float>(u(gen) - 0.5));
      }
    }
    a.rowPtr.push_back(static_cast<Index>(a.colIdx.size()));
  }
  return a;
}

/// Full 4 x 4 tiles (wholly inside the matrix) of density >= threshold.
template <typename Index>
int64_t microDenseTiles(const Csr<Index> &a, double threshold) {
  int64_t tiles = (a.n + 3) / 4, dense = 0;
  std::vector<int64_t> counts(size_t(tiles * tiles));
  for (int64_t i = 0; i < a.n; ++i)
    for (Index k = a.rowPtr[i]; k < a.rowPtr[i + 1]; ++k)
      ++counts[(i / 4) * tiles + a.colIdx[k] / 4];
  for (int64_t tr = 0; tr < tiles; ++tr)
    for (int64_t tc = 0; tc < tiles; ++tc)
      if ((tr + 1) * 4 <= a.n && (tc + 1) * 4 <= a.n &&
          counts[tr * tiles + tc] > 0 &&
          double(counts[tr * tiles + tc]) >= threshold * 16)
        ++dense;
  return dense;
}

/// Runs `body` once per instruction-set variant of the micro-tile engine
/// this CPU can run (the cap lowers the variant, never raises it), then
/// removes the cap.
void forEachMicroIsa(const std::function<void(int)> &body) {
  int best = lathe_rt_spmm_set_max_isa(-1);
  for (int isa = LATHE_SPMM_ISA_BASELINE; isa <= best; ++isa) {
    SCOPED_TRACE(testing::Message() << "isa=" << isa);
    EXPECT_EQ(lathe_rt_spmm_set_max_isa(isa), isa);
    body(isa);
  }
  lathe_rt_spmm_set_max_isa(-1);
}

// Every register block of every variant (64/16/8, 4, 1 columns), border
// tiles (n = 203), tile rows with and without blocks, against the
// double-precision reference.
template <typename Index> void checkMicro() {
  Csr<Index> a = microGraph<Index>(203, 0.02, 0.08, 51);
  ASSERT_GT(microDenseTiles(a, 0.5), 20);
  forEachMicroIsa([&](int) {
    for (int64_t f : {1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100,
                      130, 256}) {
      SCOPED_TRACE(testing::Message() << "f=" << f);
      std::vector<float> x = randomVector(size_t(a.n * f), 52 + f);
      for (double threshold : {0.5, 0.0}) {
        expectClose(runTiled(a, x, f, LATHE_SPMM_MICRO_TILE, threshold, nullptr,
                             (std::vector<Index> *)nullptr, LATHE_SPMM_MICRO),
                    reference(a, x, f));
        EXPECT_EQ(takePending(), "");
      }
    }
  });
}

TEST(SpMMMicro, MatchesReferenceEveryIsaI32) { checkMicro<int32_t>(); }
TEST(SpMMMicro, MatchesReferenceEveryIsaI64) { checkMicro<int64_t>(); }

// The plan holds one 16-float block per dense full tile (border tiles stay
// sparse), the filtered CSR of the rest and the block-row pointers; given
// classes and a permutation work as with the sgemm engine.
TEST(SpMMMicro, PlanHoldsTheDenseTilesAsBlocks) {
  lathe_rt_spmm_clear_plans();
  Csr<int32_t> a = microGraph<int32_t>(66, 0.03, 0.1, 61);
  int64_t f = 12, tiles = 17;
  int64_t dense = microDenseTiles(a, 0.6);
  ASSERT_GT(dense, 5);
  int64_t denseNnz = 0;
  std::vector<int64_t> counts(size_t(tiles * tiles));
  for (int64_t i = 0; i < a.n; ++i)
    for (int32_t k = a.rowPtr[i]; k < a.rowPtr[i + 1]; ++k)
      ++counts[(i / 4) * tiles + a.colIdx[k] / 4];
  for (int64_t tr = 0; tr < tiles; ++tr)
    for (int64_t tc = 0; tc < tiles; ++tc)
      if (tr < 16 && tc < 16 && counts[tr * tiles + tc] >= 0.6 * 16)
        denseNnz += counts[tr * tiles + tc];
  int64_t sparseNnz = a.rowPtr[a.n] - denseNnz;
  int64_t expected = (a.n + 1) * 4 + sparseNnz * 8 + (tiles + 1) * 4 +
                     dense * 4 + dense * 16 * 4;
  std::vector<float> x = randomVector(size_t(a.n * f), 62);
  int64_t before = lathe_rt_mem_current();
  expectClose(runTiled(a, x, f, 4, 0.6, nullptr,
                       (std::vector<int32_t> *)nullptr,
                       LATHE_SPMM_MICRO | LATHE_SPMM_CONST_A),
              reference(a, x, f));
  EXPECT_EQ(takePending(), "");
  EXPECT_EQ(lathe_rt_mem_current() - before, expected);
  lathe_rt_spmm_clear_plans();

  // Given classes: every non-empty tile dense (border ones run as sparse).
  std::vector<int8_t> classes(counts.size());
  for (size_t t = 0; t < counts.size(); ++t)
    classes[t] = counts[t] ? LATHE_TILE_DENSE : LATHE_TILE_EMPTY;
  std::vector<int32_t> perm(size_t(a.n));
  std::iota(perm.rbegin(), perm.rend(), 0);
  forEachMicroIsa([&](int) {
    expectClose(runTiled(a, x, f, 4, 0., &classes,
                         (std::vector<int32_t> *)nullptr, LATHE_SPMM_MICRO),
                reference(a, x, f));
    // P A P^T with the reversal: y[perm[i]] = (A x)[i] in node order.
    std::vector<float> y =
        runTiled(a, x, f, 4, 0.5, nullptr, &perm, LATHE_SPMM_MICRO);
    EXPECT_EQ(takePending(), "");
    expectClose(y, permutedReference(a, x, f, perm));
  });
}

// A dense block stores absent entries as zeros: NaN or Inf in a row of x
// must reach only the rows whose stored entries read it.
TEST(SpMMMicro, NonFiniteFeaturesOnlyWhereStored) {
  Csr<int32_t> a;
  a.n = 8;
  // Rows 0-3 x columns 0-3: full but for (1, 2); row 5 reads column 2.
  a.rowPtr = {0};
  for (int32_t i = 0; i < 8; ++i) {
    for (int32_t j = 0; j < 8; ++j) {
      bool stored = (i < 4 && j < 4 && !(i == 1 && j == 2)) ||
                    (i == 5 && j == 2) || (i == j && i >= 4);
      if (stored) {
        a.colIdx.push_back(j);
        a.values.push_back(0.5f + 0.1f * float(i + j));
      }
    }
    a.rowPtr.push_back(static_cast<int32_t>(a.colIdx.size()));
  }
  int64_t f = 20;
  std::vector<float> x = randomVector(size_t(a.n * f), 71);
  x[2 * f + 3] = std::numeric_limits<float>::quiet_NaN();
  x[2 * f + 7] = std::numeric_limits<float>::infinity();
  forEachMicroIsa([&](int) {
    std::vector<float> y =
        runTiled(a, x, f, 4, 0.5, nullptr, (std::vector<int32_t> *)nullptr,
                 LATHE_SPMM_MICRO);
    EXPECT_EQ(takePending(), "");
    for (int64_t i = 0; i < a.n; ++i) {
      bool readsColumn2 = (i < 4 && i != 1) || i == 5;
      EXPECT_EQ(std::isnan(y[i * f + 3]), readsColumn2) << "row " << i;
      EXPECT_EQ(std::isinf(y[i * f + 7]), readsColumn2) << "row " << i;
      EXPECT_TRUE(std::isfinite(y[i * f + 0])) << "row " << i;
    }
  });
}

TEST(SpMMErrors, MicroEngineNeedsItsTileSize) {
  Csr<int64_t> a = randomGraph<int64_t>(20, 0.2, 0, 0., 20);
  std::vector<float> x = randomVector(size_t(a.n * 4), 21);
  runTiled(a, x, 4, 8, 0.5, nullptr, (std::vector<int64_t> *)nullptr,
           LATHE_SPMM_MICRO);
  EXPECT_NE(takePending().find("micro-tile engine needs tiles of 4"),
            std::string::npos);
}

//===----------------------------------------------------------------------===//
// The row-group engine (LATHE_SPMM_ROW_GROUPS)
//===----------------------------------------------------------------------===//

/// A graph of runs of 1 to 6 consecutive rows that share one random column
/// set, each row then dropping each of those columns with probability
/// `drop`, with an empty row every 9th run and background edges
/// (probability `p`) on single rows only.
template <typename Index>
Csr<Index> groupGraph(int64_t n, double p, double drop, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(0., 1.);
  std::uniform_int_distribution<int> runLen(1, 6), setLen(1, 24);
  std::uniform_int_distribution<int64_t> col(0, n - 1);
  Csr<Index> a;
  a.n = n;
  a.rowPtr.push_back(0);
  int64_t run = 0;
  for (int64_t i = 0; i < n; ++run) {
    int64_t len = std::min<int64_t>(runLen(gen), n - i);
    std::set<int64_t> cols;
    int64_t want = run % 9 == 8 ? 0 : std::min<int64_t>(setLen(gen), n);
    while (static_cast<int64_t>(cols.size()) < want)
      cols.insert(col(gen));
    for (int64_t r = 0; r < len; ++r, ++i) {
      std::set<int64_t> row;
      for (int64_t c : cols)
        if (u(gen) >= drop)
          row.insert(c);
      if (len == 1)
        for (int64_t c = 0; c < n; ++c)
          if (u(gen) < p)
            row.insert(c);
      for (int64_t c : row) {
        a.colIdx.push_back(static_cast<Index>(c));
        a.values.push_back(static_cast<float>(u(gen) - 0.5));
      }
      a.rowPtr.push_back(static_cast<Index>(a.colIdx.size()));
    }
  }
  return a;
}

std::vector<float> runGroups(Csr<int32_t> &a, std::vector<float> &x, int64_t f,
                             int64_t maxRows, double threshold,
                             int64_t flags = 0) {
  return runTiled(a, x, f, maxRows, threshold, nullptr,
                  (std::vector<int32_t> *)nullptr,
                  flags | LATHE_SPMM_ROW_GROUPS);
}

// Every register block of every variant (64/16/8, 4, 1 columns; 1 to 4 rows
// a group, identical and nearly identical column sets, empty rows), against
// the double-precision reference.
template <typename Index> void checkGroups() {
  for (double drop : {0.0, 0.15}) {
    Csr<Index> a = groupGraph<Index>(211, 0.02, drop, 81);
    forEachMicroIsa([&](int) {
      for (int64_t f : {1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65,
                        100, 130, 256}) {
        SCOPED_TRACE(testing::Message() << "f=" << f << " drop=" << drop);
        std::vector<float> x = randomVector(size_t(a.n * f), 82 + f);
        for (int64_t maxRows : {1, 2, 3, 4})
          for (double threshold : {1.0, 0.7, 0.0}) {
            expectClose(runTiled(a, x, f, maxRows, threshold, nullptr,
                                 (std::vector<Index> *)nullptr,
                                 LATHE_SPMM_ROW_GROUPS),
                        reference(a, x, f));
            EXPECT_EQ(takePending(), "");
          }
      }
    });
  }
}

TEST(SpMMRowGroups, MatchesReferenceEveryIsaI32) { checkGroups<int32_t>(); }
TEST(SpMMRowGroups, MatchesReferenceEveryIsaI64) { checkGroups<int64_t>(); }

// The plan's size tells how the rows were grouped: with threshold 1 only
// rows with identical column sets share a block (no padded zero); with
// 0.75 a row whose set differs by one column of four joins too.
TEST(SpMMRowGroups, GroupsFollowTheThreshold) {
  lathe_rt_spmm_clear_plans();
  // Rows 0-2: columns {0, 1, 2, 3}; row 3: {0, 1, 2}; row 4: {5}; row 5
  // empty; rows 6-7: {1, 6}.
  Csr<int32_t> a;
  a.n = 8;
  std::vector<std::vector<int32_t>> rows = {
      {0, 1, 2, 3}, {0, 1, 2, 3}, {0, 1, 2, 3}, {0, 1, 2},
      {5},          {},           {1, 6},       {1, 6}};
  a.rowPtr = {0};
  for (const auto &r : rows) {
    for (int32_t c : r) {
      a.colIdx.push_back(c);
      a.values.push_back(0.25f * float(c + 1));
    }
    a.rowPtr.push_back(static_cast<int32_t>(a.colIdx.size()));
  }
  int64_t f = 16;
  std::vector<float> x = randomVector(size_t(a.n * f), 91);
  auto planBytes = [&](double threshold) {
    int64_t before = lathe_rt_mem_current();
    expectClose(runGroups(a, x, f, 4, threshold, LATHE_SPMM_CONST_A),
                reference(a, x, f));
    EXPECT_EQ(takePending(), "");
    int64_t bytes = lathe_rt_mem_current() - before;
    lathe_rt_spmm_clear_plans();
    return bytes;
  };
  // Per group: its unit (40 bytes), u columns (int32), g * u values and u
  // mask bytes; per CSR run: a unit; row_ptr (n + 1 int32) and the CSR
  // rows' non-zeros (int32 + float).
  auto expected = [&](std::vector<std::pair<int64_t, int64_t>> groups,
                      int64_t csrRuns, int64_t csrNnz) {
    int64_t bytes =
        (a.n + 1) * 4 + csrNnz * 8 + (int64_t(groups.size()) + csrRuns) * 40;
    for (auto [g, u] : groups)
      bytes += u * 4 + g * u * 4 + u;
    return bytes;
  };
  // Threshold 1: rows 0-2 (3 x 4) and 6-7 (2 x 2); rows 3-5 one CSR run.
  EXPECT_EQ(planBytes(1.0), expected({{3, 4}, {2, 2}}, 1, 4));
  // 0.75: row 3 joins rows 0-2 (15 of 16 entries); rows 4-5 one run.
  EXPECT_EQ(planBytes(0.75), expected({{4, 4}, {2, 2}}, 1, 1));
  // Groups of at most 2 rows: rows 0-1, 2-3 (at 0.75: 7 of 8), 6-7.
  int64_t before = lathe_rt_mem_current();
  runGroups(a, x, f, 2, 0.75, LATHE_SPMM_CONST_A);
  EXPECT_EQ(takePending(), "");
  EXPECT_EQ(lathe_rt_mem_current() - before,
            expected({{2, 4}, {2, 4}, {2, 2}}, 1, 1));
  lathe_rt_spmm_clear_plans();
}

// A group's block stores absent entries as zeros: NaN or Inf in a row of x
// must reach only the rows whose stored entries read it, also after a
// permutation, and a permuted plan works as the others do.
TEST(SpMMRowGroups, NonFiniteFeaturesOnlyWhereStored) {
  Csr<int32_t> a;
  a.n = 7;
  // Rows 0-3 read columns {0, 1, 2, 4} but row 1 lacks 2; row 5 reads 2;
  // row 4 and row 6 are empty.
  std::vector<std::vector<int32_t>> rows = {
      {0, 1, 2, 4}, {0, 1, 4}, {0, 1, 2, 4}, {0, 1, 2, 4}, {}, {2, 3}, {}};
  a.rowPtr = {0};
  for (const auto &r : rows) {
    for (int32_t c : r) {
      a.colIdx.push_back(c);
      a.values.push_back(0.5f + 0.1f * float(c));
    }
    a.rowPtr.push_back(static_cast<int32_t>(a.colIdx.size()));
  }
  for (int64_t f : {5, 20, 64}) {
    SCOPED_TRACE(testing::Message() << "f=" << f);
    std::vector<float> x = randomVector(size_t(a.n * f), 92);
    x[2 * f + 3] = std::numeric_limits<float>::quiet_NaN();
    x[2 * f + 4] = std::numeric_limits<float>::infinity();
    forEachMicroIsa([&](int) {
      std::vector<float> y = runGroups(a, x, f, 4, 0.5);
      EXPECT_EQ(takePending(), "");
      for (int64_t i = 0; i < a.n; ++i) {
        bool readsColumn2 = i == 0 || i == 2 || i == 3 || i == 5;
        EXPECT_EQ(std::isnan(y[i * f + 3]), readsColumn2) << "row " << i;
        EXPECT_EQ(std::isinf(y[i * f + 4]), readsColumn2) << "row " << i;
        EXPECT_TRUE(std::isfinite(y[i * f + 0])) << "row " << i;
        if (i == 4 || i == 6)
          EXPECT_EQ(y[i * f + 1], 0.f) << "empty row " << i;
      }
      // The finite columns match the reference.
      std::vector<double> ref = reference(a, x, f);
      for (int64_t i = 0; i < a.n; ++i)
        for (int64_t c : {int64_t(0), int64_t(1), f - 1})
          if (c != 3 && c != 4)
            EXPECT_NEAR(y[i * f + c], ref[i * f + c], 1e-5)
                << "row " << i << " column " << c;
    });
  }
}

TEST(SpMMRowGroups, PermutedPlan) {
  Csr<int32_t> a = groupGraph<int32_t>(90, 0.03, 0.1, 93);
  int64_t f = 24;
  std::vector<int32_t> perm(size_t(a.n));
  std::iota(perm.rbegin(), perm.rend(), 0);
  std::vector<float> x = randomVector(size_t(a.n * f), 94);
  std::vector<float> y =
      runTiled(a, x, f, 3, 0.8, nullptr, &perm, LATHE_SPMM_ROW_GROUPS);
  EXPECT_EQ(takePending(), "");
  expectClose(y, permutedReference(a, x, f, perm));
}

TEST(SpMMErrors, RowGroupEngineChecksItsOptions) {
  Csr<int32_t> a = groupGraph<int32_t>(20, 0.1, 0., 95);
  std::vector<float> x = randomVector(size_t(a.n * 4), 96);
  runGroups(a, x, 4, 5, 1.0);
  EXPECT_NE(takePending().find("row-group engine takes groups of 1 to 4 rows, "
                               "got a tile size of 5"),
            std::string::npos);
  runGroups(a, x, 4, 4, 1.0, LATHE_SPMM_MICRO);
  EXPECT_NE(takePending().find("excludes the micro-tile engine"),
            std::string::npos);
  std::vector<int8_t> classes(25, LATHE_TILE_SPARSE);
  runTiled(a, x, 4, 4, 1.0, &classes, (std::vector<int32_t> *)nullptr,
           LATHE_SPMM_ROW_GROUPS);
  EXPECT_NE(takePending().find("classifies its own rows"), std::string::npos);
}

} // namespace

TEST(CsrTranspose, MatchesDenseTransposeI64) { checkTranspose<int64_t>(); }
TEST(CsrTranspose, MatchesDenseTransposeI32) { checkTranspose<int32_t>(); }

TEST(CsrTranspose, BadColumnIsAnError) {
  Csr<int64_t> a = randomGraph<int64_t>(12, 0.3, 0, 0., 33);
  ASSERT_GT(a.colIdx.size(), 3u);
  a.colIdx[3] = 12;
  runTranspose(a);
  EXPECT_NE(takePending().find("column index 12 at position 3"),
            std::string::npos);
}
