//===- RnnLoop.cpp - LSTM and GRU layers as the runtime's own loop --------===//
//
// See RnnLoop.h. oneDNN 2.6's lstm_forward runs at close to one core's peak
// but gains nothing from a second thread at the sizes of text classifiers
// (batch 4, hidden 128: its per-step barriers cost more than half a step),
// while onnxruntime splits each step over its threads; its lbr_gru_forward
// took about 1.5 times as long as this loop on the GRU classifier of
// bench/realmodels (batch 4, hidden 128).
//
// Work: step t, hidden-unit block b (W units, one vector) and batch rows
// n0..n0+rows form one item: the gates' pre-activations of those units
// (bias + x_t W^T + h_{t-1} R^T) in registers, then the cell, which writes
// h_t (and the LSTM's c_t) of those units. Both cells keep four accumulators
// per row: the LSTM's four gates; the GRU's z and r (input and recurrent
// products summed), n's input product and n's recurrent product apart,
// which the reset gate scales (linear_before_reset: n = tanh(W_n x + b_n +
// r * (R_n h + Rb_n)), h' = n + z * (h - n)), all in one pass over R.
//
// The input products of all steps come first, as chunks taken with an
// atomic counter by the caller and the runtime's pool threads (Parallel.h).
// Then each participant owns a "home", a fixed share of every step's items,
// and computes it step after step, so it keeps reading the same weight
// panels from its own cache; a step's share waits until every share of the
// previous step is done (a second counter). Homes whose thread has not
// arrived yet are taken over a step at a time by the others, so a late
// thread joins at the step its home has reached. Below kMinParallelStepMacs
// one thread runs everything (one share per step, no hand-over). h
// alternates between two buffers; c is updated in place (a share owns its
// units within a step).
//
// Weights are packed per unit block: row k of [W; R] (k < I + H) holds the
// G gates' W weights of the block, so one chunk reads one contiguous
// panel. Constant weights are packed once per session (Rnn.cpp).
//
// bf16 (chunkBf16, a bf16 session on a CPU with AVX512-BF16): R is also
// packed as bf16 pairs of consecutive hidden units per lane, and each chunk
// also writes its new h rounded to bf16 (a second double buffer), so one
// vdpbf16ps adds two hidden units' products to f32 accumulators: half the
// recurrent product's instructions. The rest is the f32 code above.
//
// Arithmetic: sigmoid(v) = 1 / (1 + exp(-v)) and tanh(v) = 2 / (1 + exp(-2v))
// - 1 with exp from a degree-6 polynomial on a reduced argument (clamped to
// [-87, 88], so +-Inf saturate like the real functions and NaN stays NaN).
// Written with GCC/Clang vector extensions, inlined into variants compiled
// for AVX-512 and AVX2 + FMA (Simd.h); the CPU picks one at run time.
//
//===----------------------------------------------------------------------===//

#include "RnnLoop.h"

#include "Parallel.h"
#include "Simd.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <immintrin.h>
#include <thread>
#include <vector>

using namespace lathe::rt;

