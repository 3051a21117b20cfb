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
    return lines + [f"  note: {note}" for note in edge_notes(found)]


def edge_notes(found) -> list[str]:
    """One warning per arm whose seeds mostly picked an end of the grid (core.runs.tuning.edge_note); found: a
    TunedComparison."""
    notes = (tuning.edge_note(found.config.rates, counts, arm_label(arm))
             for arm, counts in zip(ARMS, found.picked_counts()))
    return [note for note in notes if note]


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
    """What tuning every arm, scratch included, does to `arm`'s gain over scratch (found: a TunedComparison with at
    least 2 seeds): both gains with their intervals, and per seed the change d = (tuned arm - tuned scratch) -
    (single arm - single scratch) in points, judged by stats.reliable_direction. The share of the single-rate gain
    left (a ratio of means) is given only when the single-rate gain is itself reliably above 0."""
    tuned, single = gain(found, arm, tuned=True), gain(found, arm, tuned=False)
    tuned_d = stats.paired_differences(found.tuned.arm("scratch"), found.tuned.arm(arm))
    single_d = stats.paired_differences(found.single.arm("scratch"), found.single.arm(arm))
    change = stats.mean_difference_estimate(tuned_d - single_d)
    shift = stats.reliable_direction(tuned_d - single_d)
    if shift < 0:
        effect = (f"tuning every arm reliably shrinks the gain by {-change.value:.2f} ({-change.high:.2f} to "
                  f"{-change.low:.2f}) points")
    elif shift > 0:
        effect = (f"tuning every arm reliably grows the gain by {change.value:.2f} ({change.low:.2f} to "
                  f"{change.high:.2f}) points")
    else:
        effect = f"no reliable change in the gain, {_estimate_text(change)} points"
    if stats.reliable_direction(single_d) > 0:
        effect += f"; in means, the tuned gain is {tuned.value / single.value:.0%} of the single-rate gain"
    return (f"Every arm tuned ({tuning.rates_text(found.config.rates)}, picked per seed on validation), "
            f"{arm_label(arm)} vs from scratch at {found.config.n_labels} labels: {_estimate_text(tuned)} points, "
            f"{FINDINGS[stats.reliable_direction(tuned_d)]}; every arm at the single rate {found.config.own_rate:g}: "
            f"{_estimate_text(single)}, {FINDINGS[stats.reliable_direction(single_d)]}; {effect} "
            f"({len(found.seeds)} seeds, 95% t-intervals).")


def _estimate_text(estimate: stats.Estimate) -> str:
    return f"{estimate.value:+.2f} ({estimate.low:+.2f} to {estimate.high:+.2f})"
