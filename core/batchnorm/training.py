"""The four experiments behind the "BN in training" page, each a pure function of a frozen config: gradient
norms and learning curves of a deep saturating MLP (`vanishing_gradients`), learning rate x initialiser
(`lr_sweep`), BN placement against epochs and seconds (`placement_runs`), and prediction time with BN folded
away (`inference_latency`)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from core.batchnorm.fold import fold_batchnorm
from core.batchnorm.seed_runs import (
    SeedRuns,
    TrainConfig,
    check_depth,
    check_learning_rate,
    check_seeds,
    check_sizes,
    initial_weights,
    keras_seeds,
    train_seeds,
)
from core.inputs import whole_number
from core.progress import ProgressCallback, parts, report

MAX_EPOCHS = 30  # cap on epochs of the placement experiment (each seed and placement is its own Keras fit)
MAX_REPEATS = 500  # cap on timed predict calls per batch size
SATURATING_ACTIVATIONS = ("sigmoid", "tanh")  # Keras's name for the logistic function is "sigmoid"
INITIALIZERS = ("glorot_uniform", "he_normal", "random_normal")  # Keras RandomNormal: stddev 0.05
PLACEMENTS = ("after", "before", "none")
BATCH_SIZES = (1, 32, 1024)


def check_epochs(epochs: int) -> int:
    return whole_number(epochs, 1, MAX_EPOCHS, "epochs", "Each seed and placement is its own timed Keras fit.")


def check_repeats(repeats: int) -> int:
    return whole_number(repeats, 3, MAX_REPEATS, "timed calls", "The median needs a few; more only takes longer.")


# ---- 1. vanishing gradients -------------------------------------------------------------------

@dataclass(frozen=True)
class VanishingConfig:
    depth: int = 10  # hidden layers
    units: int = 100  # units per hidden layer
    activation: str = "sigmoid"  # saturating activation: "sigmoid" (logistic) or "tanh"
    initializer: str = "glorot_uniform"  # Keras's default
    learning_rate: float = 0.01  # SGD
    epochs: int = 4  # enough for the BN net to leave its plateau
    batch_size: int = 32
    n_train: int = 5000  # first n of the book's training images
    n_valid: int = 1000  # first n of the book's validation images
    n_seeds: int = 5  # independent runs (initial weights and shuffling), stacked in one graph per variant

    def __post_init__(self):
        check_depth(self.depth)
        check_seeds(self.n_seeds)
        check_learning_rate(self.learning_rate)
        check_sizes(self.epochs, self.batch_size, self.n_train, self.n_valid)
        if self.activation not in SATURATING_ACTIVATIONS:
            raise ValueError(f"This experiment is about saturating activations: choose one of "
                             f"{', '.join(SATURATING_ACTIVATIONS)}; got {self.activation!r}.")

    @classmethod
    def tiny(cls) -> "VanishingConfig":
        return cls(depth=4, units=16, epochs=2, batch_size=64, n_train=256, n_valid=128, n_seeds=1)

    def train_config(self, batch_norm: str) -> TrainConfig:
        return TrainConfig(hidden_units=(self.units,) * self.depth, activation=self.activation,
                           initializer=self.initializer, batch_norm=batch_norm,
                           input_batch_norm=batch_norm != "none", learning_rate=self.learning_rate,
                           epochs=self.epochs, batch_size=self.batch_size, n_train=self.n_train,
                           n_valid=self.n_valid)


@dataclass(frozen=True)
class VanishingResult:
    gradient_norms: dict  # batch_norm ("none"/"after") -> (n_seeds, n_dense) norms at the first training step
    runs: dict  # batch_norm -> SeedRuns


def vanishing_gradients(config: VanishingConfig, progress: ProgressCallback | None = None) -> VanishingResult:
    """Gradient norms at the first training step and learning curves of the deep net, without and with BN.

    Each variant is one stacked run of all seeds; the gradient norms are those of that run's first update
    (seed s's first batch of `batch_size` images, BN in training mode, before any weight has moved).
    """
    seeds = tuple(range(config.n_seeds))
    starts = {batch_norm: initial_weights(config.train_config(batch_norm), seeds) for batch_norm in ("none", "after")}
    norms, runs = {}, {}
    for batch_norm, piece in zip(("none", "after"), parts(progress, [1, 1], ["without BN", "with BN"])):
        runs[batch_norm] = train_seeds(config.train_config(batch_norm), seeds, piece, gradient_norms=True,
                                       initial=starts[batch_norm])
        norms[batch_norm] = runs[batch_norm].first_step_gradient_norms
    return VanishingResult(gradient_norms=norms, runs=runs)


# ---- 2. learning-rate tolerance and initialisation sensitivity --------------------------------

@dataclass(frozen=True)
class SweepConfig:
    learning_rates: tuple[float, ...] = (0.001, 0.01, 0.1, 1.0)  # SGD learning rates, log-spaced
    initializers: tuple[str, ...] = ("glorot_uniform", "random_normal")  # 2-3 of INITIALIZERS
    depth: int = 4  # hidden layers
    units: int = 64  # units per hidden layer
    activation: str = "tanh"  # hidden activation
    epochs: int = 3  # short on purpose: 2 x 2 x 4 stacked runs
    batch_size: int = 64
    n_train: int = 3000  # first n of the book's training images
    n_valid: int = 1000  # first n of the book's validation images
    n_seeds: int = 3  # independent runs per cell of the sweep, stacked in one graph

    def __post_init__(self):
        check_depth(self.depth)
        check_seeds(self.n_seeds)
        if self.activation not in ("sigmoid", "tanh", "elu", "relu", "selu"):
            raise ValueError(f"Unknown activation {self.activation!r}.")
        if not self.learning_rates:
            raise ValueError("No learning rates selected: pick at least one.")
        for learning_rate in self.learning_rates:
            check_learning_rate(learning_rate)
        check_sizes(self.epochs, self.batch_size, self.n_train, self.n_valid)
        if not self.initializers:
            raise ValueError(f"No initialisers selected: pick at least one of {', '.join(INITIALIZERS)}.")
        if any(name not in INITIALIZERS for name in self.initializers):
            raise ValueError(f"Pick initialisers among {', '.join(INITIALIZERS)}.")

    @classmethod
    def tiny(cls) -> "SweepConfig":
        return cls(learning_rates=(0.01, 1.0), initializers=("glorot_uniform",), depth=2, units=16, epochs=1,
                   n_train=256, n_valid=128, n_seeds=1)

    def train_config(self, batch_norm: str, initializer: str, learning_rate: float) -> TrainConfig:
        return TrainConfig(hidden_units=(self.units,) * self.depth, activation=self.activation,
                           initializer=initializer, batch_norm=batch_norm, input_batch_norm=batch_norm != "none",
                           learning_rate=learning_rate, epochs=self.epochs, batch_size=self.batch_size,
                           n_train=self.n_train, n_valid=self.n_valid)


@dataclass(frozen=True)
class SweepResult:
    learning_rates: tuple[float, ...]
    initializers: tuple[str, ...]
    final_accuracy: dict  # batch_norm -> (n_initializers, n_learning_rates, n_seeds) last-epoch val accuracy


def lr_sweep(config: SweepConfig, progress: ProgressCallback | None = None) -> SweepResult:
    """Final validation accuracy for every (BN, initialiser, learning rate), each over n_seeds seeds.

    A run whose loss became nan (divergence) counts as chance-level accuracy, 0.1.
    """
    seeds = tuple(range(config.n_seeds))
    cells = [(batch_norm, initializer, learning_rate) for batch_norm in ("none", "after")
             for initializer in config.initializers for learning_rate in config.learning_rates]
    pieces = iter(parts(progress, [1] * len(cells), [
        f"cell {number}/{len(cells)}: {'BN' if batch_norm == 'after' else 'no BN'}, {initializer}, "
        f"learning rate {learning_rate:g}"
        for number, (batch_norm, initializer, learning_rate) in enumerate(cells, 1)]))
    accuracy = {}
    starts = {(batch_norm, initializer): initial_weights(config.train_config(batch_norm, initializer, 1.0), seeds)
              for batch_norm in ("none", "after") for initializer in config.initializers}  # the same for every rate
    for batch_norm in ("none", "after"):
        table = np.zeros((len(config.initializers), len(config.learning_rates), config.n_seeds))
        for i, initializer in enumerate(config.initializers):
            for j, learning_rate in enumerate(config.learning_rates):
                runs = train_seeds(config.train_config(batch_norm, initializer, learning_rate), seeds, next(pieces),
                                   initial=starts[batch_norm, initializer])
                final = runs.val_accuracy[:, -1]
                diverged = ~np.isfinite(runs.train_loss[:, -1]) | ~np.isfinite(final)
                table[i, j] = np.where(diverged, 0.1, final)
        accuracy[batch_norm] = table
    return SweepResult(tuple(config.learning_rates), tuple(config.initializers), accuracy)


# ---- 3. where to put BN: epochs and wall-clock seconds ----------------------------------------

@dataclass(frozen=True)
class PlacementConfig:
    learning_rate: float = 0.01  # SGD (the book used 1e-3 on 55,000 images for 10 epochs)
    epochs: int = 4
    batch_size: int = 32  # the book's (Keras's default) batch size
    n_train: int = 3000  # first n of the book's training images
    n_valid: int = 1000  # first n of the book's validation images
    n_seeds: int = 5  # runs per placement, each its own timed Keras fit; placements interleaved seed by seed

    def __post_init__(self):
        check_learning_rate(self.learning_rate)
        check_seeds(self.n_seeds)
        check_epochs(self.epochs)
        check_sizes(self.epochs, self.batch_size, self.n_train, self.n_valid)

    @classmethod
    def tiny(cls) -> "PlacementConfig":
        return cls(epochs=2, batch_size=64, n_train=256, n_valid=128, n_seeds=1)

    def train_config(self, batch_norm: str) -> TrainConfig:
        return TrainConfig(book_model=True, batch_norm=batch_norm, learning_rate=self.learning_rate,
                           epochs=self.epochs, batch_size=self.batch_size, n_train=self.n_train,
                           n_valid=self.n_valid)


def placement_runs(config: PlacementConfig, progress: ProgressCallback | None = None) -> dict:
    """The book's model with BN after / before the activation / none -> SeedRuns, seeds 0..n_seeds-1.

    Placements are interleaved seed by seed so that a change in machine load hits all three alike.
    """
    per_seed = {placement: [] for placement in PLACEMENTS}
    runs = [(seed, placement) for seed in range(config.n_seeds) for placement in PLACEMENTS]
    names = {"after": "BN after the activation", "before": "BN before the activation", "none": "no BN"}
    pieces = parts(progress, [1] * len(runs), [f"run {number}/{len(runs)}: {names[placement]}"
                                               for number, (_, placement) in enumerate(runs, 1)])
    trainers = {}
    for (seed, placement), piece in zip(runs, pieces):
        per_seed[placement].append(keras_seeds(config.train_config(placement), (seed,), piece, trainers=trainers))
    return {placement: _concat(runs) for placement, runs in per_seed.items()}


def _concat(runs: list[SeedRuns]) -> SeedRuns:
    return SeedRuns(seeds=tuple(seed for run in runs for seed in run.seeds), seconds=sum(run.seconds for run in runs),
                    **{name: np.concatenate([getattr(run, name) for run in runs])
                       for name in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "epoch_seconds")})


def epochs_to_reach(val_accuracy: np.ndarray, target: float) -> np.ndarray:
    """First epoch (1-based) where each seed's validation accuracy reaches target; nan if never.

    val_accuracy: (n_seeds, n_epochs). Returns (n_seeds,).
    """
    reached = np.asarray(val_accuracy) >= target
    first = np.argmax(reached, axis=1).astype(float) + 1
    first[~reached.any(axis=1)] = np.nan
    return first


def seconds_to_reach(runs: SeedRuns, target: float) -> np.ndarray:
    """Wall-clock seconds until each seed first reaches target validation accuracy; nan if never. (n_seeds,)"""
    epochs = epochs_to_reach(runs.val_accuracy, target)
    cumulative = np.cumsum(runs.epoch_seconds, axis=1)
    out = np.full(len(epochs), np.nan)
    for index, epoch in enumerate(epochs):
        if np.isfinite(epoch):
            out[index] = cumulative[index, int(epoch) - 1]
    return out


# ---- 4. prediction-time cost and folding ------------------------------------------------------

@dataclass(frozen=True)
class LatencyConfig:
    batch_sizes: tuple[int, ...] = BATCH_SIZES  # images per predict call
    repeats: int = 30  # timed calls per (model, batch size); the median is reported
    seed: int = 0  # initial weights and the random BN statistics

    def __post_init__(self):
        if not self.batch_sizes or min(self.batch_sizes) < 1 or max(self.batch_sizes) > 10_000:
            raise ValueError(f"Batch sizes must be between 1 and 10,000; got {list(self.batch_sizes)}.")
        check_repeats(self.repeats)

    @classmethod
    def tiny(cls) -> "LatencyConfig":
        return cls(batch_sizes=(1, 32), repeats=3)


@dataclass(frozen=True)
class LatencyResult:
    batch_sizes: tuple[int, ...]
    milliseconds: dict  # variant -> (n_batch_sizes, repeats) ms per call; variants in LATENCY_VARIANTS
    max_abs_difference: dict  # "after"/"before" -> max |folded - original| over the 10,000 test images


LATENCY_VARIANTS = ("no BN", "BN after", "BN after, folded", "BN before", "BN before, folded")


def randomize_batchnorm(model, seed: int) -> None:
    """Give every BN layer non-trivial statistics and parameters, as if trained (tests and demos)."""
    import keras

    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.moving_mean.shape[-1]
            layer.gamma.assign(rng.uniform(0.5, 1.5, n).astype("float32"))
            layer.beta.assign(rng.normal(0.0, 0.3, n).astype("float32"))
            layer.moving_mean.assign(rng.normal(0.0, 0.5, n).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.2, 2.0, n).astype("float32"))


def compiled_forward(model):
    """The inference forward pass as a tf.function: what serving code runs, without `predict`'s bookkeeping."""
    import tensorflow as tf

    signature = [tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)]  # one trace serves every batch size
    return tf.function(lambda batch: model(batch, training=False), input_signature=signature, autograph=False)