namespace {

/// Recurrent multiply-adds per step (N x GH x H, G gates) below which one
/// thread runs the whole layer. Each step ends in a hand-over between the
/// threads (a counter and the new h cross cores): on the 2-core VM that runs
/// the benchmarks a cross-core round trip takes about a microsecond, and the
/// text classifier of bench/realmodels (N 4, H 128: 262k, about 3 us a step
/// on one core) ran no faster on two threads than on one.
constexpr int64_t kMinParallelStepMacs = int64_t(1) << 20;

/// Everything a chunk needs; shared by the participants of one call.
struct Loop {
  int64_t t, n, in, h, k, blocks, hp;
  bool reverse;
  const float *packed, *bias; // bias: [4, hp]
  const float *x;
  int64_t xT, xN, xI;
  float *y;
  int64_t yT, yN, yH;
  float *hbuf; // [2, n, hp]; step s writes buffer s & 1
  /// bf16 recurrent products (null: f32): R packed as bf16 pairs of
  /// consecutive hidden units k ([blocks, hPairs, G, W] words), and h as
  /// bf16 ([2, n, hp], double-buffered like hbuf).
  const uint32_t *rbf = nullptr;
  uint16_t *hbf = nullptr;
  int64_t hPairs = 0;
  float *cbuf; // [n, hp]
  int rowsPerChunk;
  /// Work items of a step: (unit block, row group) pairs, item i = block
  /// i / rowGroups, rows of group i % rowGroups.
  int64_t rowGroups, items;
  /// A step's chunks, one per home: home h computes items
  /// [h * items / homes, (h + 1) * items / homes) of every step.
  int homes = 1;
  /// Input-product chunks taken so far.
  std::atomic<int64_t> ticket{0};
  /// Chunks (input products, then steps' chunks) finished.
  std::atomic<int64_t> done{0};
  std::atomic<int> joins{0};
  struct alignas(64) Home {
    /// The next step of this home that nobody has claimed.
    std::atomic<int64_t> next{0};
    /// A participant owns this home: nobody else takes its chunks.
    std::atomic<bool> owned{false};
  };
  std::array<Home, 64> home;
  /// The input products of all steps ([T * N, G * hp], row t * N + n,
  /// columns as the packed panels), computed first as `projChunks` chunks of
  /// one block and kProjRows rows; null: each step's chunks compute theirs.
  float *proj = nullptr;
  int64_t projChunks = 0;
};

/// Rows of one input-product chunk.
constexpr int64_t kProjRows = 16;

/// Largest input-product buffer (bytes) computed ahead of the recurrence;
/// longer inputs compute each step's product in its chunks.
constexpr int64_t kMaxProjBytes = int64_t(8) << 20;

__attribute__((noinline)) void yieldUntil(const std::atomic<int64_t> &done,
                                          int64_t need) {
  while (done.load(std::memory_order_acquire) < need)
    std::this_thread::yield();
}

/// Spins until `need` chunks are done, yielding the core after a few
/// microseconds (256 pauses): the participant holding the chunk may have been
/// preempted and need this core.
LATHE_ALWAYS_INLINE void waitForSteps(const std::atomic<int64_t> &done,
                                      int64_t need) {
  for (int spin = 0; done.load(std::memory_order_acquire) < need; ++spin) {
    if (spin == 256) {
      yieldUntil(done, need);
      return;
    }
    __builtin_ia32_pause();
  }
}

/// The cell a kernel computes.
enum class Cell { Lstm, Gru };

/// Accumulators per batch row in a chunk (both cells).
constexpr int kAcc = 4;

template <typename VF, typename VI, int W, Cell C> struct Kernel {
  /// Gates of a panel row (weights per input or hidden unit).
  static constexpr int G = C == Cell::Lstm ? 4 : 3;
  /// The accumulator gate g's recurrent products go to: the GRU keeps n's
  /// apart (accumulator 3) for the reset gate to scale.
  static constexpr int recurrentAcc(int g) {
    return C == Cell::Gru && g == 2 ? 3 : g;
  }

  static LATHE_ALWAYS_INLINE VF load(const float *p) { return loadVec<VF>(p); }
  static LATHE_ALWAYS_INLINE void store(float *p, VF v) { storeVec(p, v); }
  static LATHE_ALWAYS_INLINE VF splat(float s) { return splatVec<VF>(s); }

  static LATHE_ALWAYS_INLINE VF exp(VF x) {
    // Comparisons are false for NaN, which therefore passes unchanged.
    x = x > splat(88.f) ? splat(88.f) : x;
    x = x < splat(-87.f) ? splat(-87.f) : x;
    const float magic = 12582912.f; // 1.5 * 2^23: rounds to an integer.
    VF n = (x * splat(1.44269504088896341f) + splat(magic)) - splat(magic);
    VF r = x - n * splat(0.693359375f);
    r = r - n * splat(-2.12194440e-4f);
    VF p = splat(1.9875691500e-4f);
    p = p * r + splat(1.3981999507e-3f);
    p = p * r + splat(8.3334519073e-3f);
    p = p * r + splat(4.1665795894e-2f);
    p = p * r + splat(1.6666665459e-1f);
    p = p * r + splat(5.0000001201e-1f);
    p = p * (r * r) + r + splat(1.f);
    VI e = (__builtin_convertvector(n, VI) + 127) << 23;
    VF scale;
    std::memcpy(&scale, &e, sizeof(scale));
    return p * scale;
  }
  static LATHE_ALWAYS_INLINE VF sigmoid(VF v) {
    return splat(1.f) / (splat(1.f) + exp(-v));
  }
  static LATHE_ALWAYS_INLINE VF tanh(VF v) {
    return splat(2.f) / (splat(1.f) + exp(v * splat(-2.f))) - splat(1.f);
  }

  /// acc[r][to(g)] += row k of `panel` (G gates of W floats) times
  /// value(r, k) for k < count.
  template <int Rows, int Acc, typename Value, typename To>
  static LATHE_ALWAYS_INLINE void multiplyAdd(VF (&acc)[Rows][Acc],
                                              const float *panel, int64_t count,
                                              Value value, To to) {
    for (int64_t k = 0; k < count; ++k) {
      const float *wk = panel + k * G * W;
      VF wg[G];
      for (int g = 0; g < G; ++g)
        wg[g] = load(wk + g * W);
      for (int r = 0; r < Rows; ++r) {
        float s = value(r, k);
        for (int g = 0; g < G; ++g)
          acc[r][to(g)] += wg[g] * s;
      }
    }
  }

  /// Stores bias + the rows xr[] times block `blk`'s W panel (G gates of W
  /// floats per row) to dst, rows `dstStride` floats apart.
  template <int Rows>
  static LATHE_ALWAYS_INLINE void inputRows(const Loop &l, int64_t blk,
                                            const float *const *xr, float *dst,
                                            int64_t dstStride) {
    const float *panel = l.packed + blk * l.k * G * W;
    VF acc[Rows][G];
    for (int g = 0; g < G; ++g) {
      VF b = load(l.bias + g * l.hp + blk * W);
      for (int r = 0; r < Rows; ++r)
        acc[r][g] = b;
    }
    multiplyAdd<Rows, G>(
        acc, panel, l.in, [&](int r, int64_t k) { return xr[r][k * l.xI]; },
        [](int g) { return g; });
    for (int r = 0; r < Rows; ++r)
      for (int g = 0; g < G; ++g)
        store(dst + r * dstStride + g * W, acc[r][g]);
  }

  /// Input products of rows j0..j0+Rows (row j: step j / N, batch j % N)
  /// for block `blk`, into l.proj.
  template <int Rows>
  static LATHE_ALWAYS_INLINE void projRows(Loop &l, int64_t blk, int64_t j0) {
    const float *xr[Rows];
    for (int r = 0; r < Rows; ++r) {
      int64_t j = j0 + r;
      xr[r] = l.x + (j / l.n) * l.xT + (j % l.n) * l.xN;
    }
    inputRows<Rows>(l, blk, xr, l.proj + (j0 * l.hp + blk * W) * G, l.hp * G);
  }

  /// One input-product chunk: block `blk`, up to kProjRows rows from j0.
  template <int MaxRows>
  static LATHE_ALWAYS_INLINE void projChunk(Loop &l, int64_t blk, int64_t j0) {
    int64_t end = std::min(l.t * l.n, j0 + kProjRows);
    int64_t j = j0;
    for (; j + MaxRows <= end; j += MaxRows)
      projRows<MaxRows>(l, blk, j);
    for (; j < end; ++j)
      projRows<1>(l, blk, j);
  }

  /// The accumulators of rows n0.. of block `blk` at step index `ti`
  /// before the recurrent product: bias and input products, and the GRU's
  /// recurrent bias of n.
  template <int Rows>
  static LATHE_ALWAYS_INLINE void startChunk(Loop &l, int64_t ti, int64_t blk,
                                             int64_t n0,
                                             VF (&acc)[Rows][kAcc]) {
    // The input products: computed ahead, or now into `local`.
    const float *init;
    int64_t initStride;
    float local[Rows * G * W];
    if (l.proj) {
      init = l.proj + ((ti * l.n + n0) * l.hp + blk * W) * G;
      initStride = l.hp * G;
    } else {
      const float *xr[Rows];
      for (int r = 0; r < Rows; ++r)
        xr[r] = l.x + ti * l.xT + (n0 + r) * l.xN;
      inputRows<Rows>(l, blk, xr, local, G * W);
      init = local;
      initStride = G * W;
    }
    for (int r = 0; r < Rows; ++r) {
      for (int g = 0; g < G; ++g)
        acc[r][g] = load(init + r * initStride + g * W);
      if (C == Cell::Gru) // n's recurrent bias.
        acc[r][3] = load(l.bias + 3 * l.hp + blk * W);
    }
  }

  /// The cell of rows n0.. of block `blk` at step `step` from the finished
  /// accumulators: writes h (and c) of those units and their y.
  template <int Rows>
  static LATHE_ALWAYS_INLINE void finishChunk(Loop &l, int64_t step, int64_t ti,
                                              int64_t blk, int64_t n0,
                                              VF (&acc)[Rows][kAcc]) {
    const float *hprev = l.hbuf + ((step + 1) & 1) * l.n * l.hp;
    float *hcur = l.hbuf + (step & 1) * l.n * l.hp;
    int64_t valid = std::min<int64_t>(W, l.h - blk * W);
    for (int r = 0; r < Rows; ++r) {
      VF hv;
      if (C == Cell::Lstm) {
        VF i = sigmoid(acc[r][0]), f = sigmoid(acc[r][1]);
        VF g = tanh(acc[r][2]), o = sigmoid(acc[r][3]);
        float *cp = l.cbuf + (n0 + r) * l.hp + blk * W;
        VF c = f * load(cp) + i * g;
        store(cp, c);
        hv = o * tanh(c);
      } else {
        VF z = sigmoid(acc[r][0]), rg = sigmoid(acc[r][1]);
        VF n = tanh(acc[r][2] + rg * acc[r][3]);
        hv = n + z * (load(hprev + (n0 + r) * l.hp + blk * W) - n);
      }
      store(hcur + (n0 + r) * l.hp + blk * W, hv);
      float *yp = l.y + ti * l.yT + (n0 + r) * l.yN + blk * W * l.yH;
      if (l.yH == 1 && valid == W) {
        store(yp, hv);
      } else {
        float tmp[W];
        store(tmp, hv);
        for (int64_t u = 0; u < valid; ++u)
          yp[u * l.yH] = tmp[u];
      }
    }
  }

  template <int Rows>
  static LATHE_ALWAYS_INLINE void chunk(Loop &l, int64_t step, int64_t blk,
                                        int64_t n0) {
    int64_t ti = l.reverse ? l.t - 1 - step : step;
    VF acc[Rows][kAcc];
    startChunk<Rows>(l, ti, blk, n0, acc);
    waitForSteps(l.done, l.projChunks + step * l.homes);
    const float *hprev = l.hbuf + ((step + 1) & 1) * l.n * l.hp;
    multiplyAdd<Rows, kAcc>(
        acc, l.packed + (blk * l.k + l.in) * G * W, l.h,
        [&](int r, int64_t k) { return hprev[(n0 + r) * l.hp + k]; },
        recurrentAcc);
    finishChunk<Rows>(l, step, ti, blk, n0, acc);
  }
};

/// Kernel::chunk with the recurrent product in bf16 (vdpbf16ps: pairs of
/// hidden units per instruction, f32 accumulation): AVX-512 with
/// AVX512-BF16 only. Also stores the new h as bf16 for the next step.
template <Cell C, int Rows>
LATHE_TARGET_AVX512_BF16 __attribute__((noinline)) void
chunkBf16(Loop &l, int64_t step, int64_t blk, int64_t n0) {
  using K = Kernel<V16F, V16I, 16, C>;
  constexpr int G = K::G, W = 16;
  int64_t ti = l.reverse ? l.t - 1 - step : step;
  V16F acc[Rows][kAcc];
  K::template startChunk<Rows>(l, ti, blk, n0, acc);
  waitForSteps(l.done, l.projChunks + step * l.homes);
  const uint16_t *hprev = l.hbf + ((step + 1) & 1) * l.n * l.hp;
  const uint32_t *panel = l.rbf + blk * l.hPairs * G * W;
  for (int64_t kp = 0; kp < l.hPairs; ++kp) {
    __m512bh wg[G];
    for (int g = 0; g < G; ++g)
      wg[g] = (__m512bh)_mm512_loadu_si512(panel + (kp * G + g) * W);
    for (int r = 0; r < Rows; ++r) {
      uint32_t pair;
      std::memcpy(&pair, hprev + (n0 + r) * l.hp + 2 * kp, sizeof(pair));
      __m512bh s = (__m512bh)_mm512_set1_epi32(static_cast<int>(pair));
      for (int g = 0; g < G; ++g) {
        V16F &a = acc[r][K::recurrentAcc(g)];
        a = (V16F)_mm512_dpbf16_ps((__m512)a, s, wg[g]);
      }
    }
  }
  K::template finishChunk<Rows>(l, step, ti, blk, n0, acc);
  const float *hcur = l.hbuf + (step & 1) * l.n * l.hp;
  uint16_t *hnext = l.hbf + (step & 1) * l.n * l.hp;
  // Units past h (the block's padding) stay 0 in bf16: with an odd h the
  // last pair reads one, and a padding lane's h is NaN after an infinite
  // input (0 * Inf in its zero input weights), which 0 * NaN would spread.
  int64_t valid = std::min<int64_t>(W, l.h - blk * W);
  auto lanes = static_cast<__mmask16>((1u << valid) - 1);
  for (int r = 0; r < Rows; ++r) {
    int64_t at = (n0 + r) * l.hp + blk * W;
    __m256bh v = _mm512_maskz_cvtneps_pbh(lanes, _mm512_loadu_ps(hcur + at));
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(hnext + at), (__m256i)v);
  }
}

