"""Pretraining on an auxiliary task: same/different pairs, masked images, and reuse with few labels.

When labels are scarce, train a first net on a task whose labels are free, then reuse its lower
layers. Four sources of pretrained layers, one architecture (the unsupervised page's encoder,
784-100-30 relu in the book regime), so the reuse arms differ only in where the weights came from:
- supervised: a classifier of the 8 classes the target task does not use (the transfer page's model A
  task, on this encoder);
- autoencoder: the unsupervised page's autoencoder (core.pretraining, the same stored rows);
- siamese: one encoder applied to both images of a pair, a "same class?" head on |e1 - e2| (binary
  cross-entropy, label 1 = same class), pairs built from the 8 non-target classes only: pairs built
  from the target classes' labels would be supervised training on those very labels;
- masked: a patch of each unlabeled image is hidden (set to 0) and an encoder-decoder fills it in; the
  loss counts only the hidden pixels (self-supervised: no label at all).
Every auxiliary net trains for as many updates as the autoencoder (its epochs over the unlabeled pool).

Images and their roles come from core.pretraining.Split: the unlabeled pool (sources train here; the
siamese and supervised sources use only its non-target images, with their labels), the labelled reserve
(each seed's few target labels), validation (held-out pairs, masked-image examples; its target-pair images
score every arm, to pick rates and the headline arm), test (only the final target accuracy). The target task is
a class pair; each seed draws n_labels / 2 images per class.

Reuse arms, every one `updates` Nadam updates on the same batches for a seed (paired by seed):
scratch; for each source, frozen (only the new output trains), frozen_then_unfrozen (frozen for
`frozen_updates`, then every layer at `unfrozen_learning_rate`, a fresh optimizer as a new compile
gives) and fine_tune (every layer from the start). Seeds and arms train together on core.stacked.

    config = Reuse(n_labels=200)
    result = reuse(config, seeds=range(10), store=Store())   # sources pretrained (and stored) first
    result.accuracy                                          # (10, len(ARMS)) test accuracy
    result.validation                                        # (10, len(ARMS)) on the pair's validation images

Submodules: `summary` (paired statistics; the 12 arms' verdicts Holm-corrected), `selection` (the headline arm,
picked on validation), `table` (the page's and command line's table), `tuned` (TunedReuse: every arm searched
over one grid of rates, each seed's rate picked on validation).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from dataclasses import dataclass
from typing import ClassVar, Optional, Sequence

import numpy as np

from core import data, pretraining, stacked
from core.progress import ProgressCallback, Stages, report
from core.runs import seeds as runs_seeds
from core.runs import tuning
from core.runs.projection import pca_2d
from core.runs.seeds import check_seeds, chunks, seeds_text

SIDE = 28  # images are SIDE x SIDE pixels
SOURCES = ("supervised", "autoencoder", "siamese", "masked")
AUXILIARY_SOURCES = ("supervised", "siamese", "masked")  # trained here (the autoencoder by core.pretraining)
MODES = ("frozen", "frozen_then_unfrozen", "fine_tune")
ARMS = ("scratch",) + tuple(f"{source}:{mode}" for source in SOURCES for mode in MODES)
LABEL_COUNTS = (50, 200, 1000)
TINY_LABEL_COUNTS = (10, 20)
PATCH_SIZES = (7, 14)
CHUNK_SEEDS = 10  # seeds per stacked run: a killed run loses at most this many seeds in flight
N_EXAMPLES = 6  # validation images whose masked input, prediction and truth are kept per seed
N_EMBEDDED = 1000  # validation images of the target classes whose siamese embeddings are projected in 2-D


# ---- configs ----

@dataclass(frozen=True)
class Common:
    """What every source shares: the target pair (whose classes the labelled sources never see) and the encoder."""

    target_pair: tuple[int, int] = (0, 2)  # T-shirt/top vs pullover (the third edition's harder pair)
    encoder: pretraining.Pretraining = pretraining.Pretraining()  # architecture and split; the autoencoder source
    learning_rate: float = 1e-3  # Nadam, every auxiliary net (the autoencoder keeps its own)
    batch_size: int = 32  # Keras's default

    def __post_init__(self):
        data.check_class_pair(self.target_pair)
        if not (np.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(f"The learning rate must be a number greater than 0, got {self.learning_rate}.")

    @classmethod
    def tiny(cls, target_pair=(0, 2)) -> "Common":
        return cls(tuple(target_pair), pretraining.Pretraining.tiny("book"))

    @property
    def other_classes(self) -> tuple[int, ...]:
        """The 8 classes the target task does not use: the only labels a source may see."""
        return tuple(label for label in range(10) if label not in self.target_pair)

    @property
    def source_updates(self) -> int:
        """Updates of every auxiliary net: the autoencoder's (its epochs over the unlabeled pool)."""
        split = self.encoder.split
        pool = 55_000 - 10 * split.labelled_per_class
        pool = pool if split.unlabeled is None else min(pool, split.unlabeled)
        return self.encoder.epochs * stacked.steps_per_epoch(pool, self.encoder.batch_size)


