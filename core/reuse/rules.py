"""The chapter's rules of thumb as paired comparisons over the stored seeds, each with what its own interval and
signed-rank test say: one of STATUSES per rule (and per size where the rule speaks of one size). How each
comparison is made and what a status means: docs/architecture.md, "core/reuse".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from core import data, stats, transfer
from core.reuse.configs import Cell

HOLDS, CONTRADICTED, NO_DIFFERENCE = "holds", "contradicted", "no reliable difference"
TOO_FEW_SEEDS, NEEDS_TWO_SIZES = "too few seeds", "needs two sizes"
STATUSES = (HOLDS, CONTRADICTED, NO_DIFFERENCE, TOO_FEW_SEEDS, NEEDS_TWO_SIZES)
RELIABLE_MIN_SEEDS = 6  # with 5 or fewer seeds the exact signed-rank p is at least 2/32 > 0.05: nothing is reliable

UNFREEZE_ONE_OR_TWO = "Freeze the reused layers, then unfreeze the top one or two"
MORE_DATA_MORE_LAYERS = "The more data, the more layers to unfreeze"
REDUCE_THE_RATE = "Reduce the learning rate when you unfreeze"
DROP_THE_TOP = "With little data, drop the top layers and freeze the rest"
LITTLE_DATA = "Reuse helps most with little data"
RULES = (UNFREEZE_ONE_OR_TWO, MORE_DATA_MORE_LAYERS, REDUCE_THE_RATE, DROP_THE_TOP, LITTLE_DATA)


@dataclass(frozen=True)
class RuleVerdict:
    """One comparison a rule of thumb stands for, and what its interval and test say."""

    rule: str  # the chapter's advice, in a few words (one of RULES)
    status: str  # one of STATUSES
    text: str  # plain sentences with the numbers, ending with the scope
    size: Optional[int] = None  # the training size it speaks about; None when it compares sizes
    variant: str = ""  # which version of the rule, e.g. "10x lower" for the rate rule

    @property
    def where(self) -> str:
        return "across sizes" if self.size is None else f"n = {self.size:,}"


@dataclass(frozen=True)
class Finding:
    """A paired comparison's numbers: differences (n_seeds,) in points, their mean's interval, the signed-rank
    test and the status they allow."""

    differences: np.ndarray
    mean: stats.Estimate
    test: stats.WilcoxonResult
    status: str

    @property
    def text(self) -> str:
        p = "no test" if self.test.p_value is None else f"signed-rank p = {self.test.p_value:.2g}"
        return f"{self.mean.value:+.2f} points (95% CI {self.mean.low:+.2f} to {self.mean.high:+.2f}; {p})"


def finding(differences) -> Finding:
    """What (n_seeds,) paired differences in points say, in the lab's one meaning of reliable."""
    d = np.asarray(differences, dtype=float)
    if len(d) < RELIABLE_MIN_SEEDS:
        status = TOO_FEW_SEEDS
    else:
        status = {1: HOLDS, -1: CONTRADICTED, 0: NO_DIFFERENCE}[stats.reliable_direction(d)]
    return Finding(d, stats.mean_difference_estimate(d), stats.wilcoxon_test(d), status)


def scope(summary, sizes) -> str:
    """The closing words of every verdict: what was fixed, so what the verdict speaks for."""
    negative, positive = summary.protocol.b_classes
    shown = ", ".join(f"{size:,}" for size in sizes)
    return (f" Scope: this pair ({data.CLASS_NAMES[positive]} vs {data.CLASS_NAMES[negative]}), this model A (seed "
            f"{transfer.MODEL_A_SEED}), {summary.protocol.total_b_epochs} epochs, n = {shown}, "
            f"{len(summary.seeds)} seeds.")


def gap(summary, size: int, first: Cell, second: Cell) -> np.ndarray:
    """(n_seeds,) test accuracy of `first` minus `second` at one size, points, paired by seed."""
    return 100 * (summary.result(size, first).test - summary.result(size, second).test)


def chosen_on_validation(summary, size: int, cells) -> Cell:
    """The cell with the highest mean validation accuracy (ties: the first given)."""
    cells = list(cells)
    scores = [summary.result(size, cell).validation.mean() for cell in cells]
    return cells[int(np.argmax(scores))]


def rule_verdicts(summary) -> tuple[RuleVerdict, ...]:
    """Every rule's verdicts on a core.reuse.summary.GridSummary: per size where the rule speaks of one size, per
    reduction for the rate rule, across sizes where it compares them."""
    return (*unfreeze_one_or_two(summary), more_data_more_layers(summary), *reduce_the_rate(summary),
            *drop_the_top(summary), little_data(summary))


