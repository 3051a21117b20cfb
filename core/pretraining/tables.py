"""What the pretraining comparisons say in words and tables: each arm's paired gain over scratch (core.stats),
the command line's tables, and how much of a gain survives when every arm is tuned (core.pretraining.tuned).

    summaries = paired_summaries(comparison)      # {arm: core.stats.PairedSummary} of scratch vs that arm
    print("\\n".join(table_lines(comparison)))
    print("\\n".join(tuned_table_lines(found)))    # found: a core.pretraining.tuned.TunedComparison
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from core import stats
from core.pretraining.configs import ARMS, PITFALL_RUNS, PRETRAINED_ARMS
from core.pretraining.fine_tuning import Comparison
from core.runs import tuning

ARM_LABELS = {"scratch": "from scratch", "frozen": "frozen + new output",
              "frozen_then_top": "frozen, then top unfrozen", "fine_tune_all": "fine-tune all",
              "raw_pixels": "raw-pixel softmax regression", "frozen_long": "frozen, long",
              "frozen_standardized_long": "frozen, standardised codes, long"}
FINDINGS = {1: "a reliable gain", -1: "a reliable loss", 0: "no reliable difference"}  # stats.reliable_direction


def arm_label(arm: str) -> str:
    return ARM_LABELS[arm]


def paired_summaries(comparison: Comparison) -> dict:
    """{arm: core.stats.PairedSummary} of scratch (first) against each pretrained arm and the raw-pixel floor."""
    if len(comparison.seeds) < 2:
        raise ValueError(f"A paired comparison needs at least 2 seeds, got {len(comparison.seeds)}.")
    scope = f"with {comparison.config.n_labels} labels per seed, on these {comparison.n_test} test images"
    return {arm: stats.summarize(comparison.arm("scratch"), comparison.arm(arm), n_test=comparison.n_test,
                                 scope=scope)
            for arm in PRETRAINED_ARMS + ("raw_pixels",)}


def verdict(summary, arm: str) -> str:
    """core.stats' verdict sentence, naming the arms instead of the transfer page's "B on A" and "B from scratch"."""
    return summary.verdict.text.replace("B from scratch", "from scratch").replace("B on A", arm_label(arm))


def table_lines(comparison: Comparison, header: Optional[str] = None) -> list[str]:
    """The paired table the command line prints: mean accuracy per arm (and the frozen-codes runs, when run), then
    each gain over scratch; `header` replaces the first line (the config's description)."""
    lines = [header or f"{comparison.config.describe()}; {len(comparison.seeds)} seeds, {comparison.n_test} test "
             "images"]
    lines.append("  test accuracy, mean over seeds (standard deviation across seeds):")
    for arm, values in zip(ARMS, comparison.test_accuracy.T):
        lines.append(f"  {arm_label(arm):40s} {100 * values.mean():6.2f}%  (sd {_sd(values):.2f})")
    long = f" ({comparison.config.pitfall_updates} updates)"
    for run, values in zip(PITFALL_RUNS, comparison.pitfall_accuracy.T):
        lines.append(f"  {arm_label(run) + long:40s} {100 * values.mean():6.2f}%  (sd {_sd(values):.2f})")
    if len(comparison.seeds) >= 2:
        lines.append("  paired gain over scratch, points (95% CI), wins/ties/losses:")
        for arm, summary in paired_summaries(comparison).items():
            mean = summary.mean_difference
            lines.append(f"  {arm_label(arm):40s} {mean.value:+6.2f} ({mean.low:+.2f} to {mean.high:+.2f})  "
                         f"{summary.wins}/{summary.ties}/{summary.losses}")
            lines.append(f"    {verdict(summary, arm)}")
    return lines


def _sd(values: np.ndarray) -> float:
    return float(100 * values.std(ddof=1)) if len(values) > 1 else 0.0


# ---- every arm tuned ----

def picked_lines(found) -> list[str]:
    """Per arm, how many seeds picked each candidate rate on validation (found: a TunedComparison)."""
    rates = found.config.rates
    lines = [f"  rate picked on validation, seeds per rate ({tuning.rates_text(rates)}):"]
    for arm, counts in zip(ARMS, found.picked_counts()):
        lines.append(f"  {arm_label(arm):40s} " + "  ".join(f"{rate:g}: {count}" for rate, count in zip(rates, counts)))
    return lines


def gain(found, arm: str, *, tuned: bool) -> stats.Estimate:
    """The mean paired gain of `arm` over scratch in points, with its 95% t-interval: both arms tuned, or both at
    the regime's single rate (found: a TunedComparison)."""
    comparison = found.tuned if tuned else found.single
    return stats.mean_difference_estimate(stats.paired_differences(comparison.arm("scratch"), comparison.arm(arm)))


def gain_lines(found) -> list[str]:
    """Each pretrained arm's gain over scratch with every arm tuned, against the same arms at the regime's rate."""
    rate = found.config.own_rate
    lines = [f"  gain over scratch, points (95% CI): every arm tuned | every arm at the regime's rate {rate:g} "
             "(the same runs):"]
    for arm in PRETRAINED_ARMS:
        tuned, single = gain(found, arm, tuned=True), gain(found, arm, tuned=False)
        lines.append(f"  {arm_label(arm):40s} {_estimate_text(tuned)} | {_estimate_text(single)}")
    return lines


def tuned_table_lines(found) -> list[str]:
    """What `python -m core pretrain --tune` prints for one comparison (found: a TunedComparison)."""
    header = (f"{found.config.describe()}; {len(found.seeds)} seeds, {found.tuned.n_test} test images; every arm "
              "at its validation-picked rate")
    lines = table_lines(found.tuned, header) + picked_lines(found)
    return lines + (gain_lines(found) if len(found.seeds) >= 2 else [])


def survival_sentence(found, arm: str = "fine_tune_all") -> str:
    """How much of `arm`'s gain at the regime's single rate survives when every arm, scratch included, is tuned
    (found: a TunedComparison with at least 2 seeds), in numbers from its runs."""
    tuned, single = gain(found, arm, tuned=True), gain(found, arm, tuned=False)
    n_labels, rate = found.config.n_labels, found.config.own_rate
    direction = stats.reliable_direction(stats.paired_differences(found.tuned.arm("scratch"), found.tuned.arm(arm)))
    scratch_lift = 100 * (found.tuned.arm("scratch") - found.single.arm("scratch")).mean()
    arm_lift = 100 * (found.tuned.arm(arm) - found.single.arm(arm)).mean()
    if single.value > 0:
        share = (f"{tuned.value / single.value:.0%} of the single-rate gain survives a tuned scratch net"
                 if tuned.value > 0 else "none of the single-rate gain survives a tuned scratch net")
    else:
        share = "there was no single-rate gain to keep"
    return (f"With every arm tuned ({tuning.rates_text(found.config.rates)}, each seed's rate picked on validation), "
            f"{arm_label(arm)}'s gain over from scratch at {n_labels} labels is {_estimate_text(tuned)} points, "
            f"{FINDINGS[direction]}, against {_estimate_text(single)} with every arm at the single rate {rate:g}: "
            f"{share}. Tuning lifts from scratch by {scratch_lift:+.2f} points and {arm_label(arm)} by "
            f"{arm_lift:+.2f} (means over {len(found.seeds)} seeds).")


def _estimate_text(estimate: stats.Estimate) -> str:
    return f"{estimate.value:+.2f} ({estimate.low:+.2f} to {estimate.high:+.2f})"