using ChunkFn = void (*)(Loop &, int64_t, int64_t, int64_t);
using ProjFn = void (*)(Loop &, int64_t, int64_t);

/// Step `step`'s chunk of home `h`.
void homeChunk(Loop &l, const ChunkFn *chunk, int maxRows, int64_t step,
               int h) {
  int64_t begin = h * l.items / l.homes, end = (h + 1) * l.items / l.homes;
  for (int64_t i = begin; i < end; ++i) {
    int64_t blk = i / l.rowGroups, n0 = (i % l.rowGroups) * maxRows;
    int64_t rows = std::min<int64_t>(maxRows, l.n - n0);
    chunk[rows - 1](l, step, blk, n0);
  }
  l.done.fetch_add(1, std::memory_order_release);
}

/// One participant: first input-product chunks (`proj`) while any are left,
/// then the steps' chunks (chunk[r - 1] computes r batch rows). The
/// participant owns one home, if any is left, and computes that home's chunk
/// of every step from the one it joins at, so each thread keeps reading the
/// same weight panels (from its own cache) and the same state; homes that no
/// participant owns (their thread has not arrived yet) are taken over, a step
/// at a time, by those that have. A late thread thus joins the recurrence at
/// the step its home has reached, and one that never arrives costs nothing.
void participate(Loop &l, ProjFn proj, const ChunkFn *chunk, int maxRows) {
  int own = l.joins.fetch_add(1, std::memory_order_relaxed);
  if (own < l.homes)
    l.home[own].owned.store(true, std::memory_order_release);
  else
    own = -1;
  for (;;) {
    int64_t ticket = l.ticket.fetch_add(1, std::memory_order_relaxed);
    if (ticket >= l.projChunks)
      break;
    // Block-major: consecutive chunks reuse the block's panel.
    int64_t rowChunks = l.projChunks / l.blocks;
    proj(l, ticket / rowChunks, (ticket % rowChunks) * kProjRows);
    l.done.fetch_add(1, std::memory_order_release);
  }
  if (own < 0)
    return;
  for (;;) {
    // One round: this participant's own home, then every unowned one, a
    // step each. It takes another home's step only once it has computed its
    // own share of that step (or all of its own): it never waits for a step
    // whose share in its own home nobody else may take, so no deadlock.
    bool left = false;
    int64_t ownNext = l.t;
    for (int j = 0; j < l.homes; ++j) {
      int h = (own + j) % l.homes;
      if (j != 0 && l.home[h].owned.load(std::memory_order_acquire))
        continue;
      int64_t step = l.home[h].next.load(std::memory_order_relaxed);
      if (step >= l.t)
        continue;
      left = true;
      if (j != 0 && step >= ownNext)
        continue;
      if (l.home[h].next.compare_exchange_strong(step, step + 1,
                                                 std::memory_order_relaxed))
        homeChunk(l, chunk, maxRows, step, h);
      if (j == 0)
        ownNext = l.home[h].next.load(std::memory_order_relaxed);
    }
    if (!left)
      return;
  }
}

