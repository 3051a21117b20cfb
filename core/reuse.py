"""The reuse explorer: which of the chapter's rules of thumb for reusing a pretrained net hold on this data.

The chapter's advice: find the right number of layers to reuse; freeze all reused layers first, then try
unfreezing one or two of the top hidden layers; the more training data, the more layers you can unfreeze;
reduce the learning rate when you unfreeze; with little data, drop the top hidden layers and freeze the
rest. Each becomes a comparison against B from scratch on the same images, over many seeds, paired.

The grid, for one task-B training size n (a `ReuseGrid`, one store row per seed):
- a cell (r, u, rate) reuses model A's first r hidden layers (the top ones dropped) under a fresh sigmoid
  output, trains `frozen_epochs` with all r frozen at the frozen phase's rate, then `unfrozen_epochs` with the
  top u of them unfrozen (u = 0: all stay frozen) at that rate divided by `rate_reduction` ("lower") or at
  the same rate ("same"; the only rate for u = 0, where nothing is unfrozen);
- the baseline is model B from scratch (the protocol's full hidden stack, b_epochs at its learning rate) on
  the same n images with the same seed; each seed draws its own n images from task B's training images;
- one model A (seed 42) serves every seed, as in the comparison's default, so a verdict speaks for this
  model A and this test set; the best cell per n is chosen on validation accuracy, so its test gain is not
  inflated by choosing on the test set.

Speed: all cells and seeds of one n train in 2 engine calls per number of reused layers, plus one for B from
scratch: copies differ in their frozen layers and learning rates (`engine.Phase` per copy); the cells that
keep the first layer frozen share a call, which computes that layer's output once per seed and caches it.
With LAB_RAY_ADDRESS set, one size's chunk of seeds (`grid_unit`) is one unit on a Ray cluster (core.cluster).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import ClassVar, Optional

import numpy as np

from core import cluster, data, transfer
from core.progress import ProgressCallback, Stages, report

DEFAULT_SIZES = (50, 200, 1_000, 5_000)  # task-B training sizes of the default grid (the command line's)
PAGE_DEFAULT_SIZES = (50, 200, 1_000)  # the page's default: a few minutes on 2 cores (5,000 is one click away)
# Seconds per seed (all cells and B from scratch) on an idle 2-core machine, for the page's time hint: from
# `python -m bench.transfer_speed` (2026-11-30, stop 22's run), the page's default grid (50, 200, 1,000 x 10 seeds)
# 185 s and the full grid 607 s, so 5,000 images take 42 s per seed; the three small sizes split in the
# proportions an earlier run measured (5 : 6 : 12).
SECONDS_PER_SEED = {50: 4.0, 200: 4.8, 1_000: 9.7, 5_000: 42.2}
DEFAULT_SEEDS = 10  # seeds per cell (the issue asks for at least 10)
TINY_SIZES = (20, 60)  # sizes of the tiny preset (tests, LAB_PRESET=tiny)
RATES = ("lower", "same")  # the rate after unfreezing: divided by rate_reduction, or the frozen phase's rate
MIN_SEEDS = 3  # fewer seeds give no interval
MAX_SEEDS = 100  # the most seeds one grid may ask for


@dataclass(frozen=True)
class Cell:
    """One way to reuse model A: the first `reused` hidden layers, the top `unfrozen` of them unfrozen after the
    frozen epochs, at the `rate` RATES names."""

    reused: int  # r: model A's hidden layers kept (the ones above are dropped), 1..len(hidden_units)
    unfrozen: int  # u: top reused layers unfrozen after the frozen epochs, 0..reused (0: all stay frozen)
    rate: str  # "lower" (frozen rate / rate_reduction) or "same"; always "same" when unfrozen == 0

    @property
    def key(self) -> str:
        """Its name in a stored row, e.g. "r5_u2_lower"."""
        return f"r{self.reused}_u{self.unfrozen}_{self.rate}"

    @property
    def label(self) -> str:
        rate = "" if self.unfrozen == 0 else f", {self.rate} rate"
        return f"reuse {self.reused}, unfreeze {self.unfrozen}{rate}"


def grid_cells(n_hidden: int) -> tuple[Cell, ...]:
    """Every cell for a hidden stack of n_hidden layers: r = 1..n_hidden, u = 0..r, both rates when u > 0."""
    return tuple(Cell(r, u, rate) for r in range(1, n_hidden + 1) for u in range(r + 1)
                 for rate in (RATES if u else ("same",)))


@dataclass(frozen=True)
class ReuseGrid:
    """One task-B training size of the reuse explorer: every cell and B from scratch, one store row per seed."""

    VERSION: ClassVar[int] = 1  # bump if the meaning of a stored row changes
    UNIT_KIND: ClassVar[str] = "grid"  # what a cluster worker runs for a chunk of its seeds (core.cluster)
    protocol: transfer.TransferProtocol  # model A, the task-B pair, epochs and learning rates
    n_train: int  # task-B training images per seed (each seed draws its own from task B's training images)
    rate_reduction: float = 10.0  # "reduce the learning rate when you unfreeze": the lower rate is frozen rate / this

    def __post_init__(self):
        if self.n_train < 1:
            raise ValueError(f"The task-B training size must be at least 1 image, got {self.n_train}.")
        if not (np.isfinite(self.rate_reduction) and self.rate_reduction > 1):
            raise ValueError(f"The rate reduction must be a number above 1, got {self.rate_reduction}.")

    @classmethod
    def tiny(cls, n_train: int = TINY_SIZES[0], b_classes=(5, 6)) -> "ReuseGrid":
        """The tiny protocol (two hidden layers, a few epochs) for tests and LAB_PRESET=tiny."""
        return cls(transfer.PROTOCOLS["tiny"].with_pair(b_classes), n_train)

    def a_seed(self, _seed: int) -> int:
        """The model A a seed's cells start from: one for every seed (the book's seed 42)."""
        return transfer.MODEL_A_SEED

    @property
    def cells(self) -> tuple[Cell, ...]:
        return grid_cells(len(self.protocol.hidden_units))

    @property
    def lower_rate(self) -> float:
        return self.protocol.frozen_rate / self.rate_reduction

    def rate_of(self, cell: Cell) -> float:
        """The learning rate of the cell's unfrozen epochs."""
        return self.lower_rate if cell.rate == "lower" else self.protocol.frozen_rate

    def with_size(self, n_train: int) -> "ReuseGrid":
        return dataclasses.replace(self, n_train=int(n_train))

    def b_config(self, reused: int):
        """The engine architecture of a cell with `reused` layers: model A's first layers, one sigmoid output."""
        _, full = transfer.engine_configs(self.protocol)
        return dataclasses.replace(full, hidden_units=self.protocol.hidden_units[:reused])


