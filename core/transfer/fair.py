"""A fair baseline for the transfer comparison: B from scratch and B on A each get the same learning-rate search.

The book's protocol trains B from scratch at 1e-3 and B on A's frozen phase at SGD's default 0.01: two arms at
two untuned rates. Here every arm searches one shared grid (core.runs.tuning), per seed, on task-B validation
images after the last epoch; the test set is read only at the picked rate. B from scratch at rate r trains every
epoch at r; B on A at rate r trains its frozen phase at r and its unfrozen phase at r x (unfrozen rate / frozen
rate): the book's recipe with its two rates scaled together (the book: 0.01 then 1e-4, so r then r / 100).

Every candidate of both arms is one more stacked copy of the same engine call (per-copy learning rates and
frozen layers), so a chunk of seeds trains in one call; the same seed gives every copy the same initial
weights and batch order, so all candidates and arms stay paired. The book's own untuned arms come from the same
call: they are candidates of the grid when their rates are in it, else one extra copy each.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import ClassVar, Optional, Sequence

import numpy as np

from core import data, stats
from core.progress import ProgressCallback, part, parts, report
from core.runs import runner, tuning
from core.runs import seeds as run_seeds
from core.transfer.comparison import CHUNK_SEEDS, ComparisonConfig, arm_row, run_locally
from core.transfer.model_a import ModelAConfig, missing_a, model_a_weights, train_model_as
from core.transfer.pairs import ALL_PAIRS
from core.transfer.protocols import TransferProtocol, a_cost, b_cost
from core.transfer.tasks import b_training_sets, engine_configs, epoch_progress, protocol_tasks, task_b_data

LOCAL_ONLY = "tuned comparisons train on this machine: the Ray cluster (LAB_RAY_ADDRESS) is not used for them"


@dataclass(frozen=True)
class FairComparison:
    """The book's comparison with every arm's learning rate searched over one grid, picked per seed on validation.

    A config of its own (not a field of ComparisonConfig), so the book's untuned rows keep their store keys.
    """

    VERSION: ClassVar[int] = 1  # bump if the meaning of a stored row changes
    comparison: ComparisonConfig  # the book's untuned comparison: protocol, vary_subset, vary_a
    rates: tuple[float, ...] = tuning.DEFAULT_RATES  # the grid both arms search (B on A: its frozen-phase rate)

    def __post_init__(self):
        if not isinstance(self.comparison, ComparisonConfig):
            raise ValueError(f"A fair comparison wraps a transfer.ComparisonConfig, got {self.comparison!r}.")
        object.__setattr__(self, "rates", tuning.rate_grid(self.rates))

    @classmethod
    def tiny(cls, b_classes=(5, 6), rates=tuning.DEFAULT_RATES, **variance) -> "FairComparison":
        """The tiny protocol (tests, LAB_PRESET=tiny) with any task-B pair and grid."""
        return cls(ComparisonConfig.tiny(b_classes, **variance), rates)

    @property
    def protocol(self) -> TransferProtocol:
        return self.comparison.protocol

    @property
    def unfrozen_ratio(self) -> float:
        """The book's unfrozen rate over its frozen rate: B on A at r unfreezes at r times this."""
        return self.protocol.unfrozen_learning_rate / self.protocol.frozen_rate

    def with_pair(self, b_classes) -> "FairComparison":
        return dataclasses.replace(self, comparison=self.comparison.with_pair(b_classes))

    def describe(self) -> str:
        """The sources of variance and the search, in words (for captions and the command line)."""
        return (f"{self.comparison.describe()}; every arm's learning rate picked per seed on validation from "
                f"{tuning.rates_text(self.rates)}")

    def verdict_scope(self) -> str:
        """What a verdict on a tuned arm speaks for: the comparison's scope and this grid."""
        return f"{self.comparison.verdict_scope()}, rates searched over {tuning.rates_text(self.rates)}"

    def scratch_rates(self) -> tuple[float, ...]:
        """B from scratch's copies per seed: the grid, then the book's rate when the grid lacks it."""
        return _with_extra(self.rates, self.protocol.learning_rate)

    def transfer_rates(self) -> tuple[float, ...]:
        """B on A's frozen-phase rates per seed: the grid, then the book's frozen rate when the grid lacks it."""
        return _with_extra(self.rates, self.protocol.frozen_rate)

    def copies_per_seed(self) -> tuple[int, int]:
        """(B from scratch, B on A) copies each seed trains: every candidate, plus the book's arm if extra."""
        return len(self.scratch_rates()), len(self.transfer_rates())


