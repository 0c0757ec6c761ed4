// lathe-gpu-check: the host side of scripts/gpu-check.sh. Runs on the GPU
// machine without LLVM or MLIR: loads each model's .lathe file (made here by
// `lathe-compile --backend=cuda`: host code with its cubin, weights as data)
// with libLatheRuntimeCUDA.so's own loader, which uploads the weights once;
// runs it, compares with the CPU backend's outputs, times it on inputs
// already on the device, compares Lathe's matmul calls with cuBLASLt on the
// same plan and measures a generated element-wise kernel's bandwidth. Ends
// with one RESULT line.
//
// Manifest lines (whitespace-separated):
//   model <name> <file.lathe> <input.npy> <reference.npy> <iters>
//   eltwise <name> <file.lathe> <elements> <iters>
//   matmul <batch> <M> <N> <K> <flags> <iters>
//   nccl <elements>      (single-rank all-gather, reduce-scatter, all-to-all:
//                         each must give back its input)

#include "lathe/runtime/CUDA.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Array {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

bool readNpy(const std::string &path, Array &out, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) {
    error = path + ": not a .npy file";
    return false;
  }
  uint32_t headerLen = 0;
  if (magic[6] == 1) {
    uint16_t len;
    in.read(reinterpret_cast<char *>(&len), 2);
    headerLen = len;
  } else {
    in.read(reinterpret_cast<char *>(&headerLen), 4);
  }
  std::string header(headerLen, '\0');
  in.read(&header[0], headerLen);
  if (header.find("'<f4'") == std::string::npos ||
      header.find("'fortran_order': False") == std::string::npos) {
    error = path + ": expected little-endian float32 in C order";
    return false;
  }
  size_t open = header.find('('), close = header.find(')');
  std::string dims = header.substr(open + 1, close - open - 1);
  std::stringstream ss(dims);
  std::string item;
  int64_t count = 1;
  while (std::getline(ss, item, ','))
    if (item.find_first_not_of(" ") != std::string::npos) {
      out.shape.push_back(std::stoll(item));
      count *= out.shape.back();
    }
  out.data.resize(count);
  if (!in.read(reinterpret_cast<char *>(out.data.data()), count * 4)) {
    error = path + ": truncated";
    return false;
  }
  return true;
}

double nowMs() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool pendingOk(const char *what) {
  if (const char *e = lathe_cuda_take_pending_error()) {
    std::printf("  %s: error: %s\n", what, e);
    return false;
  }
  return true;
}

/// A tensor of the CUDA runtime's loader over `shape` and `data`.
lathe_cuda_tensor tensorOf(const std::vector<int64_t> &shape, float *data) {
  lathe_cuda_tensor t = {};
  t.rank = static_cast<int32_t>(shape.size());
  std::copy(shape.begin(), shape.end(), t.shape);
  t.data = data;
  return t;
}

