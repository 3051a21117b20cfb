"""The chapter's transfer-learning experiment: task A, task B, and the protocols that reuse A for B.

Protocols are frozen dataclasses (one comment per field); `PROTOCOLS` holds the book's text, its
companion notebook and the third edition's variant. This module holds the data preparation and the
plain-Keras reference run (the book's code, in Keras 3 style); the many-seed comparison trains the
same protocol with the stacked-seed engine.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from core import data
from core.progress import ProgressCallback, report

MAX_SEEDS = 200  # the most seeds one comparison may ask for
BOOK_GAIN_POINTS = 2.05  # the book's reported gain: 97.2% -> 99.25% test accuracy


@dataclass(frozen=True)
class TransferProtocol:
    name: str  # "book", "notebook", "ml3" or "tiny"
    b_classes: tuple[int, int] = (5, 6)  # task B: (negative, positive) classes; the book: sandal vs shirt
    hidden_units: tuple[int, ...] = (300, 100, 50, 50, 50)  # the hidden stack shared by A and B
    activation: str = "selu"  # hidden activation
    initializer: str = "glorot_uniform"  # Keras's default kernel initializer, as in the notebook
    learning_rate: float = 1e-3  # SGD learning rate for A, for B from scratch and for the frozen phase
    unfrozen_learning_rate: float = 1e-4  # after unfreezing the reused layers (book text: 1e-4)
    a_epochs: int = 20  # model A on task A
    b_epochs: int = 20  # model B from scratch
    frozen_epochs: int = 4  # B on A with the reused layers frozen
    unfrozen_epochs: int = 16  # B on A after unfreezing
    batch_size: int = 32  # Keras's default, as in the book
    n_b_train: int = 200  # task B gets only this many training images
    n_a_train: int | None = None  # task A training images (None: all 43,986 of the book split)
    n_eval: int | None = None  # cap on validation and test images (None: all); only the tiny preset caps

    def __post_init__(self):
        data.check_class_pair(self.b_classes)
        for field in ("a_epochs", "b_epochs", "frozen_epochs", "unfrozen_epochs", "batch_size", "n_b_train"):
            if getattr(self, field) < (1 if field in ("batch_size", "n_b_train") else 0):
                raise ValueError(f"{field} must be a positive whole number, got {getattr(self, field)}.")
        if self.learning_rate <= 0 or self.unfrozen_learning_rate <= 0:
            raise ValueError("Learning rates must be greater than 0.")

    def with_pair(self, b_classes) -> "TransferProtocol":
        """The same protocol with another pair of classes as task B (A = the other eight)."""
        return dataclasses.replace(self, b_classes=tuple(int(c) for c in b_classes))

    @property
    def total_b_epochs(self) -> int:
        return self.frozen_epochs + self.unfrozen_epochs


PROTOCOLS = {
    "book": TransferProtocol("book"),
    "notebook": TransferProtocol("notebook", unfrozen_learning_rate=1e-3),
    # Third edition: pullover (positive) vs T-shirt/top, 3 x Dense(100, relu, he_normal), 1e-3 throughout.
    # (Its notebook validates on the last 5,000 training images; the lab keeps the book's split for all.)
    "ml3": TransferProtocol("ml3", b_classes=(0, 2), hidden_units=(100, 100, 100), activation="relu",
                            initializer="he_normal", unfrozen_learning_rate=1e-3),
    # For tests and quick looks: the book's protocol shrunk until it runs in seconds.
    "tiny": TransferProtocol("tiny", hidden_units=(32, 16), a_epochs=2, b_epochs=3, frozen_epochs=1,
                             unfrozen_epochs=2, n_b_train=50, n_a_train=2000, n_eval=500),
}


def get_protocol(name: str, b_classes=None) -> TransferProtocol:
    """A named protocol, optionally with another task-B pair."""
    if name not in PROTOCOLS:
        raise ValueError(f"Unknown protocol {name!r}; choose one of {', '.join(PROTOCOLS)}.")
    protocol = PROTOCOLS[name]
    return protocol if b_classes is None else protocol.with_pair(b_classes)


@dataclass(frozen=True)
class TaskData:
    """Arrays of one protocol's tasks. x: (n, 28, 28) float32; y_a: uint8 in 0..7; y_b: float32 in {0, 1}."""

    x_train_a: np.ndarray
    y_train_a: np.ndarray
    x_valid_a: np.ndarray
    y_valid_a: np.ndarray
    x_train_b: np.ndarray
    y_train_b: np.ndarray
    x_valid_b: np.ndarray
    y_valid_b: np.ndarray
    x_test_b: np.ndarray
    y_test_b: np.ndarray


def b_subset(n_available: int, n_wanted: int, subset_seed: int | None) -> np.ndarray:
    """Indices of the task-B training images: the first n (the book), or n drawn at random with a seed."""
    if n_wanted > n_available:
        raise ValueError(f"Task B has only {n_available} training images; {n_wanted} were asked for.")
    if subset_seed is None:
        return np.arange(n_wanted)
    return np.sort(np.random.default_rng(subset_seed).choice(n_available, size=n_wanted, replace=False))


