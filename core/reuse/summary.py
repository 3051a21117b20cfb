"""What the stored rows of the reuse grid say: each cell's gain over B from scratch (tuned on validation, and at
the cells' own rate), the best cell per size, Holm's correction over the cells, and the rules' verdicts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

import numpy as np

from core import stats, transfer
from core.reuse.configs import DEFAULT_REDUCTIONS, MIN_SEEDS, Cell, check_reductions, grids
from core.reuse.rules import best_cell_text, holm_direction, holm_seeds, rule_verdicts
from core.runs import tuning


@dataclass(frozen=True)
class CellResult:
    """One cell at one size, over the stored seeds, paired by seed."""

    cell: Cell
    n_train: int
    validation: np.ndarray  # (n_seeds,) validation accuracy after the last epoch
    test: np.ndarray  # (n_seeds,) test accuracy
    differences: np.ndarray  # (n_seeds,) test-accuracy gain over tuned B from scratch, points
    gain: stats.Estimate  # mean of `differences`, t-interval
    gain_at_cells_rate: stats.Estimate  # mean gain over B from scratch at the cells' rate (frozen_rate), points
    p_value: float  # signed-rank p of `differences` (NaN when every seed ties)

    @property
    def n_seeds(self) -> int:
        return len(self.test)


@dataclass(frozen=True)
class GridSummary:
    """Everything the page and the command line show about the reuse grid."""

    protocol: transfer.TransferProtocol
    sizes: tuple[int, ...]  # (n_sizes,) task-B training sizes with enough stored seeds
    seeds: tuple[int, ...]  # the seeds every size holds (paired across cells and sizes)
    rate_reductions: tuple[float, ...]  # the unfrozen epochs' lower rates: frozen rate / each
    cells: dict  # {(n_train, cell key): CellResult}
    scratch: dict  # {n_train: core.runs.tuning.Search}, B from scratch's candidates, (n_seeds, n_candidates)
    best: dict  # {n_train: the Cell with the highest mean validation accuracy}
    holm_p: dict  # {(n_train, cell key): the cell's signed-rank p, Holm-adjusted over the size's cells}
    verdicts: tuple = ()  # core.reuse.rules.RuleVerdict per comparison

    def result(self, n_train: int, cell: Cell) -> CellResult:
        return self.cells[n_train, cell.key]

    def cells_of(self, n_train: int) -> list[Cell]:
        return [result.cell for (size, _), result in self.cells.items() if size == n_train]

    @property
    def cells_rate(self) -> float:
        """The rate every cell's frozen epochs run at (and the same-rate cells' unfrozen ones)."""
        return self.protocol.frozen_rate

    def scratch_tuned(self, n_train: int) -> np.ndarray:
        """(n_seeds,) B from scratch's test accuracy at each seed's rate picked on validation."""
        return self.scratch[n_train].tuned_test

    def scratch_at(self, n_train: int, rate: float) -> np.ndarray:
        """(n_seeds,) B from scratch's test accuracy with every seed at one rate of its grid."""
        return self.scratch[n_train].at(rate)

    def picked_rates(self, n_train: int) -> dict:
        """{rate: number of seeds that picked it} at one size."""
        rates, counts = np.unique(self.scratch[n_train].picked_rates, return_counts=True)
        return {float(rate): int(count) for rate, count in zip(rates, counts)}

    def tuning_gain(self, n_train: int, rate: float) -> stats.Estimate:
        """How much tuned B from scratch beats B from scratch at `rate` on the test set (points, t-interval): what
        a gain measured against the untuned baseline would have borrowed from the baseline's rate."""
        return stats.mean_difference_estimate(100 * (self.scratch_tuned(n_train) - self.scratch_at(n_train, rate)))

    def reliable_after_holm(self, n_train: int) -> list[Cell]:
        """The cells whose gain over tuned scratch is reliably above 0 with the signed-rank p Holm-adjusted for
        having looked at every cell of the size (interval above 0, ranks in favour, adjusted p < 0.05)."""
        return [cell for cell in self.cells_of(n_train) if holm_direction(self, n_train, cell) > 0]

    def heatmap(self, n_train: int, reduction: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean gain over tuned scratch, low and high (points), each (n_hidden, n_hidden + 1): row r-1, column u;
        NaN where no cell (u > r); column 0 is the stay-frozen cell whatever `reduction` (1: the same rate)."""
        n_hidden = len(self.protocol.hidden_units)
        grids = [np.full((n_hidden, n_hidden + 1), np.nan) for _ in range(3)]
        for cell in self.cells_of(n_train):
            if cell.reduction == reduction or cell.unfrozen == 0:
                gain = self.result(n_train, cell).gain
                for grid, value in zip(grids, (gain.value, gain.low, gain.high)):
                    grid[cell.reused - 1, cell.unfrozen] = value
        return tuple(grids)


def summarize_grid(protocol: transfer.TransferProtocol, sizes, seeds, store, *,
                   rate_reductions=DEFAULT_REDUCTIONS) -> Optional[GridSummary]:
    """The grid's statistics from the store (None when no size has MIN_SEEDS seeds stored)."""
    size_grids = grids(protocol, sizes, rate_reductions)
    stored = {grid.n_train: (grid, store.results(grid, seeds)) for grid in sorted(size_grids, key=lambda g: g.n_train)}
    stored = {size: pair for size, pair in stored.items() if len(pair[1]) >= MIN_SEEDS}
    common = set.intersection(*({row.seed for row in rows} for _, rows in stored.values())) if stored else set()
    if len(common) < MIN_SEEDS:  # paired across sizes too: only the seeds every size holds
        return None
    table, scratch, best, holm = {}, {}, {}, {}
    for size, (grid, rows) in stored.items():
        rows = [row for row in rows if row.seed in common]
        search = tuning.search_of_rows([row.result["scratch_search"] for row in rows])
        scratch[size] = search
        tuned_test = search.tuned_test
        at_cells_rate = search.at(protocol.frozen_rate)
        for cell in grid.cells:
            test = np.array([row.result[f"{cell.key}_test_accuracy"] for row in rows])
            val = np.array([row.result[f"{cell.key}_val_accuracy"] for row in rows])
            differences = 100 * (test - tuned_test)
            p_value = stats.wilcoxon_test(differences).p_value
            table[size, cell.key] = CellResult(
                cell, size, val, test, differences, stats.mean_difference_estimate(differences),
                stats.mean_difference_estimate(100 * (test - at_cells_rate)),
                np.nan if p_value is None else float(p_value))
        adjusted = stats.holm_adjusted([table[size, cell.key].p_value for cell in grid.cells])
        holm.update({(size, cell.key): float(p) for cell, p in zip(grid.cells, adjusted)})
        best[size] = max(grid.cells, key=lambda cell: (table[size, cell.key].validation.mean(), -cell.reused,
                                                       -cell.unfrozen, -cell.reduction))
    summary = GridSummary(protocol, tuple(stored), tuple(sorted(common)), check_reductions(rate_reductions),
                          table, scratch, best, holm)
    return dataclasses.replace(summary, verdicts=rule_verdicts(summary))


def _points(estimate: stats.Estimate) -> str:
    return f"{estimate.value:+.2f} (95% CI {estimate.low:+.2f} to {estimate.high:+.2f})"


def baseline_text(summary: GridSummary, size: int) -> str:
    """B from scratch at one size: tuned (with the picks), at the cells' rate and at the protocol's own rate."""
    protocol = summary.protocol
    picks = ", ".join(f"{rate:g} x{count}" for rate, count in summary.picked_rates(size).items())
    return (f"B from scratch tuned on validation {100 * summary.scratch_tuned(size).mean():.2f}% (picked {picks}), at "
            f"the cells' {protocol.frozen_rate:g} {100 * summary.scratch_at(size, protocol.frozen_rate).mean():.2f}%, "
            f"at the protocol's {protocol.learning_rate:g} "
            f"{100 * summary.scratch_at(size, protocol.learning_rate).mean():.2f}%")


def holm_text(summary: GridSummary, size: int) -> str:
    """How many cells beat tuned B from scratch reliably after Holm's correction over all of them, or why none
    can at this many seeds."""
    n_cells, n_seeds = len(summary.cells_of(size)), len(summary.seeds)
    if n_seeds < holm_seeds(n_cells):
        return (f"with {n_seeds} seeds Holm's correction over {n_cells} cells cannot find any reliable gain (even "
                f"all seeds alike give p = 2/2^{n_seeds}, times {n_cells} above 0.05; it needs "
                f"{holm_seeds(n_cells)} seeds)")
    return (f"{len(summary.reliable_after_holm(size))} of {n_cells} cells reliably above tuned scratch after Holm's "
            f"correction over all {n_cells}")


def summary_lines(summary: GridSummary) -> list[str]:
    """The grid as text for the command line: per size the baseline and the best cell, then every verdict."""
    grid_text = tuning.rates_text(next(iter(summary.scratch.values())).rates)
    lines = [f"seeds: {len(summary.seeds)} (paired across cells and sizes); one model A (seed "
             f"{transfer.MODEL_A_SEED}); gains are B on A minus B from scratch tuned per seed on validation over "
             f"{grid_text} (or at the cells' rate), test accuracy points, 95% t-intervals"]
    for size in summary.sizes:
        best = summary.result(size, summary.best[size])
        lines.append(f"n = {size:,}: {baseline_text(summary, size)}; best cell on validation over tuned scratch: "
                     f"{best_cell_text(summary, size)} (picked from {len(summary.cells_of(size))} cells on "
                     f"validation; verdict Holm-corrected for {len(summary.cells_of(size))}); "
                     f"{_points(best.gain_at_cells_rate)} over scratch at the cells' rate; {holm_text(summary, size)}")
    for verdict in summary.verdicts:
        variant = f" ({verdict.variant})" if verdict.variant else ""
        lines.append(f"{verdict.rule}{variant}, {verdict.where}: {verdict.status.upper()}. {verdict.text}")
    return lines


def verdict_rows(summary: GridSummary) -> list[dict]:
    """The verdicts as a table: one row per rule (and variant), a column per size and one across sizes, each
    cell a status (empty where the rule says nothing)."""
    columns = [f"n = {size:,}" for size in summary.sizes] + ["across sizes"]
    rows = {}
    for verdict in summary.verdicts:
        name = verdict.rule + (f" ({verdict.variant})" if verdict.variant else "")
        rows.setdefault(name, {"rule": name, **{column: "" for column in columns}})[verdict.where] = verdict.status
    return list(rows.values())
