"""Every reuse arm tuned alike: one grid of Nadam rates shared by scratch and every source x mode, each seed's
rate picked on the target pair's validation images (the book's validation split, never the test set).

The book's protocol gives every arm Nadam 1e-3; an arm that would do better at another rate then loses for a
reason that has nothing to do with its pretraining. Here every arm trains once per candidate rate, as extra
stacked copies of the same three runs (core.auxiliary.reuse_arms.train_arms); frozen_then_unfrozen keeps the book
protocol's ratio (unfrozen at rate x unfrozen_learning_rate / learning_rate). A stored row keeps, per arm, every
candidate's validation and test accuracy (core.runs.tuning.Search.row) and, under the names
core.auxiliary.reuse_arms.load_reuse reads, the test and validation counts at the picked rate, so the untuned protocol's
statistics and the headline's selection read tuned rows unchanged.

    config = TunedReuse(Reuse(n_labels=200))
    result = reuse_tuned(config, seeds=range(10), store=Store())   # a core.auxiliary.ReuseResult, tuned
    searches = load_searches(config, range(10), store)            # {arm: Search}: rates, picks, every score
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar, Optional, Sequence

import numpy as np

from core import pretraining
from core.auxiliary.configs import ARMS, CHUNK_SEEDS, Common, Reuse, arm_label
from core.auxiliary.reuse_arms import ReuseResult, correct_counts, reuse, run_grid, train_arms
from core.progress import ProgressCallback
from core.runs import tuning

RATES = (3e-4, 1e-3, 3e-3, 1e-2)  # Nadam candidates: the book's 1e-3 and a half-decade either side, then 1e-2


@dataclass(frozen=True)
class TunedReuse:
    """One comparison (a Reuse: data, arms, updates) with every arm searched over the same grid of rates."""

    VERSION: ClassVar[int] = 1
    reuse: Reuse = Reuse()  # its learning_rate only sets frozen_then_unfrozen's ratio (unfrozen / learning_rate)
    rates: tuple[float, ...] = RATES  # the grid every arm searches, sorted; each candidate one copy per seed and arm

    def __post_init__(self):
        object.__setattr__(self, "rates", tuning.rate_grid(self.rates))  # one order, one store key per grid

    @classmethod
    def tiny(cls, n_labels: int = 20, rates: Sequence[float] = RATES, **changes) -> "TunedReuse":
        return cls(Reuse.tiny(n_labels, **changes), tuple(rates))

    @property
    def common(self) -> Common:
        return self.reuse.common

    @property
    def n_labels(self) -> int:
        return self.reuse.n_labels

    @property
    def updates(self) -> int:
        return self.reuse.updates

    def with_labels(self, n_labels: int) -> "TunedReuse":
        return dataclasses.replace(self, reuse=self.reuse.with_labels(n_labels))

    def source(self, name: str):
        """The untuned comparison's sources: tuning changes how the arms train, not what they reuse."""
        return self.reuse.source(name)

    def describe(self) -> str:
        return (f"{self.reuse.describe()}; every arm tuned over Nadam {tuning.rates_text(self.rates)}, "
                f"each seed's rate picked on validation")


