"""Paired comparisons of two training recipes run on the same seeds (B from scratch vs B on A): intervals, the
exact signed-rank test, verdicts in plain words, and selection among arms. Per-seed arrays are `(n_seeds,)`,
accuracies fractions in [0, 1], differences percentage points. Design notes: docs/architecture.md, "core/stats".
"""

from core.stats.intervals import (
    CONFIDENCE,
    MIN_GOOD_COVERAGE,
    RARE_LOSSES_COVERAGE,
    SKEWED_COVERAGE,
    Estimate,
    clopper_pearson_interval,
    coverage_caveat,
    error_counts,
    error_ratio,
    error_ratio_estimate,
    error_ratio_per_seed,
    fieller_interval,
    interquartile_mean,
    interquartile_mean_estimate,
    mean_difference,
    mean_difference_estimate,
    median_difference,
    paired_differences,
    skewed_coverage,
    t_interval,
    win_share,
    win_share_estimate,
    yuen_interval,
)
from core.stats.ranks import ALPHA, WilcoxonResult, signed_rank_null, wilcoxon_test, wins_ties_losses
from core.stats.selection import BOOK_GAIN_POINTS, QUANTILES, BestOfK, best_of_k, holm_adjusted
from core.stats.summary import BOOK_N_TEST, PairedSummary, summarize, summary_lines
from core.stats.verdicts import Verdict, interval_text, reliable_direction, verdict

__all__ = [
    # intervals: the formulas, the point statistics and their estimates, coverage at few seeds
    "CONFIDENCE", "MIN_GOOD_COVERAGE", "RARE_LOSSES_COVERAGE", "SKEWED_COVERAGE", "Estimate",
    "clopper_pearson_interval", "coverage_caveat", "error_counts", "error_ratio", "error_ratio_estimate",
    "error_ratio_per_seed", "fieller_interval", "interquartile_mean", "interquartile_mean_estimate", "mean_difference",
    "mean_difference_estimate", "median_difference", "paired_differences", "skewed_coverage", "t_interval",
    "win_share", "win_share_estimate", "yuen_interval",
    # ranks: the exact signed-rank test
    "ALPHA", "WilcoxonResult", "signed_rank_null", "wilcoxon_test", "wins_ties_losses",
    # selection: among several arms or tries
    "BOOK_GAIN_POINTS", "QUANTILES", "BestOfK", "best_of_k", "holm_adjusted",
    # summary: one paired comparison, for the page and the command line
    "BOOK_N_TEST", "PairedSummary", "summarize", "summary_lines",
    # verdicts: plain words
    "Verdict", "interval_text", "reliable_direction", "verdict",
]
