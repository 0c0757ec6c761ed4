//===- QuantTest.cpp - Quantization kernels for communication -------------===//
//
// Every kernel against a scalar reference written here from Quant.h's contract
// (not from the kernel's code): bit-exact where the contract fixes every
// operation (quantize, dequantize, dequantize_reduce), within rounding for the
// Hadamard transform (against an explicit 32x32 Sylvester matrix in double).
// Each is run on every instruction-set path the CPU has (LATHE_QUANT_ISA) and
// on sizes with vector tails, serially and on two threads.
//
//===----------------------------------------------------------------------===//

#include "lathe/runtime/Quant.h"

#include "TestUtils.h"

#include <cstdlib>
#include <cstring>
#include <limits>

using namespace lathe::test;

namespace {

//===----------------------------------------------------------------------===//
// The reference
//===----------------------------------------------------------------------===//

struct Quantized {
  std::vector<int8_t> bytes; // packed as the kernel stores them
  std::vector<float> scales;
};

/// Quant.h: output `index` of splitmix64 seeded with `seed`.
uint64_t refSplitmix(uint64_t seed, uint64_t index) {
  uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// The values q (unpacked) of x, and the scales.
void refQuantizeValues(const std::vector<float> &x, int bits, int64_t group,
                       bool stochastic, uint64_t seed, std::vector<int> &q,
                       std::vector<float> &scales) {
  const float qmax = bits == 8 ? 127.f : 7.f;
  size_t n = x.size();
  q.assign(n, 0);
  scales.assign(n / group, 0.f);
  for (size_t g = 0; g < n / group; ++g) {
    float amax = 0.f;
    bool finite = true;
    for (int64_t i = 0; i < group; ++i) {
      float v = x[g * group + i];
      finite = finite && std::isfinite(v);
      amax = std::max(amax, std::fabs(v));
    }
    if (!finite) {
      scales[g] = std::numeric_limits<float>::quiet_NaN();
      continue;
    }
    float scale = amax / qmax;
    scales[g] = scale;
    if (scale == 0.f)
      continue;
    for (int64_t i = 0; i < group; ++i) {
      size_t k = g * group + i;
      float t = x[k] / scale;
      float r;
      if (stochastic) {
        float u = float(refSplitmix(seed, k) >> 40) / 16777216.f;
        float v = t + u;
        r = std::floor(v);
      } else {
        r = std::nearbyint(t); // default mode: half to even
      }
      q[k] = int(std::min(std::max(r, -qmax), qmax));
    }
  }
}

std::vector<int8_t> refPack(const std::vector<int> &q, int bits) {
  std::vector<int8_t> bytes;
  if (bits == 8) {
    for (int v : q)
      bytes.push_back(int8_t(v));
    return bytes;
  }
  for (size_t i = 0; i < q.size(); i += 2)
    bytes.push_back(int8_t(uint8_t((q[i] & 0xF) | ((q[i + 1] & 0xF) << 4))));
  return bytes;
}

std::vector<int> refUnpack(const std::vector<int8_t> &bytes, int bits) {
  std::vector<int> q;
  for (int8_t b : bytes) {
    if (bits == 8) {
      q.push_back(b);
      continue;
    }
    int lo = b & 0xF, hi = (uint8_t(b) >> 4) & 0xF;
    q.push_back(lo >= 8 ? lo - 16 : lo);
    q.push_back(hi >= 8 ? hi - 16 : hi);
  }
  return q;
}

Quantized refQuantize(const std::vector<float> &x, int bits, int64_t group,
                      bool stochastic = false, uint64_t seed = 0) {
  std::vector<int> q;
  Quantized r;
  refQuantizeValues(x, bits, group, stochastic, seed, q, r.scales);
  r.bytes = refPack(q, bits);
  return r;
}

/// sum over parts in order, then y (accumulate) + sum, all in f32.
std::vector<float> refDequantizeReduce(const Quantized &in, size_t n,
                                       int64_t parts, int bits, int64_t group,
                                       const std::vector<float> *y0) {
  std::vector<int> q = refUnpack(in.bytes, bits);
  std::vector<float> y(n);
  for (size_t k = 0; k < n; ++k) {
    float s = 0.f;
    for (int64_t p = 0; p < parts; ++p) {
      float d = float(q[p * n + k]) * in.scales[p * (n / group) + k / group];
      s = p == 0 ? d : s + d;
    }
    y[k] = y0 ? (*y0)[k] + s : s;
  }
  return y;
}

//===----------------------------------------------------------------------===//
// Calling the kernels
//===----------------------------------------------------------------------===//

MemRef flat(std::vector<float> &v) {
  return MemRef(v.data(), {int64_t(v.size())});
}
MemRef flat(std::vector<int8_t> &v) {
  return MemRef(reinterpret_cast<float *>(v.data()), {int64_t(v.size())});
}

Quantized runQuantize(std::vector<float> x, int bits, int64_t group,
                      int64_t flags = 0, int64_t seed = 0) {
  Quantized r;
  r.bytes.assign(x.size() * bits / 8, int8_t(0x55));
  r.scales.assign(x.size() / group, -1.f);
  MemRef xm = flat(x), qm = flat(r.bytes), sm = flat(r.scales);
  lathe_rt_quantize_f32(1, xm.desc(), 1, qm.desc(), 1, sm.desc(), bits, group,
                        flags, seed);
  return r;
}

std::vector<float> runDequantizeReduce(Quantized in, size_t n, int64_t parts,
                                       int bits, int64_t group,
                                       std::vector<float> y, int64_t flags,
                                       bool viaReduce = false) {
  y.resize(n);
  MemRef qm = flat(in.bytes), sm = flat(in.scales), ym = flat(y);
  if (parts == 1 && !viaReduce)
    lathe_rt_dequantize_f32(1, qm.desc(), 1, sm.desc(), 1, ym.desc(), bits,
                            group, flags);
  else
    lathe_rt_dequantize_reduce_f32(1, qm.desc(), 1, sm.desc(), 1, ym.desc(),
                                   parts, bits, group, flags);
  return y;
}

std::vector<float> runHadamard(std::vector<float> x) {
  std::vector<float> y(x.size());
  MemRef xm = flat(x), ym = flat(y);
  lathe_rt_hadamard32_f32(1, xm.desc(), 1, ym.desc());
  return y;
}

/// Bitwise equality, NaN included.
void expectSameBits(const std::vector<float> &a, const std::vector<float> &b,
                    const char *what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    uint32_t x, y;
    std::memcpy(&x, &a[i], 4);
    std::memcpy(&y, &b[i], 4);
    if (std::isnan(a[i]) && std::isnan(b[i]))
      continue;
    ASSERT_EQ(x, y) << what << " differ at " << i << ": " << a[i] << " vs "
                    << b[i];
  }
}

void expectSameBytes(const std::vector<int8_t> &a,
                     const std::vector<int8_t> &b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    ASSERT_EQ(int(a[i]), int(b[i])) << "byte " << i;
}

/// Data with a spread of magnitudes per group, exact ties (k + 0.5 times the
/// scale is not representable in general, so ties come from integer data).
std::vector<float> testData(size_t n, unsigned seed) {
  std::vector<float> x = randomVector(n, seed, -3.f, 3.f);
  std::mt19937 gen(seed + 1);
  for (size_t i = 0; i < n; i += 7)
    x[i] *= float(1 + gen() % 100);
  return x;
}

/// Sets LATHE_QUANT_ISA for one test and the thread count, restoring both.
class ScopedIsa {
public:
  ScopedIsa(const char *isa, int threads) {
    savedThreads = lathe_rt_get_num_threads();
    lathe_rt_set_num_threads(threads);
    if (isa)
      setenv("LATHE_QUANT_ISA", isa, 1);
    else
      unsetenv("LATHE_QUANT_ISA");
  }
  ~ScopedIsa() {
    unsetenv("LATHE_QUANT_ISA");
    lathe_rt_set_num_threads(savedThreads);
  }

private:
  int savedThreads;
};

struct Shape {
  int bits;
  int64_t group;
  size_t n;
};

/// Small (serial), odd-sized tails, and big enough for the parallel path
/// (> 2^20 bytes of x).
const Shape kShapes[] = {
    {8, 37, 37 * 5},      {4, 34, 34 * 3},       {8, 1, 19},
    {4, 2, 64},           {8, 128, 128 * 9},     {4, 128, 128 * 7},
    {8, 2048, 2048 * 3},  {4, 2050, 2050 * 2},   {8, 512, 512 * 700},
    {4, 128, 128 * 2500}, {8, 3000, 3000 * 110}, {4, 1126, 1126 * 300},
};

//===----------------------------------------------------------------------===//
// Exact results on every path and thread count
//===----------------------------------------------------------------------===//

class QuantIsa : public ::testing::TestWithParam<const char *> {};

TEST_P(QuantIsa, PathIsSelected) {
  ScopedIsa scope(GetParam(), 1);
  std::string isa = lathe_rt_quant_isa();
  // The CPU may lack the requested path; it never gets a wider one.
  if (std::string(GetParam()) == "generic")
    EXPECT_EQ(isa, "generic");
  else if (std::string(GetParam()) == "avx2")
    EXPECT_TRUE(isa == "avx2" || isa == "generic") << isa;
  std::printf("LATHE_QUANT_ISA=%s runs the %s path\n", GetParam(), isa.c_str());
}

TEST_P(QuantIsa, QuantizeMatchesReference) {
  for (int threads : {1, 2}) {
    ScopedIsa scope(GetParam(), threads);
    for (const Shape &s : kShapes) {
      SCOPED_TRACE(testing::Message()
                   << "bits " << s.bits << " group " << s.group << " n " << s.n
                   << " threads " << threads);
      std::vector<float> x = testData(s.n, unsigned(s.n + s.group));
      Quantized ref = refQuantize(x, s.bits, s.group);
      Quantized got = runQuantize(x, s.bits, s.group);
      ASSERT_EQ(takePending(), "");
      expectSameBits(got.scales, ref.scales, "scales");
      expectSameBytes(got.bytes, ref.bytes);

      Quantized refS = refQuantize(x, s.bits, s.group, true, 1234567);
      Quantized gotS =
          runQuantize(x, s.bits, s.group, LATHE_QUANT_STOCHASTIC, 1234567);
      ASSERT_EQ(takePending(), "");
      expectSameBits(gotS.scales, refS.scales, "stochastic scales");
      expectSameBytes(gotS.bytes, refS.bytes);
    }
  }
}

// Groups led by qmax have scale 1: the other values k + 0.5 are exact ties.
TEST_P(QuantIsa, TiesRoundHalfToEven) {
  for (int threads : {1, 2}) {
    ScopedIsa scope(GetParam(), threads);
    for (int bits : {4, 8}) {
      const int qmax = bits == 8 ? 127 : 7;
      const int64_t group = 18;
      std::vector<float> x(size_t(group) * 20000);
      for (size_t i = 0; i < x.size(); ++i)
        x[i] = i % group == 0 ? float(qmax)
                              : float(int(i % (2 * qmax)) - qmax) + 0.5f;
      Quantized ref = refQuantize(x, bits, group);
      Quantized got = runQuantize(x, bits, group);
      ASSERT_EQ(takePending(), "");
      ASSERT_EQ(got.scales[0], 1.f);
      expectSameBits(got.scales, ref.scales, "scales");
      expectSameBytes(got.bytes, ref.bytes);
    }
  }
}

// Values a few ulps either side of (k + 0.5) * scale for an arbitrary scale:
// where x * (1 / scale) and x / scale can round to different integers.
TEST_P(QuantIsa, NearTiesMatchDivision) {
  ScopedIsa scope(GetParam(), 2);
  std::mt19937 gen(99);
  for (int bits : {4, 8}) {
    const int qmax = bits == 8 ? 127 : 7;
    const int64_t group = 64;
    std::vector<float> x(size_t(group) * 6000);
    for (size_t g = 0; g < x.size() / group; ++g) {
      float lead = float(qmax) * (0.1f + float(gen() % 10000) * 1e-3f);
      float scale = lead / float(qmax);
      x[g * group] = lead;
      for (int64_t i = 1; i < group; ++i) {
        int k = int(gen() % (2 * qmax)) - qmax;
        float v = (float(k) + 0.5f) * scale;
        for (int step = int(gen() % 7) - 3; step != 0;
             step += step > 0 ? -1 : 1)
          v = std::nextafter(v, step > 0 ? 1e30f : -1e30f);
        x[g * group + i] = v;
      }
    }
    Quantized ref = refQuantize(x, bits, group);
    Quantized got = runQuantize(x, bits, group);
    ASSERT_EQ(takePending(), "");
    expectSameBits(got.scales, ref.scales, "scales");
    expectSameBytes(got.bytes, ref.bytes);

    // Stochastic: x / scale + u a few ulps from an integer m (u is known from
    // the hash), where floor can differ.
    const uint64_t seed = 2024;
    for (size_t g = 0; g < x.size() / group; ++g) {
      float scale = x[g * group] / float(qmax);
      for (int64_t i = 1; i < group; ++i) {
        size_t k = g * group + i;
        float u = float(refSplitmix(seed, k) >> 40) / 16777216.f;
        int m = int(gen() % (2 * qmax)) - qmax + 1;
        float v = (float(m) - u) * scale;
        for (int step = int(gen() % 7) - 3; step != 0;
             step += step > 0 ? -1 : 1)
          v = std::nextafter(v, step > 0 ? 1e30f : -1e30f);
        x[k] = v;
      }
    }
    Quantized refS = refQuantize(x, bits, group, true, seed);
    Quantized gotS = runQuantize(x, bits, group, LATHE_QUANT_STOCHASTIC, seed);
    ASSERT_EQ(takePending(), "");
    expectSameBits(gotS.scales, refS.scales, "stochastic scales");
    expectSameBytes(gotS.bytes, refS.bytes);
  }
}

TEST_P(QuantIsa, DequantizeMatchesReference) {
  for (int threads : {1, 2}) {
    ScopedIsa scope(GetParam(), threads);
    for (const Shape &s : kShapes) {
      SCOPED_TRACE(testing::Message()
                   << "bits " << s.bits << " group " << s.group << " n " << s.n
                   << " threads " << threads);
      std::vector<float> x = testData(s.n, unsigned(s.n));
      Quantized in = refQuantize(x, s.bits, s.group);
      std::vector<float> y0 = randomVector(s.n, 3);
      expectSameBits(runDequantizeReduce(in, s.n, 1, s.bits, s.group, {}, 0),
                     refDequantizeReduce(in, s.n, 1, s.bits, s.group, nullptr),
                     "dequantize");
      expectSameBits(runDequantizeReduce(in, s.n, 1, s.bits, s.group, y0,
                                         LATHE_QUANT_ACCUMULATE),
                     refDequantizeReduce(in, s.n, 1, s.bits, s.group, &y0),
                     "dequantize accumulate");
      // The reduce entry point with one part is the same operation.
      expectSameBits(
          runDequantizeReduce(in, s.n, 1, s.bits, s.group, {}, 0, true),
          refDequantizeReduce(in, s.n, 1, s.bits, s.group, nullptr),
          "dequantize_reduce of one part");
      ASSERT_EQ(takePending(), "");
    }
  }
}

TEST_P(QuantIsa, DequantizeReduceMatchesReference) {
  for (int threads : {1, 2}) {
    ScopedIsa scope(GetParam(), threads);
    for (const Shape &s : kShapes) {
      for (int64_t parts : {2, 3, 4}) {
        if (s.n * parts > 2000000)
          continue;
        SCOPED_TRACE(testing::Message()
                     << "bits " << s.bits << " group " << s.group << " n "
                     << s.n << " parts " << parts << " threads " << threads);
        std::vector<float> x = testData(s.n * parts, unsigned(s.n + parts));
        Quantized in = refQuantize(x, s.bits, s.group);
        std::vector<float> y0 = randomVector(s.n, 4);
        expectSameBits(
            runDequantizeReduce(in, s.n, parts, s.bits, s.group, {}, 0),
            refDequantizeReduce(in, s.n, parts, s.bits, s.group, nullptr),
            "dequantize_reduce");
        expectSameBits(
            runDequantizeReduce(in, s.n, parts, s.bits, s.group, y0,
                                LATHE_QUANT_ACCUMULATE),
            refDequantizeReduce(in, s.n, parts, s.bits, s.group, &y0),
            "dequantize_reduce accumulate");
        ASSERT_EQ(takePending(), "");
      }
    }
  }
}

/// The explicit Sylvester matrix: H1 = [1], H2k = [[Hk, Hk], [Hk, -Hk]].
std::vector<std::vector<double>> sylvester32() {
  std::vector<std::vector<double>> h{{1.0}};
  while (h.size() < 32) {
    size_t k = h.size();
    std::vector<std::vector<double>> next(2 * k, std::vector<double>(2 * k));
    for (size_t i = 0; i < k; ++i)
      for (size_t j = 0; j < k; ++j) {
        next[i][j] = next[i][j + k] = next[i + k][j] = h[i][j];
        next[i + k][j + k] = -h[i][j];
      }
    h = next;
  }
  return h;
}

TEST_P(QuantIsa, HadamardMatchesSylvesterMatrix) {
  auto h = sylvester32();
  for (int threads : {1, 2}) {
    ScopedIsa scope(GetParam(), threads);
    for (size_t n : {size_t(32), size_t(32 * 7), size_t(32 * 20001)}) {
      std::vector<float> x = testData(n, unsigned(n));
      std::vector<float> y = runHadamard(x);
      ASSERT_EQ(takePending(), "");
      for (size_t b = 0; b < n / 32; ++b) {
        double norm = 0;
        for (int j = 0; j < 32; ++j)
          norm += double(x[32 * b + j]) * x[32 * b + j];
        norm = std::sqrt(norm);
        for (int i = 0; i < 32; ++i) {
          double ref = 0;
          for (int j = 0; j < 32; ++j)
            ref += h[i][j] * x[32 * b + j];
          ref /= std::sqrt(32.0);
          ASSERT_NEAR(y[32 * b + i], ref, 1e-6 * norm)
              << "block " << b << " row " << i << " n " << n;
        }
      }
    }
  }
}

TEST_P(QuantIsa, HadamardTwiceIsIdentityAndInPlaceWorks) {
  ScopedIsa scope(GetParam(), 2);
  size_t n = 32 * 40000 + 32 * 3;
  std::vector<float> x = testData(n, 77);
  std::vector<float> y = runHadamard(x);
  std::vector<float> z = runHadamard(y);
  for (size_t b = 0; b < n / 32; ++b) {
    double err = 0, norm = 0;
    for (int i = 0; i < 32; ++i) {
      double d = double(z[32 * b + i]) - x[32 * b + i];
      err += d * d;
      norm += double(x[32 * b + i]) * x[32 * b + i];
    }
    ASSERT_LE(std::sqrt(err), 1e-6 * std::sqrt(norm)) << "block " << b;
  }
  // In place (y is x) gives the same bits as out of place.
  std::vector<float> inPlace = x;
  MemRef m = flat(inPlace);
  lathe_rt_hadamard32_f32(1, m.desc(), 1, m.desc());
  ASSERT_EQ(takePending(), "");
  expectSameBits(inPlace, y, "in place");
}

INSTANTIATE_TEST_SUITE_P(QuantIsaPaths, QuantIsa,
                         ::testing::Values("generic", "avx2", "native"));

/// All paths give the same bits (the contract fixes every operation).
TEST(QuantAllPaths, GenericAndVectorPathsAgree) {
  size_t n = 128 * 3001;
  std::vector<float> x = testData(n, 5);
  std::vector<Quantized> q;
  std::vector<std::vector<float>> h;
  for (const char *isa : {"generic", "avx2", "native"}) {
    ScopedIsa scope(isa, 2);
    q.push_back(runQuantize(x, 4, 128, LATHE_QUANT_STOCHASTIC, 9));
    h.push_back(runHadamard(x));
  }
  for (size_t i = 1; i < q.size(); ++i) {
    expectSameBytes(q[i].bytes, q[0].bytes);
    expectSameBits(q[i].scales, q[0].scales, "scales");
    expectSameBits(h[i], h[0], "hadamard");
  }
}

//===----------------------------------------------------------------------===//
// Fused dequantize-reduce-requantize
//===----------------------------------------------------------------------===//

Quantized runRequantize(Quantized in, size_t n, int64_t parts, int bits,
                        int64_t group, int outBits, int64_t outGroup,
                        int64_t flags, int64_t seed) {
  Quantized r;
  r.bytes.assign(n * outBits / 8, int8_t(0x55));
  r.scales.assign(n / outGroup, -1.f);
  MemRef qm = flat(in.bytes), sm = flat(in.scales), qo = flat(r.bytes),
         so = flat(r.scales);
  lathe_rt_dequantize_reduce_requantize_f32(
      1, qm.desc(), 1, sm.desc(), 1, qo.desc(), 1, so.desc(), parts, bits,
      group, outBits, outGroup, flags, seed);
  return r;
}

struct RequantizeCase {
  int64_t parts;
  int bits;
  int64_t group;
  int outBits;
  int64_t outGroup;
  size_t n;
};

/// SDP4Bit's hop (8/512 -> 4/128), the reverse, groups that straddle each
/// other, odd output groups over 4-bit input (odd nibble offsets), one part,
/// output groups beyond the stack buffer, and sizes for the parallel path.
const RequantizeCase kRequantizeCases[] = {
    {2, 8, 512, 4, 128, 512 * 8},     {4, 4, 128, 8, 512, 512 * 6},
    {3, 8, 6, 8, 4, 12 * 9},          {2, 4, 34, 8, 17, 34 * 11},
    {1, 8, 64, 4, 256, 256 * 3},      {2, 8, 512, 4, 6144, 6144 * 3},
    {2, 4, 4096, 8, 6144, 12288 * 2}, {2, 8, 512, 4, 128, 512 * 900},
    {4, 4, 128, 4, 128, 128 * 3000},
};

/// Fused == dequantize_reduce then quantize, bit for bit, on every path,
/// thread count, rounding mode and case; special groups (zeros, NaN, Inf)
/// included.
TEST(QuantRequantize, MatchesUnfusedPairOnEveryPathAndThreadCount) {
  for (const RequantizeCase &c : kRequantizeCases) {
    std::vector<float> x = testData(c.parts * c.n, unsigned(c.n + c.parts));
    // A zero input group in every part, NaN and Inf in part 1's (if any).
    for (int64_t p = 0; p < c.parts; ++p)
      for (int64_t i = 0; i < c.group && size_t(i) < c.n; ++i)
        x[p * c.n + i] = 0.f;
    if (c.parts > 1 && c.n >= size_t(3 * c.group)) {
      x[c.n + c.n / 2] = std::numeric_limits<float>::quiet_NaN();
      x[c.n + c.n - 1] = std::numeric_limits<float>::infinity();
    }
    Quantized in;
    {
      ScopedIsa scope(nullptr, 1);
      in = runQuantize(x, c.bits, c.group, LATHE_QUANT_STOCHASTIC, 3);
      ASSERT_EQ(takePending(), "");
    }
    for (int64_t flags : {int64_t(0), int64_t(LATHE_QUANT_STOCHASTIC)}) {
      Quantized ref;
      {
        ScopedIsa scope("generic", 1);
        std::vector<float> sum =
            runDequantizeReduce(in, c.n, c.parts, c.bits, c.group, {}, 0,
                                /*viaReduce=*/true);
        ref = runQuantize(sum, c.outBits, c.outGroup, flags, 77);
        ASSERT_EQ(takePending(), "");
      }
      for (const char *isa : {"generic", "avx2", "native"})
        for (int threads : {1, 2, 3}) {
          ScopedIsa scope(isa, threads);
          Quantized fused = runRequantize(in, c.n, c.parts, c.bits, c.group,
                                          c.outBits, c.outGroup, flags, 77);
          ASSERT_EQ(takePending(), "");
          SCOPED_TRACE(testing::Message()
                       << "parts " << c.parts << " " << c.bits << "/" << c.group
                       << " -> " << c.outBits << "/" << c.outGroup << " n "
                       << c.n << " flags " << flags << " isa " << isa
                       << " threads " << threads);
          expectSameBytes(fused.bytes, ref.bytes);
          expectSameBits(fused.scales, ref.scales, "scales");
        }
    }
  }
}

//===----------------------------------------------------------------------===//
// Properties
//===----------------------------------------------------------------------===//

double maxErrorOverScale(const std::vector<float> &x, const Quantized &q,
                         int bits, int64_t group) {
  std::vector<float> y =
      runDequantizeReduce(q, x.size(), 1, bits, group, {}, 0);
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double s = q.scales[i / group];
    if (s == 0)
      continue;
    worst = std::max(worst, std::fabs(double(y[i]) - x[i]) / s);
  }
  return worst;
}

