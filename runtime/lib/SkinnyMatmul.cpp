//===- SkinnyMatmul.cpp - Few rows times a constant matrix ----------------===//
//
// See SkinnyMatmul.h. B [K, N] is packed into panels of P = 4 vectors of
// columns (64 floats with AVX-512, 32 with AVX2), panel p holding rows
// 0..K-1 of columns p*P .. p*P+P-1 contiguously (zero past N), so one panel
// is one linear stream for the hardware prefetcher. A panel is the unit of
// work handed to the threads. For a group of rows of A, a kernel keeps
// rows x (a pass of) the panel's vectors in accumulators over all of K and
// writes them to a tile; a group of many rows covers the panel in several
// passes of fewer vectors (each pass reads its own cache lines of the
// panel), so the accumulators fit the register file (32 vectors with
// AVX-512, 16 with AVX2). The epilogue then adds the bias, applies the
// activation (Internal.h's applyActivation: NaN stays NaN through ReLU) and
// adds the residual while it writes C through its strides.
//
// Products of NaN or Inf propagate as IEEE arithmetic says; the zero columns
// past N may hold NaN (0 x Inf) but are never written out.
//
//===----------------------------------------------------------------------===//

#include "SkinnyMatmul.h"

#include "Parallel.h"
#include "Simd.h"

#include <algorithm>
#include <vector>

using namespace lathe::rt;

