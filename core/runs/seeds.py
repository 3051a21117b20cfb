"""Seed lists, chunks of seeds and job keys: one definition for every concept's many-seed runs."""

from __future__ import annotations

from typing import Sequence

from core.inputs import whole_number
from core.store import config_key

MIN_SEEDS = 3  # fewer seeds say nothing about a spread
SPREAD_REASON = f"Fewer than {MIN_SEEDS} say nothing about a spread."


def seed_list(n_seeds, *, low: int = MIN_SEEDS, high: int = 200, why: str = "") -> tuple[int, ...]:
    """Seeds 0..n-1 for a run of n seeds (the page and the command line use the same ones); a ValueError in a
    student's words when n is not a whole number from `low` to `high`."""
    reason = why or (SPREAD_REASON if low == MIN_SEEDS else "")
    return tuple(range(whole_number(n_seeds, low, high, "seeds", reason)))


def check_seeds(seeds) -> tuple[int, ...]:
    """The seeds as distinct non-negative ints, in the order given; a ValueError otherwise."""
    try:
        checked = tuple(int(seed) for seed in seeds)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"Seeds must be whole numbers, got {seeds!r}.") from None
    if not checked or min(checked) < 0 or len(set(checked)) != len(checked):
        raise ValueError(f"Give at least one seed, each a distinct whole number >= 0; got {list(checked)}.")
    return checked


def chunks(items: Sequence, size: int) -> list:
    """`items` cut into consecutive lists of at most `size` (the last may be shorter)."""
    if size < 1:
        raise ValueError(f"The chunk size must be at least 1 seed, got {size}.")
    items = list(items)
    return [items[start:start + size] for start in range(0, len(items), size)]


def seeds_text(seeds) -> str:
    """"seed 42", "seeds 0-9" (consecutive) or "seeds 3, 7, 8": which seeds a progress message is about."""
    seeds = [int(seed) for seed in seeds]
    if len(seeds) == 1:
        return f"seed {seeds[0]}"
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"seeds {seeds[0]}-{seeds[-1]}"
    return "seeds " + ", ".join(map(str, seeds))


def job_key(concept: str, kind: str, config, seeds=(), *extra) -> tuple:
    """The core.jobs key of one training: the same concept, kind, config, seeds (and extras) are one shared job."""
    return (concept, kind, config_key(config), tuple(int(seed) for seed in seeds), *extra)