def sizes_for(protocol: transfer.TransferProtocol, sizes) -> tuple[int, ...]:
    """Check training sizes against task B's training images (each seed draws that many without replacement)."""
    sizes = tuple(sorted({int(size) for size in sizes}))
    if not sizes:
        raise ValueError("Choose at least one task-B training size.")
    available = len(_task_b_pool(protocol)[1])
    if sizes[0] < 1 or sizes[-1] > available:
        raise ValueError(f"Choose task-B training sizes between 1 and {available:,} (the task-B training images of "
                         f"this pair); got {list(sizes)}.")
    return sizes


def seed_list(n_seeds) -> tuple[int, ...]:
    """Seeds 0..n-1 (the page and the command line use the same ones)."""
    from core.inputs import whole_number

    return tuple(range(whole_number(n_seeds, MIN_SEEDS, MAX_SEEDS, "seeds")))


@functools.lru_cache(maxsize=4)
def _task_b_pool(protocol: transfer.TransferProtocol):
    """Task B's training images (N, 28, 28) and labels (N,) of the book split, which each seed draws from."""
    splits = data.load_book_splits()
    _, (x_b, y_b) = data.split_task_a_b(splits.x_train, splits.y_train, protocol.b_classes)
    return x_b, y_b


# ---- training ----

