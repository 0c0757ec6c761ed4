//===- QuantBench.cpp - Throughput of the quantization kernels ------------===//
//
// lathe-quant-bench: GB/s of the Quant.h kernels on 64 MiB of f32, on 1 and 2
// threads and on each instruction-set path the CPU has, beside a STREAM-like
// copy of the same buffer (the machine's memory bandwidth for comparison).
// GB/s counts the bytes each call reads and writes (x, q, scales, y), 1 GB =
// 1e9 bytes; each figure is the best of several runs. Built, not run by ctest
// (timings are not tests); bench/qcomm runs it.
//
// Usage: lathe-quant-bench [MiB] (default 64).
//
//===----------------------------------------------------------------------===//

#include "lathe/runtime/Quant.h"
#include "lathe/runtime/Runtime.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

/// {allocated, aligned, offset, size, stride} of a rank-1 memref.
struct Desc1 {
  void *allocated, *aligned;
  int64_t offset, size, stride;
};

Desc1 desc(void *data, int64_t n) { return Desc1{data, data, 0, n, 1}; }

std::string cpuName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  return "unknown CPU";
}

/// Best time of `reps` runs after one warm-up, in seconds.
double bestSeconds(const std::function<void()> &fn, int reps = 7) {
  fn();
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
  }
  return best;
}

/// The last-level cache size from sysfs ("" when unknown).
std::string lastLevelCache() {
  std::string best;
  for (int i = 0; i < 8; ++i) {
    std::ifstream in("/sys/devices/system/cpu/cpu0/cache/index" +
                     std::to_string(i) + "/size");
    std::string size;
    if (in >> size)
      best = size;
  }
  return best;
}

void report(const char *kernel, int threads, const char *isa, double bytes,
            double seconds) {
  std::printf("%-34s threads=%d isa=%-7s %7.2f GB/s  (%.2f ms)\n", kernel,
              threads, isa, bytes / seconds * 1e-9, seconds * 1e3);
}

/// dst = src on `threads` threads (contiguous halves), as STREAM's copy.
void copyOn(float *dst, const float *src, size_t n, int threads) {
  std::vector<std::thread> pool;
  size_t chunk = (n + threads - 1) / threads;
  for (int t = 1; t < threads; ++t)
    pool.emplace_back([=] {
      size_t b = std::min(n, t * chunk), e = std::min(n, b + chunk);
      std::memcpy(dst + b, src + b, (e - b) * sizeof(float));
    });
  std::memcpy(dst, src, std::min(n, chunk) * sizeof(float));
  for (auto &th : pool)
    th.join();
}

void checkPending(const char *what) {
  char buf[512];
  if (lathe_rt_take_pending_error(buf, sizeof(buf))) {
    std::fprintf(stderr, "lathe-quant-bench: %s failed: %s\n", what, buf);
    std::exit(1);
  }
}

} // namespace

