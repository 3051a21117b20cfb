"""One BN-in-training configuration over many seeds, as `SeedRuns` arrays shaped (n_seeds, n_epochs):
`train_seeds` trains every seed as a copy in one graph (core.engine); `keras_seeds` runs one plain Keras `fit`
per seed and times each epoch, the only honest axis for accuracy against seconds (see docs/architecture.md,
"core/batchnorm")."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from core.inputs import shown, whole_number
from core.progress import ProgressCallback, report

MAX_SEEDS = 8  # cap on seeds per run: each seed is a full training run
MAX_DEPTH = 30  # cap on hidden layers of the deep MLP


def check_seeds(n_seeds: int) -> int:
    return whole_number(n_seeds, 1, MAX_SEEDS, "seeds", "Each seed is a full training run.")


def check_learning_rate(learning_rate: float) -> float:
    if learning_rate is None or not np.isfinite(learning_rate) or learning_rate <= 0:
        raise ValueError(f"The learning rate must be a positive number; got {shown(learning_rate)}.")
    return float(learning_rate)


def check_depth(depth: int) -> int:
    return whole_number(depth, 1, MAX_DEPTH, "hidden layers")


# A run's epochs, batch size and image counts, checked by every config that describes a training.
def check_sizes(epochs: int, batch_size: int, n_train: int, n_valid: int) -> None:
    if epochs < 1:
        raise ValueError(f"Train for at least one epoch; got {epochs}.")
    if batch_size < 1:
        raise ValueError(f"The batch size must be at least 1; got {batch_size}.")
    if not 1 <= n_train <= 55_000 or not 1 <= n_valid <= 5_000:
        raise ValueError(f"Use 1..55,000 training and 1..5,000 validation images; got {n_train} and {n_valid}.")


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
        check_sizes(self.epochs, self.batch_size, self.n_train, self.n_valid)


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


def dense_layers(model) -> list:
    """The model's Dense layers, input side first (the last one is the output layer)."""
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def _seeds_text(seeds) -> str:
    """"seed 0" or "seeds 0-4": the seeds a stacked run trains (always consecutive here)."""
    return f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
