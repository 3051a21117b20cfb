"""Batch Normalization, made visible: moving statistics, axes, parameter accounting, training vs inference.

Every numpy function here re-implements one thing a real `keras.layers.BatchNormalization` does, and
tests/test_batchnorm.py checks it against the real layer, so pages can draw curves without paying for
Keras on every rerun. Functions that need Keras import it inside (module import stays fast).

Shapes: a stream of training batches is `(n_steps, batch_size, n_features)`; per-step statistics are
`(n_steps, n_features)`; a batch of images is `(batch, 28, 28)`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from core.batchnorm_fold import fold_batchnorm  # noqa: F401  (BN folded into Dense layers for inference)
from core.progress import report

KERAS_MOMENTUM = 0.99  # Keras 3 default
KERAS_EPSILON = 1e-3  # Keras 3 default
MOMENTUM_PRESETS = (0.9, 0.99, 0.999)  # the chapter's typical values
MAX_BATCH_SIZE = 1024
SOURCES = ("fashion", "shift")  # Fashion-MNIST pixels, or a synthetic stream whose mean jumps halfway
# The pixels a momentum stream follows: the image centre first (the one plotted), then seven others.
STREAM_PIXELS = ((14, 14), (7, 7), (7, 21), (21, 7), (21, 21), (14, 4), (14, 24), (4, 14))
# Synthetic source: Gaussian features with this mean and std, the mean jumping by SHIFT halfway.
SYNTHETIC_MEAN, SYNTHETIC_STD, SYNTHETIC_SHIFT = 3.0, 2.0, 4.0


# ---- validation -----------------------------------------------------------------------------------

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


def check_epsilon(epsilon) -> float:
    if not float(epsilon) > 0:
        raise ValueError(f"Epsilon must be a small positive number (Keras uses 1e-3); got {epsilon!r}.")
    return float(epsilon)


def effective_window(momentum: float) -> float:
    """Rule of thumb: the moving average mostly remembers the last 1 / (1 - momentum) batches."""
    return 1.0 / (1.0 - check_momentum(momentum))


# ---- 1. momentum: moving statistics ------------------------------------------------------------

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


# ---- 2. axis: which cells share one mean and std ---------------------------------------------

def parse_axis(text) -> int | tuple[int, ...]:
    """Read an axis typed by a user: "-1", "1", "[1, 2]" or "(1, 2)"."""
    if isinstance(text, (int, np.integer)) and not isinstance(text, bool):
        return int(text)
    if isinstance(text, (list, tuple)):
        return tuple(parse_axis(item) for item in text)
    try:
        value = ast.literal_eval(str(text).strip())
    except (ValueError, SyntaxError):
        raise ValueError(f"An axis is a whole number like -1 or 1, or a list like [1, 2]; got {text!r}.") from None
    if isinstance(value, bool) or not isinstance(value, (int, list, tuple)):
        raise ValueError(f"An axis is a whole number like -1 or 1, or a list like [1, 2]; got {text!r}.")
    return parse_axis(value)


def normalized_axes(input_shape, axis) -> tuple[int, ...]:
    """The feature axes BN keeps, as positive indices into input_shape (which includes the batch axis)."""
    ndim = len(input_shape)
    axes = parse_axis(axis)
    axes = (axes,) if isinstance(axes, int) else axes
    if not axes:
        raise ValueError("Give at least one axis.")
    valid = ", ".join(str(a) for a in [*range(1, ndim), *range(-(ndim - 1), 0)])
    result = []
    for original in axes:
        if not -ndim <= original < ndim:
            raise ValueError(f"Axis {original} does not exist for a batch shaped {_shape_text(input_shape)}: "
                             f"valid axes are {valid}.")
        positive = original % ndim
        if positive == 0:
            raise ValueError(f"Axis {original} is the batch axis of {_shape_text(input_shape)}. Batch "
                             "Normalization averages over the batch, so the axis kept must be a feature "
                             f"axis: {valid}.")
        if positive in result:
            raise ValueError(f"Axis {original} is listed twice.")
        result.append(positive)
    return tuple(sorted(result))


def _shape_text(input_shape) -> str:
    return "[" + ", ".join("batch" if i == 0 else str(size) for i, size in enumerate(input_shape)) + "]"


def bn_parameter_shape(input_shape, axis=-1) -> tuple[int, ...]:
    """Shape of gamma (= beta, moving mean, moving variance): one entry per cell of the kept axes.

    input_shape includes the batch axis (its size is ignored): (None, 28, 28) with axis=-1 gives (28,),
    with axis=[1, 2] gives (28, 28) (the book's tf.keras meaning; Keras 3 takes one int axis only).
    """
    return tuple(int(input_shape[a]) for a in normalized_axes(input_shape, axis))


@dataclass(frozen=True)
class ParameterCount:
    scale: int  # gamma entries (trainable)
    offset: int  # beta entries (trainable)
    moving: int  # moving mean + moving variance entries (non-trainable)

    @property
    def total(self) -> int:
        return self.scale + self.offset + self.moving


def bn_parameter_count(input_shape, axis=-1) -> ParameterCount:
    cells = int(np.prod(bn_parameter_shape(input_shape, axis)))
    return ParameterCount(scale=cells, offset=cells, moving=2 * cells)


def reduction_axes(ndim: int, kept: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(a for a in range(ndim) if a not in kept)


def batch_statistics(x: np.ndarray, axis=-1) -> tuple[np.ndarray, np.ndarray]:
    """Batch mean and (biased) variance, each shaped bn_parameter_shape(x.shape, axis)."""
    x = np.asarray(x, dtype=np.float64)
    kept = normalized_axes(x.shape, axis)
    over = reduction_axes(x.ndim, kept)
    return x.mean(axis=over), x.var(axis=over)


def _broadcastable(stat: np.ndarray, ndim: int, kept: tuple[int, ...]) -> np.ndarray:
    shape = [1] * ndim
    for a, size in zip(kept, stat.shape):
        shape[a] = size
    return stat.reshape(shape)


def batch_normalize(x: np.ndarray, axis=-1, epsilon: float = KERAS_EPSILON, mean=None, variance=None,
                    gamma=1.0, beta=0.0) -> np.ndarray:
    """BN's output: (x - mean) / sqrt(variance + eps) * gamma + beta, per cell of the kept axes.

    Training mode when mean/variance are None (the batch's own statistics), inference mode when the
    moving statistics are passed. Same shape as x.
    """
    check_epsilon(epsilon)
    x = np.asarray(x, dtype=np.float64)
    kept = normalized_axes(x.shape, axis)
    if mean is None or variance is None:
        mean, variance = batch_statistics(x, kept)
    mean, variance, gamma, beta = (
        _broadcastable(np.broadcast_to(np.asarray(v, dtype=np.float64), bn_parameter_shape(x.shape, kept)),
                       x.ndim, kept) for v in (mean, variance, gamma, beta))
    return (x - mean) / np.sqrt(variance + epsilon) * gamma + beta


def group_map(image_shape=(28, 28), axis=-1, *, flattened: bool = False) -> np.ndarray:
    """Which pixels of one image share a mean and std: an int group id per pixel, shaped image_shape.

    flattened=True is BN after Flatten (batch [batch, 784]): every pixel is its own feature, whatever
    the axis (which must then exist for a 2-D batch).
    """
    n_pixels = int(np.prod(image_shape))
    if flattened:
        normalized_axes((None, n_pixels), axis)
        return np.arange(n_pixels).reshape(image_shape)
    input_shape = (None, *image_shape)
    kept = normalized_axes(input_shape, axis)
    indices = np.indices(image_shape)  # (ndim - 1, *image_shape)
    groups = np.zeros(image_shape, dtype=int)
    for a in kept:
        groups = groups * image_shape[a - 1] + indices[a - 1]
    return groups


def normalize_images(images: np.ndarray, axis=-1, *, flattened: bool = False,
                     epsilon: float = KERAS_EPSILON) -> tuple[np.ndarray, np.ndarray]:
    """Training-mode BN of a batch of images, placed before Flatten or (flattened=True) after it.

    images: (batch, height, width). Returns (normalised images (batch, height, width), the batch mean of
    each pixel's group drawn as an image (height, width)).
    """
    images = np.asarray(images, dtype=np.float64)
    x = images.reshape(len(images), -1) if flattened else images
    kept = normalized_axes(x.shape, axis)
    mean, _ = batch_statistics(x, kept)
    normalised = batch_normalize(x, kept, epsilon).reshape(images.shape)
    mean_image = np.broadcast_to(_broadcastable(mean, x.ndim, kept), (1, *x.shape[1:]))[0]
    return normalised, mean_image.reshape(images.shape[1:])


# ---- 3. parameters of the book's model ---------------------------------------------------------

@dataclass(frozen=True)
class LayerRow:
    name: str  # Keras layer name
    kind: str  # class name, e.g. "BatchNormalization"
    output_shape: str  # e.g. "(None, 300)"
    params: int
    trainable: int
    non_trainable: int


@dataclass(frozen=True)
class VariableRow:
    layer: str  # the BN layer's name
    variable: str  # Keras 3 variable name, e.g. "gamma"
    path: str  # variable.path
    size: int
    trainable: bool


@dataclass(frozen=True)
class ParameterSummary:
    model_name: str
    layers: tuple[LayerRow, ...]
    bn_variables: tuple[VariableRow, ...]
    total: int
    trainable: int
    non_trainable: int


def parameter_summary(batch_norm: str = "after", seed: int = 42) -> ParameterSummary:
    """Per-layer and per-BN-variable parameter accounting of the book's BN model, from the live Keras model."""
    from core import models

    model = models.book_bn_model(batch_norm, seed=seed)

    def size(variables) -> int:
        return sum(int(np.prod(v.shape)) for v in variables)

    layers = tuple(
        LayerRow(layer.name, type(layer).__name__, str(tuple(layer.output.shape)), layer.count_params(),
                 size(layer.trainable_weights), size(layer.non_trainable_weights))
        for layer in model.layers)
    bn_variables = tuple(
        VariableRow(layer.name, variable.name, variable.path, int(np.prod(variable.shape)), variable.trainable)
        for layer in model.layers if type(layer).__name__ == "BatchNormalization" for variable in layer.weights)
    return ParameterSummary(model.name, layers, bn_variables, model.count_params(),
                            size(model.trainable_weights), size(model.non_trainable_weights))


# ---- 4. training vs inference ------------------------------------------------------------------

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
