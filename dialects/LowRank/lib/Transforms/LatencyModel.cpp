//===- LatencyModel.cpp - Per-target latency of dense kernels -------------===//

#include "lathe/Dialect/LowRank/LatencyModel.h"

#include "llvm/ADT/Twine.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mlir::lowrank;

double LatencyModel::matmulUs(int64_t m, int64_t n, int64_t k) const {
  auto it = measured.find({m, n, k});
  if (it != measured.end())
    return it->second;
  double eff = std::min(1.0, double(n) / minEfficientDim) *
               std::min(1.0, double(k) / minEfficientDim);
  double flops = 2.0 * m * n * k;
  double computeUs = flops / (peakGflops * 1e3 * std::max(eff, 1e-3));
  double bytes = 4.0 * (double(m) * k + double(k) * n + double(m) * n);
  double memoryUs = bytes / (bandwidthGBs * 1e3);
  return callOverheadUs + std::max(computeUs, memoryUs);
}

bool ConvShape::isValid() const {
  for (int64_t v : key())
    if (v <= 0)
      return false;
  return h >= dh * (kh - 1) + 1 && w >= dw * (kw - 1) + 1;
}

std::array<ConvShape, 3> mlir::lowrank::tuckerConvShapes(const ConvShape &d,
                                                         int64_t r) {
  ConvShape in = d;
  in.f = r;
  in.kh = in.kw = in.sh = in.sw = in.dh = in.dw = 1;
  ConvShape core = d;
  core.c = core.f = r;
  ConvShape out = in;
  out.c = r;
  out.f = d.f;
  out.h = d.outH();
  out.w = d.outW();
  return {in, core, out};
}

std::vector<int64_t> mlir::lowrank::linearCandidateRanks(int64_t n, int64_t k,
                                                         int64_t g) {
  std::vector<int64_t> ranks;
  for (int64_t r = g; g > 0 && r < std::min(n, k); r += g) {
    if (r * (n + k) >= n * k)
      break; // no cheaper than dense (and would fold back)
    ranks.push_back(r);
  }
  return ranks;
}

std::vector<int64_t> mlir::lowrank::tuckerCandidateRanks(int64_t cout,
                                                         int64_t cin,
                                                         int64_t window,
                                                         int64_t g) {
  std::vector<int64_t> ranks;
  for (int64_t r = g; g > 0 && r <= std::min(cin, cout); r += g) {
    if (cin * r + r * r * window + r * cout >= cin * cout * window)
      break; // stores no less than the filter (and would fold back)
    ranks.push_back(r);
  }
  return ranks;
}

double LatencyModel::convUs(const ConvShape &s) const {
  auto it = measuredConv.find(s.key());
  if (it != measuredConv.end())
    return it->second;
  return matmulUs(s.n * s.outH() * s.outW(), s.f, s.c * s.kh * s.kw);
}

/// The bundled CPU table: the roofline fitted to lathe-run timings of
/// one-matmul modules (the script lathe-calibrate replaced) on this project's
/// CPU machine (AVX-512, oneDNN 2.6 brgemm f32, one thread, M = 64, 81 shapes
/// from 16 to 1024; 2026-11-27): within ~15% of the measured table on the
/// shapes checked (64x256x256: 57 us predicted, 50 us measured). It has no
/// convolution entries: convolutions are priced as implicit GEMMs, which
/// underestimates oneDNN's small NCHW convolutions 3-10x; lathe-calibrate
/// measures them. See docs/Dialects/LowRank.md.
static LatencyModel getBundledCpuModel() {
  LatencyModel model;
  model.name = "cpu";
  model.provenance = "bundled: roofline fitted to lathe-run measurements of "
                     "oneDNN f32 matmuls, 1 thread, AVX-512 "
                     "(docs/Dialects/LowRank.md)";
  model.peakGflops = 155.0;
  model.bandwidthGBs = 30.0;
  model.callOverheadUs = 3.0;
  model.minEfficientDim = 16;
  model.granularity = 16;
  return model;
}

