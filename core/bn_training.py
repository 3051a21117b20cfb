"""Batch Normalization during training: the experiments behind the "BN in training" page.

Four experiments, each a pure function of a frozen config (so pages can cache them):

1. `vanishing_gradients`: per-layer gradient norms of a deep saturating MLP at its first training step,
   with and without BN (the vanishing-gradient picture), plus learning curves over seeds.
2. `lr_sweep`: final validation accuracy over learning rates x initialisers, with and without BN.
3. `placement_runs`: the book's model with BN after / before the activation / none, with the
   wall-clock time of every epoch, so accuracy can be plotted against seconds as well as epochs.
4. `inference_latency`: prediction time per batch for BN, no BN and BN folded into the Dense layers.

Two ways to train one configuration over many seeds, both returning `SeedRuns` with arrays shaped
(n_seeds, n_epochs):

- `train_seeds` (experiments 1 and 2): every seed a copy in ONE graph, through the stacked-seed engine
  (`core.engine`, which matches separate Keras models to float32 precision in tests/test_engine.py). Seed s
  starts from the weights `core.models.mlp(..., seed=s)` gives and shuffles with `engine.batch_order(s, epoch, n)`.
- `keras_seeds` (experiment 3): one plain Keras `fit` per seed, each epoch timed. Experiment 3 plots
  accuracy against wall-clock seconds, and that axis must be what one model's epoch costs in the book's
  Keras code. A stacked run has no such number: its epoch time is shared by all copies, and dividing it
  by the number of copies would credit BN and no-BN alike with the batching gains of the stacked matmuls
  (and a different per-step overhead), which is exactly the cost the claim is about.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from core.inputs import shown, whole_number
from core.progress import ProgressCallback, parts, report

MAX_SEEDS = 8  # cap on seeds per run: each seed is a full training run
MAX_DEPTH = 30  # cap on hidden layers of the deep MLP
MAX_EPOCHS = 30  # cap on epochs of the placement experiment (each seed and placement is its own Keras fit)
MAX_REPEATS = 500  # cap on timed predict calls per batch size
SATURATING_ACTIVATIONS = ("sigmoid", "tanh")  # Keras's name for the logistic function is "sigmoid"
INITIALIZERS = ("glorot_uniform", "he_normal", "random_normal")  # Keras RandomNormal: stddev 0.05
PLACEMENTS = ("after", "before", "none")
BATCH_SIZES = (1, 32, 1024)


# ---- validation -------------------------------------------------------------------------------

def check_seeds(n_seeds: int) -> int:
    return whole_number(n_seeds, 1, MAX_SEEDS, "seeds", "Each seed is a full training run.")


def check_epochs(epochs: int) -> int:
    return whole_number(epochs, 1, MAX_EPOCHS, "epochs", "Each seed and placement is its own timed Keras fit.")


def check_repeats(repeats: int) -> int:
    return whole_number(repeats, 3, MAX_REPEATS, "timed calls", "The median needs a few; more only takes longer.")


def check_learning_rate(learning_rate: float) -> float:
    if learning_rate is None or not np.isfinite(learning_rate) or learning_rate <= 0:
        raise ValueError(f"The learning rate must be a positive number; got {shown(learning_rate)}.")
    return float(learning_rate)


def check_depth(depth: int) -> int:
    return whole_number(depth, 1, MAX_DEPTH, "hidden layers")


def _check_sizes(epochs: int, batch_size: int, n_train: int, n_valid: int) -> None:
    if epochs < 1:
        raise ValueError(f"Train for at least one epoch; got {epochs}.")
    if batch_size < 1:
        raise ValueError(f"The batch size must be at least 1; got {batch_size}.")
    if not 1 <= n_train <= 55_000 or not 1 <= n_valid <= 5_000:
        raise ValueError(f"Use 1..55,000 training and 1..5,000 validation images; got {n_train} and {n_valid}.")


# ---- one training configuration, many seeds --------------------------------------------------

@dataclass(frozen=True)
class TrainConfig:
    hidden_units: tuple[int, ...] = (100,) * 10  # units per hidden layer (len = depth)
    activation: str = "sigmoid"  # hidden activation
    initializer: str = "glorot_uniform"  # kernel initialiser of the hidden layers
    batch_norm: str = "none"  # "after" the activation, "before" it (Dense without bias), or "none"
    input_batch_norm: bool = False  # a BN layer on the flattened inputs (the book's first BN)
    book_model: bool = False  # True: core.models.book_bn_model(batch_norm); the four fields above are ignored
    learning_rate: float = 0.01  # plain SGD, as in the book's BN listing
    epochs: int = 5  # passes over the training subset
    batch_size: int = 32  # mini-batch size
    n_train: int = 3000  # training images: the first n of the book's 55,000
    n_valid: int = 1000  # validation images: the first n of the book's 5,000

    def __post_init__(self):
        check_depth(len(self.hidden_units))
        check_learning_rate(self.learning_rate)
        _check_sizes(self.epochs, self.batch_size, self.n_train, self.n_valid)


@dataclass(frozen=True)
class SeedRuns:
    seeds: tuple[int, ...]
    train_loss: np.ndarray  # (n_seeds, n_epochs) mean training loss of each epoch (nan when diverged)
    train_accuracy: np.ndarray  # (n_seeds, n_epochs)
    val_loss: np.ndarray  # (n_seeds, n_epochs) validation loss after each epoch
    val_accuracy: np.ndarray  # (n_seeds, n_epochs) validation accuracy after each epoch
    # (n_seeds, n_epochs) wall-clock seconds of one model's epoch (training + validation), from `keras_seeds`;
    # all nan from `train_seeds`, whose stacked epochs train every seed at once (see the module docstring)
    epoch_seconds: np.ndarray
    # (n_seeds, n_dense) L2 norm of the loss gradient w.r.t. each Dense kernel at the first training step
    # (input side first), when `train_seeds` was asked for it; else None
    first_step_gradient_norms: np.ndarray | None = None
    seconds: float = float("nan")  # wall-clock seconds of the whole call


def build_model(config: TrainConfig, seed: int):
    """The uncompiled Keras model a config describes, initialised from `seed`."""
    from core import models

    if config.book_model:
        return models.book_bn_model(config.batch_norm, seed=seed)
    return models.mlp(config.hidden_units, activation=config.activation, initializer=config.initializer,
                      batch_norm=config.batch_norm, input_batch_norm=config.input_batch_norm, seed=seed)


def _subset(config: TrainConfig):
    from core.data import load_book_splits

    splits = load_book_splits()
    return (splits.x_train[:config.n_train], splits.y_train[:config.n_train],
            splits.x_valid[:config.n_valid], splits.y_valid[:config.n_valid])


STEPS_PER_EXECUTION = 16  # training steps per TensorFlow call: less Python work per step, same maths


def datasets(x_train, y_train, x_valid, y_valid, batch_size: int, seed: int):
    """tf.data pipelines: training shuffled anew each epoch in an order fixed by `seed`; validation in one batch.

    (Keras's own shuffling of numpy arrays costs about a second per `fit` call on 2 cores; a tf.data
    pipeline does not, which matters when a page trains dozens of short runs.)
    """
    import tensorflow as tf

    # Tensors, not numpy arrays: a numpy array would be embedded into the dataset's graph as a constant on
    # every call, which alone costs about a second per run here.
    x_train, y_train, x_valid, y_valid = (tf.convert_to_tensor(a) for a in (x_train, y_train, x_valid, y_valid))
    train = (tf.data.Dataset.from_tensor_slices((x_train, y_train))
             .shuffle(len(x_train), seed=seed, reshuffle_each_iteration=True).batch(batch_size))
    valid = tf.data.Dataset.from_tensor_slices((x_valid, y_valid)).batch(len(x_valid))
    return train, valid


def _architecture(config: TrainConfig) -> tuple:
    """What decides the graph: configs that differ only in initialiser, learning rate or seed share one."""
    if config.book_model:
        return ("book", config.batch_norm)
    return (config.hidden_units, config.activation, config.batch_norm, config.input_batch_norm)


def _trainer(config: TrainConfig, trainers: dict):
    """A compiled model for the config's architecture, traced once (a warm-up fit) and reused across runs.

    Reuse keeps graph tracing (seconds per new model) out of the timed epochs; each run then starts
    from freshly initialised weights (`reinitialize`) and its own learning rate.
    """
    import keras

    key = _architecture(config)
    if key not in trainers:
        model = build_model(config, seed=0)
        model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      optimizer=keras.optimizers.SGD(learning_rate=config.learning_rate),
                      steps_per_execution=STEPS_PER_EXECUTION)
        x_train, y_train, x_valid, y_valid = _subset(config)
        # Warm-up on a slice that ends with a partial batch, as real epochs do, so both shapes are traced.
        size = config.batch_size * (STEPS_PER_EXECUTION + 1) + config.batch_size // 2
        train, valid = datasets(x_train[:size], y_train[:size], x_valid, y_valid, config.batch_size, seed=0)
        model.fit(train, epochs=1, verbose=0, validation_data=valid, shuffle=False)  # the dataset shuffles
        trainers[key] = model
    return trainers[key]


INITIALIZED = (("kernel", "kernel_initializer"), ("bias", "bias_initializer"), ("gamma", "gamma_initializer"),
               ("beta", "beta_initializer"), ("moving_mean", "moving_mean_initializer"),
               ("moving_variance", "moving_variance_initializer"))


def reinitialize(model, seed: int) -> None:
    """Draw fresh initial weights for every layer from its own initialiser, seeded by (seed, layer index).

    Unlike `keras.utils.set_random_seed`, this leaves TensorFlow's global seed alone: resetting that clears
    TensorFlow's caches of compiled functions and costs more than a second per run on this machine.
    """
    for index, layer in enumerate(model.layers):
        for variable_name, initializer_name in INITIALIZED:
            variable, initializer = getattr(layer, variable_name, None), getattr(layer, initializer_name, None)
            if variable is None or initializer is None:
                continue
            settings = initializer.get_config()
            if "seed" in settings:
                settings["seed"] = seed * 1000 + index
            variable.assign(type(initializer).from_config(settings)(variable.shape, dtype=variable.dtype))


def _use_initializer(model, config: TrainConfig) -> None:
    """Point the hidden Dense layers of a shared trainer at this config's initialiser (the output layer keeps
    Keras's default, as core.models.mlp builds it; the book's model has its own he_normal)."""
    import keras

    if not config.book_model:
        for layer in dense_layers(model)[:-1]:
            layer.kernel_initializer = keras.initializers.get(config.initializer)


def engine_config(config: TrainConfig):
    """The `core.engine.MLPConfig` of a TrainConfig's network (10-way softmax output, as `build_model`)."""
    from core import engine

    if config.book_model:
        return engine.MLPConfig.book_bn(config.batch_norm)
    return engine.MLPConfig(hidden_units=config.hidden_units, activation=config.activation,
                            initializer=config.initializer, batch_norm=config.batch_norm,
                            input_batch_norm=config.input_batch_norm, n_outputs=10, output_activation="softmax")


