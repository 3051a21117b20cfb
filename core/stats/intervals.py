"""Intervals of paired per-seed differences: t, Yuen, Clopper-Pearson and Fieller formulas (vectorised over the
last axis for coverage simulations), the point statistics and their `Estimate`s, the shared input checks, and
the measured coverage of the 95% intervals at few seeds with the caveat a page shows."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
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


# One place for input checks, so every statistic rejects bad arrays with the same sentence.
def as_seeds(values, name: str, minimum: int = 2) -> np.ndarray:
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
def paired_accuracies(scratch_acc, transfer_acc) -> tuple[np.ndarray, np.ndarray]:
    scratch = as_seeds(scratch_acc, "scratch_acc")
    transfer = as_seeds(transfer_acc, "transfer_acc")
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
    scratch, transfer = paired_accuracies(scratch_acc, transfer_acc)
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
    d = as_seeds(differences, "differences")
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
    d = as_seeds(differences, "differences")
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
    d = as_seeds(differences, "differences", minimum=1)
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
    scratch = as_seeds(scratch_errors, "scratch_errors")
    transfer = as_seeds(transfer_errors, "transfer_errors")
    if scratch.shape != transfer.shape:
        raise ValueError(f"The two arms must hold the same seeds: {len(scratch)} vs {len(transfer)} error counts.")
    low, high = fieller_interval(scratch + 0.5, transfer + 0.5, confidence)
    low, high = (0.0, math.inf) if not np.isfinite(high) else (max(float(low), 0.0), float(high))
    return Estimate(float(error_ratio(scratch, transfer)), low, high, confidence, "Fieller")


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
