"""Moving statistics: what a BN layer's moving mean and variance hold after each training step, for a stream of
Fashion-MNIST pixels or a synthetic stream whose mean jumps, and how far inference drifts from the population.
Shapes: batches `(n_steps, batch_size, n_features)`, per-step statistics `(n_steps, n_features)`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from core.batchnorm.axis import KERAS_EPSILON, check_epsilon
from core.progress import report

KERAS_MOMENTUM = 0.99  # Keras 3 default
MOMENTUM_PRESETS = (0.9, 0.99, 0.999)  # the chapter's typical values
MAX_BATCH_SIZE = 1024
SOURCES = ("fashion", "shift")  # Fashion-MNIST pixels, or a synthetic stream whose mean jumps halfway
# The pixels a momentum stream follows: the image centre first (the one plotted), then seven others.
STREAM_PIXELS = ((14, 14), (7, 7), (7, 21), (21, 7), (21, 21), (14, 4), (14, 24), (4, 14))
# Synthetic source: Gaussian features with this mean and std, the mean jumping by SHIFT halfway.
SYNTHETIC_MEAN, SYNTHETIC_STD, SYNTHETIC_SHIFT = 3.0, 2.0, 4.0


def check_momentum(momentum) -> float:
    """Momentum must be in [0, 1): at 1 the moving statistics would never move."""
    try:
        value = float(momentum)
    except (TypeError, ValueError):
        raise ValueError(f"Momentum must be a number between 0 and 1 (1 excluded); got {momentum!r}.") from None
    if not 0.0 <= value < 1.0:
        raise ValueError(
            f"Momentum must be at least 0 and below 1; got {value:g}. "
            "At 1 the moving statistics would never change; above 1 or below 0 they would blow up or flip sign."
        )
    return value


def check_batch_size(batch_size, maximum: int = MAX_BATCH_SIZE) -> int:
    """A batch holds 1..maximum examples."""
    try:
        whole = not isinstance(batch_size, bool) and int(batch_size) == batch_size
    except (TypeError, ValueError, OverflowError):
        whole = False
    if not whole:
        raise ValueError(f"Batch size must be a whole number; got {batch_size!r}.")
    if int(batch_size) < 1:
        raise ValueError(f"Batch size must be between 1 and {maximum:,}; got {int(batch_size):,}. "
                         "A batch needs at least one example to compute statistics from.")
    if int(batch_size) > maximum:
        raise ValueError(f"Batch size must be between 1 and {maximum:,}; got {int(batch_size):,}. "
                         f"The simulations here draw at most {maximum:,} examples per batch.")
    return int(batch_size)


def effective_window(momentum: float) -> float:
    """Rule of thumb: the moving average mostly remembers the last 1 / (1 - momentum) batches."""
    return 1.0 / (1.0 - check_momentum(momentum))


class MovingStats(NamedTuple):
    moving_mean: np.ndarray  # (n_steps, n_features): after each step
    moving_variance: np.ndarray  # (n_steps, n_features)


def batch_moments(batches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-step batch mean and variance, (n_steps, n_features) each.

    The variance is the biased one (divide by batch size), which is what Keras 3 puts in the moving
    variance (it calls ops.moments); tests check that against the real layer.
    """
    batches = np.asarray(batches, dtype=np.float64)
    if batches.ndim != 3 or 0 in batches.shape:
        raise ValueError(f"Batches must be shaped (n_steps, batch_size, n_features), all non-empty; "
                         f"got shape {batches.shape}.")
    mean = batches.mean(axis=1)
    variance = np.mean((batches - mean[:, None, :]) ** 2, axis=1)
    return mean, variance


def exponential_average(values: np.ndarray, momentum: float, initial) -> np.ndarray:
    """moving <- moving * momentum + value * (1 - momentum) along axis 0, starting from `initial`.

    values: (n_steps, ...); initial broadcasts to values[0]. Returns the moving value after each step.
    Vectorised in blocks: inside a block of k steps, moving_k = m**(k+1) * start + (1 - m) * m**k *
    cumsum(values_j / m**j), with blocks short enough that 1 / m**j stays below 1e100. (scipy's lfilter
    does the same recursion, but importing scipy.signal costs seconds on a page's first paint.)
    """
    momentum = check_momentum(momentum)
    values = np.asarray(values, dtype=np.float64)
    state = np.broadcast_to(np.asarray(initial, dtype=np.float64), values.shape[1:]).copy()
    if momentum == 0.0:
        return values.copy()
    block = max(1, int(100 / -np.log10(momentum)))
    moving = np.empty_like(values)
    for begin in range(0, len(values), block):
        chunk = values[begin:begin + block]
        powers = (momentum ** np.arange(len(chunk))).reshape(-1, *[1] * (values.ndim - 1))
        sums = np.cumsum(chunk / powers, axis=0)
        moving[begin:begin + block] = momentum * powers * state + (1.0 - momentum) * powers * sums
        state = moving[begin + len(chunk) - 1]
    return moving


