"""The reuse grid's definition: its cells (reused x unfrozen layers x unfreezing rate), `ReuseGrid` (one task-B
training size), the sizes and seeds a grid may ask for, the time hint and the job key."""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from core import data, transfer
from core.runs import seeds as seeds_module
from core.runs import tuning

DEFAULT_SIZES = (50, 200, 1_000, 5_000)  # task-B training sizes of the default grid (the command line's)
PAGE_DEFAULT_SIZES = (50, 200, 1_000)  # the page's default: a few minutes on 2 cores (5,000 is one click away)
DEFAULT_REDUCTIONS = (10.0, 100.0)  # the unfrozen phase's lower rates: frozen rate / 10, and / 100 (the book's 1e-4)
MAX_REDUCTIONS = 3  # each reduction adds a cell per (reused, unfrozen > 0)
# Seconds per seed (all cells and B from scratch) on an idle 2-core machine, for the page's time hint: from
# `python -m bench.transfer_speed` (2026-11-30, stop 22's run), the page's default grid (50, 200, 1,000 x 10 seeds)
# 185 s and the full grid 607 s, so 5,000 images take 42 s per seed; the three small sizes split in the
# proportions an earlier run measured (5 : 6 : 12). Measured with MEASURED_COPIES copies per seed (35 cells and
# B from scratch once); `time_hint` scales them by the copies a grid trains now (an estimate until re-measured).
SECONDS_PER_SEED = {50: 4.0, 200: 4.8, 1_000: 9.7, 5_000: 42.2}
MEASURED_COPIES = 36
DEFAULT_SEEDS = 10  # seeds per cell (the issue asks for at least 10)
TINY_SIZES = (20, 60)  # sizes of the tiny preset (tests, LAB_PRESET=tiny)
MIN_SEEDS = 3  # fewer seeds give no interval
MAX_SEEDS = 100  # the most seeds one grid may ask for
SAME = "same"  # the rate code of cells that unfreeze at the frozen phase's rate (and of every u = 0 cell)


def rate_code(reduction: float) -> str:
    """The short name of an unfrozen-phase rate in keys and widgets: "same" (reduction 1) or "div10", "div100"."""
    return SAME if reduction == 1 else f"div{reduction:g}"


def rate_name(reduction: float) -> str:
    """"same" or "10x lower": how a page names the rate of a cell's unfrozen epochs."""
    return SAME if reduction == 1 else f"{reduction:g}x lower"


def check_reductions(values) -> tuple[float, ...]:
    """The rate reductions as distinct sorted floats above 1, from numbers or a command line's "10,100"; a
    ValueError in plain words otherwise."""
    parts = str(values).split(",") if isinstance(values, str) else (
        [values] if np.ndim(values) == 0 else list(values))
    try:
        reductions = tuple(sorted({float(part) for part in parts if str(part).strip()}))
    except (TypeError, ValueError):
        reductions = ()
    if not reductions or not all(math.isfinite(value) and value > 1 for value in reductions):
        raise ValueError(f"The rate reductions must be numbers above 1, separated by commas (e.g. 10,100: the "
                         f"unfrozen epochs run at the frozen phase's rate divided by each); got {values!r}.")
    if len(reductions) > MAX_REDUCTIONS:
        raise ValueError(f"Give at most {MAX_REDUCTIONS} rate reductions (each adds a cell per reused and unfrozen "
                         f"layers); got {len(reductions)}.")
    return reductions


@dataclass(frozen=True)
class Cell:
    """One way to reuse model A: the first `reused` hidden layers, the top `unfrozen` of them unfrozen after the
    frozen epochs, at the frozen phase's rate divided by `reduction`."""

    reused: int  # r: model A's hidden layers kept (the ones above are dropped), 1..len(hidden_units)
    unfrozen: int  # u: top reused layers unfrozen after the frozen epochs, 0..reused (0: all stay frozen)
    reduction: float = 1.0  # the unfrozen epochs' rate is the frozen rate / this; 1 ("same") whenever unfrozen == 0

    @property
    def rate(self) -> str:
        """"same", "10x lower", "100x lower"."""
        return rate_name(self.reduction)

    @property
    def key(self) -> str:
        """Its name in a stored row, e.g. "r5_u2_div10", "r5_u2_same"."""
        return f"r{self.reused}_u{self.unfrozen}_{rate_code(self.reduction)}"

    @property
    def label(self) -> str:
        rate = "" if self.unfrozen == 0 else f", {self.rate} rate"
        return f"reuse {self.reused}, unfreeze {self.unfrozen}{rate}"


def grid_cells(n_hidden: int, reductions=DEFAULT_REDUCTIONS) -> tuple[Cell, ...]:
    """Every cell for a hidden stack of n_hidden layers: r = 1..n_hidden, u = 0..r, and when u > 0 the same rate
    and each reduced one (n_hidden (n_hidden + 1) / 2 (1 + len(reductions)) + n_hidden cells)."""
    rates = (1.0, *check_reductions(reductions))
    return tuple(Cell(r, u, rate) for r in range(1, n_hidden + 1) for u in range(r + 1)
                 for rate in (rates if u else (1.0,)))


