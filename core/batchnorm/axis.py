"""Which cells of a batch share one mean and std (BN's axis), the parameter shapes and counts that follow, and
BN's arithmetic in numpy (training mode with the batch's statistics, inference mode with given ones)."""

from __future__ import annotations

import ast
from dataclasses import dataclass

import numpy as np

KERAS_EPSILON = 1e-3  # Keras 3 default


def check_epsilon(epsilon) -> float:
    if not float(epsilon) > 0:
        raise ValueError(f"Epsilon must be a small positive number (Keras uses 1e-3); got {epsilon!r}.")
    return float(epsilon)


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
