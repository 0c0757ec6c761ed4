//===- AllocationTest.cpp - global rank allocation ------------------------===//
//
// allocateRanks against brute-force enumeration on random problems, and the
// thinned frontier (still within budget) and infeasible latency budgets.
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/LowRank/Allocation.h"

#include <gtest/gtest.h>

#include <random>

using namespace mlir::lowrank;

namespace {

std::vector<AllocationLayer> randomProblem(std::mt19937 &rng, int layers,
                                           int options) {
  std::uniform_real_distribution<double> lat(1.0, 10.0), err(0.0, 1.0);
  std::vector<AllocationLayer> problem(layers);
  for (AllocationLayer &layer : problem) {
    layer.denseLatency = 10.0 + lat(rng);
    for (int o = 0; o < options; ++o)
      layer.options.push_back({lat(rng), err(rng)});
  }
  return problem;
}

/// Every choice's (latency, error), by brute force.
void enumerate(const std::vector<AllocationLayer> &problem, size_t i,
               double lat, double err,
               std::vector<std::pair<double, double>> &out) {
  if (i == problem.size()) {
    out.push_back({lat, err});
    return;
  }
  enumerate(problem, i + 1, lat + problem[i].denseLatency, err, out);
  for (const AllocationOption &o : problem[i].options)
    enumerate(problem, i + 1, lat + o.latency, err + o.error, out);
}

void checkChoice(const std::vector<AllocationLayer> &problem,
                 const AllocationResult &result) {
  double lat = 0, err = 0;
  for (size_t i = 0; i < problem.size(); ++i) {
    int c = result.choice[i];
    lat += c < 0 ? problem[i].denseLatency : problem[i].options[c].latency;
    err += c < 0 ? 0.0 : problem[i].options[c].error;
  }
  EXPECT_NEAR(lat, result.latency, 1e-9);
  EXPECT_NEAR(err, result.error, 1e-9);
}

TEST(Allocation, ExactAgainstBruteForce) {
  std::mt19937 rng(42);
  for (int trial = 0; trial < 40; ++trial) {
    auto problem = randomProblem(rng, 4, 4);
    std::vector<std::pair<double, double>> all;
    enumerate(problem, 0, 0, 0, all);
    double dense = 0;
    for (const AllocationLayer &l : problem)
      dense += l.denseLatency;
    double fastest = 1e300;
    for (auto [lat, err] : all)
      fastest = std::min(fastest, lat);
    for (double f : {0.35, 0.5, 0.65, 0.8, 1.0}) {
      double budget = f * dense;
      if (budget < fastest)
        continue;
      AllocationResult r = allocateRanks(problem, BudgetKind::Latency, budget);
      checkChoice(problem, r);
      double best = 1e300;
      for (auto [lat, err] : all)
        if (lat <= budget)
          best = std::min(best, err);
      EXPECT_TRUE(r.feasible);
      EXPECT_FALSE(r.thinned);
      EXPECT_LE(r.latency, budget * (1 + 1e-6));
      EXPECT_NEAR(r.error, best, 1e-12);
    }
    for (double e : {0.0, 0.3, 0.8, 1.5, 2.5}) {
      AllocationResult r = allocateRanks(problem, BudgetKind::Error, e);
      checkChoice(problem, r);
      double best = 1e300;
      for (auto [lat, err] : all)
        if (err <= e)
          best = std::min(best, lat);
      EXPECT_LE(r.error, e * (1 + 1e-9));
      EXPECT_NEAR(r.latency, best, 1e-12);
    }
  }
}

TEST(Allocation, ThinnedFrontierStillMeetsTheBudget) {
  std::mt19937 rng(7);
  auto problem = randomProblem(rng, 12, 6);
  double dense = 0;
  for (const AllocationLayer &l : problem)
    dense += l.denseLatency;
  AllocationResult exact =
      allocateRanks(problem, BudgetKind::Latency, 0.5 * dense);
  AllocationResult thin =
      allocateRanks(problem, BudgetKind::Latency, 0.5 * dense, 16);
  EXPECT_FALSE(exact.thinned);
  EXPECT_TRUE(thin.thinned);
  checkChoice(problem, thin);
  EXPECT_LE(thin.latency, 0.5 * dense * (1 + 1e-6));
  EXPECT_GE(thin.error, exact.error - 1e-12);
}

TEST(Allocation, UnreachableLatencyBudgetTakesTheFastestChoice) {
  std::vector<AllocationLayer> problem(2);
  problem[0].denseLatency = 10;
  problem[0].options = {{4, 1.0}, {4, 0.5}, {6, 0.1}};
  problem[1].denseLatency = 10;
  problem[1].options = {{3, 2.0}};
  AllocationResult r = allocateRanks(problem, BudgetKind::Latency, 1.0);
  EXPECT_FALSE(r.feasible);
  EXPECT_EQ(r.choice, (std::vector<int>{1, 0})); // 4 + 3, the lower error
  EXPECT_DOUBLE_EQ(r.latency, 7.0);
  EXPECT_DOUBLE_EQ(r.error, 2.5);
}

} // namespace
