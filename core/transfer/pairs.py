"""The 45 class pairs: the comparison with every pair of classes as task B (task A the other eight, each pair with
its own model A), and the heatmap's cells read from the store.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

from core import data
from core.progress import ProgressCallback, parts
from core.runs import runner
from core.transfer import units
from core.transfer.comparison import CHUNK_SEEDS, ComparisonConfig, comparison_unit, run_comparison
from core.transfer.model_a import ModelAConfig, train_model_as
from core.transfer.protocols import MIN_SEEDS, a_cost, b_cost

ALL_PAIRS = tuple(itertools.combinations(range(10), 2))  # the 45 task-B pairs, (negative, positive)


@dataclass(frozen=True)
class PairCell:
    """What the store holds for one task-B pair (gains in points; NaN when fewer than 3 seeds are stored)."""

    pair: tuple[int, int]
    n_seeds: int  # stored seeds among those asked for
    mean_gain: float
    low: float
    high: float


def pair_cells(config: ComparisonConfig, seeds, store) -> list[PairCell]:
    """One cell per pair of ALL_PAIRS, `config` with that pair as task B, filled from the store only;
    each cell's interval is the t-interval of the mean gain (core.stats.coverage_caveat says how well it
    covers at few seeds)."""
    cells = []
    for pair in ALL_PAIRS:
        rows = store.results(config.with_pair(pair), seeds)
        if len(rows) >= MIN_SEEDS:
            mean = _mean_gain(tuple(row.result["scratch_test_accuracy"] for row in rows),
                              tuple(row.result["transfer_test_accuracy"] for row in rows))
            cells.append(PairCell(pair, len(rows), mean.value, mean.low, mean.high))
        else:
            cells.append(PairCell(pair, len(rows), float("nan"), float("nan"), float("nan")))
    return cells


# The heatmap shows only the mean gain and its CI; memoised on the values, so a page rerun over a full
# store does not recompute 45 intervals.
@functools.lru_cache(maxsize=512)
def _mean_gain(scratch: tuple, transfer_acc: tuple):
    from core import stats

    return stats.mean_difference_estimate(stats.paired_differences(scratch, transfer_acc))


def run_pairs(config: ComparisonConfig, seeds, store, pairs=ALL_PAIRS, progress: ProgressCallback | None = None,
              chunk_size: int = CHUNK_SEEDS) -> None:
    """Fill the store for every pair in `pairs` (each pair's task A is the other eight classes, so each pair has
    its own model A): first every model A the missing seeds need, stacked across pairs in a few engine calls
    (`train_model_as`), then each pair's B runs (`run_comparison`). One bar for both stages."""
    pairs = [data.check_class_pair(pair) for pair in pairs]
    if runner.on_cluster():  # every pair's units at once, as many running as the cluster has room for
        units.run_chunks(comparison_unit, [(config.with_pair(pair), seeds) for pair in pairs], store, progress,
                         chunk_size=chunk_size)
        return
    seeds = [int(seed) for seed in seeds]
    pending = [(pair, sorted(set(seeds) - store.finished_seeds(config.with_pair(pair)))) for pair in pairs]
    pending = [(pair, missing) for pair, missing in pending if missing]
    a_jobs = [(pair, config.a_seed(seed)) for pair, missing in pending for seed in missing]
    a_missing = {job for job in a_jobs if not store.model_path(
        ModelAConfig.of(config.protocol.with_pair(job[0])), job[1], "model_a").exists()}
    labels = [f"pair {number}/{len(pending)} ({data.CLASS_NAMES[pair[0]]} vs {data.CLASS_NAMES[pair[1]]})"
              for number, (pair, _) in enumerate(pending, start=1)]
    a_part, *pair_parts = parts(progress, [a_cost(config.protocol) * len(a_missing)] +
                                [b_cost(config.protocol) * len(missing) for _, missing in pending],
                                [""] + labels)
    train_model_as(config.protocol, a_jobs, store, a_part)
    for (pair, _), piece in zip(pending, pair_parts):
        run_comparison(config.with_pair(pair), seeds, store, piece, chunk_size)
