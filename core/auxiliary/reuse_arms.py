"""Reuse with few labels: every arm (scratch; each source frozen, frozen then unfrozen, fine-tuned) trained on
the same batches per seed in three stacked runs, stored per seed and read back as a ReuseResult, one label count
or a grid of them."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from core import pretraining, stacked
from core.auxiliary.configs import ARMS, CHUNK_SEEDS, SOURCES, Reuse
from core.auxiliary.data import labelled_subset, source_data, target_validation
from core.auxiliary.nets import nadam, progress_segments, target_layers
from core.auxiliary.sources import encoder_params, pretrain_source
from core.progress import ProgressCallback, Stages
from core.runs import tuning
from core.runs.seeds import check_seeds, chunks, seeds_text


@dataclass(frozen=True, eq=False)
class ReuseResult:
    config: Reuse  # or a core.auxiliary.tuned.TunedReuse (the same arms, each seed at its validation-picked rate)
    seeds: tuple[int, ...]
    accuracy: np.ndarray  # (n_seeds, len(ARMS)) test accuracy on the target pair's test images
    n_test: int
    seconds_per_seed: np.ndarray  # (n_seeds,) the reuse arms only (sources not included)
    validation: Optional[np.ndarray] = None  # (n_seeds, len(ARMS)) on its validation images; None: rows predate it

    def arm(self, name: str) -> np.ndarray:
        return self.accuracy[:, ARMS.index(name)]


def reuse(config: Reuse, seeds, store, progress: Optional[ProgressCallback] = None,
          chunk_size: int = CHUNK_SEEDS, trainer=None) -> ReuseResult:
    """Every arm for every seed: pretrains missing sources first, runs only seeds not stored, loads all.
    `trainer(config, seeds, store, progress) -> {seed: row}` trains one chunk (default: the untuned arms)."""
    from core import store as store_module

    seeds = check_seeds(seeds)
    missing = [seed for seed in seeds if seed not in store.finished_seeds(config)]
    if missing:
        stages = Stages(progress, [2.0] * len(SOURCES) + [1.0])
        for index, source in enumerate(SOURCES):
            pretrain_source(config.source(source), missing, store, stages.callback(index, f"pretraining: {source}"),
                            chunk_size)

        def run_batch(_config, pending, on_seed_done):
            pieces = chunks(pending, chunk_size)
            inner = Stages(stages.callback(len(SOURCES), "reuse"), [len(piece) for piece in pieces])
            for index, piece in enumerate(pieces):
                label = f"{config.n_labels} labels, {seeds_text(piece)}"
                for seed, row in (trainer or _reuse_chunk)(config, piece, store, inner.callback(index, label)).items():
                    on_seed_done(seed, row)

        store_module.run_missing(store, config, missing, run_batch)
    return load_reuse(config, seeds, store)


def _tile(dicts: list[dict]) -> dict:
    """Stack several stacked param dicts along the copy axis (arm-major: arm 0's seeds, then arm 1's...)."""
    return {key: np.concatenate([params[key] for params in dicts]) for key in dicts[0]}


def reuse_start(fresh: dict, encoder: dict) -> dict:
    """The target net's starting arrays: `fresh` with the source's encoder arrays copied in (never shared, so
    training an arm cannot change the source, the transfer page's sharing pitfall)."""
    return {key: np.array(encoder[key] if key in encoder else value, copy=True) for key, value in fresh.items()}


@dataclass(frozen=True, eq=False)
class ArmScores:
    """Every arm of a chunk of seeds at every candidate rate, each (n_seeds, n_candidates) per arm."""

    rates: tuple[float, ...]  # (n_candidates,) fine-tuning and frozen rates; unfrozen at rate * the config's ratio
    validation: dict  # {arm: accuracy on the target pair's validation images after the last update}
    test: dict  # {arm: accuracy on its test images}
    diverged: dict  # {arm: True where the training loss went non-finite}
    n_valid: int
    n_test: int
    seconds_per_seed: float


def train_arms(config: Reuse, seeds, store, progress=None, rates: Optional[Sequence[float]] = None) -> ArmScores:
    """Every arm of `seeds` at every rate of `rates` (default: the config's one rate) in three stacked runs:
    fine-tune (scratch too), frozen, then unfrozen; the candidates are extra copies (core.runs.tuning's layout)."""
    started = time.perf_counter()
    common, copies = config.common, len(seeds)
    rates = (config.learning_rate,) if rates is None else tuple(float(rate) for rate in rates)
    block = len(rates) * copies  # copies of one arm: candidate-major, then seed
    copy_rates = np.asarray(tuning.candidate_copies(seeds, rates)[1])
    arrays = source_data(common)
    layers = target_layers(common)
    objective = stacked.Classification(layers)
    fresh = stacked.initial_params(layers, 784, seeds, "target")
    starts = {source: reuse_start(fresh, encoder_params(config.source(source), seeds, store)) for source in SOURCES}
    subsets = [labelled_subset(arrays.y_reserve, config.n_labels, seed) for seed in seeds]
    streams = np.stack([stacked.batch_stream(seed, "target", subset, common.batch_size, config.updates)
                        for seed, subset in zip(seeds, subsets)])
    target_data = (arrays.x_reserve, arrays.y_reserve)
    valid, test = target_validation(arrays, common.target_pair), (arrays.x_test, arrays.y_test)
    output_keys = ("output/kernel", "output/bias")
    stages = Stages(progress, [5.0, 4.0, 4.0])
    scores = {"validation": {}, "test": {}, "diverged": {}}

    def record(arms, run):
        measured = {"validation": stacked.evaluate(objective, run.params, valid)[1],
                    "test": stacked.evaluate(objective, run.params, test)[1], "diverged": ~np.isfinite(run.loss).all(1)}
        for position, arm in enumerate(arms):
            for name, values in measured.items():
                scores[name][arm] = tuning.by_candidate(values[position * block:(position + 1) * block], copies)

    def run_arms(arms, start, trainable, stream, arm_rates, index, label, **options):
        stage = stages.callback(index, label)
        return stacked.train(objective, start, trainable, nadam(config.learning_rate), target_data,
                             np.tile(stream, (len(arms) * len(rates), 1, 1)), **options,
                             learning_rates=np.tile(arm_rates, len(arms)),
                             progress=lambda done, total, _: stage(done, total, f"{done}/{total}"))

    def each_rate(params: list) -> dict:
        return _tile([start for start in params for _ in rates])

    # Every layer trains: scratch and each source's fine-tune arm, one stacked run, the same batches per seed.
    every_layer = ["scratch"] + [f"{source}:fine_tune" for source in SOURCES]
    record(every_layer, run_arms(every_layer, each_rate([fresh] + [starts[source] for source in SOURCES]),
                                 tuple(fresh), streams, copy_rates, 0, "fine-tuning and scratch",
                                 segments=progress_segments(config.updates)))

    # Frozen encoders: only the new output trains; a snapshot at the end of the frozen stretch seeds the next run.
    frozen = [f"{source}:frozen" for source in SOURCES]
    cut = math.gcd(config.updates, config.frozen_updates)
    snapshots = {}

    def keep(index, params):
        if (index + 1) * cut == config.frozen_updates:
            snapshots["frozen"] = params

    record(frozen, run_arms(frozen, each_rate([starts[source] for source in SOURCES]), output_keys, streams,
                            copy_rates, 1, "frozen encoders", segments=config.updates // cut, on_segment=keep))

    # Then every layer unfrozen at the lower rate (each candidate's rate times the same ratio), a fresh optimizer.
    unfrozen = [f"{source}:frozen_then_unfrozen" for source in SOURCES]
    rest = streams[:, config.frozen_updates:]
    lower = config.unfrozen_learning_rate * (copy_rates / config.learning_rate)  # exactly the config's at its rate
    record(unfrozen, run_arms(unfrozen, snapshots["frozen"], tuple(fresh), rest, lower, 2,
                              "unfrozen at the lower rate", segments=progress_segments(rest.shape[1])))
    diverged = {arm: flags > 0 for arm, flags in scores["diverged"].items()}
    return ArmScores(rates, scores["validation"], scores["test"], diverged, len(valid[1]),
                     len(arrays.y_test), (time.perf_counter() - started) / copies)


def correct_counts(accuracy: dict, n_images: int, copy: int, picks: Optional[dict] = None) -> dict:
    """{arm: images right} of one copy, from {arm: (n_seeds, n_candidates)} accuracies, at each arm's picked
    candidate (`picks` {arm: index}; default the first); None where the accuracy is not finite."""
    values = {arm: float(accuracy[arm][copy, (picks or {}).get(arm, 0)]) for arm in ARMS}
    return {arm: int(round(value * n_images)) if math.isfinite(value) else None for arm, value in values.items()}


def _reuse_chunk(config: Reuse, seeds, store, progress) -> dict:
    """The untuned arms of `seeds` (every arm at the config's rates): {seed: row}."""
    scores = train_arms(config, seeds, store, progress)
    return {seed: {"test_correct": correct_counts(scores.test, scores.n_test, copy), "n_test": scores.n_test,
                   "valid_correct": correct_counts(scores.validation, scores.n_valid, copy),
                   "n_valid": scores.n_valid, "updates": config.updates, "seconds_per_seed": scores.seconds_per_seed,
                   "diverged": [arm for arm in ARMS if scores.diverged[arm][copy, 0]]}
            for copy, seed in enumerate(seeds)}


def load_reuse(config: Reuse, seeds, store) -> ReuseResult:
    """The stored rows of `seeds` as arrays (all must be stored); `validation` only if every row has it."""
    results = pretraining.stored_results(config, seeds, store)
    n_test = results[0]["n_test"]
    correct = np.array([[row["test_correct"][arm] for arm in ARMS] for row in results])
    validation = None if not all("valid_correct" in row for row in results) else np.array(
        [[np.nan if row["valid_correct"][arm] is None else row["valid_correct"][arm] / row["n_valid"]
          for arm in ARMS] for row in results])
    return ReuseResult(config, tuple(seeds), correct / n_test, n_test,
                       np.array([row["seconds_per_seed"] for row in results]), validation)


def run_grid(base: Reuse, label_counts: Sequence[int], seeds, store, progress: Optional[ProgressCallback] = None,
             chunk_size: int = CHUNK_SEEDS, trainer=None) -> dict:
    """{n_labels: ReuseResult}: the sources are pretrained once (first count), every count reuses them."""
    stages = Stages(progress, [3.0] + [1.0] * (len(label_counts) - 1))
    return {n_labels: reuse(base.with_labels(n_labels), seeds, store, stages.callback(index, f"{n_labels} labels"),
                            chunk_size, trainer) for index, n_labels in enumerate(label_counts)}
