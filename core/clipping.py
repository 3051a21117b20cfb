"""Gradient clipping three ways (by value, by each tensor's norm, by the global norm), in numpy.

The numpy functions mirror what a Keras 3 optimizer does with `clipvalue`, `clipnorm` and
`global_clipnorm`; `keras_clipped` runs a real Keras SGD step so tests and the page can check them.
A gradient set is a list of numpy arrays, one per variable; a single array counts as a list of one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from core.inputs import whole_number

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
    with np.errstate(over="ignore"):
        overflow = not np.isfinite(sum(float(np.sum(a * a)) for a in arrays))
    if overflow:
        raise ValueError("The gradient is too large: its norm is infinite in 64-bit floats. "
                         "Scale it down (components up to about 1e150 are fine).")
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
DIMENSION_GRID = (2, 5, 10, 30, 100, 300, 1_000, 3_000, 10_000)  # the dimensions the page's study draws
MAX_SEEDS = 10  # seeds per variant in the training experiment (each is a full run)
THRESHOLD_CHOICES = (0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)  # the page's thresholds, in units of a component


def check_dimension(dimension) -> int:
    """The study's dimension: a whole number of components, 1 to the largest of DIMENSION_GRID."""
    return whole_number(dimension, 1, DIMENSION_GRID[-1], "components",
                        "Above 10,000 the study takes too long to redraw on every change.")


def check_seed_count(n_seeds) -> int:
    """Seeds of the training experiment: 1 to MAX_SEEDS (each is one full run per variant)."""
    return whole_number(n_seeds, 1, MAX_SEEDS, "seeds", "Each seed is one full training run per variant.")


def dimension_grid(largest: int) -> tuple[int, ...]:
    """The grid dimensions below `largest`, then `largest` itself: the x axis of the page's study."""
    return tuple(sorted({d for d in DIMENSION_GRID if d < int(largest)} | {int(largest)}))


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

    @property
    def median_by_value(self) -> np.ndarray:
        """(n_dimensions, n_thresholds) median angle of clip-by-value, in degrees."""
        return np.median(self.by_value, axis=2)


def angle_study(dimensions: Sequence[int], thresholds: Sequence[float], n_samples: int = 200,
                distribution: str = "normal", seed: int = 0) -> AngleStudy:
    """For each dimension and threshold, clip n_samples random gradients by value and by norm.

    Thresholds are in units of a typical component (the components have unit scale). Clip-by-norm
    uses the threshold times sqrt(dimension), so it actually rescales most vectors too.
    The clip-by-value angle rises with the dimension at first, then levels off towards
    `limiting_angle(threshold, distribution)`: it does not keep growing.
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


def limiting_angle(threshold: float, distribution: str = "normal") -> float:
    """Degrees that clip-by-value turns a gradient of infinitely many independent components.

    The cosine of the angle between z and clip(z) is a ratio of averages over the components,
    sum(z * clip(z)) / sqrt(sum(z**2) * sum(clip(z)**2)), and by the law of large numbers each
    average settles at its expectation. So the angle levels off at
        arccos(E[Z clip(Z)] / sqrt(E[Z**2] E[clip(Z)**2]))
    instead of growing with the number of components. Components: N(0, 1) or Student t(3).
    """
    from scipy import integrate, stats

    threshold = _check_threshold(threshold)
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {', '.join(DISTRIBUTIONS)}; got {distribution!r}.")
    component = stats.norm() if distribution == "normal" else stats.t(3)
    # Symmetric components: integrate over z > 0 and double (the doubling cancels in the ratio).
    inside = integrate.quad(lambda z: z * z * component.pdf(z), 0, threshold)[0]  # E[Z^2; 0 < Z < t]
    tail_mean = integrate.quad(lambda z: z * component.pdf(z), threshold, np.inf)[0]  # E[Z; Z > t]
    tail_share = float(component.sf(threshold))  # P(Z > t)
    cross = inside + threshold * tail_mean
    clipped_square = inside + threshold ** 2 * tail_share
    cosine = cross / np.sqrt(component.var() / 2 * clipped_square)
    return float(np.degrees(np.arccos(min(1.0, cosine))))


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


# ---- clipping in training: a ReLU RNN on the adding problem, where gradients really explode ----

VARIANTS = ("none", "clipvalue", "clipnorm", "global_clipnorm")  # "none" = no clipping argument
VARIANT_NAMES = {"none": "no clipping", "clipvalue": "clipvalue", "clipnorm": "clipnorm",
                 "global_clipnorm": "global_clipnorm"}  # what pages, figures and progress messages call them


@dataclass(frozen=True)
class TrainingConfig:
    """One clipping experiment: every variant trained from the same initial weights, per seed."""
    threshold: float = 1.0  # the clip threshold, the same number for every clipping variant
    variants: tuple[str, ...] = VARIANTS  # which optimizers to compare (see VARIANTS)
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)  # one run per seed and variant; a seed fixes weights and batch order
    sequence_length: int = 10  # adding-problem length (marked numbers in opposite halves); 10 fits 30 s on 2 cores
    units: int = 32  # units of the ReLU SimpleRNN (identity recurrent init, as in Le et al.'s IRNN)
    learning_rate: float = 0.05  # plain SGD, deliberately high: without clipping most runs blow up
    batch_size: int = 32  # sequences per step
    steps: int = 300  # optimizer steps per run
    eval_every: int = 25  # steps between validation measurements
    n_train: int = 4096  # training sequences (drawn once, shared by all runs)
    n_valid: int = 512  # validation sequences (the score to pick a variant on)
    data_seed: int = 1234  # seed of the synthetic data set

    @classmethod
    def tiny(cls, **overrides) -> "TrainingConfig":
        """A run of a few seconds for tests and the browser test."""
        values = dict(seeds=(0, 1), sequence_length=10, units=8, steps=20, eval_every=10,
                      n_train=256, n_valid=64)
        values.update(overrides)
        return cls(**values)

    def validate(self) -> "TrainingConfig":
        _check_threshold(self.threshold)
        unknown = [v for v in self.variants if v not in VARIANTS]
        if not self.variants:
            raise ValueError(f"No variants selected: pick at least one of {', '.join(VARIANT_NAMES.values())}.")
        if unknown:
            raise ValueError(f"Unknown variant {unknown[0]!r}: pick among {', '.join(VARIANTS)}.")
        if not self.seeds:
            raise ValueError("Pick at least one seed.")
        for name in ("sequence_length", "units", "batch_size", "steps", "eval_every", "n_train", "n_valid"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name.replace('_', ' ')} must be at least 1; got {getattr(self, name)}.")
        if self.sequence_length < 2:
            raise ValueError("The adding problem needs sequences of at least 2 steps.")
        if not (np.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(f"The learning rate must be positive; got {self.learning_rate}.")
        return self


def adding_problem(n_sequences: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Hochreiter's adding problem. x: (n, length, 2) = (random number, marker); y: (n, 1) = sum of marked.

    One marker falls in the first half and one in the second, so the net must carry a number
    across at least length/2 steps. Predicting the mean (1.0) scores an MSE of about 1/6.
    """
    rng = np.random.default_rng(seed)
    x = np.zeros((n_sequences, length, 2), dtype=np.float32)
    x[:, :, 0] = rng.random((n_sequences, length))
    half = length // 2
    rows = np.arange(n_sequences)
    x[rows, rng.integers(0, half, n_sequences), 1] = 1.0
    x[rows, rng.integers(half, length, n_sequences), 1] = 1.0
    y = (x[:, :, 0] * x[:, :, 1]).sum(axis=1, keepdims=True)
    return x, y.astype(np.float32)


