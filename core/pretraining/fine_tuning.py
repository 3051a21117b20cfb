"""Fine-tuning arms on few labels: every arm (scratch, frozen, frozen then top, fine-tune all, the raw-pixel
floor) trained for every seed on the stored autoencoders, stored per seed, loaded as a Comparison; grids of
regimes and label counts."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from core import stacked
from core import store as store_module
from core.pretraining.arrays import Arrays, labelled_subset, split_arrays
from core.pretraining.autoencoders import missing_pretraining, pretrain, pretrained_params
from core.pretraining.configs import ARMS, CHUNK_SEEDS, CURVE_VALIDATION, PITFALL_RUNS, FineTuning, stacked_optimizer
from core.pretraining.nets import classifier_layers, encoder_layers
from core.progress import ProgressCallback, Stages
from core.runs import tuning
from core.runs.seeds import check_seeds, chunks, seeds_text


@dataclass(frozen=True, eq=False)
class Comparison:
    """Every arm's results for one FineTuning config, seeds on the first axis, arms in ARMS order."""

    config: FineTuning
    seeds: tuple[int, ...]
    test_accuracy: np.ndarray  # (n_seeds, len(ARMS)) on the test images
    n_test: int  # test images
    curves: np.ndarray  # (n_seeds, len(ARMS), curve_points) validation accuracy every `segment` updates
    curve_updates: np.ndarray  # (curve_points,) updates done at each curve point
    pitfall_accuracy: np.ndarray  # (n_seeds, 2) test accuracy of PITFALL_RUNS; (n_seeds, 0) when not run
    pitfall_curves: np.ndarray  # (n_seeds, 2, pitfall_updates / segment) their validation curves; (n_seeds, 0, 0)
    seconds_per_seed: np.ndarray  # (n_seeds,) fine-tuning time (pretraining not included)

    def arm(self, name: str) -> np.ndarray:
        """(n_seeds,) test accuracy of one arm."""
        return self.test_accuracy[:, ARMS.index(name)]


def fine_tune(config: FineTuning, seeds, store, progress: Optional[ProgressCallback] = None,
              chunk_size: int = CHUNK_SEEDS) -> Comparison:
    """Every arm for every seed: pretrains missing autoencoders first, runs only seeds not stored, loads all."""
    train_missing(config, config, seeds, store, _fine_tune_chunk, progress, chunk_size)
    return load_comparison(config, seeds, store)


def train_missing(stored_as, config: FineTuning, seeds, store, train_chunk, progress: Optional[ProgressCallback] = None,
                  chunk_size: int = CHUNK_SEEDS) -> None:
    """Train the seeds of `stored_as` (`config`, or a config built on it) not yet stored, `chunk_size` at a time:
    each chunk's missing autoencoders, then `train_chunk(stored_as, arrays, chunk, store, progress)` -> {seed: row}."""
    seeds = check_seeds(seeds)
    if chunk_size < 1:
        raise ValueError(f"The chunk size must be at least 1 seed, got {chunk_size}.")
    finished = store.finished_seeds(stored_as)
    missing = [seed for seed in seeds if seed not in finished]
    if not missing:
        return
    parts = chunks(missing, chunk_size)
    need = [missing_pretraining(config.pretraining, chunk, store) for chunk in parts]
    stages = Stages(progress, [len(chunk) + 2.0 * len(pending) for chunk, pending in zip(parts, need)])
    arrays = split_arrays(config.pretraining.split)

    def run_batch(_config, _missing, on_seed_done):  # chunk by chunk: its autoencoders, then its arms
        for index, (chunk, pending) in enumerate(zip(parts, need)):
            inner = Stages(stages.callback(index), [2.0 * len(pending), len(chunk)])
            if pending:
                pretrain(config.pretraining, pending, store, inner.callback(0), chunk_size)
            label = f"{config.n_labels} labels, {seeds_text(chunk)}"
            for seed, row in train_chunk(stored_as, arrays, chunk, store, inner.callback(1, label)).items():
                on_seed_done(seed, row)

    store_module.run_missing(store, stored_as, missing, run_batch)


