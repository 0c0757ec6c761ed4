"""Paired comparison of per-round timings (bench/sparsegcn: the hybrid against single engines).

A benchmark round runs every method once after the other (interleaved), so the methods' times of
one round share that round's machine state (load, frequency, cache traffic of other jobs). This
module compares them round by round:

  ratio of medians   median(t_single) / median(t_hybrid) over the rounds (> 1: the hybrid is
                     faster). With several single engines, the best (smallest median) of them:
                     min_j median(t_j) / median(t_hybrid).
  confidence         a paired percentile bootstrap: resample the rounds with replacement (the
  interval           same rounds for every method, which keeps the pairing), recompute the ratio
                     of medians, take the (1 - level) / 2 and (1 + level) / 2 quantiles. Seeded,
                     so the same timings always give the same interval.
  verdict            "faster" when the interval lies entirely above 1, "slower" when entirely
                     below 1, else "same" (the timings cannot tell the two apart).

numpy only; no state.
"""
import numpy as np

FASTER, SAME, SLOWER = "faster", "same", "slower"
MIN_ROUNDS = 3


def _as_rounds(singles, hybrid):
    singles = np.atleast_2d(np.asarray(singles, dtype=np.float64))
    hybrid = np.asarray(hybrid, dtype=np.float64)
    if hybrid.ndim != 1 or singles.shape[1] != hybrid.shape[0]:
        raise ValueError(f"per-round times disagree in shape: singles {singles.shape}, "
                         f"hybrid {hybrid.shape} (expected (engines, rounds) and (rounds,))")
    if hybrid.shape[0] < MIN_ROUNDS:
        raise ValueError(f"{hybrid.shape[0]} rounds: a paired interval needs at least "
                         f"{MIN_ROUNDS}")
    if not (np.all(np.isfinite(singles)) and np.all(np.isfinite(hybrid))
            and np.all(singles > 0) and np.all(hybrid > 0)):
        raise ValueError("per-round times must be finite and positive")
    return singles, hybrid


def ratio_of_medians(singles, hybrid):
    """min over the single engines of median(t_single) / median(t_hybrid)."""
    singles, hybrid = _as_rounds(singles, hybrid)
    return float(np.median(singles, axis=1).min() / np.median(hybrid))


def bootstrap_ratios(singles, hybrid, n_boot, seed=0):
    """The ratio of medians on `n_boot` paired resamples of the rounds (one index set per
    resample, shared by every method)."""
    singles, hybrid = _as_rounds(singles, hybrid)
    rounds = hybrid.shape[0]
    idx = np.random.default_rng(seed).integers(0, rounds, size=(n_boot, rounds))
    best = np.median(singles[:, idx], axis=2).min(axis=0)
    return best / np.median(hybrid[idx], axis=1)


def verdict(low, high):
    if low > 1.0:
        return FASTER
    if high < 1.0:
        return SLOWER
    return SAME


def compare(singles, hybrid, level=0.95, n_boot=20000, seed=0):
    """dict(ratio, low, high, verdict, rounds): the hybrid against the best of `singles`
    ((engines, rounds) or (rounds,) seconds) from per-round times `hybrid` ((rounds,)), with a
    `level` two-sided paired bootstrap interval."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level {level} is not in (0, 1)")
    ratios = bootstrap_ratios(singles, hybrid, n_boot, seed)
    low, high = np.quantile(ratios, [(1.0 - level) / 2, (1.0 + level) / 2])
    return {"ratio": ratio_of_medians(singles, hybrid), "low": float(low), "high": float(high),
            "verdict": verdict(low, high), "rounds": int(np.asarray(hybrid).shape[0])}


def simultaneous_level(level, comparisons):
    """The per-comparison level that makes `comparisons` intervals hold together with
    probability at least `level` (Bonferroni): 1 - (1 - level) / comparisons."""
    if comparisons < 1:
        raise ValueError(f"{comparisons} comparisons")
    return 1.0 - (1.0 - level) / comparisons