@dataclass(frozen=True)
class _Call:
    """One engine call of a grid chunk: an architecture and the copies (cell or scratch, seed) it trains."""

    reused: int  # architecture: the first `reused` hidden layers (scratch uses the full stack)
    members: tuple  # (Cell or None for B from scratch, seed) per copy

    def describe(self, grid: ReuseGrid) -> str:
        """The cells being trained, for progress messages: "n = 1,000: reuse 3, unfreeze 0-2 (both rates)"."""
        cells = [member for member, _ in self.members if member is not None]
        if not cells:
            return f"n = {grid.n_train:,}: B from scratch"
        low, high = min(cell.unfrozen for cell in cells), max(cell.unfrozen for cell in cells)
        unfrozen = str(low) if low == high else f"{low}-{high}"
        rates = " (both rates)" if high > 0 else ""
        return f"n = {grid.n_train:,}: reuse {self.reused}, unfreeze {unfrozen}{rates}"


def _calls(grid: ReuseGrid, seeds) -> list[_Call]:
    """The engine calls of one chunk of seeds, every seed and both rates stacked: per number of reused layers r,
    the cells that keep the first layer frozen (u < r; it is computed once per seed and cached, the layers each
    copy unfreezes differ per copy), then the cells that unfreeze all r; then B from scratch."""
    n_hidden = len(grid.protocol.hidden_units)
    calls = []
    for reused in range(1, n_hidden + 1):
        for group in ([cell for cell in grid.cells if cell.reused == reused and cell.unfrozen < reused],
                      [cell for cell in grid.cells if cell.reused == reused and cell.unfrozen == reused]):
            calls.append(_Call(reused, tuple((cell, seed) for cell in group for seed in seeds)))
    return calls + [_Call(n_hidden, tuple((None, seed) for seed in seeds))]


def _call_phases(grid: ReuseGrid, call: _Call):
    """Per-copy phases: B from scratch at its rate with nothing frozen (b_epochs split where B on A unfreezes;
    plain SGD keeps no state, so the split changes nothing), a cell frozen then unfrozen at its rate."""
    from core import engine

    protocol = grid.protocol
    first_rates, first_frozen, second_rates, second_frozen = [], [], [], []
    for cell, _ in call.members:
        if cell is None:
            first_rates.append(protocol.learning_rate), first_frozen.append(0)
            second_rates.append(protocol.learning_rate), second_frozen.append(0)
        else:
            first_rates.append(protocol.frozen_rate), first_frozen.append(-1)
            second_rates.append(grid.rate_of(cell)), second_frozen.append(cell.reused - cell.unfrozen)
    return [engine.Phase(protocol.frozen_epochs, tuple(first_rates), frozen_layers=tuple(first_frozen)),
            engine.Phase(protocol.unfrozen_epochs, tuple(second_rates), frozen_layers=tuple(second_frozen))]


def _check_protocol(protocol: transfer.TransferProtocol) -> None:
    if protocol.b_epochs != protocol.total_b_epochs:
        raise ValueError(f"The reuse grid compares arms trained for the same number of epochs; this protocol trains "
                         f"B from scratch for {protocol.b_epochs} and B on A for {protocol.total_b_epochs}.")


def _initial_weights(config, a_config, a_weights, call: _Call) -> tuple[np.ndarray, ...]:
    """Each copy's start: B from scratch its seed's Keras initialisation; a cell model A's first layers with its
    seed's fresh output layer (the same for every cell of one seed, so cells stay paired)."""
    from core import engine

    unique = sorted({seed for _, seed in call.members})
    position = {seed: index for index, seed in enumerate(unique)}
    if all(cell is None for cell, _ in call.members):
        return engine.initial_weights(config, [seed for _, seed in call.members])
    tiled = tuple(np.repeat(array, len(unique), axis=0) for array in a_weights)
    reused = engine.transfer_weights(tiled, a_config, config, unique)
    fresh = engine.initial_weights(config, unique) if any(cell is None for cell, _ in call.members) else reused
    return tuple(np.stack([(f if cell is None else r)[position[seed]] for cell, seed in call.members])
                 for f, r in zip(fresh, reused))


