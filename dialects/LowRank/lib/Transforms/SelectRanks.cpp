//===- SelectRanks.cpp - Global, hardware-aware rank selection (HALOC) ----===//
//
// Finds linear layers and 2-D convolutions with constant f32 weights, takes
// their SVD (Tucker-2 HOSVD for convolutions), prices candidate ranks with a
// target latency model and allocates ranks over the whole module under one
// error budget, greedily by predicted latency saved per unit of added error.
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/LowRank/Allocation.h"
#include "lathe/Dialect/LowRank/LatencyModel.h"
#include "lathe/Dialect/LowRank/Layers.h"
#include "lathe/Dialect/LowRank/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Matchers.h"
#include "llvm/Support/FormatVariadic.h"

#include <lapacke.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <set>

namespace mlir::lowrank {
#define GEN_PASS_DEF_LOWRANKSELECTRANKS
#include "lathe/Dialect/LowRank/Passes.h.inc"
} // namespace mlir::lowrank

using namespace mlir;
using namespace mlir::lowrank;

namespace {

/// Thin SVD of a row-major [m, n] matrix: s (descending), u [m, p],
/// vt [p, n] with p = min(m, n).
struct Svd {
  std::vector<double> s, u, vt;
};

static FailureOr<Svd> computeSvd(std::vector<double> a, int64_t m, int64_t n) {
  int64_t p = std::min(m, n);
  Svd svd;
  svd.s.resize(p);
  svd.u.resize(m * p);
  svd.vt.resize(p * n);
  lapack_int info =
      LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'S', m, n, a.data(), n, svd.s.data(),
                     svd.u.data(), p, svd.vt.data(), n);
  if (info != 0)
    return failure();
  return svd;
}

static bool isZeroFill(Value value) {
  auto fill = value.getDefiningOp<linalg::FillOp>();
  return fill && matchPattern(fill.getInputs()[0], m_AnyZeroFloat());
}

/// A `linalg.generic` that is the only user of `value` and adds a rank-1 bias
/// broadcast along `channelDim` (result = value + bias[channel]).
static linalg::GenericOp matchBiasAdd(Value value, unsigned channelDim) {
  if (!value.hasOneUse())
    return {};
  auto generic = dyn_cast<linalg::GenericOp>(*value.getUsers().begin());
  if (!generic || generic.getNumDpsInputs() != 2 ||
      generic->getNumResults() != 1 || generic.getDpsInputs()[0] != value ||
      generic->getResult(0).getType() != value.getType() ||
      generic.getNumParallelLoops() != generic.getNumLoops())
    return {};
  auto type = cast<RankedTensorType>(value.getType());
  auto biasType =
      dyn_cast<RankedTensorType>(generic.getDpsInputs()[1].getType());
  if (!biasType || biasType.getRank() != 1 ||
      biasType.getDimSize(0) != type.getDimSize(channelDim))
    return {};
  MLIRContext *ctx = generic.getContext();
  unsigned rank = type.getRank();
  AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap channel =
      AffineMap::get(rank, 0, getAffineDimExpr(channelDim, ctx));
  SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
  if (maps[0] != id || maps[1] != channel || maps[2] != id)
    return {};
  Block &body = generic.getRegion().front();
  if (body.getOperations().size() != 2)
    return {};
  auto add = dyn_cast<arith::AddFOp>(body.front());
  auto yield = dyn_cast<linalg::YieldOp>(body.back());
  if (!add || !yield || yield->getOperand(0) != add.getResult())
    return {};
  Value a = body.getArgument(0), b = body.getArgument(1);
  if (!((add.getLhs() == a && add.getRhs() == b) ||
        (add.getLhs() == b && add.getRhs() == a)))
    return {};
  return generic;
}

struct Candidate {
  int64_t rank;
  double discarded; ///< squared Frobenius error of this rank
  double latencyUs; ///< predicted latency of the factorized layer
  /// Squared relative operator-norm error (σ_{r+1}/σ_1)²; for Tucker-2 the
  /// larger of the two unfoldings'.
  double spectral = 0;
  /// What the allocation spends: `discarded` or `spectral` (error-norm).
  double error = 0;
};