def build_rnn(config: TrainingConfig, seed: int):
    """ReLU SimpleRNN (identity recurrent init) -> Dense(1). Same seed, same initial weights."""
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((config.sequence_length, 2)),
        keras.layers.SimpleRNN(config.units, activation="relu", recurrent_initializer="identity", unroll=True),
        keras.layers.Dense(1),
    ])


def make_optimizer(variant: str, config: TrainingConfig):
    """A real Keras SGD with the variant's clipping argument (none for "none")."""
    import keras

    clip_argument = {} if variant == "none" else {variant: config.threshold}
    return keras.optimizers.SGD(learning_rate=config.learning_rate, **clip_argument)


def make_train_step(model, optimizer):
    """One step: MSE loss, pre-clip gradient statistics, then the optimizer's own (clipped) update.

    Returns (loss, global norm, largest per-variable norm, largest |component|), all measured
    before clipping, so the caller can tell whether the optimizer's clipping changed the gradient.
    """
    import tensorflow as tf

    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x, training=True) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        variable_norms = tf.stack([tf.norm(g) for g in grads])
        largest = tf.reduce_max(tf.stack([tf.reduce_max(tf.abs(g)) for g in grads]))
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return tf.stack([loss, tf.norm(variable_norms), tf.reduce_max(variable_norms), largest])

    return step


def make_train_chunk(model, optimizer):
    """Several steps in one compiled call (x: (k, batch, length, 2)), returning (k, 4) statistics.

    Running a chunk of steps inside one tf.function keeps Python out of the inner loop.
    """
    import tensorflow as tf

    step = make_train_step(model, optimizer)

    @tf.function(reduce_retracing=True)
    def chunk(x, y):
        statistics = tf.TensorArray(tf.float32, size=tf.shape(x)[0])
        for i in tf.range(tf.shape(x)[0]):
            statistics = statistics.write(i, step(x[i], y[i]))
        return statistics.stack()

    return chunk


def was_clipped(variant: str, threshold: float, global_norm_: np.ndarray, variable_norm: np.ndarray,
                largest_component: np.ndarray) -> np.ndarray:
    """Whether the variant's clipping changed the gradient, from pre-clip statistics (arrays of steps)."""
    if variant == "clipvalue":
        return largest_component > threshold
    if variant == "clipnorm":
        return variable_norm > threshold
    if variant == "global_clipnorm":
        return global_norm_ > threshold
    return np.zeros_like(global_norm_, dtype=bool)


