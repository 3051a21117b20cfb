"""The comparison as a table (the page's dataframe, the command line's lines): every arm at every label count,
its paired gain over scratch with the 95% interval, both p-values and the verdict corrected for 12 arms, and the
headline arm picked on validation."""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from core.auxiliary.configs import ARMS, arm_label
from core.auxiliary.selection import headline, headline_box, validation_gains
from core.auxiliary.summary import CORRECTION, arm_verdicts, verdict_word
from core.runs import tuning

HOLM_COLUMN = f"p (Holm, {len(ARMS) - 1} arms)"


def _p(value: float) -> Optional[float]:
    return None if math.isnan(value) else float(f"{value:.3g}")


def picked_text(search: tuning.Search) -> str:
    """"1e-03 x4, 3e-03 x6": the rates an arm's seeds picked on validation, with how many seeds picked each."""
    rates, counts = np.unique(search.picked_rates, return_counts=True)
    return ", ".join(f"{rate:g} x{count}" for rate, count in zip(rates, counts))


def table_rows(results: dict, searches: Optional[dict] = None) -> list[dict]:
    """One row per (label count, arm) of {n_labels: ReuseResult}: mean test accuracy, mean validation gain
    (when stored), the paired test gain over scratch with its 95% CI, wins/ties/losses, the signed-rank p,
    the same p Holm-adjusted over the 12 arms, the verdict with the adjusted p, and the unadjusted verdict;
    with `searches` ({n_labels: {arm: Search}}, tuned rows) the rates each arm's seeds picked."""
    rows = []
    for n_labels, result in results.items():
        verdicts = arm_verdicts(result) if len(result.seeds) >= 2 else {}
        gains = None if result.validation is None else validation_gains(result.validation)
        for index, arm in enumerate(ARMS):
            values = result.arm(arm)
            row = {"labels": n_labels, "arm": arm_label(arm), "accuracy %": round(100 * float(values.mean()), 2),
                   "sd": round(100 * float(values.std(ddof=1)), 2) if len(values) > 1 else 0.0}
            if searches is not None:
                row["picked rates"] = picked_text(searches[n_labels][arm])
            if gains is not None and index:
                row["validation gain"] = round(float(gains[index - 1]), 2)
            if arm in verdicts:
                found = verdicts[arm]
                mean, summary = found.summary.mean_difference, found.summary
                row.update({"gain (points)": round(mean.value, 2), "95% CI low": round(mean.low, 2),
                            "95% CI high": round(mean.high, 2),
                            "wins/ties/losses": f"{summary.wins}/{summary.ties}/{summary.losses}",
                            "p (signed-rank)": _p(found.p_value), HOLM_COLUMN: _p(found.holm_p),
                            "verdict": verdict_word(found.verdict),
                            "uncorrected verdict": verdict_word(summary.verdict)})
            rows.append(row)
    return rows


def table_lines(results: dict, searches: Optional[dict] = None) -> list[str]:
    """The comparison table the command line prints, then each label count's headline."""
    first = next(iter(results.values()))
    lines = [f"{first.config.describe()}; {len(first.seeds)} seeds, {first.n_test} test images",
             f"verdicts corrected for {len(ARMS) - 1} arms ({CORRECTION}); uncorrected verdict in brackets"]
    header = (f"{'labels':>6}  {'arm':40s} {'accuracy':>9} {'sd':>5}  {'gain (95% CI)':>24}  w/t/l    "
              f"{'p':>7} {'Holm p':>7}  verdict")
    lines.append(header)
    for row in table_rows(results, searches):
        gain = (f"{row['gain (points)']:+6.2f} ({row['95% CI low']:+.2f} to {row['95% CI high']:+.2f})"
                if "gain (points)" in row else "")
        p_values = " ".join(f"{'' if row.get(key) is None else format(row[key], '.3g'):>7}"
                            for key in ("p (signed-rank)", HOLM_COLUMN))
        verdict = f"{row['verdict']} ({row['uncorrected verdict']})" if "verdict" in row else ""
        picked = f"  picked: {row['picked rates']}" if "picked rates" in row else ""
        lines.append(f"{row['labels']:>6}  {row['arm']:40s} {row['accuracy %']:8.2f}% {row['sd']:5.2f}  {gain:>24}  "
                     f"{row.get('wins/ties/losses', ''):8s} {p_values}  {verdict}{picked}")
    return lines + headline_lines(results)


def headline_lines(results: dict) -> list[str]:
    """Per label count, the arm picked on validation and its corrected test verdict (or why there is none)."""
    lines = []
    for n_labels, result in results.items():
        best = headline(result)
        if best is None:
            reason = ("fewer than 2 seeds" if len(result.seeds) < 2 else
                      "these rows were stored without validation scores")
            lines.append(f"{n_labels} labels: no arm named best ({reason}).")
        else:
            tone, text = headline_box(best)
            lines.append(f"{n_labels} labels [{tone}]: {text.replace('**', '')}")
    return lines