TEST(QuantProperties, RoundTripErrorBounds) {
  for (int bits : {4, 8}) {
    for (int64_t group : {int64_t(16), int64_t(128), int64_t(2048)}) {
      std::vector<float> x = randomVector(size_t(group) * 200, 11, -5.f, 5.f);
      // Nearest: at most half a step (plus the f32 rounding of x / scale).
      Quantized q = runQuantize(x, bits, group);
      EXPECT_LE(maxErrorOverScale(x, q, bits, group), 0.5 + 1e-5)
          << bits << " bits, group " << group;
      // Stochastic: less than one step.
      Quantized s = runQuantize(x, bits, group, LATHE_QUANT_STOCHASTIC, 3);
      EXPECT_LT(maxErrorOverScale(x, s, bits, group), 1.0 + 1e-5)
          << bits << " bits, group " << group;
      ASSERT_EQ(takePending(), "");
    }
  }
}

// With scale 1 (max |x| = 7 at 4 bits) the expected q of each element is x
// itself. Over 4000 seeds the mean of q has a standard deviation of at most
// 0.5 / sqrt(4000) = 0.0079; the bound is 5 of those.
TEST(QuantProperties, StochasticRoundingIsUnbiased) {
  std::vector<float> x = {7.f,  0.25f, -1.5f, 2.75f, 3.1f,  -0.9f,
                          0.5f, -6.2f, 0.01f, 4.99f, -3.3f, 1.0f};
  const int seeds = 4000;
  std::vector<double> mean(x.size(), 0.);
  for (int seed = 0; seed < seeds; ++seed) {
    Quantized q = runQuantize(x, 4, int64_t(x.size()), LATHE_QUANT_STOCHASTIC,
                              seed * 7919 + 1);
    ASSERT_EQ(q.scales[0], 1.f);
    std::vector<int> v = refUnpack(q.bytes, 4);
    for (size_t i = 0; i < x.size(); ++i)
      mean[i] += double(v[i]) / seeds;
  }
  for (size_t i = 0; i < x.size(); ++i)
    EXPECT_NEAR(mean[i], x[i], 5 * 0.5 / std::sqrt(double(seeds)))
        << "element " << i;
  // And over many elements of random data: the mean error in units of the
  // scale has a standard deviation below 0.5 / sqrt(N * seeds).
  std::vector<float> y = randomVector(4096, 21, -2.f, 2.f);
  double sum = 0;
  const int seeds2 = 50;
  for (int seed = 0; seed < seeds2; ++seed) {
    Quantized q = runQuantize(y, 8, 64, LATHE_QUANT_STOCHASTIC, seed);
    std::vector<float> d = runDequantizeReduce(q, y.size(), 1, 8, 64, {}, 0);
    for (size_t i = 0; i < y.size(); ++i)
      sum += (double(d[i]) - y[i]) / q.scales[i / 64];
  }
  double n = double(y.size()) * seeds2;
  EXPECT_NEAR(sum / n, 0., 5 * 0.5 / std::sqrt(n));
}

