"""Unsupervised pretraining with few labels: autoencoders (joint or greedy layer-wise), then fine-tuning arms.

The chapter's recipe: with plenty of unlabeled images and few labels, train an autoencoder on the
unlabeled images (the whole stack at once, or one layer at a time on the frozen codes of the layers
below), then reuse its encoder under a new softmax output and train on the labels. Here every seed
pretrains its own autoencoder and runs every arm on its own labelled subset, so arms are paired by
seed; seeds train together on `core.stacked`.

Images and their roles (never overlapping; tests/test_pretraining.py checks it):
- labelled reserve: the last `labelled_per_class` images of each class among the book's 55,000
  training images; each seed draws from it one balanced subset of `n_labels` (n_labels / 10 per class),
  shared by every arm of that seed;
- unlabeled pool: every other training image, the only images the autoencoder sees (its first 10,000
  also give the per-unit code statistics that standardise codes);
- validation: the book's 5,000 validation images (autoencoder MSE; classifier curves on the first 1,000);
- test: the 10,000 test images (final accuracy of every arm).

Arms, all trained for the same number of updates (`updates` batches of 32, not epochs):
- scratch: the classifier from its own initial weights;
- frozen: the pretrained encoder frozen, only the new output layer trains;
- frozen_then_top: frozen for `frozen_share` of the updates, then the top `unfreeze_top` layers unfreeze
  at the lower `unfrozen_learning_rate` (a fresh optimizer, as a new compile gives);
- fine_tune_all: every layer trains from the pretrained weights;
- raw_pixels: a softmax regression on the pixels (the floor: no hidden layer at all).
Two more runs measure the frozen-codes pitfall rather than compare: the frozen arm trained for
`pitfall_updates` (too few updates?), and the same on codes standardised with the pool's per-unit
mean and standard deviation (unscaled codes?); dead code units are counted during pretraining.

Regimes (presets of both configs): "book", the chapter's 784-100-30 autoencoder (relu, Keras's default
Glorot init, MSE, Nadam 1e-3, the whole stack for 5 epochs) with 600 Nadam updates per arm; "2006" and
"today", one 3 x 256 net and one schedule (greedy, 2 epochs per layer, 1,500 updates per arm) with the
classic recipe (sigmoid, plain SGD 0.1, cross-entropy reconstruction summed over the pixels) or the
modern one (relu, He init, Nadam): the chapter's "why pretraining faded" in one switch.

Every finished (config, seed) is a row in the results store; weights, reconstructions and the PCA
view of each seed's autoencoder go to an `.npz` file beside it. Asking again runs only what is missing.

    config = FineTuning.preset("book", n_labels=100)
    comparison = fine_tune(config, seeds=range(5), store=Store(), progress=terminal_progress())
    comparison.test_accuracy          # (5, 5): seeds x ARMS
    tables.paired_summaries(comparison)  # core.pretraining.tables: {arm: PairedSummary of scratch vs arm}

Every arm at the regime's one rate is the book's protocol; core.pretraining.tuned gives every arm the same rate
grid (extra stacked copies, `train_arms(..., rates=)`), each seed's rate picked on validation.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from dataclasses import dataclass
from typing import ClassVar, Optional, Sequence

import numpy as np

from core import data, stacked
from core import store as store_module
from core.progress import ProgressCallback, report
from core.runs import tuning
from core.runs.seeds import check_seeds, chunks, seeds_text
from core.runs.seeds import seed_list as checked_seed_list
from core.stacked import Dense
from core.store import atomic_path

N_CLASSES = 10
ARMS = ("scratch", "frozen", "frozen_then_top", "fine_tune_all", "raw_pixels")
PRETRAINED_ARMS = ("frozen", "frozen_then_top", "fine_tune_all")  # compared with scratch, paired by seed
PITFALL_RUNS = ("frozen_long", "frozen_standardized_long")  # the frozen arm with more updates, then scaled codes
REGIMES = ("book", "today", "2006")
LABEL_COUNTS = (100, 500, 1000, 5000)
TINY_LABEL_COUNTS = (20, 50, 100, 200)  # the tiny preset's (its labelled reserve holds 20 images per class)
CHUNK_SEEDS = 10  # seeds per stacked run: a killed run loses at most this many seeds in flight
CURVE_VALIDATION = 1000  # validation images behind the accuracy curves (the first ones)
N_RECONSTRUCTIONS = 8  # test images whose reconstructions are kept per seed
N_PCA = 2000  # test images whose codes are projected on 2 principal components per seed
POOL_STATS_IMAGES = 10_000  # pool images behind the per-unit code mean and std used to standardise codes
MIN_SEEDS, MAX_SEEDS = 1, 200


# ---- configs ----

@dataclass(frozen=True)
class Split:
    """Which images play which role; the labelled reserve and the unlabeled pool never overlap."""

    labelled_per_class: int = 1000  # labelled reserve: the last images of each class in the 55,000
    unlabeled: Optional[int] = None  # cap on the unlabeled pool (None: all 45,000 other training images)
    validation: Optional[int] = None  # cap on validation images (None: the book's 5,000)
    test: Optional[int] = None  # cap on test images (None: all 10,000)

    def __post_init__(self):
        if not 1 <= self.labelled_per_class <= 5000:
            raise ValueError(f"The labelled reserve needs 1 to 5,000 images per class (each class has about "
                             f"5,500 training images); got {self.labelled_per_class}.")
        for name in ("unlabeled", "validation", "test"):
            value = getattr(self, name)
            if value is not None and value < N_CLASSES:
                raise ValueError(f"A cap on {name} images must be at least {N_CLASSES}, got {value}.")

    @classmethod
    def tiny(cls) -> "Split":
        return cls(labelled_per_class=20, unlabeled=600, validation=200, test=300)


@dataclass(frozen=True)
class Pretraining:
    """The autoencoder: encoder Dense layers `hidden_units` (the last one is the code), a mirrored decoder."""

    VERSION: ClassVar[int] = 1  # bump when pretraining's code changes what a stored row means
    hidden_units: tuple[int, ...] = (100, 30)  # encoder layers from the pixels up; the last is the code
    activation: str = "relu"  # encoder layers below the code, and the decoder's hidden layers
    code_activation: str = "relu"  # the code layer: relu, selu or linear (sigmoid in the 2006 regime)
    initializer: str = "glorot_uniform"  # kernel initializer (Keras's default, as in the book)
    reconstruction_activation: str = "linear"  # the pixel output (the book: linear; 2006: sigmoid)
    loss: str = "mse"  # reconstruction loss: "mse" (the book) or "binary_crossentropy" (2006, sigmoid outputs)
    summed_loss: bool = False  # loss summed over the features, not averaged as Keras does (2006: plain SGD's
    # step would otherwise shrink 784-fold on the pixel layer; Nadam does not care)
    tied: bool = False  # decoder kernels are the encoder's, transposed (a DenseTranspose per layer)
    noise_stddev: float = 0.0  # Gaussian noise on the input while training (denoising; greedy: each layer's)
    greedy: bool = False  # one layer at a time on the frozen codes below (the chapter), or the whole stack
    epochs: int = 5  # epochs over the unlabeled pool (greedy: per layer)
    optimizer: str = "nadam"  # "nadam" or "sgd" (plain SGD, as in 2006)
    learning_rates: tuple[float, ...] = (1e-3,)  # one rate, or one per layer when greedy
    batch_size: int = 32  # Keras's default
    split: Split = Split()  # which images are unlabeled, labelled, validation, test

    def __post_init__(self):
        if len(self.hidden_units) == 0 or min(self.hidden_units) < 1:
            raise ValueError(f"The encoder needs at least one layer of at least one unit; got {self.hidden_units}.")
        for name in ("activation", "code_activation", "reconstruction_activation"):
            if getattr(self, name) not in stacked.ACTIVATIONS:
                raise ValueError(f"{name} must be one of {', '.join(stacked.ACTIVATIONS)}; "
                                 f"got {getattr(self, name)!r}.")
        _check_optimizer(self.optimizer, self.learning_rates)
        rebuilt = {self.reconstruction_activation} | ({self.activation} if self.greedy and len(self.hidden_units) > 1
                                                      else set())
        if self.loss not in ("mse", "binary_crossentropy"):
            raise ValueError(f"The reconstruction loss must be \"mse\" or \"binary_crossentropy\", got {self.loss!r}.")
        if self.loss == "binary_crossentropy" and rebuilt != {"sigmoid"}:
            raise ValueError("Binary cross-entropy rebuilds values in [0, 1]: every decoder output must be a sigmoid "
                             "(the pixels', and when greedy the hidden layers' too).")
        if len(self.learning_rates) not in (1, len(self.hidden_units) if self.greedy else 1):
            raise ValueError(f"Give one learning rate, or one per layer when greedy ({len(self.hidden_units)}); "
                             f"got {len(self.learning_rates)}.")
        if not (np.isfinite(self.noise_stddev) and self.noise_stddev >= 0):
            raise ValueError(f"The noise level must be 0 or more, got {self.noise_stddev}.")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"Pretraining needs at least 1 epoch and a batch of at least 1 image; got "
                             f"{self.epochs} epochs, batch size {self.batch_size}.")

    @classmethod
    def preset(cls, regime: str) -> "Pretraining":
        """The autoencoder of a regime: "book" (784-100-30, joint, Nadam), "today" and "2006" (3 x 256)."""
        _check_regime(regime)
        if regime == "book":
            return cls()
        deep = {"hidden_units": (256, 256, 256), "greedy": True, "epochs": 2}
        if regime == "today":
            return cls(initializer="he_normal", learning_rates=(1e-3,), **deep)
        return cls(activation="sigmoid", code_activation="sigmoid", reconstruction_activation="sigmoid",
                   loss="binary_crossentropy", summed_loss=True, optimizer="sgd", learning_rates=(0.1,), **deep)

    @classmethod
    def tiny(cls, regime: str = "book", **changes) -> "Pretraining":
        """The regime's recipe on a small net, a few hundred images and 2 epochs (tests, LAB_PRESET=tiny)."""
        preset = cls.preset(regime)
        small = (16,) * (len(preset.hidden_units) - 1) + (8,)
        return dataclasses.replace(preset, hidden_units=small, epochs=2, split=Split.tiny(), **changes)

    def learning_rate(self, layer: int) -> float:
        """The rate of greedy layer `layer` (0-based), or of the joint stack."""
        return self.learning_rates[layer if len(self.learning_rates) > 1 else 0]

    def describe(self) -> str:
        units = "-".join(str(units) for units in (784, *self.hidden_units))
        how = "greedy, one layer at a time" if self.greedy else "the whole stack at once"
        extras = [word for word, on in (("tied", self.tied), (f"noise {self.noise_stddev:g}", self.noise_stddev))
                  if on]
        return (f"autoencoder {units} ({self.activation}, code {self.code_activation}), {how}, {self.epochs} "
                f"epoch(s){' per layer' if self.greedy else ''}, {self.optimizer}" +
                (f", {', '.join(extras)}" if extras else ""))