def tuned_chunk(config: TunedReuse, seeds, store, progress) -> dict:
    """Every arm of `seeds` at every rate of the grid, then each seed's rate picked on validation: {seed: row}.

    Row: test_correct / valid_correct {arm: images right at the picked rate}, n_test, n_valid,
    search {arm: Search.row}, seconds_per_seed, diverged (arms whose picked copy's loss went non-finite).
    A candidate whose loss went non-finite has no validation score, so it is never picked while another has one."""
    scores = train_arms(config.reuse, seeds, store, progress, config.rates)
    searches = {arm: tuning.Search(scores.rates, np.where(scores.diverged[arm], np.nan, scores.validation[arm]),
                                   scores.test[arm]) for arm in ARMS}
    picks = {arm: search.picks for arm, search in searches.items()}
    rows = {}
    validation = {arm: search.validation for arm, search in searches.items()}
    for copy, seed in enumerate(seeds):
        chosen = {arm: int(picks[arm][copy]) for arm in ARMS}
        rows[seed] = {"test_correct": correct_counts(scores.test, scores.n_test, copy, chosen),
                      "valid_correct": correct_counts(validation, scores.n_valid, copy, chosen),
                      "n_test": scores.n_test, "n_valid": scores.n_valid,
                      "search": {arm: searches[arm].row(copy) for arm in ARMS},
                      "seconds_per_seed": scores.seconds_per_seed,
                      "diverged": [arm for arm in ARMS if scores.diverged[arm][copy, chosen[arm]]]}
    return rows


def reuse_tuned(config: TunedReuse, seeds, store, progress: Optional[ProgressCallback] = None,
                chunk_size: int = CHUNK_SEEDS) -> ReuseResult:
    """core.auxiliary.reuse with every arm tuned: sources pretrained first (shared with the untuned protocol),
    only seeds not stored trained, all loaded (accuracy at each seed's validation-picked rate).

    chunk_size: seeds x candidate rates trained together per arm (at least one seed), as
    core.pretraining.tuned.fine_tune's chunk_copies: it bounds memory as CHUNK_SEEDS does untuned."""
    return reuse(config, seeds, store, progress, chunk_seeds(config, chunk_size), trainer=tuned_chunk)


def run_tuned_grid(base: TunedReuse, label_counts: Sequence[int], seeds, store,
                   progress: Optional[ProgressCallback] = None, chunk_size: int = CHUNK_SEEDS) -> dict:
    """{n_labels: ReuseResult} of the tuned comparison; the sources are pretrained once. chunk_size: seeds x
    candidate rates per arm, as in reuse_tuned."""
    return run_grid(base, label_counts, seeds, store, progress, chunk_seeds(base, chunk_size), trainer=tuned_chunk)


def chunk_seeds(config: TunedReuse, chunk_copies: int) -> int:
    """Seeds per chunk when a chunk may hold `chunk_copies` copies per arm (each seed trains one per rate)."""
    if chunk_copies < 1:
        raise ValueError(f"The chunk size must be at least 1 copy, got {chunk_copies}.")
    return max(1, chunk_copies // len(config.rates))


def load_searches(config: TunedReuse, seeds, store) -> dict:
    """{arm: core.runs.tuning.Search} of the stored seeds: every candidate's scores and each seed's pick."""
    results = pretraining.stored_results(config, seeds, store)
    return {arm: tuning.search_of_rows([row["search"][arm] for row in results]) for arm in ARMS}


def picked_counts(searches: dict) -> np.ndarray:
    """(len(ARMS), n_candidates) how many seeds each arm's search picked each rate of the grid for."""
    return np.array([searches[arm].picked_counts() for arm in ARMS])


def picked_lines(searches: dict) -> list[str]:
    """What the command line prints of the picks: per arm, the seeds that picked each rate."""
    rates = searches[ARMS[0]].rates
    lines = [f"seeds per picked rate (on validation), grid {tuning.rates_text(rates)}:",
             f"{'arm':40s} " + " ".join(f"{rate:>8g}" for rate in rates)]
    for arm, counts in zip(ARMS, picked_counts(searches)):
        lines.append(f"{arm_label(arm):40s} " + " ".join(f"{count:>8d}" for count in counts))
    return lines + [f"note: {note}" for note in edge_notes(searches)]


def edge_notes(searches: dict) -> list[str]:
    """One warning per arm whose seeds mostly picked an end of the grid (core.runs.tuning.edge_note)."""
    rates = searches[ARMS[0]].rates
    notes = (tuning.edge_note(rates, counts, arm_label(arm)) for arm, counts in zip(ARMS, picked_counts(searches)))
    return [note for note in notes if note]
