"""What a pretraining comparison is: the image split, the autoencoder (Pretraining), the fine-tuning arms
(FineTuning) and the regimes' presets, with the constants every part shares."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar, Optional

import numpy as np

from core import stacked
from core.runs.seeds import seed_list as checked_seed_list

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



def stacked_optimizer(name: str, rate: float):
    """The stacked trainer's optimizer named by a config ("nadam" or "sgd") at `rate`."""
    return stacked.Nadam(rate) if name == "nadam" else stacked.SGD(rate)


def seed_list(n_seeds) -> tuple[int, ...]:
    """Seeds 0..n-1 (the page and the command line use the same ones), 1 to 200 of them."""
    return checked_seed_list(n_seeds, low=MIN_SEEDS, high=MAX_SEEDS)