@dataclass(frozen=True)
class ReuseGrid:
    """One task-B training size of the reuse explorer: every cell and B from scratch's rate search, one store row
    per seed."""

    VERSION: ClassVar[int] = 2  # 2: reductions (10x, 100x) and B from scratch tuned on validation
    UNIT_KIND: ClassVar[str] = "grid"  # the name of a chunk's unit (core.transfer.units, a cluster's task)
    protocol: transfer.TransferProtocol  # model A, the task-B pair, epochs and learning rates
    n_train: int  # task-B training images per seed (each seed draws its own from task B's training images)
    rate_reductions: tuple[float, ...] = DEFAULT_REDUCTIONS  # the unfrozen epochs' lower rates: frozen rate / each
    scratch_rates: tuple[float, ...] = tuning.DEFAULT_RATES  # B from scratch's candidate rates (see scratch_grid)

    def __post_init__(self):
        if self.n_train < 1:
            raise ValueError(f"The task-B training size must be at least 1 image, got {self.n_train}.")
        object.__setattr__(self, "rate_reductions", check_reductions(self.rate_reductions))
        object.__setattr__(self, "scratch_rates", tuning.rate_grid(self.scratch_rates))

    @classmethod
    def tiny(cls, n_train: int = TINY_SIZES[0], b_classes=(5, 6)) -> "ReuseGrid":
        """The tiny protocol (two hidden layers, a few epochs) for tests and LAB_PRESET=tiny."""
        return cls(transfer.PROTOCOLS["tiny"].with_pair(b_classes), n_train)

    def a_seed(self, _seed: int) -> int:
        """The model A a seed's cells start from: one for every seed (the book's seed 42)."""
        return transfer.MODEL_A_SEED

    @property
    def cells(self) -> tuple[Cell, ...]:
        return grid_cells(len(self.protocol.hidden_units), self.rate_reductions)

    @property
    def scratch_grid(self) -> tuple[float, ...]:
        """B from scratch's candidate rates: `scratch_rates` with the cells' rate (frozen_rate) and the protocol's
        own (learning_rate) added when missing, so the baseline can be read at either as well as tuned."""
        return tuning.rate_grid((*self.scratch_rates, self.protocol.frozen_rate, self.protocol.learning_rate))

    @property
    def copies_per_seed(self) -> int:
        """Models one seed trains: every cell and every scratch candidate."""
        return len(self.cells) + len(self.scratch_grid)

    def rate_of(self, cell: Cell) -> float:
        """The learning rate of the cell's unfrozen epochs."""
        return self.protocol.frozen_rate / cell.reduction

    def with_size(self, n_train: int) -> "ReuseGrid":
        return dataclasses.replace(self, n_train=int(n_train))

    def b_config(self, reused: int):
        """The engine architecture of a cell with `reused` layers: model A's first layers, one sigmoid output."""
        _, full = transfer.engine_configs(self.protocol)
        return dataclasses.replace(full, hidden_units=self.protocol.hidden_units[:reused])


def grids(protocol: transfer.TransferProtocol, sizes, rate_reductions=DEFAULT_REDUCTIONS) -> list[ReuseGrid]:
    """One ReuseGrid per size, in the order given, with the default scratch grid."""
    return [ReuseGrid(protocol, int(size), rate_reductions) for size in sizes]


def sizes_for(protocol: transfer.TransferProtocol, sizes) -> tuple[int, ...]:
    """Check training sizes against task B's training images (each seed draws that many without replacement)."""
    sizes = tuple(sorted({int(size) for size in sizes}))
    if not sizes:
        raise ValueError("Choose at least one task-B training size.")
    available = len(task_b_pool(protocol)[1])
    if sizes[0] < 1 or sizes[-1] > available:
        raise ValueError(f"Choose task-B training sizes between 1 and {available:,} (the task-B training images of "
                         f"this pair); got {list(sizes)}.")
    return sizes


def seed_list(n_seeds) -> tuple[int, ...]:
    """Seeds 0..n-1, MIN_SEEDS to MAX_SEEDS of them (the page and the command line use the same ones)."""
    return seeds_module.seed_list(n_seeds, low=MIN_SEEDS, high=MAX_SEEDS)


@functools.lru_cache(maxsize=4)
def task_b_pool(protocol: transfer.TransferProtocol):
    """Task B's training images (N, 28, 28) and labels (N,) of the book split, which each seed draws from."""
    splits = data.load_book_splits()
    _, (x_b, y_b) = data.split_task_a_b(splits.x_train, splits.y_train, protocol.b_classes)
    return x_b, y_b


def time_hint(sizes, n_seeds: int, *, copies_per_seed: int = MEASURED_COPIES) -> str:
    """A sentence on how long the full-size grid takes: SECONDS_PER_SEED (interpolated for other sizes), scaled
    by the copies one seed trains against the MEASURED_COPIES they were measured with."""
    known = sorted(SECONDS_PER_SEED)
    seconds = n_seeds * sum(np.interp(size, known, [SECONDS_PER_SEED[k] for k in known]) for size in sizes)
    minutes = max(1, round(seconds * copies_per_seed / MEASURED_COPIES / 60))
    scaled = ("" if copies_per_seed == MEASURED_COPIES else f" (an estimate: timed with {MEASURED_COPIES} models "
              f"per seed, scaled to this grid's {copies_per_seed})")
    return (f"At full size this takes about {minutes} minute{'s' if minutes > 1 else ''} on 2 cores, more when they "
            f"are shared{scaled}; finished seeds are kept, so it can be stopped and resumed.")


def job_key(protocol: transfer.TransferProtocol, sizes, seeds, rate_reductions=DEFAULT_REDUCTIONS) -> tuple:
    """The core.jobs key of one grid: same protocol, sizes, seeds and reductions -> the same (shared) job."""
    return seeds_module.job_key("reuse", "grid", protocol, seeds, tuple(int(size) for size in sizes),
                                check_reductions(rate_reductions))