def unfreeze_one_or_two(summary) -> list[RuleVerdict]:
    """Reuse all layers; unfreeze the top 1 or 2 (picked on validation) at the same rate vs keep all frozen."""
    top, verdicts = len(summary.protocol.hidden_units), []
    frozen = Cell(top, 0)
    tries = [Cell(top, u) for u in (1, 2) if u <= top]
    for size in summary.sizes:
        chosen = chosen_on_validation(summary, size, tries)
        found = finding(gap(summary, size, chosen, frozen))
        others = "".join(f" Unfreezing {cell.unfrozen} instead: {finding(gap(summary, size, cell, frozen)).text}."
                         for cell in tries if cell != chosen)
        picked = f"; picked on validation over unfreezing {' or '.join(str(c.unfrozen) for c in tries if c != chosen)}"
        verdicts.append(RuleVerdict(UNFREEZE_ONE_OR_TWO, found.status, (
            f"All {top} layers reused: unfreezing the top {chosen.unfrozen} after the frozen epochs, at the same rate "
            f"({summary.protocol.frozen_rate:g}{picked if len(tries) > 1 else ''}), rather than keeping them frozen: "
            f"{found.text} of test accuracy.{others}" + scope(summary, [size])), size))
    return verdicts


def more_data_more_layers(summary) -> RuleVerdict:
    """How much more unfreezing all layers (rather than none, same rate) gains at the largest size than at the
    smallest; the status follows that interval only."""
    top, sizes = len(summary.protocol.hidden_units), summary.sizes
    if len(sizes) < 2:
        return RuleVerdict(MORE_DATA_MORE_LAYERS, NEEDS_TWO_SIZES, "Needs at least two training sizes."
                           + scope(summary, sizes))
    small, large = sizes[0], sizes[-1]
    gain = {size: gap(summary, size, Cell(top, top), Cell(top, 0)) for size in (small, large)}
    found = finding(gain[large] - gain[small])
    same_rate = [cell for cell in summary.cells_of(sizes[0]) if cell.reduction == 1]
    best_u = [chosen_on_validation(summary, size, same_rate).unfrozen for size in sizes]
    return RuleVerdict(MORE_DATA_MORE_LAYERS, found.status, (
        f"Unfreezing all {top} reused layers rather than none, both at the same rate, gains {found.text} more at "
        f"n = {large:,} than at n = {small:,} (paired by seed). For information, not the verdict: the best "
        f"same-rate cell on validation unfreezes u = {', '.join(map(str, best_u))} at n = "
        f"{', '.join(f'{size:,}' for size in sizes)}." + scope(summary, (small, large))))


def reduce_the_rate(summary) -> list[RuleVerdict]:
    """Per reduction and size: every cell that unfreezes, at the reduced rate vs the same cell at the same rate,
    averaged over those cells per seed (the status), and counted cell by cell."""
    verdicts, protocol = [], summary.protocol
    for reduction in summary.rate_reductions:
        reduced = [cell for cell in summary.cells_of(summary.sizes[0]) if cell.reduction == reduction]
        for size in summary.sizes:
            per_cell = [gap(summary, size, cell, Cell(cell.reused, cell.unfrozen)) for cell in reduced]
            found = finding(np.mean(per_cell, axis=0))
            directions = [stats.reliable_direction(d) if len(d) >= RELIABLE_MIN_SEEDS else 0 for d in per_cell]
            counts = {sign: directions.count(sign) for sign in (1, -1, 0)}
            verdicts.append(RuleVerdict(REDUCE_THE_RATE, found.status, (
                f"Unfreezing at a {reduction:g}x lower rate ({protocol.frozen_rate / reduction:g} instead of "
                f"{protocol.frozen_rate:g}), each of the {len(reduced)} cells that unfreeze against the same cell at "
                f"the same rate, averaged per seed: {found.text}. Cell by cell (each tested on its own): reliably "
                f"better in {counts[1]}, reliably worse in {counts[-1]}, no reliable difference in {counts[0]}. "
                f"Every cell trains {protocol.unfrozen_epochs} epochs after unfreezing, so at a lower rate it also "
                "trains less: a loss may mean too few epochs for that rate, not a worse rate."
                + scope(summary, [size])), size, f"{reduction:g}x lower"))
    return verdicts


