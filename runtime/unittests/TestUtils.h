//===- TestUtils.h - Helpers for the runtime unit tests ---------*- C++ -*-===//

#ifndef LATHE_RUNTIME_UNITTESTS_TESTUTILS_H
#define LATHE_RUNTIME_UNITTESTS_TESTUTILS_H

#include "lathe/runtime/Runtime.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace lathe::test {

/// A strided memref descriptor as MLIR lowers it, over caller-owned data.
/// The descriptor's words are laid out exactly like the C struct
/// {float *allocated, float *aligned, int64_t offset, int64_t sizes[rank],
///  int64_t strides[rank]}.
struct MemRef {
  std::vector<int64_t> words;

  MemRef(float *base, std::vector<int64_t> sizes,
         std::vector<int64_t> strides = {}, int64_t offset = 0) {
    size_t rank = sizes.size();
    if (strides.empty()) {
      strides.assign(rank, 1);
      for (size_t i = rank; i-- > 1;)
        strides[i - 1] = strides[i] * sizes[i];
    }
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

inline std::vector<float> randomVector(size_t n, unsigned seed, float lo = -1.f,
                                       float hi = 1.f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(gen);
  return v;
}

/// Checks |actual - expected| <= tol * max(1, |expected|) element-wise.
inline void expectClose(const std::vector<float> &actual,
                        const std::vector<double> &expected,
                        double tol = 1e-4) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    double bound = tol * std::max(1.0, std::fabs(expected[i]));
    ASSERT_NEAR(actual[i], expected[i], bound) << "at flat index " << i;
  }
}

/// Attention heads kept in place: Q, K and V stored as [batch, seq, heads,
/// dim]; element (b, h, s, d) of the [batch, heads, seq, dim] head view.
struct HeadLayout {
  int64_t batch, seq, heads, dim;
  int64_t rowStride() const { return heads * dim; }
  int64_t batchStride() const { return seq * heads * dim; }
  /// A [batch, seq, heads, dim] buffer (Q, V, a context) as its
  /// [batch, heads, seq, dim] head view, through strides.
  MemRef headView(float *x) const {
    return MemRef(x, {batch, heads, seq, dim},
                  {batchStride(), dim, rowStride(), 1});
  }
  /// alpha * Q Kt by lathe_rt_matmul_scaled_f32 (the runtime under test),
  /// Q and K read in place through their head views (K as Kt [batch, heads,
  /// dim, seq]): [batch, heads, seq, seq].
  std::vector<float> runScores(std::vector<float> &q, std::vector<float> &k,
                               float alpha) const {
    MemRef mq = headView(q.data());
    MemRef mkt(k.data(), {batch, heads, dim, seq},
               {batchStride(), dim, 1, rowStride()});
    std::vector<float> out(size_t(batch * heads * seq * seq), -3.f);
    MemRef ms(out.data(), {batch, heads, seq, seq});
    lathe_rt_matmul_scaled_f32(4, mq.desc(), 4, mkt.desc(), 4, ms.desc(), 4,
                               ms.desc(), 4, ms.desc(), alpha, 0);
    return out;
  }
  double at(const std::vector<float> &x, int64_t b, int64_t h, int64_t s,
            int64_t d) const {
    return double(x[(b * seq + s) * heads * dim + h * dim + d]);
  }
  /// alpha * Q Kt per batch and head in double: [batch, heads, seq, seq].
  std::vector<double> scores(const std::vector<float> &q,
                             const std::vector<float> &k, double alpha) const {
    std::vector<double> out(size_t(batch * heads * seq * seq));
    perHead(
        seq, seq, dim,
        [&](int64_t b, int64_t h, int64_t i, int64_t j, int64_t d) {
          return at(q, b, h, i, d) * at(k, b, h, j, d);
        },
        [&](int64_t b, int64_t h, int64_t i, int64_t j, double acc) {
          out[((b * heads + h) * seq + i) * seq + j] = alpha * acc;
        });
    return out;
  }
  /// The context P V per batch and head in double, written as [batch, seq,
  /// heads, dim] (the layout `at` reads): `p` is [batch, heads, seq, seq].
  std::vector<double> context(const std::vector<float> &p,
                              const std::vector<float> &v) const {
    std::vector<double> out(size_t(batch * batchStride()));
    perHead(
        seq, dim, seq,
        [&](int64_t b, int64_t h, int64_t i, int64_t d, int64_t j) {
          return double(p[((b * heads + h) * seq + i) * seq + j]) *
                 at(v, b, h, j, d);
        },
        [&](int64_t b, int64_t h, int64_t i, int64_t d, double acc) {
          out[b * batchStride() + i * rowStride() + h * dim + d] = acc;
        });
    return out;
  }

private:
  /// For every batch, head and (row, col) of a rows x cols result, the sum
  /// over t < inner of term(b, h, row, col, t), handed to store.
  template <typename Term, typename Store>
  void perHead(int64_t rows, int64_t cols, int64_t inner, Term term,
               Store store) const {
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < rows; ++i)
          for (int64_t j = 0; j < cols; ++j) {
            double acc = 0;
            for (int64_t t = 0; t < inner; ++t)
              acc += term(b, h, i, j, t);
            store(b, h, i, j, acc);
          }
  }
};

