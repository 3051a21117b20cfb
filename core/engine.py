"""Stacked-seed training: K independent copies of one MLP trained in a single TensorFlow graph.

Every weight carries a leading copy axis (a Dense kernel is (K, fan_in, fan_out)), every layer
runs as one batched matmul over the copies, and the loss is the sum of the copies' own mean
losses, so the gradient that reaches copy k is exactly the gradient its own Keras model would get.
Each copy starts from the weights `core.models.mlp(..., seed=s)` gives for its seed and draws its
own batch order. A whole epoch runs inside one `tf.function` loop: Python does no work per step.
tests/test_engine.py checks the central claim against separate Keras models, to float32 tolerance.

Three ways to run an epoch, all the same arithmetic up to float32 rounding (each tested against Keras):
- sample space (training sets under 512 images, first layer a Dense): the first kernel is kept as
  W0 + X^T C and C is trained, a quarter of the work for the 200-image B phase (see `_Run`);
- one XLA-compiled loop per copy, the loops side by side on the cores (long weight-space runs);
- one batched graph for all copies (short runs, and whenever gradient norms are recorded).

Usage (model A of the transfer experiment for three seeds, then B on A from its hidden layers):

    from core import engine
    a_config = engine.MLPConfig.model_a()
    run_a = engine.train(a_config, engine.Data(x_a, y_a, x_valid_a, y_valid_a),
                         [engine.Phase(epochs=20, learning_rate=1e-3)], seeds=(0, 1, 2))
    run_a.val_accuracy                  # (3, 20): one row per seed
    b_config = engine.MLPConfig.model_b()
    start = engine.transfer_weights(run_a.weights, a_config, b_config, seeds=(0, 1, 2))
    phases = [engine.Phase(4, 1e-3, frozen_layers=-1), engine.Phase(16, 1e-4)]
    run_b = engine.train(b_config, engine.Data(x_b, y_b, x_vb, y_vb, x_tb, y_tb), phases,
                         seeds=(0, 1, 2), initial=start)
    run_b.test_accuracy                 # (3,)
    engine.keras_model(b_config, run_b.weights, copy=0).summary()

The public API:
- `MLPConfig` (frozen): layer units, activation, initializer, BN placement ("after" / "before" /
  "none"), input BN, outputs (softmax -> sparse categorical CE, sigmoid -> binary CE), BN momentum
  and epsilon; presets `model_a()`, `model_b()`, `book_bn(placement)`, `tiny()`.
- `Phase(epochs, learning_rate, momentum, frozen_layers)`: SGD settings for a stretch of epochs;
  `frozen_layers=n` freezes the first n layers that carry weights (Dense and BatchNormalization, in
  model order, as `[l for l in model.layers if l.weights]`); -1 freezes all but the output layer.
- `train(config, data, phases, seeds, batch_size=32, initial=None, first_epoch=0,
  record_grad_norms=False, progress=None) -> RunResult` with history arrays (n_seeds, n_epochs),
  test metrics (n_seeds,), optional per-step gradient norms, the final weights and the wall time.
- Weights: `initial_weights(config, seeds)`, `transfer_weights(...)`, `weights_from_keras(models)`,
  `keras_model(config, weights, copy)`, `evaluate(config, weights, x, y)`, `batch_order(seed, epoch, n)`.

Weights travel as a tuple of numpy arrays in Keras `model.get_weights()` order, each with the
copy axis first, so copy k's Keras weights are `[w[k] for w in weights]`.
Data is shared by all copies (x: (n, 28, 28), y: (n,)) or per copy (x: (K, n, 28, 28), y: (K, n)).
Semantics follow Keras 3: a frozen BatchNormalization layer runs in inference mode, each phase
starts with a fresh optimizer (the book recompiles after every freeze/unfreeze), the epoch loss is
the mean over the epoch's samples measured before each step's update, the last batch may be short.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from core import models
from core.progress import ProgressCallback, report

LOSS_FOR_OUTPUT = {"softmax": "sparse_categorical_crossentropy", "sigmoid": "binary_crossentropy"}
EVAL_CHUNK = 2048  # images per copy evaluated at once (bounds memory for many copies)
SAMPLE_SPACE_MAX_IMAGES = 512  # train the first Dense in sample space below this training-set size (see _Run)
SAMPLE_SPACE_MAX_FLOATS = 2 ** 26  # largest (K, n_valid, units) product kept for sample-space validation (256 MB)
PARALLEL_COPIES = True  # weight-space training runs one XLA loop per copy (False: one batched graph for all copies)
PARALLEL_MIN_IMAGE_EPOCHS = 20_000  # ...for runs this long (images x epochs): XLA compiles for 2-4 s per data shape


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
        models._check_choice("batch_norm", self.batch_norm, models.BN_PLACEMENTS)
        models._check_choice("activation", self.activation, models.ACTIVATIONS)
        models._check_choice("output_activation", self.output_activation, tuple(LOSS_FOR_OUTPUT))
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
                           self.input_batch_norm, self.n_outputs, self.output_activation, seed=seed)
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
    """A stretch of training with one optimizer setting and one set of frozen layers."""

    epochs: int  # epochs in this phase
    learning_rate: float = 1e-3  # SGD learning rate (the book's 1e-3)
    momentum: float = 0.0  # SGD momentum (0: plain SGD, as in the book)
    frozen_layers: int = 0  # freeze weighted_layers[:frozen_layers]; -1 = all but the output layer

    def __post_init__(self):
        if self.epochs < 0 or self.learning_rate < 0 or not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"A phase needs epochs >= 0, learning_rate >= 0 and momentum in [0, 1); got {self}.")


@dataclass(frozen=True, eq=False)
class Data:
    """Training data plus optional validation and test sets; each shared (n, ...) or per copy (K, n, ...)."""

    x_train: np.ndarray  # (n, 28, 28) or (K, n, 28, 28) float32
    y_train: np.ndarray  # (n,) or (K, n): class ids, or 0/1 for a sigmoid output
    x_valid: Optional[np.ndarray] = None
    y_valid: Optional[np.ndarray] = None
    x_test: Optional[np.ndarray] = None
    y_test: Optional[np.ndarray] = None


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


# ---- weights ----

def initial_weights(config: MLPConfig, seeds: Sequence[int], skip_layers: int = 0) -> tuple[np.ndarray, ...]:
    """Stack the initial weights of each seed's Keras model: copy k equals `config.keras_model(seeds[k])`.

    `skip_layers=n` leaves out the arrays of the first n weighted layers (not drawn at all).
    """
    per_seed = [_keras_initial_arrays(config, seed, skip_layers) for seed in seeds]
    return tuple(np.stack(arrays) for arrays in zip(*per_seed))


def _keras_initial_arrays(config: MLPConfig, seed: int, skip_layers: int = 0) -> list[np.ndarray]:
    """What `config.keras_model(seed).get_weights()` holds, without building the model (30x faster).

    Keras 3 gives every random initializer an integer seed drawn from Python's `random` when the
    initializer is created, i.e. once per Dense layer in model order after `set_random_seed`; the
    draws themselves are stateless. tests/test_engine.py checks the result against the real model.
    Skipped layers still create their initializer (which advances the generator) but draw nothing.
    """
    import random

    import keras

    plan = layer_plan(config)
    # Only Python's generator: `keras.utils.set_random_seed` would also reset TensorFlow's global seed,
    # which clears TF's kernel caches and costs about a second on every later compiled call.
    random.seed(seed)
    dense = [layer for layer in plan if layer.kind == "dense"]
    names = [config.initializer] * (len(dense) - 1) + ["glorot_uniform"]  # the output Dense keeps the default
    initializers = iter([keras.initializers.get(name) for name in names])
    arrays, fan_in = [], 28 * 28
    for index, layer in enumerate(plan):
        initializer = next(initializers) if layer.kind == "dense" else None
        if index < skip_layers:
            fan_in = layer.units if layer.kind == "dense" else fan_in
        elif layer.kind == "dense":
            arrays.append(np.asarray(initializer((fan_in, layer.units), "float32")))
            arrays += [np.zeros(layer.units, np.float32)] if layer.use_bias else []
            fan_in = layer.units
        else:
            ones, zeros = np.ones(layer.units, np.float32), np.zeros(layer.units, np.float32)
            arrays += [ones, zeros, zeros, ones]  # gamma, beta, moving mean, moving variance
    return arrays


def weights_from_keras(keras_models) -> tuple[np.ndarray, ...]:
    """Stack the current weights of same-architecture Keras models along a new copy axis."""
    per_model = [model.get_weights() for model in keras_models]
    return tuple(np.stack(arrays).astype(np.float32) for arrays in zip(*per_model))


def keras_model(config: MLPConfig, weights: Sequence[np.ndarray], copy: int):
    """Copy `copy` as an ordinary Keras model (for summaries, saving as .keras, inspection)."""
    model = config.keras_model(seed=0)
    model.set_weights([array[copy] for array in weights])
    return model


def transfer_weights(source: Sequence[np.ndarray], source_config: MLPConfig, target_config: MLPConfig,
                     seeds: Sequence[int], reused_layers: int = -1) -> tuple[np.ndarray, ...]:
    """Target weights: the first `reused_layers` weighted layers copied from `source`, the rest fresh per seed.

    The default -1 reuses every layer but the output, as B on A does with model A.
    """
    source_plan, target_plan = layer_plan(source_config), layer_plan(target_config)
    reused = range(len(target_plan))[:reused_layers]
    if any(i >= len(source_plan) or source_plan[i] != target_plan[i] for i in reused):
        raise ValueError("The reused layers of the source and target architectures differ; "
                         "only identical leading layers can be transferred.")
    if source[0].shape[0] != len(seeds):
        raise ValueError(f"The source weights hold {source[0].shape[0]} copies but {len(seeds)} seeds were given.")
    n_reused = sum(target_plan[i].n_arrays for i in reused)
    fresh = initial_weights(target_config, seeds, skip_layers=len(reused))  # only the layers not reused
    return tuple(np.array(a, np.float32) for a in source[:n_reused]) + fresh


# ---- the graph ----

def _activation(name: str):
    import tensorflow as tf

    return {"selu": tf.nn.selu, "elu": tf.nn.elu, "relu": tf.nn.relu, "tanh": tf.tanh, "sigmoid": tf.sigmoid,
            "softmax": tf.nn.softmax, "linear": tf.identity}[name]


def _matmul(a, b, **kwargs):
    """Batched matmul where a rank-2 operand (shared by all copies) broadcasts over the copies."""
    import tensorflow as tf

    if a.shape.rank == 2 and b.shape.rank == 3:
        a = a[None]
    elif b.shape.rank == 2 and a.shape.rank == 3:
        b = b[None]
    return tf.linalg.matmul(a, b, **kwargs)


def _forward(config: MLPConfig, params, x, bn_training, first=None):
    """Logits (K, b, n_outputs) and {index: new moving statistic}; x is (b, f) shared or (K, b, f).

    `first`, if given, replaces x @ kernel of the first Dense layer (the sample-space path computes it).
    """
    import tensorflow as tf

    plan, h, i, updates = layer_plan(config), x, 0, {}
    for index, layer in enumerate(plan):
        if layer.kind == "dense":
            h = first if index == 0 and first is not None else _matmul(h, params[i])
            h = h + tf.expand_dims(params[i + 1], 1) if layer.use_bias else h  # (K, 1, units): cheap to differentiate
        else:
            h, updates = _batch_norm(config, params[i:i + 4], h, i, bn_training[index], updates)
        if index < len(plan) - 1:
            h = _activation(layer.activation)(h)
        i += layer.n_arrays
    return h, updates


def _batch_norm(config: MLPConfig, arrays, h, first_index: int, training: bool, updates: dict):
    """Per-copy BN over the batch axis; in training mode also the new moving mean and variance."""
    import tensorflow as tf

    gamma, beta, moving_mean, moving_var = arrays
    if h.shape.rank == 2:  # shared inputs: give every copy its own view
        h = tf.broadcast_to(h[None], [tf.shape(gamma)[0], tf.shape(h)[0], h.shape[1]])
    if training:
        mean, var = tf.nn.moments(h, axes=[1])
        m = config.bn_momentum
        updates = {**updates, first_index + 2: moving_mean * m + mean * (1.0 - m),
                   first_index + 3: moving_var * m + var * (1.0 - m)}
    else:
        mean, var = moving_mean, moving_var
    expand = functools.partial(tf.expand_dims, axis=1)
    out = tf.nn.batch_normalization(h, expand(mean), expand(var), expand(beta), expand(gamma), config.bn_epsilon)
    return out, updates


def _losses_and_hits(config: MLPConfig, logits, y):
    """Per-sample losses and correct-prediction flags, both (K, b)."""
    import tensorflow as tf

    if config.output_activation == "softmax":
        y = tf.broadcast_to(tf.cast(y, tf.int32), tf.shape(logits)[:2])  # float32 class ids are exact
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        hits = tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), y)
    else:
        y = tf.broadcast_to(tf.cast(y, tf.float32), tf.shape(logits)[:2])
        losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits[..., 0])
        hits = tf.equal(tf.cast(tf.sigmoid(logits[..., 0]) > 0.5, tf.float32), y)
    return losses, tf.cast(hits, tf.float32)


def _trainable_indices(config: MLPConfig, frozen_layers: int) -> tuple[tuple[int, ...], tuple[bool, ...]]:
    """Indices of the trainable arrays, and per layer whether BN runs in training mode (not frozen)."""
    plan = layer_plan(config)
    frozen = set(range(len(plan))[:frozen_layers])
    trainable, i = [], 0
    for index, layer in enumerate(plan):
        learned = 2 if layer.kind == "batch_norm" else layer.n_arrays  # gamma, beta; not the moving stats
        if index not in frozen:
            trainable += range(i, i + learned)
        i += layer.n_arrays
    return tuple(trainable), tuple(index not in frozen for index in range(len(plan)))


def _kernel_indices(config: MLPConfig) -> tuple[int, ...]:
    plan = layer_plan(config)
    starts = np.cumsum([0] + [layer.n_arrays for layer in plan])
    return tuple(int(starts[index]) for index, layer in enumerate(plan) if layer.kind == "dense")


def _per_copy_norm(tensors):
    import tensorflow as tf

    return tf.sqrt(tf.add_n([tf.reduce_sum(tf.square(t), axis=list(range(1, t.shape.rank))) for t in tensors]))


def _specs(shapes) -> list:
    """Tensor specs for weight arrays with any number of copies."""
    import tensorflow as tf

    return [tf.TensorSpec([None, *shape], tf.float32) for shape in shapes]


def _data_spec(per_copy: bool, x: bool):
    """Images (n, 784) or (K, n, 784); labels (n,) or (K, n), always float32 (class ids are exact)."""
    import tensorflow as tf

    return tf.TensorSpec([None] * (1 + per_copy) + ([28 * 28] if x else []), tf.float32)


def _step_function(config: MLPConfig, frozen_layers: int, per_copy_data: bool, momentum: bool, differentiate: bool,
                   learning: bool, sample_space: bool):
    """One SGD step over the copies whose variables it is given (see `_epoch_function` for the arguments)."""
    import tensorflow as tf

    trainable, bn_training = _trainable_indices(config, frozen_layers)
    first_learned = sample_space and 0 in trainable  # array 0 is the first Dense kernel

    def step(params, velocity, x, y, batch, lr, beta, sample_state):
        xb = tf.gather(x, batch, batch_dims=1) if per_copy_data else tf.gather(x, batch)
        yb = tf.gather(y, batch, batch_dims=1) if per_copy_data else tf.gather(y, batch)
        first, targets = None, [params[i] for i in trainable]
        if sample_space:  # xb holds the batch's rows of X X^T
            start_product, c = sample_state
            first = tf.gather(start_product, batch, batch_dims=1)
            first = first + _matmul(xb, c) if first_learned else first
            targets = [c] + targets[1:] if first_learned else targets
        watched = [first] + targets[1:] if first_learned else targets
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(watched)
            logits, updates = _forward(config, params, xb, bn_training, first)
            losses, hits = _losses_and_hits(config, logits, yb)
            total = tf.reduce_sum(tf.reduce_mean(losses, axis=1))  # the copies' own means, summed
            total = total * lr if learning else total
        grads = tape.gradient(total, watched) if differentiate else []
        for i, value in updates.items():  # BN moving statistics from this batch (Keras updates them in the call)
            params[i].assign(value)
        if learning and first_learned:  # the batch's rows of C take the first layer's output gradient
            rows = tf.stack([tf.broadcast_to(tf.range(tf.shape(batch)[0])[:, None], tf.shape(batch)), batch], axis=-1)
            grads = [tf.scatter_nd(rows, grads[0], tf.shape(c)) if momentum else (rows, grads[0])] + grads[1:]
        if learning and momentum:  # Keras 3 SGD: v = beta * v - lr * g; w += v (here lr * g is the gradient)
            for target, v, g in zip(targets, velocity, grads):
                tf.raw_ops.ResourceApplyKerasMomentum(var=target.handle, accum=v.handle, lr=tf.constant(1.0),
                                                      grad=g, momentum=beta, use_nesterov=False)
        elif learning:  # Keras 3 SGD: w -= lr * g
            for target, g in zip(targets, grads):
                target.scatter_nd_sub(*g) if isinstance(g, tuple) else target.assign_sub(g)
        return grads, losses, hits

    return step


@functools.lru_cache(maxsize=32)
def _epoch_function(config: MLPConfig, frozen_layers: int, per_copy_data: bool, momentum: bool, record_norms: bool,
                    learning: bool, sample_space: bool = False):
    """A compiled function running one whole epoch of SGD over all copies (cached per configuration).

    The weights live in variables and are updated in place. When `learning` (the learning rate is
    above zero) the loss is multiplied by the learning rate before differentiating, so backprop
    yields lr * gradient directly and each kernel is touched once per step (one subtraction) rather
    than three times (gradient, scaling, subtraction): on this machine the update of a stacked
    784x300 kernel is limited by memory traffic, not arithmetic. Without learning no weight changes
    and gradients are computed only when their norms are recorded; BN statistics move either way.

    With `sample_space` the first Dense layer is kept as W = W0 + X^T C (see `_Run`): `x` holds the
    Gram matrix X X^T, `sample_state` is (X W0, C), the step computes x_b W = (X W0)_b + (X X^T)_b C
    and applies the SGD update to the batch's rows of C, which is exactly W -= lr * x_b^T dh.
    """
    import tensorflow as tf

    trainable, bn_training = _trainable_indices(config, frozen_layers)
    kernels = _kernel_indices(config)
    differentiate = learning or record_norms

    def norms_of(grads, copies, lr):
        by_index = dict(zip(trainable, grads))
        per_layer = [_per_copy_norm([by_index[i]]) if i in by_index else tf.fill([copies], np.nan) for i in kernels]
        global_norm, per_layer = _per_copy_norm(grads), tf.stack(per_layer, axis=1)
        return (global_norm / lr, per_layer / lr) if learning else (global_norm, per_layer)

    step = _step_function(config, frozen_layers, per_copy_data, momentum, differentiate, learning, sample_space)

    @tf.function(autograph=False)  # an explicit while loop: tracing without AutoGraph is about twice as fast
    def epoch(params, velocity, x, y, order, batch_size, lr, beta, sample_state):
        copies, n = tf.shape(order)[0], tf.shape(order)[1]
        n_steps = (n + batch_size - 1) // batch_size
        norms = tf.TensorArray(tf.float32, size=n_steps if record_norms else 0, element_shape=[None])
        layer_norms = tf.TensorArray(tf.float32, size=n_steps if record_norms else 0,
                                     element_shape=[None, len(kernels)])

        def body(s, loss_sum, hit_sum, norms, layer_norms):
            batch = order[:, s * batch_size:tf.minimum((s + 1) * batch_size, n)]
            grads, losses, hits = step(params, velocity, x, y, batch, lr, beta, sample_state)
            if record_norms:
                global_norm, per_layer = norms_of(grads, copies, lr)
                norms, layer_norms = norms.write(s, global_norm), layer_norms.write(s, per_layer)
            return s + 1, loss_sum + tf.reduce_sum(losses, axis=1), hit_sum + tf.reduce_sum(hits, axis=1), norms, \
                layer_norms

        start = (tf.constant(0), tf.zeros([copies]), tf.zeros([copies]), norms, layer_norms)
        _, loss_sum, hit_sum, norms, layer_norms = tf.while_loop(lambda s, *_: s < n_steps, body, start)
        n_float = tf.cast(n, tf.float32)
        outputs = (loss_sum / n_float, hit_sum / n_float)
        return outputs + ((norms.stack(), layer_norms.stack()) if record_norms else ())

    return epoch


def _variable(value, open_dims: int = 1, trainable: bool = False):
    """A variable whose first `open_dims` dimensions are left open, so compiled functions taking it as an
    argument are traced once for any number of copies or samples."""
    import tensorflow as tf

    value = tf.convert_to_tensor(value)
    shape = [None] * open_dims + value.shape.as_list()[open_dims:]
    return tf.Variable(value, trainable=trainable, shape=tf.TensorShape(shape))


def _copy_epoch_function(config: MLPConfig, frozen_layers: int, momentum: bool, learning: bool, batch_size: int):
    """One copy's whole epoch compiled by XLA (its variables hold a copy axis of length 1).

    Not cached: a tf.function traced inside one trace of the outer function and then reused by a
    later trace keeps references to the first trace's variables, which TensorFlow then rejects.

    XLA fuses the step's many small operations, which TensorFlow's executor would run one by one,
    but it needs static shapes: the full batches run in a while loop, the short last batch after it.
    """
    import tensorflow as tf

    step = _step_function(config, frozen_layers, False, momentum, learning, learning, False)

    @tf.function(jit_compile=True, autograph=False)
    def epoch(params, velocity, x, y, order, lr, beta):
        n = order.shape[1]

        def run(batch, loss_sum, hit_sum):
            _, losses, hits = step(params, velocity, x, y, batch, lr, beta, ())
            return loss_sum + tf.reduce_sum(losses, axis=1), hit_sum + tf.reduce_sum(hits, axis=1)

        def body(s, loss_sum, hit_sum):
            return (s + 1, *run(tf.slice(order, [0, s * batch_size], [1, batch_size]), loss_sum, hit_sum))

        _, loss_sum, hit_sum = tf.while_loop(lambda s, *_: s < n // batch_size, body,
                                             (tf.constant(0), tf.zeros([1]), tf.zeros([1])))
        if n % batch_size:
            loss_sum, hit_sum = run(order[:, n - n % batch_size:], loss_sum, hit_sum)
        return loss_sum / n, hit_sum / n

    return epoch


@functools.lru_cache(maxsize=32)
def _parallel_epoch_function(config: MLPConfig, frozen_layers: int, per_copy_data: bool, momentum: bool,
                             learning: bool, batch_size: int):
    """One epoch of every copy, each copy an XLA-compiled loop; the loops are independent, so they share the cores.

    On a 2-core machine this beats one batched graph for large training sets: for model A at K=10,
    about 5 ms per step for all copies against about 8 ms (see bench/engine_speed.py).
    """
    import tensorflow as tf

    @tf.function(autograph=False)
    def epoch(params, velocity, x, y, order, lr, beta):
        copy_epoch = _copy_epoch_function(config, frozen_layers, momentum, learning, batch_size)  # fresh per trace
        results = [copy_epoch(params[k], velocity[k], x[k] if per_copy_data else x, y[k] if per_copy_data else y,
                              order[k:k + 1], lr, beta) for k in range(len(params))]
        return tf.concat([loss for loss, _ in results], 0), tf.concat([hits for _, hits in results], 0)

    return epoch


@functools.lru_cache(maxsize=32)
def _eval_function(config: MLPConfig, per_copy_x: bool, per_copy_y: bool, sample_space: bool = False):
    """A compiled function: summed loss and hits per copy on one chunk, BN in inference mode.

    With `sample_space`, x is the chunk's rows of X_eval X^T and two more arguments give
    X_eval W0 (K, m, units) and C, so the first layer's product is X_eval W0 + (X_eval X^T) C.
    """
    import tensorflow as tf

    inference = (False,) * len(layer_plan(config))
    shapes = weight_shapes(config)
    x_spec = tf.TensorSpec([None] * (2 + per_copy_x), tf.float32) if sample_space else _data_spec(per_copy_x, x=True)
    signature = (_specs(shapes), x_spec, _data_spec(per_copy_y, x=False))
    signature += (tf.TensorSpec([None, None, shapes[0][1]], tf.float32), tf.TensorSpec([None, None, shapes[0][1]],
                                                                                       tf.float32)) if sample_space else ()

    @tf.function(input_signature=signature, autograph=False)
    def evaluate_chunk(params, x, y, *sample_state):
        first = sample_state[0] + _matmul(x, sample_state[1]) if sample_space else None
        logits, _ = _forward(config, params, x, inference, first)
        losses, hits = _losses_and_hits(config, logits, y)
        return tf.reduce_sum(losses, axis=1), tf.reduce_sum(hits, axis=1)

    return evaluate_chunk


# ---- running ----

def _flat(x: np.ndarray, y: np.ndarray, copies: int, role: str):
    """Check one (x, y) pair and flatten the images: (n, f) shared or (K, n, f) per copy."""
    x, y = np.asarray(x, np.float32), np.asarray(y)
    per_copy = y.ndim == 2
    if per_copy and y.shape[0] != copies:
        raise ValueError(f"Per-copy {role} labels hold {y.shape[0]} copies, but {copies} seeds were given.")
    if y.ndim not in (1, 2) or x.shape[:y.ndim] != y.shape or x.shape[y.ndim:] != (28, 28):
        raise ValueError(f"{role} images must be (n, 28, 28) with labels (n,), or (K, n, 28, 28) with labels (K, n); "
                         f"got images {x.shape} and labels {y.shape}.")
    if y.shape[-1] == 0:
        raise ValueError(f"The {role} set is empty.")
    return x.reshape(*y.shape, 28 * 28), y.astype(np.float32), per_copy


def batch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The shuffled sample order a copy with this seed uses in this epoch (counted over the whole run)."""
    return np.random.default_rng([seed, epoch]).permutation(n).astype(np.int32)