// One function per cell and row count keeps each kernel's accumulators in
// registers.
#define LATHE_RNN_CHUNK(TARGET, NAME, VF, VI, W, CELL, ROWS)                   \
  TARGET __attribute__((noinline)) void NAME(Loop &l, int64_t step,            \
                                             int64_t blk, int64_t n0) {        \
    Kernel<VF, VI, W, CELL>::chunk<ROWS>(l, step, blk, n0);                    \
  }
#define LATHE_RNN_PROJ(TARGET, NAME, VF, VI, W, CELL, ROWS)                    \
  TARGET __attribute__((noinline)) void NAME(Loop &l, int64_t blk,             \
                                             int64_t j0) {                     \
    Kernel<VF, VI, W, CELL>::projChunk<ROWS>(l, blk, j0);                      \
  }
#define LATHE_RNN_VARIANTS(CELL, S)                                            \
  LATHE_RNN_CHUNK(LATHE_TARGET_AVX512, chunkAvx512##S##1, V16F, V16I, 16,      \
                  CELL, 1)                                                     \
  LATHE_RNN_CHUNK(LATHE_TARGET_AVX512, chunkAvx512##S##2, V16F, V16I, 16,      \
                  CELL, 2)                                                     \
  LATHE_RNN_CHUNK(LATHE_TARGET_AVX512, chunkAvx512##S##3, V16F, V16I, 16,      \
                  CELL, 3)                                                     \
  LATHE_RNN_CHUNK(LATHE_TARGET_AVX512, chunkAvx512##S##4, V16F, V16I, 16,      \
                  CELL, 4)                                                     \
  LATHE_RNN_CHUNK(LATHE_TARGET_AVX2, chunkAvx2##S##1, V8F, V8I, 8, CELL, 1)    \
  LATHE_RNN_CHUNK(LATHE_TARGET_AVX2, chunkAvx2##S##2, V8F, V8I, 8, CELL, 2)    \
  LATHE_RNN_PROJ(LATHE_TARGET_AVX512, projAvx512##S, V16F, V16I, 16, CELL, 4)  \
  LATHE_RNN_PROJ(LATHE_TARGET_AVX2, projAvx2##S, V8F, V8I, 8, CELL, 2)         \
  constexpr ChunkFn kChunksAvx512##S[] = {                                     \
      chunkAvx512##S##1, chunkAvx512##S##2, chunkAvx512##S##3,                 \
      chunkAvx512##S##4};                                                      \
  constexpr ChunkFn kChunksAvx2##S[] = {chunkAvx2##S##1, chunkAvx2##S##2};
LATHE_RNN_VARIANTS(Cell::Lstm, Lstm)
LATHE_RNN_VARIANTS(Cell::Gru, Gru)
#undef LATHE_RNN_VARIANTS
#undef LATHE_RNN_PROJ
#undef LATHE_RNN_CHUNK

constexpr ChunkFn kChunksBf16Lstm[] = {
    chunkBf16<Cell::Lstm, 1>, chunkBf16<Cell::Lstm, 2>,
    chunkBf16<Cell::Lstm, 3>, chunkBf16<Cell::Lstm, 4>};
constexpr ChunkFn kChunksBf16Gru[] = {
    chunkBf16<Cell::Gru, 1>, chunkBf16<Cell::Gru, 2>, chunkBf16<Cell::Gru, 3>,
    chunkBf16<Cell::Gru, 4>};

// AVX-512 has 32 vector registers (4 rows x 4 accumulators), AVX2 16 (2
// rows).
int maxRowsFor(int width) { return width == 16 ? 4 : 2; }

void participate(Loop &l, int width, bool gru) {
  if (l.rbf)
    participate(l, gru ? projAvx512Gru : projAvx512Lstm,
                gru ? kChunksBf16Gru : kChunksBf16Lstm, 4);
  else if (width == 16 && gru)
    participate(l, projAvx512Gru, kChunksAvx512Gru, 4);
  else if (width == 16)
    participate(l, projAvx512Lstm, kChunksAvx512Lstm, 4);
  else if (gru)
    participate(l, projAvx2Gru, kChunksAvx2Gru, 2);
  else
    participate(l, projAvx2Lstm, kChunksAvx2Lstm, 2);
}

} // namespace

size_t lathe::rt::rnnPackedFloats(const RnnLoopProblem &p) {
  int64_t blocks = (p.h + p.width - 1) / p.width;
  return static_cast<size_t>(blocks * (p.in + p.h) * rnnLoopGates(p) * p.width);
}

void lathe::rt::packRnnWeights(const RnnLoopProblem &p, const MemRefView &w,
                               const MemRefView &r, const int64_t *gates,
                               float *dst) {
  int64_t width = p.width, blocks = (p.h + width - 1) / width;
  int64_t k = p.in + p.h, gateCount = rnnLoopGates(p);
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t kk = 0; kk < k; ++kk) {
      const MemRefView &src = kk < p.in ? w : r;
      int64_t col = kk < p.in ? kk : kk - p.in;
      for (int64_t g = 0; g < gateCount; ++g) {
        float *out = dst + ((b * k + kk) * gateCount + g) * width;
        for (int64_t u = 0; u < width; ++u) {
          int64_t unit = b * width + u;
          out[u] = unit < p.h
                       ? src.data[(gates[g] * p.h + unit) * src.strides[0] +
                                  col * src.strides[1]]
                       : 0.f;
        }
      }
    }
}

bool lathe::rt::rnnLoopHasBf16() {
  static const bool has = simdWidth() == 16 && lathe_rt_cpu_has_bf16() &&
                          __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512bf16");
  return has;
}

size_t lathe::rt::rnnPackedBf16Words(const RnnLoopProblem &p) {
  int64_t blocks = (p.h + 15) / 16;
  return static_cast<size_t>(blocks * ((p.h + 1) / 2) * rnnLoopGates(p) * 16);
}

void lathe::rt::packRnnRecurrentBf16(const RnnLoopProblem &p,
                                     const MemRefView &r, const int64_t *gates,
                                     uint32_t *dst) {
  int64_t blocks = (p.h + 15) / 16, pairs = (p.h + 1) / 2;
  int64_t gateCount = rnnLoopGates(p);
  auto at = [&](int64_t g, int64_t unit, int64_t k) -> uint32_t {
    if (unit >= p.h || k >= p.h)
      return 0;
    return floatToBf16(
        r.data[(gates[g] * p.h + unit) * r.strides[0] + k * r.strides[1]]);
  };
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t kp = 0; kp < pairs; ++kp)
      for (int64_t g = 0; g < gateCount; ++g) {
        uint32_t *out = dst + ((b * pairs + kp) * gateCount + g) * 16;
        for (int64_t u = 0; u < 16; ++u)
          out[u] = at(g, b * 16 + u, 2 * kp) | at(g, b * 16 + u, 2 * kp + 1)
                                                   << 16;
      }
}

void lathe::rt::runRnnLoop(const RnnLoopProblem &p, const float *packed,
                           const float *bias, const MemRefView &x,
                           const MemRefView &h0, const MemRefView *c0,
                           const MemRefView &y, const MemRefView &hT,
                           const MemRefView *cT,
                           const uint32_t *recurrentBf16) {
  int width = p.width;
  Loop l;
  l.t = p.t;
  l.n = p.n;
  l.in = p.in;
  l.h = p.h;
  l.k = p.in + p.h;
  l.blocks = (p.h + width - 1) / width;
  l.hp = l.blocks * width;
  l.reverse = p.reverse;
  l.packed = packed;
  std::vector<float> paddedBias(static_cast<size_t>(kAcc * l.hp), 0.f);
  for (int64_t g = 0; g < kAcc; ++g)
    std::copy(bias + g * p.h, bias + (g + 1) * p.h,
              paddedBias.begin() + g * l.hp);
  l.bias = paddedBias.data();
  int tAxis = p.batchFirst ? 1 : 0, nAxis = p.batchFirst ? 0 : 1;
  l.x = x.data;
  l.xT = x.strides[tAxis];
  l.xN = x.strides[nAxis];
  l.xI = x.strides[2];

  // y is written while x is read: through a copy when they share memory.
  const float *xEnd = x.data, *yEnd = y.data;
  const float *xBegin = x.data, *yBegin = y.data;
  for (int64_t d = 0; d < 3; ++d) {
    xEnd += (x.sizes[d] - 1) * x.strides[d];
    yEnd += (y.sizes[d] - 1) * y.strides[d];
  }
  bool yOverlaps = yBegin <= xEnd && xBegin <= yEnd;
  std::vector<float> yCopy;
  if (yOverlaps) {
    yCopy.resize(static_cast<size_t>(p.t * p.n * p.h));
    l.y = yCopy.data();
    l.yT = p.batchFirst ? p.h : p.n * p.h;
    l.yN = p.batchFirst ? p.t * p.h : p.h;
    l.yH = 1;
  } else {
    l.y = y.data;
    l.yT = y.strides[tAxis];
    l.yN = y.strides[nAxis];
    l.yH = y.strides[2];
  }

  std::vector<float> state(static_cast<size_t>(3 * p.n * l.hp), 0.f);
  l.hbuf = state.data();
  l.cbuf = state.data() + 2 * p.n * l.hp;
  float *hInit = l.hbuf + p.n * l.hp; // Step 0 reads buffer 1.
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t u = 0; u < p.h; ++u) {
      hInit[n * l.hp + u] = h0.data[n * h0.strides[0] + u * h0.strides[1]];
      if (c0)
        l.cbuf[n * l.hp + u] =
            c0->data[n * c0->strides[0] + u * c0->strides[1]];
    }

  std::vector<uint16_t> hBf16;
  if (recurrentBf16) {
    hBf16.assign(static_cast<size_t>(2 * p.n * l.hp), 0);
    l.rbf = recurrentBf16;
    l.hbf = hBf16.data();
    l.hPairs = (p.h + 1) / 2;
    for (int64_t i = 0; i < p.n * l.hp; ++i)
      l.hbf[p.n * l.hp + i] = floatToBf16(hInit[i]);
  }

  l.rowsPerChunk = maxRowsFor(width);
  l.rowGroups = (p.n + l.rowsPerChunk - 1) / l.rowsPerChunk;
  l.items = l.rowGroups * l.blocks;
  int64_t gateCount = rnnLoopGates(p);
  int64_t projBytes = p.t * p.n * gateCount * l.hp * int64_t(sizeof(float));
  if (projBytes <= kMaxProjBytes) {
    // Reused from call to call: a fresh buffer of this size costs page
    // faults on every call.
    thread_local std::array<std::pair<ScratchBuffer, size_t>, 1> slots;
    thread_local uint64_t slotsSession = 0;
    l.proj = static_cast<float *>(
        threadScratchSlot(slots.data(), slots.size(), slotsSession, 0,
                          static_cast<size_t>(projBytes)));
    l.projChunks = (p.t * p.n + kProjRows - 1) / kProjRows * l.blocks;
  }

  int threads = lathe_rt_get_num_threads();
  int64_t stepMacs = p.n * gateCount * p.h * p.h;
  int participants =
      threads > 1 && stepMacs >= kMinParallelStepMacs
          ? static_cast<int>(std::min<int64_t>(
                {threads, l.items, static_cast<int64_t>(l.home.size())}))
          : 1;
  l.homes = participants;
  if (participants <= 1) {
    participate(l, width, p.gru);
  } else {
    struct Body {
      Loop *loop;
      int width;
      bool gru;
    } body{&l, width, p.gru};
    runParallelJob(
        participants, 1, participants - 1,
        [](const void *b, int64_t, int64_t) {
          auto *bd = static_cast<const Body *>(b);
          participate(*bd->loop, bd->width, bd->gru);
        },
        &body);
  }

  if (yOverlaps) {
    MemRefView dense = y;
    dense.data = yCopy.data();
    dense.strides[tAxis] = l.yT;
    dense.strides[nAxis] = l.yN;
    dense.strides[2] = 1;
    copyStrided(dense, y);
  }
  const float *hLast = l.hbuf + ((p.t - 1) & 1) * p.n * l.hp;
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t u = 0; u < p.h; ++u) {
      hT.data[n * hT.strides[0] + u * hT.strides[1]] = hLast[n * l.hp + u];
      if (cT)
        cT->data[n * cT->strides[0] + u * cT->strides[1]] =
            l.cbuf[n * l.hp + u];
    }
}
