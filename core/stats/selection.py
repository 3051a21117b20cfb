"""Choosing among several arms or tries: Holm's adjustment of their p-values, and the best of k tries."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from core import book
from core.stats.intervals import as_seeds

BOOK_GAIN_POINTS = book.GAIN_POINTS  # the book's single run: 97.20% -> 99.25% test accuracy, +2.05 points
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)  # reported quantiles of the best-of-k gain


@dataclass(frozen=True)
class BestOfK:
    """The best gain one would report after trying k configurations and keeping the best.

    Model: each configuration tried is one more seed, drawn with replacement from the N observed
    paired differences (the empirical distribution F). The best of k draws then has the exact
    distribution P(max <= x) = F(x)^k, so no simulation is needed; a gain never observed among the
    N seeds can never show up (the model is limited by what was measured).
    """

    ks: np.ndarray  # (n_seeds,) k = 1..N
    quantile_levels: tuple  # (n_q,) e.g. 0.05 ... 0.95
    quantiles: np.ndarray  # (n_seeds, n_q) quantiles of the best gain after k tries, in points
    target: float  # the gain asked about, in points (default: the book's +2.05)
    prob_reaching_target: np.ndarray  # (n_seeds,) P(best of k >= target) for each k
    k_for_target: Optional[int]  # smallest k with that probability >= 50%; None if never


# How much "gain" seed shopping alone produces: the book's author tried many runs and kept the best.
def best_of_k(differences, target: float = BOOK_GAIN_POINTS, levels: tuple = QUANTILES) -> BestOfK:
    """Distribution of the best of k paired differences, k = 1..N, drawn with replacement from the
    N observed `differences` (n_seeds,); exact formula P(max <= x) = F(x)^k (see BestOfK).

    Its q-quantile is the smallest observed d with F(d)^k >= q, i.e. the sorted value at index
    ceil(N * q**(1/k)) - 1. P(best >= target) = 1 - F(target-)^k, where F(target-) is the fraction
    of seeds below the target; the smallest k making that >= 1/2 is ceil(log(1/2) / log F(target-))."""
    d = np.sort(as_seeds(differences, "differences", minimum=1))
    n = len(d)
    ks = np.arange(1, n + 1)
    levels = tuple(float(q) for q in levels)
    if not all(0 < q <= 1 for q in levels):
        raise ValueError("Quantile levels must be between 0 (excluded) and 1.")
    quantiles = np.empty((n, len(levels)))
    for row, k in enumerate(ks):
        for col, q in enumerate(levels):
            index = math.ceil(n * q ** (1.0 / k) - 1e-9) - 1
            quantiles[row, col] = d[min(max(index, 0), n - 1)]
    below = float(np.mean(d < target))
    prob = 1.0 - below**ks
    if below == 0.0:
        k_for_target = 1
    elif below == 1.0:
        k_for_target = None
    else:
        k_for_target = max(1, math.ceil(math.log(0.5) / math.log(below) - 1e-12))
    return BestOfK(ks, levels, quantiles, float(target), prob, k_for_target)


def holm_adjusted(p_values) -> np.ndarray:
    """Holm's step-down adjustment of (m,) p-values for picking among m comparisons: adjusted p_(i) =
    max over j <= i of min(1, (m - j + 1) p_(j)), in the input order; NaN (no test) stays NaN and is not counted."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    tested = np.flatnonzero(np.isfinite(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    m, running = len(order), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted
