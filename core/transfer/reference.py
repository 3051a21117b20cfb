"""The plain-Keras reference run: the book's transfer code written for Keras 3 (model A, B on A with its reused
layers frozen then unfrozen, B from scratch), the layer-sharing pitfall, and the code shown on the page.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.progress import ProgressCallback, parts, report
from core.transfer.protocols import TransferProtocol
from core.transfer.tasks import TaskData


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
    model = build_model_a(protocol, seed)  # seeds Keras: the initial weights and fit's shuffling order
    model.compile(loss="sparse_categorical_crossentropy", optimizer=_sgd(protocol.learning_rate),
                  metrics=["accuracy"])
    history = model.fit(tasks.x_train_a, tasks.y_train_a, epochs=protocol.a_epochs,
                        batch_size=protocol.batch_size, validation_data=(tasks.x_valid_a, tasks.y_valid_a),
                        verbose=0, callbacks=[_epoch_reporter(progress, protocol.a_epochs, "model A")])
    return model, history.history


def reuse_for_b(model_a, *, clone: bool = True):
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


def _compile_b(model, learning_rate: float | None) -> None:
    """Compile for task B; learning_rate None compiles with the string "sgd", exactly as the book's text does."""
    optimizer = "sgd" if learning_rate is None else _sgd(learning_rate)
    model.compile(loss="binary_crossentropy", optimizer=optimizer, metrics=["accuracy"])


def train_b_on_a(protocol: TransferProtocol, tasks: TaskData, model_a, seed: int,
                 progress: ProgressCallback | None = None, *, clone: bool = True, reseed: bool = True):
    """Freeze the reused layers for a few epochs, then unfreeze them with the protocol's learning rate.

    `seed` seeds Keras (the new output layer, fit's shuffling order); `reseed=False` continues the random
    state the caller left instead, e.g. one seeding per seed for both B models in a loop over seeds
    (each `keras.utils.set_random_seed` clears TensorFlow's kernel caches, about a second per call).
    """
    import keras

    if reseed:
        keras.utils.set_random_seed(seed)
    model = reuse_for_b(model_a, clone=clone)
    validation = (tasks.x_valid_b, tasks.y_valid_b)
    history: dict[str, list] = {}
    for phase, (trainable, epochs, rate) in enumerate([
        (False, protocol.frozen_epochs, protocol.frozen_learning_rate),
        (True, protocol.unfrozen_epochs, protocol.unfrozen_learning_rate),
    ]):
        for layer in model.layers[:-1]:
            layer.trainable = trainable
        _compile_b(model, rate)  # compile after every freeze or unfreeze
        if epochs == 0:
            continue
        fitted = model.fit(tasks.x_train_b, tasks.y_train_b, epochs=epochs, batch_size=protocol.batch_size,
                           validation_data=validation, verbose=0,
                           callbacks=[_epoch_reporter(progress, protocol.total_b_epochs,
                                                     "B on A (reused layers frozen)" if phase == 0 else "B on A",
                                                     offset=phase * protocol.frozen_epochs)])
        for key, values in fitted.history.items():
            history.setdefault(key, []).extend(values)
    return model, history


def train_b_from_scratch(protocol: TransferProtocol, tasks: TaskData, seed: int,
                         progress: ProgressCallback | None = None):
    model = build_model_b(protocol, seed)  # seeds Keras: the initial weights and fit's shuffling order
    _compile_b(model, protocol.learning_rate)
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
    """A Keras callback forwarding epoch ends to a core progress callback, as "label, epoch 3/20"."""
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


def sharing_pitfall(protocol: TransferProtocol, tasks: TaskData, model_a, seed: int,
                    progress: ProgressCallback | None = None) -> SharingPitfall:
    """Train B on A twice (shared layers, then a clone) starting from copies of the same model A; the two
    runs fill the two halves of the progress bar."""
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
    halves = parts(progress, [1, 1], ["run 1 of 2, B shares A's layers", "run 2 of 2, B on a clone of A"])
    for clone, half in zip((False, True), halves):
        report(half, 0, 1, "building the model")
        victim = fresh_a()
        train_b_on_a(protocol, tasks, victim, seed, clone=clone, progress=half)
        results[clone] = (accuracy(victim, tasks.x_valid_a, tasks.y_valid_a), hidden_change(victim, before))
    return SharingPitfall(accuracy_before, results[False][0], results[True][0], results[False][1], results[True][1])


def _frozen_optimizer_code(protocol: TransferProtocol) -> str:
    """The frozen phase's optimizer argument as the protocol's source writes it."""
    if protocol.frozen_learning_rate is None:
        return ('"sgd",  # the book\'s text: SGD() with its default learning rate, 0.01\n'
                '                     # (the book\'s comment says 1e-3: wrong then and now)')
    if protocol.name == "book_comment":
        return (f"keras.optimizers.SGD(learning_rate={protocol.frozen_learning_rate}),  # what the book's comment\n"
                '                     # claims "sgd" means; the real default is 0.01')
    return f"keras.optimizers.SGD(learning_rate={protocol.frozen_learning_rate}),"


def keras_code(protocol: TransferProtocol) -> str:
    """The Keras 3 code one run of this protocol is equivalent to (shown on the page; a test runs it)."""
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
                     optimizer={_frozen_optimizer_code(protocol)}
                     metrics=["accuracy"])
model_B_on_A.fit(X_train_B, y_train_B, epochs={protocol.frozen_epochs}, validation_data=(X_valid_B, y_valid_B))

for layer in model_B_on_A.layers[:-1]:
    layer.trainable = True
model_B_on_A.compile(loss="binary_crossentropy",  # compile again after unfreezing
                     optimizer=keras.optimizers.SGD(learning_rate={protocol.unfrozen_learning_rate}),
                     metrics=["accuracy"])
model_B_on_A.fit(X_train_B, y_train_B, epochs={protocol.unfrozen_epochs}, validation_data=(X_valid_B, y_valid_B))
model_B_on_A.evaluate(X_test_B, y_test_B)
'''
