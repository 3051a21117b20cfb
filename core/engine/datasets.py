"""A run's data as every execution path takes it: flat images, each copy's labels and how many images it has.

Three modes, decided by what `Data` holds:
- "shared": every copy uses the same images, pool (n, 784) with labels (n,);
- "per_copy": each copy its own array, pool (K, n, 784) with labels (K, n);
- "indexed": per-copy subsets of one shared array (`Subsets`), pool (N, 784), rows (K, n_max) into it and
  labels (K, n_max), both padded past each copy's own count with row 0 and label 0 (never used: masked).
A set is "ragged" when its copies hold different numbers of images (indexed mode only).

Numpy only (checked before any TensorFlow work starts); every bad input is a ValueError with a sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from core.engine.configs import Subsets

IMAGE_SIZE = 28 * 28


@dataclass(frozen=True, eq=False)
class DataSet:
    """One checked set (training, validation or test) in the form the execution paths use."""

    mode: str  # "shared", "per_copy" or "indexed" (see the module docstring)
    pool: np.ndarray  # (n, 784), (K, n, 784) or (N, 784) float32
    labels: np.ndarray  # (n,) shared, else (K, n_max) float32 (class ids are exact in float32)
    counts: np.ndarray  # (K,) int: each copy's number of images
    rows: Optional[np.ndarray] = None  # (K, n_max) int32 rows into pool, indexed mode only

    @property
    def n_max(self) -> int:
        """The largest copy's number of images (every copy's, unless ragged)."""
        return int(self.counts.max())

    @property
    def ragged(self) -> bool:
        return bool(self.counts.min() != self.counts.max())

    @property
    def per_copy_labels(self) -> bool:
        return self.labels.ndim == 2

    def mask(self) -> np.ndarray:
        """(K, n_max) float32: 1 for each copy's own images, 0 for the padding after them."""
        return (np.arange(self.n_max)[None, :] < self.counts[:, None]).astype(np.float32)

    def per_copy_images(self) -> tuple[np.ndarray, np.ndarray]:
        """Images (K, n, 784) and labels (K, n) of a set that is not ragged, each copy's own (memory: K x n x 784)."""
        if self.ragged:
            raise ValueError("Copies with training sets of different sizes cannot be laid out as one (K, n) array.")
        if self.mode == "indexed":
            return self.pool[self.rows], self.labels
        if self.mode == "shared":
            copies = len(self.counts)
            return np.broadcast_to(self.pool, (copies, *self.pool.shape)), np.broadcast_to(
                self.labels, (copies, len(self.labels)))
        return self.pool, self.labels


def data_set(x, y, copies: int, role: str) -> DataSet:
    """Check one role's images and labels (arrays, or a `Subsets` with labels None) and lay them out."""
    if isinstance(x, Subsets):
        if y is not None:
            field = {"training": "y_train", "validation": "y_valid", "test": "y_test"}.get(role, "the labels")
            raise ValueError(f"The {role} set is given as Subsets, which carry their own labels; leave {field} None.")
        return _indexed(x, copies, role)
    pool, labels, per_copy = flat_images(x, y, copies, role)
    mode = "per_copy" if per_copy else "shared"
    return DataSet(mode, pool, labels, np.full(copies, labels.shape[-1]))


def _indexed(subsets: Subsets, copies: int, role: str) -> DataSet:
    if subsets.copies != copies:
        raise ValueError(f"The {role} Subsets hold {subsets.copies} copies, but {copies} seeds were given.")
    images = np.asarray(subsets.images, np.float32)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"Subsets' {role} images must be (N, 28, 28); got {images.shape}.")
    counts = subsets.sizes
    rows = np.zeros((copies, counts.max()), np.int32)
    labels = np.zeros((copies, counts.max()), np.float32)
    for copy, (copy_rows, copy_labels) in enumerate(zip(subsets.rows, subsets.labels)):
        rows[copy, :counts[copy]] = copy_rows
        labels[copy, :counts[copy]] = copy_labels
    return DataSet("indexed", images.reshape(len(images), IMAGE_SIZE), labels, counts, rows)


def flat_images(x: np.ndarray, y: np.ndarray, copies: int, role: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """Check one (x, y) pair and flatten the images: (n, 784) shared or (K, n, 784) per copy.

    Returns the flat float32 images, the labels as float32 (class ids are exact) and whether they are per copy.
    """
    if y is None:
        raise ValueError(f"Give {role} labels with the {role} images (only Subsets carry their own).")
    x, y = np.asarray(x, np.float32), np.asarray(y)
    per_copy = y.ndim == 2
    if per_copy and y.shape[0] != copies:
        raise ValueError(f"Per-copy {role} labels hold {y.shape[0]} copies, but {copies} seeds were given.")
    if y.ndim not in (1, 2) or x.shape[:y.ndim] != y.shape or x.shape[y.ndim:] != (28, 28):
        raise ValueError(f"{role} images must be (n, 28, 28) with labels (n,), or (K, n, 28, 28) with labels (K, n); "
                         f"got images {x.shape} and labels {y.shape}.")
    if y.shape[-1] == 0:
        raise ValueError(f"The {role} set is empty.")
    return x.reshape(*y.shape, IMAGE_SIZE), y.astype(np.float32), per_copy
