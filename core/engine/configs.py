"""What a run is made of: the architecture (`MLPConfig` and its layer plan), the phases, the data and the result.

Light: numpy only, so pages and the command line can build configs without importing TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from core import models

LOSS_FOR_OUTPUT = {"softmax": "sparse_categorical_crossentropy", "sigmoid": "binary_crossentropy"}


@dataclass(frozen=True)
class MLPConfig:
    """The architecture every copy shares: Flatten(28x28) -> [BN] -> hidden blocks -> output Dense."""

    hidden_units: tuple[int, ...] = models.TRANSFER_HIDDEN  # units of each hidden Dense layer
    activation: str = "selu"  # hidden activation: selu, elu, relu, tanh, sigmoid, softmax, linear
    initializer: str = "glorot_uniform"  # hidden kernel initializer (any Keras name: he_normal, ...)
    batch_norm: str = "none"  # BN per hidden layer: "after" the activation, "before" it (no bias), "none"
    input_batch_norm: bool = False  # BN on the flattened inputs, as in the book's BN model
    n_outputs: int = 8  # output units (1 for a sigmoid output)
    output_activation: str = "softmax"  # softmax -> sparse categorical CE; sigmoid -> binary CE
    bn_momentum: float = 0.99  # Keras 3 default
    bn_epsilon: float = 1e-3  # Keras 3 default

    def __post_init__(self):
        models.check_choice("batch_norm", self.batch_norm, models.BN_PLACEMENTS)
        models.check_choice("activation", self.activation, models.ACTIVATIONS)
        models.check_choice("output_activation", self.output_activation, tuple(LOSS_FOR_OUTPUT))
        if len(self.hidden_units) == 0 or min(self.hidden_units) < 1:
            raise ValueError(f"An MLP needs at least one hidden layer of at least one unit; "
                             f"got {list(self.hidden_units)}.")
        if self.output_activation == "sigmoid" and self.n_outputs != 1:
            raise ValueError(f"A sigmoid output (binary cross-entropy) needs 1 output unit, got {self.n_outputs}.")
        if not 0.0 <= self.bn_momentum < 1.0:
            raise ValueError(f"BN momentum must be in [0, 1), got {self.bn_momentum}.")

    @classmethod
    def model_a(cls) -> "MLPConfig":
        """Model A of the transfer experiment: five selu layers, 8-way softmax."""
        return cls()

    @classmethod
    def model_b(cls) -> "MLPConfig":
        """Model B: model A's hidden stack with one sigmoid output."""
        return cls(n_outputs=1, output_activation="sigmoid")

    @classmethod
    def book_bn(cls, batch_norm: str = "after") -> "MLPConfig":
        """The chapter's BN model (BN on the inputs, Dense 300 and 100 elu/he_normal, softmax 10)."""
        return cls((300, 100), "elu", "he_normal", batch_norm, batch_norm != "none", 10, "softmax")

    @classmethod
    def tiny(cls, batch_norm: str = "none", output_activation: str = "softmax") -> "MLPConfig":
        """A small net for tests and tiny presets."""
        n_outputs = 1 if output_activation == "sigmoid" else 4
        return cls((8, 6), "selu", "glorot_uniform", batch_norm, batch_norm != "none", n_outputs,
                   output_activation)

    @property
    def loss(self) -> str:
        return LOSS_FOR_OUTPUT[self.output_activation]

    def keras_model(self, seed: int):
        """The ordinary Keras model of one copy, initialised as Keras would for this seed."""
        model = models.mlp(self.hidden_units, self.activation, self.initializer, self.batch_norm,
                           input_batch_norm=self.input_batch_norm, n_outputs=self.n_outputs,
                           output_activation=self.output_activation, seed=seed)
        for layer in model.layers:
            if layer.__class__.__name__ == "BatchNormalization":
                layer.momentum, layer.epsilon = self.bn_momentum, self.bn_epsilon
        return model


@dataclass(frozen=True)
class Layer:
    """One layer that carries weights, in Keras order; `activation` is applied after it."""

    kind: str  # "dense" or "batch_norm"
    units: int  # output features
    activation: str  # applied to this layer's output ("linear" for none)
    use_bias: bool = True  # dense only

    @property
    def n_arrays(self) -> int:
        return 4 if self.kind == "batch_norm" else 1 + self.use_bias


def layer_plan(config: MLPConfig) -> tuple[Layer, ...]:
    """The weighted layers of the Keras model in model order (Flatten and Activation carry none)."""
    plan = [Layer("batch_norm", 28 * 28, "linear")] if config.input_batch_norm else []
    for units in config.hidden_units:
        if config.batch_norm == "before":
            plan += [Layer("dense", units, "linear", use_bias=False), Layer("batch_norm", units, config.activation)]
        else:
            plan.append(Layer("dense", units, config.activation))
            if config.batch_norm == "after":
                plan.append(Layer("batch_norm", units, "linear"))
    plan.append(Layer("dense", config.n_outputs, config.output_activation))
    return tuple(plan)


@dataclass(frozen=True)
class Phase:
    """A stretch of training with one optimizer setting and one set of frozen layers, for every copy or per copy.

    `learning_rate` and `frozen_layers` take one value for all copies, or a tuple with one value per copy
    (in seed order), so copies that differ only in these (the reuse grid's variants) share one graph.
    """

    epochs: int  # epochs in this phase
    learning_rate: float | tuple[float, ...] = 1e-3  # SGD learning rate (the book's 1e-3), or one per copy
    momentum: float = 0.0  # SGD momentum (0: plain SGD, as in the book)
    # Freeze weighted_layers[:frozen_layers]; -1 = all but the output layer; or one such count per copy.
    frozen_layers: int | tuple[int, ...] = 0

    def __post_init__(self):
        rates = np.atleast_1d(np.asarray(self.learning_rate, dtype=float))
        frozen = np.atleast_1d(np.asarray(self.frozen_layers))
        if (self.epochs < 0 or rates.size == 0 or not np.all(np.isfinite(rates)) or np.any(rates < 0)
                or not 0.0 <= self.momentum < 1.0 or frozen.size == 0 or frozen.dtype.kind not in "iu"):
            raise ValueError(f"A phase needs epochs >= 0, learning rates >= 0 (one, or one per copy), momentum in "
                             f"[0, 1) and whole numbers of frozen layers; got {self}.")

    @property
    def per_copy(self) -> bool:
        """Whether the learning rate or the frozen layers are given per copy."""
        return isinstance(self.learning_rate, tuple) or isinstance(self.frozen_layers, tuple)

    def learning_rates(self, copies: int) -> np.ndarray:
        """(copies,) float32: each copy's learning rate."""
        return _per_copy(self.learning_rate, copies, "learning rates").astype(np.float32)

    def frozen_counts(self, n_layers: int, copies: int) -> np.ndarray:
        """(copies,) int: how many leading weighted layers each copy freezes (-1 resolved to n_layers - 1)."""
        counts = _per_copy(self.frozen_layers, copies, "frozen layer counts").astype(np.int64)
        return np.where(counts < 0, counts + n_layers, counts)


def _per_copy(value, copies: int, what: str) -> np.ndarray:
    """One value broadcast to every copy, or a tuple that must hold one value per copy."""
    if not isinstance(value, tuple):
        return np.full(copies, value)
    if len(value) != copies:
        raise ValueError(f"A phase gives {len(value)} {what} but the run has {copies} copies; give one per copy.")
    return np.asarray(value)


