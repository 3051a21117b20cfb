"""Paired comparisons of two training recipes run on the same seeds (B from scratch vs B on A).

A single run says little: the book's "97.2% -> 99.25%" is one seed, picked after trying many.
Here every comparison is paired by seed and reported as an interval, not a point.

Shapes: per-seed arrays are `(n_seeds,)`, index i of `scratch_acc` and `transfer_acc` being the same
seed. Accuracies are fractions in [0, 1] (what Keras returns); differences are reported in
percentage points (`100 * (transfer - scratch)`), the unit of the book's "+2.05 points".

Randomness: every bootstrap takes `rng` (a `np.random.Generator` or an int seed), so the same
inputs and the same rng give the same intervals. Statistics without resampling (Wilcoxon,
best-of-k, wins/ties/losses) are exact and take no rng.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable, Optional, Union

import numpy as np
from scipy import stats

RandomState = Union[np.random.Generator, int]
CONFIDENCE = 0.95
N_RESAMPLES = 9999  # scipy's default; a 200-seed summary still takes well under a second
BOOK_GAIN_POINTS = 2.05  # the book's single run: 97.20% -> 99.25% test accuracy
BOOK_N_TEST = 2000  # every Fashion-MNIST class has 1,000 test images, so a two-class task B has 2,000
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)  # reported quantiles of the best-of-k gain


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its bootstrap confidence interval."""

    value: float
    low: float
    high: float
    confidence: float = CONFIDENCE

    def excludes(self, reference: float) -> bool:
        return self.low > reference or self.high < reference


@dataclass(frozen=True)
class WilcoxonResult:
    p_value: Optional[float]  # None when the test cannot say anything (reason says why)
    n_nonzero: int  # pairs left after dropping exact ties (zero differences)
    reason: str  # empty when p_value is a normal two-sided p-value; else a plain explanation


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
class PairedSummary:
    """Everything the page and the command line show about one paired multi-seed comparison."""

    n_seeds: int
    scratch_acc: np.ndarray  # (n_seeds,) B from scratch, test accuracy in [0, 1]
    transfer_acc: np.ndarray  # (n_seeds,) B on A, same seeds
    differences: np.ndarray  # (n_seeds,) transfer - scratch, in percentage points
    mean_difference: Estimate  # points
    iqm_difference: Estimate  # interquartile mean of the differences, points
    prob_improvement: Estimate  # P(B on A > B from scratch), ties count half
    wilcoxon: WilcoxonResult
    wins: int  # seeds where B on A is strictly better
    ties: int
    losses: int
    error_ratio: Estimate  # scratch errors / transfer errors (the book's "factor of 4")
    error_ratio_per_seed: np.ndarray  # (n_seeds,) the same ratio seed by seed, add-half smoothed
    best_of_k: BestOfK
    verdict: str


# Accepts a seed or a Generator so callers can pass whichever they hold.
def as_generator(rng: RandomState) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise ValueError(f"rng must be a numpy Generator or an integer seed, not {type(rng).__name__}.")


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


