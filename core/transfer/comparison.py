"""The many-seed comparison of B from scratch and B on A, paired by seed: each chunk of seeds one engine call, each
seed's row saved in the results store as its chunk ends; the book's single run (seed 42) and the sharing pitfall
on the stored model A.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar, Optional

import numpy as np

from core.progress import SCALE, ProgressCallback, part, parts, report
from core.runs import runner
from core.runs import seeds as run_seeds
from core.transfer import units
from core.transfer.model_a import MODEL_A_SEED, ModelAConfig, missing_a, model_a_keras, model_a_weights, train_model_as
from core.transfer.protocols import MAX_SEEDS, MIN_SEEDS, PROTOCOLS, TransferProtocol, a_cost, b_cost
from core.transfer.reference import SharingPitfall, sharing_pitfall
from core.transfer.tasks import b_training_sets, engine_configs, epoch_progress, protocol_tasks, task_b_data

BOOK_RUN_SEED = 42  # the seed of the "one run as in the book" (B's initialisation and batch order)
CHUNK_SEEDS = 10  # seeds per engine call: a killed run loses at most this many seeds in flight


@dataclass(frozen=True)
class ComparisonConfig:
    """One multi-seed comparison: B from scratch vs B on A, paired by seed.

    Every seed sets B's initial weights and its batch order (in both arms, so they are paired).
    """

    VERSION: ClassVar[int] = 1  # bump if the meaning of a stored row changes
    UNIT_KIND: ClassVar[str] = "comparison"  # the name of a chunk's unit (core.transfer.units, a cluster's task)
    protocol: TransferProtocol  # what is trained
    vary_subset: bool = True  # each seed draws its own task-B training images (off: the book's first ones)
    vary_a: bool = False  # each seed trains its own model A (off: one A, seed 42, shared by all seeds)

    @classmethod
    def tiny(cls, b_classes=(5, 6), **variance) -> "ComparisonConfig":
        """The tiny protocol (tests, LAB_PRESET=tiny) with any task-B pair."""
        return cls(PROTOCOLS["tiny"].with_pair(b_classes), **variance)

    def a_seed(self, seed: int) -> int:
        return seed if self.vary_a else MODEL_A_SEED

    def subset_seed(self, seed: int) -> Optional[int]:
        return seed if self.vary_subset else None

    def with_pair(self, b_classes) -> "ComparisonConfig":
        return dataclasses.replace(self, protocol=self.protocol.with_pair(b_classes))

    def describe(self) -> str:
        """The sources of variance, in words (for captions and the command line)."""
        subset = (f"a random {self.protocol.n_b_train}-image task-B subset per seed" if self.vary_subset
                  else f"the first {self.protocol.n_b_train} task-B images (as in the book)")
        a_text = "one model A per seed" if self.vary_a else f"one model A (seed {MODEL_A_SEED}) shared by all seeds"
        return f"seeds vary B's initialisation and batch order; {subset}; {a_text}"

    def verdict_scope(self) -> str:
        """What a verdict over these seeds speaks for: what the seeds did not vary (model A unless each
        seed trains its own, the task-B images unless each seed draws its own, and always the test set)."""
        fixed = [] if self.vary_a else [f"this model A (seed {MODEL_A_SEED})"]
        if not self.vary_subset:
            fixed.append(f"these {self.protocol.n_b_train} task-B training images")
        fixed.append("this test set")
        return "for " + (", ".join(fixed[:-1]) + " and " + fixed[-1] if len(fixed) > 1 else fixed[0])


def seed_list(n_seeds) -> tuple[int, ...]:
    """Seeds 0..n-1 for a comparison of n seeds (the page and the command line use the same ones)."""
    return run_seeds.seed_list(n_seeds, low=MIN_SEEDS, high=MAX_SEEDS)


def arm_row(run, copy: int, n_test: int) -> tuple[float, int]:
    """(test accuracy, test errors) of one copy, as exact counts of the n_test test images."""
    errors = int(round((1.0 - float(run.test_accuracy[copy])) * n_test))
    return (n_test - errors) / n_test, errors


def train_comparison_chunk(config: ComparisonConfig, seeds, store, progress: ProgressCallback | None = None) -> dict:
    """Train both arms for `seeds` in one engine call (2 copies per seed: B from scratch, then B on A, each with
    its own phases); returns {seed: row dict} (only missing model As are saved here).

    The arms share a graph through per-copy learning rates and frozen layers: B from scratch runs its
    b_epochs as two stretches at the same rate (plain SGD keeps no state, so the split changes nothing),
    B on A its frozen then unfrozen epochs. When b_epochs differs from the B-on-A epochs, two calls.
    """
    protocol, seeds = config.protocol, [int(seed) for seed in seeds]
    a_seeds = [config.a_seed(seed) for seed in seeds]
    a_part, b_part = parts(progress, [a_cost(protocol) * len(missing_a(protocol, a_seeds, store)),
                                      b_cost(protocol) * len(seeds)], ["", run_seeds.seeds_text(seeds)])
    a_weights = model_a_weights(protocol, a_seeds, store, a_part)
    return comparison_unit(config, seeds, a_weights, b_part)


def comparison_unit(config: ComparisonConfig, seeds, a_weights, b_part: ProgressCallback | None = None) -> dict:
    """`train_comparison_chunk`'s engine call(s), given model A's weights for each seed (copy axis first, in
    `seeds` order): {seed: row dict} returned, nothing saved (a unit a cluster worker runs)."""
    from core import engine

    protocol, seeds = config.protocol, [int(seed) for seed in seeds]
    a_config, b_config = engine_configs(protocol)
    tasks = protocol_tasks(protocol)
    if config.vary_subset:
        x_b, y_b = b_training_sets(protocol, [config.subset_seed(seed) for seed in seeds])
    else:
        x_b, y_b = tasks.x_train_b, tasks.y_train_b
    start = engine.transfer_weights(a_weights, a_config, b_config, seeds)
    fresh = engine.initial_weights(b_config, seeds)
    scratch_rate, (frozen_rate, unfrozen_rate) = protocol.learning_rate, (protocol.frozen_rate,
                                                                          protocol.unfrozen_learning_rate)
    if protocol.b_epochs == protocol.total_b_epochs:  # both arms as copies of one engine call
        both = len(seeds)
        x_b, y_b = (np.concatenate([x_b, x_b]), np.concatenate([y_b, y_b])) if config.vary_subset else (x_b, y_b)
        phases = [engine.Phase(protocol.frozen_epochs, (scratch_rate,) * both + (frozen_rate,) * both,
                               frozen_layers=(0,) * both + (-1,) * both),
                  engine.Phase(protocol.unfrozen_epochs, (scratch_rate,) * both + (unfrozen_rate,) * both)]
        both_part = part(b_part, 0.0, 1.0, "B from scratch and B on A")
        report(both_part, 0, 1, "building the graph")
        run = engine.train(b_config, task_b_data(tasks, x_b, y_b), phases, seeds + seeds, protocol.batch_size,
                           initial=tuple(np.concatenate(pair) for pair in zip(fresh, start)),
                           progress=epoch_progress(both_part, frozen=protocol.frozen_epochs))
        arms = (run, range(both)), (run, range(both, 2 * both))
    else:
        b_data = task_b_data(tasks, x_b, y_b)
        scratch_part, transfer_part = parts(b_part, [protocol.b_epochs, protocol.total_b_epochs],
                                            ["B from scratch", "B on A"])
        report(scratch_part, 0, 1, "building the graph")
        scratch = engine.train(b_config, b_data, [engine.Phase(protocol.b_epochs, scratch_rate)], seeds,
                               protocol.batch_size, initial=fresh, progress=epoch_progress(scratch_part))
        phases = [engine.Phase(protocol.frozen_epochs, frozen_rate, frozen_layers=-1),
                  engine.Phase(protocol.unfrozen_epochs, unfrozen_rate)]
        report(transfer_part, 0, 1, "building the graph")
        transfer = engine.train(b_config, b_data, phases, seeds, protocol.batch_size, initial=start,
                                progress=epoch_progress(transfer_part, frozen=protocol.frozen_epochs))
        arms = (scratch, range(len(seeds))), (transfer, range(len(seeds)))
    return _comparison_rows(config, seeds, arms, len(tasks.y_test_b))


def _comparison_rows(config: ComparisonConfig, seeds, arms, n_test: int) -> dict:
    """{seed: row} from ((run, copies) of B from scratch, (run, copies) of B on A), copies in seed order."""
    (scratch, scratch_copies), (transfer, transfer_copies) = arms
    seconds = (scratch.seconds + (transfer.seconds if transfer is not scratch else 0.0)) / len(seeds)
    rows = {}
    for seed, s, t in zip(seeds, scratch_copies, transfer_copies):
        (scratch_acc, scratch_errors), (transfer_acc, transfer_errors) = (arm_row(scratch, s, n_test),
                                                                          arm_row(transfer, t, n_test))
        rows[seed] = {
            "scratch_test_accuracy": scratch_acc, "transfer_test_accuracy": transfer_acc,
            "scratch_test_errors": scratch_errors, "transfer_test_errors": transfer_errors, "n_test": n_test,
            "scratch_val_accuracy": scratch.val_accuracy[s], "transfer_val_accuracy": transfer.val_accuracy[t],
            "scratch_loss": scratch.loss[s], "transfer_loss": transfer.loss[t],
            "a_seed": config.a_seed(seed), "subset_seed": config.subset_seed(seed), "seconds_per_seed": seconds,
        }
    return rows


def run_comparison(config: ComparisonConfig, seeds, store, progress: ProgressCallback | None = None,
                   chunk_size: int = CHUNK_SEEDS) -> list:
    """Stored rows (core.store.Row) for every seed, training only the missing ones, `chunk_size` per engine call.

    Each row is saved as soon as its chunk finishes, so a killed run resumes where it stopped.
    """
    if chunk_size < 1:
        raise ValueError(f"The chunk size must be at least 1 seed, got {chunk_size}.")
    seeds = [int(seed) for seed in seeds]
    if runner.on_cluster():  # LAB_RAY_ADDRESS: the chunks run as units on the Ray cluster
        return units.run_chunks(comparison_unit, [(config, seeds)], store, progress, chunk_size=chunk_size)[0]
    return run_locally(config, seeds, store, progress, chunk_size, train_chunk=train_comparison_chunk,
                       a_seed=config.a_seed, seed_cost=b_cost(config.protocol))


def run_locally(config, seeds, store, progress: ProgressCallback | None, chunk_size: int, *, train_chunk,
                a_seed, seed_cost: float, note: str = "") -> list:
    """Stored rows for every seed of `config` (a comparison, or one that wraps it), the missing ones trained in
    this process: every model A they need first (`train_model_as`, stacked), then `train_chunk(config, chunk,
    store, progress) -> {seed: row}` per chunk of `chunk_size` seeds, each row saved as its chunk ends.
    `a_seed(seed)`: the model A a seed starts from; `seed_cost`: one seed's B runs in image passes (progress
    only); `note` follows the progress messages."""
    from core import store as store_module

    protocol = config.protocol
    report(progress, 0, SCALE, "checking the results store" + note)

    def run_batch(_config, missing, on_seed_done):
        report(progress, 0, SCALE, "loading TensorFlow and the data" + note)
        chunks = run_seeds.chunks(list(missing), chunk_size)
        # Every model A the missing seeds need first, stacked (one A per seed with vary_a: 20 seeds, one call).
        a_seeds = [a_seed(seed) for seed in missing]
        a_part, *chunk_parts = parts(progress, [a_cost(protocol) * len(missing_a(protocol, a_seeds, store))] +
                                     [seed_cost * len(chunk) for chunk in chunks], [""] * (len(chunks) + 1))
        train_model_as(protocol, [(protocol.b_classes, seed) for seed in a_seeds], store, a_part)
        for chunk, piece in zip(chunks, chunk_parts):
            for seed, row in train_chunk(config, chunk, store, piece).items():
                on_seed_done(seed, row)

    # run_missing's own per-seed counts are not drawn: the parts above already cover the whole run.
    rows = store_module.run_missing(store, config, seeds, run_batch)
    report(progress, SCALE, SCALE, f"{len(seeds)} seeds stored")
    return rows


def summarize_rows(rows, scope: str = ""):
    """core.stats.PairedSummary of stored rows (test accuracies paired by seed); `scope` says what the
    verdict speaks for (ComparisonConfig.verdict_scope)."""
    from core import stats

    if len(rows) < 2:
        raise ValueError(f"A paired comparison needs at least 2 finished seeds, got {len(rows)}.")
    scratch = [row.result["scratch_test_accuracy"] for row in rows]
    transfer = [row.result["transfer_test_accuracy"] for row in rows]
    return stats.summarize(scratch, transfer, n_test=rows[0].result["n_test"], scope=scope)


# ---- one run as in the book (seed 42, the first task-B images, one model A) ----

@dataclass(frozen=True, eq=False)
class BookRun:
    """The three learning curves and two test accuracies of the book's single run. Curves: (n_epochs,)."""

    protocol: TransferProtocol
    a_val_accuracy: Optional[np.ndarray]  # model A on task-A validation images, per epoch (None: only its
    # .keras file survived, e.g. after a damaged results file was moved aside)
    scratch_val_accuracy: np.ndarray  # B from scratch, task-B validation, per epoch
    transfer_val_accuracy: np.ndarray  # B on A, per epoch (frozen epochs first)
    scratch_test_accuracy: float
    transfer_test_accuracy: float
    n_test: int  # task-B test images