TEST(QuantProperties, StochasticIsReproducibleAcrossThreadCounts) {
  size_t n = 256 * 4000; // parallel on two threads
  std::vector<float> x = testData(n, 31);
  Quantized one, two, other;
  {
    ScopedIsa scope(nullptr, 1);
    one = runQuantize(x, 4, 256, LATHE_QUANT_STOCHASTIC, 42);
  }
  {
    ScopedIsa scope(nullptr, 2);
    two = runQuantize(x, 4, 256, LATHE_QUANT_STOCHASTIC, 42);
    other = runQuantize(x, 4, 256, LATHE_QUANT_STOCHASTIC, 43);
  }
  expectSameBytes(one.bytes, two.bytes);
  expectSameBits(one.scales, two.scales, "scales");
  size_t differ = 0;
  for (size_t i = 0; i < n / 2; ++i)
    differ += one.bytes[i] != other.bytes[i];
  EXPECT_GT(differ, n / 20) << "another seed should round differently";
}

//===----------------------------------------------------------------------===//
// Layout and special values
//===----------------------------------------------------------------------===//

TEST(QuantLayout, FourBitPackingByteExact) {
  // Group 0: max 7 -> scale 1; q = 1, -1, 7, -7.
  // Group 1: max 7 -> scale 1; 2.5 -> 2, 3.5 -> 4, -2.5 -> -2 (half to even).
  std::vector<float> x = {1.f, -1.f, 7.f, -7.f, 7.f, 2.5f, 3.5f, -2.5f};
  Quantized q = runQuantize(x, 4, 4);
  ASSERT_EQ(takePending(), "");
  std::vector<uint8_t> bytes(q.bytes.begin(), q.bytes.end());
  EXPECT_EQ(bytes, (std::vector<uint8_t>{0xF1, 0x97, 0x27, 0xE4}));
  EXPECT_EQ(q.scales, (std::vector<float>{1.f, 1.f}));
  // Dequantize reads the same layout back.
  EXPECT_EQ(runDequantizeReduce(q, 8, 1, 4, 4, {}, 0),
            (std::vector<float>{1.f, -1.f, 7.f, -7.f, 7.f, 2.f, 4.f, -2.f}));
}

