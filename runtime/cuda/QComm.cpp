//===- QComm.cpp - Host sides of the qcomm kernels ------------------------===//
//
// lathe_cuda_quantize_f32 and friends: the CPU runtime's Quant.h kernels
// with the same arguments on device memory (QCommKernels.cu). The operands
// are checked as the CPU checks them (contiguous, bits, group, counts,
// flags); a failed check is the pending error and nothing is launched.
//
//===----------------------------------------------------------------------===//

#include "lathe/runtime/CUDAQComm.h"

#include "CudaInternal.h"
#include "LaunchGeometry.h"
#include "QCommArith.h"

#include <algorithm>
#include <string>

using namespace lathe_cuda;
using qcomm::PartsView;
using qcomm::QuantizeParams;

namespace {

constexpr unsigned kThreads = 256;
constexpr int64_t kMaxBlocks = 1 << 20; // grid-stride beyond

unsigned blocksFor(int64_t threads) {
  return static_cast<unsigned>(
      std::clamp<int64_t>((threads + kThreads - 1) / kThreads, 1, kMaxBlocks));
}

/// The first failed check of one call, reported as "<call>: <why>".
class Checks {
public:
  explicit Checks(const char *call) : call(call) {}
  bool ok() const { return why.empty(); }
  void require(bool condition, const std::string &message) {
    if (!condition && why.empty())
      why = message;
  }
  /// A dense operand's element count (-1 after a failure).
  int64_t dense(const Ref &r, const char *what) {
    int64_t expected = 1;
    for (int64_t d = r.rank - 1; d >= 0; --d) {
      if (r.size(d) != 1 && r.stride(d) != expected) {
        require(false, std::string(what) +
                           " is not contiguous (the quantization kernels "
                           "need an identity layout)");
        return -1;
      }
      expected *= r.size(d);
    }
    return r.numel();
  }
  void bitsAndGroup(int64_t bits, int64_t group) {
    require(bits == 4 || bits == 8,
            "bits must be 4 or 8, got " + std::to_string(bits));
    require(group > 0,
            "group size must be positive, got " + std::to_string(group));
    require(bits != 4 || group % 2 == 0,
            "4-bit quantization packs two values per byte and needs an even "
            "group size, got " +
                std::to_string(group));
  }
  /// `n` values `what` holds are whole groups.
  void wholeGroups(int64_t n, int64_t group, const std::string &what) {
    require(n % group == 0, what + " has " + std::to_string(n) +
                                " elements, not a multiple of the group "
                                "size " +
                                std::to_string(group));
  }
  /// Flags beyond `allowed` (named `allowedName`) are an error.
  void flags(int64_t flags, int64_t allowed, const char *op,
             const char *allowedName) {
    require((flags & ~allowed) == 0, "unknown flags " + std::to_string(flags) +
                                         " (" + op + " accepts " + allowedName +
                                         " only)");
  }
  void count(int64_t actual, int64_t expected, const char *what) {
    require(actual == expected,
            std::string(what) + " has " + std::to_string(actual) +
                " elements, expected " + std::to_string(expected));
  }
  /// Sets the pending error when a check failed; true when all passed.
  bool report() const {
    if (!why.empty())
      setPending(std::string(call) + ": " + why);
    return why.empty();
  }

private:
  const char *call;
  std::string why;
};

void launchQuantize(const char *profileName, QuantizeParams &p) {
  if (p.groups == 0)
    return;
  CUfunction fn = ownKernel("lathe_qcomm_quantize");
  if (!fn)
    return;
  void *params[] = {&p};
  launch(profileName, fn, blocksFor(p.groups * 32), kThreads, params);
}

void dequantize(const char *call, int64_t rankQ, void *q, int64_t rankS,
                void *scales, int64_t rankY, void *y, int64_t parts,
                int64_t bits, int64_t group, int64_t flags) {
  Checks c(call);
  c.bitsAndGroup(bits, group);
  c.flags(flags, qcomm::kAccumulate, "dequantize", "LATHE_QUANT_ACCUMULATE");
  c.require(parts > 0, "parts must be positive, got " + std::to_string(parts));
  Ref Q = ref(rankQ, q, 1), S = ref(rankS, scales, 4), Y = ref(rankY, y, 4);
  int64_t nq = c.dense(Q, "q"), ns = c.dense(S, "scales"), n = c.dense(Y, "y");
  if (!c.ok())
    return void(c.report());
  c.wholeGroups(n, group, "y");
  c.count(nq, parts * n * bits / 8, "q");
  c.count(ns, parts * (n / group), "scales");
  if (!c.report() || n == 0)
    return;
  PartsView v;
  v.q = Q.as<int8_t>();
  v.scales = S.as<float>();
  v.n = n;
  v.parts = parts;
  v.group = group;
  v.bits = static_cast<int>(bits);
  float *out = Y.as<float>();
  int accumulate = (flags & qcomm::kAccumulate) != 0;
  CUfunction fn = ownKernel("lathe_qcomm_dequantize");
  if (!fn)
    return;
  void *params[] = {&v, &out, &accumulate};
  launch("dequantize", fn, blocksFor(n), kThreads, params);
}

} // namespace