def initial_weights(config: TrainConfig, seeds) -> tuple[np.ndarray, ...]:
    """The stacked initial weights `train_seeds` starts from: copy k is `build_model(config, seeds[k])`'s weights.

    Experiments draw them up front and pass them in, so one compiled engine function (fixed initializer in
    its config) serves every initializer of the sweep.
    """
    from core import engine

    return engine.initial_weights(engine_config(config), tuple(int(seed) for seed in seeds))


def train_seeds(config: TrainConfig, seeds, progress: ProgressCallback | None = None, *,
                gradient_norms: bool = False, initial: tuple[np.ndarray, ...] | None = None) -> SeedRuns:
    """Train one copy of the network per seed, all in one graph (`core.engine`), and return their histories.

    seeds: iterable of ints. Returns arrays shaped (n_seeds, n_epochs). Seed s fixes the initial weights
    (those of `core.models.mlp(..., seed=s)`) and the batch order (`core.engine.batch_order(s, epoch, n)`);
    the result equals a plain Keras `fit` per seed on that order (tests/test_bn_training.py). With
    `gradient_norms`, also the per-layer kernel gradient norms of the first training step. `initial`:
    `initial_weights(config, seeds)` computed ahead (see there why); by default computed here.
    Progress is reported once per epoch of the stacked run as (epochs done, epochs); a caller running several
    trainings gives each a `core.progress.part` of its bar. `epoch_seconds` is all nan: no single model's epoch
    was timed.
    """
    from core import engine

    seeds = tuple(int(seed) for seed in seeds)
    check_seeds(len(seeds))
    initial = initial_weights(config, seeds) if initial is None else initial
    # The engine caches its compiled epoch per MLPConfig, initialiser included, though the initialiser only
    # decides the initial weights (passed in above). One graph per architecture saves a trace per initialiser.
    graph = replace(engine_config(config), initializer="glorot_uniform")
    def forward(done: int, _total: int, message: str) -> None:  # message: "phase 1, epoch 2: mean loss ..."
        report(progress, done, config.epochs, f"{_seeds_text(seeds)}, epoch {done}/{config.epochs}: "
                                              f"{message.split(': ', 1)[-1]}")

    report(progress, 0, config.epochs, f"{_seeds_text(seeds)}: building the graph")

    x_train, y_train, x_valid, y_valid = _subset(config)
    run = engine.train(graph, engine.Data(x_train, y_train, x_valid, y_valid),
                       [engine.Phase(epochs=config.epochs, learning_rate=config.learning_rate)], seeds,
                       batch_size=config.batch_size, initial=initial, record_grad_norms=gradient_norms,
                       progress=forward)
    return SeedRuns(seeds=seeds, train_loss=run.loss.astype(float), train_accuracy=run.accuracy.astype(float),
                    val_loss=run.val_loss.astype(float), val_accuracy=run.val_accuracy.astype(float),
                    epoch_seconds=np.full(run.loss.shape, np.nan),
                    first_step_gradient_norms=run.layer_grad_norm[:, 0].astype(float) if gradient_norms else None,
                    seconds=run.seconds)