TEST(QuantLayout, EightBitByteExact) {
  std::vector<float> x = {127.f, -63.5f, 0.5f, 1.5f, -127.f, 2.5f};
  Quantized q = runQuantize(x, 8, 6);
  ASSERT_EQ(takePending(), "");
  EXPECT_EQ(q.bytes, (std::vector<int8_t>{127, -64, 0, 2, -127, 2}));
  EXPECT_EQ(q.scales, (std::vector<float>{1.f}));
}

TEST(QuantSpecial, NanInfAndZeroGroups) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (int bits : {4, 8}) {
    // Groups of 4: NaN, +Inf, -Inf, zeros, ordinary, tiny (scale underflows).
    std::vector<float> x = {1.f,  nan,  2.f,  3.f, inf,    1.f,  0.f, 0.f,
                            -inf, 1.f,  0.f,  2.f, 0.f,    -0.f, 0.f, 0.f,
                            7.f,  -7.f, 3.5f, 1.f, 1e-45f, 0.f,  0.f, 0.f};
    Quantized q = runQuantize(x, bits, 4);
    ASSERT_EQ(takePending(), "");
    EXPECT_TRUE(std::isnan(q.scales[0]));
    EXPECT_TRUE(std::isnan(q.scales[1]));
    EXPECT_TRUE(std::isnan(q.scales[2]));
    EXPECT_EQ(q.scales[3], 0.f);
    EXPECT_EQ(q.scales[4], bits == 8 ? 7.f / 127.f : 1.f);
    EXPECT_EQ(q.scales[5], 0.f);
    std::vector<int> v = refUnpack(q.bytes, bits);
    for (int i = 0; i < 16; ++i)
      EXPECT_EQ(v[i], 0) << "element " << i;
    for (int i = 20; i < 24; ++i)
      EXPECT_EQ(v[i], 0) << "element " << i;
    std::vector<float> y = runDequantizeReduce(q, x.size(), 1, bits, 4, {}, 0);
    for (int i = 0; i < 12; ++i)
      EXPECT_TRUE(std::isnan(y[i])) << "element " << i;
    for (int i = 12; i < 16; ++i)
      EXPECT_EQ(y[i], 0.f) << "element " << i;
    EXPECT_EQ(y[16], 7.f);
    for (int i = 20; i < 24; ++i)
      EXPECT_EQ(y[i], 0.f) << "element " << i;
    // A NaN part poisons the sum of that group only.
    Quantized two = q;
    two.bytes.insert(two.bytes.end(), q.bytes.begin(), q.bytes.end());
    two.scales.insert(two.scales.end(), q.scales.begin(), q.scales.end());
    std::vector<float> r =
        runDequantizeReduce(two, x.size(), 2, bits, 4, {}, 0);
    EXPECT_TRUE(std::isnan(r[3]));
    EXPECT_EQ(r[16], 14.f);
    EXPECT_EQ(takePending(), "");
  }
}

