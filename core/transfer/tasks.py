"""The arrays a transfer protocol trains on (task A: eight classes, task B: a pair) and what the engine needs of them:
the engine's architectures of models A and B, per-copy task-B subsets and task-A rows, per-epoch progress text.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np

from core import data
from core.progress import ProgressCallback, report
from core.transfer.protocols import TransferProtocol


@dataclass(frozen=True)
class TaskData:
    """Arrays of one protocol's tasks. x: (n, 28, 28) float32; y_a: uint8 in 0..7; y_b: float32 in {0, 1}."""

    x_train_a: np.ndarray
    y_train_a: np.ndarray
    x_valid_a: np.ndarray
    y_valid_a: np.ndarray
    x_train_b: np.ndarray
    y_train_b: np.ndarray
    x_valid_b: np.ndarray
    y_valid_b: np.ndarray
    x_test_b: np.ndarray
    y_test_b: np.ndarray


def b_subset(n_available: int, n_wanted: int, subset_seed: int | None) -> np.ndarray:
    """Indices of the task-B training images: the first n (the book), or n drawn at random with a seed."""
    if n_wanted > n_available:
        raise ValueError(f"Task B has only {n_available} training images; {n_wanted} were asked for.")
    if subset_seed is None:
        return np.arange(n_wanted)
    return np.sort(np.random.default_rng(subset_seed).choice(n_available, size=n_wanted, replace=False))


def task_data(protocol: TransferProtocol, splits: data.BookSplits, subset_seed: int | None = None) -> TaskData:
    """Split the book's train/valid/test sets into tasks A and B as the protocol says."""
    (x_a, y_a), (x_b, y_b) = data.split_task_a_b(splits.x_train, splits.y_train, protocol.b_classes)
    (xv_a, yv_a), (xv_b, yv_b) = data.split_task_a_b(splits.x_valid, splits.y_valid, protocol.b_classes)
    _, (xt_b, yt_b) = data.split_task_a_b(splits.x_test, splits.y_test, protocol.b_classes)
    chosen = b_subset(len(x_b), protocol.n_b_train, subset_seed)
    n_a, n_eval = protocol.n_a_train, protocol.n_eval
    return TaskData(
        x_a[:n_a], y_a[:n_a], xv_a[:n_eval], yv_a[:n_eval],
        x_b[chosen], y_b[chosen], xv_b[:n_eval], yv_b[:n_eval], xt_b[:n_eval], yt_b[:n_eval],
    )


def engine_configs(protocol: TransferProtocol):
    """The engine's architectures of model A (8-way softmax) and model B (one sigmoid), same hidden stack."""
    from core import engine

    a_config = engine.MLPConfig(protocol.hidden_units, protocol.activation, protocol.initializer,
                                n_outputs=8, output_activation="softmax")
    return a_config, dataclasses.replace(a_config, n_outputs=1, output_activation="sigmoid")


@functools.lru_cache(maxsize=4)
def protocol_tasks(protocol: TransferProtocol) -> TaskData:
    """The protocol's task arrays with the book's first task-B images (kept for a few protocols)."""
    return task_data(protocol, data.load_book_splits())


def b_training_sets(protocol: TransferProtocol, subset_seeds) -> tuple[np.ndarray, np.ndarray]:
    """Per-seed task-B training sets: x (K, n_b_train, 28, 28), y (K, n_b_train); None seeds give the first ones."""
    splits = data.load_book_splits()
    _, (x_b, y_b) = data.split_task_a_b(splits.x_train, splits.y_train, protocol.b_classes)
    chosen = [b_subset(len(x_b), protocol.n_b_train, seed) for seed in subset_seeds]
    return np.stack([x_b[index] for index in chosen]), np.stack([y_b[index] for index in chosen])


def epoch_progress(callback: ProgressCallback | None, frozen: int = 0) -> ProgressCallback | None:
    """The engine's per-epoch reports as "epoch 3/20", with "(reused layers frozen)" for the first `frozen`."""
    if callback is None:
        return None

    def forward(done: int, total: int, _message: str) -> None:
        report(callback, done, total, f"epoch {done}/{total}" + (" (reused layers frozen)" if done <= frozen else ""))

    return forward


def task_a_rows(b_classes, labels: np.ndarray, cap: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Rows of task A (the eight classes other than `b_classes`) among `labels` (n,), at most `cap` (None: all),
    and task A's labels 0..7 for them: the rows of what `data.split_task_a_b` returns, in the same order."""
    negative, positive = data.check_class_pair(b_classes)
    rows = np.flatnonzero((labels != negative) & (labels != positive))[:cap]
    relabel = np.full(10, 255, dtype=np.uint8)
    relabel[[c for c in range(10) if c not in (negative, positive)]] = np.arange(8, dtype=np.uint8)
    return rows, relabel[labels[rows]]


def model_a_data(protocol: TransferProtocol, pairs):
    """engine.Data for model A of each task-B pair in `pairs` (one per copy): the protocol's own task arrays when
    every copy has the same pair, else per-copy subsets of the book's training and validation splits (each
    pair's task A is the other eight classes, about 44,000 images, so the sets differ a little in size)."""
    from core import engine

    if len(set(pairs)) == 1:
        tasks = protocol_tasks(protocol.with_pair(pairs[0]))
        return engine.Data(tasks.x_train_a, tasks.y_train_a, tasks.x_valid_a, tasks.y_valid_a)
    splits = data.load_book_splits()
    train = [task_a_rows(pair, splits.y_train, protocol.n_a_train) for pair in pairs]
    valid = [task_a_rows(pair, splits.y_valid, protocol.n_eval) for pair in pairs]
    return engine.Data.of_subsets(
        engine.Subsets(splits.x_train, tuple(rows for rows, _ in train), tuple(labels for _, labels in train)),
        engine.Subsets(splits.x_valid, tuple(rows for rows, _ in valid), tuple(labels for _, labels in valid)))


def task_b_data(tasks: TaskData, x_b, y_b):
    """engine.Data of task B: training images `x_b`, `y_b` (shared, or per copy), the tasks' validation and test."""
    from core import engine

    return engine.Data(x_b, y_b, tasks.x_valid_b, tasks.y_valid_b, tasks.x_test_b, tasks.y_test_b)
