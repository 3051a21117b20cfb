"""Pretraining the autoencoders: every seed's autoencoder trained (stacked, joint or greedy layer-wise) unless
stored, measured (dead units, code statistics, reconstructions, a PCA view) and loaded back."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from core import stacked
from core.pretraining.arrays import Arrays, split_arrays
from core.pretraining.configs import (
    CHUNK_SEEDS,
    N_PCA,
    N_RECONSTRUCTIONS,
    POOL_STATS_IMAGES,
    Pretraining,
    stacked_optimizer,
)
from core.pretraining.nets import autoencoder_layers, decoder_layer, encoder_layers
from core.progress import ProgressCallback, Stages
from core.runs.projection import pca_2d
from core.runs.seeds import check_seeds, chunks, seeds_text
from core.store import atomic_path


@dataclass(frozen=True, eq=False)
class PretrainingResult:
    """Each seed's autoencoder, seeds on the first axis. Curves: one row per phase (greedy: per layer)."""

    config: Pretraining
    seeds: tuple[int, ...]
    train_loss: np.ndarray  # (n_seeds, n_phases, epochs) mean training loss per epoch (MSE or cross-entropy)
    val_mse: np.ndarray  # (n_seeds, n_phases, epochs) validation MSE of each phase's own reconstruction
    pixel_val_mse: np.ndarray  # (n_seeds,) the whole stack rebuilding validation images
    dead_units: np.ndarray  # (n_seeds, n_layers) units whose output is the same for every validation image
    code_std: np.ndarray  # (n_seeds, code units) standard deviation of each code unit on validation images
    code_mean: np.ndarray  # (n_seeds, code units)
    reconstructions: np.ndarray  # (n_seeds, N_RECONSTRUCTIONS, 28, 28) of the first test images
    originals: np.ndarray  # (N_RECONSTRUCTIONS, 28, 28) those test images
    filters: np.ndarray  # (n_seeds, first layer units, 28, 28) layer_1's kernel columns as images
    pca: np.ndarray  # (n_seeds, n_pca, 2) codes of the first test images on their 2 principal components
    pca_variance: np.ndarray  # (n_seeds, 2) share of the codes' variance each component explains
    pca_labels: np.ndarray  # (n_pca,) classes of those test images
    seconds_per_seed: np.ndarray  # (n_seeds,)


def pretrain(config: Pretraining, seeds, store, progress: Optional[ProgressCallback] = None,
             chunk_size: int = CHUNK_SEEDS) -> PretrainingResult:
    """Every seed's autoencoder: trained (stacked, `chunk_size` seeds at a time) unless stored, then loaded."""
    seeds = check_seeds(seeds)
    missing = missing_pretraining(config, seeds, store)
    if missing:
        arrays = split_arrays(config.split)
        parts = chunks(missing, chunk_size)
        stages = Stages(progress, [len(chunk) for chunk in parts])
        for index, chunk in enumerate(parts):
            _pretrain_chunk(config, arrays, chunk, store, stages.callback(index))
    return load_pretraining(config, seeds, store)


def _npz_path(store, config, seed: int, role: str):
    return store.model_path(config, seed, role).with_suffix(".npz")


def missing_pretraining(config: Pretraining, seeds, store) -> list[int]:
    """The seeds among `seeds` whose autoencoder is not stored yet (no row, or no weight file)."""
    stored = store.finished_seeds(config)
    return [seed for seed in seeds if seed not in stored or not _npz_path(store, config, seed, "autoencoder").exists()]


def _phases(config: Pretraining) -> list[tuple]:
    """(layers trained, input depth, learning rate, tag) per phase: one for a joint run, one per layer if greedy."""
    if not config.greedy:
        return [(autoencoder_layers(config), 0, config.learning_rate(0), "joint")]
    encoder = encoder_layers(config)
    return [(((encoder[i], decoder_layer(config, i + 1))), i, config.learning_rate(i), f"layer {i + 1}")
            for i in range(len(encoder))]


def _phase_label(config: Pretraining, index: int, seeds) -> str:
    if not config.greedy:
        return f"pretraining the whole autoencoder, {seeds_text(seeds)}"
    return f"pretraining layer {index + 1}/{len(config.hidden_units)}, {seeds_text(seeds)}"


