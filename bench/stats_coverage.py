"""Coverage of the transfer page's 95% intervals, measured by simulation (issue 11, item 4).

Run `python -m bench.stats_coverage` (200,000 simulated data sets per case; about half a minute on
one core) or `--quick` (10,000). A 95% interval should contain the true value in 95% of data sets;
this draws many data sets of n seeds from a known distribution, computes each interval with the
vectorised formulas of `core.stats`, and counts. Cases: n = 3, 5, 10, 20, 50 seeds; differences
normal, exponential (skewed, skewness 2), lognormal(0, 1) (very skewed) and the issue's "rare large
losses" mixture; error counts Poisson or overdispersed; win shares by exact enumeration. The old
BCa bootstrap of the mean is measured too (fewer data sets: it resamples), for comparison.

The fast functions here are also what tests/test_stats.py runs (10,000 data sets per case).
Output: a table, then `name: value` lines (coverage_<method>_<distribution>_n<size>).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
from scipy import stats as scipy_stats

from core import stats

SIZES = (3, 5, 10, 20, 50)
DIFFERENCES = ("normal", "exponential", "lognormal", "rare large losses")
COUNTS = ("poisson", "overdispersed")
SCRATCH_ERRORS, TRANSFER_ERRORS = 56.0, 15.0  # the book's 97.2% and 99.25% of 2,000 test images
RARE_LOSS = (0.13, -15.0, 2.0)  # share of seeds, mean and sd of the large losses; the rest N(0.5, 0.15)


def draw_differences(distribution: str, shape: tuple, rng: np.random.Generator) -> np.ndarray:
    """Simulated paired differences, `shape` = (n_datasets, n_seeds)."""
    if distribution == "normal":
        return rng.normal(0.0, 1.0, shape)
    if distribution == "exponential":
        return rng.exponential(1.0, shape)
    if distribution == "lognormal":
        return rng.lognormal(0.0, 1.0, shape)
    if distribution == "rare large losses":
        share, mean, sd = RARE_LOSS
        return np.where(rng.random(shape) < share, rng.normal(mean, sd, shape), rng.normal(0.5, 0.15, shape))
    raise ValueError(f"Unknown distribution {distribution!r}; choose one of {', '.join(DIFFERENCES)}.")


def _quantile_function(distribution: str):
    if distribution == "normal":
        return scipy_stats.norm.ppf
    if distribution == "exponential":
        return scipy_stats.expon.ppf
    if distribution == "lognormal":
        return lambda u: scipy_stats.lognorm.ppf(u, 1.0)
    raise ValueError(f"No quantile function for {distribution!r}.")


def true_mean(distribution: str) -> float:
    share, mean, _ = RARE_LOSS
    return {"normal": 0.0, "exponential": 1.0, "lognormal": float(np.exp(0.5)),
            "rare large losses": share * mean + (1 - share) * 0.5}[distribution]


def true_interquartile_mean(distribution: str) -> float:
    """The population's 25%-trimmed mean: the average of its quantile function over (0.25, 0.75)."""
    u = 0.25 + 0.5 * (np.arange(100_000) + 0.5) / 100_000
    return float(np.mean(_quantile_function(distribution)(u)))


def _covered(low, high, truth: float) -> float:
    return float(np.mean((low <= truth) & (truth <= high)))


def mean_coverage(distribution: str, n_seeds: int, n_datasets: int, rng: np.random.Generator) -> float:
    """Share of simulated data sets whose t-interval (`stats.t_interval`) holds the true mean."""
    low, high = stats.t_interval(draw_differences(distribution, (n_datasets, n_seeds), rng))
    return _covered(low, high, true_mean(distribution))


def interquartile_mean_coverage(distribution: str, n_seeds: int, n_datasets: int, rng: np.random.Generator) -> float:
    """Share of data sets whose Yuen interval (`stats.yuen_interval`) holds the population's IQM."""
    low, high = stats.yuen_interval(draw_differences(distribution, (n_datasets, n_seeds), rng))
    return _covered(low, high, true_interquartile_mean(distribution))


def draw_errors(kind: str, mean: float, shape: tuple, rng: np.random.Generator) -> np.ndarray:
    """Test-error counts per seed: Poisson, or Poisson with a gamma-distributed rate (variance ~ mean^2 / 2)."""
    if kind == "poisson":
        return rng.poisson(mean, shape).astype(float)
    if kind == "overdispersed":
        return rng.poisson(mean * rng.gamma(2.0, 0.5, shape)).astype(float)
    raise ValueError(f"Unknown error-count model {kind!r}; choose one of {', '.join(COUNTS)}.")


