//===- Rnn.cpp - LSTM and GRU layers (lathe.rnn) --------------------------===//
//
// One direction of a recurrent layer (lathe.rnn). LSTMs and
// linear-before-reset GRUs run on the runtime's own loop (RnnLoop.h) on CPUs
// with AVX2 + FMA or AVX-512. The others (GRUs that reset before the
// product, any cell on older CPUs) run as one oneDNN primitive:
// lstm_forward, gru_forward or lbr_gru_forward, forward inference, one layer,
// left-to-right or right-to-left. The whole sequence runs inside oneDNN (its
// GEMMs for both projections, its fused gate kernels), instead of one matmul
// call and a loop of generated gate code per step.
//
// The operands come in the ONNX / PyTorch layout: W [G*H, I] and R [G*H, H]
// with gate blocks in the order `gates` names. oneDNN wants ldigo (input,
// gate, output) with its own gate order (LSTM i, f, c, o; GRU u, r, o, the
// canonical orders of lathe.rnn) in a layout it picks (format any). Weights
// are permuted into a plain ldigo buffer and reordered into that layout; with
// LATHE_RNN_CONST_WEIGHTS once per session and address (PackedWeights), the
// way the matmul pre-packs its constant B. The biases are combined per call
// into oneDNN's [G, H] (LBR GRU: [4, H], the candidate's recurrent bias
// apart), which is small.
//
// With LATHE_RNN_BATCH_FIRST x and y are batch-major ([N, T, C], oneDNN's
// ntc). x, h0, c0, y, hT and cT are used in place when they are dense, and
// staged through dense copies otherwise (a direction's slice of a bidirectional
// [T, 2, N, H] Y is strided).
//
//===----------------------------------------------------------------------===//

#include "Dnnl.h"
#include "RnnLoop.h"
#include "Simd.h"

#include <cstring>
#include <dlfcn.h>
#include <map>
#include <mutex>

using namespace lathe::rt;
using dnnl::memory;