@dataclass(frozen=True)
class FineTuning:
    """One comparison: every arm on `n_labels` labelled images per seed, `updates` updates each."""

    VERSION: ClassVar[int] = 1  # bump when the arms' code changes what a stored row means
    pretraining: Pretraining  # the autoencoder whose encoder the pretrained arms reuse
    n_labels: int = 1000  # balanced labelled subset per seed: n_labels / 10 images of each class
    updates: int = 600  # updates (batches) of every arm: the same for all, whatever the number of labels
    optimizer: str = "nadam"  # "nadam" or "sgd"
    learning_rate: float = 1e-3  # every arm, and the top arm's frozen part
    unfrozen_learning_rate: float = 1e-4  # the top arm after unfreezing (lower, as the chapter advises)
    frozen_share: float = 0.5  # the top arm's share of updates spent frozen before unfreezing
    unfreeze_top: int = 1  # encoder layers the top arm unfreezes, counted from the code down
    pitfall_updates: int = 3000  # the frozen-codes diagnostics: frozen arm trained this long
    curve_points: int = 6  # validation accuracy measured this many times per arm (every updates / points)
    batch_size: int = 32  # Keras's default

    def __post_init__(self):
        n_layers = len(self.pretraining.hidden_units)
        if self.n_labels < N_CLASSES or self.n_labels % N_CLASSES:
            raise ValueError(f"A balanced labelled subset needs a multiple of {N_CLASSES} images, at least one per "
                             f"class; got {self.n_labels}.")
        reserve = self.pretraining.split.labelled_per_class * N_CLASSES
        if self.n_labels > reserve:
            raise ValueError(f"{self.n_labels} labels were asked for, but the labelled reserve holds only {reserve}.")
        _check_optimizer(self.optimizer, (self.learning_rate, self.unfrozen_learning_rate))
        if not 1 <= self.unfreeze_top <= n_layers:
            raise ValueError(f"The top arm can unfreeze 1 to {n_layers} layers, not {self.unfreeze_top}.")
        if self.curve_points < 1 or self.updates < 1 or self.updates % self.curve_points:
            raise ValueError(f"{self.updates} updates cannot be cut into {self.curve_points} equal stretches.")
        segment = self.updates // self.curve_points
        frozen = self.frozen_share * self.updates
        if not (0 < self.frozen_share < 1 and frozen == int(frozen) and int(frozen) % segment == 0):
            raise ValueError(f"frozen_share x updates must be a whole number of {segment}-update stretches, "
                             f"strictly between 0 and {self.updates}; got {frozen:g}.")
        if self.pitfall_updates < self.updates or self.pitfall_updates % segment:
            raise ValueError(f"pitfall_updates must be at least {self.updates} and a multiple of {segment}; "
                             f"got {self.pitfall_updates}.")

    @classmethod
    def preset(cls, regime: str, n_labels: int = 1000, **changes) -> "FineTuning":
        """The arms of a regime: the book and today with Nadam, 2006 with plain SGD 0.1."""
        _check_regime(regime)
        pretraining = changes.pop("pretraining", None) or Pretraining.preset(regime)
        if regime == "book":
            base = cls(pretraining, n_labels)
        elif regime == "today":
            base = cls(pretraining, n_labels, updates=1500)
        else:
            base = cls(pretraining, n_labels, updates=1500, optimizer="sgd", learning_rate=0.1,
                       unfrozen_learning_rate=0.01)
        return dataclasses.replace(base, **changes)

    @classmethod
    def tiny(cls, regime: str = "book", n_labels: int = 50, **changes) -> "FineTuning":
        """The regime's arms with 20 updates each, on the tiny autoencoder."""
        pretraining = changes.pop("pretraining", None) or Pretraining.tiny(regime)
        base = cls.preset(regime, n_labels, pretraining=pretraining, updates=20, curve_points=2, pitfall_updates=40)
        return dataclasses.replace(base, **changes)

    @property
    def segment(self) -> int:
        return self.updates // self.curve_points

    def describe(self) -> str:
        return (f"{self.n_labels} labels per seed, every arm {self.updates} updates of {self.batch_size} "
                f"({self.optimizer} {self.learning_rate:g}; top arm unfreezes {self.unfreeze_top} layer(s) at "
                f"{self.unfrozen_learning_rate:g} after {int(self.frozen_share * self.updates)} updates)")


