"""The learning-rate search every arm of a comparison gets: one grid shared by all arms, the same number of
candidates each, each seed's rate picked on validation images (never on the test set).

Candidates train as extra stacked copies (the engine and core.stacked take one learning rate per copy), so a
search costs one bigger engine call, not a loop. A concept lays its copies out as `candidate_copies` says,
reads back each copy's validation score and calls `pick`; the stored row keeps every candidate's scores and the
picked rate, so a page can show the arm at any one rate of the grid as well as tuned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

DEFAULT_RATES = (0.001, 0.003, 0.01, 0.03)  # the default grid: the book's 1e-3 and 0.01 and one step either side
MAX_CANDIDATES = 8  # each candidate is one more copy per seed and arm


def rate_grid(rates=DEFAULT_RATES) -> tuple[float, ...]:
    """The candidate learning rates, checked, distinct and sorted; a ValueError in plain words otherwise."""
    try:
        values = [float(rate) for rate in rates]
    except (TypeError, ValueError):
        raise ValueError(f"Learning rates must be numbers, got {rates!r}.") from None
    if not values or not all(math.isfinite(rate) and 0 < rate <= 10 for rate in values):
        raise ValueError(f"Give at least one learning rate, each a number above 0 and at most 10; got {values}.")
    grid = tuple(sorted(set(values)))
    if len(grid) > MAX_CANDIDATES:
        raise ValueError(f"Give at most {MAX_CANDIDATES} candidate rates (each trains one more copy per seed and "
                         f"arm); got {len(grid)}.")
    return grid


def parse_rates(text: str) -> tuple[float, ...]:
    """A command line's "0.001,0.01,0.1" as a checked grid."""
    try:
        return rate_grid(float(part) for part in str(text).split(",") if part.strip())
    except ValueError as error:
        raise ValueError(f"{error} (write them separated by commas, e.g. 0.001,0.003,0.01,0.03)") from None


def rates_text(rates) -> str:
    """"0.001, 0.003, 0.01, 0.03": a grid as a page or the command line shows it."""
    return ", ".join(f"{rate:g}" for rate in rates)


def candidate_copies(seeds: Sequence[int], rates: Sequence[float]) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """The copies of one arm's search, candidate-major: (seeds repeated once per rate, each copy's rate).

    Copy c * len(seeds) + i trains seed i at rates[c]; `by_candidate` folds per-copy values back."""
    seeds, rates = tuple(int(seed) for seed in seeds), tuple(float(rate) for rate in rates)
    return seeds * len(rates), tuple(rate for rate in rates for _ in seeds)


def by_candidate(values, n_seeds: int) -> np.ndarray:
    """(n_candidates * n_seeds,) per-copy values laid out by `candidate_copies` -> (n_seeds, n_candidates)."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or n_seeds < 1 or len(values) % n_seeds:
        raise ValueError(f"Expected one value per copy, a whole number of candidates x {n_seeds} seeds; "
                         f"got shape {values.shape}.")
    return values.reshape(-1, n_seeds).T


def pick(validation) -> np.ndarray:
    """(n_seeds,) the index of each seed's best candidate on `validation` (n_seeds, n_candidates) scores, higher
    is better. A diverged candidate (NaN) is never picked while another is finite; ties go to the lower index
    (the smaller rate of a sorted grid), so the pick is deterministic."""
    scores = np.asarray(validation, dtype=float)
    if scores.ndim != 2 or scores.shape[1] < 1:
        raise ValueError(f"Validation scores must be (n_seeds, n_candidates), got shape {scores.shape}.")
    return np.argmax(np.where(np.isfinite(scores), scores, -np.inf), axis=1)


def picked(values, picks) -> np.ndarray:
    """(n_seeds,) each seed's value (n_seeds, n_candidates) at its picked candidate."""
    values = np.asarray(values)
    return values[np.arange(len(values)), np.asarray(picks)]


@dataclass(frozen=True)
class Search:
    """One arm's search over a grid for a set of seeds: what each candidate scored and what was picked."""

    rates: tuple[float, ...]  # (n_candidates,) the grid every arm of the comparison shares
    validation: np.ndarray  # (n_seeds, n_candidates) validation accuracy after the last update
    test: np.ndarray  # (n_seeds, n_candidates) test accuracy, only ever read at the picked candidate

    @property
    def picks(self) -> np.ndarray:
        return pick(self.validation)

    @property
    def picked_rates(self) -> np.ndarray:
        """(n_seeds,) each seed's rate, chosen on validation."""
        return np.asarray(self.rates)[self.picks]

    def picked_counts(self) -> np.ndarray:
        """(n_candidates,) how many seeds picked each rate of the grid, in the grid's order."""
        return np.bincount(self.picks, minlength=len(self.rates))

    @property
    def tuned_test(self) -> np.ndarray:
        """(n_seeds,) test accuracy at each seed's validation-picked rate."""
        return picked(self.test, self.picks)

    def at(self, rate: float) -> np.ndarray:
        """(n_seeds,) test accuracy at one rate of the grid (every seed at that rate, untuned)."""
        matches = [index for index, value in enumerate(self.rates) if math.isclose(value, rate, rel_tol=1e-9)]
        if not matches:
            raise ValueError(f"{rate:g} is not in this search's grid ({rates_text(self.rates)}).")
        return self.test[:, matches[0]]

    def row(self, seed_index: int) -> dict:
        """What a store row keeps of one seed: every candidate's scores and the picked rate."""
        return {"rates": list(self.rates), "validation": self.validation[seed_index].tolist(),
                "test": self.test[seed_index].tolist(), "picked_rate": float(self.picked_rates[seed_index])}


def search_of_rows(rows: Sequence[dict]) -> Search:
    """The Search of several seeds from their stored `Search.row` dicts (every row must share one grid)."""
    grids = {tuple(row["rates"]) for row in rows}
    if len(grids) != 1:
        raise ValueError(f"Stored rows searched different grids: {sorted(grids)}.")
    return Search(grids.pop(), np.array([row["validation"] for row in rows], dtype=float),
                  np.array([row["test"] for row in rows], dtype=float))


EDGE_SHARE = 0.5  # when at least this share of seeds picks the grid's largest or smallest rate, say so


def edge_note(rates, counts, arm: str = "") -> str:
    """A warning when at least EDGE_SHARE of the seeds picked the grid's largest (or smallest) rate: the best rate
    may lie outside the grid, so that arm may still be under-tuned; "" otherwise. counts: (n_candidates,) seeds
    per rate, in the grid's order."""
    counts = np.asarray(counts)
    total, rates = int(counts.sum()), tuple(rates)
    if total == 0 or len(rates) < 2:
        return ""
    who = f"{arm}: " if arm else ""
    for index, side in ((-1, "largest"), (0, "smallest")):
        if counts[index] >= EDGE_SHARE * total:
            return (f"{who}{int(counts[index])} of {total} seeds picked the grid's {side} rate ({rates[index]:g}); "
                    f"the best rate may lie outside the grid, so widen it to be sure this arm is not under-tuned.")
    return ""