def _with_extra(rates: tuple[float, ...], rate: float) -> tuple[float, ...]:
    return rates if rate_index(rates, rate) is not None else (*rates, float(rate))


def rate_index(rates: Sequence[float], rate: float) -> Optional[int]:
    """The position of `rate` in `rates` (equal to a relative 1e-9), or None."""
    return next((index for index, value in enumerate(rates) if math.isclose(value, rate, rel_tol=1e-9)), None)


# ---- training ----

def chunk_cost(config: FairComparison, n_seeds: int) -> float:
    """Estimated image passes of one chunk's B runs (b_cost counts one copy per arm), for progress only."""
    return b_cost(config.protocol) * n_seeds * sum(config.copies_per_seed()) / 2


def train_fair_chunk(config: FairComparison, seeds, store, progress: ProgressCallback | None = None) -> dict:
    """Every candidate of both arms for `seeds` in one engine call; returns {seed: row dict} (only missing model As
    are saved here)."""
    protocol, seeds = config.protocol, [int(seed) for seed in seeds]
    a_seeds = [config.comparison.a_seed(seed) for seed in seeds]
    a_part, b_part = parts(progress, [a_cost(protocol) * len(missing_a(protocol, a_seeds, store)),
                                      chunk_cost(config, len(seeds))], ["", run_seeds.seeds_text(seeds)])
    return fair_unit(config, seeds, model_a_weights(protocol, a_seeds, store, a_part), b_part)


def _tiled(arrays, times: int) -> tuple[np.ndarray, ...]:
    """Each (n_seeds, ...) array repeated `times` along the copy axis: candidate-major copies."""
    return tuple(np.concatenate([array] * times) for array in arrays)


def fair_unit(config: FairComparison, seeds, a_weights, progress: ProgressCallback | None = None) -> dict:
    """The engine call(s) of one chunk, given model A's weights per seed (copy axis first, in `seeds` order):
    {seed: row dict}, nothing saved."""
    from core import engine

    protocol, seeds = config.protocol, [int(seed) for seed in seeds]
    tasks = protocol_tasks(protocol)
    arms, seconds = _train_candidates(config, seeds, a_weights, tasks, progress)
    b_config = engine_configs(protocol)[1]
    validation = {id(run): engine.evaluate(b_config, run.weights, tasks.x_valid_b, tasks.y_valid_b)[1]
                  for run, _ in arms}  # once per engine call: both arms share one call when they can
    n_test = len(tasks.y_test_b)
    (scratch_val, scratch_test), (transfer_val, transfer_test) = (
        _scores(run, copies, validation[id(run)], n_test, len(seeds)) for run, copies in arms)
    k = len(config.rates)
    scratch_search = tuning.Search(config.rates, scratch_val[:, :k], scratch_test[:, :k])
    transfer_search = tuning.Search(config.rates, transfer_val[:, :k], transfer_test[:, :k])
    book_scratch = scratch_test[:, rate_index(config.scratch_rates(), protocol.learning_rate)]
    book_transfer = transfer_test[:, rate_index(config.transfer_rates(), protocol.frozen_rate)]
    rows = seed_rows(scratch_search, transfer_search, book_scratch, book_transfer, n_test)
    for seed, row in zip(seeds, rows):
        row.update({"transfer_unfrozen_rate": row["transfer_search"]["picked_rate"] * config.unfrozen_ratio,
                    "a_seed": config.comparison.a_seed(seed), "subset_seed": config.comparison.subset_seed(seed),
                    "seconds_per_seed": seconds / len(seeds)})
    return dict(zip(seeds, rows))


