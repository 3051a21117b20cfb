"""train(): K copies of an objective's net, each on its own batches, one compiled loop per copy in one graph.

The XLA thresholds below choose whether a run's loops are XLA-compiled (docs/architecture.md, core/stacked).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from core.progress import ProgressCallback, report
from core.stacked.objectives import gather
from core.stacked.optimizers import check_rate

XLA_MIN_FLOP = 2e10  # runs with more arithmetic than this (all copies) are XLA-compiled, and so are runs of
XLA_MIN_COPY_STEPS = 10_000  # more updates than this (all copies), where the graph's per-step overhead adds up;
# other runs are not, since compiling costs 2-8 s per net and shape on 2 cores, more than they take without it


@dataclass(frozen=True, eq=False)
class TrainResult:
    """What one `train` call returns; arrays have the copies on their first axis."""

    params: dict  # every array of the net after training, (K, ...) each
    loss: np.ndarray  # (K, segments) mean training loss over each segment's updates (before each update)
    metric: np.ndarray  # (K, segments) mean metric (accuracy, or the MSE again) over the same updates
    steps: np.ndarray  # (K, segments) optimizer updates each copy made, counted by its compiled loop


def train(objective, params: dict, trainable: Sequence[str], optimizer, data: tuple, streams: np.ndarray,
          noise_seeds: Optional[Sequence[int]] = None, *, segments: int = 1, per_copy: bool = False,
          progress: Optional[ProgressCallback] = None,
          on_segment: Optional[Callable[[int, dict], None]] = None,
          learning_rates: Optional[Sequence[float]] = None) -> TrainResult:
    """Train K copies of `objective`'s net, each on its own batches, with a fresh optimizer (one Keras compile).

    params: {name: (K, ...)} every array the objective uses; only the `trainable` ones change.
    data: tuple of arrays, shared (n, ...) or, with `per_copy`, (K, n, ...); streams: (K, updates, batch) row ids.
    noise_seeds: one int per copy for the objective's randomness (input noise); default 0..K-1.
    The updates run in `segments` equal stretches (one compiled call each); after each,
    `on_segment(index, params)` sees the stacked params and `progress(done, segments, "")` is called.
    learning_rates: one rate per copy (a rate search's candidates as extra copies); default optimizer.learning_rate.
    """
    import tensorflow as tf

    streams = np.asarray(streams)
    copies, updates = _check_train(params, trainable, data, streams, segments, per_copy,
                                   plain_rows=not hasattr(objective, "gather"))
    noise_seeds = tuple(range(copies)) if noise_seeds is None else tuple(int(seed) for seed in noise_seeds)
    if len(noise_seeds) != copies:
        raise ValueError(f"Give one noise seed per copy: {copies} copies, {len(noise_seeds)} seeds.")
    trainable = tuple(trainable)
    frozen = tuple(key for key in params if key not in trainable)
    xla = (_flop(params, trainable, streams.shape[1] * streams.shape[2], copies) >= XLA_MIN_FLOP
           or streams.shape[1] * copies >= XLA_MIN_COPY_STEPS)
    run = _parallel_function(objective, _without_rate(optimizer), trainable, frozen, copies, per_copy, xla)
    moving = [{key: tf.constant(params[key][k]) for key in trainable} for k in range(copies)]
    fixed = [{key: tf.constant(params[key][k]) for key in frozen} for k in range(copies)]
    states = [optimizer.initial_state(copy) for copy in moving]
    tensors = tuple(tf.constant(array) for array in data)
    if per_copy:
        tensors = [tuple(array[k] for array in tensors) for k in range(copies)]
    rates = np.full(copies, optimizer.learning_rate) if learning_rates is None else np.asarray(learning_rates, float)
    if rates.shape != (copies,):
        raise ValueError(f"Give one learning rate per copy: {copies} copies, {rates.size} rates.")
    for value in rates:
        check_rate(float(value))
    rate, seeds = tf.constant(rates, tf.float32), tf.constant(noise_seeds, tf.int32)
    length = updates // segments
    loss, metric, steps = (np.zeros((copies, segments), dtype) for dtype in (np.float32, np.float32, np.int64))
    for segment in range(segments):
        part = tf.constant(streams[:, segment * length:(segment + 1) * length])
        results = run(moving, fixed, states, tensors, part, seeds, tf.constant(segment * length), rate)
        moving, states = [result[0] for result in results], [result[1] for result in results]
        loss[:, segment] = [float(result[2]) for result in results]
        metric[:, segment] = [float(result[3]) for result in results]
        steps[:, segment] = [int(result[4]) for result in results]
        if on_segment is not None:
            on_segment(segment, _stack(moving, fixed, params))
        report(progress, segment + 1, segments, "")
    return TrainResult(_stack(moving, fixed, params), loss, metric, steps)


def _check_train(params, trainable, data, streams, segments, per_copy, plain_rows: bool) -> tuple[int, int]:
    """(copies, updates), or a ValueError naming what does not fit; an objective with its own `gather`
    checks its streams itself (they index its pairs, not the rows of every array)."""
    copies = {array.shape[0] for array in params.values()}
    if len(copies) != 1:
        raise ValueError("Every parameter array needs the same number of copies on its first axis.")
    (copies,) = copies
    unknown = set(trainable) - set(params)
    if unknown or not trainable:
        raise ValueError(f"Name at least one trainable array, each one of the net's; unknown: {sorted(unknown)}.")
    if streams.ndim != 3 or streams.shape[0] != copies:
        raise ValueError(f"Streams must be (copies, updates, batch) = ({copies}, ...); got {streams.shape}.")
    updates = streams.shape[1]
    if segments < 1 or updates % segments:
        raise ValueError(f"{updates} updates cannot be cut into {segments} equal segments.")
    if per_copy and any(np.shape(array)[0] != copies for array in data):
        raise ValueError(f"Per-copy data needs one block per copy ({copies}) on its first axis.")
    if not plain_rows:
        return copies, updates
    rows = {np.shape(array)[1 if per_copy else 0] for array in data}
    if len(rows) != 1:
        raise ValueError("Data arrays must hold the same rows.")
    (rows,) = rows
    if streams.min() < 0 or streams.max() >= rows:
        raise ValueError(f"Batch streams point outside the data's {rows} rows.")
    return copies, updates


def _stack(moving: list, fixed: list, template: dict) -> dict:
    return {key: np.stack([(copy_moving[key] if key in copy_moving else copy_fixed[key]).numpy()
                           for copy_moving, copy_fixed in zip(moving, fixed)]) for key in template}


def _flop(params: dict, trainable, samples: int, copies: int) -> float:
    """Rough arithmetic of a run: forward and backward through every kernel, for every sample and copy."""
    per_sample = sum(np.prod(value.shape[1:]) for key, value in params.items() if key.endswith("/kernel"))
    return 6.0 * float(per_sample) * samples * copies


@functools.lru_cache(maxsize=1)
def quiet_retracing_warnings() -> None:
    """Drop TensorFlow's "triggered tf.function retracing" warnings about this module's loops.

    Every net, shape and number of copies has its own cached function here, each traced once, but
    TensorFlow counts traces per code object, so a run over many configs trips its warning.
    """
    import logging

    def keep(record) -> bool:
        message = record.getMessage()
        return not ("retracing" in message and any(name in message for name in (
            "_parallel_function", "_copy_loop", "_forward_function", "_evaluate_function")))

    logging.getLogger("tensorflow").addFilter(keep)


def _without_rate(optimizer):
    """The optimizer with its learning rate blanked: the rate is an argument, so one compile serves every rate."""
    return dataclasses.replace(optimizer, learning_rate=1.0)


@functools.lru_cache(maxsize=64)
def _copy_loop(objective, optimizer, trainable: tuple, frozen: tuple, xla: bool):
    """One copy's stretch of updates: returns (params, optimizer state, mean loss, mean metric, updates made)."""
    import tensorflow as tf

    @tf.function(jit_compile=xla, autograph=False)
    def loop(moving, fixed, state, data, stream, noise_seed, first_step, learning_rate):
        n_updates = stream.shape[0]

        def body(step, loss_sum, metric_sum, moving, state):
            batch = gather(objective, data, stream[step])
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(moving)
                loss, metric = objective.loss_and_metric({**fixed, **moving}, batch, noise_seed, first_step + step)
            grads = tape.gradient(loss, moving)
            moving, state = optimizer.apply(moving, grads, state, first_step + step, learning_rate)
            return step + 1, loss_sum + loss, metric_sum + metric, moving, state

        start = (tf.constant(0), tf.constant(0.0), tf.constant(0.0), moving, state)
        made, loss_sum, metric_sum, moving, state = tf.while_loop(lambda step, *_: step < n_updates, body, start)
        return moving, state, loss_sum / n_updates, metric_sum / n_updates, made

    return loop


@functools.lru_cache(maxsize=64)
def _parallel_function(objective, optimizer, trainable: tuple, frozen: tuple, copies: int, per_copy: bool,
                       xla: bool):
    """All copies' loops in one graph; they share nothing, so TensorFlow runs them side by side."""
    import tensorflow as tf

    quiet_retracing_warnings()
    loop = _copy_loop(objective, optimizer, trainable, frozen, xla)

    @tf.function(autograph=False)
    def run(moving, fixed, states, data, streams, noise_seeds, first_step, learning_rate):
        return [loop(moving[k], fixed[k], states[k], data[k] if per_copy else data, streams[k], noise_seeds[k],
                     first_step, learning_rate[k]) for k in range(copies)]

    return run