def task_data(protocol: TransferProtocol, splits: data.BookSplits, subset_seed: int | None = None) -> TaskData:
    """Split the book's train/valid/test sets into tasks A and B as the protocol says."""
    (x_a, y_a), (x_b, y_b) = data.split_task_a_b(splits.x_train, splits.y_train, protocol.b_classes)
    (xv_a, yv_a), (xv_b, yv_b) = data.split_task_a_b(splits.x_valid, splits.y_valid, protocol.b_classes)
    _, (xt_b, yt_b) = data.split_task_a_b(splits.x_test, splits.y_test, protocol.b_classes)
    chosen = b_subset(len(x_b), protocol.n_b_train, subset_seed)
    n_a, n_eval = protocol.n_a_train, protocol.n_eval
    return TaskData(
        x_a[:n_a], y_a[:n_a], xv_a[:n_eval], yv_a[:n_eval],
        x_b[chosen], y_b[chosen], xv_b[:n_eval], yv_b[:n_eval], xt_b[:n_eval], yt_b[:n_eval],
    )


# ---- the plain-Keras reference run: the book's code, written for Keras 3 ----

def _sgd(learning_rate: float):
    import keras

    return keras.optimizers.SGD(learning_rate=learning_rate)


def build_model_a(protocol: TransferProtocol, seed: int):
    from core import models

    return models.model_a(protocol.hidden_units, protocol.activation, protocol.initializer, seed=seed)


def build_model_b(protocol: TransferProtocol, seed: int):
    from core import models

    return models.model_b(protocol.hidden_units, protocol.activation, protocol.initializer, seed=seed)


def train_model_a(protocol: TransferProtocol, tasks: TaskData, seed: int, progress: ProgressCallback | None = None):
    """Model A on task A with model.fit, as in the book. Returns (model, history dict)."""
    import keras

    model = build_model_a(protocol, seed)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=_sgd(protocol.learning_rate),
                  metrics=["accuracy"])
    keras.utils.set_random_seed(seed)  # the shuffling order
    history = model.fit(tasks.x_train_a, tasks.y_train_a, epochs=protocol.a_epochs,
                        batch_size=protocol.batch_size, validation_data=(tasks.x_valid_a, tasks.y_valid_a),
                        verbose=0, callbacks=[_epoch_reporter(progress, protocol.a_epochs, "model A")])
    return model, history.history


def reuse_for_b(model_a, clone: bool = True):
    """B on A: every layer of A but its output, plus a new sigmoid output.

    With clone=False the new model shares A's layer objects, so training it changes model A too:
    the pitfall the chapter warns about. clone_model copies only the architecture, hence set_weights.
    """
    import keras

    source = model_a
    if clone:
        source = keras.models.clone_model(model_a)
        source.set_weights(model_a.get_weights())
    model = keras.Sequential([keras.Input(model_a.input_shape[1:]), *source.layers[:-1]], name="model_B_on_A")
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    return model


def _compile_b(model, learning_rate: float) -> None:
    model.compile(loss="binary_crossentropy", optimizer=_sgd(learning_rate), metrics=["accuracy"])


def train_b_on_a(protocol: TransferProtocol, tasks: TaskData, model_a, seed: int, clone: bool = True,
                 progress: ProgressCallback | None = None):
    """Freeze the reused layers for a few epochs, then unfreeze them with the protocol's learning rate."""
    import keras

    keras.utils.set_random_seed(seed)
    model = reuse_for_b(model_a, clone=clone)
    validation = (tasks.x_valid_b, tasks.y_valid_b)
    history: dict[str, list] = {}
    for phase, (trainable, epochs, rate) in enumerate([
        (False, protocol.frozen_epochs, protocol.learning_rate),
        (True, protocol.unfrozen_epochs, protocol.unfrozen_learning_rate),
    ]):
        for layer in model.layers[:-1]:
            layer.trainable = trainable
        _compile_b(model, rate)  # compile after every freeze or unfreeze
        if epochs == 0:
            continue
        fitted = model.fit(tasks.x_train_b, tasks.y_train_b, epochs=epochs, batch_size=protocol.batch_size,
                           validation_data=validation, verbose=0,
                           callbacks=[_epoch_reporter(progress, protocol.total_b_epochs, "B on A",
                                                     offset=phase * protocol.frozen_epochs)])
        for key, values in fitted.history.items():
            history.setdefault(key, []).extend(values)
    return model, history


def train_b_from_scratch(protocol: TransferProtocol, tasks: TaskData, seed: int,
                         progress: ProgressCallback | None = None):
    import keras

    model = build_model_b(protocol, seed)
    _compile_b(model, protocol.learning_rate)
    keras.utils.set_random_seed(seed)
    fitted = model.fit(tasks.x_train_b, tasks.y_train_b, epochs=protocol.b_epochs, batch_size=protocol.batch_size,
                       validation_data=(tasks.x_valid_b, tasks.y_valid_b), verbose=0,
                       callbacks=[_epoch_reporter(progress, protocol.b_epochs, "B from scratch")])
    return model, fitted.history


def accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of correct predictions (argmax for softmax outputs, > 0.5 for one sigmoid output)."""
    scores = model.predict(x, verbose=0, batch_size=1024)
    predicted = scores.argmax(axis=1) if scores.shape[1] > 1 else (scores[:, 0] > 0.5)
    return float(np.mean(predicted == y))


def _epoch_reporter(progress: ProgressCallback | None, total: int, label: str, offset: int = 0):
    """A Keras callback forwarding epoch ends to a core progress callback."""
    import keras

    class EpochReporter(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            done = offset + epoch + 1
            report(progress, done, total, f"{label}, epoch {done}/{total}")

    return EpochReporter()


@dataclass(frozen=True)
class SharingPitfall:
    """What training B on A does to model A, with and without cloning first."""

    a_accuracy_before: float  # model A on task-A validation images, before B is trained
    a_accuracy_after_shared: float  # the same, after training a B that shares A's layer objects
    a_accuracy_after_cloned: float  # the same, after training a B built on a clone of A
    weight_change_shared: float  # L2 norm of the change of A's hidden weights (shared layers)
    weight_change_cloned: float  # the same with clone_model + set_weights (0 when nothing leaked)


def sharing_pitfall(protocol: TransferProtocol, tasks: TaskData, model_a, seed: int) -> SharingPitfall:
    """Train B on A twice (shared layers, then a clone) starting from copies of the same model A."""
    import keras

    def fresh_a():
        copy = keras.models.clone_model(model_a)
        copy.set_weights(model_a.get_weights())
        return copy

    def hidden_change(model, before):
        return float(np.sqrt(sum(np.sum((w - b) ** 2) for w, b in zip(model.get_weights()[:-2], before[:-2]))))

    before = model_a.get_weights()
    accuracy_before = accuracy(model_a, tasks.x_valid_a, tasks.y_valid_a)
    results = {}
    for clone in (False, True):
        victim = fresh_a()
        train_b_on_a(protocol, tasks, victim, seed, clone=clone)
        results[clone] = (accuracy(victim, tasks.x_valid_a, tasks.y_valid_a), hidden_change(victim, before))
    return SharingPitfall(accuracy_before, results[False][0], results[True][0], results[False][1], results[True][1])


def keras_code(protocol: TransferProtocol) -> str:
    """The Keras 3 code one run of this protocol is equivalent to (shown on the page)."""
    negative, positive = protocol.b_classes
    hidden = "\n".join(
        f'    layers.Dense({units}, activation="{protocol.activation}", kernel_initializer="{protocol.initializer}"),'
        for units in protocol.hidden_units
    )
    return f'''import keras
from keras import layers

# Task A: the 8 classes other than {negative} and {positive}; task B: {positive} (1) vs {negative} (0),
# only {protocol.n_b_train} training images.
model_A = keras.Sequential([
    keras.Input((28, 28)),
    layers.Flatten(),
{hidden}
    layers.Dense(8, activation="softmax"),
])
model_A.compile(loss="sparse_categorical_crossentropy",
                optimizer=keras.optimizers.SGD(learning_rate={protocol.learning_rate}), metrics=["accuracy"])
model_A.fit(X_train_A, y_train_A, epochs={protocol.a_epochs}, validation_data=(X_valid_A, y_valid_A))

# Reuse every layer of A but its output. Clone first: sharing the layer objects would train A too.
model_A_clone = keras.models.clone_model(model_A)
model_A_clone.set_weights(model_A.get_weights())  # clone_model copies the architecture only
model_B_on_A = keras.Sequential([keras.Input((28, 28)), *model_A_clone.layers[:-1]])
model_B_on_A.add(layers.Dense(1, activation="sigmoid"))

for layer in model_B_on_A.layers[:-1]:
    layer.trainable = False
model_B_on_A.compile(loss="binary_crossentropy",
                     optimizer=keras.optimizers.SGD(learning_rate={protocol.learning_rate}), metrics=["accuracy"])
model_B_on_A.fit(X_train_B, y_train_B, epochs={protocol.frozen_epochs}, validation_data=(X_valid_B, y_valid_B))

for layer in model_B_on_A.layers[:-1]:
    layer.trainable = True
model_B_on_A.compile(loss="binary_crossentropy",  # compile again after unfreezing
                     optimizer=keras.optimizers.SGD(learning_rate={protocol.unfrozen_learning_rate}),
                     metrics=["accuracy"])
model_B_on_A.fit(X_train_B, y_train_B, epochs={protocol.unfrozen_epochs}, validation_data=(X_valid_B, y_valid_B))
model_B_on_A.evaluate(X_test_B, y_test_B)
'''