def experiment(regime: str, n_labels: int, *, tiny: bool = False, greedy: Optional[bool] = None,
               code_activation: Optional[str] = None, tied: bool = False, noise_stddev: float = 0.0) -> FineTuning:
    """The comparison the page (or a notebook) asks for: a regime's preset, full size or tiny, with the
    autoencoder's options changed; greedy / code_activation None keep the regime's own."""
    base = Pretraining.tiny(regime) if tiny else Pretraining.preset(regime)
    changes = {"tied": bool(tied), "noise_stddev": float(noise_stddev)}
    if greedy is not None:
        changes["greedy"] = bool(greedy)
    if code_activation is not None:
        changes["code_activation"] = code_activation
    autoencoder = dataclasses.replace(base, **changes)
    if tiny:
        return FineTuning.tiny(regime, n_labels, pretraining=autoencoder)
    return FineTuning.preset(regime, n_labels, pretraining=autoencoder)


def _check_regime(regime: str) -> None:
    if regime not in REGIMES:
        raise ValueError(f"Unknown regime {regime!r}; choose one of {', '.join(REGIMES)}.")


def _check_optimizer(name: str, rates) -> None:
    if name not in ("nadam", "sgd"):
        raise ValueError(f"The optimizer must be \"nadam\" or \"sgd\", got {name!r}.")
    if any(not (isinstance(rate, (int, float)) and np.isfinite(rate) and rate > 0) for rate in rates):
        raise ValueError(f"Learning rates must be numbers greater than 0, got {tuple(rates)}.")


