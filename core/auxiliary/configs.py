"""The auxiliary-task comparison's configs and names: what every source shares (Common), one config per source
(Supervised, Siamese, Masked), the reuse comparison (Reuse), the arms, seeds and job keys."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from core import data, pretraining, stacked
from core.runs import seeds as runs_seeds

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


def job_key(kind: str, config, seeds) -> tuple:
    """The core.jobs key of one training: the same config and seeds are one shared job."""
    return runs_seeds.job_key("auxiliary", kind, config, seeds)
