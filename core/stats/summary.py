"""The summary of one paired multi-seed comparison: every statistic the page and the command line show, and
the same lines for both."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core import book
from core.stats.intervals import (
    Estimate,
    coverage_caveat,
    error_counts,
    error_ratio_estimate,
    error_ratio_per_seed,
    interquartile_mean_estimate,
    mean_difference_estimate,
    median_difference,
    paired_accuracies,
    paired_differences,
    win_share_estimate,
)
from core.stats.ranks import WilcoxonResult, wilcoxon_test, wins_ties_losses
from core.stats.selection import BOOK_GAIN_POINTS, BestOfK, best_of_k
from core.stats.verdicts import Verdict, interval_text, verdict

BOOK_N_TEST = book.N_TEST  # every Fashion-MNIST class has 1,000 test images, so a two-class task B has 2,000


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
    scratch, transfer = paired_accuracies(scratch_acc, transfer_acc)
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