def _optimizer(name: str, rate: float):
    return stacked.Nadam(rate) if name == "nadam" else stacked.SGD(rate)


def seed_list(n_seeds) -> tuple[int, ...]:
    """Seeds 0..n-1 (the page and the command line use the same ones), 1 to 200 of them."""
    return checked_seed_list(n_seeds, low=MIN_SEEDS, high=MAX_SEEDS)


# ---- data ----

@dataclass(frozen=True, eq=False)
class Arrays:
    """The images of one split, flattened: x (n, 784) float32 in [0, 1], y (n,) int32."""

    x_pool: np.ndarray  # unlabeled pool (its labels are never used)
    x_reserve: np.ndarray  # labelled reserve
    y_reserve: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    pool_rows: np.ndarray  # rows of the pool in the book's 55,000 training images
    reserve_rows: np.ndarray  # rows of the reserve there


def split_arrays(split: Split, splits: Optional[data.BookSplits] = None) -> Arrays:
    """Cut the book's splits (default: the loaded data set, kept for two splits) into the four roles."""
    return _cached_arrays(split) if splits is None else _cut(split, splits)


@functools.lru_cache(maxsize=2)
def _cached_arrays(split: Split) -> Arrays:
    return _cut(split, data.load_book_splits())


def _cut(split: Split, splits: data.BookSplits) -> Arrays:
    y_train = splits.y_train.astype(np.int32)
    reserve = []
    for label in range(N_CLASSES):
        rows = np.flatnonzero(y_train == label)
        if len(rows) < split.labelled_per_class:
            raise ValueError(f"Class {label} has {len(rows)} training images, fewer than the "
                             f"{split.labelled_per_class} the labelled reserve asks for.")
        reserve.append(rows[len(rows) - split.labelled_per_class:])
    reserve_rows = np.sort(np.concatenate(reserve))
    pool_rows = np.setdiff1d(np.arange(len(y_train)), reserve_rows)[:split.unlabeled]
    flat = splits.x_train.reshape(len(y_train), -1)
    return Arrays(flat[pool_rows], flat[reserve_rows], y_train[reserve_rows],
                  splits.x_valid.reshape(len(splits.x_valid), -1)[:split.validation],
                  splits.y_valid[:split.validation].astype(np.int32),
                  splits.x_test.reshape(len(splits.x_test), -1)[:split.test],
                  splits.y_test[:split.test].astype(np.int32), pool_rows, reserve_rows)