def train_grid_chunk(grid: ReuseGrid, seeds, store, progress: Optional[ProgressCallback] = None) -> dict:
    """Train every cell and B from scratch for `seeds` at one size; returns {seed: row dict} (nothing saved here
    but model A, trained first if its `.keras` file is missing). The training itself is `grid_unit`.
    """
    _check_protocol(grid.protocol)
    return grid_unit(grid, seeds, transfer.model_a_weights(grid.protocol, [transfer.MODEL_A_SEED], store), progress)


def grid_unit(grid: ReuseGrid, seeds, a_weights, progress: Optional[ProgressCallback] = None) -> dict:
    """`train_grid_chunk`'s engine calls, given model A's weights (seed MODEL_A_SEED, one copy, copy axis first):
    {seed: row dict}, no store read or written (a unit a cluster worker runs; core.cluster saves its rows).

    A row holds, for B from scratch and each cell (`Cell.key`), the validation and test accuracy after the
    last epoch, and the test errors (exact counts of n_test images).
    """
    from core import engine

    protocol, seeds = grid.protocol, [int(seed) for seed in seeds]
    _check_protocol(protocol)
    a_config, _ = transfer.engine_configs(protocol)
    tasks = transfer.protocol_tasks(protocol)
    x_pool, y_pool = _task_b_pool(protocol)
    chosen = {seed: transfer.b_subset(len(y_pool), grid.n_train, seed) for seed in seeds}
    calls = _calls(grid, seeds)
    epochs = protocol.total_b_epochs
    results = {seed: {} for seed in seeds}
    for number, call in enumerate(calls):
        config = grid.b_config(call.reused)
        copy_seeds = [seed for _, seed in call.members]
        train = engine.Subsets(x_pool, tuple(chosen[seed] for seed in copy_seeds),
                               tuple(y_pool[chosen[seed]] for seed in copy_seeds))
        initial = _initial_weights(config, a_config, a_weights, call)
        label = call.describe(grid)
        run = engine.train(config, engine.Data(train, None, x_test=tasks.x_test_b, y_test=tasks.y_test_b),
                           _call_phases(grid, call), copy_seeds, protocol.batch_size, initial=initial,
                           progress=lambda done, _total, _message, number=number, label=label: report(
                               progress, number * epochs + done, len(calls) * epochs,
                               f"{label}, seeds {seeds[0]}-{seeds[-1]}: epoch {done}/{epochs}"))
        _, val_accuracy = engine.evaluate(config, run.weights, tasks.x_valid_b, tasks.y_valid_b)
        for copy, (cell, seed) in enumerate(call.members):
            results[seed]["scratch" if cell is None else cell.key] = (float(val_accuracy[copy]),
                                                                       float(run.test_accuracy[copy]))
    n_test = len(tasks.y_test_b)
    rows = {}
    for seed in seeds:
        row = {"n_test": n_test, "n_valid": len(tasks.y_valid_b), "subset_seed": seed,
               "a_seed": transfer.MODEL_A_SEED}
        for key, (val_accuracy, test_accuracy) in results[seed].items():
            errors = int(round((1.0 - test_accuracy) * n_test))
            row[f"{key}_val_accuracy"], row[f"{key}_test_accuracy"] = val_accuracy, (n_test - errors) / n_test
            row[f"{key}_test_errors"] = errors
        rows[seed] = row
    return rows