def drop_the_top(summary) -> list[RuleVerdict]:
    """At the smallest size: the best number of frozen layers below all (picked on validation) vs all frozen."""
    top, size = len(summary.protocol.hidden_units), summary.sizes[0]
    if top < 2:
        return []
    dropped = chosen_on_validation(summary, size, [Cell(r, 0) for r in range(top - 1, 0, -1)])
    found = finding(gap(summary, size, dropped, Cell(top, 0)))
    layers = "layer" if dropped.reused == 1 else "layers"
    return [RuleVerdict(DROP_THE_TOP, found.status, (
        f"Reusing {dropped.reused} frozen {layers} (the best number below {top} on validation) rather than all {top} "
        f"frozen: {found.text} of test accuracy." + scope(summary, [size])), size)]


def holm_seeds(n_cells: int) -> int:
    """The fewest seeds with which Holm's correction over n_cells can find anything: the smallest exact two-sided
    signed-rank p, 2 / 2^n (every seed the same sign), times n_cells must fall below 0.05."""
    n_seeds = 1
    while n_cells * 2 / 2 ** n_seeds >= stats.ALPHA:
        n_seeds += 1
    return n_seeds


def holm_direction(summary, size: int, cell: Cell) -> int:
    """+1 / -1 when a cell's gain over tuned B from scratch is reliable after Holm's correction over the size's
    cells: the gain's 95% t-interval excludes 0 on that side and the signed-rank p, Holm-adjusted over every cell
    of the size, is below 0.05 with the ranks on the same side; 0 otherwise (also with too few seeds)."""
    result = summary.result(size, cell)
    if result.n_seeds < RELIABLE_MIN_SEEDS:
        return 0
    ci_sign = 1 if result.gain.low > 0 else -1 if result.gain.high < 0 else 0
    adjusted = summary.holm_p[size, cell.key]
    significant = bool(np.isfinite(adjusted)) and adjusted < stats.ALPHA
    return ci_sign if ci_sign and significant and stats.wilcoxon_test(result.differences).direction == ci_sign else 0


def best_cell_text(summary, size: int) -> str:
    """The best cell's verdict at one size: its gain, its Holm-adjusted p over the size's cells, and whether that
    gain is reliable after the correction."""
    best, n_cells = summary.best[size], len(summary.cells_of(size))
    result, adjusted = summary.result(size, best), summary.holm_p[size, best.key]
    gain = result.gain
    p = ("no test" if not np.isfinite(adjusted) else
         f"signed-rank p = {result.p_value:.2g}, Holm-adjusted over {n_cells} cells {adjusted:.2g}")
    found = {1: "a reliable gain", -1: "a reliable loss", 0: "no reliable difference"}[
        holm_direction(summary, size, best)]
    return (f"{best.label}, {gain.value:+.2f} points (95% CI {gain.low:+.2f} to {gain.high:+.2f}; {p}): {found} "
            "after Holm")


def best_cell_note(summary) -> str:
    """How the best cells are picked and judged, and, when the seeds are too few for Holm's correction to find
    anything, how many it needs."""
    n_cells, n_seeds = len(summary.cells_of(summary.sizes[0])), len(summary.seeds)
    text = f"Each best cell is picked from {n_cells} cells on validation; verdict Holm-corrected for {n_cells}."
    if n_seeds < holm_seeds(n_cells):
        text += (f" With {n_seeds} seeds Holm over {n_cells} cells cannot find a reliable gain; run "
                 f"{holm_seeds(n_cells)} or more.")
    return text


def little_data(summary) -> RuleVerdict:
    """The best cell's gain over tuned B from scratch at the smallest size minus at the largest. Holds only when
    the best cell at the smallest size gains reliably after Holm's correction over its size's cells *and* the
    gain is reliably larger there; contradicted when it is reliably smaller."""
    sizes = summary.sizes
    gains = "; ".join(f"n = {size:,}: {best_cell_text(summary, size)}" for size in sizes)
    intro = (f"Gain of the best cell over B from scratch tuned per seed on validation ({gains}). "
             + best_cell_note(summary))
    if len(sizes) < 2:
        return RuleVerdict(LITTLE_DATA, NEEDS_TWO_SIZES, intro + " Comparing sizes needs at least two."
                           + scope(summary, sizes))
    small, large = sizes[0], sizes[-1]
    found = finding(summary.result(small, summary.best[small]).differences
                    - summary.result(large, summary.best[large]).differences)
    if found.status in (TOO_FEW_SEEDS, CONTRADICTED):
        status = found.status
    elif found.status == HOLDS and holm_direction(summary, small, summary.best[small]) > 0:
        status = HOLDS
    else:
        status = NO_DIFFERENCE
    return RuleVerdict(LITTLE_DATA, status, (
        f"{intro} The gain is {found.text} larger at n = {small:,} than at n = {large:,} (paired by seed); the rule "
        f"holds only if that is reliably above 0 and the best cell at n = {small:,} gains reliably after Holm."
        + scope(summary, (small, large))))