def labelled_subset(y_reserve: np.ndarray, n_labels: int, seed: int) -> np.ndarray:
    """Rows of the reserve forming seed's balanced subset: n_labels / 10 of each class, sorted (n_labels,)."""
    if n_labels < N_CLASSES or n_labels % N_CLASSES:
        raise ValueError(f"A balanced subset needs a multiple of {N_CLASSES} labels, got {n_labels}.")
    generator = np.random.default_rng([int(seed), 1414])  # 1414: this draw's own stream of the seed
    chosen = []
    for label in range(N_CLASSES):
        rows = np.flatnonzero(y_reserve == label)
        if len(rows) < n_labels // N_CLASSES:
            raise ValueError(f"The reserve has {len(rows)} images of class {label}; {n_labels // N_CLASSES} "
                             f"were asked for.")
        chosen.append(generator.choice(rows, n_labels // N_CLASSES, replace=False))
    return np.sort(np.concatenate(chosen))


# ---- nets ----

def encoder_layers(config: Pretraining) -> tuple:
    """layer_1 .. layer_L (the last is the code): what the classifier reuses."""
    last = len(config.hidden_units)
    return tuple(Dense(f"layer_{i}", units, config.code_activation if i == last else config.activation,
                       config.initializer) for i, units in enumerate(config.hidden_units, start=1))


def decoder_layer(config: Pretraining, layer: int):
    """decode_i rebuilds the input of layer_i (pixels for i = 1, else layer_{i-1}'s output)."""
    units = 784 if layer == 1 else config.hidden_units[layer - 2]
    activation = config.reconstruction_activation if layer == 1 else config.activation
    return Dense(f"decode_{layer}", units, activation, config.initializer,
                 tied_to=f"layer_{layer}" if config.tied else None)


def autoencoder_layers(config: Pretraining) -> tuple:
    """The whole stack: encoder, then decode_L .. decode_1 (a greedy run assembles the same stack)."""
    return encoder_layers(config) + tuple(decoder_layer(config, i) for i in range(len(config.hidden_units), 0, -1))


def classifier_layers(config: Pretraining) -> tuple:
    """The encoder under a new 10-way output (its linear outputs are the softmax's logits)."""
    return encoder_layers(config) + (Dense("output", N_CLASSES),)


# ---- progress ----

class _Stages:
    """One monotone bar over stages of known relative cost; each message names its stage."""

    def __init__(self, progress: Optional[ProgressCallback], costs: Sequence[float], scale: int = 1000):
        self.progress, self.scale = progress, scale
        total = float(sum(costs)) or 1.0
        edges = np.concatenate([[0.0], np.cumsum(costs) / total]) * scale
        self.edges = edges

    def stage(self, index: int, label: str = "") -> ProgressCallback:
        low, high = self.edges[index], self.edges[index + 1]

        def callback(done: int, total: int, message: str = "") -> None:
            share = done / max(total, 1)
            text = ", ".join(part for part in (label, message) if part)
            report(self.progress, round(low + share * (high - low)), self.scale, text)

        return callback


_seed_range, _chunks, _check_seeds = seeds_text, chunks, check_seeds  # the names core.auxiliary still uses


# ---- pretraining ----

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
    missing = _missing_pretraining(config, seeds, store)
    if missing:
        arrays = split_arrays(config.split)
        parts = chunks(missing, chunk_size)
        stages = _Stages(progress, [len(chunk) for chunk in parts])
        for index, chunk in enumerate(parts):
            _pretrain_chunk(config, arrays, chunk, store, stages.stage(index))
    return load_pretraining(config, seeds, store)


def _npz_path(store, config, seed: int, role: str):
    return store.model_path(config, seed, role).with_suffix(".npz")


def _missing_pretraining(config: Pretraining, seeds, store) -> list[int]:
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
    stages = _Stages(progress, [1.0] * len(phases) + [0.2])
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
        stage = stages.stage(index, _phase_label(config, index, seeds))

        def validate(epoch, current, objective=objective, per_copy=per_copy, valid_inputs=valid_inputs, index=index):
            val_mse[:, index, epoch] = stacked.evaluate(objective, current, (valid_inputs,), per_copy)[1]

        run = stacked.train(objective, start, tuple(start), _optimizer(config.optimizer, rate), (inputs,), streams,
                            noise_seeds, segments=config.epochs, per_copy=per_copy, on_segment=validate,
                            progress=lambda done, total, _, stage=stage: stage(done, total, f"epoch {done}/{total}"))
        train_loss[:, index] = run.loss
        params.update(run.params)
        if index < len(phases) - 1:  # the next layer trains on this layer's frozen codes
            inputs = stacked.outputs(encoder[index:index + 1], run.params, inputs, per_copy)
            valid_inputs = stacked.outputs(encoder[index:index + 1], run.params, valid_inputs, per_copy)
    stages.stage(len(phases), f"measuring the autoencoders, {seeds_text(seeds)}")(0, 1)
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
    projections, variance = zip(*[_pca_2d(codes) for codes in test_codes])
    return {
        "row": {"pixel_val_mse": pixel_mse, "dead_units": np.stack(dead, axis=1),
                "code_std": codes_valid.std(axis=1), "code_mean": codes_valid.mean(axis=1)},
        "arrays": {"reconstructions": reconstructions, "pca": np.stack(projections),
                   "pca_variance": np.stack(variance), "pool_code_mean": pool_codes.mean(axis=1),
                   "pool_code_std": pool_codes.std(axis=1)},
    }


def _pca_2d(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """codes (n, units) -> their projection on the 2 leading principal components (n, 2), and the variance shares."""
    centred = codes - codes.mean(axis=0)
    _, singular, vectors = np.linalg.svd(centred, full_matrices=False)
    total = float(np.sum(singular ** 2)) or 1.0
    components = np.zeros((2, codes.shape[1]), np.float32)
    components[:min(2, len(vectors))] = vectors[:2]
    shares = np.zeros(2, np.float32)
    shares[:min(2, len(singular))] = singular[:2] ** 2 / total
    return (centred @ components.T).astype(np.float32), shares


def stored_seeds(config, seeds, store) -> tuple[int, ...]:
    """The seeds among `seeds` whose results are stored: autoencoders (a Pretraining config, rows and weight files)
    or every arm (a FineTuning config)."""
    seeds = check_seeds(seeds)
    if isinstance(config, Pretraining):
        missing = set(_missing_pretraining(config, seeds, store))
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


# ---- fine-tuning arms ----

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
    need = [_missing_pretraining(config.pretraining, chunk, store) for chunk in parts]
    stages = _Stages(progress, [len(chunk) + 2.0 * len(pending) for chunk, pending in zip(parts, need)])
    arrays = split_arrays(config.pretraining.split)

    def run_batch(_config, _missing, on_seed_done):  # chunk by chunk: its autoencoders, then its arms
        for index, (chunk, pending) in enumerate(zip(parts, need)):
            inner = _Stages(stages.stage(index), [2.0 * len(pending), len(chunk)])
            if pending:
                pretrain(config.pretraining, pending, store, inner.stage(0), chunk_size)
            label = f"{config.n_labels} labels, {seeds_text(chunk)}"
            for seed, row in train_chunk(stored_as, arrays, chunk, store, inner.stage(1, label)).items():
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
    optimizer = _optimizer(config.optimizer, config.learning_rate)
    n_curve, n_long = config.curve_points, long // segment
    curves = np.zeros((copies, len(ARMS), n_curve), np.float32)
    runs_long = PITFALL_RUNS if pitfalls else ("frozen",)
    long_curves = np.zeros((copies, len(runs_long), n_long), np.float32)
    accuracy = np.zeros((copies, len(ARMS)), np.float32)
    pitfall = np.zeros((copies, len(PITFALL_RUNS) if pitfalls else 0), np.float32)
    stages = _Stages(progress, [3.0, 3.0, 0.5, 0.5 if pitfalls else 0.0, 1.0, 0.5, 0.5])
    updates, nonfinite = {}, {}  # optimizer updates each copy made, counted by the loop; diverged copies

    def train(name, *args, learning_rates=copy_rates, **kwargs):
        run = stacked.train(*args, learning_rates=learning_rates, **kwargs)
        nonfinite[name], updates[name] = ~np.isfinite(run.loss).all(axis=1), run.steps.sum(axis=1)
        return run

    def curve_of(objective, x, y, target, row, *, per_copy=False):
        def record(index, params):
            target[:, row, index] = stacked.evaluate(objective, params, (x, y), per_copy)[1]
        return record

    def stage_progress(index, label):
        stage = stages.stage(index, label)
        return lambda done, total, _: stage(done, total, f"updates {done * segment}/{total * segment}")

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
    accuracy[:, ARMS.index("frozen")] = stacked.evaluate(head, snapshots[config.updates], test_codes, True)[1]
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
        pitfall[:, 1] = stacked.evaluate(head, run.params, (standardized["test"], labels(arrays.y_test)), True)[1]

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
                                                                  True)[1]

    run = train("frozen_then_top", top, top_start, tuple(top_start),
                _optimizer(config.optimizer, config.unfrozen_learning_rate),
                (features["reserve"], labels(arrays.y_reserve)), streams[:, frozen_updates:], segments=n_curve - done,
                per_copy=True, on_segment=top_record, learning_rates=top_rates,
                progress=stage_progress(4, f"top {config.unfreeze_top} layer(s) unfrozen"))
    accuracy[:, index] = stacked.evaluate(top, run.params, (features["test"], labels(arrays.y_test)), True)[1]
    updates["frozen_then_top"] = frozen_steps[:, :done].sum(axis=1) + run.steps.sum(axis=1)

    # The floor: a softmax regression on the raw pixels, same optimizer, same batches.
    floor = stacked.Classification(classifier[-1:])
    floor_start = stacked.initial_params(classifier[-1:], 784, copy_seeds, "raw pixels")
    index = ARMS.index("raw_pixels")
    run = train("raw_pixels", floor, floor_start, tuple(floor_start), optimizer, pixel_data, streams,
                segments=n_curve, on_segment=curve_of(floor, x_curve, y_curve, curves, index),
                progress=stage_progress(5, "raw-pixel softmax regression"))
    accuracy[:, index] = stacked.evaluate(floor, run.params, (arrays.x_test, arrays.y_test))[1]
    stages.stage(6, "done")(1, 1)
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
    pending = {regime: len(_missing_pretraining(config.pretraining, seeds, store)) / len(seeds)
               for regime, _, config in configs}
    stages = _Stages(progress, [1.0 + 2.0 * pending.pop(regime, 0.0) for regime, _, _ in configs])
    return {(regime, n_labels): run(config, seeds, store, stages.stage(index, f"{regime} regime"), chunk_size)
            for index, (regime, n_labels, config) in enumerate(configs)}


def run_label_counts(config: FineTuning, label_counts: Sequence[int], seeds, store,
                     progress: Optional[ProgressCallback] = None, chunk_size: int = CHUNK_SEEDS) -> dict:
    """{n_labels: Comparison} of one config at each label count (its autoencoders are trained once, shared)."""
    seeds = check_seeds(seeds)
    configs = [dataclasses.replace(config, n_labels=n_labels) for n_labels in label_counts]
    pending = len(_missing_pretraining(config.pretraining, seeds, store)) / len(seeds)
    stages = _Stages(progress, [1.0 + 2.0 * pending] + [1.0] * (len(configs) - 1))
    return {each.n_labels: fine_tune(each, seeds, store, stages.stage(index, f"{each.n_labels} labels"), chunk_size)
            for index, each in enumerate(configs)}