def keras_seeds(config: TrainConfig, seeds, progress: ProgressCallback | None = None,
                trainers: dict | None = None) -> SeedRuns:
    """Train one model per seed (plain Keras `fit`, one after another), timing each epoch; stack the histories.

    seeds: iterable of ints. Returns arrays shaped (n_seeds, n_epochs). Seed s fixes both the initial
    weights (`reinitialize`) and the shuffling order. Progress is reported once per epoch as (epochs done over
    all seeds, n_seeds x epochs), each message naming its seed. `trainers`
    is an optional per-experiment dict that lets calls with the same architecture share a traced graph.
    """
    import keras
    import tensorflow as tf

    started = time.perf_counter()
    seeds = tuple(int(seed) for seed in seeds)
    check_seeds(len(seeds))
    x_train, y_train, x_valid, y_valid = (tf.convert_to_tensor(a) for a in _subset(config))  # once for all seeds
    total = len(seeds) * config.epochs
    report(progress, 0, total, f"seed {seeds[0]}: building the model")
    model = _trainer(config, {} if trainers is None else trainers)
    histories, times = [], []
    for index, seed in enumerate(seeds):
        _use_initializer(model, config)
        reinitialize(model, seed)
        model.optimizer.learning_rate = config.learning_rate
        epoch_times: list[float] = []

        class EpochClock(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                epoch_times.append(time.perf_counter() - self.start)
                done = index * config.epochs + epoch + 1
                report(progress, done, total, f"seed {seed}, epoch {epoch + 1}/{config.epochs}")

        train, valid = datasets(x_train, y_train, x_valid, y_valid, config.batch_size, seed)  # seed: shuffling
        history = model.fit(train, epochs=config.epochs, validation_data=valid, verbose=0, shuffle=False,
                            callbacks=[EpochClock()])
        histories.append(history.history)
        times.append(epoch_times)

    def stack(name: str) -> np.ndarray:
        return np.array([np.asarray(history[name], dtype=float) for history in histories])

    return SeedRuns(seeds=seeds, train_loss=stack("loss"), train_accuracy=stack("accuracy"),
                    val_loss=stack("val_loss"), val_accuracy=stack("val_accuracy"),
                    epoch_seconds=np.array(times, dtype=float), seconds=time.perf_counter() - started)


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
        _check_sizes(self.epochs, self.batch_size, self.n_train, self.n_valid)
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


def dense_layers(model) -> list:
    """The model's Dense layers, input side first (the last one is the output layer)."""
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


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
        _check_sizes(self.epochs, self.batch_size, self.n_train, self.n_valid)
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
        _check_sizes(self.epochs, self.batch_size, self.n_train, self.n_valid)

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


def _seeds_text(seeds) -> str:
    """"seed 0" or "seeds 0-4": the seeds a stacked run trains (always consecutive here)."""
    return f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"


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
    from core.batchnorm_fold import fold_batchnorm

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

    from core.batchnorm_fold import fold_batchnorm

    model = keras.Sequential([keras.Input((28, 28)), layers.Flatten(), layers.Dense(30, activation="elu"),
                              layers.BatchNormalization(), layers.Activation("tanh"), layers.Dense(10)])
    try:
        fold_batchnorm(model)
    except ValueError as error:
        return str(error)
    raise AssertionError("folding BN -> tanh -> Dense should have been refused")