def run_grid(protocol: transfer.TransferProtocol, sizes, seeds, store, progress: Optional[ProgressCallback] = None,
             *, rate_reduction: float = 10.0, chunk_size: int = DEFAULT_SEEDS) -> dict:
    """Stored rows for every size and seed, training only the missing ones ({n_train: [core.store.Row]}).

    Each chunk of seeds of one size is saved as it ends, so a killed run resumes where it stopped. Progress is
    one bar over all sizes, weighted by their training images; messages name the size and cell being trained.
    With LAB_RAY_ADDRESS set, core.cluster trains the chunks (`grid_unit`) on the cluster and this process saves
    their rows: the same rows, one bar over the units.
    """
    from core import store as store_module

    if chunk_size < 1:
        raise ValueError(f"The chunk size must be at least 1 seed, got {chunk_size}.")
    _check_protocol(protocol)
    sizes, seeds = sizes_for(protocol, sizes), [int(seed) for seed in seeds]
    grids = [ReuseGrid(protocol, size, rate_reduction) for size in sizes]
    if cluster.address():  # LAB_RAY_ADDRESS: one unit per size and chunk of seeds, all on the Ray cluster at once
        stored = cluster.run_comparisons([(grid, seeds) for grid in grids], store, progress, chunk_size)
        return {grid.n_train: rows for grid, rows in zip(grids, stored)}
    missing = {grid: sorted(set(seeds) - store.finished_seeds(grid)) for grid in grids}
    work = [len(missing[grid]) * (grid.n_train + 200) for grid in grids]  # roughly: training images, plus evaluation
    a_missing = not store.model_path(transfer.ModelAConfig.of(protocol), transfer.MODEL_A_SEED, "model_a").exists()
    stages = Stages(progress, [sum(work) / 4 if a_missing and sum(work) else 0] + work)
    transfer.train_model_as(protocol, [(protocol.b_classes, transfer.MODEL_A_SEED)], store, stages.callback(0))
    rows = {}
    for index, grid in enumerate(grids, start=1):
        stage = stages.callback(index)

        def run_batch(_grid, pending, on_seed_done, grid=grid, stage=stage):
            chunks = transfer._chunks(list(pending), chunk_size)
            for number, chunk in enumerate(chunks):
                chunk_rows = train_grid_chunk(grid, chunk, store, lambda done, total, message, number=number: stage(
                    number * total + done, len(chunks) * total, message))
                for seed, row in chunk_rows.items():
                    on_seed_done(seed, row)

        rows[grid.n_train] = store_module.run_missing(store, grid, seeds, run_batch)
    return rows


def grid_csv(protocol: transfer.TransferProtocol, sizes, store, *, rate_reduction: float = 10.0) -> str:
    """Every stored row of the grid's sizes as one CSV (core.store's columns: config fields, then results)."""
    parts = [store.to_csv(ReuseGrid(protocol, int(size), rate_reduction)) for size in sorted(sizes)]
    header = parts[0].split("\n", 1)[0]
    return header + "\n" + "".join(part.split("\n", 1)[1] for part in parts)


def time_hint(sizes, n_seeds: int) -> str:
    """A sentence on how long the full-size grid takes (SECONDS_PER_SEED, interpolated for other sizes)."""
    known = sorted(SECONDS_PER_SEED)
    seconds = n_seeds * sum(np.interp(size, known, [SECONDS_PER_SEED[k] for k in known]) for size in sizes)
    minutes = max(1, round(seconds / 60))
    return (f"At full size this takes about {minutes} minute{'s' if minutes > 1 else ''} on 2 cores (more when they "
            "are shared); finished seeds are kept, so it can be stopped and resumed.")


def job_key(protocol: transfer.TransferProtocol, sizes, seeds, rate_reduction: float = 10.0) -> tuple:
    """The core.jobs key of one grid: same protocol, sizes, seeds and reduction -> the same (shared) job."""
    from core.store import config_key

    return ("reuse", config_key(protocol), tuple(int(size) for size in sizes), tuple(int(seed) for seed in seeds),
            float(rate_reduction))