def error_ratio_coverage(kind: str, n_seeds: int, n_datasets: int, rng: np.random.Generator) -> float:
    """Share of data sets whose Fieller interval of the smoothed error ratio holds (56.5 / 15.5)."""
    scratch = draw_errors(kind, SCRATCH_ERRORS, (n_datasets, n_seeds), rng)
    transfer = draw_errors(kind, TRANSFER_ERRORS, (n_datasets, n_seeds), rng)
    low, high = stats.fieller_interval(scratch + 0.5, transfer + 0.5)
    return _covered(low, high, (SCRATCH_ERRORS + 0.5) / (TRANSFER_ERRORS + 0.5))


def win_share_coverage(n_seeds: int, probabilities=np.linspace(0.01, 0.99, 99)) -> np.ndarray:
    """Exact coverage of the Clopper-Pearson interval at each true win probability (no simulation:
    the sum of the binomial probabilities of the win counts whose interval holds p); (n_p,)."""
    wins = np.arange(n_seeds + 1)
    low, high = stats.clopper_pearson_interval(wins, n_seeds)
    p = np.asarray(probabilities, dtype=float)[:, None]
    holds = (low <= p) & (p <= high)
    return np.sum(scipy_stats.binom.pmf(wins, n_seeds, p) * holds, axis=1)


def bca_mean_coverage(distribution: str, n_seeds: int, n_datasets: int, rng: np.random.Generator,
                      n_resamples: int = 1999) -> float:
    """The interval used before issue 11, scipy's BCa bootstrap of the mean, on the same kind of data."""
    data = draw_differences(distribution, (n_datasets, n_seeds), rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = scipy_stats.bootstrap((data,), np.mean, axis=-1, vectorized=True, n_resamples=n_resamples,
                                       method="BCa", rng=rng, batch=50)
    low, high = result.confidence_interval
    return _covered(low, high, true_mean(distribution))


def coverage_rows(n_datasets: int, seed: int = 0, sizes=SIZES, bca_datasets: int = 0) -> list[tuple]:
    """(method, distribution, n, coverage) for every case; BCa only when `bca_datasets` > 0."""
    rng = np.random.default_rng(seed)
    rows = []
    for distribution in DIFFERENCES:
        for n in sizes:
            rows.append(("t mean", distribution, n, mean_coverage(distribution, n, n_datasets, rng)))
            if distribution != "rare large losses":
                rows.append(("Yuen IQM", distribution, n,
                             interquartile_mean_coverage(distribution, n, n_datasets, rng)))
            if bca_datasets and n <= 20 and distribution != "rare large losses":
                rows.append(("BCa mean (old)", distribution, n, bca_mean_coverage(distribution, n, bca_datasets, rng)))
    for kind in COUNTS:
        for n in sizes:
            rows.append(("Fieller error ratio", kind, n, error_ratio_coverage(kind, n, n_datasets, rng)))
    for n in sizes:
        exact = win_share_coverage(n)
        rows.append(("Clopper-Pearson win share (min over p)", "binomial", n, float(exact.min())))
        rows.append(("Clopper-Pearson win share (mean over p)", "binomial", n, float(exact.mean())))
    return rows


def _name(method: str, distribution: str, n: int) -> str:
    slug = "_".join(method.replace("(", "").replace(")", "").replace("-", "_").lower().split())
    return f"coverage_{slug}_{distribution.replace(' ', '_')}_n{n}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10,000 data sets per case (a smoke run)")
    args = parser.parse_args()
    n_datasets = 10_000 if args.quick else 200_000
    bca_datasets = 500 if args.quick else 2000
    started = time.perf_counter()
    rows = coverage_rows(n_datasets, bca_datasets=bca_datasets)
    print(f"cores visible: {os.cpu_count()}; {n_datasets} simulated data sets per case "
          f"({bca_datasets} for BCa); {time.perf_counter() - started:.1f} s")
    print(f"{'method':<42} {'distribution':<20} " + " ".join(f"{'n=' + str(n):>7}" for n in SIZES))
    table: dict[tuple, dict] = {}
    for method, distribution, n, coverage in rows:
        table.setdefault((method, distribution), {})[n] = coverage
    for (method, distribution), by_n in table.items():
        print(f"{method:<42} {distribution:<20} " + " ".join(
            f"{by_n[n]:7.3f}" if n in by_n else f"{'':>7}" for n in SIZES))
    for method, distribution, n, coverage in rows:
        print(f"{_name(method, distribution, n)}: {coverage:.4f}")


if __name__ == "__main__":
    main()