extern "C" {

void lathe_cuda_quantize_f32(int64_t rankX, void *x, int64_t rankQ, void *q,
                             int64_t rankS, void *scales, int64_t bits,
                             int64_t group, int64_t flags, int64_t seed) {
  Checks c("lathe_cuda_quantize_f32");
  c.bitsAndGroup(bits, group);
  c.flags(flags, qcomm::kStochastic, "quantize", "LATHE_QUANT_STOCHASTIC");
  Ref X = ref(rankX, x, 4), Q = ref(rankQ, q, 1), S = ref(rankS, scales, 4);
  int64_t n = c.dense(X, "x"), nq = c.dense(Q, "q"), ns = c.dense(S, "scales");
  if (!c.ok())
    return void(c.report());
  c.wholeGroups(n, group, "x");
  c.count(nq, n * bits / 8, "q");
  c.count(ns, n / group, "scales");
  if (!c.report())
    return;
  QuantizeParams p;
  p.x = X.as<float>();
  p.q = Q.as<int8_t>();
  p.scales = S.as<float>();
  p.groups = n / group;
  p.group = group;
  p.bits = static_cast<int>(bits);
  p.stochastic = (flags & qcomm::kStochastic) != 0;
  p.seed = static_cast<uint64_t>(seed);
  launchQuantize("quantize", p);
}

void lathe_cuda_dequantize_f32(int64_t rankQ, void *q, int64_t rankS,
                               void *scales, int64_t rankY, void *y,
                               int64_t bits, int64_t group, int64_t flags) {
  dequantize("lathe_cuda_dequantize_f32", rankQ, q, rankS, scales, rankY, y,
             /*parts=*/1, bits, group, flags);
}

void lathe_cuda_dequantize_reduce_f32(int64_t rankQ, void *q, int64_t rankS,
                                      void *scales, int64_t rankY, void *y,
                                      int64_t parts, int64_t bits,
                                      int64_t group, int64_t flags) {
  dequantize("lathe_cuda_dequantize_reduce_f32", rankQ, q, rankS, scales, rankY,
             y, parts, bits, group, flags);
}

void lathe_cuda_dequantize_reduce_requantize_f32(
    int64_t rankQ, void *q, int64_t rankS, void *scales, int64_t rankQOut,
    void *qOut, int64_t rankSOut, void *scalesOut, int64_t parts, int64_t bits,
    int64_t group, int64_t outBits, int64_t outGroup, int64_t flags,
    int64_t seed) {
  Checks c("lathe_cuda_dequantize_reduce_requantize_f32");
  c.bitsAndGroup(bits, group);
  c.bitsAndGroup(outBits, outGroup);
  c.flags(flags, qcomm::kStochastic, "dequantize_reduce_requantize",
          "LATHE_QUANT_STOCHASTIC");
  c.require(parts > 0, "parts must be positive, got " + std::to_string(parts));
  Ref Q = ref(rankQ, q, 1), S = ref(rankS, scales, 4),
      QO = ref(rankQOut, qOut, 1), SO = ref(rankSOut, scalesOut, 4);
  int64_t nq = c.dense(Q, "q"), ns = c.dense(S, "scales"),
          nqo = c.dense(QO, "qOut"), nso = c.dense(SO, "scalesOut");
  if (!c.ok())
    return void(c.report());
  int64_t n = nso * outGroup;
  c.wholeGroups(n, group, "the reduced vector (scalesOut * outGroup values)");
  c.count(nqo, n * outBits / 8, "qOut");
  c.count(nq, parts * n * bits / 8, "q");
  c.count(ns, parts * (n / group), "scales");
  if (!c.report())
    return;
  QuantizeParams p;
  p.in.q = Q.as<int8_t>();
  p.in.scales = S.as<float>();
  p.in.n = n;
  p.in.parts = parts;
  p.in.group = group;
  p.in.bits = static_cast<int>(bits);
  p.q = QO.as<int8_t>();
  p.scales = SO.as<float>();
  p.groups = nso;
  p.group = outGroup;
  p.bits = static_cast<int>(outBits);
  p.stochastic = (flags & qcomm::kStochastic) != 0;
  p.seed = static_cast<uint64_t>(seed);
  launchQuantize("dequantize_reduce_requantize", p);
}

void lathe_cuda_hadamard32_f32(int64_t rankX, void *x, int64_t rankY, void *y) {
  Checks c("lathe_cuda_hadamard32_f32");
  Ref X = ref(rankX, x, 4), Y = ref(rankY, y, 4);
  int64_t n = c.dense(X, "x"), ny = c.dense(Y, "y");
  if (!c.ok())
    return void(c.report());
  c.require(n % 32 == 0,
            "x has " + std::to_string(n) +
                " elements, not a multiple of the transform's order 32");
  c.count(ny, n, "y");
  const float *in = X.as<float>();
  float *out = Y.as<float>();
  c.require(out == in || out >= in + n || in >= out + n,
            "y partially overlaps x (in place needs the same buffer)");
  if (!c.report() || n == 0)
    return;
  int64_t blocks = n / 32;
  CUfunction fn = ownKernel("lathe_qcomm_hadamard32");
  if (!fn)
    return;
  void *params[] = {&in, &out, &blocks};
  launch("hadamard32", fn, blocksFor(n), kThreads, params);
}

} // extern "C"