/// f32 -> bf16 rounded to nearest, ties to even (finite values; the
/// reference's own rounding, independent of the runtime's).
inline uint16_t toBf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

inline float fromBf16(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

inline std::vector<uint16_t> toBf16(const std::vector<float> &v) {
  std::vector<uint16_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    out[i] = toBf16(v[i]);
  return out;
}

inline std::vector<float> fromBf16(const std::vector<uint16_t> &v) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    out[i] = fromBf16(v[i]);
  return out;
}

/// Reference activations in double precision (independent of the runtime).
inline double refActivation(int act, double x) {
  switch (act) {
  case LATHE_ACT_RELU:
    return x > 0 ? x : 0;
  case LATHE_ACT_GELU_ERF:
    return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
  case LATHE_ACT_GELU_TANH:
    return 0.5 * x *
           (1 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
  case LATHE_ACT_SIGMOID:
    return 1 / (1 + std::exp(-x));
  case LATHE_ACT_TANH:
    return std::tanh(x);
  default:
    return x;
  }
}

/// A fresh directory under the test temp dir, removed on destruction.
class TempDir {
public:
  TempDir() {
    std::random_device rd;
    path = std::filesystem::path(::testing::TempDir()) /
           ("lathe-rt-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string &name) const {
    return (path / name).string();
  }

private:
  std::filesystem::path path;
};

/// A session created (default options, or the given precision and thread
/// count) and bound for one scope, then unbound and destroyed with its
/// caches.
class BoundSession {
public:
  BoundSession() { create(nullptr); }
  BoundSession(int precision, int threads) {
    lathe_rt_session_options options;
    lathe_rt_session_options_init(&options);
    options.precision = precision;
    options.num_threads = threads;
    create(&options);
  }
  ~BoundSession() {
    lathe_rt_session_bind(previous);
    EXPECT_EQ(lathe_rt_session_destroy(session), LATHE_OK);
  }
  BoundSession(const BoundSession &) = delete;
  BoundSession &operator=(const BoundSession &) = delete;

  lathe_rt_session *session = nullptr;

private:
  void create(const lathe_rt_session_options *options) {
    session = lathe_rt_session_create(options);
    EXPECT_NE(session, nullptr);
    previous = lathe_rt_session_bind(session);
  }
  lathe_rt_session *previous = nullptr;
};

/// The index of profile kind `name` (lathe_rt_profile_*), or -1 when no
/// kernel of that kind has registered it yet.
inline int findProfileKind(const char *name) {
  for (int i = 0; i < lathe_rt_profile_count(); ++i)
    if (std::strcmp(lathe_rt_profile_name(i), name) == 0)
      return i;
  return -1;
}

/// Calls counted for profile kind `name` (0 when it is not registered).
inline int64_t profileCalls(const char *name) {
  int kind = findProfileKind(name);
  return kind < 0 ? 0 : lathe_rt_profile_calls(kind);
}

inline std::string takePending() {
  char buf[1024];
  if (!lathe_rt_take_pending_error(buf, sizeof(buf)))
    return "";
  return buf;
}

} // namespace lathe::test

#endif // LATHE_RUNTIME_UNITTESTS_TESTUTILS_H