def exponential_average_last(values: np.ndarray, momenta, initial) -> np.ndarray:
    """The last row of exponential_average for several momenta at once, in closed form.

    After T steps: momentum**T * initial + sum_t (1 - momentum) * momentum**(T - 1 - t) * values[t].
    values: (n_steps, n_features). Returns (len(momenta), n_features).
    """
    values = np.asarray(values, dtype=np.float64)
    momenta = np.array([check_momentum(m) for m in momenta])
    age = np.arange(len(values) - 1, -1, -1)  # steps since each value was seen
    weights = (1.0 - momenta[:, None]) * momenta[:, None] ** age[None]  # (n_momenta, n_steps)
    return momenta[:, None] ** len(values) * np.asarray(initial, dtype=np.float64) + weights @ values


def moving_stats_trajectory(batches, momentum: float, epsilon: float = KERAS_EPSILON) -> MovingStats:
    """What a Keras BN layer's moving_mean / moving_variance hold after each training step.

    batches: (n_steps, batch_size, n_features), fed one per step with training=True. Starts from Keras's
    initial values (moving mean 0, moving variance 1). epsilon does not enter the update (it only
    guards the division when normalising) but is validated so callers pass the layer's settings.
    """
    momentum = check_momentum(momentum)
    check_epsilon(epsilon)
    mean, variance = batch_moments(batches)
    return MovingStats(exponential_average(mean, momentum, 0.0), exponential_average(variance, momentum, 1.0))


@dataclass(frozen=True)
class StreamConfig:
    source: str = "fashion"  # "fashion" (pixels of the book's 55,000 training images) or "shift"
    batch_size: int = 32  # examples per training step
    n_steps: int = 2000  # training steps (batches) in the stream
    seed: int = 42  # random state of the sampling

    @staticmethod
    def tiny() -> "StreamConfig":
        return StreamConfig(n_steps=300)


@dataclass(frozen=True)
class Stream:
    batches: np.ndarray  # (n_steps, batch_size, n_features) float32
    true_mean: np.ndarray  # (n_steps, n_features): population mean while each batch was drawn
    true_variance: np.ndarray  # (n_steps, n_features): population variance (biased, of the pool)


def pixel_pool(x_train: np.ndarray, pixels=STREAM_PIXELS) -> np.ndarray:
    """The book's training images (first 5,000 are validation) at a few pixels, scaled to [0, 1].

    x_train: (60000, 28, 28) uint8 as loaded. Returns (55000, len(pixels)) float32.
    """
    rows, cols = zip(*pixels)
    return x_train[5000:, list(rows), list(cols)].astype(np.float32) / 255.0


