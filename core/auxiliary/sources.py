"""Pretraining the auxiliary sources (supervised, siamese, masked; the autoencoder is core.pretraining's), stacked
a chunk of seeds at a time and stored per seed, their encoders read back, and what the page shows of each."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from core import pretraining, stacked
from core.auxiliary.configs import CHUNK_SEEDS, N_EMBEDDED, N_EXAMPLES, SIDE, Masked, Siamese, Supervised
from core.auxiliary.data import held_out_pairs, make_pairs, source_data
from core.auxiliary.nets import (
    MaskedImage,
    SamePair,
    decoder_layers,
    encoder_layers,
    example_masks,
    nadam,
    progress_segments,
    siamese_head,
    supervised_layers,
)
from core.progress import ProgressCallback, Stages, report
from core.runs.projection import pca_2d
from core.runs.seeds import check_seeds, chunks, seeds_text


def _npz_path(store, config, seed: int):
    return store.model_path(config, seed, "source").with_suffix(".npz")


def _missing(config, seeds, store) -> list[int]:
    stored = store.finished_seeds(config)
    return [seed for seed in seeds if seed not in stored or not _npz_path(store, config, seed).exists()]


def pretrain_source(config, seeds, store, progress: Optional[ProgressCallback] = None,
                    chunk_size: int = CHUNK_SEEDS) -> None:
    """Train (stacked, `chunk_size` seeds at a time) every seed of one source not stored yet; rows and .npz files."""
    from core.store import atomic_path

    seeds = check_seeds(seeds)
    if isinstance(config, pretraining.Pretraining):
        pretraining.pretrain(config, seeds, store, progress, chunk_size)
        return
    missing = _missing(config, seeds, store)
    pieces = chunks(missing, chunk_size)
    stages = Stages(progress, [len(chunk) for chunk in pieces] or [1])
    trainer = {Supervised: _supervised_chunk, Siamese: _siamese_chunk, Masked: _masked_chunk}[type(config)]
    for index, chunk in enumerate(pieces):
        started = time.perf_counter()
        stage = stages.callback(index, f"{type(config).__name__.lower()} source, {seeds_text(chunk)}")
        stage(0, 1, "drawing data, compiling")  # the first stretch's report comes only after its compile
        params, rows, arrays = trainer(config, chunk, stage)
        seconds = (time.perf_counter() - started) / len(chunk)
        for copy, seed in enumerate(chunk):
            with atomic_path(_npz_path(store, config, seed)) as temporary:
                np.savez(temporary, **{f"param:{key}": value[copy] for key, value in params.items()},
                         **{key: value[copy] for key, value in arrays.items()})
            store.save(config, seed, {**{key: value[copy] for key, value in rows.items()},
                                      "seconds_per_seed": seconds})
    report(progress, 1, 1, "sources ready")


def _streams(seeds, tag: str, rows, batch_size: int, updates: int) -> np.ndarray:
    return np.stack([stacked.batch_stream(seed, tag, rows, batch_size, updates) for seed in seeds])


def _epoch_progress(progress, label: str):
    return lambda done, total, _: report(progress, done, total, f"{label}: stretch {done}/{total} of the updates")


def _supervised_chunk(config: Supervised, seeds, progress):
    common = config.common
    arrays = source_data(common)
    keep = np.isin(arrays.y_pool, common.other_classes)
    mapping = np.full(10, -1, np.int32)
    mapping[list(common.other_classes)] = np.arange(len(common.other_classes))
    x, y = arrays.x_pool[keep], mapping[arrays.y_pool[keep]]
    layers = supervised_layers(common)
    objective = stacked.Classification(layers)
    start = stacked.initial_params(layers, 784, seeds, "supervised source")
    streams = _streams(seeds, "supervised source", len(x), common.batch_size, common.source_updates)
    run = stacked.train(objective, start, tuple(start), nadam(common.learning_rate), (x, y), streams,
                        segments=progress_segments(common.source_updates),
                        progress=_epoch_progress(progress, "supervised"))
    valid = np.isin(arrays.y_valid, common.other_classes)
    accuracy = stacked.evaluate(objective, run.params, (arrays.x_valid[valid], mapping[arrays.y_valid[valid]]))[1]
    return run.params, {"valid_accuracy": accuracy, "train_loss": run.loss}, {}


def _siamese_chunk(config: Siamese, seeds, progress):
    common = config.common
    arrays = source_data(common)
    encoder, head = encoder_layers(common), siamese_head()
    objective = SamePair(encoder, head)
    start = stacked.initial_params(encoder + head, 784, seeds, "siamese source")
    # Each seed draws its own pairs; the tables are concatenated and seed k's stream points into its own block,
    # so the pool's images are held once for every copy.
    pairs = [make_pairs(arrays.y_pool, common.other_classes, config.n_pairs, seed) for seed in seeds]
    streams = _streams(seeds, "siamese source", config.n_pairs, common.batch_size, common.source_updates)
    streams = streams + (np.arange(len(seeds)) * config.n_pairs)[:, None, None].astype(np.int32)
    table = (arrays.x_pool, np.concatenate([pair for pair, _ in pairs]), np.concatenate([same for _, same in pairs]))
    run = stacked.train(objective, start, tuple(start), nadam(common.learning_rate), table, streams,
                        segments=progress_segments(common.source_updates),
                        progress=_epoch_progress(progress, "siamese"))
    valid_pairs, valid_same = held_out_pairs(config, arrays)
    held_out = (arrays.x_valid[valid_pairs[:, 0]], arrays.x_valid[valid_pairs[:, 1]], valid_same)
    accuracy = stacked.evaluate(objective, run.params, held_out)[1]
    first = stacked.outputs(encoder, run.params, held_out[0])
    second = stacked.outputs(encoder, run.params, held_out[1])
    distances = np.linalg.norm(first - second, axis=-1)  # (K, m) Euclidean distance of the embeddings
    target = np.flatnonzero(np.isin(arrays.y_valid, common.target_pair))[:N_EMBEDDED]
    embedded = stacked.outputs(encoder, run.params, arrays.x_valid[target])
    projections, shares = zip(*[pca_2d(codes) for codes in embedded])
    return run.params, {"pair_accuracy": accuracy, "train_loss": run.loss}, {
        "distances": distances.astype(np.float32), "pca": np.stack(projections), "pca_variance": np.stack(shares)}


def _masked_chunk(config: Masked, seeds, progress):
    common = config.common
    arrays = source_data(common)
    layers = encoder_layers(common) + decoder_layers(common)
    objective = MaskedImage(layers, config.patch)
    start = stacked.initial_params(layers, 784, seeds, "masked source")
    streams = _streams(seeds, "masked source", len(arrays.x_pool), common.batch_size, common.source_updates)
    noise_seeds = [stacked.layer_seed(seed, "masks", "masked source") for seed in seeds]
    run = stacked.train(objective, start, tuple(start), nadam(common.learning_rate), (arrays.x_pool,), streams,
                        noise_seeds, segments=progress_segments(common.source_updates),
                        progress=_epoch_progress(progress, "masked"))
    masks = example_masks(config.patch, len(arrays.x_valid))
    valid_mse = stacked.evaluate(objective, run.params, (arrays.x_valid, masks))[1]
    blank = float(np.mean(np.sum(masks * arrays.x_valid ** 2, axis=1) / np.sum(masks, axis=1)))
    shown = arrays.x_valid[:N_EXAMPLES]
    predicted = stacked.outputs(layers, run.params, shown * (1.0 - masks[:N_EXAMPLES]))
    return run.params, {"valid_masked_mse": valid_mse, "blank_masked_mse": np.full(len(seeds), blank),
                        "train_loss": run.loss}, {"predictions": predicted.astype(np.float32)}


def encoder_params(config, seeds, store) -> dict:
    """Stacked encoder arrays {"layer_i/kernel": (K, ...)} of one source's stored seeds."""
    if isinstance(config, pretraining.Pretraining):
        params = pretraining.pretrained_params(config, seeds, store)[0]
    else:
        files = [np.load(_npz_path(store, config, seed)) for seed in seeds]
        params = {key[len("param:"):]: np.stack([file[key] for file in files])
                  for key in files[0].files if key.startswith("param:")}
    return {key: value for key, value in params.items() if key.startswith("layer_")}