FailureOr<LatencyModel> mlir::lowrank::parseLatencyModel(StringRef json,
                                                         std::string &error) {
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(json);
  if (!parsed) {
    error = "malformed JSON: " + llvm::toString(parsed.takeError());
    return failure();
  }
  const llvm::json::Object *object = parsed->getAsObject();
  if (!object) {
    error = "expected a JSON object";
    return failure();
  }
  LatencyModel model;
  auto number = [&](StringRef key, double &out,
                    bool allowZero = false) -> LogicalResult {
    std::optional<double> v = object->getNumber(key);
    if (!v || !std::isfinite(*v) || *v < 0 || (*v == 0 && !allowZero)) {
      error = ("expected a " + Twine(allowZero ? "non-negative" : "positive") +
               " number for \"" + key + "\"")
                  .str();
      return failure();
    }
    out = *v;
    return success();
  };
  if (failed(number("peak_gflops", model.peakGflops)) ||
      failed(number("bandwidth_gbps", model.bandwidthGBs)))
    return failure();
  double overhead = 0, minDim = 1, granularity = 1;
  if (object->get("call_overhead_us") &&
      failed(number("call_overhead_us", overhead, /*allowZero=*/true)))
    return failure();
  if (object->get("min_efficient_dim") &&
      failed(number("min_efficient_dim", minDim)))
    return failure();
  if (object->get("granularity") && failed(number("granularity", granularity)))
    return failure();
  model.callOverheadUs = overhead;
  model.minEfficientDim = static_cast<int64_t>(minDim);
  model.granularity = static_cast<int64_t>(granularity);
  if (std::optional<StringRef> name = object->getString("name"))
    model.name = name->str();
  else
    model.name = "custom";
  if (std::optional<StringRef> provenance = object->getString("provenance"))
    model.provenance = provenance->str();
  if (const llvm::json::Value *table = object->get("matmul")) {
    const llvm::json::Array *rows = table->getAsArray();
    if (!rows) {
      error = "expected \"matmul\" to be an array of {m, n, k, us}";
      return failure();
    }
    for (const llvm::json::Value &row : *rows) {
      const llvm::json::Object *entry = row.getAsObject();
      std::optional<int64_t> m, n, k;
      std::optional<double> us;
      if (entry) {
        m = entry->getInteger("m");
        n = entry->getInteger("n");
        k = entry->getInteger("k");
        us = entry->getNumber("us");
      }
      if (!m || !n || !k || !us || *m <= 0 || *n <= 0 || *k <= 0 ||
          !std::isfinite(*us) || *us < 0) {
        error = "expected every \"matmul\" entry to be {m, n, k, us} with "
                "positive sizes and a non-negative latency";
        return failure();
      }
      model.measured[{*m, *n, *k}] = *us;
    }
  }
  if (const llvm::json::Value *table = object->get("conv")) {
    const llvm::json::Array *rows = table->getAsArray();
    const char *expected =
        "expected every \"conv\" entry to be {n, c, h, w, f, kh, kw, us} "
        "(optional sh, sw, dh, dw) with positive sizes, a window that fits "
        "the input and a non-negative latency";
    if (!rows) {
      error = "expected \"conv\" to be an array of {n, c, h, w, f, kh, kw, "
              "us}";
      return failure();
    }
    for (size_t index = 0; index < rows->size(); ++index) {
      const llvm::json::Object *entry = (*rows)[index].getAsObject();
      auto fail = [&]() {
        error = (Twine(expected) + " (entry " + Twine(index) + ")").str();
        return failure();
      };
      if (!entry)
        return fail();
      ConvShape shape;
      struct Field {
        const char *key;
        int64_t *out;
        bool required;
      } fields[] = {{"n", &shape.n, true},    {"c", &shape.c, true},
                    {"h", &shape.h, true},    {"w", &shape.w, true},
                    {"f", &shape.f, true},    {"kh", &shape.kh, true},
                    {"kw", &shape.kw, true},  {"sh", &shape.sh, false},
                    {"sw", &shape.sw, false}, {"dh", &shape.dh, false},
                    {"dw", &shape.dw, false}};
      for (const Field &field : fields) {
        const llvm::json::Value *v = entry->get(field.key);
        if (!v) {
          if (field.required)
            return fail();
          continue;
        }
        std::optional<int64_t> i = v->getAsInteger();
        if (!i)
          return fail();
        *field.out = *i;
      }
      std::optional<double> us = entry->getNumber("us");
      if (!us || !std::isfinite(*us) || *us < 0 || !shape.isValid())
        return fail();
      model.measuredConv[shape.key()] = *us;
    }
  }
  return model;
}

FailureOr<LatencyModel> mlir::lowrank::getLatencyModel(StringRef target,
                                                       std::string &error) {
  if (target == "cpu")
    return getBundledCpuModel();
  if (!target.ends_with(".json")) {
    error = ("unknown target '" + target +
             "' (expected 'cpu' or the path of a JSON target description)")
                .str();
    return failure();
  }
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> file =
      llvm::MemoryBuffer::getFile(target);
  if (!file) {
    error = ("cannot read target description '" + target +
             "': " + file.getError().message())
                .str();
    return failure();
  }
  FailureOr<LatencyModel> model =
      parseLatencyModel((*file)->getBuffer(), error);
  if (failed(model))
    error = ("target description '" + target + "': " + error).str();
  return model;
}