def book_run_config(protocol: TransferProtocol) -> ComparisonConfig:
    """The book's single run is seed 42 of the comparison with nothing but the seed varied."""
    return ComparisonConfig(protocol, vary_subset=False, vary_a=False)


def stored_book_run(protocol: TransferProtocol, store) -> Optional[BookRun]:
    """The single run from the store, or None if it was never trained."""
    rows = store.results(book_run_config(protocol), [BOOK_RUN_SEED])
    if not rows:
        return None
    a_rows = store.results(ModelAConfig.of(protocol), [MODEL_A_SEED])
    a_curve = np.array(a_rows[0].result["val_accuracy"]) if a_rows else None
    result = rows[0].result
    return BookRun(protocol, a_curve, np.array(result["scratch_val_accuracy"]),
                   np.array(result["transfer_val_accuracy"]), result["scratch_test_accuracy"],
                   result["transfer_test_accuracy"], result["n_test"])


def book_run(protocol: TransferProtocol, store, progress: ProgressCallback | None = None) -> BookRun:
    """Train (or load) the book's single run with the engine (one copy) and the cached model A."""
    run_comparison(book_run_config(protocol), [BOOK_RUN_SEED], store, progress)
    return stored_book_run(protocol, store)


def pitfall_run(protocol: TransferProtocol, store, progress: ProgressCallback | None = None) -> SharingPitfall:
    """The sharing pitfall on the cached model A (seed 42), with the plain Keras code of the book."""
    a_missing_cost = a_cost(protocol) * len(missing_a(protocol, [MODEL_A_SEED], store))
    a_part, b_part = parts(progress, [a_missing_cost, b_cost(protocol)], ["", ""])  # two B on A runs ~ both arms
    report(progress, 0, SCALE, "loading model A")
    model_a = model_a_keras(protocol, store, MODEL_A_SEED, a_part)
    pitfall = sharing_pitfall(protocol, protocol_tasks(protocol), model_a, BOOK_RUN_SEED, b_part)
    report(progress, SCALE, SCALE, "done")
    return pitfall


def job_key(kind: str, config, seeds=()) -> tuple:
    """The core.jobs key of one training: same kind, config and seeds -> the same (shared) job."""
    return run_seeds.job_key("transfer", kind, config, seeds)