@dataclass(frozen=True)
class Supervised:
    """The transfer page's model A task on this encoder: classify the 8 non-target classes."""

    VERSION: ClassVar[int] = 1
    common: Common = Common()


@dataclass(frozen=True)
class Siamese:
    """Same or different: pairs of non-target pool images, half of one class, half of two classes."""

    VERSION: ClassVar[int] = 1
    common: Common = Common()
    n_pairs: int = 20_000  # training pairs drawn per seed (the stream samples batches of them)
    held_out_pairs: int = 2_000  # pairs of non-target validation images: pair accuracy and distances

    def __post_init__(self):
        if self.n_pairs < 2 or self.held_out_pairs < 2:
            raise ValueError(f"Give at least 2 training and 2 held-out pairs; got {self.n_pairs}, "
                             f"{self.held_out_pairs}.")


@dataclass(frozen=True)
class Masked:
    """Masked images: one square patch per image hidden (set to 0) and predicted; the loss sees only the patch."""

    VERSION: ClassVar[int] = 1
    common: Common = Common()
    patch: int = 14  # side of the hidden square, pixels (7: a detail, 14: a quarter of the image)

    def __post_init__(self):
        if not 1 <= self.patch <= SIDE:
            raise ValueError(f"The patch side must be 1 to {SIDE} pixels, got {self.patch}.")


@dataclass(frozen=True)
class Reuse:
    """One comparison: every source's encoder reused for the target pair with `n_labels` labels per seed."""

    VERSION: ClassVar[int] = 1
    common: Common = Common()
    patch: int = 14  # the masked source's patch
    n_pairs: int = 20_000  # the siamese source's training pairs
    n_labels: int = 200  # labelled target images per seed, half of each class
    updates: int = 600  # updates of every arm, whatever the number of labels
    learning_rate: float = 1e-3  # Nadam: every arm, and the frozen part of frozen_then_unfrozen
    unfrozen_learning_rate: float = 1e-4  # after unfreezing (lower, as the chapter advises)
    frozen_updates: int = 300  # frozen_then_unfrozen's frozen stretch

    def __post_init__(self):
        reserve = 2 * self.common.encoder.split.labelled_per_class
        if self.n_labels < 2 or self.n_labels % 2 or self.n_labels > reserve:
            raise ValueError(f"The target task needs an even number of labels (half per class), 2 to {reserve}; "
                             f"got {self.n_labels}.")
        if not 1 <= self.patch <= SIDE:
            raise ValueError(f"The patch side must be 1 to {SIDE} pixels, got {self.patch}.")
        if not 0 < self.frozen_updates < self.updates:
            raise ValueError(f"The frozen stretch must be between 0 and {self.updates} updates, "
                             f"got {self.frozen_updates}.")
        for rate in (self.learning_rate, self.unfrozen_learning_rate):
            if not (np.isfinite(rate) and rate > 0):
                raise ValueError(f"Learning rates must be numbers greater than 0, got {rate}.")

    @classmethod
    def tiny(cls, n_labels: int = 20, **changes) -> "Reuse":
        common = changes.pop("common", None) or Common.tiny()
        return cls(common, n_pairs=400, n_labels=n_labels, updates=20, frozen_updates=10, **changes)

    def with_labels(self, n_labels: int) -> "Reuse":
        return dataclasses.replace(self, n_labels=int(n_labels))

    def source(self, name: str):
        """The config of one source's pretraining (the autoencoder's is core.pretraining's)."""
        return {"supervised": Supervised(self.common), "autoencoder": self.common.encoder,
                "siamese": Siamese(self.common, self.n_pairs, 200 if self.n_pairs < 2000 else 2000),
                "masked": Masked(self.common, self.patch)}[name]

    def describe(self) -> str:
        names = data.CLASS_NAMES
        first, second = self.common.target_pair
        return (f"{names[first]} vs {names[second]}, {self.n_labels} labels per seed, every arm {self.updates} "
                f"updates (frozen stretch {self.frozen_updates}, then {self.unfrozen_learning_rate:g})")