/// One weight the pass may factorize.
struct Layer {
  Operation *op;             ///< linalg.matmul or linalg.conv_2d_nchw_fchw
  linalg::GenericOp biasAdd; ///< fused into the lowrank op when present
  bool isConv = false;
  ConvShape conv; ///< conv: the dense convolution (its batch is repriced)
  // Linear: W is [n, k]. Conv: W is [n = Cout, k = Cin, kh, kw].
  int64_t n = 0, k = 0, kh = 1, kw = 1;
  double energy = 0; ///< ‖W‖²
  double denseUs = 0;
  std::vector<Candidate> candidates;
  int chosen = -1; ///< index into candidates, -1: dense
  // Factors at full rank (linear: SVD of W; conv: HOSVD).
  Svd svd; ///< linear
  std::vector<double> uOut, uIn,
      core;             ///< conv: [Cout, R], [Cin, R], [R, R, kh·kw]
  int64_t coreRank = 0; ///< conv: R = min(Cin, Cout)

  double discarded() const {
    return chosen < 0 ? 0.0 : candidates[chosen].discarded;
  }
  double error() const { return chosen < 0 ? 0.0 : candidates[chosen].error; }
  double latencyUs() const {
    return chosen < 0 ? denseUs : candidates[chosen].latencyUs;
  }

  /// Predicted microseconds of the dense layer at batch `b` (linear: b rows).
  double denseUsAt(const LatencyModel &model, int64_t b) const {
    if (!isConv)
      return model.matmulUs(b, n, k);
    ConvShape s = conv;
    s.n = b;
    return model.convUs(s);
  }
  /// Predicted microseconds of the layer factorized at rank r, batch `b`:
  /// the kernels convert-lowrank-to-lathe emits for it.
  double rankUsAt(const LatencyModel &model, int64_t r, int64_t b) const {
    if (!isConv)
      return model.matmulUs(b, r, k) + model.matmulUs(b, n, r);
    ConvShape s = conv;
    s.n = b;
    double us = 0;
    for (const ConvShape &part : tuckerConvShapes(s, r))
      us += model.convUs(part);
    return us;
  }
};

struct SelectRanksPass
    : public lowrank::impl::LowRankSelectRanksBase<SelectRanksPass> {
  using LowRankSelectRanksBase::LowRankSelectRanksBase;

  void runOnOperation() override;

private:
  LogicalResult validateOptions(const LatencyModel &model);
  /// Finds candidate layers; fails (after a diagnostic) on a bad weight.
  LogicalResult collect(const LatencyModel &model, int64_t g,
                        std::vector<Layer> &layers);
  LogicalResult analyseLinear(linalg::MatmulOp op, const LatencyModel &model,
                              int64_t g, std::vector<Layer> &layers);
  LogicalResult analyseConv(linalg::Conv2DNchwFchwOp op,
                            const LatencyModel &model, int64_t g,
                            std::vector<Layer> &layers);
  void allocate(std::vector<Layer> &layers);
  void rewrite(Layer &layer, const LatencyModel &model);
  /// The budget that drives the search, as recorded in decisions.
  bool latencyBudget() const { return maxLatency > 0.0; }

  /// What the allocation reached over all analysed layers: the model-level
  /// error (in the error-norm's definition) and the predicted latency as a
  /// fraction of the dense layers'.
  double modelError = 0, modelLatency = 1;
  int64_t pricedRows(int64_t staticRows) const {
    if (batch > 0)
      return batch;
    return ShapedType::isDynamic(staticRows) ? 64 : staticRows;
  }
};

} // namespace

/// `x` with up to 6 significant digits ("0.25", not "2.500000e-01").
static std::string shortNumber(double x) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.6g", x);
  return text;
}