@dataclass(frozen=True, eq=False)
class SiameseView:
    config: Siamese
    seeds: tuple[int, ...]
    pair_accuracy: np.ndarray  # (n_seeds,) on held-out pairs of non-target validation images
    distances: np.ndarray  # (n_seeds, held_out_pairs) embedding distance of each held-out pair
    same: np.ndarray  # (held_out_pairs,) 1.0 same class, 0.0 different
    pca: np.ndarray  # (n_seeds, n, 2) embeddings of target-class validation images (never seen classes)
    pca_labels: np.ndarray  # (n,) their class ids
    seconds_per_seed: np.ndarray


@dataclass(frozen=True, eq=False)
class MaskedView:
    config: Masked
    seeds: tuple[int, ...]
    valid_masked_mse: np.ndarray  # (n_seeds,) MSE over hidden validation pixels
    blank_masked_mse: float  # the same if the patch stayed 0 (the masked input itself): the floor to beat
    originals: np.ndarray  # (N_EXAMPLES, 28, 28)
    masked_inputs: np.ndarray  # (N_EXAMPLES, 28, 28)
    predictions: np.ndarray  # (n_seeds, N_EXAMPLES, 28, 28)
    masks: np.ndarray  # (N_EXAMPLES, 28, 28)
    seconds_per_seed: np.ndarray


def siamese_view(config: Siamese, seeds, store, progress=None) -> SiameseView:
    pretrain_source(config, seeds, store, progress)
    rows = {row.seed: row.result for row in store.results(config, seeds)}
    files = [np.load(_npz_path(store, config, seed)) for seed in seeds]
    arrays = source_data(config.common)
    _, same = held_out_pairs(config, arrays)
    target = np.flatnonzero(np.isin(arrays.y_valid, config.common.target_pair))[:N_EMBEDDED]
    return SiameseView(config, tuple(seeds), np.array([rows[seed]["pair_accuracy"] for seed in seeds]),
                       np.stack([file["distances"] for file in files]), same,
                       np.stack([file["pca"] for file in files]), arrays.y_valid[target],
                       np.array([rows[seed]["seconds_per_seed"] for seed in seeds]))


def masked_view(config: Masked, seeds, store, progress=None) -> MaskedView:
    pretrain_source(config, seeds, store, progress)
    rows = {row.seed: row.result for row in store.results(config, seeds)}
    files = [np.load(_npz_path(store, config, seed)) for seed in seeds]
    arrays = source_data(config.common)
    shown = arrays.x_valid[:N_EXAMPLES]
    masks = example_masks(config.patch, len(arrays.x_valid))[:N_EXAMPLES]
    square = (-1, SIDE, SIDE)
    return MaskedView(config, tuple(seeds), np.array([rows[seed]["valid_masked_mse"] for seed in seeds]),
                      float(rows[seeds[0]]["blank_masked_mse"]), shown.reshape(square),
                      (shown * (1 - masks)).reshape(square),
                      np.stack([file["predictions"].reshape(square) for file in files]), masks.reshape(square),
                      np.array([rows[seed]["seconds_per_seed"] for seed in seeds]))