namespace {

/// Vectors per panel.
constexpr int kPanelVecs = 4;

/// A kernel: rows aRows[0..Rows) of A (contiguous over K) times one packed
/// panel, into tile[Rows][P].
using TileFn = void (*)(const float *panel, int64_t k,
                        const float *const *aRows, float *tile);

/// Accumulates rows x Vecs vectors of the panel, vectors v0.. of each row.
template <typename VF, int W, int Rows, int Vecs>
LATHE_ALWAYS_INLINE void tilePass(const float *panel, int64_t k,
                                  const float *const *aRows, int v0,
                                  float *tile) {
  constexpr int p = kPanelVecs * W;
  VF acc[Rows][Vecs];
  for (int r = 0; r < Rows; ++r)
    for (int v = 0; v < Vecs; ++v)
      acc[r][v] = VF{};
  const float *w = panel + v0 * W;
  for (int64_t kk = 0; kk < k; ++kk, w += p) {
    VF wv[Vecs];
    for (int v = 0; v < Vecs; ++v)
      wv[v] = loadVec<VF>(w + v * W);
    for (int r = 0; r < Rows; ++r) {
      VF s = splatVec<VF>(aRows[r][kk]);
      for (int v = 0; v < Vecs; ++v)
        acc[r][v] += wv[v] * s;
    }
  }
  for (int r = 0; r < Rows; ++r)
    for (int v = 0; v < Vecs; ++v)
      storeVec(tile + r * p + (v0 + v) * W, acc[r][v]);
}

/// The whole panel for Rows rows, in passes of as many vectors as the
/// accumulators allow (at most 16 of AVX-512's 32 registers, 8 of AVX2's 16:
/// the rest hold the panel's vectors and the broadcast of A).
template <typename VF, int W, int Rows>
LATHE_ALWAYS_INLINE void tile(const float *panel, int64_t k,
                              const float *const *aRows, float *out) {
  constexpr int maxAcc = W == 16 ? 16 : 8;
  constexpr int vecs = Rows * kPanelVecs <= maxAcc       ? kPanelVecs
                       : Rows * kPanelVecs / 2 <= maxAcc ? kPanelVecs / 2
                                                         : 1;
  for (int v0 = 0; v0 < kPanelVecs; v0 += vecs)
    tilePass<VF, W, Rows, vecs>(panel, k, aRows, v0, out);
}

// One function per row count keeps each kernel's accumulators in registers.
#define LATHE_SKINNY_TILE(TARGET, NAME, VF, W, ROWS)                           \
  TARGET __attribute__((noinline)) void NAME(                                  \
      const float *panel, int64_t k, const float *const *aRows, float *out) {  \
    tile<VF, W, ROWS>(panel, k, aRows, out);                                   \
  }
LATHE_SKINNY_TILE(LATHE_TARGET_AVX512, tileAvx512x1, V16F, 16, 1)
LATHE_SKINNY_TILE(LATHE_TARGET_AVX512, tileAvx512x2, V16F, 16, 2)
LATHE_SKINNY_TILE(LATHE_TARGET_AVX512, tileAvx512x3, V16F, 16, 3)
LATHE_SKINNY_TILE(LATHE_TARGET_AVX512, tileAvx512x4, V16F, 16, 4)
LATHE_SKINNY_TILE(LATHE_TARGET_AVX512, tileAvx512x5, V16F, 16, 5)
LATHE_SKINNY_TILE(LATHE_TARGET_AVX512, tileAvx512x6, V16F, 16, 6)
LATHE_SKINNY_TILE(LATHE_TARGET_AVX512, tileAvx512x7, V16F, 16, 7)
LATHE_SKINNY_TILE(LATHE_TARGET_AVX512, tileAvx512x8, V16F, 16, 8)
LATHE_SKINNY_TILE(LATHE_TARGET_AVX2, tileAvx2x1, V8F, 8, 1)
LATHE_SKINNY_TILE(LATHE_TARGET_AVX2, tileAvx2x2, V8F, 8, 2)
LATHE_SKINNY_TILE(LATHE_TARGET_AVX2, tileAvx2x3, V8F, 8, 3)
LATHE_SKINNY_TILE(LATHE_TARGET_AVX2, tileAvx2x4, V8F, 8, 4)
#undef LATHE_SKINNY_TILE

constexpr TileFn kTilesAvx512[] = {tileAvx512x1, tileAvx512x2, tileAvx512x3,
                                   tileAvx512x4, tileAvx512x5, tileAvx512x6,
                                   tileAvx512x7, tileAvx512x8};
constexpr TileFn kTilesAvx2[] = {tileAvx2x1, tileAvx2x2, tileAvx2x3,
                                 tileAvx2x4};

/// B packed once (per session, address, shape and vector width).
struct Entry {
  ScratchBuffer packed;
};

PrimitiveCache<Entry> &cache() {
  return currentSession().cache<PrimitiveCache<Entry>>(CacheSlot::SkinnyB);
}

/// Packs the [K, N] matrix `b` (the last two dims of the operand) into
/// panels of `p` columns (see the file comment).
void packPanels(const Operand &b, int64_t k, int64_t n, int64_t p, float *dst) {
  size_t rank = b.dims.size();
  int64_t sk = b.strides[rank - 2], sn = b.strides[rank - 1];
  int64_t panels = (n + p - 1) / p;
  for (int64_t pi = 0; pi < panels; ++pi) {
    float *out = dst + pi * k * p;
    int64_t cols = std::min(p, n - pi * p);
    const float *src = b.data + pi * p * sn;
    // Walk the source along its contiguous dimension where it has one.
    if (sk == 1 && sn != 1) {
      for (int64_t j = 0; j < cols; ++j)
        for (int64_t kk = 0; kk < k; ++kk)
          out[kk * p + j] = src[kk + j * sn];
    } else {
      for (int64_t kk = 0; kk < k; ++kk)
        for (int64_t j = 0; j < cols; ++j)
          out[kk * p + j] = src[kk * sk + j * sn];
    }
    for (int64_t kk = 0; kk < k; ++kk)
      std::fill(out + kk * p + cols, out + kk * p + p, 0.f);
  }
}

/// Element offset of row `r` of an operand broadcast to C's leading dims
/// (all but the last): its own size-1 dims do not advance.
int64_t rowOffset(const Operand &op, const Dims &cDims, int64_t r) {
  int64_t offset = 0;
  for (size_t d = cDims.size() - 1; d-- > 0;) {
    int64_t i = r % cDims[d];
    r /= cDims[d];
    if (op.dims[d] != 1)
      offset += i * op.strides[d];
  }
  return offset;
}

/// The same elements as `b`, laid out identically.
bool sameView(const Operand &a, const Operand &b) {
  return a.data == b.data && a.dims == b.dims && a.strides == b.strides;
}

} // namespace

