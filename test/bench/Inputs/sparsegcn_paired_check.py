"""Checks bench/sparsegcn_lib/paired.py (the benchmark's paired comparison of the hybrid with
the single engines) against computations written here independently: medians with the
statistics module, the bootstrap distribution enumerated exactly over every resample of a few
rounds, and verdicts on samples whose answer is known.

usage: sparsegcn_paired_check.py LIB_DIR    (prints one line per check, then "all passed")
"""
import itertools
import statistics
import sys

import numpy as np

sys.path.insert(0, sys.argv[1])
import paired  # noqa: E402


def check(cond, what):
    if not cond:
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what}")


rng = np.random.default_rng(123)
rounds = 30
load = np.exp(0.2 * rng.standard_normal(rounds))  # what a round's machine state does to all
hybrid = 1e-4 * load * np.exp(0.03 * rng.standard_normal(rounds))

# One engine timed against itself (identical per-round times): every resample gives 1.
c = paired.compare(hybrid, hybrid)
check(c["ratio"] == 1.0 and c["low"] == 1.0 and c["high"] == 1.0 and c["verdict"] == "same",
      f"identical samples: ratio 1, interval [1, 1], same ({c})")

# The same kernel timed twice (independent noise, shared load): same.
again = 1e-4 * load * np.exp(0.03 * rng.standard_normal(rounds))
c = paired.compare(again, hybrid, level=paired.simultaneous_level(0.95, 15))
check(c["verdict"] == "same" and c["low"] < 1.0 < c["high"],
      f"two timings of one kernel: same ({c})")

# A single engine 25 % faster than the hybrid in every round: the hybrid is slower.
faster_single = hybrid / 1.25 * np.exp(0.03 * rng.standard_normal(rounds))
c = paired.compare(faster_single, hybrid)
check(c["verdict"] == "slower" and c["high"] < 1.0, f"hybrid 1.25x slower: slower ({c})")
c = paired.compare(hybrid, faster_single)
check(c["verdict"] == "faster" and c["low"] > 1.0, f"hybrid 1.25x faster: faster ({c})")

# The point estimate: min over engines of median(single) / median(hybrid), with the statistics
# module's medians.
slow_single = 3 * hybrid
want = min(statistics.median(faster_single.tolist()),
           statistics.median(slow_single.tolist())) / statistics.median(hybrid.tolist())
got = paired.ratio_of_medians(np.vstack([slow_single, faster_single]), hybrid)
check(abs(got - want) <= 1e-12 * want, f"ratio of medians {got} == {want}")
# The best of two engines is never better for the hybrid than either engine alone.
both = paired.compare(np.vstack([slow_single, faster_single]), hybrid)
alone = paired.compare(faster_single, hybrid)
check(both["high"] <= alone["high"] + 1e-12, "best of two engines: interval not above one's")

# The interval against the exact bootstrap distribution: with 6 rounds there are 6^6 = 46656
# equally likely paired resamples (one set of rounds for every method); enumerate them all.
# The rounds share a load factor, so a resampling that broke the pairing would give a much
# wider distribution. The Monte Carlo distribution must match the exact one (Kolmogorov
# distance), and a quantile q for probability p must satisfy P(stat < q) <= p <= P(stat <= q),
# up to the Monte Carlo error.
n = 6
state = [1.0, 1.6, 0.8, 1.3, 2.0, 0.9]
h = [x * e for x, e in zip(state, [1.00, 1.04, 0.97, 1.02, 0.99, 1.03])]
s1 = [x * e for x, e in zip(state, [1.02, 0.98, 1.05, 1.01, 1.04, 0.96])]
s2 = [x * e for x, e in zip(state, [1.10, 1.03, 0.99, 1.12, 1.06, 1.08])]
exact = np.sort([min(statistics.median([s1[i] for i in idx]),
                     statistics.median([s2[i] for i in idx]))
                 / statistics.median([h[i] for i in idx])
                 for idx in itertools.product(range(n), repeat=n)])
mc = np.sort(paired.bootstrap_ratios(np.array([s1, s2]), np.array(h), 100000, seed=7))
grid = np.unique(exact)
ks = np.max(np.abs(np.searchsorted(exact, grid, "right") / exact.size
                   - np.searchsorted(mc, grid, "right") / mc.size))
check(ks < 0.01, f"bootstrap distribution: Kolmogorov distance {ks:.4f} from the exact one")
for level in (0.5, 0.9):
    c = paired.compare(np.array([s1, s2]), np.array(h), level=level, n_boot=100000, seed=7)
    for q, p in ((c["low"], (1 - level) / 2), (c["high"], (1 + level) / 2)):
        below = np.mean(exact < q - 1e-12)
        at_or_below = np.mean(exact <= q + 1e-12)
        check(below <= p + 0.005 and at_or_below >= p - 0.005,
              f"level {level}: {q:.4f} is the exact bootstrap's {p:.3f} quantile "
              f"(P(<) {below:.4f}, P(<=) {at_or_below:.4f})")

# Seeded: the same timings give the same interval.
check(paired.compare(again, hybrid) == paired.compare(again, hybrid), "deterministic")

# Under no difference, a 95 % interval calls "slower" or "faster" rarely: 300 simulated
# benchmark rows of one kernel timed twice (per-round load shared, per-call noise, 5 % of
# calls with a long tail).
wrong = 0
sim = np.random.default_rng(99)
for i in range(300):
    state = np.exp(0.1 * sim.standard_normal(20))

    def draw():
        x = state * np.exp(0.03 * sim.standard_normal(20))
        tail = sim.random(20) < 0.05
        x[tail] *= 1 + sim.exponential(0.5, tail.sum())
        return x
    wrong += paired.compare(draw(), draw(), level=0.95, n_boot=1000, seed=i)["verdict"] != "same"
check(wrong <= 0.05 * 300, f"no difference: {wrong} of 300 rows not 'same' at 95 %")

check(abs(paired.simultaneous_level(0.95, 15) - (1 - 0.05 / 15)) < 1e-15,
      "Bonferroni: 15 rows at 95 % together, each at 1 - 0.05 / 15")

for bad, args in [("shape", (np.ones((2, 4)), np.ones(5))), ("rounds", (np.ones(2), np.ones(2))),
                  ("positive", (np.ones(4), np.array([1.0, 0.0, 1.0, 1.0])))]:
    try:
        paired.compare(*args)
    except ValueError as e:
        check(bad in str(e), f"bad input ({bad}): {e}")
    else:
        sys.exit(f"FAILED: bad input ({bad}) accepted")
print("all passed")