def _pretrain_chunk(config: Pretraining, arrays: Arrays, seeds, store, progress) -> None:
    """Train the autoencoders of `seeds` together; save each seed's row and .npz file."""
    started = time.perf_counter()
    phases, encoder = _phases(config), encoder_layers(config)
    steps = stacked.steps_per_epoch(len(arrays.x_pool), config.batch_size)
    stages = Stages(progress, [1.0] * len(phases) + [0.2])
    params, inputs, valid_inputs = {}, arrays.x_pool, arrays.x_valid
    train_loss = np.zeros((len(seeds), len(phases), config.epochs), np.float32)
    val_mse = np.zeros_like(train_loss)
    for index, (layers, depth, rate, tag) in enumerate(phases):
        per_copy = depth > 0  # the codes below differ from copy to copy
        start = stacked.initial_params(layers, inputs.shape[-1], seeds, "autoencoder")
        streams = np.stack([stacked.batch_stream(seed, f"autoencoder {tag}", len(arrays.x_pool), config.batch_size,
                                                 config.epochs * steps) for seed in seeds])
        noise_seeds = [stacked.layer_seed(seed, "noise", tag) for seed in seeds]
        objective = stacked.Reconstruction(layers, config.noise_stddev, config.loss, config.summed_loss)
        stage, label = stages.callback(index), _phase_label(config, index, seeds)

        def validate(epoch, current, objective=objective, per_copy=per_copy, valid_inputs=valid_inputs, index=index):
            val_mse[:, index, epoch] = stacked.evaluate(objective, current, (valid_inputs,), per_copy=per_copy)[1]

        optimizer = stacked_optimizer(config.optimizer, rate)
        run = stacked.train(objective, start, tuple(start), optimizer, (inputs,), streams, noise_seeds,
                            segments=config.epochs, per_copy=per_copy, on_segment=validate,
                            progress=lambda done, total, _, stage=stage, label=label: stage(
                                done, total, f"{label}, epoch {done}/{total}"))
        train_loss[:, index] = run.loss
        params.update(run.params)
        if index < len(phases) - 1:  # the next layer trains on this layer's frozen codes
            inputs = stacked.outputs(encoder[index:index + 1], run.params, inputs, per_copy=per_copy)
            valid_inputs = stacked.outputs(encoder[index:index + 1], run.params, valid_inputs, per_copy=per_copy)
    stages.callback(len(phases))(0, 1, f"measuring the autoencoders, {seeds_text(seeds)}")
    measures = _measure_autoencoders(config, params, arrays)
    seconds = (time.perf_counter() - started) / len(seeds)
    for copy, seed in enumerate(seeds):
        with atomic_path(_npz_path(store, config, seed, "autoencoder")) as temporary:
            np.savez(temporary, **{f"param:{key}": value[copy] for key, value in params.items()},
                     **{key: value[copy] for key, value in measures["arrays"].items()})
        store.save(config, seed, {
            "train_loss": train_loss[copy], "val_mse": val_mse[copy], "seconds_per_seed": seconds,
            "diverged": bool(not np.isfinite(train_loss[copy]).all()),
            **{key: value[copy] for key, value in measures["row"].items()}})


def _measure_autoencoders(config: Pretraining, params: dict, arrays: Arrays) -> dict:
    """Per copy: the numbers a row keeps and the arrays its .npz file keeps."""
    encoder = encoder_layers(config)
    dead, activity = [], None
    for layer in encoder:  # validation images up the encoder, one layer at a time
        activity = (stacked.outputs((layer,), params, arrays.x_valid) if activity is None else
                    stacked.outputs((layer,), params, activity, per_copy=True))
        dead.append((np.ptp(activity, axis=1) == 0).sum(axis=1))
    codes_valid = activity  # (K, n_valid, code)
    rebuilt = stacked.outputs(autoencoder_layers(config)[len(encoder):], params, codes_valid, per_copy=True)
    pixel_mse = np.mean((rebuilt - arrays.x_valid) ** 2, axis=(1, 2))
    pool_codes = stacked.outputs(encoder, params, arrays.x_pool[:POOL_STATS_IMAGES])
    shown = arrays.x_test[:N_RECONSTRUCTIONS]
    reconstructions = stacked.outputs(autoencoder_layers(config), params, shown)
    test_codes = stacked.outputs(encoder, params, arrays.x_test[:N_PCA])
    projections, variance = zip(*[pca_2d(codes) for codes in test_codes])
    return {
        "row": {"pixel_val_mse": pixel_mse, "dead_units": np.stack(dead, axis=1),
                "code_std": codes_valid.std(axis=1), "code_mean": codes_valid.mean(axis=1)},
        "arrays": {"reconstructions": reconstructions, "pca": np.stack(projections),
                   "pca_variance": np.stack(variance), "pool_code_mean": pool_codes.mean(axis=1),
                   "pool_code_std": pool_codes.std(axis=1)},
    }



def stored_seeds(config, seeds, store) -> tuple[int, ...]:
    """The seeds among `seeds` whose results are stored: autoencoders (a Pretraining config, rows and weight files)
    or every arm (a FineTuning config)."""
    seeds = check_seeds(seeds)
    if isinstance(config, Pretraining):
        missing = set(missing_pretraining(config, seeds, store))
        return tuple(seed for seed in seeds if seed not in missing)
    finished = store.finished_seeds(config)
    return tuple(seed for seed in seeds if seed in finished)


def load_pretraining(config: Pretraining, seeds, store) -> PretrainingResult:
    """The stored autoencoders of `seeds` (all must be stored)."""
    seeds = check_seeds(seeds)
    rows = {row.seed: row.result for row in store.results(config, seeds)}
    files = [np.load(_npz_path(store, config, seed, "autoencoder")) for seed in seeds]

    def stack(key):
        return np.stack([np.asarray(rows[seed][key], np.float32) for seed in seeds])

    arrays = split_arrays(config.split)
    first_units = config.hidden_units[0]
    filters = np.stack([file["param:layer_1/kernel"].T.reshape(first_units, 28, 28) for file in files])
    return PretrainingResult(
        config, seeds, stack("train_loss"), stack("val_mse"), stack("pixel_val_mse"),
        stack("dead_units").astype(int), stack("code_std"), stack("code_mean"),
        np.stack([file["reconstructions"].reshape(-1, 28, 28) for file in files]),
        arrays.x_test[:N_RECONSTRUCTIONS].reshape(-1, 28, 28), filters, np.stack([file["pca"] for file in files]),
        np.stack([file["pca_variance"] for file in files]), arrays.y_test[:N_PCA],
        stack("seconds_per_seed"))


def pretrained_params(config: Pretraining, seeds, store) -> tuple[dict, np.ndarray, np.ndarray]:
    """Stacked autoencoder params of stored seeds, and the pool's per-unit code mean and std (K, code units)."""
    files = [np.load(_npz_path(store, config, seed, "autoencoder")) for seed in seeds]
    keys = [key for key in files[0].files if key.startswith("param:")]
    params = {key[len("param:"):]: np.stack([file[key] for file in files]) for key in keys}
    return params, np.stack([file["pool_code_mean"] for file in files]), np.stack([file["pool_code_std"]
                                                                                   for file in files])
