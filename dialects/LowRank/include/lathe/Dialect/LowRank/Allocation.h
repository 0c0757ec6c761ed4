//===- Allocation.h - Global rank allocation under one budget ---*- C++ -*-===//
//
// The search behind lowrank-select-ranks' `strategy=global`: every layer has
// a dense option (its dense latency, no error) and candidate options (a
// predicted latency, an additive error); pick one option per layer so that
//   * under an error budget: the total latency is minimal among the choices
//     whose total error is within the budget (ties: the smaller error);
//   * under a latency budget: the total error is minimal among the choices
//     whose total latency is within the budget (ties: the smaller latency).
// Both are a multiple-choice knapsack. It is solved exactly by merging the
// layers' options into the Pareto frontier of (total latency, total error)
// one layer at a time, dropping dominated and infeasible partial choices.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_DIALECT_LOWRANK_ALLOCATION_H
#define LATHE_DIALECT_LOWRANK_ALLOCATION_H

#include <cstddef>
#include <vector>

namespace mlir::lowrank {

struct AllocationOption {
  double latency; ///< predicted latency of the layer with this option
  double error;   ///< error it adds (>= 0; additive over layers)
};

struct AllocationLayer {
  double denseLatency = 0;               ///< option -1: dense, error 0
  std::vector<AllocationOption> options; ///< the candidates
};

enum class BudgetKind { Error, Latency };

struct AllocationResult {
  /// Per layer: an index into its options, or -1 for dense.
  std::vector<int> choice;
  double latency = 0, error = 0;
  /// False when no choice meets a latency budget: `choice` is then the
  /// fastest choice (and, among the fastest, the most accurate).
  bool feasible = true;
  /// True when the frontier had to be thinned (more than `maxFrontier`
  /// points): the result meets the budget but may miss the optimum by up to
  /// one thinning step.
  bool thinned = false;
};

/// Solves the allocation. Budgets are inclusive, with a relative tolerance
/// of 1e-9 (error) and 1e-6 (latency, e.g. a fraction printed in a pipeline
/// string). Exact while the frontier stays within `maxFrontier` points;
/// beyond that it keeps one point per 1/maxFrontier of the latency range.
AllocationResult allocateRanks(const std::vector<AllocationLayer> &layers,
                               BudgetKind kind, double budget,
                               std::size_t maxFrontier = 1 << 14);

} // namespace mlir::lowrank

#endif // LATHE_DIALECT_LOWRANK_ALLOCATION_H
