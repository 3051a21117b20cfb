"""Every arm of a pretraining comparison tuned alike: one learning-rate grid, the same candidates for every arm,
each seed's rate picked on validation images, never on the test set.

Why. The book's protocol (FineTuning) trains every arm at its regime's one rate: Nadam 1e-3, or plain SGD 0.1 in
2006. If that rate under-trains the net from scratch more than the pretrained nets, part of pretraining's gain is
the rate's doing. Here scratch, frozen, frozen-then-top, fine-tune-all and the raw-pixel floor each search the
same grid; candidates train as extra stacked copies of one run (core.pretraining.train_arms with `rates`), and
each seed keeps, per arm, the rate with the best validation accuracy after the last update (on the validation
images behind the curves, which are never test images). The regime's own rate is one of the candidates, so the
same runs also give every arm at the single rate: the book's protocol, for the comparison.

The grids (RATE_GRIDS) step by about 3x (half a decade), one step below the regime's rate and two above, since
the question is whether one rate under-trains: Nadam (book, today) 3e-4, 1e-3, 3e-3, 1e-2 (1e-3 is Keras's
default and the book's; by 1e-2 Nadam starts to overshoot on these nets); plain SGD (2006) 0.03, 0.1, 0.3, 1
(0.1 is the regime's rate; sigmoid nets trained with plain SGD were run at 0.1 to 1). The top arm keeps its
config's ratio: it unfreezes at r x unfrozen_learning_rate / learning_rate. The frozen-codes pitfall runs are
diagnostics, not arms: a tuned config skips them (the untuned config keeps them, at the regime's rate).

A stored row (TunedFineTuning has its own store key; FineTuning's rows are untouched) holds, per seed:
test_correct {arm: test images right at the picked rate}, n_test, curves {arm: validation curve at the picked
rate}, search {arm: core.runs.tuning.Search.row (rates, validation, test, picked_rate) and every candidate's
curve}, updates {arm: updates per candidate, counted by the training loop}, seconds_per_seed and diverged.

    config = TunedFineTuning.preset("2006", n_labels=100)          # grid 0.03, 0.1, 0.3, 1
    found = fine_tune(config, seeds=range(10), store=Store())
    found.tuned.test_accuracy, found.single.test_accuracy         # (10, 5) each: picked rate / the regime's 0.1
    found.searches["scratch"].picked_rates                         # (10,)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Optional, Sequence

import numpy as np

from core.pretraining.arrays import Arrays
from core.pretraining.configs import ARMS, CHUNK_SEEDS, FineTuning, Pretraining
from core.pretraining.fine_tuning import Comparison, stored_results, train_arms, train_missing
from core.progress import ProgressCallback
from core.runs import tuning

RATE_GRIDS = {"nadam": (3e-4, 1e-3, 3e-3, 1e-2), "sgd": (0.03, 0.1, 0.3, 1.0)}  # see the module's docstring


def default_grid(optimizer: str) -> tuple[float, ...]:
    """The candidate rates of an optimizer ("nadam" or "sgd"): four for every arm."""
    if optimizer not in RATE_GRIDS:
        raise ValueError(f"No rate grid for optimizer {optimizer!r}; choose one of {', '.join(RATE_GRIDS)}.")
    return RATE_GRIDS[optimizer]


@dataclass(frozen=True)
class TunedFineTuning:
    """One comparison with every arm searched over `rates`, each seed's rate picked on validation."""

    VERSION: ClassVar[int] = 1  # bump when the tuned arms' code changes what a stored row means
    fine_tuning: FineTuning  # the comparison tuned: labels, updates, optimizer, the top arm's unfrozen/frozen ratio
    rates: tuple[float, ...] = ()  # the grid every arm searches, sorted; () means the optimizer's RATE_GRIDS entry

    def __post_init__(self):
        grid = tuning.rate_grid(self.rates or default_grid(self.fine_tuning.optimizer))
        own = self.fine_tuning.learning_rate
        if not any(math.isclose(rate, own, rel_tol=1e-9) for rate in grid):
            raise ValueError(f"The grid ({tuning.rates_text(grid)}) must hold the regime's own rate {own:g}, so the "
                             "same runs also give every arm at the single rate.")
        object.__setattr__(self, "rates", grid)

    @classmethod
    def preset(cls, regime: str, n_labels: int = 1000, rates: Sequence[float] = ()) -> "TunedFineTuning":
        """A regime's comparison (FineTuning.preset) with every arm tuned; default grid: its optimizer's."""
        return cls(FineTuning.preset(regime, n_labels), tuple(rates))

    @classmethod
    def tiny(cls, regime: str = "book", n_labels: int = 50, rates: Sequence[float] = ()) -> "TunedFineTuning":
        """The tiny preset's comparison (20 updates per candidate) with every arm tuned."""
        return cls(FineTuning.tiny(regime, n_labels), tuple(rates))

    @property
    def pretraining(self) -> Pretraining:
        return self.fine_tuning.pretraining

    @property
    def n_labels(self) -> int:
        return self.fine_tuning.n_labels

    @property
    def own_rate(self) -> float:
        """The regime's single rate, one of the candidates."""
        return self.fine_tuning.learning_rate

    def describe(self) -> str:
        config = self.fine_tuning
        ratio = config.learning_rate / config.unfrozen_learning_rate
        return (f"{config.n_labels} labels per seed, every arm {config.updates} updates of {config.batch_size} "
                f"({config.optimizer}), each arm's rate picked per seed on validation among "
                f"{tuning.rates_text(self.rates)} (the top arm unfreezes at a {ratio:g}x lower rate)")


