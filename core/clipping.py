"""Gradient clipping three ways (by value, by each tensor's norm, by the global norm), in numpy.

The numpy functions mirror what a Keras 3 optimizer does with `clipvalue`, `clipnorm` and
`global_clipnorm`; `keras_clipped` runs a real Keras SGD step so tests and the page can check them.
A gradient set is a list of numpy arrays, one per variable; a single array counts as a list of one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

KINDS = ("clipvalue", "clipnorm", "global_clipnorm")  # the Keras optimizer argument names


def _as_gradients(grads) -> list[np.ndarray]:
    """Validate a gradient set: a non-empty list of finite float arrays (one array = a list of one)."""
    if isinstance(grads, np.ndarray) or (isinstance(grads, Sequence) and grads
                                         and not isinstance(grads[0], (np.ndarray, list, tuple))):
        grads = [grads]
    arrays = [np.asarray(g, dtype=np.float64) for g in grads]
    if not arrays or any(a.size == 0 for a in arrays):
        raise ValueError("The gradient is empty: give at least one variable with at least one component.")
    for index, array in enumerate(arrays):
        if not np.all(np.isfinite(array)):
            where = f" (variable {index + 1})" if len(arrays) > 1 else ""
            raise ValueError(f"The gradient has a NaN or infinite component{where}; "
                             "clipping needs finite numbers.")
    return arrays


def _check_threshold(threshold: float) -> float:
    threshold = float(threshold)
    if not np.isfinite(threshold) or threshold <= 0:
        raise ValueError(f"The clipping threshold must be a positive number; got {threshold}.")
    return threshold


def clip_by_value(grads, threshold: float) -> list[np.ndarray]:
    """Clip every component to [-threshold, threshold] (Keras `clipvalue`). May turn the gradient."""
    threshold = _check_threshold(threshold)
    return [np.clip(g, -threshold, threshold) for g in _as_gradients(grads)]


def clip_by_norm(grads, threshold: float) -> list[np.ndarray]:
    """Rescale each tensor whose own L2 norm exceeds threshold down to that norm (Keras `clipnorm`)."""
    threshold = _check_threshold(threshold)
    return [g * threshold / max(float(np.linalg.norm(g)), threshold) for g in _as_gradients(grads)]


def global_norm(grads) -> float:
    """L2 norm of all components of all tensors together."""
    return float(np.sqrt(sum(float(np.sum(g * g)) for g in _as_gradients(grads))))


def clip_by_global_norm(grads, threshold: float) -> list[np.ndarray]:
    """Rescale all tensors by one factor so their joint L2 norm is at most threshold (Keras `global_clipnorm`)."""
    threshold = _check_threshold(threshold)
    arrays = _as_gradients(grads)
    scale = threshold / max(global_norm(arrays), threshold)
    return [g * scale for g in arrays]


CLIPPERS = {"clipvalue": clip_by_value, "clipnorm": clip_by_norm, "global_clipnorm": clip_by_global_norm}


def clip(grads, kind: str, threshold: float) -> list[np.ndarray]:
    """Dispatch by Keras argument name: kind is one of KINDS."""
    if kind not in CLIPPERS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}.")
    return CLIPPERS[kind](grads, threshold)


def angle_between(u, v) -> float:
    """Angle in degrees between two vectors (arrays of any shape are flattened).

    Uses 2*atan2(|a - b|, |a + b|) on the unit vectors, which stays accurate for nearly parallel
    vectors where arccos of the cosine loses all precision.
    """
    u = np.ravel(np.asarray(u, dtype=np.float64))
    v = np.ravel(np.asarray(v, dtype=np.float64))
    if u.shape != v.shape:
        raise ValueError(f"Both vectors need the same number of components; got {u.size} and {v.size}.")
    _as_gradients([u, v])
    norm_u, norm_v = np.linalg.norm(u), np.linalg.norm(v)
    if norm_u == 0 or norm_v == 0:
        raise ValueError("An all-zero vector has no direction, so there is no angle to measure.")
    a, b = u / norm_u, v / norm_v
    return float(np.degrees(2 * np.arctan2(np.linalg.norm(a - b), np.linalg.norm(a + b))))


# ---- the 2-D picture ----

@dataclass(frozen=True)
class Clipped2D:
    """One 2-D gradient and what each kind of clipping makes of it."""
    original: np.ndarray  # (2,)
    by_value: np.ndarray  # (2,)
    by_norm: np.ndarray  # (2,)
    threshold: float
    angle_by_value: float  # degrees between original and by_value
    angle_by_norm: float  # degrees between original and by_norm (0 up to rounding)

    def norm(self, which: str) -> float:
        return float(np.linalg.norm(getattr(self, which)))


def clip_2d(vector, threshold: float) -> Clipped2D:
    """Clip one 2-component gradient by value and by norm, with the direction change of each."""
    (original,) = _as_gradients([vector])
    if original.shape != (2,):
        raise ValueError(f"The picture needs a gradient with exactly 2 components; got {original.size}.")
    if not np.any(original):
        raise ValueError("The gradient is all zeros: it has no direction and nothing to clip. "
                         "Give at least one non-zero component.")
    (by_value,), (by_norm,) = clip_by_value(original, threshold), clip_by_norm(original, threshold)
    return Clipped2D(original, by_value, by_norm, float(threshold),
                     angle_between(original, by_value), angle_between(original, by_norm))


# ---- more dimensions ----

DISTRIBUTIONS = ("normal", "heavy-tailed")  # N(0, 1) components, or Student t with 3 degrees of freedom


def random_gradients(dimension: int, n_samples: int, distribution: str = "normal",
                     seed: int = 0) -> np.ndarray:
    """Random gradient vectors, shape (n_samples, dimension), components of unit scale."""
    if int(dimension) < 1:
        raise ValueError(f"The dimension must be at least 1; got {dimension}.")
    if int(n_samples) < 1:
        raise ValueError(f"Draw at least one sample; got {n_samples}.")
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {', '.join(DISTRIBUTIONS)}; got {distribution!r}.")
    rng = np.random.default_rng(seed)
    shape = (int(n_samples), int(dimension))
    return rng.standard_normal(shape) if distribution == "normal" else rng.standard_t(3, shape)


def _row_angles(original: np.ndarray, clipped: np.ndarray) -> np.ndarray:
    """Angle in degrees between matching rows, for (n, d) arrays (zero rows give 0)."""
    def unit(x):
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        return x / np.where(norms == 0, 1.0, norms)
    a, b = unit(original), unit(clipped)
    return np.degrees(2 * np.arctan2(np.linalg.norm(a - b, axis=1), np.linalg.norm(a + b, axis=1)))


@dataclass(frozen=True)
class AngleStudy:
    """Direction change of random gradients under clipping, per dimension and threshold."""
    dimensions: tuple[int, ...]
    thresholds: tuple[float, ...]
    by_value: np.ndarray  # (n_dimensions, n_thresholds, n_samples) degrees
    by_norm: np.ndarray  # (n_dimensions, n_thresholds, n_samples) degrees
    fraction_cut: np.ndarray  # (n_dimensions, n_thresholds): mean share of components clip-by-value changed


def angle_study(dimensions: Sequence[int], thresholds: Sequence[float], n_samples: int = 200,
                distribution: str = "normal", seed: int = 0) -> AngleStudy:
    """For each dimension and threshold, clip n_samples random gradients by value and by norm.

    Thresholds are in units of a typical component (the components have unit scale). Clip-by-norm
    uses the threshold times sqrt(dimension), so it actually rescales most vectors too.
    """
    dimensions = tuple(int(d) for d in dimensions)
    thresholds = tuple(_check_threshold(t) for t in thresholds)
    if not dimensions or min(dimensions) < 1:
        raise ValueError(f"Every dimension must be at least 1; got {list(dimensions)}.")
    if max(dimensions) > 10_000:
        raise ValueError(f"Dimensions above 10,000 are not offered here; got {max(dimensions)}.")
    by_value = np.zeros((len(dimensions), len(thresholds), int(n_samples)))
    by_norm = np.zeros_like(by_value)
    fraction = np.zeros((len(dimensions), len(thresholds)))
    for i, dimension in enumerate(dimensions):
        grads = random_gradients(dimension, n_samples, distribution, seed + i)
        norms = np.linalg.norm(grads, axis=1, keepdims=True)
        for j, threshold in enumerate(thresholds):
            by_value[i, j] = _row_angles(grads, np.clip(grads, -threshold, threshold))
            norm_threshold = threshold * np.sqrt(dimension)
            by_norm[i, j] = _row_angles(grads, grads * norm_threshold / np.maximum(norms, norm_threshold))
            fraction[i, j] = float(np.mean(np.abs(grads) > threshold))
    return AngleStudy(dimensions, thresholds, by_value, by_norm, fraction)


# ---- what Keras really does ----

def keras_clipped(grads, kind: str, threshold: float) -> list[np.ndarray]:
    """The gradients a real Keras 3 SGD step applies: minus the update of zero-initialised variables.

    One `keras.optimizers.SGD(learning_rate=1.0, <kind>=threshold)` step on variables that start
    at 0, so each variable's new value is exactly minus its clipped gradient.
    """
    import keras

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}.")
    arrays = _as_gradients(grads)
    threshold = _check_threshold(threshold)
    variables = [keras.Variable(np.zeros(g.shape, dtype="float32"), name=f"v{i}") for i, g in enumerate(arrays)]
    optimizer = keras.optimizers.SGD(learning_rate=1.0, **{kind: threshold})
    optimizer.apply_gradients([(keras.ops.convert_to_tensor(g.astype("float32")), v)
                               for g, v in zip(arrays, variables)])
    return [-np.asarray(v.numpy(), dtype=np.float64) for v in variables]
