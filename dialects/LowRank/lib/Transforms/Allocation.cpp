//===- Allocation.cpp - Global rank allocation under one budget -----------===//
//
// Exact multiple-choice knapsack by Pareto frontiers; see Allocation.h.
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/LowRank/Allocation.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace mlir::lowrank;

namespace {
/// A partial choice over the first layers: its totals and how it was built.
struct Point {
  double latency, error;
  int prev;   ///< index in the previous stage's frontier
  int option; ///< this layer's option, -1: dense
};
} // namespace

AllocationResult
mlir::lowrank::allocateRanks(const std::vector<AllocationLayer> &layers,
                             BudgetKind kind, double budget,
                             std::size_t maxFrontier) {
  std::size_t n = layers.size();
  AllocationResult result;
  // The least latency the layers from i on can reach: a partial choice that
  // cannot meet a latency budget even with the fastest rest is dropped.
  std::vector<double> minRest(n + 1, 0.0);
  for (std::size_t i = n; i-- > 0;) {
    double fastest = layers[i].denseLatency;
    for (const AllocationOption &option : layers[i].options)
      fastest = std::min(fastest, option.latency);
    minRest[i] = minRest[i + 1] + fastest;
  }
  double limit;
  if (kind == BudgetKind::Error) {
    limit = budget * (1 + 1e-9);
  } else {
    limit = budget * (1 + 1e-6);
    if (minRest[0] > limit) {
      result.feasible = false;
      limit = minRest[0] * (1 + 1e-12);
    }
  }
  maxFrontier = std::max<std::size_t>(maxFrontier, 2);

  std::vector<std::vector<Point>> stages;
  stages.reserve(n + 1);
  stages.push_back({{0.0, 0.0, -1, -1}});
  for (std::size_t i = 0; i < n; ++i) {
    const AllocationLayer &layer = layers[i];
    const std::vector<Point> &prev = stages.back();
    std::vector<Point> next;
    next.reserve(prev.size() * (layer.options.size() + 1));
    for (std::size_t p = 0; p < prev.size(); ++p) {
      for (int o = -1; o < static_cast<int>(layer.options.size()); ++o) {
        double latency = prev[p].latency + (o < 0 ? layer.denseLatency
                                                  : layer.options[o].latency);
        double error = prev[p].error + (o < 0 ? 0.0 : layer.options[o].error);
        if (kind == BudgetKind::Error ? error > limit
                                      : latency + minRest[i + 1] > limit)
          continue;
        next.push_back({latency, error, static_cast<int>(p), o});
      }
    }
    // The Pareto frontier: by increasing latency, strictly decreasing error.
    std::sort(next.begin(), next.end(), [](const Point &a, const Point &b) {
      return a.latency < b.latency ||
             (a.latency == b.latency && a.error < b.error);
    });
    std::vector<Point> front;
    double best = std::numeric_limits<double>::infinity();
    for (const Point &point : next)
      if (point.error < best) {
        front.push_back(point);
        best = point.error;
      }
    if (front.size() > maxFrontier) {
      // Keep the fastest point and, in each of maxFrontier equal slices of
      // the latency range, the most accurate (last) point.
      result.thinned = true;
      double lo = front.front().latency, hi = front.back().latency;
      double step = (hi - lo) / static_cast<double>(maxFrontier);
      std::vector<Point> thin{front.front()};
      for (std::size_t j = 1; j < front.size(); ++j) {
        bool lastInSlice = j + 1 == front.size() ||
                           std::floor((front[j + 1].latency - lo) / step) !=
                               std::floor((front[j].latency - lo) / step);
        if (lastInSlice)
          thin.push_back(front[j]);
      }
      front = std::move(thin);
    }
    stages.push_back(std::move(front));
  }

  // Every stage is non-empty: the all-dense choice meets any error budget,
  // and the fastest choice meets the (possibly raised) latency limit.
  const std::vector<Point> &last = stages.back();
  int at = kind == BudgetKind::Error ? 0 : static_cast<int>(last.size()) - 1;
  result.latency = last[at].latency;
  result.error = last[at].error;
  result.choice.assign(n, -1);
  for (std::size_t i = n; i-- > 0;) {
    const Point &point = stages[i + 1][at];
    result.choice[i] = point.option;
    at = point.prev;
  }
  return result;
}