bool lathe::rt::runSkinnyMatmul(const SkinnyMatmul &mm) {
  int width = simdWidth();
  if (width == 0)
    return false;
  const Operand &a = *mm.a, &b = *mm.b, &c = *mm.c;
  size_t rank = c.dims.size();
  for (size_t d = 0; d + 2 < rank; ++d)
    if (b.dims[d] != 1)
      return false;
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < rank; ++d)
    rows *= c.dims[d];
  if (rows > kSkinnyMaxRows || a.block || b.block || c.block ||
      overlaps(a, c) || overlaps(b, c) || (mm.bias && overlaps(*mm.bias, c)) ||
      (mm.res && overlaps(*mm.res, c) && !sameView(*mm.res, c)))
    return false;

  int64_t k = a.dims[rank - 1], n = c.dims[rank - 1];
  int64_t p = kPanelVecs * width;
  int64_t panels = (n + p - 1) / p;
  std::vector<int64_t> key = {width, reinterpret_cast<int64_t>(b.data)};
  appendKey(key, b);
  std::shared_ptr<Entry> e = cache().getOrCreate(key, [&] {
    auto entry = std::make_shared<Entry>();
    entry->packed =
        ScratchBuffer(static_cast<size_t>(panels * k * p) * sizeof(float));
    packPanels(b, k, n, p, entry->packed.floats());
    return entry;
  });

  // Rows of A, contiguous over K (copied when they are not).
  const float *aRows[kSkinnyMaxRows];
  std::vector<float> aDense;
  if (a.strides[rank - 1] != 1 && k > 1)
    aDense.resize(static_cast<size_t>(rows * k));
  for (int64_t r = 0; r < rows; ++r) {
    const float *src = a.data + rowOffset(a, c.dims, r);
    if (aDense.empty()) {
      aRows[r] = src;
      continue;
    }
    float *dst = aDense.data() + r * k;
    for (int64_t kk = 0; kk < k; ++kk)
      dst[kk] = src[kk * a.strides[rank - 1]];
    aRows[r] = dst;
  }

  const TileFn *tiles = width == 16 ? kTilesAvx512 : kTilesAvx2;
  int64_t maxRows = width == 16 ? 8 : 4;
  const float *packed = e->packed.floats();
  auto lastStride = [&](const Operand *op) {
    return op->dims[rank - 1] == 1 ? 0 : op->strides[rank - 1];
  };
  int64_t cStride = c.strides[rank - 1];
  int64_t biasStride = mm.bias ? lastStride(mm.bias) : 0;
  int64_t resStride = mm.res ? lastStride(mm.res) : 0;
  auto body = [&](int64_t begin, int64_t end) {
    float out[kSkinnyMaxRows * 64];
    for (int64_t pi = begin; pi < end; ++pi) {
      const float *panel = packed + pi * k * p;
      int64_t j0 = pi * p, cols = std::min(p, n - j0);
      for (int64_t r0 = 0; r0 < rows; r0 += maxRows) {
        int64_t group = std::min(maxRows, rows - r0);
        tiles[group - 1](panel, k, aRows + r0, out);
        for (int64_t r = r0; r < r0 + group; ++r) {
          const float *acc = out + (r - r0) * p;
          float *cRow = c.data + rowOffset(c, c.dims, r) + j0 * cStride;
          const float *biasRow = mm.bias ? mm.bias->data +
                                               rowOffset(*mm.bias, c.dims, r) +
                                               j0 * biasStride
                                         : nullptr;
          const float *resRow = mm.res ? mm.res->data +
                                             rowOffset(*mm.res, c.dims, r) +
                                             j0 * resStride
                                       : nullptr;
          for (int64_t j = 0; j < cols; ++j) {
            float v = acc[j] * mm.alpha;
            if (biasRow)
              v += biasRow[j * biasStride];
            if (mm.act != LATHE_ACT_NONE)
              v = applyActivation(mm.act, v);
            if (resRow)
              v += resRow[j * resStride];
            cRow[j * cStride] = v;
          }
        }
      }
    }
  };
  parallelChunks(panels, 1, panels * k * p * int64_t(sizeof(float)), body);
  return true;
}