# ---- what the stored rows say ----

@dataclass(frozen=True)
class CellResult:
    """One cell at one size, over the stored seeds: its gain over B from scratch (points, paired by seed)."""

    cell: Cell
    n_train: int
    n_seeds: int
    gain: object  # core.stats.Estimate of the mean test-accuracy gain, points, t-interval
    val_gain: float  # mean validation-accuracy gain, points (what picks the best cell)
    differences: np.ndarray  # (n_seeds,) test-accuracy gain per seed, points


@dataclass(frozen=True)
class GridSummary:
    """Everything the page and the command line show about the reuse grid."""

    protocol: transfer.TransferProtocol
    sizes: tuple[int, ...]  # (n_sizes,) task-B training sizes with enough stored seeds
    seeds: tuple[int, ...]  # the seeds every size holds (paired across cells and sizes)
    rate_reduction: float
    cells: dict  # {(n_train, cell key): CellResult}
    scratch_accuracy: dict  # {n_train: mean test accuracy of B from scratch}
    best: dict  # {n_train: the Cell with the highest mean validation gain}
    verdicts: tuple  # RuleVerdict per rule of thumb

    def result(self, n_train: int, cell: Cell) -> CellResult:
        return self.cells[n_train, cell.key]

    def heatmap(self, n_train: int, rate: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean gain, low and high (points), each (n_hidden, n_hidden + 1): row r-1, column u; NaN where no cell
        (u > r); column 0 is the stay-frozen cell whatever `rate`."""
        n_hidden = len(self.protocol.hidden_units)
        grids = [np.full((n_hidden, n_hidden + 1), np.nan) for _ in range(3)]
        for cell in grid_cells(n_hidden):
            if cell.rate == rate or cell.unfrozen == 0:
                gain = self.result(n_train, cell).gain
                for grid, value in zip(grids, (gain.value, gain.low, gain.high)):
                    grid[cell.reused - 1, cell.unfrozen] = value
        return tuple(grids)


@dataclass(frozen=True)
class RuleVerdict:
    """A rule of thumb and what the grid says about it."""

    rule: str  # the chapter's advice, in a few words
    status: str  # "holds", "partly holds", "does not hold" or "too few seeds"
    text: str  # one or two plain sentences with the numbers


def summarize_grid(protocol: transfer.TransferProtocol, sizes, seeds, store, *,
                   rate_reduction: float = 10.0) -> Optional[GridSummary]:
    """The grid's statistics from the store (None when no size has MIN_SEEDS seeds stored)."""
    from core import stats

    cells = grid_cells(len(protocol.hidden_units))
    stored = {int(size): store.results(ReuseGrid(protocol, int(size), rate_reduction), seeds) for size in sizes}
    stored = {size: rows for size, rows in sorted(stored.items()) if len(rows) >= MIN_SEEDS}
    common = set.intersection(*({row.seed for row in rows} for rows in stored.values())) if stored else set()
    if len(common) < MIN_SEEDS:  # paired across sizes too: only the seeds every size holds
        return None
    table, scratch, best = {}, {}, {}
    for size, rows in stored.items():
        rows = [row for row in rows if row.seed in common]
        scratch_test = np.array([row.result["scratch_test_accuracy"] for row in rows])
        scratch_val = np.array([row.result["scratch_val_accuracy"] for row in rows])
        scratch[size] = float(scratch_test.mean())
        for cell in cells:
            test = np.array([row.result[f"{cell.key}_test_accuracy"] for row in rows])
            val = np.array([row.result[f"{cell.key}_val_accuracy"] for row in rows])
            differences = stats.paired_differences(scratch_test, test)
            table[size, cell.key] = CellResult(cell, size, len(rows), stats.mean_difference_estimate(differences),
                                               float(100 * (val - scratch_val).mean()), differences)
        best[size] = max(cells, key=lambda cell: (table[size, cell.key].val_gain, -cell.reused, -cell.unfrozen))
    kept = list(stored)
    summary = GridSummary(protocol, tuple(kept), tuple(sorted(common)), rate_reduction, table, scratch, best, ())
    return dataclasses.replace(summary, verdicts=rule_verdicts(summary))


# ---- the rules of thumb, each a paired comparison with its interval ----

def _paired(summary: GridSummary, size: int, better: Cell, worse: Cell):
    """Mean of (better - worse) test accuracy in points over the size's seeds, with its t-interval."""
    from core import stats

    first, second = summary.result(size, better), summary.result(size, worse)
    return stats.mean_difference_estimate(first.differences - second.differences)


def _sign(estimate) -> int:
    return 1 if estimate.low > 0 else -1 if estimate.high < 0 else 0


def _points(estimate) -> str:
    return f"{estimate.value:+.2f} (95% CI {estimate.low:+.2f} to {estimate.high:+.2f})"


def _status(signs) -> str:
    """holds: reliably right at every size; does not hold: never reliably right; partly holds otherwise."""
    if all(sign > 0 for sign in signs):
        return "holds"
    if not any(sign > 0 for sign in signs):
        return "does not hold"
    return "partly holds"


def _against(signs, sizes) -> str:
    """A clause for a rule that is not reliably right everywhere: where the opposite is reliable, if anywhere."""
    opposite = [f"{size:,}" for sign, size in zip(signs, sizes) if sign < 0]
    if opposite:
        return f" The opposite is reliable at n = {', '.join(opposite)}."
    return "" if all(sign > 0 for sign in signs) else " Where it does not hold, the difference is not reliable."


def rule_verdicts(summary: GridSummary) -> tuple[RuleVerdict, ...]:
    """One verdict per rule of thumb, each from paired differences over the stored seeds (points, t-intervals).

    A rule "holds" when its comparison is reliably in its favour (interval above 0) at every size it speaks
    about, "does not hold" when at none, "partly holds" in between; the text gives the numbers.
    """
    n_hidden, sizes = len(summary.protocol.hidden_units), summary.sizes
    top = n_hidden
    verdicts = []

    # 1. Freeze all reused layers first, then try unfreezing one or two of the top hidden layers.
    signs, parts = [], []
    for size in sizes:
        frozen = Cell(top, 0, "same")
        tries = [_paired(summary, size, Cell(top, u, "lower"), frozen) for u in (1, 2) if u <= top]
        best = max(tries, key=lambda estimate: estimate.low)
        signs.append(_sign(best))
        parts.append(f"n = {size:,}: " + ", ".join(f"unfreezing {u} {_points(e)}" for u, e in enumerate(tries, 1)))
    verdicts.append(RuleVerdict(
        "Freeze the reused layers, then unfreeze the top one or two", _status(signs),
        f"Unfreezing the top one or two of all {top} reused layers (at the lower rate) rather than keeping them "
        "frozen, in points of test accuracy: " + "; ".join(parts) + "." + _against(signs, sizes)))

    # 2. The more training data, the more layers you can unfreeze.
    best_u = [summary.best[size].unfrozen for size in sizes]
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        all_vs_frozen = {size: summary.result(size, Cell(top, top, "lower")).differences
                         - summary.result(size, Cell(top, 0, "same")).differences for size in (small, large)}
        from core import stats

        growth = stats.mean_difference_estimate(all_vs_frozen[large] - all_vs_frozen[small])
        monotone = all(a <= b for a, b in zip(best_u, best_u[1:]))
        status = ("holds" if growth.low > 0 and monotone else "partly holds" if growth.low > 0 or
                  (monotone and best_u[-1] > best_u[0]) else "does not hold")
        verdicts.append(RuleVerdict(
            "The more data, the more layers to unfreeze", status,
            f"The best cell (chosen on validation accuracy) unfreezes u = {', '.join(map(str, best_u))} layers at "
            f"n = {', '.join(f'{size:,}' for size in sizes)}. Unfreezing all {top} rather than none gains "
            f"{_points(growth)} points more at n = {large:,} than at n = {small:,} (paired by seed)."))
    else:
        verdicts.append(RuleVerdict("The more data, the more layers to unfreeze", "too few seeds",
                                    "Needs at least two training sizes."))

    # 3. Reduce the learning rate when you unfreeze.
    counts = {1: 0, 0: 0, -1: 0}
    means = []
    for size in sizes:
        for cell in grid_cells(n_hidden):
            if cell.rate == "lower":
                estimate = _paired(summary, size, cell, Cell(cell.reused, cell.unfrozen, "same"))
                counts[_sign(estimate)] += 1
                means.append(estimate.value)
    total = sum(counts.values())
    status = ("holds" if counts[1] > total / 2 and counts[-1] == 0 else "does not hold" if counts[1] <= counts[-1]
              else "partly holds")
    verdicts.append(RuleVerdict(
        "Reduce the learning rate when you unfreeze", status,
        f"Unfreezing at a {summary.rate_reduction:g}x lower rate ("
        f"{summary.protocol.frozen_rate / summary.rate_reduction:g} instead of {summary.protocol.frozen_rate:g}) is "
        f"reliably better in {counts[1]} of {total} cells, reliably "
        f"worse in {counts[-1]}, unclear in {counts[0]}; mean difference {np.mean(means):+.2f} points."))

    # 4. With little data, drop the top hidden layers and freeze the rest.
    size = sizes[0]
    dropped = max((Cell(r, 0, "same") for r in range(1, top)), default=None,
                  key=lambda cell: summary.result(size, cell).val_gain)
    if dropped is not None:
        estimate = _paired(summary, size, dropped, Cell(top, 0, "same"))
        layers = "layer" if dropped.reused == 1 else "layers"
        verdicts.append(RuleVerdict(
            "With little data, drop the top layers and freeze the rest", _status([_sign(estimate)]),
            f"At n = {size:,}, reusing {dropped.reused} frozen {layers} (the best number below {top} on validation) "
            f"rather than all {top} frozen: {_points(estimate)} points of test accuracy."
            + _against([_sign(estimate)], [size])))

    # 5. Reuse helps most when task B has little data (why transfer learning is worth it).
    gains = {size: summary.result(size, summary.best[size]).gain for size in sizes}
    signs = [_sign(gains[size]) for size in sizes]
    text = "; ".join(f"n = {size:,}: best cell ({summary.best[size].label}) {_points(gains[size])}" for size in sizes)
    shrinking = all(gains[a].value >= gains[b].value for a, b in zip(sizes, sizes[1:]))
    status = "holds" if signs[0] > 0 and shrinking else "does not hold" if signs[0] <= 0 else "partly holds"
    verdicts.append(RuleVerdict("Reuse helps most with little data", status,
                                f"Gain of the best cell over B from scratch, points of test accuracy: {text}."))
    return tuple(verdicts)


def summary_lines(summary: GridSummary) -> list[str]:
    """The grid as text for the command line: per size the best cell and the book's recipe, then the verdicts."""
    top = len(summary.protocol.hidden_units)
    lines = [f"seeds: {len(summary.seeds)} (paired across cells and sizes); one model A (seed "
             f"{transfer.MODEL_A_SEED}); gains are B on A minus B from scratch, test accuracy points, 95% t-intervals"]
    for size in summary.sizes:
        best = summary.best[size]
        full = summary.result(size, Cell(top, top, "lower"))
        lines.append(f"n = {size:,}: B from scratch {100 * summary.scratch_accuracy[size]:.2f}%; best on validation: "
                     f"{best.label}, {_points(summary.result(size, best).gain)}; reuse and unfreeze all {top} "
                     f"(lower rate): {_points(full.gain)}")
    return lines + [f"{verdict.rule}: {verdict.status.upper()}. {verdict.text}" for verdict in summary.verdicts]