/// The weight values of `value` as doubles, or nothing when it is not a
/// constant; a diagnostic and failure for NaN/Inf.
static FailureOr<std::optional<std::vector<double>>> readWeight(Operation *op,
                                                                Value value) {
  std::optional<SmallVector<float>> values = getConstantF32Values(value);
  if (!values)
    return std::optional<std::vector<double>>();
  std::vector<double> out(values->begin(), values->end());
  for (double v : out)
    if (!std::isfinite(v))
      return op->emitError("has a constant weight with NaN or Inf values; "
                           "lowrank-select-ranks cannot factorize it (fix the "
                           "weights or drop the pass)");
  return std::optional<std::vector<double>>(std::move(out));
}

LogicalResult SelectRanksPass::analyseLinear(linalg::MatmulOp op,
                                             const LatencyModel &model,
                                             int64_t g,
                                             std::vector<Layer> &layers) {
  std::optional<LinearLayerShape> shape = matchLinearLayer(op);
  if (!shape)
    return success();
  Value lhs = op.getDpsInputs()[0], rhs = op.getDpsInputs()[1];
  auto lhsType = cast<RankedTensorType>(lhs.getType());
  bool transposed = shape->transposed;
  if (!isZeroFill(op.getDpsInits()[0])) {
    op->emitRemark("lowrank-select-ranks: accumulating matmul left dense");
    return success();
  }
  FailureOr<std::optional<std::vector<double>>> weight = readWeight(op, rhs);
  if (failed(weight))
    return failure();
  if (!*weight) {
    op->emitRemark("lowrank-select-ranks: weight is not a constant; left "
                   "dense");
    return success();
  }
  Layer layer;
  layer.op = op;
  layer.biasAdd = matchBiasAdd(op->getResult(0), 1);
  layer.n = shape->n;
  layer.k = shape->k;
  std::vector<double> w(layer.n * layer.k);
  for (int64_t i = 0; i < layer.n; ++i)
    for (int64_t j = 0; j < layer.k; ++j)
      w[i * layer.k + j] = transposed ? (**weight)[i * layer.k + j]
                                      : (**weight)[j * layer.n + i];
  FailureOr<Svd> svd = computeSvd(w, layer.n, layer.k);
  if (failed(svd))
    return op->emitError("lowrank-select-ranks: the SVD of the weight did not "
                         "converge");
  layer.svd = std::move(*svd);
  std::vector<double> tail(layer.svd.s.size() + 1, 0.0);
  for (int64_t i = layer.svd.s.size() - 1; i >= 0; --i)
    tail[i] = tail[i + 1] + layer.svd.s[i] * layer.svd.s[i];
  layer.energy = tail[0];
  int64_t m = pricedRows(lhsType.getDimSize(0));
  layer.denseUs = layer.denseUsAt(model, m);
  for (int64_t r : linearCandidateRanks(layer.n, layer.k, g)) {
    double us = layer.rankUsAt(model, r, m);
    double ratio = layer.svd.s[0] > 0 ? layer.svd.s[r] / layer.svd.s[0] : 0.0;
    layer.candidates.push_back({r, tail[r], us, ratio * ratio});
  }
  layers.push_back(std::move(layer));
  return success();
}