@dataclass(frozen=True, eq=False)
class Subsets:
    """Per-copy subsets of one shared image array: copy k uses images[rows[k]] with labels[k].

    The subsets may differ in size (ragged): copy k's epoch is then one pass over its own n_k images in
    ceil(n_k / batch_size) steps, the last one short, in the order `batch_order(seed_k, epoch, n_k)`, as
    model.fit on those images would run it; a copy with fewer steps sits out the stacked epoch's last steps
    (no update, no BN statistics). Its epoch loss and accuracy are means over its own n_k images. Used for
    the 45 model As (each pair's task A is the other eight classes of one training array) and for evaluation
    sets that differ per copy.
    """

    images: np.ndarray  # (N, 28, 28) float32, shared by every copy
    rows: tuple  # K integer arrays: copy k's (n_k,) row numbers into images
    labels: tuple  # K arrays: copy k's (n_k,) labels, in the order of its rows

    def __post_init__(self):
        if len(self.rows) == 0 or len(self.rows) != len(self.labels):
            raise ValueError(f"Subsets need one row array and one label array per copy; got {len(self.rows)} row "
                             f"arrays and {len(self.labels)} label arrays.")
        n_images = len(self.images)
        for copy, (rows, labels) in enumerate(zip(self.rows, self.labels)):
            rows = np.asarray(rows)
            if rows.ndim != 1 or len(rows) == 0 or np.shape(labels) != rows.shape or rows.dtype.kind not in "iu":
                raise ValueError(f"Copy {copy}'s subset needs a non-empty 1-D array of whole row numbers and as many "
                                 f"labels; got rows {rows.shape} ({rows.dtype}) and labels {np.shape(labels)}.")
            if rows.min() < 0 or rows.max() >= n_images:
                raise ValueError(f"Copy {copy}'s rows must lie between 0 and {n_images - 1} (the shared array holds "
                                 f"{n_images} images); got {rows.min()} to {rows.max()}.")

    @property
    def copies(self) -> int:
        return len(self.rows)

    @property
    def sizes(self) -> np.ndarray:
        """(K,): each copy's number of images."""
        return np.array([len(rows) for rows in self.rows])


@dataclass(frozen=True, eq=False)
class Data:
    """Training data plus optional validation and test sets; each shared (n, ...), per copy (K, n, ...), or
    per-copy subsets of one shared array (an `x_*` that is a `Subsets`, with its `y_*` left None)."""

    x_train: np.ndarray | Subsets  # (n, 28, 28) or (K, n, 28, 28) float32, or Subsets
    y_train: Optional[np.ndarray] = None  # (n,) or (K, n): class ids, or 0/1 for a sigmoid output; None for Subsets
    x_valid: Optional[np.ndarray | Subsets] = None  # (m, 28, 28), (K, m, 28, 28) or Subsets: evaluated every epoch
    y_valid: Optional[np.ndarray] = None  # (m,) or (K, m); None for Subsets
    x_test: Optional[np.ndarray | Subsets] = None  # evaluated once, after the last epoch
    y_test: Optional[np.ndarray] = None

    @classmethod
    def of_subsets(cls, train: Subsets, valid: Optional[Subsets] = None, test: Optional[Subsets] = None) -> "Data":
        """Training, validation and test sets each given as per-copy subsets of a shared array."""
        return cls(train, None, valid, None, test, None)


@dataclass(frozen=True, eq=False)
class RunResult:
    """Everything a run measured; every array has the seeds on its first axis."""

    seeds: tuple[int, ...]
    loss: np.ndarray  # (n_seeds, n_epochs) training loss (mean over the epoch's samples)
    accuracy: np.ndarray  # (n_seeds, n_epochs)
    val_loss: np.ndarray  # (n_seeds, n_epochs); NaN without validation data
    val_accuracy: np.ndarray  # (n_seeds, n_epochs)
    test_loss: Optional[np.ndarray]  # (n_seeds,) after the last epoch, or None without test data
    test_accuracy: Optional[np.ndarray]  # (n_seeds,)
    weights: tuple[np.ndarray, ...]  # final weights, Keras get_weights() order, copy axis first
    grad_norm: Optional[np.ndarray]  # (n_seeds, n_steps) global norm of the trainable gradients
    layer_grad_norm: Optional[np.ndarray]  # (n_seeds, n_steps, n_dense) kernel gradient norms; NaN if frozen
    seconds: float  # wall time of the run


def weight_shapes(config: MLPConfig) -> list[tuple[int, ...]]:
    """Shapes of one copy's weights in Keras get_weights() order (no Keras model is built)."""
    shapes, fan_in = [], 28 * 28
    for layer in layer_plan(config):
        if layer.kind == "dense":
            shapes += [(fan_in, layer.units)] + ([(layer.units,)] if layer.use_bias else [])
            fan_in = layer.units
        else:
            shapes += [(layer.units,)] * 4
    return shapes
