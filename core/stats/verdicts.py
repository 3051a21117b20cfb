"""Plain words for a page, which must never claim more than the evidence supports: the verdict of a paired
comparison, the lab's one meaning of "reliable", and an estimate written with its interval."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.stats.intervals import Estimate, as_seeds, mean_difference_estimate
from core.stats.ranks import WilcoxonResult, wilcoxon_test


@dataclass(frozen=True)
class Verdict:
    """What the comparison supports, as a kind (for the page's box colour) and one or two sentences."""

    kind: str  # "reliable", "tentative", "mixed" (the mean and the ranks disagree) or "none"
    direction: int  # +1 gain for B on A, -1 loss, 0 neither (mixed or none)
    text: str


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
    d = as_seeds(differences, "differences")
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
    d = as_seeds(differences, "differences")
    found = verdict(d, mean_difference_estimate(d), wilcoxon_test(d))
    return found.direction if found.kind == "reliable" else 0


def interval_text(estimate: Estimate, fmt: str) -> str:
    """`value (95% CI low to high, method)`, or `value (95% CI unbounded: ...)` when the data cannot bound it."""
    level = f"{estimate.confidence:.0%} CI"
    if not estimate.bounded:
        return f"{estimate.value:{fmt}} ({level} unbounded: too few seeds for how much they vary)"
    method = f", {estimate.method}" if estimate.method else ""
    return f"{estimate.value:{fmt}} ({level} {estimate.low:{fmt}} to {estimate.high:{fmt}}{method})"