LogicalResult SelectRanksPass::analyseConv(linalg::Conv2DNchwFchwOp op,
                                           const LatencyModel &model, int64_t g,
                                           std::vector<Layer> &layers) {
  std::optional<ConvShape> shape = matchConvLayer(op);
  if (!shape)
    return success();
  Value filter = op.getDpsInputs()[1];
  if (!isZeroFill(op.getDpsInits()[0])) {
    op->emitRemark("lowrank-select-ranks: accumulating convolution left "
                   "dense");
    return success();
  }
  FailureOr<std::optional<std::vector<double>>> weight = readWeight(op, filter);
  if (failed(weight))
    return failure();
  if (!*weight) {
    op->emitRemark("lowrank-select-ranks: filter is not a constant; left "
                   "dense");
    return success();
  }
  const std::vector<double> &w = **weight;
  Layer layer;
  layer.op = op;
  layer.isConv = true;
  layer.biasAdd = matchBiasAdd(op->getResult(0), 1);
  int64_t cout = shape->f, cin = shape->c;
  layer.n = cout;
  layer.k = cin;
  layer.kh = shape->kh;
  layer.kw = shape->kw;
  int64_t win = layer.kh * layer.kw;
  // Mode-0 unfolding [Cout, Cin·win] is W itself; mode-1 is [Cin, Cout·win].
  std::vector<double> w1(cin * cout * win);
  for (int64_t o = 0; o < cout; ++o)
    for (int64_t i = 0; i < cin; ++i)
      for (int64_t p = 0; p < win; ++p)
        w1[i * cout * win + o * win + p] = w[(o * cin + i) * win + p];
  FailureOr<Svd> s0 = computeSvd(w, cout, cin * win);
  FailureOr<Svd> s1 = computeSvd(w1, cin, cout * win);
  if (failed(s0) || failed(s1))
    return op->emitError("lowrank-select-ranks: the SVD of the filter did not "
                         "converge");
  int64_t big = std::min(cin, cout);
  int64_t p0 = std::min(cout, cin * win), p1 = std::min(cin, cout * win);
  layer.coreRank = big;
  layer.uOut.assign(cout * big, 0.0);
  layer.uIn.assign(cin * big, 0.0);
  for (int64_t o = 0; o < cout; ++o)
    for (int64_t a = 0; a < big; ++a)
      layer.uOut[o * big + a] = s0->u[o * p0 + a];
  for (int64_t i = 0; i < cin; ++i)
    for (int64_t b = 0; b < big; ++b)
      layer.uIn[i * big + b] = s1->u[i * p1 + b];
  // core[a, b, p] = Σ_o Σ_i uOut[o, a] W[o, i, p] uIn[i, b].
  std::vector<double> t(big * cin * win, 0.0);
  for (int64_t a = 0; a < big; ++a)
    for (int64_t o = 0; o < cout; ++o) {
      double uoa = layer.uOut[o * big + a];
      for (int64_t ip = 0; ip < cin * win; ++ip)
        t[a * cin * win + ip] += uoa * w[o * cin * win + ip];
    }
  layer.core.assign(big * big * win, 0.0);
  for (int64_t a = 0; a < big; ++a)
    for (int64_t i = 0; i < cin; ++i)
      for (int64_t b = 0; b < big; ++b) {
        double uib = layer.uIn[i * big + b];
        for (int64_t p = 0; p < win; ++p)
          layer.core[(a * big + b) * win + p] +=
              t[(a * cin + i) * win + p] * uib;
      }
  for (double v : w)
    layer.energy += v * v;
  int64_t nBatch = batch > 0 ? batch : shape->n;
  layer.conv = *shape;
  layer.conv.n = nBatch;
  layer.denseUs = layer.denseUsAt(model, nBatch);
  for (int64_t r : tuckerCandidateRanks(cout, cin, win, g)) {
    // Energy kept by the leading [r, r] block of the core (the projections
    // are orthogonal, so the error is ‖W‖² − ‖core_r‖²).
    double kept = 0;
    for (int64_t a = 0; a < r; ++a)
      for (int64_t b = 0; b < r; ++b)
        for (int64_t p = 0; p < win; ++p) {
          double c = layer.core[(a * big + b) * win + p];
          kept += c * c;
        }
    double us = layer.rankUsAt(model, r, nBatch);
    auto ratio = [&](const Svd &svd) {
      return r < static_cast<int64_t>(svd.s.size()) && svd.s[0] > 0
                 ? svd.s[r] / svd.s[0]
                 : 0.0;
    };
    double spectral = std::max(ratio(*s0), ratio(*s1));
    layer.candidates.push_back(
        {r, std::max(0.0, layer.energy - kept), us, spectral * spectral});
  }
  layers.push_back(std::move(layer));
  return success();
}