def sample_stream(config: StreamConfig, pool: np.ndarray | None = None, n_features: int | None = None) -> Stream:
    """Draw the batches one training run would feed a BN layer, with the population statistics.

    "fashion" samples rows of `pool` (n_images, n_features) with replacement; "shift" draws Gaussian
    features whose mean jumps by SYNTHETIC_SHIFT after half the steps.
    """
    if config.source not in SOURCES:
        raise ValueError(f"Data source must be one of {', '.join(SOURCES)}; got {config.source!r}.")
    batch_size = check_batch_size(config.batch_size)
    if config.n_steps < 1:
        raise ValueError(f"The stream needs at least one step; got {config.n_steps}.")
    rng = np.random.default_rng(config.seed)
    shape = (config.n_steps, batch_size)
    if config.source == "fashion":
        if pool is None:
            raise ValueError("The Fashion-MNIST source needs the pixel pool (see pixel_pool).")
        pool = pool if n_features is None else pool[:, :n_features]
        batches = pool[rng.integers(0, len(pool), size=shape)]
        mean, variance = pool.mean(axis=0, dtype=np.float64), pool.var(axis=0, dtype=np.float64)
        true_mean = np.broadcast_to(mean, (config.n_steps, pool.shape[1]))
        true_variance = np.broadcast_to(variance, true_mean.shape)
    else:
        n_features = n_features or 1
        shift = np.where(np.arange(config.n_steps) >= config.n_steps // 2, SYNTHETIC_SHIFT, 0.0)
        true_mean = np.repeat((SYNTHETIC_MEAN + shift)[:, None], n_features, axis=1)
        true_variance = np.full_like(true_mean, SYNTHETIC_STD ** 2)
        noise = rng.standard_normal((*shape, n_features), dtype=np.float32)
        batches = true_mean[:, None, :].astype(np.float32) + SYNTHETIC_STD * noise
    return Stream(batches.astype(np.float32, copy=False), np.asarray(true_mean), np.asarray(true_variance))


def inference_output_error(moving_mean, moving_variance, true_mean, true_variance,
                           epsilon: float = KERAS_EPSILON) -> np.ndarray:
    """RMS gap between inference outputs with the moving statistics and with exact population ones.

    For x drawn from the population (mean mu, variance s2), the layer outputs (x - m) / sqrt(v + eps) at
    inference; ideal is (x - mu) / sqrt(s2 + eps). The mean squared gap is
    ((mu - m) / sqrt(v + eps))^2 + s2 * (1 / sqrt(v + eps) - 1 / sqrt(s2 + eps))^2, in units of the
    normalised output (0 = perfect, 1 = as large as the signal). Averaged over the last axis.
    """
    check_epsilon(epsilon)
    moving_mean, moving_variance, true_mean, true_variance = (
        np.asarray(a, dtype=np.float64) for a in (moving_mean, moving_variance, true_mean, true_variance))
    scale = 1.0 / np.sqrt(moving_variance + epsilon)
    ideal_scale = 1.0 / np.sqrt(true_variance + epsilon)
    squared = ((true_mean - moving_mean) * scale) ** 2 + true_variance * (scale - ideal_scale) ** 2
    return np.sqrt(squared.mean(axis=-1))


@dataclass(frozen=True)
class HeatmapConfig:
    source: str = "fashion"  # as in StreamConfig
    n_examples: int = 55_000  # training examples seen (one epoch of the book's training set)
    momenta: tuple = (0.9, 0.95, 0.99, 0.995, 0.999, 0.9995)  # heatmap rows
    batch_sizes: tuple = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)  # heatmap columns
    n_repeats: int = 3  # independent streams averaged per cell
    seed: int = 42

    @staticmethod
    def tiny() -> "HeatmapConfig":
        return HeatmapConfig(n_examples=5_000, momenta=(0.9, 0.99, 0.999), batch_sizes=(1, 8, 64, 512),
                             n_repeats=1)


def final_error_column(config: HeatmapConfig, batch_size: int, pool: np.ndarray | None = None) -> np.ndarray:
    """One heatmap column: the error for every momentum at one batch size, (len(momenta),)."""
    momenta = [check_momentum(m) for m in config.momenta]
    n_steps = max(config.n_examples // check_batch_size(batch_size), 1)
    errors = np.zeros(len(momenta))
    for repeat in range(config.n_repeats):
        stream = sample_stream(StreamConfig(config.source, batch_size, n_steps, config.seed + repeat), pool)
        mean, variance = batch_moments(stream.batches)
        moving_mean = exponential_average_last(mean, momenta, 0.0)
        moving_variance = exponential_average_last(variance, momenta, 1.0)
        errors += inference_output_error(moving_mean, moving_variance, stream.true_mean[-1], stream.true_variance[-1])
    return errors / config.n_repeats


def final_error_grid(config: HeatmapConfig, pool: np.ndarray | None = None, progress=None) -> np.ndarray:
    """Inference-output error after one pass over n_examples, per (momentum, batch size).

    Returns (len(momenta), len(batch_sizes)): the mean over repeats of inference_output_error at the
    last step, against the population in force at the end of the stream.
    """
    columns = []
    for index, batch_size in enumerate(config.batch_sizes):
        report(progress, index, len(config.batch_sizes), f"batch size {batch_size}")
        columns.append(final_error_column(config, batch_size, pool))
    report(progress, len(config.batch_sizes), len(config.batch_sizes), "done")
    return np.stack(columns, axis=1)