def time_predictions(forwards: dict, x: np.ndarray, repeats: int) -> dict:
    """Milliseconds per call of each compiled forward pass on batch x, after one warm-up call each.

    The variants are timed in turn within every repeat (not one after another), so a change in machine
    load hits all of them alike. Returns {name: (repeats,)}.
    """
    import tensorflow as tf

    batch = tf.constant(x)
    for forward in forwards.values():
        forward(batch).numpy()
    out = {name: np.empty(repeats) for name in forwards}
    for index in range(repeats):
        for name, forward in forwards.items():
            start = time.perf_counter()
            forward(batch).numpy()
            out[name][index] = (time.perf_counter() - start) * 1000
    return out


def build_latency_models(seed: int) -> dict:
    """The book's model without BN, with BN after / before (random non-trivial BN statistics), and folded."""
    from core import models

    built = {"no BN": models.book_bn_model("none", seed=seed)}
    for placement in ("after", "before"):
        model = models.book_bn_model(placement, seed=seed)
        randomize_batchnorm(model, seed)
        built[f"BN {placement}"], built[f"BN {placement}, folded"] = model, fold_batchnorm(model)
    return built


def inference_latency(config: LatencyConfig, progress: ProgressCallback | None = None) -> LatencyResult:
    """Latency of the book's model without BN, with BN (after/before) and with BN folded away."""
    from core.data import load_book_splits

    steps = len(config.batch_sizes) + 1  # building and folding the models, then one step per batch size
    report(progress, 0, steps, "building the models and folding their BN layers")
    x_test = load_book_splits().x_test
    built = build_latency_models(config.seed)
    differences = {}
    for placement in ("after", "before"):
        original = built[f"BN {placement}"].predict(x_test, batch_size=1000, verbose=0)
        folded = built[f"BN {placement}, folded"].predict(x_test, batch_size=1000, verbose=0)
        differences[placement] = float(np.max(np.abs(folded - original)))
    forwards = {name: compiled_forward(built[name]) for name in LATENCY_VARIANTS}
    timings = {name: np.zeros((len(config.batch_sizes), config.repeats)) for name in LATENCY_VARIANTS}
    for i, batch_size in enumerate(config.batch_sizes):
        report(progress, i + 1, steps, f"timing batches of {batch_size}, {config.repeats} calls per model")
        x = np.resize(x_test, (batch_size, 28, 28)).astype("float32")
        for name, times in time_predictions(forwards, x, config.repeats).items():
            timings[name][i] = times
    report(progress, steps, steps, "done")
    return LatencyResult(tuple(config.batch_sizes), timings, differences)


def folding_error_example() -> str:
    """fold_batchnorm's message for a net it cannot fold: BN -> tanh -> Dense (BN between two nonlinearities)."""
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((28, 28)), layers.Flatten(), layers.Dense(30, activation="elu"),
                              layers.BatchNormalization(), layers.Activation("tanh"), layers.Dense(10)])
    try:
        fold_batchnorm(model)
    except ValueError as error:
        return str(error)
    raise AssertionError("folding BN -> tanh -> Dense should have been refused")