def evaluate(config: MLPConfig, weights: Sequence[np.ndarray], x: np.ndarray, y: np.ndarray):
    """Mean loss and accuracy of every copy on (x, y), BN in inference mode: two (K,) arrays.

    x, y: shared (n, 28, 28), (n,) or per copy (K, n, 28, 28), (K, n); weights as numpy, tensors or variables.
    """
    return _Evaluator(config, x, y, weights[0].shape[0], "evaluation")(weights)


class _Evaluator:
    """One evaluation set, checked, flattened and cut into chunks once; called with weights, as often as needed."""

    def __init__(self, config: MLPConfig, x: np.ndarray, y: np.ndarray, copies: int, role: str):
        import tensorflow as tf

        x, y, self.per_copy = _flat(x, y, copies, role)
        self.config, self.n, self.sample_chunks, self.gram = config, y.shape[-1], None, None
        parts = [slice(start, start + EVAL_CHUNK) for start in range(0, self.n, EVAL_CHUNK)]
        self.chunks = [(tf.constant(x[:, part]), tf.constant(y[:, part])) if self.per_copy else
                       (tf.constant(x[part]), tf.constant(y[part])) for part in parts]

    def start_sample_space(self, x_train, start_kernel) -> bool:
        """Prepare sample-space evaluation for a phase whose first kernel is start_kernel + X^T C; False if too big."""
        copies, units = start_kernel.shape[0], start_kernel.shape[2]
        if copies * self.n * units > SAMPLE_SPACE_MAX_FLOATS:
            self.sample_chunks = None
            return False
        if self.gram is None:  # X_eval X^T, once per run
            self.gram = [_matmul(x, x_train, transpose_b=True) for x, _ in self.chunks]
        self.sample_chunks = [(gram, y, _matmul(x, start_kernel)) for gram, (x, y) in zip(self.gram, self.chunks)]
        return True

    def __call__(self, weights, c=None) -> tuple[np.ndarray, np.ndarray]:
        """Mean loss and accuracy per copy; with C, through the sample-space chunks prepared for this phase."""
        import tensorflow as tf

        params = [tf.convert_to_tensor(w, tf.float32) for w in weights]
        loss, hits = np.zeros(params[0].shape[0]), np.zeros(params[0].shape[0])
        if c is None:
            function, chunks = _eval_function(self.config, self.per_copy, self.per_copy), self.chunks
        else:
            function = _eval_function(self.config, self.sample_chunks[0][0].shape.rank == 3, self.per_copy, True)
            c = tf.convert_to_tensor(c)
            chunks = [(gram, y, start_product, c) for gram, y, start_product in self.sample_chunks]
        for chunk in chunks:
            chunk_loss, chunk_hits = function(params, *chunk)
            loss, hits = loss + chunk_loss.numpy(), hits + chunk_hits.numpy()
        return (loss / self.n).astype(np.float32), (hits / self.n).astype(np.float32)


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


