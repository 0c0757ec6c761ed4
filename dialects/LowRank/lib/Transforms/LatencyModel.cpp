//===- LatencyModel.cpp - Per-target latency of dense kernels -------------===//

#include "lathe/Dialect/LowRank/LatencyModel.h"

#include "lathe/Interfaces/Target.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Operation.h"

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

FailureOr<LatencyModel>
mlir::lowrank::readLatencyModel(const lathe::TargetTable &t) {
  LatencyModel model;
  model.name = t.getTargetName().str();
  if (auto provenance = t.getDictionary().getAs<StringAttr>("provenance"))
    model.provenance = provenance.str();
  FailureOr<double> peak = t.getNumber("peak_gflops");
  if (failed(peak))
    return failure();
  FailureOr<double> bandwidth = t.getNumber("bandwidth_gbps");
  if (failed(bandwidth))
    return failure();
  FailureOr<double> overhead =
      t.getNumber("call_overhead_us", 0.0, /*strict=*/false, 0.0);
  if (failed(overhead))
    return failure();
  FailureOr<int64_t> minDim = t.getInteger("min_efficient_dim", 1, 1);
  if (failed(minDim))
    return failure();
  FailureOr<int64_t> granularity = t.getInteger("granularity", 1, 1);
  if (failed(granularity))
    return failure();
  model.peakGflops = *peak;
  model.bandwidthGBs = *bandwidth;
  model.callOverheadUs = *overhead;
  model.minEfficientDim = *minDim;
  model.granularity = *granularity;

  auto integer = [](DictionaryAttr row,
                    StringRef key) -> std::optional<int64_t> {
    auto i = row.getAs<IntegerAttr>(key);
    if (!i || i.getType().isInteger(1))
      return std::nullopt;
    return i.getInt();
  };
  auto latency = [](DictionaryAttr row) -> std::optional<double> {
    Attribute us = row.get("us");
    std::optional<double> v;
    if (auto i = dyn_cast_or_null<IntegerAttr>(us))
      v = static_cast<double>(i.getInt());
    else if (auto f = dyn_cast_or_null<FloatAttr>(us))
      v = f.getValueAsDouble();
    if (v && (!std::isfinite(*v) || *v < 0))
      return std::nullopt;
    return v;
  };
  FailureOr<SmallVector<DictionaryAttr>> matmuls = t.getRows("matmul");
  if (failed(matmuls))
    return failure();
  for (auto [index, row] : llvm::enumerate(*matmuls)) {
    std::optional<int64_t> m = integer(row, "m"), n = integer(row, "n"),
                           k = integer(row, "k");
    std::optional<double> us = latency(row);
    if (!m || !n || !k || !us || *m <= 0 || *n <= 0 || *k <= 0)
      return t.emitKeyError("matmul")
             << "entry " << index
             << ": expected {m, n, k, us} with positive sizes and a "
                "non-negative latency, got "
             << row;
    model.measured[{*m, *n, *k}] = *us;
  }
  FailureOr<SmallVector<DictionaryAttr>> convs = t.getRows("conv");
  if (failed(convs))
    return failure();
  for (auto [index, row] : llvm::enumerate(*convs)) {
    auto fail = [&]() {
      return t.emitKeyError("conv")
             << "entry " << index
             << ": expected {n, c, h, w, f, kh, kw, us} (optional sh, sw, "
                "dh, dw) with positive sizes, a window that fits the input "
                "and a non-negative latency, got "
             << row;
    };
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
      if (!row.get(field.key)) {
        if (field.required)
          return fail();
        continue;
      }
      std::optional<int64_t> i = integer(row, field.key);
      if (!i)
        return fail();
      *field.out = *i;
    }
    std::optional<double> us = latency(row);
    if (!us || !shape.isValid())
      return fail();
    model.measuredConv[shape.key()] = *us;
  }
  return model;
}

FailureOr<LatencyModel> mlir::lowrank::readLatencyModel(Operation *op) {
  FailureOr<lathe::TargetTable> table =
      lathe::TargetTable::lookup(op, "lowrank");
  if (failed(table))
    return failure();
  return readLatencyModel(*table);
}
