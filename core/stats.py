"""Paired comparisons of two training recipes run on the same seeds (B from scratch vs B on A).

A single run says little: the book's "97.2% -> 99.25%" is one seed, picked after trying many.
Here every comparison is paired by seed and reported as an interval, not a point.

Shapes: per-seed arrays are `(n_seeds,)`, index i of `scratch_acc` and `transfer_acc` being the same
seed. Accuracies are fractions in [0, 1] (what Keras returns); differences are reported in
percentage points (`100 * (transfer - scratch)`), the unit of the book's "+2.05 points".

Naming: `x(values)` is the point value of a statistic, vectorised over the last axis
(`values: (..., n_seeds)` -> `(...)`); `x_estimate(values)` is the same value for one comparison
(`(n_seeds,)`) with its interval, as an `Estimate`. The `*_interval` functions hold the interval
formulas, vectorised the same way, so a simulation can check their coverage on thousands of data
sets at once (tests/test_stats.py, bench/stats_coverage.py).

Every interval here is analytic (t, Yuen, Clopper-Pearson, Fieller) and every test exact, so no
statistic resamples and none takes a random state: the same inputs always give the same numbers.
The bootstrap (BCa) intervals used before covered about 73% at 3 seeds and 83% at 5 instead of 95%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import stats

from core import book

CONFIDENCE = 0.95
ALPHA = 0.05  # significance level of the signed-rank test
BOOK_GAIN_POINTS = book.GAIN_POINTS  # the book's single run: 97.20% -> 99.25% test accuracy, +2.05 points
BOOK_N_TEST = book.N_TEST  # every Fashion-MNIST class has 1,000 test images, so a two-class task B has 2,000
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)  # reported quantiles of the best-of-k gain
MIN_GOOD_COVERAGE = 0.93  # below this measured coverage, a "95%" interval gets a caveat

# Measured coverage of the 95% intervals when the seeds' differences are skewed: exponential
# differences (skewness 2), 200,000 simulated data sets per size (40,000 at 100 and 200 seeds;
# `python -m bench.stats_coverage`, which tests/test_stats.py re-measures with fewer data sets).
# For normal differences both hold 95% at every size (t: 0.949 to 0.952; Yuen: 0.937 to 0.950).
# Lognormal(0, 1) differences (skewness 6) cover less: t 0.84 / 0.82 / 0.84 / 0.87 / 0.90 at
# 3 / 5 / 10 / 20 / 50 seeds, Yuen 0.93 / 0.92 / 0.93 / 0.93 / 0.94.
SKEWED_COVERAGE = {
    "mean": {3: 0.884, 5: 0.884, 10: 0.902, 20: 0.920, 50: 0.935, 100: 0.942, 200: 0.946},
    "interquartile mean": {3: 0.929, 5: 0.919, 10: 0.929, 20: 0.933, 50: 0.944, 100: 0.944, 200: 0.948},
}
# The t-interval's coverage when about 1 seed in 8 loses some 15 points (N(-15, 2)) while the others
# gain half a point (N(0.5, 0.15)), the shape of issue 11's example: small samples often hold no
# large loss at all, so the interval sits around +0.5 while the true mean is -1.5.
RARE_LOSSES_COVERAGE = {3: 0.341, 5: 0.499, 10: 0.751, 20: 0.916, 50: 0.923, 100: 0.938, 200: 0.945}


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval (`high` may be inf: unbounded)."""

    value: float
    low: float
    high: float
    confidence: float = CONFIDENCE
    method: str = ""  # how the interval was computed ("t-interval", "Yuen", ...), for captions and lines

    def excludes(self, reference: float) -> bool:
        return self.low > reference or self.high < reference

    @property
    def bounded(self) -> bool:
        return bool(np.isfinite(self.low) and np.isfinite(self.high))


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


@dataclass(frozen=True)
class Verdict:
    """What the comparison supports, as a kind (for the page's box colour) and one or two sentences."""

    kind: str  # "reliable", "tentative", "mixed" (the mean and the ranks disagree) or "none"
    direction: int  # +1 gain for B on A, -1 loss, 0 neither (mixed or none)
    text: str