//===----------------------------------------------------------------------===//
// Bad input: a pending error naming the problem; outputs untouched.
//===----------------------------------------------------------------------===//

void expectError(const std::string &needle) {
  std::string msg = takePending();
  EXPECT_NE(msg.find(needle), std::string::npos)
      << "message: '" << msg << "', expected to contain '" << needle << "'";
}

TEST(QuantErrors, Quantize) {
  std::vector<float> x = randomVector(64, 1);
  std::vector<int8_t> q(64, 0x55), q4(32, 0x55), qShort(63, 0x55);
  std::vector<float> s(4, -1.f), sShort(3, -1.f);
  MemRef xm = flat(x), qm = flat(q), q4m = flat(q4), qsm = flat(qShort),
         sm = flat(s), ssm = flat(sShort);
  auto call = [&](MemRef &qq, MemRef &ss, int64_t bits, int64_t group,
                  int64_t flags = 0) {
    lathe_rt_quantize_f32(1, xm.desc(), 1, qq.desc(), 1, ss.desc(), bits, group,
                          flags, 0);
  };
  call(qm, sm, 6, 16);
  expectError("lathe_rt_quantize_f32: bits must be 4 or 8, got 6");
  call(qm, sm, 8, 0);
  expectError("group size must be positive, got 0");
  call(q4m, sm, 4, 15);
  expectError("needs an even group size, got 15");
  call(qm, sm, 8, 24);
  expectError("x has 64 elements, not a multiple of the group size 24");
  call(qsm, sm, 8, 16);
  expectError("q has 63 elements, expected 64");
  call(qm, sm, 4, 16);
  expectError("q has 64 elements, expected 32");
  call(qm, ssm, 8, 16);
  expectError("scales has 3 elements, expected 4");
  call(qm, sm, 8, 16, LATHE_QUANT_ACCUMULATE);
  expectError("unknown flags 0x2");
  // Non-contiguous x: every other element of 128.
  std::vector<float> wide(128);
  MemRef strided(wide.data(), {64}, {2});
  lathe_rt_quantize_f32(1, strided.desc(), 1, qm.desc(), 1, sm.desc(), 8, 16, 0,
                        0);
  expectError("x [64] is not contiguous");
  lathe_rt_quantize_f32(1, nullptr, 1, qm.desc(), 1, sm.desc(), 8, 16, 0, 0);
  expectError("null memref descriptor");
  // Nothing was written by any failed call.
  for (int8_t b : q)
    ASSERT_EQ(b, 0x55);
  for (float v : s)
    ASSERT_EQ(v, -1.f);
}

