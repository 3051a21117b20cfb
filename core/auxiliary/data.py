"""The images each source and the target task use (the unlabeled pool, the labelled reserve, validation, test),
same/different pairs, and each seed's few labelled target images."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from core import data, pretraining
from core.auxiliary.configs import Common, Siamese


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


def held_out_pairs(config: Siamese, arrays: SourceData) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of non-target validation images, the same for every seed: (m, 2) row ids of x_valid, same (m,)."""
    return make_pairs(arrays.y_valid, config.common.other_classes, config.held_out_pairs, 0, "held-out pairs")


def target_validation(arrays: SourceData, target_pair) -> tuple[np.ndarray, np.ndarray]:
    """The target pair's images of the book's validation split (never test images): x (n, 784), y (n,) 0 / 1."""
    keep = np.isin(arrays.y_valid, target_pair)
    return arrays.x_valid[keep], (arrays.y_valid[keep] == target_pair[1]).astype(np.int32)