@dataclass(frozen=True)
class TrainingResult:
    """Curves per variant and seed. NaN marks steps after a run diverged (its loss became inf/NaN)."""
    config: TrainingConfig
    train_loss: np.ndarray  # (n_variants, n_seeds, steps) batch MSE
    grad_norm: np.ndarray  # (n_variants, n_seeds, steps) global gradient norm before clipping
    clipped: np.ndarray  # (n_variants, n_seeds, steps) bool: the optimizer's clipping changed the gradient
    eval_steps: np.ndarray  # (n_evals,) step numbers of validation measurements
    valid_loss: np.ndarray  # (n_variants, n_seeds, n_evals) validation MSE
    baseline_mse: float  # validation MSE of always predicting the training mean
    seconds: float  # wall time of the whole experiment

    @property
    def final_valid(self) -> np.ndarray:
        """(n_variants, n_seeds) final validation MSE; inf for runs that diverged."""
        final = self.valid_loss[:, :, -1]
        return np.where(np.isfinite(final), final, np.inf)

    @property
    def diverged(self) -> np.ndarray:
        """(n_variants, n_seeds) True when the run's loss became inf or NaN."""
        return ~np.isfinite(self.valid_loss[:, :, -1])

    def clipped_fraction(self) -> np.ndarray:
        """(n_variants, n_seeds) share of the steps actually taken where clipping changed the gradient."""
        taken = np.isfinite(self.grad_norm)
        return (self.clipped & taken).sum(axis=2) / np.maximum(taken.sum(axis=2), 1)


def train_with_clipping(config: TrainingConfig, progress=None) -> TrainingResult:
    """Train every (variant, seed) with real Keras SGD optimizers; progress(done, total, message).

    Each variant's model and step function are built and compiled once and re-initialised per seed,
    so the same seed starts every variant from the same weights and sees the same batches.
    """
    import time

    from core.progress import report

    config.validate()
    start = time.perf_counter()
    x_train, y_train = adding_problem(config.n_train, config.sequence_length, config.data_seed)
    x_valid, y_valid = adding_problem(config.n_valid, config.sequence_length, config.data_seed + 1)
    baseline = float(np.mean((y_valid - y_train.mean()) ** 2))
    shape = (len(config.variants), len(config.seeds), config.steps)
    train_loss, grad_norm = np.full(shape, np.nan), np.full(shape, np.nan)
    variable_norm, largest = np.full(shape, np.nan), np.full(shape, np.nan)
    eval_steps = np.unique(np.r_[np.arange(config.eval_every, config.steps, config.eval_every), config.steps])
    valid_loss = np.full((len(config.variants), len(config.seeds), len(eval_steps)), np.nan)
    initial_weights = [build_rnn(config, seed).get_weights() for seed in config.seeds]
    runs = len(config.variants) * len(config.seeds)
    total, done = runs * len(eval_steps), 0  # one step of the bar per stretch between evaluations
    for v, variant in enumerate(config.variants):
        report(progress, done, total, f"{VARIANT_NAMES[variant]}: building its training step")
        model = build_rnn(config, config.seeds[0])
        chunk = make_train_chunk(model, make_optimizer(variant, config))
        for s, seed in enumerate(config.seeds):
            run = f"run {v * len(config.seeds) + s + 1}/{runs}: {VARIANT_NAMES[variant]}, seed {seed}"
            model.set_weights(initial_weights[s])
            batches = np.stack(_batch_indices(config, np.random.default_rng(seed).permutation))
            first = 0
            for e, last in enumerate(eval_steps):
                index = batches[first:last]
                statistics = chunk(x_train[index], y_train[index]).numpy().astype(np.float64)
                finite = np.all(np.isfinite(statistics), axis=1)
                kept = len(statistics) if finite.all() else int(np.argmin(finite)) + 1
                train_loss[v, s, first:first + kept], grad_norm[v, s, first:first + kept] = statistics[:kept, :2].T
                variable_norm[v, s, first:first + kept], largest[v, s, first:first + kept] = statistics[:kept, 2:].T
                if kept < len(statistics):
                    break  # diverged: the weights are now inf/NaN, nothing more to learn
                prediction = model.predict_on_batch(x_valid)
                valid_loss[v, s, e] = float(np.mean((prediction - y_valid) ** 2))
                first = last
                report(progress, done + e + 1, total, f"{run}, step {last}/{config.steps}")
            done += len(eval_steps)
            report(progress, done, total, f"{run}, finished" + (" (diverged)" if kept < len(statistics) else ""))
    clipped = np.stack([was_clipped(variant, config.threshold, grad_norm[v], variable_norm[v], largest[v])
                        for v, variant in enumerate(config.variants)])
    return TrainingResult(config, train_loss, grad_norm, clipped, eval_steps, valid_loss, baseline,
                          time.perf_counter() - start)


def _batch_indices(config: TrainingConfig, permutation) -> list[np.ndarray]:
    """The batches of one run: reshuffle each epoch with the run's own generator."""
    batches: list[np.ndarray] = []
    while len(batches) < config.steps:
        order = permutation(config.n_train)
        batches += [order[i:i + config.batch_size] for i in range(0, config.n_train - config.batch_size + 1,
                                                                 config.batch_size)] or [order]
    return batches[:config.steps]
