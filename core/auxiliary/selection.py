"""Naming one best arm honestly: picked on validation images (never on the test set), from the 12 reuse arms,
then judged on test with the verdict Holm-corrected for having compared 12 arms.

Picking the arm with the largest mean *test* gain and showing its plain 95% verdict would report the luckiest
of 12 draws as if it were the only one: the pick is made here on the target pair's validation images (each
arm at its stored rate, or its validation-picked rate when tuned), and the test set only judges it.

    best = headline(result)            # None without validation scores or with fewer than 2 seeds
    tone, text = headline_box(best)    # "success", "error", "warning" or "info", and the box's sentence
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from core.auxiliary.configs import ARMS, arm_label
from core.auxiliary.reuse_arms import ReuseResult
from core.auxiliary.summary import ArmVerdict, arm_verdicts


def validation_gains(validation) -> np.ndarray:
    """(len(ARMS) - 1,) each reuse arm's mean validation gain over scratch in points, from validation accuracy
    (n_seeds, len(ARMS)) with scratch first; NaN where a seed has no validation score for that arm."""
    validation = np.asarray(validation, dtype=float)
    if validation.ndim != 2 or validation.shape[1] != len(ARMS) or len(validation) < 1:
        raise ValueError(f"Validation accuracy must be (n_seeds, {len(ARMS)}) with scratch first, "
                         f"got shape {validation.shape}.")
    return 100 * np.mean(validation[:, 1:] - validation[:, :1], axis=0)


def pick_on_validation(validation) -> Optional[str]:
    """The reuse arm with the largest mean validation gain over scratch (ties: the first in ARMS order; an arm
    with a missing score is never picked); None if no arm has a score."""
    gains = validation_gains(validation)
    if not np.isfinite(gains).any():
        return None
    return ARMS[1 + int(np.argmax(np.where(np.isfinite(gains), gains, -np.inf)))]


@dataclass(frozen=True)
class Headline:
    """The arm a page or the command line names best, and how it was chosen."""

    arm: str  # picked on validation
    n_arms: int  # arms it was picked from
    n_labels: int
    validation_gain: float  # its mean validation gain over scratch, points: the pick's criterion
    test: ArmVerdict  # its test comparison with scratch, the verdict Holm-corrected for the arms compared


def headline(result: ReuseResult) -> Optional[Headline]:
    """The validation-picked arm of `result` with its corrected test verdict; None when the rows have no
    validation scores (stored before they were kept) or there are fewer than 2 seeds (no paired statistics)."""
    if result.validation is None or len(result.seeds) < 2:
        return None
    arm = pick_on_validation(result.validation)
    if arm is None:
        return None
    gain = float(validation_gains(result.validation)[ARMS.index(arm) - 1])
    return Headline(arm, len(ARMS) - 1, result.config.n_labels, gain, arm_verdicts(result)[arm])


def headline_box(best: Headline) -> tuple[str, str]:
    """(tone, text) of the page's box: a reliable gain "success", a reliable loss "error", tentative or mixed
    evidence "warning", no reliable difference "info"; the text says how the arm was picked and what test says,
    a loss in the words of a loss."""
    verdict, mean = best.test.verdict, best.test.summary.mean_difference.value
    tone = ("success" if verdict.kind == "reliable" and verdict.direction > 0 else
            "error" if verdict.kind == "reliable" else "warning" if verdict.kind in ("tentative", "mixed") else "info")
    label = f"**{arm_label(best.arm)}**"
    if best.validation_gain > 0:
        picked = (f"Best on validation with {best.n_labels} labels, picked from {best.n_arms} arms: {label} "
                  f"(mean validation gain {best.validation_gain:+.2f} points over scratch).")
    else:
        picked = (f"No arm's mean validation gain over scratch is above 0 with {best.n_labels} labels; the closest, "
                  f"picked from {best.n_arms} arms: {label} ({best.validation_gain:+.2f} points).")
    on_test = (f"On test it loses {-mean:.2f} points to scratch on average." if mean < 0 else
               f"On test it gains {mean:.2f} points over scratch on average." if mean > 0 else
               "On test it ties with scratch on average.")
    return tone, f"{picked} {on_test} {best.test.text}"