/// One call on device tensors; its result is freed.
bool deviceCall(lathe_cuda_model *model, const lathe_cuda_tensor &input) {
  lathe_cuda_tensor out = {};
  if (lathe_cuda_model_run_device(model, &input, 1, &out, 1) != LATHE_CUDA_OK)
    return false;
  lathe_cuda_free(out.data);
  return true;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: lathe-gpu-check MANIFEST\n");
    return 2;
  }
  if (lathe_cuda_init() != LATHE_CUDA_OK) {
    std::printf("lathe-gpu-check: error: no usable CUDA device: %s\n",
                lathe_cuda_last_error());
    std::printf("RESULT max_rel_err=nan matmul_vs_cublaslt=nan "
                "eltwise_bw_fraction=nan layer_b8_ms=nan\n");
    return 1;
  }
  std::printf("device: %s\n", lathe_cuda_device_description());
  std::string dir = argv[1];
  dir = dir.substr(0, dir.find_last_of('/') + 1);
  std::ifstream manifest(argv[1]);
  std::string line;
  double maxRelErr = 0, worstMatmul = 0, bwFraction = NAN, layerB8 = NAN;
  bool ok = true;
  while (std::getline(manifest, line)) {
    std::stringstream ss(line);
    std::string kind;
    ss >> kind;
    if (kind == "model" || kind == "eltwise") {
      std::string name, lib, input, ref;
      int64_t elements = 0;
      int iters = 0;
      if (kind == "model")
        ss >> name >> lib >> input >> ref >> iters;
      else
        ss >> name >> lib >> elements >> iters;
      lathe_cuda_reset_peak();
      double loadStart = nowMs();
      lathe_cuda_model *model = nullptr;
      if (lathe_cuda_model_load((dir + lib).c_str(), &model) != LATHE_CUDA_OK) {
        std::printf("%s: error: %s\n", name.c_str(), lathe_cuda_last_error());
        ok = false;
        continue;
      }
      double loadMs = nowMs() - loadStart;
      Array x, r;
      std::string error;
      if (kind == "model" &&
          (!readNpy(dir + input, x, error) || !readNpy(dir + ref, r, error))) {
        std::printf("%s: error: %s\n", name.c_str(), error.c_str());
        lathe_cuda_model_free(model);
        ok = false;
        continue;
      }
      if (kind == "eltwise") {
        x.shape = {elements};
        x.data.resize(elements);
        for (int64_t i = 0; i < elements; ++i)
          x.data[i] = float(i % 1024) * 0.001f;
      }
      // Correctness: one call on host tensors (copies in and out).
      if (kind == "model") {
        lathe_cuda_tensor in = tensorOf(x.shape, x.data.data());
        std::vector<float> y(r.data.size());
        lathe_cuda_tensor out = tensorOf(r.shape, y.data());
        if (lathe_cuda_model_run(model, &in, 1, &out, 1) != LATHE_CUDA_OK) {
          std::printf("%s: error: %s\n", name.c_str(), lathe_cuda_last_error());
          lathe_cuda_model_free(model);
          ok = false;
          continue;
        }
        double maxDiff = 0, maxRef = 0;
        for (size_t i = 0; i < y.size(); ++i) {
          maxDiff = std::max(maxDiff, double(std::fabs(y[i] - r.data[i])));
          maxRef = std::max(maxRef, double(std::fabs(r.data[i])));
        }
        double rel = maxDiff / std::max(maxRef, 1e-30);
        if (!(rel <= 1e30))
          rel = INFINITY;
        maxRelErr = std::max(maxRelErr, rel);
        std::printf("%s: max_abs_diff=%.3g max|ref|=%.3g rel_err=%.3g\n",
                    name.c_str(), maxDiff, maxRef, rel);
      }
      // Timing: the input on the device, as a serving loop has it.
      void *dx = nullptr;
      size_t bytes = x.data.size() * 4;
      if (lathe_cuda_alloc(bytes, &dx) != LATHE_CUDA_OK ||
          lathe_cuda_copy_to_device(dx, x.data.data(), bytes) !=
              LATHE_CUDA_OK) {
        std::printf("%s: error: %s\n", name.c_str(), lathe_cuda_last_error());
        lathe_cuda_model_free(model);
        ok = false;
        continue;
      }
      lathe_cuda_tensor arg = tensorOf(x.shape, static_cast<float *>(dx));
      // Warm-up (cuBLASLt plans), checked.
      if (!deviceCall(model, arg) || !pendingOk(name.c_str())) {
        std::printf("%s: error: %s\n", name.c_str(), lathe_cuda_last_error());
        lathe_cuda_free(dx);
        lathe_cuda_model_free(model);
        ok = false;
        continue;
      }
      double t0 = nowMs();
      for (int i = 0; i < iters; ++i)
        ok &= deviceCall(model, arg);
      double ms = (nowMs() - t0) / std::max(iters, 1);
      // One profiled call for the per-kernel times.
      lathe_cuda_profile_enable(1);
      lathe_cuda_profile_reset();
      ok &= deviceCall(model, arg);
      lathe_cuda_profile_enable(0);
      lathe_cuda_kernel_time kernels[32];
      int n = lathe_cuda_profile_collect(kernels, 32);
      std::printf("%s: load_ms=%.2f latency_ms=%.4f peak_memory_bytes=%lld "
                  "constant_bytes=%lld\n",
                  name.c_str(), loadMs, ms, (long long)lathe_cuda_peak_bytes(),
                  (long long)lathe_cuda_model_constant_bytes(model));
      for (int i = 0; i < n && i < 32; ++i)
        std::printf("  kernel %-12s calls=%lld ms=%.4f\n", kernels[i].name,
                    (long long)kernels[i].calls, kernels[i].ms);
      if (name == "encoder_b8")
        layerB8 = ms;
      if (kind == "eltwise") {
        double moved = 2.0 * bytes; // one read, one write
        double bw = moved / (ms * 1e-3);
        double peak = lathe_cuda_peak_bandwidth();
        bwFraction = peak > 0 ? bw / peak : NAN;
        std::printf("%s: %.1f GB/s of %.1f GB/s (%.2f)\n", name.c_str(),
                    bw * 1e-9, peak * 1e-9, bwFraction);
      }
      ok &= pendingOk(name.c_str());
      lathe_cuda_free(dx);
      lathe_cuda_model_free(model);
    } else if (kind == "nccl") {
      size_t count = 0;
      ss >> count;
      char id[128];
      lathe_cuda_comm *comm = nullptr;
      std::vector<float> x(count), y(count);
      for (size_t i = 0; i < count; ++i)
        x[i] = float(i % 977) * 0.25f;
      void *dx = nullptr, *dy = nullptr;
      bool good =
          lathe_cuda_nccl_unique_id(id) == LATHE_CUDA_OK &&
          lathe_cuda_nccl_init(id, 1, 0, &comm) == LATHE_CUDA_OK &&
          lathe_cuda_alloc(count * 4, &dx) == LATHE_CUDA_OK &&
          lathe_cuda_alloc(count * 4, &dy) == LATHE_CUDA_OK &&
          lathe_cuda_copy_to_device(dx, x.data(), count * 4) == LATHE_CUDA_OK;
      const char *names[3] = {"all_gather", "reduce_scatter", "all_to_all"};
      for (int c = 0; good && c < 3; ++c) {
        auto *s = static_cast<const float *>(dx);
        auto *d = static_cast<float *>(dy);
        int st = c == 0   ? lathe_cuda_all_gather_f32(comm, s, d, count)
                 : c == 1 ? lathe_cuda_reduce_scatter_f32(comm, s, d, count)
                          : lathe_cuda_all_to_all_f32(comm, s, d, count);
        std::fill(y.begin(), y.end(), -1.f);
        good =
            st == LATHE_CUDA_OK &&
            lathe_cuda_copy_to_host(y.data(), dy, count * 4) == LATHE_CUDA_OK;
        bool same = good && y == x;
        std::printf("nccl %s (1 rank, %zu floats): %s\n", names[c], count,
                    same ? "ok" : "MISMATCH");
        good = same;
      }
      if (!good) {
        std::printf("nccl: error: %s\n", lathe_cuda_last_error());
        ok = false;
      }
      lathe_cuda_free(dx);
      lathe_cuda_free(dy);
      lathe_cuda_nccl_destroy(comm);
    } else if (kind == "matmul") {
      int64_t batch, m, n, k, flags;
      int iters;
      ss >> batch >> m >> n >> k >> flags >> iters;
      double latheMs = 0, ltMs = 0;
      int status = lathe_cuda_bench_matmul(batch, m, n, k, flags, iters,
                                           &latheMs, &ltMs);
      // Errors inside the kernels are pending ones; the status's text is
      // the last error otherwise.
      const char *pending = lathe_cuda_take_pending_error();
      if (status != LATHE_CUDA_OK || pending) {
        std::printf("matmul %lldx%lldx%lldx%lld: error: %s\n", (long long)batch,
                    (long long)m, (long long)n, (long long)k,
                    pending ? pending : lathe_cuda_last_error());
        ok = false;
        continue;
      }
      double ratio = latheMs / ltMs;
      worstMatmul = std::max(worstMatmul, ratio);
      std::printf("matmul batch=%lld M=%lld N=%lld K=%lld flags=%lld: "
                  "lathe_ms=%.4f cublaslt_ms=%.4f ratio=%.3f\n",
                  (long long)batch, (long long)m, (long long)n, (long long)k,
                  (long long)flags, latheMs, ltMs, ratio);
    }
  }
  std::printf("RESULT max_rel_err=%.3g matmul_vs_cublaslt=%.3f "
              "eltwise_bw_fraction=%.3f layer_b8_ms=%.4f\n",
              maxRelErr, worstMatmul, bwFraction, layerB8);
  return ok ? 0 : 1;
}