# BCa corrects the plain percentile interval for bias and skew, but scipy returns NaN when the
# data are degenerate (e.g. every seed gives the same difference); the percentile interval of the
# same resamples is then used (for identical values, that value itself).
def bootstrap_ci(
    samples: tuple,
    statistic: Callable,
    rng: RandomState,
    n_resamples: int = N_RESAMPLES,
    confidence: float = CONFIDENCE,
) -> Estimate:
    """95% BCa bootstrap CI of `statistic(*samples, axis=-1)`; samples are (n_seeds,) arrays resampled
    together by seed (paired)."""
    generator = as_generator(rng)
    options = dict(paired=True, vectorized=True, confidence_level=confidence, rng=generator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.bootstrap(samples, statistic, n_resamples=n_resamples, method="BCa", **options)
        low, high = result.confidence_interval
        if not (np.isfinite(low) and np.isfinite(high)):
            result = stats.bootstrap(
                samples, statistic, n_resamples=0, method="percentile", bootstrap_result=result, **options
            )
            low, high = result.confidence_interval
    value = float(statistic(*samples, axis=-1))
    return Estimate(value, float(low), float(high), confidence)


# The headline number: how many points B on A gains over B from scratch, on average.
def mean_difference(differences, rng: RandomState, n_resamples: int = N_RESAMPLES) -> Estimate:
    """Mean of `differences` (n_seeds,) with a 95% bootstrap CI (seeds resampled)."""
    d = _as_seeds(differences, "differences")
    return bootstrap_ci((d,), np.mean, rng, n_resamples)


# A mean that one lucky or broken seed cannot drag around (rliable's recommendation).
def interquartile_mean(values, axis: int = -1) -> np.ndarray:
    """Mean of the middle 50% of `values` along `axis` (scipy trim_mean, 25% cut each side).

    With fewer than 4 seeds nothing is trimmed, so it equals the plain mean."""
    return stats.trim_mean(values, 0.25, axis=axis)


# The IQM of the paired differences, with its interval.
def iqm_difference(differences, rng: RandomState, n_resamples: int = N_RESAMPLES) -> Estimate:
    """Interquartile mean of `differences` (n_seeds,) with a 95% bootstrap CI."""
    d = _as_seeds(differences, "differences")
    return bootstrap_ci((d,), interquartile_mean, rng, n_resamples)


# "How often does transfer win?" is easier to read than a mean, and insensitive to outliers.
def probability_of_improvement(differences, axis: int = -1) -> np.ndarray:
    """Fraction of seeds with difference > 0, ties counting half; `differences` (..., n_seeds)."""
    d = np.asarray(differences, dtype=float)
    return np.mean((d > 0) + 0.5 * (d == 0), axis=axis)


# P(improvement) with its interval.
def prob_improvement(differences, rng: RandomState, n_resamples: int = N_RESAMPLES) -> Estimate:
    """P(B on A > B from scratch) from `differences` (n_seeds,) with a 95% bootstrap CI.

    A clean sweep over few seeds gives the interval [1, 1]: a limit of the bootstrap, not certainty
    (the verdict therefore rests on the mean difference and the Wilcoxon test, not on this)."""
    d = _as_seeds(differences, "differences")
    return bootstrap_ci((d,), probability_of_improvement, rng, n_resamples)


# A rank test that makes no normality assumption, as a second opinion next to the bootstrap.
def wilcoxon_test(differences) -> WilcoxonResult:
    """Two-sided Wilcoxon signed-rank test on `differences` (n_seeds,), exact zeros dropped
    (scipy's zero_method="wilcox"; scipy picks the exact distribution for small N without ties).

    Returns p_value None when every difference is zero, and explains when N is too small for any
    p-value to reach 0.05 (with n non-zero pairs the smallest two-sided p is 2 / 2**n)."""
    d = _as_seeds(differences, "differences", minimum=1)
    n_nonzero = int(np.count_nonzero(d))
    if n_nonzero == 0:
        return WilcoxonResult(None, 0, "every seed gives exactly the same accuracy in both arms: nothing to test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p_value = float(stats.wilcoxon(d, zero_method="wilcox").pvalue)
    smallest_p = 2.0 / 2**n_nonzero
    reason = ""
    if smallest_p > 0.05:
        reason = (
            f"only {n_nonzero} seeds differ, so even a perfect sweep gives p >= {smallest_p:.3g}: "
            "too few seeds for this test to detect anything"
        )
    return WilcoxonResult(p_value, n_nonzero, reason)


# Counts people can check by eye on the paired plot.
def wins_ties_losses(differences) -> tuple[int, int, int]:
    """(wins, ties, losses) of B on A over B from scratch; `differences` (n_seeds,)."""
    d = _as_seeds(differences, "differences", minimum=1)
    return int(np.sum(d > 0)), int(np.sum(d == 0)), int(np.sum(d < 0))


# Accuracies become whole test errors, which the ratio is defined on.
def error_counts(accuracies, n_test: int) -> np.ndarray:
    """Number of misclassified test images per seed: round((1 - acc) * n_test); (n_seeds,)."""
    if n_test < 1:
        raise ValueError("n_test must be the number of test images (at least 1).")
    return np.rint((1.0 - np.asarray(accuracies, dtype=float)) * n_test)


# The book's "factor of 4" (2.8% -> 0.7% error) as a statistic over seeds.
def error_ratio(scratch_errors, transfer_errors, axis: int = -1) -> np.ndarray:
    """Ratio of mean error counts, scratch / transfer, each count plus 0.5 (add-half smoothing).

    `scratch_errors`, `transfer_errors`: (..., n_seeds) counts of test errors. Smoothing keeps the
    ratio finite when B on A makes no error at all; on the book's counts (56 vs 14 of 2,000) it
    gives 56.5 / 14.5 = 3.9 instead of 4.0. > 1 means transfer makes fewer errors."""
    scratch = np.mean(np.asarray(scratch_errors, dtype=float), axis=axis) + 0.5
    transfer = np.mean(np.asarray(transfer_errors, dtype=float), axis=axis) + 0.5
    return scratch / transfer


# The error ratio with its interval (seeds resampled in pairs), plus the per-seed distribution.
def error_ratio_estimate(
    scratch_acc, transfer_acc, n_test: int, rng: RandomState, n_resamples: int = N_RESAMPLES
) -> tuple[Estimate, np.ndarray]:
    """(ratio of mean smoothed errors with 95% CI, per-seed smoothed ratios (n_seeds,))."""
    scratch, transfer = _paired(scratch_acc, transfer_acc)
    scratch_errors, transfer_errors = error_counts(scratch, n_test), error_counts(transfer, n_test)
    estimate = bootstrap_ci((scratch_errors, transfer_errors), error_ratio, rng, n_resamples)
    per_seed = (scratch_errors + 0.5) / (transfer_errors + 0.5)
    return estimate, per_seed


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


# Plain words for the page, which must never claim more than the interval supports.
def verdict(mean: Estimate, wilcoxon: WilcoxonResult, n_seeds: int) -> str:
    """One sentence: reliable gain / reliable loss only when the CI of the mean difference (in
    points) excludes 0, and marked tentative when the Wilcoxon test does not agree."""
    interval = f"95% CI {mean.low:+.2f} to {mean.high:+.2f} points, {n_seeds} seeds"
    if not mean.excludes(0.0):
        return (
            f"No reliable gain: over {n_seeds} seeds the mean difference is {mean.value:+.2f} points "
            f"and its 95% CI ({mean.low:+.2f} to {mean.high:+.2f}) includes 0."
        )
    kind = "gain" if mean.low > 0 else "loss"
    sentence = f"Reliable {kind} of {abs(mean.value):.2f} points for B on A ({interval})."
    if wilcoxon.p_value is None or wilcoxon.p_value >= 0.05:
        why = wilcoxon.reason or f"p = {wilcoxon.p_value:.3g}"
        sentence = (
            f"Tentative {kind} of {abs(mean.value):.2f} points for B on A ({interval}): "
            f"the bootstrap CI excludes 0 but the Wilcoxon signed-rank test does not confirm it ({why})."
        )
    return sentence


# The one call the page and the command line make.
def summarize(
    scratch_acc,
    transfer_acc,
    rng: RandomState,
    n_test: int = BOOK_N_TEST,
    target_gain: float = BOOK_GAIN_POINTS,
    n_resamples: int = N_RESAMPLES,
) -> PairedSummary:
    """All paired statistics for test accuracies `scratch_acc`, `transfer_acc` (n_seeds,) in [0, 1],
    seed i in both arms; `n_test` test images per run (for error counts); `rng` drives every
    bootstrap in a fixed order, so the same seed gives the same summary."""
    scratch, transfer = _paired(scratch_acc, transfer_acc)
    generator = as_generator(rng)
    differences = paired_differences(scratch, transfer)
    mean = mean_difference(differences, generator, n_resamples)
    wilcoxon = wilcoxon_test(differences)
    ratio, ratio_per_seed = error_ratio_estimate(scratch, transfer, n_test, generator, n_resamples)
    wins, ties, losses = wins_ties_losses(differences)
    return PairedSummary(
        n_seeds=len(differences),
        scratch_acc=scratch,
        transfer_acc=transfer,
        differences=differences,
        mean_difference=mean,
        iqm_difference=iqm_difference(differences, generator, n_resamples),
        prob_improvement=prob_improvement(differences, generator, n_resamples),
        wilcoxon=wilcoxon,
        wins=wins,
        ties=ties,
        losses=losses,
        error_ratio=ratio,
        error_ratio_per_seed=ratio_per_seed,
        best_of_k=best_of_k(differences, target_gain),
        verdict=verdict(mean, wilcoxon, len(differences)),
    )


# The same text for the command line and for a download, so both print identical numbers.
def summary_lines(summary: PairedSummary) -> list[str]:
    """Human-readable lines, one statistic each."""

    def interval(estimate: Estimate, fmt: str) -> str:
        return f"{estimate.value:{fmt}} (95% CI {estimate.low:{fmt}} to {estimate.high:{fmt}})"

    w = summary.wilcoxon
    wilcoxon_text = "n/a" if w.p_value is None else f"{w.p_value:.3g}"
    best = summary.best_of_k
    k_text = (
        f"k = {best.k_for_target}" if best.k_for_target is not None else "never (no seed reached it)"
    )
    return [
        f"seeds: {summary.n_seeds}",
        f"mean accuracy: B from scratch {100 * summary.scratch_acc.mean():.2f}%, "
        f"B on A {100 * summary.transfer_acc.mean():.2f}%",
        f"mean difference (points): {interval(summary.mean_difference, '+.2f')}",
        f"interquartile mean difference (points): {interval(summary.iqm_difference, '+.2f')}",
        f"P(B on A beats B from scratch): {interval(summary.prob_improvement, '.2f')}",
        f"Wilcoxon signed-rank p-value: {wilcoxon_text}" + (f" ({w.reason})" if w.reason else ""),
        f"wins / ties / losses: {summary.wins} / {summary.ties} / {summary.losses}",
        f"error-rate ratio scratch / B on A: {interval(summary.error_ratio, '.2f')}",
        f"best of k reaching {best.target:+.2f} points with probability >= 50%: {k_text}",
        f"verdict: {summary.verdict}",
    ]