TEST(QuantErrors, DequantizeAndReduce) {
  std::vector<int8_t> q(64, 1);
  std::vector<float> s(4, 1.f), y(64, -5.f), y2(32, -5.f);
  MemRef qm = flat(q), sm = flat(s), ym = flat(y), y2m = flat(y2);
  lathe_rt_dequantize_f32(1, qm.desc(), 1, sm.desc(), 1, ym.desc(), 4, 16, 0);
  expectError("lathe_rt_dequantize_f32: q has 64 elements, expected 32");
  lathe_rt_dequantize_f32(1, qm.desc(), 1, sm.desc(), 1, ym.desc(), 8, 8, 0);
  expectError("scales has 4 elements, expected 8");
  lathe_rt_dequantize_f32(1, qm.desc(), 1, sm.desc(), 1, ym.desc(), 2, 16, 0);
  expectError("bits must be 4 or 8, got 2");
  lathe_rt_dequantize_f32(1, qm.desc(), 1, sm.desc(), 1, ym.desc(), 8, 16,
                          LATHE_QUANT_STOCHASTIC);
  expectError("unknown flags 0x1");
  lathe_rt_dequantize_f32(1, qm.desc(), 1, sm.desc(), 1, ym.desc(), 4, 7, 0);
  expectError("needs an even group size, got 7");
  lathe_rt_dequantize_f32(1, qm.desc(), 1, sm.desc(), 1, ym.desc(), 8, 24, 0);
  expectError("y has 64 elements, not a multiple of the group size 24");
  MemRef qt(reinterpret_cast<float *>(q.data()), {8, 4}, {8, 1});
  lathe_rt_dequantize_f32(2, qt.desc(), 1, sm.desc(), 1, y2m.desc(), 8, 8, 0);
  expectError("q [8x4] is not contiguous");

  lathe_rt_dequantize_reduce_f32(1, qm.desc(), 1, sm.desc(), 1, y2m.desc(), 0,
                                 8, 16, 0);
  expectError("lathe_rt_dequantize_reduce_f32: parts must be positive, got 0");
  lathe_rt_dequantize_reduce_f32(1, qm.desc(), 1, sm.desc(), 1, y2m.desc(), 3,
                                 8, 16, 0);
  expectError("q has 64 elements, expected 96");
  lathe_rt_dequantize_reduce_f32(1, qm.desc(), 1, sm.desc(), 1, y2m.desc(), 2,
                                 8, 8, 0);
  expectError("scales has 4 elements, expected 8");
  for (float v : y)
    ASSERT_EQ(v, -5.f);
  for (float v : y2)
    ASSERT_EQ(v, -5.f);
  // The valid call works: 2 parts of 32 values, groups of 16.
  lathe_rt_dequantize_reduce_f32(1, qm.desc(), 1, sm.desc(), 1, y2m.desc(), 2,
                                 8, 16, 0);
  EXPECT_EQ(takePending(), "");
  EXPECT_EQ(y2[0], 2.f);
}