LogicalResult SelectRanksPass::collect(const LatencyModel &model, int64_t g,
                                       std::vector<Layer> &layers) {
  WalkResult result = getOperation().walk([&](Operation *op) {
    LogicalResult status = success();
    if (auto matmul = dyn_cast<linalg::MatmulOp>(op))
      status = analyseLinear(matmul, model, g, layers);
    else if (auto conv = dyn_cast<linalg::Conv2DNchwFchwOp>(op))
      status = analyseConv(conv, model, g, layers);
    return failed(status) ? WalkResult::interrupt() : WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

/// Chooses every layer's rank. Global: the exact optimum (allocateRanks) of
/// the least predicted latency within the error budget (max-error), or the
/// least error within the latency budget (max-latency). The errors are
/// additive per layer: squared Frobenius errors (relative to Σ‖W‖² in the
/// end), squared relative Frobenius errors ‖W − Ŵ‖²/‖W‖² (`relative`) or
/// squared relative spectral errors. The baselines: uniform and threshold
/// (max-error only).
void SelectRanksPass::allocate(std::vector<Layer> &layers) {
  bool spectral = errorNorm == ErrorNorm::Spectral;
  bool relative = errorNorm == ErrorNorm::Relative;
  double total = 0;
  for (Layer &layer : layers) {
    total += layer.energy;
    for (Candidate &cand : layer.candidates)
      cand.error =
          spectral   ? cand.spectral
          : relative ? (layer.energy > 0 ? cand.discarded / layer.energy : 0.0)
                     : cand.discarded;
  }
  // Per-layer-normalised norms: the budget is max-error² itself.
  bool perLayer = spectral || relative;
  if (perLayer)
    total = 1.0;
  double budget = maxError * maxError * total;
  auto saves = [&](const Layer &layer, const Candidate &cand) {
    return cand.latencyUs < layer.denseUs &&
           (layer.denseUs - cand.latencyUs) >= minSaving * layer.denseUs;
  };
  if (strategy == RankStrategy::Threshold) {
    // Baseline: each layer alone, the fastest rank within its own budget.
    // That is the smallest such rank where latency grows with the rank, but
    // measured tables need not (on the shipped CPU table a 16-wide matmul at
    // batch 1 is slower than a 32-wide one): a smaller rank that is no faster
    // only adds error. Ties go to the larger rank (less error).
    for (Layer &layer : layers)
      for (auto [ci, cand] : llvm::enumerate(layer.candidates))
        if (saves(layer, cand) &&
            cand.error <=
                maxError * maxError * (perLayer ? 1.0 : layer.energy) &&
            (layer.chosen < 0 ||
             cand.latencyUs <= layer.candidates[layer.chosen].latencyUs))
          layer.chosen = ci;
    return;
  }
  if (strategy == RankStrategy::Uniform) {
    // Baseline: one rank for every layer that has it as a candidate, the
    // smallest whose total error fits the global budget.
    std::set<int64_t> ranks;
    for (const Layer &layer : layers)
      for (const Candidate &cand : layer.candidates)
        ranks.insert(cand.rank);
    for (int64_t r : ranks) {
      double err = 0;
      for (Layer &layer : layers) {
        layer.chosen = -1;
        for (auto [ci, cand] : llvm::enumerate(layer.candidates))
          if (cand.rank == r && saves(layer, cand))
            layer.chosen = ci;
        err += layer.error();
      }
      if (err <= budget * (1 + 1e-12))
        return;
    }
    for (Layer &layer : layers)
      layer.chosen = -1;
    return;
  }
  // Global: the exact optimum under the one budget that drives the search.
  std::vector<AllocationLayer> problem;
  std::vector<std::vector<int>> candidateOf; // option index -> candidate index
  double denseTotal = 0;
  for (Layer &layer : layers) {
    AllocationLayer &entry = problem.emplace_back();
    entry.denseLatency = layer.denseUs;
    denseTotal += layer.denseUs;
    std::vector<int> &map = candidateOf.emplace_back();
    for (auto [ci, cand] : llvm::enumerate(layer.candidates))
      if (saves(layer, cand)) {
        entry.options.push_back({cand.latencyUs, cand.error});
        map.push_back(ci);
      }
  }
  AllocationResult result =
      latencyBudget()
          ? allocateRanks(problem, BudgetKind::Latency, maxLatency * denseTotal)
          : allocateRanks(problem, BudgetKind::Error, budget);
  for (auto [li, layer] : llvm::enumerate(layers))
    layer.chosen =
        result.choice[li] < 0 ? -1 : candidateOf[li][result.choice[li]];
  if (!result.feasible)
    mlir::emitWarning(getOperation().getLoc())
        << "lowrank-select-ranks: max-latency=" << shortNumber(maxLatency)
        << " cannot be met: the fastest choice of candidate ranks reaches "
        << llvm::formatv("{0:f4}",
                         denseTotal > 0 ? result.latency / denseTotal : 1.0)
        << " of the dense latency; using it";
  if (result.thinned)
    mlir::emitRemark(getOperation().getLoc())
        << "lowrank-select-ranks: the allocation's Pareto frontier was "
           "thinned (too many layers and candidates); the choice meets the "
           "budget but may not be the exact optimum";
}

static Value f32Constant(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                         ArrayRef<float> values) {
  auto type = RankedTensorType::get(shape, b.getF32Type());
  return arith::ConstantOp::create(b, loc, type,
                                   DenseElementsAttr::get(type, values));
}

void SelectRanksPass::rewrite(Layer &layer, const LatencyModel &model) {
  Operation *op = layer.op;
  MLIRContext *ctx = op->getContext();
  auto decisionAttr = [&](int64_t rank, double kept, double afterUs,
                          StringRef action) {
    // The same decision priced at batch 1 and 64 (what bench/lowrank.py
    // prints beside the measured speedups), and the budget that drove the
    // allocation with what the whole allocation reached (the same on every
    // layer's decision).
    auto after = [&](int64_t b) {
      return action == "dense" ? layer.denseUsAt(model, b)
                               : layer.rankUsAt(model, rank, b);
    };
    auto f = [](double value) { return APFloat(value); };
    return DecisionAttr::get(
        ctx, action, rank, f(kept), f(layer.denseUs), f(afterUs),
        f(layer.denseUsAt(model, 1)), f(after(1)),
        f(layer.denseUsAt(model, 64)), f(after(64)), model.name,
        stringifyRankStrategy(strategy), stringifyErrorNorm(errorNorm),
        latencyBudget() ? "max_latency" : "max_error",
        f(latencyBudget() ? maxLatency : maxError), f(modelError),
        f(modelLatency));
  };
  int64_t fullRank = layer.isConv ? layer.coreRank : std::min(layer.n, layer.k);
  if (layer.chosen < 0) {
    ++numKeptDense;
    lathe::setDecision(op, decisionAttr(fullRank, 1.0, layer.denseUs, "dense"));
    InFlightDiagnostic remark = op->emitRemark()
                                << "lowrank-select-ranks: kept dense (";
    if (layer.candidates.empty())
      remark << "no rank that is a multiple of the granularity saves work";
    else
      remark << layer.candidates.size()
             << " candidate ranks; none both fits the error budget and "
                "lowers the predicted latency";
    remark << "), predicted " << llvm::formatv("{0:f2}", layer.denseUs)
           << " us";
    return;
  }
  const Candidate &cand = layer.candidates[layer.chosen];
  int64_t r = cand.rank;
  double kept = layer.energy > 0 ? 1.0 - cand.discarded / layer.energy : 1.0;
  kept = std::min(1.0, std::max(0.0, kept));
  Operation *last = layer.biasAdd ? layer.biasAdd.getOperation() : op;
  Value bias = layer.biasAdd ? layer.biasAdd.getDpsInputs()[1] : Value();
  OpBuilder b(last);
  Location loc = op->getLoc();
  Value input = cast<linalg::LinalgOp>(op).getDpsInputs()[0];
  Value weight = cast<linalg::LinalgOp>(op).getDpsInputs()[1];
  Type resultType = last->getResult(0).getType();
  Operation *replacement;
  if (!layer.isConv) {
    int64_t n = layer.n, k = layer.k, p = layer.svd.s.size();
    SmallVector<float> u(n * r), v(r * k);
    for (int64_t a = 0; a < r; ++a) {
      double scale = std::sqrt(layer.svd.s[a]);
      for (int64_t i = 0; i < n; ++i)
        u[i * r + a] = layer.svd.u[i * p + a] * scale;
      for (int64_t j = 0; j < k; ++j)
        v[a * k + j] = layer.svd.vt[a * k + j] * scale;
    }
    replacement = LinearOp::create(b, loc, resultType, input,
                                   f32Constant(b, loc, {n, r}, u),
                                   f32Constant(b, loc, {r, k}, v), bias);
  } else {
    int64_t cout = layer.n, cin = layer.k, big = layer.coreRank;
    int64_t win = layer.kh * layer.kw;
    SmallVector<float> uIn(r * cin), core(r * r * win), uOut(cout * r);
    for (int64_t bb = 0; bb < r; ++bb)
      for (int64_t i = 0; i < cin; ++i)
        uIn[bb * cin + i] = layer.uIn[i * big + bb];
    for (int64_t a = 0; a < r; ++a)
      for (int64_t bb = 0; bb < r; ++bb)
        for (int64_t q = 0; q < win; ++q)
          core[(a * r + bb) * win + q] = layer.core[(a * big + bb) * win + q];
    for (int64_t o = 0; o < cout; ++o)
      for (int64_t a = 0; a < r; ++a)
        uOut[o * r + a] = layer.uOut[o * big + a];
    auto conv = cast<linalg::Conv2DNchwFchwOp>(op);
    auto strides = llvm::to_vector(conv.getStrides().getValues<int64_t>());
    auto dilations = llvm::to_vector(conv.getDilations().getValues<int64_t>());
    replacement = Conv2DTuckerOp::create(
        b, loc, resultType, input, f32Constant(b, loc, {r, cin}, uIn),
        f32Constant(b, loc, {r, r, layer.kh, layer.kw}, core),
        f32Constant(b, loc, {cout, r}, uOut), bias,
        b.getDenseI64ArrayAttr(strides), b.getDenseI64ArrayAttr(dilations));
  }
  lathe::setDecision(replacement,
                     decisionAttr(r, kept, cand.latencyUs, "factorize"));
  ++numFactorized;
  // Name what the rank truncates and the energy dropped: a Tucker-2 rank of
  // min(Cin, Cout) still truncates the larger channel mode, so "rank r of r"
  // would read as lossless.
  InFlightDiagnostic remark = replacement->emitRemark();
  remark << "lowrank-select-ranks: rank " << r;
  if (layer.isConv)
    remark << " (Tucker-2: " << r << " of " << layer.k << " input channels, "
           << r << " of " << layer.n << " output channels)";
  else
    remark << " of " << fullRank;
  remark << ", energy kept " << llvm::formatv("{0:f4}", kept) << " ("
         << llvm::formatv("{0:f2}", 100.0 * (1.0 - kept))
         << " % of the weight's energy dropped), predicted latency "
         << llvm::formatv("{0:f2}", layer.denseUs) << " -> "
         << llvm::formatv("{0:f2}", cand.latencyUs) << " us on '" << model.name
         << "'";
  remark.report();
  last->getResult(0).replaceAllUsesWith(replacement->getResult(0));
  Operation *fill = cast<linalg::LinalgOp>(op).getDpsInits()[0].getDefiningOp();
  if (layer.biasAdd)
    layer.biasAdd.erase();
  op->erase();
  for (Operation *dead : {weight.getDefiningOp(), fill})
    if (dead && dead->use_empty())
      dead->erase();
}

LogicalResult SelectRanksPass::validateOptions(const LatencyModel &model) {
  // Diagnose at the module's location without printing the whole module.
  auto emitOptionError = [&]() {
    return mlir::emitError(getOperation().getLoc());
  };
  if (!(maxError >= 0.0 && maxError < 1.0))
    return emitOptionError() << ("lowrank-select-ranks: max-error must be in "
                                 "[0, 1), got ")
                             << static_cast<double>(maxError);
  // max-latency=0 is the default (no latency budget). An option counts as
  // given when it was parsed from the pass's option string (not hasValue():
  // a pass built from LowRankSelectRanksOptions marks every option as having
  // a value, which would reject max-error mode there).
  if (!(maxLatency >= 0.0 && maxLatency <= 1.0) ||
      (maxLatency.getNumOccurrences() > 0 && maxLatency == 0.0))
    return emitOptionError() << ("lowrank-select-ranks: max-latency must be "
                                 "in (0, 1] (a fraction of the dense "
                                 "layers' predicted latency), got ")
                             << static_cast<double>(maxLatency);
  if (latencyBudget() && maxError.getNumOccurrences() > 0)
    return emitOptionError()
           << "lowrank-select-ranks: give max-error or max-latency, not both "
              "(max-error bounds the error and minimises the latency, "
              "max-latency the other way round)";
  if (latencyBudget() && strategy != RankStrategy::Global)
    return emitOptionError()
           << "lowrank-select-ranks: max-latency needs strategy=global (the "
              "uniform and threshold baselines are driven by max-error)";
  if (!(minSaving >= 0.0 && minSaving < 1.0))
    return emitOptionError() << ("lowrank-select-ranks: min-saving must be in "
                                 "[0, 1), got ")
                             << static_cast<double>(minSaving);
  if (granularity == 0 || granularity < -1)
    return emitOptionError() << ("lowrank-select-ranks: granularity must be a "
                                 "positive rank multiple, got ")
                             << static_cast<int64_t>(granularity);
  if (batch < 0)
    return emitOptionError()
           << ("lowrank-select-ranks: batch must be >= 0, got ")
           << static_cast<int64_t>(batch);
  if (model.granularity <= 0)
    return emitOptionError() << ("lowrank-select-ranks: target '") << model.name
                             << "' has no valid granularity";
  return success();
}

void SelectRanksPass::runOnOperation() {
  FailureOr<LatencyModel> model = readLatencyModel(getOperation());
  if (failed(model))
    return signalPassFailure();
  if (failed(validateOptions(*model)))
    return signalPassFailure();
  int64_t g = granularity > 0 ? granularity : model->granularity;
  std::vector<Layer> layers;
  if (failed(collect(*model, g, layers)))
    return signalPassFailure();
  allocate(layers);
  double errorSum = 0, energy = 0, latency = 0, dense = 0;
  for (const Layer &layer : layers) {
    errorSum += layer.error();
    energy += layer.energy;
    latency += layer.latencyUs();
    dense += layer.denseUs;
  }
  double scale = errorNorm == ErrorNorm::Frobenius ? energy : 1.0;
  modelError = scale > 0 ? std::sqrt(errorSum / scale) : 0.0;
  modelLatency = dense > 0 ? latency / dense : 1.0;
  if (!layers.empty())
    mlir::emitRemark(getOperation().getLoc())
        << "lowrank-select-ranks: " << stringifyRankStrategy(strategy)
        << " allocation under "
        << (latencyBudget() ? "max-latency=" : "max-error=")
        << shortNumber(latencyBudget() ? maxLatency : maxError) << " ("
        << stringifyErrorNorm(errorNorm) << "): model error "
        << llvm::formatv("{0:f4}", modelError) << ", predicted latency "
        << llvm::formatv("{0:f4}", modelLatency) << " of dense ("
        << llvm::formatv("{0:f2}", dense) << " -> "
        << llvm::formatv("{0:f2}", latency) << " us) over " << layers.size()
        << " layers";
  for (Layer &layer : layers)
    rewrite(layer, *model);
}

StringRef mlir::lowrank::stringifyRankStrategy(RankStrategy strategy) {
  switch (strategy) {
  case RankStrategy::Global:
    return "global";
  case RankStrategy::Uniform:
    return "uniform";
  case RankStrategy::Threshold:
    return "threshold";
  }
  llvm_unreachable("unknown rank strategy");
}

StringRef mlir::lowrank::stringifyErrorNorm(ErrorNorm norm) {
  switch (norm) {
  case ErrorNorm::Frobenius:
    return "frobenius";
  case ErrorNorm::Relative:
    return "relative";
  case ErrorNorm::Spectral:
    return "spectral";
  }
  llvm_unreachable("unknown error norm");
}