def _fine_tune_chunk(config: FineTuning, arrays: Arrays, seeds, store, progress) -> dict:
    """Train every arm of `seeds` together, each at the config's own rate; returns {seed: row}."""
    runs = train_arms(config, arrays, seeds, store, progress)
    correct = np.rint(runs.accuracy * runs.n_test).astype(int)
    pitfall_correct = np.rint(runs.pitfall * runs.n_test).astype(int)
    return {seed: {"test_correct": dict(zip(ARMS, correct[copy].tolist())), "n_test": runs.n_test,
                   "curves": dict(zip(ARMS, runs.curves[copy])),
                   "pitfall_correct": dict(zip(PITFALL_RUNS, pitfall_correct[copy].tolist())),
                   "pitfall_curves": dict(zip(PITFALL_RUNS, runs.pitfall_curves[copy])),
                   "updates": {name: int(made[copy]) for name, made in runs.updates.items()},
                   "seconds_per_seed": runs.seconds_per_copy,
                   "diverged": [name for name, flags in runs.diverged.items() if flags[copy]]}
            for copy, seed in enumerate(seeds)}


@dataclass(frozen=True, eq=False)
class ArmRuns:
    """What `train_arms` measured, one row per copy (seed x candidate rate, candidate-major)."""

    accuracy: np.ndarray  # (n_copies, len(ARMS)) test accuracy
    curves: np.ndarray  # (n_copies, len(ARMS), curve_points) validation accuracy every `segment` updates
    pitfall: np.ndarray  # (n_copies, 2) PITFALL_RUNS' test accuracy; (n_copies, 0) when skipped
    pitfall_curves: np.ndarray  # (n_copies, 2, pitfall_updates / segment); (n_copies, 0, 0) when skipped
    updates: dict  # {arm or pitfall run: (n_copies,) updates its optimizer made, counted by the training loop}
    diverged: dict  # {arm or pitfall run: (n_copies,) True where the training loss went non-finite}
    n_test: int  # test images
    seconds_per_copy: float  # fine-tuning time per copy