TEST(QuantErrors, DequantizeReduceRequantize) {
  // 2 parts of 32 values at 8 bits, groups of 16 -> 4 bits, groups of 8.
  std::vector<int8_t> q(64, 1), qOut(16, 0x55), qOut8(32, 0x55);
  std::vector<float> s(4, 1.f), sOut(4, -1.f), sOut3(3, -1.f);
  MemRef qm = flat(q), sm = flat(s), qom = flat(qOut), qo8 = flat(qOut8),
         som = flat(sOut), so3 = flat(sOut3);
  auto call = [&](MemRef &qo, MemRef &so, int64_t parts, int64_t bits,
                  int64_t group, int64_t outBits, int64_t outGroup,
                  int64_t flags = 0) {
    lathe_rt_dequantize_reduce_requantize_f32(
        1, qm.desc(), 1, sm.desc(), 1, qo.desc(), 1, so.desc(), parts, bits,
        group, outBits, outGroup, flags, 0);
  };
  call(qom, som, 2, 6, 16, 4, 8);
  expectError("lathe_rt_dequantize_reduce_requantize_f32: bits must be 4 or 8, "
              "got 6");
  call(qom, som, 2, 8, 16, 2, 8);
  expectError("bits must be 4 or 8, got 2");
  call(qom, som, 2, 8, 16, 4, 7);
  expectError("needs an even group size, got 7");
  call(qom, som, 2, 8, 16, 4, 0);
  expectError("group size must be positive, got 0");
  call(qom, som, 0, 8, 16, 4, 8);
  expectError("parts must be positive, got 0");
  call(qom, som, 2, 8, 16, 4, 8, LATHE_QUANT_ACCUMULATE);
  expectError("unknown flags 0x2");
  call(qom, so3, 2, 8, 16, 4, 8);
  expectError("not a multiple of the group size 16");
  call(qo8, som, 2, 8, 16, 4, 8);
  expectError("qOut has 32 elements, expected 16");
  call(qom, som, 3, 8, 16, 4, 8);
  expectError("q has 64 elements, expected 96");
  call(qom, som, 2, 8, 8, 4, 8);
  expectError("scales has 4 elements, expected 8");
  MemRef strided(reinterpret_cast<float *>(qOut.data()), {8}, {2});
  call(strided, som, 2, 8, 16, 4, 8);
  expectError("qOut [8] is not contiguous");
  for (int8_t b : qOut)
    ASSERT_EQ(b, 0x55);
  for (float v : sOut)
    ASSERT_EQ(v, -1.f);
  // The valid call: every sum is 2, so scale 2 / 7 and q = 7.
  call(qom, som, 2, 8, 16, 4, 8);
  EXPECT_EQ(takePending(), "");
  EXPECT_EQ(sOut[0], 2.f / 7.f);
  EXPECT_EQ(uint8_t(qOut[0]), 0x77);
}

