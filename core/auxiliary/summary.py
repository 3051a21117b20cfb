"""The reuse comparison's statistics: every arm against scratch, paired by seed, and the 12 arms' verdicts with
Holm's correction for comparing 12 arms at once.

Each arm's verdict follows core.stats' rules (the mean's 95% t-interval and the signed-rank test); the
corrected verdict applies them with the signed-rank p-value Holm-adjusted over the arms compared, so
"reliable" means: the t-interval excludes 0 *and* the Holm-adjusted signed-rank p < 0.05 agrees in sign.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from core import stats
from core.auxiliary.configs import ARMS, arm_label
from core.auxiliary.reuse_arms import ReuseResult

REUSE_ARMS = ARMS[1:]  # the 12 arms compared with scratch
CORRECTION = "Holm, on the signed-rank p-values"  # what the corrected verdicts adjust, for captions


def scope(result: ReuseResult) -> str:
    """What a verdict speaks for: this label count, over these seeds' sources and labelled subsets."""
    return f"with {result.config.n_labels} labels, over these seeds' sources and subsets"


def summaries(result: ReuseResult) -> dict:
    """{arm: core.stats.PairedSummary} of scratch (first) against every reuse arm, paired by seed."""
    if len(result.seeds) < 2:
        raise ValueError(f"A paired comparison needs at least 2 seeds, got {len(result.seeds)}.")
    return {arm: stats.summarize(result.arm("scratch"), result.arm(arm), n_test=result.n_test, scope=scope(result))
            for arm in REUSE_ARMS}


def named(text: str, arm: str) -> str:
    """core.stats' verdict sentence naming the arm instead of the transfer page's "B on A"/"B from scratch"."""
    return text.replace("B on A", arm_label(arm)).replace("B from scratch", "from scratch")


def verdict_text(summary, arm: str) -> str:
    """The unadjusted verdict's sentence, naming the arm."""
    return named(summary.verdict.text, arm)


def verdict_word(verdict) -> str:
    """"reliable loss", "tentative gain", "mixed", "none": the kind and, when it has one, the direction."""
    direction = {1: " gain", -1: " loss"}.get(verdict.direction, "")
    return verdict.kind + direction


@dataclass(frozen=True)
class ArmVerdict:
    """One arm against scratch: the plain statistics and the verdict corrected for the arms compared."""

    arm: str
    summary: stats.PairedSummary  # unadjusted: the mean's 95% t-interval, the signed-rank test, wins
    p_value: float  # the signed-rank test's two-sided p, unadjusted (NaN: every seed tied, no test)
    holm_p: float  # the same p, Holm-adjusted over the `n_arms` arms compared (NaN: no test)
    n_arms: int  # arms the adjustment counts: every arm compared
    verdict: stats.Verdict  # core.stats' rules with the Holm-adjusted p

    @property
    def text(self) -> str:
        """The corrected verdict's sentence, naming the arm and both p-values."""
        unadjusted = "no test" if math.isnan(self.p_value) else f"unadjusted p = {self.p_value:.3g}"
        return (f"{named(self.verdict.text, self.arm)} The signed-rank p is Holm-adjusted for {self.n_arms} arms "
                f"({unadjusted}).")


def arm_verdicts(result: ReuseResult) -> dict:
    """{arm: ArmVerdict} for the 12 reuse arms: each arm's signed-rank p Holm-adjusted over all 12, and core.stats'
    verdict recomputed with the adjusted p. An arm whose every seed ties with scratch has no test (its exact p
    would be 1): it still counts among the 12 arms compared, with p = 1."""
    found = summaries(result)
    raw = np.array([np.nan if summary.wilcoxon.p_value is None else summary.wilcoxon.p_value
                    for summary in found.values()])
    adjusted = np.where(np.isnan(raw), np.nan, stats.holm_adjusted(np.where(np.isnan(raw), 1.0, raw)))
    verdicts = {}
    for (arm, summary), p_value, holm_p in zip(found.items(), raw, adjusted):
        wilcoxon = dataclasses.replace(summary.wilcoxon, p_value=None if math.isnan(holm_p) else float(holm_p))
        verdict = stats.verdict(summary.differences, summary.mean_difference, wilcoxon, scope=scope(result))
        verdicts[arm] = ArmVerdict(arm, summary, float(p_value), float(holm_p), len(found), verdict)
    return verdicts