def seed_list(n_seeds) -> tuple[int, ...]:
    """Seeds 0..n-1 (the page and the command line use the same ones)."""
    return pretraining.seed_list(n_seeds)


def arm_label(arm: str) -> str:
    if arm == "scratch":
        return "from scratch"
    source, mode = arm.split(":")
    return f"{source}, {mode.replace('_', ' ')}"


# ---- data ----

@dataclass(frozen=True, eq=False)
class SourceData:
    """Images for the sources and the target task, flattened (n, 784) float32; labels int32."""

    x_pool: np.ndarray  # the unlabeled pool (the masked net trains on all of it)
    y_pool: np.ndarray  # its labels: only the supervised and siamese sources read them, and only non-target ones
    x_valid: np.ndarray
    y_valid: np.ndarray
    x_reserve: np.ndarray  # the labelled reserve's target-class images (each seed's few labels come from here)
    y_reserve: np.ndarray  # 0 for the pair's first class, 1 for its second
    x_test: np.ndarray  # the test images of the target pair
    y_test: np.ndarray  # 0 / 1 as above
    pool_rows: np.ndarray  # rows of the pool in the book's 55,000 training images


def source_data(common: Common, splits: Optional[data.BookSplits] = None) -> SourceData:
    return (_cached_data(common.target_pair, common.encoder.split) if splits is None else
            _cut(common.target_pair, common.encoder.split, splits))


@functools.lru_cache(maxsize=2)
def _cached_data(target_pair, split) -> SourceData:
    return _cut(target_pair, split, data.load_book_splits())


def _cut(target_pair, split, splits: data.BookSplits) -> SourceData:
    arrays = pretraining.split_arrays(split, splits)
    first, second = target_pair

    def target(x, y):
        keep = (y == first) | (y == second)
        return x[keep], (y[keep] == second).astype(np.int32)

    x_reserve, y_reserve = target(arrays.x_reserve, arrays.y_reserve)
    x_test, y_test = target(arrays.x_test, arrays.y_test)
    return SourceData(arrays.x_pool, splits.y_train[arrays.pool_rows].astype(np.int32), arrays.x_valid,
                      arrays.y_valid, x_reserve, y_reserve, x_test, y_test, arrays.pool_rows)


