"""The images of a pretraining comparison cut into their roles (unlabeled pool, labelled reserve, validation,
test), and each seed's balanced labelled subset of the reserve."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Optional

import numpy as np

from core import data
from core.pretraining.configs import N_CLASSES, Split


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