@dataclass(frozen=True)
class PairedSummary:
    """Everything the page and the command line show about one paired multi-seed comparison."""

    n_seeds: int
    scratch_acc: np.ndarray  # (n_seeds,) B from scratch, test accuracy in [0, 1]
    transfer_acc: np.ndarray  # (n_seeds,) B on A, same seeds
    differences: np.ndarray  # (n_seeds,) transfer - scratch, in percentage points
    mean_difference: Estimate  # points, t-interval
    median_difference: float  # points: the typical seed
    interquartile_mean: Estimate  # interquartile mean of the differences, points, Yuen interval
    win_share: Estimate  # share of seeds where B on A wins (ties count as not winning), Clopper-Pearson
    wilcoxon: WilcoxonResult
    wins: int  # seeds where B on A is strictly better
    ties: int
    losses: int
    error_ratio: Estimate  # scratch errors / transfer errors (the book's "factor of 4"), Fieller
    error_ratio_per_seed: np.ndarray  # (n_seeds,) the same ratio seed by seed, add-half smoothed
    best_of_k: BestOfK
    verdict: Verdict
    coverage_caveat: str  # when the intervals may cover less than 95% at this many seeds; else ""


# One place for input checks, so every statistic rejects bad arrays with the same sentence.
def _as_seeds(values, name: str, minimum: int = 2) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one value per seed, shape (n_seeds,); got shape {array.shape}.")
    if len(array) < minimum:
        raise ValueError(f"{name} needs at least {minimum} seeds to say anything; got {len(array)}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return array


# Interval functions take any (..., n_seeds) array; they check only what would make them meaningless.
def _as_samples(values, name: str, minimum: int = 2) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim == 0 or array.shape[-1] < minimum:
        raise ValueError(f"{name} needs at least {minimum} seeds along its last axis; got shape {array.shape}.")
    return array


def _check_confidence(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"The confidence level must be between 0 and 1 (e.g. 0.95), got {confidence}.")
    return float(confidence)


# Paired inputs must line up seed by seed; a length mismatch means the pairing is broken.
def _paired(scratch_acc, transfer_acc) -> tuple[np.ndarray, np.ndarray]:
    scratch = _as_seeds(scratch_acc, "scratch_acc")
    transfer = _as_seeds(transfer_acc, "transfer_acc")
    if scratch.shape != transfer.shape:
        raise ValueError(
            f"The two arms must hold the same seeds: {len(scratch)} scratch vs {len(transfer)} transfer results."
        )
    for name, array in (("scratch_acc", scratch), ("transfer_acc", transfer)):
        if array.min() < 0 or array.max() > 1:
            raise ValueError(f"{name} must be accuracies between 0 and 1 (not percentages).")
    return scratch, transfer


# The one definition of a seed's gain, shared by the full summary and the class-pair heatmap.
def paired_differences(scratch_acc, transfer_acc) -> np.ndarray:
    """B on A minus B from scratch in points, per seed (n_seeds,), rounded so 99.25 - 97.20 is 2.05."""
    scratch, transfer = _paired(scratch_acc, transfer_acc)
    return np.round(100.0 * (transfer - scratch), 9)


# ---- interval formulas, vectorised over the last axis ----

def t_interval(values, confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """Student-t interval of the mean: mean +- t(n-1) * sd / sqrt(n); `values` (..., n) -> (low, high) (...).

    Exact for normal data at every n (so also at 3 seeds); for skewed data it covers less, see
    SKEWED_COVERAGE. Identical values give the point interval [v, v]."""
    x = _as_samples(values, "values")
    n = x.shape[-1]
    half = stats.t.ppf(0.5 + _check_confidence(confidence) / 2, n - 1) * x.std(axis=-1, ddof=1) / math.sqrt(n)
    mean = x.mean(axis=-1)
    return mean - half, mean + half


def _trim_count(n: int) -> int:
    return int(0.25 * n)  # what scipy.stats.trim_mean(values, 0.25) cuts from each end


def yuen_interval(values, confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """Yuen's interval of the 25%-trimmed (interquartile) mean; `values` (..., n) -> (low, high) (...).

    With g = floor(n / 4) values cut from each end and h = n - 2g kept: trimmed mean +- t(h - 1) * se,
    se^2 = (n - 1) * s_w^2 / (h * (h - 1)), s_w^2 the variance of the winsorized values (the g
    smallest set to the next one up, the g largest to the next one down). With fewer than 4 seeds
    nothing is cut and this is the t-interval. Coverage: 0.936 to 0.95 for normal data at 3 to 20
    seeds; for skewed data see SKEWED_COVERAGE."""
    x = np.sort(_as_samples(values, "values"), axis=-1)
    n = x.shape[-1]
    g = _trim_count(n)
    h = n - 2 * g
    if h < 2:
        raise ValueError(f"The interquartile mean's interval needs at least 2 values after trimming; n = {n}.")
    winsorized = np.concatenate(
        [np.repeat(x[..., g:g + 1], g, axis=-1), x[..., g:n - g], np.repeat(x[..., n - g - 1:n - g], g, axis=-1)],
        axis=-1)
    se = np.sqrt((n - 1) * winsorized.var(axis=-1, ddof=1) / (h * (h - 1)))
    half = stats.t.ppf(0.5 + _check_confidence(confidence) / 2, h - 1) * se
    center = x[..., g:n - g].mean(axis=-1)
    return center - half, center + half


def clopper_pearson_interval(successes, trials: int, confidence: float = CONFIDENCE) -> tuple:
    """Exact (Clopper-Pearson) interval of a binomial proportion; `successes` (...) of `trials` each.

    Bounds are beta quantiles; 0 successes give low 0, `trials` successes give high 1 (3 of 3: 0.29 to
    1). Its coverage is at least the confidence level for every true proportion (conservative:
    about 0.96 to 0.99 at 3 to 20 trials)."""
    k = np.asarray(successes, dtype=float)
    if trials < 1 or np.any((k < 0) | (k > trials) | (k != np.round(k))):
        raise ValueError(f"Successes must be whole numbers between 0 and the number of trials ({trials}).")
    tail = (1 - _check_confidence(confidence)) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(k == 0, 0.0, stats.beta.ppf(tail, k, trials - k + 1))
        high = np.where(k == trials, 1.0, stats.beta.ppf(1 - tail, k + 1, trials - k))
    return low, high


def fieller_interval(numerators, denominators, confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """Fieller's interval of mean(numerators) / mean(denominators), paired by seed; both (..., n).

    The set of ratios R for which the t-test of the per-seed values `numerator - R * denominator`
    does not reject mean 0: the roots of a quadratic, exact when those values are normal. When the
    denominators' mean is not clearly away from 0 (few seeds, much spread) that set is unbounded and
    (-inf, inf) is returned (a superset, so coverage only rises)."""
    a_values = _as_samples(numerators, "numerators")
    b_values = _as_samples(denominators, "denominators")
    if a_values.shape != b_values.shape:
        raise ValueError(f"Numerators and denominators must pair up: shapes {a_values.shape} and {b_values.shape}.")
    n = a_values.shape[-1]
    q = stats.t.ppf(0.5 + _check_confidence(confidence) / 2, n - 1) ** 2 / n
    mean_a, mean_b = a_values.mean(axis=-1), b_values.mean(axis=-1)
    var_a, var_b = a_values.var(axis=-1, ddof=1), b_values.var(axis=-1, ddof=1)
    cov = np.sum((a_values - mean_a[..., None]) * (b_values - mean_b[..., None]), axis=-1) / (n - 1)
    # (mean_a - R mean_b)^2 <= q * var(a - R b)  <=>  qa R^2 - 2 qb R + qc <= 0
    qa, qb, qc = mean_b**2 - q * var_b, mean_a * mean_b - q * cov, mean_a**2 - q * var_a
    discriminant = qb**2 - qa * qc
    bounded = (qa > 0) & (discriminant >= 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        root = np.sqrt(np.where(bounded, discriminant, 0.0))
        low = np.where(bounded, (qb - root) / np.where(bounded, qa, 1.0), -np.inf)
        high = np.where(bounded, (qb + root) / np.where(bounded, qa, 1.0), np.inf)
    return low, high


# ---- point statistics, vectorised over the last axis, and their estimates ----

# The headline number: how many points B on A gains over B from scratch, on average.
def mean_difference(differences) -> np.ndarray:
    """Mean of `differences` (..., n_seeds) over seeds."""
    return np.mean(np.asarray(differences, dtype=float), axis=-1)


def mean_difference_estimate(differences, confidence: float = CONFIDENCE) -> Estimate:
    """Mean of `differences` (n_seeds,) with its t-interval (see `t_interval` for its coverage)."""
    d = _as_seeds(differences, "differences")
    low, high = t_interval(d, confidence)
    return Estimate(float(d.mean()), float(low), float(high), confidence, "t-interval")


# The typical seed: half the seeds gain more, half less.
def median_difference(differences) -> np.ndarray:
    """Median of `differences` (..., n_seeds) over seeds."""
    return np.median(np.asarray(differences, dtype=float), axis=-1)


# A mean that one lucky or broken seed cannot drag around (rliable's recommendation).
def interquartile_mean(values) -> np.ndarray:
    """Mean of the middle 50% of `values` (..., n_seeds) (scipy trim_mean, 25% cut each side).

    With fewer than 4 seeds nothing is trimmed, so it equals the plain mean."""
    return stats.trim_mean(np.asarray(values, dtype=float), 0.25, axis=-1)


def interquartile_mean_estimate(differences, confidence: float = CONFIDENCE) -> Estimate:
    """Interquartile mean of `differences` (n_seeds,) with Yuen's interval (see `yuen_interval`)."""
    d = _as_seeds(differences, "differences")
    low, high = yuen_interval(d, confidence)
    return Estimate(float(interquartile_mean(d)), float(low), float(high), confidence, "Yuen")


# "How often does transfer win?" is easier to read than a mean, and insensitive to outliers. It is the
# observed share of seeds, not rliable's probability of improvement (which compares every run of one
# arm with every run of the other, unpaired).
def win_share(differences) -> np.ndarray:
    """Share of seeds where B on A wins (difference > 0; a tie counts as not winning); (..., n_seeds)."""
    return np.mean(np.asarray(differences, dtype=float) > 0, axis=-1)


def win_share_estimate(differences, confidence: float = CONFIDENCE) -> Estimate:
    """Share of winning seeds in `differences` (n_seeds,) with its exact Clopper-Pearson interval: an
    interval for the chance that one more seed wins (strictly) under the same settings."""
    d = _as_seeds(differences, "differences", minimum=1)
    wins = int(np.sum(d > 0))
    low, high = clopper_pearson_interval(wins, len(d), confidence)
    return Estimate(wins / len(d), float(low), float(high), confidence, "exact Clopper-Pearson")


# Accuracies become whole test errors, which the ratio is defined on.
def error_counts(accuracies, n_test: int) -> np.ndarray:
    """Number of misclassified test images per seed: round((1 - acc) * n_test); (n_seeds,)."""
    if n_test < 1:
        raise ValueError("n_test must be the number of test images (at least 1).")
    return np.rint((1.0 - np.asarray(accuracies, dtype=float)) * n_test)


# The book's "factor of 4" (2.8% -> 0.75% error, 56 -> 15 of 2,000 images) as a statistic over seeds.
def error_ratio(scratch_errors, transfer_errors) -> np.ndarray:
    """Ratio of mean error counts, scratch / transfer, each count plus 0.5 (add-half smoothing).

    `scratch_errors`, `transfer_errors`: (..., n_seeds) counts of test errors. Smoothing keeps the
    ratio finite when B on A makes no error at all; on the book's counts (97.2% and 99.25% of 2,000
    test images are 56 and 15 errors, 56 / 15 = 3.73) it gives 56.5 / 15.5 = 3.65. > 1 means
    transfer makes fewer errors."""
    scratch = np.mean(np.asarray(scratch_errors, dtype=float), axis=-1) + 0.5
    transfer = np.mean(np.asarray(transfer_errors, dtype=float), axis=-1) + 0.5
    return scratch / transfer


def error_ratio_per_seed(scratch_errors, transfer_errors) -> np.ndarray:
    """The smoothed ratio seed by seed, (scratch + 0.5) / (transfer + 0.5); (n_seeds,)."""
    return (np.asarray(scratch_errors, dtype=float) + 0.5) / (np.asarray(transfer_errors, dtype=float) + 0.5)


def error_ratio_estimate(scratch_errors, transfer_errors, confidence: float = CONFIDENCE) -> Estimate:
    """`error_ratio` of paired error counts (n_seeds,) with Fieller's interval of a ratio of means.

    Coverage by simulation: 0.95 for Poisson error counts at 3 to 20 seeds, 0.95 to 0.99 for
    overdispersed ones (where few seeds often give an unbounded interval: high = inf, low = 0)."""
    scratch = _as_seeds(scratch_errors, "scratch_errors")
    transfer = _as_seeds(transfer_errors, "transfer_errors")
    if scratch.shape != transfer.shape:
        raise ValueError(f"The two arms must hold the same seeds: {len(scratch)} vs {len(transfer)} error counts.")
    low, high = fieller_interval(scratch + 0.5, transfer + 0.5, confidence)
    low, high = (0.0, math.inf) if not np.isfinite(high) else (max(float(low), 0.0), float(high))
    return Estimate(float(error_ratio(scratch, transfer)), low, high, confidence, "Fieller")


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
    d = _as_seeds(differences, "differences", minimum=1)
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
    d = _as_seeds(differences, "differences", minimum=1)
    return int(np.sum(d > 0)), int(np.sum(d == 0)), int(np.sum(d < 0))


# How much "gain" seed shopping alone produces: the book's author tried many runs and kept the best.
def best_of_k(differences, target: float = BOOK_GAIN_POINTS, levels: tuple = QUANTILES) -> BestOfK:
    """Distribution of the best of k paired differences, k = 1..N, drawn with replacement from the
    N observed `differences` (n_seeds,); exact formula P(max <= x) = F(x)^k (see BestOfK).

    Its q-quantile is the smallest observed d with F(d)^k >= q, i.e. the sorted value at index
    ceil(N * q**(1/k)) - 1. P(best >= target) = 1 - F(target-)^k, where F(target-) is the fraction
    of seeds below the target; the smallest k making that >= 1/2 is ceil(log(1/2) / log F(target-))."""
    d = np.sort(_as_seeds(differences, "differences", minimum=1))
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


# ---- what the intervals promise at few seeds ----

def _interpolated(table: dict, n_seeds: int) -> float:
    """A measured table at `n_seeds`: linear in log n between the measured sizes, the nearest end outside."""
    if n_seeds < 2:
        raise ValueError(f"An interval needs at least 2 seeds, got {n_seeds}.")
    sizes = sorted(table)
    return float(np.interp(math.log(n_seeds), np.log(sizes), [table[n] for n in sizes]))


def skewed_coverage(statistic: str, n_seeds: int) -> float:
    """Measured coverage of the 95% interval of `statistic` ("mean" or "interquartile mean") when the
    differences are exponential (skewed), at `n_seeds` (SKEWED_COVERAGE, interpolated)."""
    if statistic not in SKEWED_COVERAGE:
        raise ValueError(f"No coverage measured for {statistic!r}; choose one of {', '.join(SKEWED_COVERAGE)}.")
    return _interpolated(SKEWED_COVERAGE[statistic], n_seeds)


def coverage_caveat(n_seeds: int, statistics: tuple = ("mean", "interquartile mean")) -> str:
    """A sentence for the page when, at `n_seeds`, the 95% interval of any of `statistics` covers clearly
    less than 95% for skewed differences (below MIN_GOOD_COVERAGE, naming only those); "" when all
    hold. When the mean is named, the sentence also gives its coverage with rare large losses."""
    coverage = {name: skewed_coverage(name, n_seeds) for name in statistics}
    # Compared as shown (whole percent), so the sentence never reads "about 93%" below a 93% bar.
    short = {name: value for name, value in coverage.items() if round(value, 2) < MIN_GOOD_COVERAGE}
    if not short:
        return ""
    if len(short) > 1:
        names = " and ".join(f"the {name}" for name in short)
        parts = " and ".join(f"{value:.0%} ({name})" for name, value in short.items())
        sentence = f"the 95% intervals of {names} hold {{normal}}; {{skewed}} they cover about {parts}"
        rare = "the mean's about"
    else:
        (name, value), = short.items()
        sentence = f"the 95% interval of the {name} holds {{normal}}; {{skewed}} it covers about {value:.0%}"
        rare = "about"
    sentence = f"With {n_seeds} seeds " + sentence.format(
        normal="for roughly normal differences between seeds", skewed="for skewed ones (exponential-like)")
    if "mean" in short:
        sentence += (f", and {rare} {_interpolated(RARE_LOSSES_COVERAGE, n_seeds):.0%} if 1 seed in 8 loses "
                     "some 15 points while the others gain half a point")
    return sentence + " (measured by simulation)."


# ---- plain words for the page, which must never claim more than the evidence supports ----

def _extremes(values: np.ndarray) -> str:
    low, high = float(values.min()), float(values.max())
    return f"{low:+.2f} points" if low == high else f"{low:+.2f} to {high:+.2f} points"


def _pull(differences: np.ndarray, mean_direction: int) -> str:
    """Why the mean and the ranks disagree: which seeds pull the mean, and what most seeds do."""
    n, median = len(differences), float(np.median(differences))
    wins, losses = differences[differences > 0], differences[differences < 0]
    if mean_direction < 0:
        way, pulling, others, verb = "down", f"{len(losses)} losing seeds ({_extremes(losses)})", len(wins), "win"
    else:
        way, pulling, others, verb = "up", f"{len(wins)} winning seeds ({_extremes(wins)})", len(losses), "lose"
    most = "most seeds" if others > n / 2 else "the other seeds"
    return (f"the mean is pulled {way} by {pulling}, while {most} {verb} ({others} of {n}; "
            f"median {median:+.2f} points)")


def _test_text(wilcoxon: WilcoxonResult) -> str:
    if wilcoxon.p_value is None:
        return wilcoxon.reason
    text = f"signed-rank p = {wilcoxon.p_value:.3g}"
    return f"{text}; {wilcoxon.reason}" if wilcoxon.reason else text


def verdict(differences, mean: Estimate, wilcoxon: WilcoxonResult, *, scope: str = "") -> Verdict:
    """What `differences` (n_seeds,) support, from the interval of their mean and the signed-rank test.

    Each side has a sign: the interval's is +1 / -1 when it excludes 0 above / below (else 0); the
    test's is the sign of R+ - R- when p < 0.05 (else 0). Reliable: both signs agree. Mixed: one side
    is significant and the other points the opposite way (e.g. the mean pulled down by a few large
    losses while most seeds win). Tentative: one side is significant and the other does not
    contradict it. None: neither is significant. `scope` (e.g. "for this model A (seed 42) and this
    test set") is added to the sentence: what the seeds varied is all the verdict speaks for."""
    d = _as_seeds(differences, "differences")
    n, median = len(d), float(np.median(d))
    where = f", {scope}" if scope else ""
    ci_text = f"95% CI {mean.low:+.2f} to {mean.high:+.2f} points, {n} seeds"
    ci_sign = 1 if mean.low > 0 else -1 if mean.high < 0 else 0
    test_sign = wilcoxon.direction if wilcoxon.significant else 0
    mean_sign, rank_sign = int(np.sign(mean.value)), wilcoxon.direction
    size = f"{abs(mean.value):.2f} points"
    favoured = {1: "B on A", -1: "B from scratch", 0: "neither arm"}
    if ci_sign and ci_sign == test_sign:
        kind = "gain" if ci_sign > 0 else "loss"
        return Verdict("reliable", ci_sign, (
            f"Reliable {kind} of {size} for B on A{where} ({ci_text}): the mean's interval excludes 0 and the "
            f"signed-rank test agrees (p = {wilcoxon.p_value:.3g}; median {median:+.2f} points)."))
    if (ci_sign and rank_sign == -ci_sign) or (test_sign and mean_sign == -test_sign):
        return Verdict("mixed", 0, (
            f"Mixed evidence{where}: the mean difference is {mean.value:+.2f} points ({ci_text}), but the signed "
            f"ranks {'favour' if test_sign else 'lean towards'} {favoured[rank_sign]} ({_test_text(wilcoxon)}): "
            f"{_pull(d, mean_sign)}."))
    if ci_sign:
        kind = "gain" if ci_sign > 0 else "loss"
        return Verdict("tentative", ci_sign, (
            f"Tentative {kind} of {size} for B on A{where} ({ci_text}): the mean's interval excludes 0 but the "
            f"signed-rank test does not confirm it ({_test_text(wilcoxon)})."))
    if test_sign:
        kind = "gain" if test_sign > 0 else "loss"
        return Verdict("tentative", test_sign, (
            f"Tentative {kind} for B on A{where}: the signed-rank test favours {favoured[test_sign]} "
            f"({_test_text(wilcoxon)}; median {median:+.2f} points), but over {n} seeds the mean difference "
            f"{mean.value:+.2f} has a 95% CI ({mean.low:+.2f} to {mean.high:+.2f}) that includes 0."))
    return Verdict("none", 0, (
        f"No reliable difference{where}: over {n} seeds the mean difference is {mean.value:+.2f} points and its "
        f"95% CI ({mean.low:+.2f} to {mean.high:+.2f}) includes 0; median {median:+.2f} points, "
        f"{_test_text(wilcoxon)}."))


def reliable_direction(differences) -> int:
    """The lab's one meaning of "reliable": +1 / -1 when the mean's 95% t-interval excludes 0 on that side *and*
    the signed-rank test agrees (p < 0.05, same sign), as `verdict` says "Reliable"; 0 otherwise."""
    d = _as_seeds(differences, "differences")
    found = verdict(d, mean_difference_estimate(d), wilcoxon_test(d))
    return found.direction if found.kind == "reliable" else 0


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


# The one call the page and the command line make.
def summarize(
    scratch_acc,
    transfer_acc,
    *,
    n_test: int = BOOK_N_TEST,
    target_gain: float = BOOK_GAIN_POINTS,
    scope: str = "",
) -> PairedSummary:
    """All paired statistics for test accuracies `scratch_acc`, `transfer_acc` (n_seeds,) in [0, 1],
    seed i in both arms; `n_test` test images per run (for error counts); `scope` says what the
    verdict speaks for (see `verdict`). Deterministic: nothing is resampled."""
    scratch, transfer = _paired(scratch_acc, transfer_acc)
    differences = paired_differences(scratch, transfer)
    mean = mean_difference_estimate(differences)
    wilcoxon = wilcoxon_test(differences)
    scratch_errors, transfer_errors = error_counts(scratch, n_test), error_counts(transfer, n_test)
    wins, ties, losses = wins_ties_losses(differences)
    return PairedSummary(
        n_seeds=len(differences),
        scratch_acc=scratch,
        transfer_acc=transfer,
        differences=differences,
        mean_difference=mean,
        median_difference=float(median_difference(differences)),
        interquartile_mean=interquartile_mean_estimate(differences),
        win_share=win_share_estimate(differences),
        wilcoxon=wilcoxon,
        wins=wins,
        ties=ties,
        losses=losses,
        error_ratio=error_ratio_estimate(scratch_errors, transfer_errors),
        error_ratio_per_seed=error_ratio_per_seed(scratch_errors, transfer_errors),
        best_of_k=best_of_k(differences, target_gain),
        verdict=verdict(differences, mean, wilcoxon, scope=scope),
        coverage_caveat=coverage_caveat(len(differences)),
    )


def interval_text(estimate: Estimate, fmt: str) -> str:
    """`value (95% CI low to high, method)`, or `value (95% CI unbounded: ...)` when the data cannot bound it."""
    level = f"{estimate.confidence:.0%} CI"
    if not estimate.bounded:
        return f"{estimate.value:{fmt}} ({level} unbounded: too few seeds for how much they vary)"
    method = f", {estimate.method}" if estimate.method else ""
    return f"{estimate.value:{fmt}} ({level} {estimate.low:{fmt}} to {estimate.high:{fmt}}{method})"


# The same text for the command line and for a download, so both print identical numbers.
def summary_lines(summary: PairedSummary) -> list[str]:
    """Human-readable lines, one statistic each."""
    w = summary.wilcoxon
    wilcoxon_text = "n/a" if w.p_value is None else f"{w.p_value:.3g}"
    best = summary.best_of_k
    k_text = (
        f"k = {best.k_for_target}" if best.k_for_target is not None else "never (no seed reached it)"
    )
    lines = [
        f"seeds: {summary.n_seeds}",
        f"mean accuracy: B from scratch {100 * summary.scratch_acc.mean():.2f}%, "
        f"B on A {100 * summary.transfer_acc.mean():.2f}%",
        f"mean difference (points): {interval_text(summary.mean_difference, '+.2f')}",
        f"median difference (points): {summary.median_difference:+.2f}",
        f"interquartile mean difference (points): {interval_text(summary.interquartile_mean, '+.2f')}",
        f"share of seeds where B on A wins (ties count as not winning): {summary.wins} of {summary.n_seeds} = "
        f"{interval_text(summary.win_share, '.2f')}",
        f"Wilcoxon signed-rank p-value (exact): {wilcoxon_text}" + (f" ({w.reason})" if w.reason else ""),
        f"wins / ties / losses: {summary.wins} / {summary.ties} / {summary.losses}",
        f"error-rate ratio scratch / B on A: {interval_text(summary.error_ratio, '.2f')}",
        f"best of k reaching {best.target:+.2f} points with probability >= 50%: {k_text}",
    ]
    if summary.coverage_caveat:
        lines.append(f"note: {summary.coverage_caveat}")
    return lines + [f"verdict: {summary.verdict.text}"]