def _check_run(config: MLPConfig, phases, seeds, batch_size, weights) -> None:
    if len(seeds) == 0 or len(set(seeds)) != len(seeds):
        raise ValueError(f"Give at least one seed, each once; got {list(seeds)}.")
    if batch_size < 1:
        raise ValueError(f"The batch size must be at least 1, got {batch_size}.")
    if len(phases) == 0:
        raise ValueError("Give at least one training phase.")
    n_layers = len(layer_plan(config))
    if any(not -n_layers < phase.frozen_layers < n_layers for phase in phases):
        raise ValueError(f"This net has {n_layers} layers with weights; frozen_layers must leave at least one "
                         f"trainable, so it must lie between {1 - n_layers} and {n_layers - 1}.")
    if weights is not None and ([tuple(w.shape[1:]) for w in weights] != weight_shapes(config) or
                                any(w.shape[0] != len(seeds) for w in weights)):
        raise ValueError(f"The initial weights do not fit this architecture and {len(seeds)} seeds.")


def train(config: MLPConfig, data: Data, phases: Sequence[Phase], seeds: Sequence[int], batch_size: int = 32,
          initial: Optional[Sequence[np.ndarray]] = None, first_epoch: int = 0, record_grad_norms: bool = False,
          progress: Optional[ProgressCallback] = None) -> RunResult:
    """Train one copy per seed through the phases; copy k starts from `initial` or seed k's Keras init.

    `first_epoch` numbers the epochs for shuffling: pass the epochs already run to continue a run
    with fresh batch orders. `progress(done, total, message)` is called after every epoch.
    """
    started = time.perf_counter()
    seeds = tuple(int(seed) for seed in seeds)
    _check_run(config, phases, seeds, batch_size, initial)
    for role, x, y in (("validation", data.x_valid, data.y_valid), ("test", data.x_test, data.y_test)):
        if (x is None) != (y is None):
            raise ValueError(f"Give both {role} images and {role} labels, or neither.")
        if y is not None:
            _flat(x, y, len(seeds), role)  # fail before training, not after the first epoch
    run = _Run(config, data, seeds, batch_size, record_grad_norms, progress, sum(p.epochs for p in phases))
    weights = initial_weights(config, seeds) if initial is None else initial
    for number, phase in enumerate(phases, start=1):
        weights = run.phase(number, phase, weights, first_epoch)
    test = evaluate(config, weights, data.x_test, data.y_test) if data.y_test is not None else (None, None)
    return run.result(weights, test, time.perf_counter() - started)