int main(int argc, char **argv) {
  size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 64;
  if (mib == 0 || mib > 4096) {
    std::fprintf(stderr, "usage: lathe-quant-bench [MiB in 1..4096]\n");
    return 2;
  }
  // A multiple of every group size used below (and of 32 for Hadamard).
  const size_t n = mib * (size_t(1) << 20) / sizeof(float) / 4096 * 4096;
  std::vector<float> x(n), y(n), copy(n);
  std::mt19937 gen(1);
  std::normal_distribution<float> dist(0.f, 1.f);
  for (float &v : x)
    v = dist(gen);
  std::vector<int8_t> q(n);
  std::vector<float> scales(n / 32);
  std::vector<int8_t> q2(n / 4);
  std::vector<float> scales2(n / 256);

  std::printf("lathe-quant-bench: %zu MiB of f32 (%zu values)\n",
              n * sizeof(float) >> 20, n);
  std::printf("CPU: %s (%u hardware threads)\n", cpuName().c_str(),
              std::thread::hardware_concurrency());
  std::string llc = lastLevelCache();
  if (!llc.empty())
    std::printf("Last-level cache: %s per instance (when the working set fits, "
                "the figures are cache, not DRAM, bandwidth; pass a larger "
                "MiB)\n",
                llc.c_str());
  const char *envIsa = std::getenv("LATHE_QUANT_ISA");
  std::string native = lathe_rt_quant_isa();
  std::vector<std::string> isas = {native};
  if (!envIsa) { // Compare the narrower paths too.
    if (native == "avx512")
      isas.push_back("avx2");
    if (native != "generic")
      isas.push_back("generic");
  }

  for (int threads : {1, 2}) {
    lathe_rt_set_num_threads(threads);
    double bytes = 2.0 * n * sizeof(float);
    report("copy (memcpy, STREAM-like)", threads, "-", bytes,
           bestSeconds([&] { copyOn(copy.data(), x.data(), n, threads); }));
    for (const std::string &isa : isas) {
      if (!envIsa)
        setenv("LATHE_QUANT_ISA", isa.c_str(), 1);
      const char *path = lathe_rt_quant_isa();
      struct QuantCase {
        const char *name;
        int bits;
        int64_t group;
        int64_t flags;
      };
      for (QuantCase c : {QuantCase{"quantize 4-bit g128", 4, 128, 0},
                          QuantCase{"quantize 4-bit g128 stochastic", 4, 128,
                                    LATHE_QUANT_STOCHASTIC},
                          QuantCase{"quantize 8-bit g512", 8, 512, 0}}) {
        Desc1 dx = desc(x.data(), n), dq = desc(q.data(), n * c.bits / 8),
              ds = desc(scales.data(), n / c.group);
        double b = n * 4.0 + n * c.bits / 8.0 + n / c.group * 4.0;
        report(c.name, threads, path, b, bestSeconds([&] {
                 lathe_rt_quantize_f32(1, &dx, 1, &dq, 1, &ds, c.bits, c.group,
                                       c.flags, 7);
               }));
        checkPending(c.name);
      }
      // qWD: model += dequantize(4-bit differences).
      {
        Desc1 dq = desc(q.data(), n / 2), ds = desc(scales.data(), n / 128),
              dy = desc(y.data(), n);
        double b = n / 2.0 + n / 128 * 4.0 + n * 8.0;
        report("dequantize 4-bit g128 accumulate", threads, path, b,
               bestSeconds([&] {
                 lathe_rt_dequantize_f32(1, &dq, 1, &ds, 1, &dy, 4, 128,
                                         LATHE_QUANT_ACCUMULATE);
               }));
        checkPending("dequantize");
      }
      // A hop's reduction: 2 parts summed into n / 2 outputs.
      struct ReduceCase {
        const char *name;
        int bits;
        int64_t group;
      };
      for (ReduceCase c :
           {ReduceCase{"dequantize_reduce 8-bit g512 x2", 8, 512},
            ReduceCase{"dequantize_reduce 4-bit g128 x2", 4, 128}}) {
        const int64_t parts = 2, out = int64_t(n) / parts;
        Desc1 dq = desc(q.data(), n * c.bits / 8),
              ds = desc(scales.data(), n / c.group), dy = desc(y.data(), out);
        double b = n * c.bits / 8.0 + n / c.group * 4.0 + out * 4.0;
        report(c.name, threads, path, b, bestSeconds([&] {
                 lathe_rt_dequantize_reduce_f32(1, &dq, 1, &ds, 1, &dy, parts,
                                                c.bits, c.group, 0);
               }));
        checkPending(c.name);
      }
      // Between SDP4Bit's hops: 2 parts at 8 bits, groups of 512, summed
      // and requantized to 4 bits, groups of 128 — the unfused pair (the
      // f32 sum written and read back) and the fused kernel. Both count the
      // same bytes (packed inputs and outputs, not the f32 intermediate), so
      // GB/s compare as speeds.
      {
        const int64_t parts = 2, out = int64_t(n) / parts;
        Desc1 dq = desc(q.data(), n), ds = desc(scales.data(), n / 512),
              dy = desc(y.data(), out), dq2 = desc(q2.data(), out / 2),
              ds2 = desc(scales2.data(), out / 128);
        double b = n + n / 512 * 4.0 + out / 2.0 + out / 128 * 4.0;
        report("dequantize_reduce + quantize 8>4", threads, path, b,
               bestSeconds([&] {
                 lathe_rt_dequantize_reduce_f32(1, &dq, 1, &ds, 1, &dy, parts,
                                                8, 512, 0);
                 lathe_rt_quantize_f32(1, &dy, 1, &dq2, 1, &ds2, 4, 128, 0, 7);
               }));
        checkPending("dequantize_reduce + quantize");
        report("dequantize_reduce_requantize 8>4", threads, path, b,
               bestSeconds([&] {
                 lathe_rt_dequantize_reduce_requantize_f32(
                     1, &dq, 1, &ds, 1, &dq2, 1, &ds2, parts, 8, 512, 4, 128, 0,
                     7);
               }));
        checkPending("dequantize_reduce_requantize");
      }
      {
        Desc1 dx = desc(x.data(), n), dy = desc(y.data(), n);
        report("hadamard32", threads, path, 8.0 * n,
               bestSeconds([&] { lathe_rt_hadamard32_f32(1, &dx, 1, &dy); }));
        checkPending("hadamard32");
      }
    }
    if (!envIsa)
      unsetenv("LATHE_QUANT_ISA");
  }
  return 0;
}
