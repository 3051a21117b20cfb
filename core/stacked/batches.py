"""Batch streams: the row indices each copy trains on, drawn from its seed and a tag naming the stretch."""

from __future__ import annotations

import zlib

import numpy as np


def steps_per_epoch(n_rows: int, batch_size: int) -> int:
    """Updates needed to show every one of n rows once (the last batch of an epoch borrows from the next)."""
    return -(-n_rows // batch_size)


def batch_stream(seed: int, tag: str, rows, batch_size: int, updates: int) -> np.ndarray:
    """Row indices of `updates` batches of one copy: (updates, batch_size) int32.

    `rows`: the row ids to draw from, or their number n (rows 0..n-1). They are shuffled afresh each
    epoch and the epochs are concatenated, so a batch may straddle two epochs, as with
    `Dataset.shuffle(n).repeat().batch(batch_size)`; every batch is full. `tag` names the stretch of
    training (two stretches of one seed draw different orders; arms that share a tag share batches).
    """
    rows = np.arange(rows) if np.ndim(rows) == 0 else np.asarray(rows)
    if len(rows) == 0 or batch_size < 1 or updates < 1:
        raise ValueError(f"A batch stream needs rows, a batch size >= 1 and at least one update; got "
                         f"{len(rows)} rows, batch size {batch_size}, {updates} updates.")
    generator = np.random.default_rng([int(seed), zlib.crc32(tag.encode())])
    needed = updates * batch_size
    orders = [rows[generator.permutation(len(rows))] for _ in range(-(-needed // len(rows)))]
    return np.concatenate(orders)[:needed].reshape(updates, batch_size).astype(np.int32)