namespace {

constexpr const char *kKernel = "lathe_rt_rnn_f32";
constexpr int64_t kKnownFlags = LATHE_RNN_CELL_MASK | LATHE_RNN_REVERSE |
                                LATHE_RNN_HAS_RECURRENT_BIAS |
                                LATHE_RNN_CONST_WEIGHTS | LATHE_RNN_BATCH_FIRST;

struct Entry {
  dnnl::primitive prim;
  memory::desc xMd, stateMd, wMd, rMd, biasMd, yMd, wPlainMd, rPlainMd;
  memory::desc scratchMd;
  bool reference = false;
  PackedWeights packed;
  /// LSTMs and LBR GRUs on the runtime's own loop (RnnLoop.h): constant W
  /// and R packed once per pair of addresses.
  std::mutex loopMutex;
  std::map<std::pair<const float *, const float *>,
           std::shared_ptr<ScratchBuffer>>
      loopPacked;
};

/// Runs the enclosed primitive on one OpenMP thread, restoring the count.
/// A layer whose per-step recurrent product is small (a few hundred
/// thousand multiply-adds: batch 4, hidden 128) gains nothing from a second
/// thread, whose barrier every step costs more than its half of the step,
/// and on a loaded machine a waiting thread costs milliseconds.
class SingleThreadScope {
public:
  explicit SingleThreadScope(bool active) {
    using Get = int (*)();
    static auto get =
        reinterpret_cast<Get>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
    static auto set =
        reinterpret_cast<Set>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
    if (!active || !get || !set)
      return;
    previous = get();
    if (previous > 1) {
      setFn = set;
      set(1);
    }
  }
  ~SingleThreadScope() {
    if (setFn)
      setFn(previous);
  }
  SingleThreadScope(const SingleThreadScope &) = delete;
  SingleThreadScope &operator=(const SingleThreadScope &) = delete;

private:
  using Set = void (*)(int);
  Set setFn = nullptr;
  int previous = 0;
};

/// Per-step recurrent multiply-adds below which one thread runs the layer.
constexpr int64_t kSingleThreadStepMacs = int64_t(1) << 20;

PrimitiveCache<Entry> &cache() {
  return currentSession().cache<PrimitiveCache<Entry>>(CacheSlot::Rnn);
}

struct Problem {
  int cell = LATHE_RNN_LSTM;
  bool reverse = false, batchFirst = false;
  int64_t t = 0, n = 0, in = 0, h = 0, g = 0;
};

std::shared_ptr<Entry> build(const Problem &p) {
  auto e = std::make_shared<Entry>();
  using tag = memory::format_tag;
  const auto f32 = memory::data_type::f32;
  tag seqTag = p.batchFirst ? tag::ntc : tag::tnc;
  e->xMd = memory::desc({p.t, p.n, p.in}, f32, seqTag);
  e->stateMd = memory::desc({1, 1, p.n, p.h}, f32, tag::ldnc);
  e->yMd = memory::desc({p.t, p.n, p.h}, f32, seqTag);
  e->wPlainMd = memory::desc({1, 1, p.in, p.g, p.h}, f32, tag::ldigo);
  e->rPlainMd = memory::desc({1, 1, p.h, p.g, p.h}, f32, tag::ldigo);
  memory::desc wAny({1, 1, p.in, p.g, p.h}, f32, tag::any);
  memory::desc rAny({1, 1, p.h, p.g, p.h}, f32, tag::any);
  int64_t biasGates = p.cell == LATHE_RNN_LBR_GRU ? 4 : p.g;
  e->biasMd = memory::desc({1, 1, biasGates, p.h}, f32, tag::ldgo);
  auto dir = p.reverse ? dnnl::rnn_direction::unidirectional_right2left
                       : dnnl::rnn_direction::unidirectional_left2right;
  auto prop = dnnl::prop_kind::forward_inference;
  dnnl::primitive_attr attr = userScratchpadAttr();
  dnnl::engine &eng = cpuEngine();
  auto finish = [&](const auto &pd, auto prim) {
    e->wMd = pd.weights_layer_desc();
    e->rMd = pd.weights_iter_desc();
    e->scratchMd = pd.scratchpad_desc();
    e->reference = isReference(pd);
    e->prim = prim;
  };
  if (p.cell == LATHE_RNN_LSTM) {
    dnnl::lstm_forward::desc d(prop, dir, e->xMd, e->stateMd, e->stateMd, wAny,
                               rAny, e->biasMd, e->yMd, e->stateMd, e->stateMd);
    dnnl::lstm_forward::primitive_desc pd(d, attr, eng);
    finish(pd, dnnl::lstm_forward(pd));
  } else if (p.cell == LATHE_RNN_GRU) {
    dnnl::gru_forward::desc d(prop, dir, e->xMd, e->stateMd, wAny, rAny,
                              e->biasMd, e->yMd, e->stateMd);
    dnnl::gru_forward::primitive_desc pd(d, attr, eng);
    finish(pd, dnnl::gru_forward(pd));
  } else {
    dnnl::lbr_gru_forward::desc d(prop, dir, e->xMd, e->stateMd, wAny, rAny,
                                  e->biasMd, e->yMd, e->stateMd);
    dnnl::lbr_gru_forward::primitive_desc pd(d, attr, eng);
    finish(pd, dnnl::lbr_gru_forward(pd));
  }
  return e;
}

/// `src` [G*H, K] (rows in gate blocks) as a dense ldigo [K, G, H] buffer
/// with gate g of the cell taken from block gates[g].
void toLdigo(const MemRefView &src, const int64_t *gates, int64_t g, int64_t h,
             float *dst) {
  int64_t k = src.sizes[1];
  for (int64_t i = 0; i < k; ++i)
    for (int64_t gi = 0; gi < g; ++gi) {
      const float *row =
          src.data + gates[gi] * h * src.strides[0] + i * src.strides[1];
      float *out = dst + (i * g + gi) * h;
      for (int64_t o = 0; o < h; ++o)
        out[o] = row[o * src.strides[0]];
    }
}

/// The weights in the primitive's layout: packed once per address when
/// constant, else permuted and reordered into `scratch` now.
void *weightsFor(Entry &e, const MemRefView &v, const memory::desc &plainMd,
                 const memory::desc &md, const int64_t *gates, const Problem &p,
                 bool constant, ScratchBuffer &scratch) {
  if (constant)
    if (void *packed = e.packed.lookup(v.data))
      return packed;
  std::vector<float> plain(static_cast<size_t>(v.sizes[1] * p.g * p.h));
  toLdigo(v, gates, p.g, p.h, plain.data());
  if (constant)
    return e.packed.pack(v.data, plain.data(), plainMd, md);
  scratch = ScratchBuffer(md.get_size());
  reorder(plainMd, plain.data(), md, scratch.get());
  return scratch.get();
}

/// A dense row-major pointer to `v`'s elements: `v` itself, or a copy in
/// `scratch` (copied in when `copyIn`).
float *dense(const MemRefView &v, bool copyIn, ScratchBuffer &scratch,
             bool &staged) {
  staged = !v.isContiguous();
  if (!staged)
    return v.data;
  scratch = ScratchBuffer(static_cast<size_t>(v.numel()) * sizeof(float));
  MemRefView d = v;
  d.data = scratch.floats();
  int64_t stride = 1;
  for (int64_t i = v.rank - 1; i >= 0; --i) {
    d.strides[i] = stride;
    stride *= v.sizes[i];
  }
  if (copyIn)
    copyStrided(v, d);
  return d.data;
}

/// Copies dense `src` back into the strided view `dst`.
void copyBack(const float *src, const MemRefView &dst) {
  MemRefView d = dst;
  d.data = const_cast<float *>(src);
  int64_t stride = 1;
  for (int64_t i = dst.rank - 1; i >= 0; --i) {
    d.strides[i] = stride;
    stride *= dst.sizes[i];
  }
  copyStrided(d, dst);
}

void expectShape(const MemRefView &v, std::initializer_list<int64_t> shape,
                 const char *what) {
  bool ok = v.rank == static_cast<int64_t>(shape.size());
  int64_t i = 0;
  for (int64_t s : shape)
    ok = ok && v.sizes[i++] == s;
  if (!ok) {
    std::string want = "[";
    for (int64_t s : shape)
      want += (want.size() > 1 ? "x" : "") + std::to_string(s);
    fail(LATHE_ERR_SHAPE, what, " ", shapeString(v), " should be ", want, "]");
  }
}

/// The biases as `rows` x H in the cell's gate order (gate g from block
/// gates[g]): input and recurrent bias summed per gate, except the
/// linear-before-reset GRU's candidate (gate 2), whose recurrent bias goes to
/// row 3 (oneDNN's lbr_gru layout, and RnnLoop.h's).
std::vector<float> gateBiases(const Problem &p, const int64_t *gates,
                              const MemRefView &b, const MemRefView *rb,
                              int64_t rows) {
  std::vector<float> bias(static_cast<size_t>(rows * p.h), 0.f);
  for (int64_t gi = 0; gi < p.g; ++gi) {
    bool apart = p.cell == LATHE_RNN_LBR_GRU && gi == 2;
    for (int64_t o = 0; o < p.h; ++o) {
      int64_t src = gates[gi] * p.h + o;
      float v = b.data[src * b.strides[0]];
      float rv = rb ? rb->data[src * rb->strides[0]] : 0.f;
      bias[gi * p.h + o] = apart ? v : v + rv;
      if (apart)
        bias[3 * p.h + o] = rv;
    }
  }
  return bias;
}

/// An LSTM or linear-before-reset GRU direction on the runtime's own loop
/// (RnnLoop.h); with bf16 recurrent products profiled as "rnn_bf16".
void runOwnLoop(ProfileScope &scope, const Problem &p, const int64_t *gates,
                bool constW, int64_t gatesCode, const MemRefView &x,
                const MemRefView &w, const MemRefView &r, const MemRefView &b,
                const MemRefView *rb, const MemRefView &h0,
                const MemRefView *c0, const MemRefView &y, const MemRefView &hT,
                const MemRefView *cT) {
  RnnLoopProblem lp;
  lp.t = p.t;
  lp.n = p.n;
  lp.in = p.in;
  lp.h = p.h;
  lp.reverse = p.reverse;
  lp.batchFirst = p.batchFirst;
  lp.gru = p.cell == LATHE_RNN_LBR_GRU;
  lp.width = simdWidth();
  // bf16 recurrent products in a bf16 session where the CPU has them.
  bool bf16 =
      currentSession().precision == LATHE_PRECISION_BF16 && rnnLoopHasBf16();
  static const int profileKindBf16 = getProfileKind("rnn_bf16");
  if (bf16)
    scope.setKind(profileKindBf16);
  // RnnLoop.h's [4, H].
  std::vector<float> bias = gateBiases(p, gates, b, rb, 4);
  // The f32 panels, then (bf16) R's bf16 pairs.
  size_t floats = rnnPackedFloats(lp);
  size_t bytes = floats * sizeof(float) +
                 (bf16 ? rnnPackedBf16Words(lp) * sizeof(uint32_t) : 0);
  auto pack = [&](float *dst) {
    packRnnWeights(lp, w, r, gates, dst);
    if (bf16)
      packRnnRecurrentBf16(lp, r, gates,
                           reinterpret_cast<uint32_t *>(dst + floats));
  };
  ScratchBuffer local;
  float *packed = nullptr;
  std::shared_ptr<Entry> e;
  if (constW) {
    std::vector<int64_t> key = {-1 - p.cell, gatesCode, p.in,
                                p.h,         lp.width,  bf16};
    e = cache().getOrCreate(key, [] { return std::make_shared<Entry>(); });
    std::lock_guard<std::mutex> lock(e->loopMutex);
    std::shared_ptr<ScratchBuffer> &slot = e->loopPacked[{w.data, r.data}];
    if (!slot) {
      auto buffer = std::make_shared<ScratchBuffer>(bytes);
      pack(buffer->floats());
      slot = std::move(buffer);
    }
    packed = slot->floats();
  } else {
    local = ScratchBuffer(bytes);
    pack(local.floats());
    packed = local.floats();
  }
  runRnnLoop(lp, packed, bias.data(), x, h0, c0, y, hT, cT,
             bf16 ? reinterpret_cast<const uint32_t *>(packed + floats)
                  : nullptr);
}

void rnn(int64_t rankX, void *xDesc, int64_t rankW, void *wDesc, int64_t rankR,
         void *rDesc, int64_t rankB, void *bDesc, int64_t rankRb, void *rbDesc,
         int64_t rankH0, void *h0Desc, int64_t rankC0, void *c0Desc,
         int64_t rankY, void *yDesc, int64_t rankHT, void *hTDesc,
         int64_t rankCT, void *cTDesc, int64_t flags, int64_t gatesCode) {
  static const int profileKind = getProfileKind("rnn");
  ProfileScope scope(profileKind);
  applyThreadSettings();
  if (flags & ~kKnownFlags)
    fail(LATHE_ERR_INVALID, "unknown flag bits 0x", std::hex,
         flags & ~kKnownFlags);
  Problem p;
  p.cell = static_cast<int>(flags & LATHE_RNN_CELL_MASK);
  if (p.cell != LATHE_RNN_LSTM && p.cell != LATHE_RNN_GRU &&
      p.cell != LATHE_RNN_LBR_GRU)
    fail(LATHE_ERR_INVALID, "unknown cell ", p.cell);
  bool lstm = p.cell == LATHE_RNN_LSTM;
  p.reverse = flags & LATHE_RNN_REVERSE;
  p.batchFirst = flags & LATHE_RNN_BATCH_FIRST;
  bool hasRb = flags & LATHE_RNN_HAS_RECURRENT_BIAS;
  bool constW = flags & LATHE_RNN_CONST_WEIGHTS;
  p.g = lstm ? 4 : 3;
  int64_t gates[4];
  bool seen[4] = {false, false, false, false};
  for (int64_t i = 0; i < p.g; ++i) {
    gates[i] = (gatesCode >> (4 * i)) & 0xF;
    if (gates[i] >= p.g || seen[gates[i]])
      fail(LATHE_ERR_INVALID, "gate blocks 0x", std::hex, gatesCode,
           " are not a permutation of 0..", std::dec, p.g - 1);
    seen[gates[i]] = true;
  }

  MemRefView x = decodeMemRef(rankX, xDesc, "x");
  MemRefView w = decodeMemRef(rankW, wDesc, "W");
  MemRefView r = decodeMemRef(rankR, rDesc, "R");
  MemRefView b = decodeMemRef(rankB, bDesc, "bias");
  MemRefView h0 = decodeMemRef(rankH0, h0Desc, "h0");
  MemRefView y = decodeMemRef(rankY, yDesc, "y");
  MemRefView hT = decodeMemRef(rankHT, hTDesc, "hT");
  if (x.rank != 3 || r.rank != 2)
    fail(LATHE_ERR_SHAPE, "x ", shapeString(x),
         " must be [T, N, I] ([N, T, I] batch-first) and R ", shapeString(r),
         " [G*H, H]");
  p.t = x.sizes[p.batchFirst ? 1 : 0];
  p.n = x.sizes[p.batchFirst ? 0 : 1];
  p.in = x.sizes[2];
  p.h = r.sizes[1];
  expectShape(w, {p.g * p.h, p.in}, "W");
  expectShape(r, {p.g * p.h, p.h}, "R");
  expectShape(b, {p.g * p.h}, "bias");
  expectShape(h0, {p.n, p.h}, "h0");
  if (p.batchFirst)
    expectShape(y, {p.n, p.t, p.h}, "y");
  else
    expectShape(y, {p.t, p.n, p.h}, "y");
  expectShape(hT, {p.n, p.h}, "hT");
  MemRefView rb, c0, cT;
  if (hasRb) {
    rb = decodeMemRef(rankRb, rbDesc, "recurrent bias");
    expectShape(rb, {p.g * p.h}, "recurrent bias");
  }
  if (lstm) {
    c0 = decodeMemRef(rankC0, c0Desc, "c0");
    cT = decodeMemRef(rankCT, cTDesc, "cT");
    expectShape(c0, {p.n, p.h}, "c0");
    expectShape(cT, {p.n, p.h}, "cT");
  }
  if (p.n == 0 || p.h == 0)
    return;
  if (p.t == 0) {
    copyStrided(h0, hT);
    if (lstm)
      copyStrided(c0, cT);
    return;
  }

  if ((lstm || p.cell == LATHE_RNN_LBR_GRU) && simdWidth() > 0) {
    runOwnLoop(scope, p, gates, constW, gatesCode, x, w, r, b,
               hasRb ? &rb : nullptr, h0, lstm ? &c0 : nullptr, y, hT,
               lstm ? &cT : nullptr);
    return;
  }

  std::vector<int64_t> key = {
      flags & ~LATHE_RNN_HAS_RECURRENT_BIAS, gatesCode, p.t, p.n, p.in, p.h};
  // Primitives size their thread partitioning when they are created: both
  // creation and execution see the same thread count.
  bool singleThread = p.n * p.g * p.h * p.h < kSingleThreadStepMacs;
  std::shared_ptr<Entry> e = cache().getOrCreate(key, [&] {
    SingleThreadScope single(singleThread);
    return build(p);
  });

  // oneDNN's bias [G, H] (LBR GRU: u, r, o, then o's recurrent bias).
  std::vector<float> bias = gateBiases(p, gates, b, hasRb ? &rb : nullptr,
                                       p.cell == LATHE_RNN_LBR_GRU ? 4 : p.g);

  ScratchBuffer sw, sr, sx, sh0, sc0, sy, shT, scT;
  void *wPtr = weightsFor(*e, w, e->wPlainMd, e->wMd, gates, p, constW, sw);
  void *rPtr = weightsFor(*e, r, e->rPlainMd, e->rMd, gates, p, constW, sr);
  bool staged;
  float *xPtr = dense(x, true, sx, staged);
  float *h0Ptr = dense(h0, true, sh0, staged);
  float *c0Ptr = lstm ? dense(c0, true, sc0, staged) : nullptr;
  bool yStaged, hTStaged, cTStaged = false;
  float *yPtr = dense(y, false, sy, yStaged);
  float *hTPtr = dense(hT, false, shT, hTStaged);
  float *cTPtr = lstm ? dense(cT, false, scT, cTStaged) : nullptr;
  // Outputs that share memory with an input are written to copies.
  int64_t stateN = p.n * p.h;
  auto overlap = [](const float *a, int64_t na, const float *b, int64_t nb) {
    return a && b && a < b + nb && b < a + na;
  };
  auto clash = [&](const float *out, int64_t outN) {
    return overlap(out, outN, xPtr, p.t * p.n * p.in) ||
           overlap(out, outN, h0Ptr, stateN) ||
           overlap(out, outN, c0Ptr, stateN);
  };
  std::vector<float> yTmp, hTTmp, cTTmp;
  float *yOut = yPtr, *hTOut = hTPtr, *cTOut = cTPtr;
  if (clash(yPtr, p.t * stateN)) {
    yTmp.resize(static_cast<size_t>(p.t * stateN));
    yOut = yTmp.data();
  }
  if (clash(hTPtr, stateN)) {
    hTTmp.resize(static_cast<size_t>(stateN));
    hTOut = hTTmp.data();
  }
  if (lstm && clash(cTPtr, stateN)) {
    cTTmp.resize(static_cast<size_t>(stateN));
    cTOut = cTTmp.data();
  }

  dnnl::engine &eng = cpuEngine();
  std::unordered_map<int, memory> args;
  args.emplace(DNNL_ARG_SRC_LAYER, memory(e->xMd, eng, xPtr));
  args.emplace(DNNL_ARG_SRC_ITER, memory(e->stateMd, eng, h0Ptr));
  args.emplace(DNNL_ARG_WEIGHTS_LAYER, memory(e->wMd, eng, wPtr));
  args.emplace(DNNL_ARG_WEIGHTS_ITER, memory(e->rMd, eng, rPtr));
  args.emplace(DNNL_ARG_BIAS, memory(e->biasMd, eng, bias.data()));
  args.emplace(DNNL_ARG_DST_LAYER, memory(e->yMd, eng, yOut));
  args.emplace(DNNL_ARG_DST_ITER, memory(e->stateMd, eng, hTOut));
  if (lstm) {
    args.emplace(DNNL_ARG_SRC_ITER_C, memory(e->stateMd, eng, c0Ptr));
    args.emplace(DNNL_ARG_DST_ITER_C, memory(e->stateMd, eng, cTOut));
  }
  UserScratchpad scratchpad(e->scratchMd);
  scratchpad.addTo(args, eng);
  {
    SingleThreadScope single(singleThread);
    e->prim.execute(cpuStream(), args);
    cpuStream().wait();
  }

  auto settle = [](float *tmp, float *dst, int64_t count) {
    if (tmp != dst)
      std::memcpy(dst, tmp, static_cast<size_t>(count) * sizeof(float));
  };
  settle(yOut, yPtr, p.t * stateN);
  settle(hTOut, hTPtr, stateN);
  if (lstm)
    settle(cTOut, cTPtr, stateN);
  if (yStaged)
    copyBack(yPtr, y);
  if (hTStaged)
    copyBack(hTPtr, hT);
  if (cTStaged)
    copyBack(cTPtr, cT);
}

} // namespace

extern "C" void
lathe_rt_rnn_f32(int64_t rankX, void *x, int64_t rankW, void *w, int64_t rankR,
                 void *r, int64_t rankB, void *bias, int64_t rankRb,
                 void *recurrentBias, int64_t rankH0, void *h0, int64_t rankC0,
                 void *c0, int64_t rankY, void *y, int64_t rankHT, void *hT,
                 int64_t rankCT, void *cT, int64_t flags, int64_t gates) {
  guardKernel(kKernel, [&] {
    rnn(rankX, x, rankW, w, rankR, r, rankB, bias, rankRb, recurrentBias,
        rankH0, h0, rankC0, c0, rankY, y, rankHT, hT, rankCT, cT, flags, gates);
  });
}