TEST(QuantErrors, Hadamard) {
  std::vector<float> x(96, 1.f), y(96, -5.f), yShort(64, -5.f), odd(40, 1.f);
  MemRef xm = flat(x), ym = flat(y), ysm = flat(yShort), om = flat(odd);
  lathe_rt_hadamard32_f32(1, om.desc(), 1, om.desc());
  expectError(
      "lathe_rt_hadamard32_f32: x has 40 elements, not a multiple of the "
      "transform's order 32");
  lathe_rt_hadamard32_f32(1, xm.desc(), 1, ysm.desc());
  expectError("y has 64 elements, expected 96");
  MemRef shifted(x.data() + 32, {64});
  MemRef first(x.data(), {64});
  lathe_rt_hadamard32_f32(1, first.desc(), 1, shifted.desc());
  expectError("y partially overlaps x");
  MemRef strided(x.data(), {32}, {3});
  lathe_rt_hadamard32_f32(1, strided.desc(), 1, ysm.desc());
  expectError("x [32] is not contiguous");
  for (float v : y)
    ASSERT_EQ(v, -5.f);
  for (float v : x)
    ASSERT_EQ(v, 1.f);
}

TEST(QuantErrors, UnknownIsa) {
  ScopedIsa scope("sse9", 1);
  EXPECT_STREQ(lathe_rt_quant_isa(), "invalid");
  std::vector<float> x(32, 1.f);
  MemRef xm = flat(x);
  lathe_rt_hadamard32_f32(1, xm.desc(), 1, xm.desc());
  expectError("LATHE_QUANT_ISA=sse9 is not one of generic, avx2, avx512");
  EXPECT_EQ(x[0], 1.f);
}

} // namespace