def uses_sample_space(config: MLPConfig, n_train: int, record_grad_norms: bool = False) -> bool:
    """Whether train() keeps the first Dense kernel in sample space (see `_Run`) for this many training images."""
    return (layer_plan(config)[0].kind == "dense" and not record_grad_norms
            and n_train <= min(SAMPLE_SPACE_MAX_IMAGES, 28 * 28))


class _Run:
    """The state of one train() call: data on the TensorFlow side, and the history filled epoch by epoch.

    Sample space. When the training set has fewer images than the first Dense layer has inputs, that
    layer's SGD updates x_b^T dh all lie in the span of the n training images, so its kernel stays
    W = W0 + X^T C with C of shape (n, units) per copy (W0: the kernel at the phase start). A phase
    then trains C instead of W: the forward product x_b W is (X W0)_b + (X X^T)_b C, and the update
    W -= lr x_b^T dh is exactly C[batch] -= lr dh (momentum likewise, by linearity). Validation uses
    X_valid W0 + (X_valid X^T) C, and W is formed once at the phase end. Same arithmetic as Keras up
    to float32 rounding (tests/test_engine.py checks both paths against Keras); for the 200-image
    B phase it replaces 784-long products by 200-long ones and never touches the 784 x 300 kernel.
    """

    def __init__(self, config, data, seeds, batch_size, record_grad_norms, progress, total_epochs):
        import tensorflow as tf

        self.config, self.seeds, self.record, self.progress = config, seeds, record_grad_norms, progress
        x, y, self.per_copy = _flat(data.x_train, data.y_train, len(seeds), "training")
        self.n, open_dims = y.shape[-1], 1 + self.per_copy
        self.validation = (_Evaluator(config, data.x_valid, data.y_valid, len(seeds), "validation")
                           if data.y_valid is not None else None)
        self.batch_size, self.total, self.done = tf.constant(batch_size), total_epochs, 0
        self.history = {key: np.full((len(seeds), total_epochs), np.nan, np.float32)
                        for key in ("loss", "accuracy", "val_loss", "val_accuracy")}
        self.norms, self.gram, self.batch = [], None, batch_size
        self.sample_space = uses_sample_space(config, self.n, record_grad_norms)
        self.parallel = (PARALLEL_COPIES and not self.sample_space and not record_grad_norms
                         and self.n * total_epochs >= PARALLEL_MIN_IMAGE_EPOCHS)
        if self.parallel:  # XLA needs the data's shapes when it compiles
            self.x, self.y = tf.constant(x), tf.constant(y)
        else:  # the batched graph takes variables with open leading dimensions: one trace for any K or n
            self.x, self.y = _variable(x, open_dims), _variable(y, open_dims)
            self.order = _variable(np.zeros((len(seeds), self.n), np.int32), 2)

    def phase(self, number: int, phase: Phase, weights, first_epoch: int):
        """Run one phase with a fresh optimizer; returns the weights after it (numpy)."""
        import tensorflow as tf

        if self.parallel:
            return self.parallel_phase(number, phase, weights, first_epoch)
        learning = phase.learning_rate > 0
        function = _epoch_function(self.config, phase.frozen_layers, self.per_copy, phase.momentum > 0, self.record,
                                   learning, self.sample_space)
        trainable, _ = _trainable_indices(self.config, phase.frozen_layers)
        params = [_variable(np.asarray(w, np.float32), trainable=True) for w in weights]
        x, state, c, sampled_validation = self.x, (), None, False
        if self.sample_space:
            if self.gram is None:
                self.gram = _variable(_matmul(self.x, self.x, transpose_b=True), 1 + self.per_copy)
            start_kernel = tf.convert_to_tensor(params[0])  # (K, 784, units), with its shape known
            c = _variable(tf.zeros([start_kernel.shape[0], self.n, start_kernel.shape[2]]))
            x, state = self.gram, (_matmul(self.x, start_kernel), c)
            sampled_validation = (self.validation is not None
                                  and self.validation.start_sample_space(self.x, start_kernel))
        shapes = [c if self.sample_space and i == 0 else params[i] for i in trainable]
        velocity = [_variable(tf.zeros_like(s)) for s in shapes] if phase.momentum > 0 and learning else []
        settings = (tf.constant(phase.learning_rate, tf.float32), tf.constant(phase.momentum, tf.float32))
        for _ in range(phase.epochs):
            self.order.assign(self.batch_orders(first_epoch))
            loss, accuracy, *norms = function(params, velocity, x, self.y, self.order, self.batch_size, *settings,
                                              state)
            current = params if c is None or sampled_validation else [self.kernel(params[0], c)] + params[1:]
            self.end_epoch(number, current, loss.numpy(), accuracy.numpy(), norms, c if sampled_validation else None)
        if c is not None:
            params[0].assign(self.kernel(params[0], c))
        return tuple(p.numpy() for p in params)

    def parallel_phase(self, number: int, phase: Phase, weights, first_epoch: int):
        """A phase of the weight-space path with one XLA-compiled loop per copy, each with its own variables."""
        import tensorflow as tf

        momentum, learning = phase.momentum > 0 and phase.learning_rate > 0, phase.learning_rate > 0
        function = _parallel_epoch_function(self.config, phase.frozen_layers, self.per_copy, momentum, learning,
                                            self.batch)
        trainable, _ = _trainable_indices(self.config, phase.frozen_layers)
        copies = [[_variable(np.asarray(w[k:k + 1], np.float32), 0, trainable=True) for w in weights]
                  for k in range(len(self.seeds))]
        velocity = [[_variable(tf.zeros_like(copy[i]), 0) for i in trainable] if momentum else [] for copy in copies]
        settings = (tf.constant(phase.learning_rate, tf.float32), tf.constant(phase.momentum, tf.float32))
        for _ in range(phase.epochs):
            loss, accuracy = function(copies, velocity, self.x, self.y, tf.constant(self.batch_orders(first_epoch)),
                                      *settings)
            stacked = [tf.concat([copy[i] for copy in copies], 0) for i in range(len(weights))]
            self.end_epoch(number, stacked, loss.numpy(), accuracy.numpy(), ())
        return tuple(np.concatenate([copy[i].numpy() for copy in copies]) for i in range(len(weights)))

    def batch_orders(self, first_epoch: int) -> np.ndarray:
        """(K, n): every copy's sample order for the next epoch."""
        return np.stack([batch_order(seed, first_epoch + self.done, self.n) for seed in self.seeds])

    def kernel(self, start_kernel, c):
        """The first Dense kernel W0 + X^T C of the sample-space path."""
        return start_kernel + _matmul(self.x, c, transpose_a=True)

    def end_epoch(self, number: int, params, loss, accuracy, norms, c=None) -> None:
        column = self.done
        self.history["loss"][:, column], self.history["accuracy"][:, column] = loss, accuracy
        if self.validation is not None:
            self.history["val_loss"][:, column], self.history["val_accuracy"][:, column] = self.validation(params, c)
        self.norms.append(tuple(norm.numpy() for norm in norms))
        self.done += 1
        report(self.progress, self.done, self.total, _progress_message(number, self.history, column))

    def result(self, weights, test, seconds: float) -> RunResult:
        grad_norm, layer_grad_norm = _stack_norms(self.norms) if self.record and self.norms else (None, None)
        return RunResult(self.seeds, **self.history, test_loss=test[0], test_accuracy=test[1], weights=tuple(weights),
                         grad_norm=grad_norm, layer_grad_norm=layer_grad_norm, seconds=seconds)


def _progress_message(phase_number: int, history: dict, epoch: int) -> str:
    message = f"phase {phase_number}, epoch {epoch + 1}: mean loss {np.nanmean(history['loss'][:, epoch]):.4f}"
    if not np.isnan(history["val_accuracy"][:, epoch]).all():
        message += f", mean val accuracy {np.nanmean(history['val_accuracy'][:, epoch]):.4f}"
    return message


def _stack_norms(norms) -> tuple[np.ndarray, np.ndarray]:
    """Per-epoch (n_steps, K) and (n_steps, K, n_dense) pieces -> (K, total_steps), (K, total_steps, n_dense)."""
    global_norm = np.concatenate([piece[0] for piece in norms], axis=0).T
    layer_norm = np.concatenate([piece[1] for piece in norms], axis=0).transpose(1, 0, 2)
    return global_norm, layer_norm
