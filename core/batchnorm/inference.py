"""Training vs inference: the gap between a BN layer's two modes as its moving statistics settle, what tiny
batches do to both, and a real Keras layer that behaves like inference once frozen."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.batchnorm.axis import KERAS_EPSILON, batch_normalize
from core.batchnorm.momentum import (
    KERAS_MOMENTUM,
    Stream,
    StreamConfig,
    batch_moments,
    check_momentum,
    exponential_average,
    moving_stats_trajectory,
    sample_stream,
)


def train_inference_gap(stream: Stream, momentum: float, probe: np.ndarray,
                        epsilon: float = KERAS_EPSILON) -> tuple[np.ndarray, float]:
    """RMS difference between training-mode and inference-mode outputs on one probe batch.

    probe: (probe_size, n_features). Training mode normalises it with its own statistics; inference
    mode with the moving statistics after each step of `stream`. Returns (gap after each step (n_steps,),
    floor), where floor is the gap with exact population statistics: what the probe's own sampling
    noise leaves even once the moving statistics have settled.
    """
    moving = moving_stats_trajectory(stream.batches, momentum, epsilon)
    probe = np.asarray(probe, dtype=np.float64)
    training = batch_normalize(probe, -1, epsilon)  # (probe_size, n_features)
    # Inference outputs after every step at once: (n_steps, probe_size, n_features).
    inference = (probe[None] - moving.moving_mean[:, None]) / np.sqrt(moving.moving_variance[:, None] + epsilon)
    gap = np.sqrt(np.mean((training[None] - inference) ** 2, axis=(1, 2)))
    exact = (probe - stream.true_mean[-1]) / np.sqrt(stream.true_variance[-1] + epsilon)
    return gap, float(np.sqrt(np.mean((training - exact) ** 2)))


@dataclass(frozen=True)
class TinyBatchReport:
    batch_sizes: tuple[int, ...]
    variance_ratio: np.ndarray  # (n_sizes,): settled moving variance / population variance
    expected_ratio: np.ndarray  # (n_sizes,): (n - 1) / n, the bias of the batch variance Keras uses
    inference_std: np.ndarray  # (n_sizes,): std of inference outputs on population data (ideal: 1)
    training_example: np.ndarray  # (n_sizes, max batch size): training-mode outputs of one batch, NaN-padded


def tiny_batch_report(batch_sizes=(1, 2, 3, 4, 8, 32), momentum: float = KERAS_MOMENTUM, n_steps: int = 3000,
                      seed: int = 42, source: str = "shift", pool: np.ndarray | None = None,
                      epsilon: float = KERAS_EPSILON) -> TinyBatchReport:
    """What tiny batches do to BN: training outputs lose the input, moving variance is biased low.

    Uses a stationary stream (for "shift", the statistics before the jump). The settled moving
    variance is averaged over the second half of the steps.
    """
    momentum = check_momentum(momentum)
    ratios, inference_std, examples = [], [], []
    for batch_size in batch_sizes:
        stream = sample_stream(StreamConfig(source, batch_size, 2 * n_steps, seed), pool, n_features=1)
        batches = stream.batches[:n_steps]  # before any shift
        mean, variance = batch_moments(batches)
        settled = slice(n_steps // 2, None)
        moving_variance = exponential_average(variance, momentum, 1.0)[settled, 0].mean()
        true_variance = stream.true_variance[0, 0]
        ratios.append(moving_variance / true_variance)
        inference_std.append(np.sqrt(true_variance / (moving_variance + epsilon)))
        examples.append(batch_normalize(batches[-1], -1, epsilon)[:, 0])
    width = max(batch_sizes)
    padded = np.full((len(batch_sizes), width), np.nan)
    for row, example in enumerate(examples):
        padded[row, :len(example)] = example
    sizes = np.asarray(batch_sizes, dtype=float)
    return TinyBatchReport(tuple(batch_sizes), np.asarray(ratios), (sizes - 1) / sizes, np.asarray(inference_std),
                           padded)


@dataclass(frozen=True)
class FrozenDemo:
    probe: np.ndarray  # (probe_size, n_features) the input
    training_output: np.ndarray  # layer(probe, training=True) with trainable=True
    inference_output: np.ndarray  # layer(probe, training=False)
    frozen_training_output: np.ndarray  # layer(probe, training=True) after layer.trainable = False
    moving_mean_before: np.ndarray  # (n_features,) before the frozen call
    moving_mean_after: np.ndarray  # (n_features,) after it


def frozen_layer_demo(n_steps: int = 5, momentum: float = 0.9, seed: int = 42) -> FrozenDemo:
    """A real Keras 3 BN layer: after `trainable = False`, training=True behaves like inference.

    The layer is trained for a few steps on data centred at 3 (so its moving statistics are part
    way from their start), then called on one probe batch in the three ways.
    """
    import keras

    momentum = check_momentum(momentum)
    rng = np.random.default_rng(seed)
    batches = (3.0 + 2.0 * rng.standard_normal((n_steps, 16, 3))).astype(np.float32)
    probe = (3.0 + 2.0 * rng.standard_normal((6, 3))).astype(np.float32)
    layer = keras.layers.BatchNormalization(momentum=momentum)
    for batch in batches:
        layer(batch, training=True)
    inference = np.asarray(layer(probe, training=False))
    before = layer.moving_mean.numpy().copy()
    layer.trainable = False
    frozen = np.asarray(layer(probe, training=True))
    after = layer.moving_mean.numpy().copy()
    layer.trainable = True
    training = np.asarray(layer(probe, training=True))
    return FrozenDemo(probe, training, inference, frozen, before, after)