def _train_candidates(config: FairComparison, seeds: list, a_weights, tasks, progress) -> tuple[tuple, float]:
    """Train every copy: B from scratch at each of `scratch_rates()`, then B on A at each of `transfer_rates()`,
    candidate-major (core.runs.tuning.candidate_copies). One engine call when both arms train as many epochs
    (every protocol of the lab), else one per arm. Returns (((run, copies) of B from scratch, (run, copies) of
    B on A), seconds)."""
    from core import engine

    protocol = config.protocol
    a_config, b_config = engine_configs(protocol)
    if config.comparison.vary_subset:
        x_b, y_b = b_training_sets(protocol, [config.comparison.subset_seed(seed) for seed in seeds])
    else:
        x_b, y_b = tasks.x_train_b, tasks.y_train_b
    scratch_seeds, scratch_copy_rates = tuning.candidate_copies(seeds, config.scratch_rates())
    transfer_seeds, frozen_copy_rates = tuning.candidate_copies(seeds, config.transfer_rates())
    unfrozen_copy_rates = tuple(rate * config.unfrozen_ratio for rate in frozen_copy_rates)
    fresh = _tiled(engine.initial_weights(b_config, seeds), len(config.scratch_rates()))
    start = _tiled(engine.transfer_weights(a_weights, a_config, b_config, seeds), len(config.transfer_rates()))
    n_scratch, n_transfer = len(scratch_seeds), len(transfer_seeds)

    def b_data(copies: int):  # a random subset per seed: each copy its seed's images
        per_copy = config.comparison.vary_subset
        full = task_b_data(tasks, *(_tiled((x_b, y_b), copies // len(seeds)) if per_copy else (x_b, y_b)))
        # The pick reads validation once, after the last epoch (_scores), not every epoch as the curves do.
        return engine.Data(full.x_train, full.y_train, x_test=full.x_test, y_test=full.y_test)

    if protocol.b_epochs == protocol.total_b_epochs:
        phases = [engine.Phase(protocol.frozen_epochs, scratch_copy_rates + frozen_copy_rates,
                               frozen_layers=(0,) * n_scratch + (-1,) * n_transfer),
                  engine.Phase(protocol.unfrozen_epochs, scratch_copy_rates + unfrozen_copy_rates)]
        both = part(progress, 0.0, 1.0, f"B from scratch and B on A, {n_scratch + n_transfer} copies")
        report(both, 0, 1, "building the graph")
        run = engine.train(b_config, b_data(n_scratch + n_transfer), phases, scratch_seeds + transfer_seeds,
                           protocol.batch_size, initial=tuple(np.concatenate(pair) for pair in zip(fresh, start)),
                           progress=epoch_progress(both, frozen=protocol.frozen_epochs))
        return ((run, range(n_scratch)), (run, range(n_scratch, n_scratch + n_transfer))), run.seconds
    scratch_part, transfer_part = parts(progress, [protocol.b_epochs * n_scratch, protocol.total_b_epochs * n_transfer],
                                        ["B from scratch", "B on A"])
    report(scratch_part, 0, 1, "building the graph")
    scratch = engine.train(b_config, b_data(n_scratch), [engine.Phase(protocol.b_epochs, scratch_copy_rates)],
                           scratch_seeds, protocol.batch_size, initial=fresh,
                           progress=epoch_progress(scratch_part))
    phases = [engine.Phase(protocol.frozen_epochs, frozen_copy_rates, frozen_layers=-1),
              engine.Phase(protocol.unfrozen_epochs, unfrozen_copy_rates)]
    report(transfer_part, 0, 1, "building the graph")
    reused = engine.train(b_config, b_data(n_transfer), phases, transfer_seeds, protocol.batch_size, initial=start,
                          progress=epoch_progress(transfer_part, frozen=protocol.frozen_epochs))
    return ((scratch, range(n_scratch)), (reused, range(n_transfer))), scratch.seconds + reused.seconds


def _scores(run, copies, validation, n_test: int, n_seeds: int) -> tuple[np.ndarray, np.ndarray]:
    """(task-B validation accuracy after the last epoch, test accuracy as exact counts of n_test), each
    (n_seeds, n_candidates), of an arm's candidate-major `copies` of `run`; validation: (K,) every copy's."""
    test = [arm_row(run, copy, n_test)[0] for copy in copies]
    return (tuning.by_candidate([float(validation[copy]) for copy in copies], n_seeds),
            tuning.by_candidate(test, n_seeds))


def seed_rows(scratch: tuning.Search, reused: tuning.Search, book_scratch, book_transfer, n_test: int) -> list:
    """One row dict per seed: each arm's test accuracy at its validation-picked rate (the tuned arms, under the
    keys the untuned comparison uses, so transfer.summarize_rows and pair_cells read them alike), both searches
    and the book's untuned arms (n_seeds,)."""
    rows = []
    for index, (scratch_acc, transfer_acc) in enumerate(zip(scratch.tuned_test, reused.tuned_test)):
        rows.append({
            "scratch_test_accuracy": float(scratch_acc), "transfer_test_accuracy": float(transfer_acc),
            "scratch_test_errors": int(round((1 - scratch_acc) * n_test)),
            "transfer_test_errors": int(round((1 - transfer_acc) * n_test)), "n_test": int(n_test),
            "scratch_search": scratch.row(index), "transfer_search": reused.row(index),
            "book_scratch_test_accuracy": float(book_scratch[index]),
            "book_transfer_test_accuracy": float(book_transfer[index]),
        })
    return rows


def run_fair(config: FairComparison, seeds, store, progress: ProgressCallback | None = None,
             chunk_size: int = CHUNK_SEEDS) -> list:
    """Stored rows (core.store.Row) for every seed, training only the missing ones: the model As they need first
    (stacked), then `chunk_size` seeds per engine call, each row saved as its chunk ends. Always on this machine
    (the progress bar says so when LAB_RAY_ADDRESS is set)."""
    seeds = list(run_seeds.check_seeds(seeds))
    return run_locally(config, seeds, store, progress, chunk_size, train_chunk=train_fair_chunk,
                       a_seed=config.comparison.a_seed, seed_cost=chunk_cost(config, 1),
                       note=f" ({LOCAL_ONLY})" if runner.on_cluster() else "")


def run_fair_pairs(config: FairComparison, seeds, store, pairs=ALL_PAIRS,
                   progress: ProgressCallback | None = None, chunk_size: int = CHUNK_SEEDS) -> None:
    """Fill the store for every pair in `pairs`: every model A the missing seeds need first, stacked across pairs
    (train_model_as), then each pair's searches (`run_fair`). One bar for both stages."""
    pairs = [data.check_class_pair(pair) for pair in pairs]
    seeds = list(run_seeds.check_seeds(seeds))
    pending = [(pair, sorted(set(seeds) - store.finished_seeds(config.with_pair(pair)))) for pair in pairs]
    pending = [(pair, missing) for pair, missing in pending if missing]
    a_jobs = [(pair, config.comparison.a_seed(seed)) for pair, missing in pending for seed in missing]
    a_missing = {job for job in a_jobs if not store.model_path(
        ModelAConfig.of(config.protocol.with_pair(job[0])), job[1], "model_a").exists()}
    labels = [f"pair {number}/{len(pending)} ({data.CLASS_NAMES[pair[0]]} vs {data.CLASS_NAMES[pair[1]]})"
              for number, (pair, _) in enumerate(pending, start=1)]
    a_part, *pair_parts = parts(progress, [a_cost(config.protocol) * len(a_missing)] +
                                [chunk_cost(config, len(missing)) for _, missing in pending], [""] + labels)
    train_model_as(config.protocol, a_jobs, store, a_part)
    for (pair, _), piece in zip(pending, pair_parts):
        run_fair(config.with_pair(pair), seeds, store, piece, chunk_size)


# ---- what the stored rows say ----

@dataclass(frozen=True, eq=False)
class ArmComparison:
    """B on A against one baseline, paired by seed."""

    label: str  # e.g. "B on A (book: 0.01, then 0.0001) vs B from scratch, tuned"
    short: str  # the same for a chart's axis: "book's B on A vs scratch, tuned"
    reused: str  # the B-on-A arm: "B on A (book: 0.01, then 0.0001)" or "B on A, tuned"
    baseline: str  # the B-from-scratch arm: "B from scratch at 0.001 (the book's)", ..., "B from scratch, tuned"
    summary: stats.PairedSummary  # core.stats.summarize of the two arms' test accuracies
    fair: bool  # both arms searched the same grid: the fair test


@dataclass(frozen=True, eq=False)
class FairSummary:
    """What the page and the command line show of stored fair rows."""

    rates: tuple[float, ...]  # (n_candidates,) the grid
    seeds: tuple[int, ...]  # (n_seeds,) the stored seeds summarized
    comparisons: tuple[ArmComparison, ...]  # the book's arms first, the fair one (both tuned) last
    picked: dict  # {"B from scratch": (n_seeds,), "B on A": (n_seeds,)} each seed's rate, picked on validation

    @property
    def book(self) -> ArmComparison:
        return self.comparisons[0]

    @property
    def fair(self) -> ArmComparison:
        return self.comparisons[-1]

    def picked_counts(self) -> dict:
        """{arm: (n_candidates,) how many seeds picked each rate of the grid}."""
        return {arm: [sum(math.isclose(value, rate, rel_tol=1e-9) for value in rates) for rate in self.rates]
                for arm, rates in self.picked.items()}

    def arm_means(self) -> list[tuple[str, float]]:
        """(arm, mean test accuracy in [0, 1]) of every arm shown, baselines first, without repeats."""
        means = {}
        for comparison in self.comparisons:
            means.setdefault(comparison.baseline, float(comparison.summary.scratch_acc.mean()))
        for comparison in self.comparisons:
            means.setdefault(comparison.reused, float(comparison.summary.transfer_acc.mean()))
        return list(means.items())


def summarize_fair(config: FairComparison, rows) -> FairSummary:
    """The paired comparisons of stored fair rows (core.store.Row, at least 2): B on A as the book trains it
    against B from scratch at the book's rate, at B on A's frozen rate (when the grid has it and it differs),
    and tuned; then both tuned (the fair one). Verdicts from core.stats.summarize, scoped to what was fixed."""
    if len(rows) < 2:
        raise ValueError(f"A paired comparison needs at least 2 finished seeds, got {len(rows)}.")
    protocol, results = config.protocol, [row.result for row in rows]
    scratch = tuning.search_of_rows([result["scratch_search"] for result in results])
    reused = tuning.search_of_rows([result["transfer_search"] for result in results])
    book_scratch = [result["book_scratch_test_accuracy"] for result in results]
    book_transfer = [result["book_transfer_test_accuracy"] for result in results]
    n_test, book_scope, tuned_scope = results[0]["n_test"], config.comparison.verdict_scope(), config.verdict_scope()
    book_arm = f"B on A (book: {protocol.frozen_rate:g}, then {protocol.unfrozen_learning_rate:g})"
    baselines = [(f"B from scratch at {protocol.learning_rate:g} (the book's)", f"at {protocol.learning_rate:g}",
                  book_scratch, book_scope)]
    if (rate_index(config.rates, protocol.frozen_rate) is not None
            and not math.isclose(protocol.frozen_rate, protocol.learning_rate, rel_tol=1e-9)):
        baselines.append((f"B from scratch at {protocol.frozen_rate:g} (B on A's frozen rate)",
                          f"at {protocol.frozen_rate:g}", scratch.at(protocol.frozen_rate), book_scope))
    baselines.append(("B from scratch, tuned", "tuned", scratch.tuned_test, tuned_scope))
    comparisons = [ArmComparison(f"{book_arm} vs {name}", f"book's B on A vs scratch {short}", book_arm, name,
                                 stats.summarize(values, book_transfer, n_test=n_test, scope=scope), fair=False)
                   for name, short, values, scope in baselines]
    comparisons.append(ArmComparison("B on A, tuned vs B from scratch, tuned", "tuned B on A vs scratch tuned",
                                     "B on A, tuned", "B from scratch, tuned",
                                     stats.summarize(scratch.tuned_test, reused.tuned_test, n_test=n_test,
                                                     scope=tuned_scope), fair=True))
    return FairSummary(scratch.rates, tuple(row.seed for row in rows), tuple(comparisons),
                       {"B from scratch": scratch.picked_rates, "B on A": reused.picked_rates})


def picked_text(summary: FairSummary) -> str:
    """"B from scratch 0.001: 2, 0.003: 1, ...; B on A ...": how many seeds picked each rate, per arm."""
    return "; ".join(f"{arm} " + ", ".join(f"{rate:g}: {count}" for rate, count in zip(summary.rates, counts))
                     for arm, counts in summary.picked_counts().items())


def edge_notes(summary: FairSummary) -> list[str]:
    """One warning per arm whose seeds mostly picked an end of the grid (core.runs.tuning.edge_note)."""
    notes = (tuning.edge_note(summary.rates, counts, arm) for arm, counts in summary.picked_counts().items())
    return [f"note: {note}" for note in notes if note]


def summary_lines(summary: FairSummary) -> list[str]:
    """What the command line prints for one pair: the book's untuned arms (core.stats.summary_lines) first, the
    other baselines' verdicts, the rates picked, and last the tuned arms' statistics."""
    return ([f"\nthe book's protocol (untuned), from the same runs: {summary.book.label}",
             *stats.summary_lines(summary.book.summary)]
            + [f"{comparison.label}: {comparison.summary.verdict.text}" for comparison in summary.comparisons[1:-1]]
            + [f"\nrates picked on validation (seeds per rate): {picked_text(summary)}", *edge_notes(summary),
               "tuned (the fair comparison): each arm at its own rate, picked per seed on validation from "
               f"{tuning.rates_text(summary.rates)}", *stats.summary_lines(summary.fair.summary)])

