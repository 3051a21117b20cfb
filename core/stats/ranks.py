"""The exact two-sided Wilcoxon signed-rank test (zeros dropped, ties midranked) and wins / ties / losses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import stats

from core.stats.intervals import as_seeds

ALPHA = 0.05  # significance level of the signed-rank test


@dataclass(frozen=True)
class WilcoxonResult:
    p_value: Optional[float]  # exact two-sided p; None when every difference is zero (reason says why)
    n_nonzero: int  # pairs left after dropping exact ties (zero differences)
    reason: str  # empty when p_value can reach 0.05; else a plain explanation
    r_plus: float = 0.0  # sum of the (mid)ranks of |d| over the seeds where B on A wins
    r_minus: float = 0.0  # the same over the seeds where it loses

    @property
    def direction(self) -> int:
        """+1 when the ranks favour B on A (R+ > R-), -1 when they favour B from scratch, 0 when even."""
        return int(np.sign(self.r_plus - self.r_minus))

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < ALPHA


# ---- the signed-rank test, exact with zeros and ties ----

def signed_rank_null(doubled_ranks) -> np.ndarray:
    """Null distribution of 2 * R+ when each pair's sign is + or - with probability 1/2, independently.

    `doubled_ranks`: (n,) positive integers, twice the (mid)ranks of |d| (midranks of ties are
    half-integers, so doubling makes them whole). Returns (sum + 1,) probabilities of 2 R+ = 0..sum,
    built one pair at a time (each pair adds its doubled rank or nothing)."""
    ranks = np.asarray(doubled_ranks)
    if ranks.ndim != 1 or np.any(ranks < 1) or np.any(ranks != np.round(ranks)):
        raise ValueError("Doubled ranks must be positive whole numbers, one per non-zero pair.")
    total = int(ranks.sum())
    probability = np.zeros(total + 1)
    probability[0] = 1.0
    for rank in ranks.astype(int):
        shifted = np.zeros_like(probability)
        shifted[rank:] = probability[:total + 1 - rank]
        probability = 0.5 * (probability + shifted)
    return probability


# A rank test that makes no normality assumption, as a second opinion next to the mean's interval.
def wilcoxon_test(differences) -> WilcoxonResult:
    """Two-sided Wilcoxon signed-rank test on `differences` (n_seeds,), with its exact p-value.

    Exact zeros are dropped (Wilcoxon's method); the other |d| get midranks when tied. The p-value
    is exact conditional on those ranks: the share of the 2^n sign patterns of the n non-zero pairs
    whose R+ is at least as far from its null mean n(n+1)/4 as the observed one (`signed_rank_null`).
    (SciPy 1.17 switches to a normal approximation with zeros or ties, which can print p = 0.043
    for 5 positive pairs among 15, below the exact minimum 0.0625.) The test's direction is the
    sign of R+ - R- (`WilcoxonResult.direction`).

    Returns p_value None when every difference is zero, and explains when n is too small for any
    p-value to reach 0.05: with n non-zero pairs the smallest two-sided p is 2 / 2**n (all signs
    alike), so 5 or fewer differing seeds can never reach it."""
    d = as_seeds(differences, "differences", minimum=1)
    nonzero = d[d != 0]
    n_nonzero = len(nonzero)
    if n_nonzero == 0:
        return WilcoxonResult(None, 0, "every seed gives exactly the same accuracy in both arms: nothing to test")
    doubled = np.rint(2 * stats.rankdata(np.abs(nonzero))).astype(int)
    observed = int(doubled[nonzero > 0].sum())
    total = int(doubled.sum())  # = n(n+1), so the null mean of 2 R+ is the whole number n(n+1)/2
    null = signed_rank_null(doubled)
    distance = np.abs(2 * np.arange(total + 1) - total)
    p_value = min(1.0, float(null[distance >= abs(2 * observed - total)].sum()))
    smallest_p = 2.0 / 2**n_nonzero
    reason = ""
    if smallest_p > ALPHA:
        reason = (
            f"only {n_nonzero} seeds differ, so even a perfect sweep gives p >= {smallest_p:.3g}: "
            "too few seeds for this test to detect anything"
        )
    return WilcoxonResult(p_value, n_nonzero, reason, observed / 2, (total - observed) / 2)


# Counts people can check by eye on the paired plot.
def wins_ties_losses(differences) -> tuple[int, int, int]:
    """(wins, ties, losses) of B on A over B from scratch; `differences` (n_seeds,)."""
    d = as_seeds(differences, "differences", minimum=1)
    return int(np.sum(d > 0)), int(np.sum(d == 0)), int(np.sum(d < 0))