def make_pairs(labels: np.ndarray, allowed: Sequence[int], n_pairs: int, seed: int, tag: str = "pairs"
               ) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of row ids of `labels` whose classes are in `allowed`: (n_pairs, 2) int32 and same (n_pairs,) float32.

    Exactly n_pairs // 2 pairs are two distinct images of one class (same = 1.0), the rest two images of
    two different classes (same = 0.0), in shuffled order; classes are drawn uniformly, then images.
    """
    import zlib

    allowed = sorted(set(int(label) for label in allowed))
    by_class = {label: np.flatnonzero(labels == label) for label in allowed}
    if len(allowed) < 2 or min(len(rows) for rows in by_class.values()) < 2:
        raise ValueError(f"Pairs need at least 2 classes with at least 2 images each among {allowed}.")
    generator = np.random.default_rng([int(seed), zlib.crc32(tag.encode())])
    n_same = n_pairs // 2
    pairs = np.zeros((n_pairs, 2), np.int64)
    same_classes = generator.choice(allowed, n_same)
    for index, label in enumerate(same_classes):
        pairs[index] = generator.choice(by_class[label], 2, replace=False)
    for index in range(n_same, n_pairs):
        first, second = generator.choice(allowed, 2, replace=False)
        pairs[index] = generator.choice(by_class[first]), generator.choice(by_class[second])
    same = (np.arange(n_pairs) < n_same).astype(np.float32)
    order = generator.permutation(n_pairs)
    return pairs[order].astype(np.int32), same[order]


def labelled_subset(y_reserve: np.ndarray, n_labels: int, seed: int) -> np.ndarray:
    """Rows of the target reserve forming seed's subset: n_labels / 2 of each class, sorted."""
    generator = np.random.default_rng([int(seed), 1515])  # 1515: this draw's own stream of the seed
    chosen = [generator.choice(np.flatnonzero(y_reserve == label), n_labels // 2, replace=False) for label in (0, 1)]
    return np.sort(np.concatenate(chosen))


# ---- nets and objectives ----

def encoder_layers(common: Common) -> tuple:
    """layer_1 .. layer_L: the one architecture every source trains and every arm reuses."""
    return pretraining.encoder_layers(common.encoder)


def decoder_layers(common: Common) -> tuple:
    """The masked net's decoder: the autoencoder's (untied), back to the 784 pixels."""
    untied = dataclasses.replace(common.encoder, tied=False)
    return pretraining.autoencoder_layers(untied)[len(common.encoder.hidden_units):]


def patch_masks(noise_seed, step, n, patch: int):
    """One random patch x patch square per image, 1.0 where hidden: (n, 784) float32, a function of (seed, step)."""
    import tensorflow as tf

    seed = tf.stack([tf.cast(noise_seed, tf.int32), tf.cast(step, tf.int32)])
    corners = tf.random.stateless_uniform((n, 2), seed=seed, minval=0, maxval=SIDE - patch + 1, dtype=tf.int32)
    index = tf.range(SIDE)[None, :]
    rows = (index >= corners[:, :1]) & (index < corners[:, :1] + patch)
    columns = (index >= corners[:, 1:]) & (index < corners[:, 1:] + patch)
    return tf.reshape(tf.cast(rows[:, :, None] & columns[:, None, :], tf.float32), (n, SIDE * SIDE))


def masked_errors(predicted, truth, mask):
    """Per image, the mean squared error over its hidden pixels only: (n,). mask: 1.0 hidden, 0.0 seen."""
    import tensorflow as tf

    return tf.reduce_sum(mask * tf.square(predicted - truth), axis=-1) / tf.reduce_sum(mask, axis=-1)


@dataclass(frozen=True)
class MaskedImage:
    """The masked-image objective for core.stacked: input x with its patch set to 0, loss on the patch only.

    Training data: (x,), a fresh patch per image and update from `patch_masks(noise_seed, step)`.
    `evaluate` takes (x, masks) so every copy is scored on the same patches. Metric: the same masked MSE.
    """

    layers: tuple  # encoder then decoder, ending in 784 linear outputs
    patch: int

    def loss_and_metric(self, params, batch, noise_seed, step):
        import tensorflow as tf

        (x,) = batch
        mask = patch_masks(noise_seed, step, tf.shape(x)[0], self.patch)
        errors = masked_errors(stacked.forward(self.layers, params, x * (1.0 - mask)), x, mask)
        return tf.reduce_mean(errors), tf.reduce_mean(errors)

    def evaluate(self, params, data):
        import tensorflow as tf

        x, mask = data
        errors = masked_errors(stacked.forward(self.layers, params, x * (1.0 - mask)), x, mask)
        return tf.reduce_sum(errors), tf.reduce_sum(errors)


@dataclass(frozen=True)
class SamePair(stacked.HitsObjective):
    """The Siamese objective: one encoder (one set of weights) for both images, "same class?" from |e1 - e2|.

    Data: (images (n, 784), pairs (m, 2) row ids, same (m,) 1.0 same class / 0.0 different); streams index
    pairs. Loss: binary cross-entropy of the head's logit (label 1 = same). Metric: pair accuracy.
    """

    encoder: tuple
    head: tuple  # one Dense("same", 1): the logit

    def gather(self, data, rows):
        import tensorflow as tf

        images, pairs, same = data
        chosen = tf.gather(pairs, rows)
        return tf.gather(images, chosen[:, 0]), tf.gather(images, chosen[:, 1]), tf.gather(same, rows)

    def logits(self, params, first, second):
        import tensorflow as tf

        first_code = stacked.forward(self.encoder, params, first)
        second_code = stacked.forward(self.encoder, params, second)
        difference = tf.abs(first_code - second_code)
        return stacked.forward(self.head, params, difference, logits=True)[:, 0]

    def _losses_and_hits(self, params, first, second, same):
        import tensorflow as tf

        logits = self.logits(params, first, second)
        losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=same, logits=logits)
        return losses, tf.cast(tf.equal(tf.cast(logits > 0, tf.float32), same), tf.float32)



def siamese_head():
    from core.stacked import Dense

    return (Dense("same", 1),)


def supervised_layers(common: Common) -> tuple:
    from core.stacked import Dense

    return encoder_layers(common) + (Dense("source_output", len(common.other_classes)),)


def target_layers(common: Common) -> tuple:
    from core.stacked import Dense

    return encoder_layers(common) + (Dense("output", 2),)


def _nadam(rate: float):
    return stacked.Nadam(rate)


# ---- pretraining the auxiliary sources ----

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
    run = stacked.train(objective, start, tuple(start), _nadam(common.learning_rate), (x, y), streams,
                        segments=_segments(common.source_updates), progress=_epoch_progress(progress, "supervised"))
    valid = np.isin(arrays.y_valid, common.other_classes)
    accuracy = stacked.evaluate(objective, run.params, (arrays.x_valid[valid], mapping[arrays.y_valid[valid]]))[1]
    return run.params, {"valid_accuracy": accuracy, "train_loss": run.loss}, {}


def _segments(updates: int, most: int = 10) -> int:
    """The most equal stretches (at most `most`) `updates` divides into: progress steps."""
    return max(count for count in range(1, most + 1) if updates % count == 0)


def held_out_pairs(config: Siamese, arrays: SourceData) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of non-target validation images, the same for every seed: (m, 2) row ids of x_valid, same (m,)."""
    return make_pairs(arrays.y_valid, config.common.other_classes, config.held_out_pairs, 0, "held-out pairs")


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
    run = stacked.train(objective, start, tuple(start), _nadam(common.learning_rate), table, streams,
                        segments=_segments(common.source_updates), progress=_epoch_progress(progress, "siamese"))
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


def example_masks(patch: int, n: int) -> np.ndarray:
    """The fixed patches every copy is scored on: (n, 784), drawn from seed (0, 0)."""
    return patch_masks(0, 0, n, patch).numpy()


def _masked_chunk(config: Masked, seeds, progress):
    common = config.common
    arrays = source_data(common)
    layers = encoder_layers(common) + decoder_layers(common)
    objective = MaskedImage(layers, config.patch)
    start = stacked.initial_params(layers, 784, seeds, "masked source")
    streams = _streams(seeds, "masked source", len(arrays.x_pool), common.batch_size, common.source_updates)
    noise_seeds = [stacked.layer_seed(seed, "masks", "masked source") for seed in seeds]
    run = stacked.train(objective, start, tuple(start), _nadam(common.learning_rate), (arrays.x_pool,), streams,
                        noise_seeds, segments=_segments(common.source_updates),
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


# ---- what the page shows of each source ----

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


# ---- reuse with few labels ----

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


def target_validation(arrays: SourceData, target_pair) -> tuple[np.ndarray, np.ndarray]:
    """The target pair's images of the book's validation split (never test images): x (n, 784), y (n,) 0 / 1."""
    keep = np.isin(arrays.y_valid, target_pair)
    return arrays.x_valid[keep], (arrays.y_valid[keep] == target_pair[1]).astype(np.int32)


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
        return stacked.train(objective, start, trainable, _nadam(config.learning_rate), target_data,
                             np.tile(stream, (len(arms) * len(rates), 1, 1)), **options,
                             learning_rates=np.tile(arm_rates, len(arms)),
                             progress=lambda done, total, _: stage(done, total, f"{done}/{total}"))

    def each_rate(params: list) -> dict:
        return _tile([start for start in params for _ in rates])

    # Every layer trains: scratch and each source's fine-tune arm, one stacked run, the same batches per seed.
    every_layer = ["scratch"] + [f"{source}:fine_tune" for source in SOURCES]
    record(every_layer, run_arms(every_layer, each_rate([fresh] + [starts[source] for source in SOURCES]),
                                 tuple(fresh), streams, copy_rates, 0, "fine-tuning and scratch",
                                 segments=_segments(config.updates)))

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
                              "unfrozen at the lower rate", segments=_segments(rest.shape[1])))
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


def job_key(kind: str, config, seeds) -> tuple:
    """The core.jobs key of one training: the same config and seeds are one shared job."""
    return runs_seeds.job_key("auxiliary", kind, config, seeds)