def train_arms(config: FineTuning, arrays: Arrays, seeds, store, progress, *, rates: Optional[Sequence[float]] = None,
               pitfalls: bool = True) -> ArmRuns:
    """Every arm of `seeds` (autoencoders stored) trained together, each seed at every rate of `rates` (default: the
    config's own), as copies laid out by core.runs.tuning.candidate_copies: copy c * K + i is seed i at rates[c]
    (the top arm unfreezes at rates[c] x unfrozen_learning_rate / learning_rate). Every copy of a seed draws the same
    batches. `pitfalls`: also the frozen-codes runs (the frozen arm is then their first `updates`)."""
    started = time.perf_counter()
    rates = (config.learning_rate,) if rates is None else tuple(float(rate) for rate in rates)
    copy_seeds, copy_rates = tuning.candidate_copies(seeds, rates)
    top_rates = tuple(config.unfrozen_learning_rate * (rate / config.learning_rate) for rate in copy_rates)
    pretrain_config, copies = config.pretraining, len(copy_seeds)
    encoder, classifier = encoder_layers(pretrain_config), classifier_layers(pretrain_config)
    depth = len(encoder)
    per_seed, pool_mean, pool_std = pretrained_params(pretrain_config, seeds, store)

    def tiled(array):  # (K, ...) one per seed -> (copies, ...) one per copy
        return np.concatenate([array] * len(rates))

    pretrained = {key: tiled(value) for key, value in per_seed.items()}
    subsets = [labelled_subset(arrays.y_reserve, config.n_labels, seed) for seed in seeds]
    long = config.pitfall_updates if pitfalls else config.updates  # the frozen run's length
    long_streams = tiled(np.stack([stacked.batch_stream(seed, "classifier", subset, config.batch_size, long)
                                   for seed, subset in zip(seeds, subsets)]))
    streams = long_streams[:, :config.updates]  # a stream's first updates do not depend on its length
    segment, curve_valid = config.segment, min(CURVE_VALIDATION, len(arrays.y_valid))
    x_curve, y_curve = arrays.x_valid[:curve_valid], arrays.y_valid[:curve_valid]

    def labels(y):  # the same labels for every copy, as per-copy data
        return np.broadcast_to(y, (copies, len(y)))

    def seed_outputs(layers, x):  # each seed's features once, then one block per copy
        return tiled(stacked.outputs(layers, per_seed, x)) if layers else np.broadcast_to(x, (copies, *x.shape))

    fresh = stacked.initial_params(classifier, 784, copy_seeds, "classifier")
    output_keys = ("output/kernel", "output/bias")
    pretrained_start = {**{key: pretrained[key] for key in fresh if key not in output_keys},
                        **{key: fresh[key] for key in output_keys}}
    optimizer = stacked_optimizer(config.optimizer, config.learning_rate)
    n_curve, n_long = config.curve_points, long // segment
    curves = np.zeros((copies, len(ARMS), n_curve), np.float32)
    runs_long = PITFALL_RUNS if pitfalls else ("frozen",)
    long_curves = np.zeros((copies, len(runs_long), n_long), np.float32)
    accuracy = np.zeros((copies, len(ARMS)), np.float32)
    pitfall = np.zeros((copies, len(PITFALL_RUNS) if pitfalls else 0), np.float32)
    stages = Stages(progress, [3.0, 3.0, 0.5, 0.5 if pitfalls else 0.0, 1.0, 0.5, 0.5])
    updates, nonfinite = {}, {}  # optimizer updates each copy made, counted by the loop; diverged copies

    def train(name, *args, learning_rates=copy_rates, **kwargs):
        run = stacked.train(*args, learning_rates=learning_rates, **kwargs)
        nonfinite[name], updates[name] = ~np.isfinite(run.loss).all(axis=1), run.steps.sum(axis=1)
        return run

    def curve_of(objective, x, y, target, row, *, per_copy=False):
        def record(index, params):
            target[:, row, index] = stacked.evaluate(objective, params, (x, y), per_copy=per_copy)[1]
        return record

    def stage_progress(index, label):
        stage = stages.callback(index)
        return lambda done, total, _: stage(done, total, f"{label}, updates {done * segment}/{total * segment}")

    # Arms on the pixels: scratch and fine-tune-all share the net (one compile), and every batch.
    full = stacked.Classification(classifier)
    pixel_data = (arrays.x_reserve, arrays.y_reserve)
    for row, (arm, start) in enumerate((("scratch", fresh), ("fine_tune_all", pretrained_start))):
        index = ARMS.index(arm)
        run = train(arm, full, start, tuple(start), optimizer, pixel_data, streams, segments=n_curve,
                    on_segment=curve_of(full, x_curve, y_curve, curves, index),
                    progress=stage_progress(row, arm.replace("_", " ")))
        accuracy[:, index] = stacked.evaluate(full, run.params, (arrays.x_test, arrays.y_test))[1]

    # Frozen arms: the encoder's codes are computed once, then only the output layer trains.
    head = stacked.Classification(classifier[-1:])
    head_start = {key: fresh[key] for key in output_keys}
    codes = {name: seed_outputs(encoder, x) for name, x in
             (("reserve", arrays.x_reserve), ("curve", x_curve), ("test", arrays.x_test))}
    snapshots = {}
    frozen_curve = curve_of(head, codes["curve"], labels(y_curve), long_curves, 0, per_copy=True)
    frozen_updates = int(config.frozen_share * config.updates)

    def frozen_record(index, params):
        frozen_curve(index, params)
        if (index + 1) * segment in (config.updates, frozen_updates):
            snapshots[(index + 1) * segment] = params

    run = train(runs_long[0], head, head_start, output_keys, optimizer, (codes["reserve"], labels(arrays.y_reserve)),
                long_streams, segments=n_long, per_copy=True, on_segment=frozen_record,
                progress=stage_progress(2, "frozen codes, new output"))
    test_codes = (codes["test"], labels(arrays.y_test))
    accuracy[:, ARMS.index("frozen")] = stacked.evaluate(head, snapshots[config.updates], test_codes, per_copy=True)[1]
    frozen_steps = run.steps
    updates["frozen"] = frozen_steps[:, :config.updates // segment].sum(axis=1)  # its first updates
    nonfinite["frozen"] = ~np.isfinite(run.loss[:, :config.updates // segment]).all(axis=1)
    curves[:, ARMS.index("frozen")] = long_curves[:, 0, :n_curve]
    if pitfalls:
        pitfall[:, 0] = stacked.evaluate(head, run.params, test_codes, per_copy=True)[1]
        scale = tiled(np.where(pool_std > 0, pool_std, 1.0)[:, None, :])
        standardized = {name: (value - tiled(pool_mean[:, None, :])) / scale for name, value in codes.items()}
        run = train("frozen_standardized_long", head, head_start, output_keys, optimizer,
                    (standardized["reserve"], labels(arrays.y_reserve)), long_streams, segments=n_long,
                    per_copy=True, on_segment=curve_of(head, standardized["curve"], labels(y_curve), long_curves, 1,
                                                       per_copy=True),
                    progress=stage_progress(3, "standardised frozen codes"))
        pitfall[:, 1] = stacked.evaluate(head, run.params, (standardized["test"], labels(arrays.y_test)),
                                        per_copy=True)[1]

    # Frozen, then the top layer(s) unfrozen: the frozen part is the frozen arm's first updates exactly.
    below = depth - config.unfreeze_top
    top = stacked.Classification(classifier[below:])
    features = {name: seed_outputs(encoder[:below], x)
                for name, x in (("reserve", arrays.x_reserve), ("curve", x_curve), ("test", arrays.x_test))}
    top_start = {**{key: pretrained[key] for key in fresh if key.split("/")[0] in
                    {layer.name for layer in classifier[below:-1]}}, **snapshots[frozen_updates]}
    index = ARMS.index("frozen_then_top")
    done = frozen_updates // segment
    curves[:, index, :done] = long_curves[:, 0, :done]

    def top_record(segment_index, params):
        curves[:, index, done + segment_index] = stacked.evaluate(top, params, (features["curve"], labels(y_curve)),
                                                                  per_copy=True)[1]

    run = train("frozen_then_top", top, top_start, tuple(top_start),
                stacked_optimizer(config.optimizer, config.unfrozen_learning_rate),
                (features["reserve"], labels(arrays.y_reserve)), streams[:, frozen_updates:], segments=n_curve - done,
                per_copy=True, on_segment=top_record, learning_rates=top_rates,
                progress=stage_progress(4, f"top {config.unfreeze_top} layer(s) unfrozen"))
    accuracy[:, index] = stacked.evaluate(top, run.params, (features["test"], labels(arrays.y_test)),
                                            per_copy=True)[1]
    updates["frozen_then_top"] = frozen_steps[:, :done].sum(axis=1) + run.steps.sum(axis=1)

    # The floor: a softmax regression on the raw pixels, same optimizer, same batches.
    floor = stacked.Classification(classifier[-1:])
    floor_start = stacked.initial_params(classifier[-1:], 784, copy_seeds, "raw pixels")
    index = ARMS.index("raw_pixels")
    run = train("raw_pixels", floor, floor_start, tuple(floor_start), optimizer, pixel_data, streams,
                segments=n_curve, on_segment=curve_of(floor, x_curve, y_curve, curves, index),
                progress=stage_progress(5, "raw-pixel softmax regression"))
    accuracy[:, index] = stacked.evaluate(floor, run.params, (arrays.x_test, arrays.y_test))[1]
    stages.callback(6)(1, 1, "done")
    return ArmRuns(accuracy, curves, pitfall, long_curves[:, :len(PITFALL_RUNS)] if pitfalls else
                   np.zeros((copies, 0, 0), np.float32), updates, nonfinite, len(arrays.y_test),
                   (time.perf_counter() - started) / copies)


def stored_results(config, seeds, store) -> list[dict]:
    """Each seed's stored result dict, in `seeds` order; a ValueError names the seeds not stored yet."""
    rows = {row.seed: row.result for row in store.results(config, seeds)}
    absent = [seed for seed in seeds if seed not in rows]
    if absent:
        raise ValueError(f"Seeds {absent} of this comparison are not stored yet.")
    return [rows[seed] for seed in seeds]


def load_comparison(config: FineTuning, seeds, store) -> Comparison:
    """The stored rows of `seeds` as arrays (all must be stored)."""
    results = stored_results(config, seeds, store)
    n_test = results[0]["n_test"]
    return Comparison(
        config, tuple(seeds),
        np.array([[row["test_correct"][arm] for arm in ARMS] for row in results]) / n_test, n_test,
        np.array([[row["curves"][arm] for arm in ARMS] for row in results], np.float32),
        config.segment * np.arange(1, config.curve_points + 1),
        np.array([[row["pitfall_correct"][run] for run in PITFALL_RUNS] for row in results]) / n_test,
        np.array([[row["pitfall_curves"][run] for run in PITFALL_RUNS] for row in results], np.float32),
        np.array([row["seconds_per_seed"] for row in results]))


# ---- the grid ----

def run_grid(regimes: Sequence[str], label_counts: Sequence[int], seeds, store,
             progress: Optional[ProgressCallback] = None, *, tiny: bool = False,
             chunk_size: int = CHUNK_SEEDS) -> dict:
    """{(regime, n_labels): Comparison} for every regime and label count (each regime pretrains once)."""
    configs = [(regime, n_labels, (FineTuning.tiny(regime, n_labels) if tiny else
                                   FineTuning.preset(regime, n_labels))) for regime in regimes
               for n_labels in label_counts]
    return run_configs(configs, seeds, store, fine_tune, progress, chunk_size)


def run_configs(configs: Sequence[tuple], seeds, store, run, progress: Optional[ProgressCallback] = None,
                chunk_size: int = CHUNK_SEEDS) -> dict:
    """{(regime, n_labels): run(config, seeds, store, progress, chunk_size)} for (regime, n_labels, config) triples
    whose configs have a `.pretraining` autoencoder (a regime's first label count also pretrains it: about twice
    the arms' time)."""
    seeds = check_seeds(seeds)
    pending = {regime: len(missing_pretraining(config.pretraining, seeds, store)) / len(seeds)
               for regime, _, config in configs}
    stages = Stages(progress, [1.0 + 2.0 * pending.pop(regime, 0.0) for regime, _, _ in configs])
    return {(regime, n_labels): run(config, seeds, store, stages.callback(index, f"{regime} regime"), chunk_size)
            for index, (regime, n_labels, config) in enumerate(configs)}


def run_label_counts(config: FineTuning, label_counts: Sequence[int], seeds, store,
                     progress: Optional[ProgressCallback] = None, chunk_size: int = CHUNK_SEEDS) -> dict:
    """{n_labels: Comparison} of one config at each label count (its autoencoders are trained once, shared)."""
    seeds = check_seeds(seeds)
    configs = [dataclasses.replace(config, n_labels=n_labels) for n_labels in label_counts]
    pending = len(missing_pretraining(config.pretraining, seeds, store)) / len(seeds)
    stages = Stages(progress, [1.0 + 2.0 * pending] + [1.0] * (len(configs) - 1))
    return {each.n_labels: fine_tune(each, seeds, store, stages.callback(index, f"{each.n_labels} labels"), chunk_size)
            for index, each in enumerate(configs)}