@dataclass(frozen=True, eq=False)
class TunedComparison:
    """Every arm tuned, and the same runs at the regime's single rate; seeds first, arms in ARMS order."""

    config: TunedFineTuning
    seeds: tuple[int, ...]
    searches: dict  # {arm: core.runs.tuning.Search}: (n_seeds, n_candidates) validation and test accuracy
    tuned: Comparison  # each arm at each seed's validation-picked rate (no frozen-codes runs: shape (n_seeds, 0))
    single: Comparison  # each arm at the regime's own rate, every seed: the book's protocol, from the same runs
    candidate_curves: np.ndarray  # (n_seeds, len(ARMS), n_candidates, curve_points) validation accuracy
    updates: np.ndarray  # (n_seeds, len(ARMS), n_candidates) updates each candidate made, counted by its loop

    def picked_counts(self) -> np.ndarray:
        """(len(ARMS), n_candidates): how many seeds picked each rate, per arm."""
        return np.array([self.searches[arm].picked_counts() for arm in ARMS])


def fine_tune(config: TunedFineTuning, seeds, store, progress: Optional[ProgressCallback] = None,
              chunk_copies: int = CHUNK_SEEDS) -> TunedComparison:
    """Every arm at every candidate for every seed not stored (autoencoders first if missing), then all loaded.

    chunk_copies: seeds x candidates trained together (at least one seed), which bounds memory as CHUNK_SEEDS
    does for the untuned comparison."""
    chunk_size = max(1, chunk_copies // len(config.rates))
    train_missing(config, config.fine_tuning, seeds, store, _tuned_chunk, progress, chunk_size)
    return load(config, seeds, store)


def _tuned_chunk(config: TunedFineTuning, arrays: Arrays, seeds, store, progress) -> dict:
    """Every arm of `seeds` at every candidate rate, in one stacked run per arm; returns {seed: row}."""
    rates, n_seeds = config.rates, len(seeds)
    runs = train_arms(config.fine_tuning, arrays, seeds, store, progress, rates=rates, pitfalls=False)
    curves = runs.curves.reshape(len(rates), n_seeds, len(ARMS), -1)  # candidate-major copies
    rows = {seed: {"test_correct": {}, "n_test": runs.n_test, "curves": {}, "search": {}, "updates": {},
                   "seconds_per_seed": runs.seconds_per_copy * len(rates),
                   "diverged": [f"{name} at {rate:g}" for name, flags in runs.diverged.items()
                                for candidate, rate in enumerate(rates) if flags[candidate * n_seeds + copy]]}
            for copy, seed in enumerate(seeds)}
    for index, arm in enumerate(ARMS):
        validation = np.where(runs.diverged[arm], np.nan, runs.curves[:, index, -1])  # after the last update
        search = tuning.Search(rates, tuning.by_candidate(validation, n_seeds),
                               tuning.by_candidate(runs.accuracy[:, index], n_seeds))
        made = tuning.by_candidate(runs.updates[arm], n_seeds).astype(int)
        for copy, seed in enumerate(seeds):
            pick, row = search.picks[copy], rows[seed]
            row["test_correct"][arm] = int(np.rint(search.tuned_test[copy] * runs.n_test))
            row["curves"][arm] = curves[pick, copy, index]
            row["search"][arm] = {**search.row(copy), "curves": curves[:, copy, index]}
            row["updates"][arm] = made[copy].tolist()
    return rows


def load(config: TunedFineTuning, seeds, store) -> TunedComparison:
    """The stored rows of `seeds` (all must be stored): every search, the tuned arms and the single-rate arms."""
    seeds = tuple(seeds)
    results = stored_results(config, seeds, store)
    n_test, base = results[0]["n_test"], config.fine_tuning
    searches = {}
    for arm in ARMS:  # test accuracy as stored counts over n_test, exactly as the untuned rows give it
        found = tuning.search_of_rows([row["search"][arm] for row in results])
        searches[arm] = tuning.Search(found.rates, found.validation, np.rint(found.test * n_test) / n_test)
    candidate_curves = np.array([[row["search"][arm]["curves"] for arm in ARMS] for row in results], np.float32)
    own = next(index for index, rate in enumerate(config.rates) if math.isclose(rate, config.own_rate, rel_tol=1e-9))
    picks = np.stack([searches[arm].picks for arm in ARMS], axis=1)  # (n_seeds, len(ARMS))
    seconds = np.array([row["seconds_per_seed"] for row in results])

    def comparison(accuracy, curves) -> Comparison:
        return Comparison(base, seeds, accuracy, n_test, curves, base.segment * np.arange(1, base.curve_points + 1),
                          np.zeros((len(seeds), 0)), np.zeros((len(seeds), 0, 0), np.float32), seconds)

    tuned = comparison(np.stack([searches[arm].tuned_test for arm in ARMS], axis=1),
                       np.take_along_axis(candidate_curves, picks[:, :, None, None], axis=2)[:, :, 0])
    single = comparison(np.stack([searches[arm].test[:, own] for arm in ARMS], axis=1), candidate_curves[:, :, own])
    updates = np.array([[row["updates"][arm] for arm in ARMS] for row in results], int)
    return TunedComparison(config, seeds, searches, tuned, single, candidate_curves, updates)
