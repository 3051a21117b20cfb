"""Stacked-seed training for small dense nets and any per-copy loss: K copies, each exactly a Keras model.

The engine (`core.engine`) trains K copies of one classifier MLP with SGD. Pretraining needs more:
reconstruction losses, nets trained in pieces (greedy layer-wise), tied weights, Nadam, frozen
layers. This module provides them, in the same spirit: every array carries a leading copy axis
(a kernel is (K, fan_in, fan_out)), each copy starts from its own initial weights and draws its
own batches, and copies never influence each other.

How a run executes. One compiled function runs a copy's whole stretch of updates (a `while` loop over batches,
so Python does no work per step; XLA-compiled when the run is big enough to repay the compile, see XLA_MIN_FLOP);
one outer graph calls it for every copy, and TensorFlow runs those calls side by side on the cores. Each call is
a single copy's arithmetic, written as Keras writes it (x @ kernel + bias, then the activation; Keras's optimizer
formulas), so copy k is the plain Keras model with copy k's weights, up to float32 rounding.
Measured on 2 cores (bench/pretraining.py): this beats one batched graph of all copies (batched
matmuls, loss summed over copies) by 1.4x with XLA and 3.5x without, because XLA fuses the
optimizer's dozen elementwise passes over each kernel into one, and two independent loops keep
both cores busy where one batched loop runs its small matmuls one after the other.

Pieces (each a frozen dataclass, hashable, so compiled functions are cached on them):
- `Dense(name, units, activation, initializer, tied_to)`: one layer; `tied_to` makes it a
  DenseTranspose that multiplies by another layer's kernel transposed (one variable, two uses).
- Objectives, the loss of one copy on one batch: `Reconstruction(layers, noise_stddev, loss)` (MSE or
  binary cross-entropy of the clean input, optional Gaussian input noise: a denoising autoencoder)
  and `Classification(layers)` (sparse categorical cross-entropy; the last layer gives logits, the
  softmax is in the loss, as Keras does for a softmax output). A new objective (a Siamese pair
  loss, a masked-pixel loss) is a frozen dataclass with `loss_and_metric(params, batch, noise_seed,
  step)` and `evaluate(params, data)`, plus `gather(data, rows)` if its batches are not plain rows
  (tests/test_stacked.py trains a Siamese pair objective this way against a shared-layer Keras model).
- Optimizers with Keras 3's update rules: `SGD(learning_rate, momentum)`, `Nadam(learning_rate)`.
  Each `train` call is one compile in Keras terms: a fresh optimizer state for its trainable arrays.

Usage (a 784-100-30 autoencoder for three seeds, then a classifier on its frozen encoder):

    encoder = (Dense("hidden_1", 100, "relu"), Dense("code", 30, "relu"))
    decoder = (Dense("decode_1", 100, "relu"), Dense("pixels", 784))
    net = encoder + decoder
    params = initial_params(net, 784, seeds=(0, 1, 2), salt="autoencoder")   # {name: (3, ...)}
    streams = np.stack([batch_stream(seed, "autoencoder", len(x), 32, 5 * steps_per_epoch(len(x), 32))
                        for seed in (0, 1, 2)])                                  # (3, updates, 32)
    run = train(Reconstruction(net), params, trainable=tuple(params), optimizer=Nadam(1e-3),
                data=(x,), streams=streams, noise_seeds=(0, 1, 2), segments=5)
    run.loss                                                                     # (3, 5): per epoch
    codes = outputs(encoder, run.params, x_valid)                                # (3, n_valid, 30)

Arrays are numpy, copy axis first; `params` is a dict "<layer>/kernel", "<layer>/bias" -> (K, ...).
Data arrays are shared by every copy ((n, ...) each) or given per copy ((K, n, ...), `per_copy=True`).
tests/test_stacked.py checks every claim above against plain Keras models given the same initial
weights and the same batches.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import zlib
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from core.progress import ProgressCallback, report

ACTIVATIONS = ("linear", "relu", "selu", "elu", "sigmoid", "tanh")
EVAL_CHUNK = 4096  # rows per forward pass when evaluating (bounds memory for big sets)
XLA_MIN_FLOP = 2e10  # runs with more arithmetic than this (all copies) are XLA-compiled, and so are runs of
XLA_MIN_COPY_STEPS = 10_000  # more updates than this (all copies), where the graph's per-step overhead adds up;
# other runs are not, since compiling costs 2-8 s per net and shape on 2 cores, more than they take without it


# ---- nets ----

@dataclass(frozen=True)
class Dense:
    """One dense layer of a copy: activation(x @ kernel + bias), as keras.layers.Dense computes it."""

    name: str  # unique within a net; its arrays are "<name>/kernel" and "<name>/bias"
    units: int  # output features
    activation: str = "linear"  # one of ACTIVATIONS ("linear" for logits or a linear code)
    initializer: str = "glorot_uniform"  # Keras name of the kernel initializer (biases start at zero)
    tied_to: Optional[str] = None  # DenseTranspose: use that layer's kernel, transposed (no kernel of its own)

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"Activation must be one of {', '.join(ACTIVATIONS)}; got {self.activation!r}.")
        if self.units < 1:
            raise ValueError(f"A dense layer needs at least one unit; {self.name!r} has {self.units}.")


def param_shapes(layers: Sequence[Dense], input_dim: int) -> dict[str, tuple[int, ...]]:
    """Shapes of one copy's arrays, in layer order; a tied layer owns only its bias."""
    shapes, fan_in, kernels = {}, input_dim, {}
    for layer in layers:
        if layer.tied_to is None:
            shapes[f"{layer.name}/kernel"] = kernels[layer.name] = (fan_in, layer.units)
        elif kernels.get(layer.tied_to, (None, None))[::-1] != (fan_in, layer.units):
            raise ValueError(f"Layer {layer.name!r} is tied to {layer.tied_to!r}, which must come earlier and have "
                             f"the transposed shape ({layer.units}, {fan_in}).")
        shapes[f"{layer.name}/bias"] = (layer.units,)
        fan_in = layer.units
    if len({layer.name for layer in layers}) != len(layers):
        raise ValueError("Layer names must be unique within a net.")
    return shapes


def layer_seed(seed: int, salt: str, name: str) -> int:
    """The integer seed of one layer's initializer for one copy: stable across processes and machines."""
    words = [int(seed), zlib.crc32(salt.encode()), zlib.crc32(name.encode())]
    return int(np.random.SeedSequence(words).generate_state(1)[0] & 0x7FFFFFFF)


def keras_initializer(name: str, seed: int):
    """The Keras initializer `name` with a fixed seed: what Dense(kernel_initializer=...) would draw."""
    import keras

    return type(keras.initializers.get(name))(seed=seed)


def initial_params(layers: Sequence[Dense], input_dim: int, seeds: Sequence[int], salt: str) -> dict[str, np.ndarray]:
    """Stacked initial arrays (K, ...): copy k's kernels drawn by `keras_initializer(init, layer_seed(seeds[k], ...))`.

    `salt` names the net (e.g. "autoencoder", "classifier"), so two nets of one seed draw different weights.
    """
    shapes = param_shapes(layers, input_dim)
    by_name = {layer.name: layer for layer in layers}
    stacked = {}
    for key, shape in shapes.items():
        layer_name, kind = key.split("/")
        if kind == "bias":
            stacked[key] = np.zeros((len(seeds), *shape), np.float32)
        else:
            init = by_name[layer_name].initializer
            stacked[key] = np.stack([np.asarray(keras_initializer(init, layer_seed(seed, salt, layer_name))(
                shape, "float32")) for seed in seeds])
    return stacked


def _activation(name: str):
    import tensorflow as tf

    return {"linear": tf.identity, "relu": tf.nn.relu, "selu": tf.nn.selu, "elu": tf.nn.elu,
            "sigmoid": tf.nn.sigmoid, "tanh": tf.nn.tanh}[name]


def forward(layers: Sequence[Dense], params: dict, x, logits: bool = False):
    """One copy's output: x (n, fan_in) -> (n, units of the last layer); params hold that copy's tensors.

    With `logits`, the last layer's activation is left out (what Keras's losses take from a sigmoid output).
    """
    import tensorflow as tf

    for index, layer in enumerate(layers):
        if layer.tied_to is None:
            z = tf.matmul(x, params[f"{layer.name}/kernel"])
        else:
            z = tf.matmul(x, params[f"{layer.tied_to}/kernel"], transpose_b=True)
        z = z + params[f"{layer.name}/bias"]
        x = z if logits and index == len(layers) - 1 else _activation(layer.activation)(z)
    return x


# ---- objectives: one copy's loss on one batch ----

def gather(objective, data: tuple, rows):
    """One batch of one copy: the objective's own `gather(data, rows)` if it has one, else rows of every array.

    A pair objective (a Siamese net) keeps images and pairs apart: its stream indexes pairs, and its
    gather looks up both images of each chosen pair.
    """
    import tensorflow as tf

    if hasattr(objective, "gather"):
        return objective.gather(data, rows)
    return tuple(tf.gather(array, rows) for array in data)


def noise(noise_seed, step, shape, stddev: float):
    """Gaussian noise for one copy and one update, a pure function of (noise_seed, step): N(0, stddev^2)."""
    import tensorflow as tf

    seed = tf.stack([tf.cast(noise_seed, tf.int32), tf.cast(step, tf.int32)])
    return stddev * tf.random.stateless_normal(shape, seed=seed)


@dataclass(frozen=True)
class Reconstruction:
    """A net rebuilding its clean input: Keras loss="mse", or "binary_crossentropy" for a sigmoid output.

    With `noise_stddev` > 0 the net sees its input plus Gaussian noise drawn by `noise(noise_seed, step, ...)`
    and must rebuild the clean input: a denoising autoencoder. Data: (x,), x (n, features).
    Metric: the mean squared error, whatever the loss (so runs with either loss compare).
    """

    layers: tuple[Dense, ...]  # encoder then decoder; the last layer's units must equal the input features
    noise_stddev: float = 0.0  # standard deviation of the input noise (0: a plain autoencoder)
    loss: str = "mse"  # "mse", or "binary_crossentropy" (inputs in [0, 1], last layer sigmoid)
    summed: bool = False  # sum the loss over the features instead of Keras's mean (the classic papers' loss:
    # Keras's mean divides every gradient, hence plain SGD's step, by the number of features)

    def __post_init__(self):
        if self.loss not in ("mse", "binary_crossentropy"):
            raise ValueError(f"The reconstruction loss must be \"mse\" or \"binary_crossentropy\", got {self.loss!r}.")
        if self.loss == "binary_crossentropy" and self.layers[-1].activation != "sigmoid":
            raise ValueError("Binary cross-entropy rebuilds values in [0, 1]: the last layer must be a sigmoid.")

    def _losses_and_errors(self, params, seen, x):
        import tensorflow as tf

        scale = float(self.layers[-1].units) if self.summed else 1.0
        if self.loss == "mse":
            errors = tf.reduce_mean(tf.square(forward(self.layers, params, seen) - x), axis=-1)
            return errors * scale, errors
        logits = forward(self.layers, params, seen, logits=True)
        losses = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits), axis=-1)
        return losses * scale, tf.reduce_mean(tf.square(tf.sigmoid(logits) - x), axis=-1)

    def loss_and_metric(self, params, batch, noise_seed, step):
        import tensorflow as tf

        (x,) = batch
        seen = x + noise(noise_seed, step, tf.shape(x), self.noise_stddev) if self.noise_stddev > 0 else x
        losses, errors = self._losses_and_errors(params, seen, x)
        return tf.reduce_mean(losses), tf.reduce_mean(errors)

    def evaluate(self, params, data):
        """(summed loss, summed squared error), each a mean over features, summed over the rows; no noise."""
        import tensorflow as tf

        (x,) = data
        losses, errors = self._losses_and_errors(params, x, x)
        return tf.reduce_sum(losses), tf.reduce_sum(errors)


class HitsObjective:
    """An objective scored by hits: a subclass's `_losses_and_hits(params, *data)` gives each row's loss and
    whether it was right (1.0 or 0.0); training takes their means, evaluation their sums. Metric: accuracy."""

    def loss_and_metric(self, params, batch, noise_seed, step):
        import tensorflow as tf

        losses, hits = self._losses_and_hits(params, *batch)
        return tf.reduce_mean(losses), tf.reduce_mean(hits)

    def evaluate(self, params, data):
        import tensorflow as tf

        losses, hits = self._losses_and_hits(params, *data)
        return tf.reduce_sum(losses), tf.reduce_sum(hits)


@dataclass(frozen=True)
class Classification(HitsObjective):
    """Sparse categorical cross-entropy of a softmax output; the last layer's (linear) output are the logits.

    Keras computes the same loss from a Dense(softmax) output through the logits it keeps beside it.
    Data: (x, y), x (n, features) float32, y (n,) int32 class ids. Metric: accuracy.
    """

    layers: tuple[Dense, ...]  # hidden layers then the output layer (activation "linear": the logits)

    def __post_init__(self):
        if self.layers[-1].activation != "linear":
            raise ValueError("The output layer of a Classification must be linear: its outputs are the logits "
                             "the softmax cross-entropy takes.")

    def _losses_and_hits(self, params, x, y):
        import tensorflow as tf

        logits = forward(self.layers, params, x)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        hits = tf.cast(tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), y), tf.float32)
        return losses, hits



# ---- optimizers: Keras 3's update rules, as pure functions of (params, grads, state) ----

@dataclass(frozen=True)
class SGD:
    """keras.optimizers.SGD: w -= lr * g; with momentum, v = momentum * v - lr * g and w += v."""

    learning_rate: float = 0.01  # Keras's default
    momentum: float = 0.0  # 0: plain SGD

    def __post_init__(self):
        _check_rate(self.learning_rate)
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"SGD momentum must be in [0, 1), got {self.momentum}.")

    def initial_state(self, params: dict) -> dict:
        import tensorflow as tf

        return {key: tf.zeros_like(value) for key, value in params.items()} if self.momentum else {}

    def apply(self, params, grads, state, iteration, learning_rate):
        if not self.momentum:
            return {key: params[key] - grads[key] * learning_rate for key in params}, state
        velocity = {key: state[key] * self.momentum - grads[key] * learning_rate for key in params}
        return {key: params[key] + velocity[key] for key in params}, velocity


@dataclass(frozen=True)
class Nadam:
    """keras.optimizers.Nadam (Dozat 2015 with Keras's momentum schedule u_t = beta_1 (1 - 0.5 * 0.96^t))."""

    learning_rate: float = 1e-3  # Keras's default
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7

    def __post_init__(self):
        _check_rate(self.learning_rate)

    def initial_state(self, params: dict) -> dict:
        import tensorflow as tf

        zeros = {key: tf.zeros_like(value) for key, value in params.items()}
        return {"m": zeros, "v": dict(zeros), "u_product": tf.constant(1.0)}

    def apply(self, params, grads, state, iteration, learning_rate):
        import tensorflow as tf

        local_step = tf.cast(iteration + 1, tf.float32)
        u_t = self.beta_1 * (1.0 - 0.5 * tf.pow(0.96, local_step))
        u_t_1 = self.beta_1 * (1.0 - 0.5 * tf.pow(0.96, local_step + 1.0))
        u_product_t = state["u_product"] * self.beta_1 * (1.0 - 0.5 * tf.pow(0.96, local_step))
        u_product_t_1 = u_product_t * u_t_1
        beta_2_power = tf.pow(self.beta_2, local_step)
        new_params, m_new, v_new = {}, {}, {}
        for key, g in grads.items():
            m = state["m"][key] + (g - state["m"][key]) * (1 - self.beta_1)
            v = state["v"][key] + (tf.square(g) - state["v"][key]) * (1 - self.beta_2)
            m_hat = u_t_1 * m / (1 - u_product_t_1) + (1 - u_t) * g / (1 - u_product_t)
            v_hat = v / (1 - beta_2_power)
            new_params[key] = params[key] - m_hat * learning_rate / (tf.sqrt(v_hat) + self.epsilon)
            m_new[key], v_new[key] = m, v
        return new_params, {"m": m_new, "v": v_new, "u_product": u_product_t}


def _check_rate(rate: float) -> None:
    if not (isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0):
        raise ValueError(f"A learning rate must be a number greater than 0, got {rate!r}.")


def keras_optimizer(optimizer):
    """The Keras optimizer an SGD or Nadam stands for (a fresh one: what compile() after a freeze gets)."""
    import keras

    if isinstance(optimizer, SGD):
        return keras.optimizers.SGD(learning_rate=optimizer.learning_rate, momentum=optimizer.momentum)
    return keras.optimizers.Nadam(learning_rate=optimizer.learning_rate, beta_1=optimizer.beta_1,
                                  beta_2=optimizer.beta_2, epsilon=optimizer.epsilon)


# ---- batches ----

def steps_per_epoch(n_rows: int, batch_size: int) -> int:
    """Updates needed to show every one of n rows once (the last batch of an epoch borrows from the next)."""
    return -(-n_rows // batch_size)


def batch_stream(seed: int, tag: str, rows, batch_size: int, updates: int) -> np.ndarray:
    """Row indices of `updates` batches of one copy: (updates, batch_size) int32.

    `rows`: the row ids to draw from, or their number n (rows 0..n-1). They are shuffled afresh each
    epoch and the epochs are concatenated, so a batch may straddle two epochs, as with
    `Dataset.shuffle(n).repeat().batch(batch_size)`; every batch is full. `tag` names the stretch of
    training (two stretches of one seed draw different orders; arms that share a tag share batches).
    """
    rows = np.arange(rows) if np.ndim(rows) == 0 else np.asarray(rows)
    if len(rows) == 0 or batch_size < 1 or updates < 1:
        raise ValueError(f"A batch stream needs rows, a batch size >= 1 and at least one update; got "
                         f"{len(rows)} rows, batch size {batch_size}, {updates} updates.")
    generator = np.random.default_rng([int(seed), zlib.crc32(tag.encode())])
    needed = updates * batch_size
    orders = [rows[generator.permutation(len(rows))] for _ in range(-(-needed // len(rows)))]
    return np.concatenate(orders)[:needed].reshape(updates, batch_size).astype(np.int32)


# ---- training ----

@dataclass(frozen=True, eq=False)
class TrainResult:
    """What one `train` call returns; arrays have the copies on their first axis."""

    params: dict  # every array of the net after training, (K, ...) each
    loss: np.ndarray  # (K, segments) mean training loss over each segment's updates (before each update)
    metric: np.ndarray  # (K, segments) mean metric (accuracy, or the MSE again) over the same updates
    steps: np.ndarray  # (K, segments) optimizer updates each copy made, counted by its compiled loop


def train(objective, params: dict, trainable: Sequence[str], optimizer, data: tuple, streams: np.ndarray,
          noise_seeds: Optional[Sequence[int]] = None, segments: int = 1, per_copy: bool = False,
          progress: Optional[ProgressCallback] = None,
          on_segment: Optional[Callable[[int, dict], None]] = None,
          learning_rates: Optional[Sequence[float]] = None) -> TrainResult:
    """Train K copies of `objective`'s net, each on its own batches, with a fresh optimizer (one Keras compile).

    params: {name: (K, ...)} every array the objective uses; only the `trainable` ones change.
    data: tuple of arrays, shared (n, ...) or, with `per_copy`, (K, n, ...); streams: (K, updates, batch) row ids.
    noise_seeds: one int per copy for the objective's randomness (input noise); default 0..K-1.
    The updates run in `segments` equal stretches (one compiled call each); after each,
    `on_segment(index, params)` sees the stacked params and `progress(done, segments, "")` is called.
    learning_rates: one rate per copy (a rate search's candidates as extra copies); default optimizer.learning_rate.
    """
    import tensorflow as tf

    streams = np.asarray(streams)
    copies, updates = _check_train(params, trainable, data, streams, segments, per_copy,
                                   plain_rows=not hasattr(objective, "gather"))
    noise_seeds = tuple(range(copies)) if noise_seeds is None else tuple(int(seed) for seed in noise_seeds)
    if len(noise_seeds) != copies:
        raise ValueError(f"Give one noise seed per copy: {copies} copies, {len(noise_seeds)} seeds.")
    trainable = tuple(trainable)
    frozen = tuple(key for key in params if key not in trainable)
    xla = (_flop(params, trainable, streams.shape[1] * streams.shape[2], copies) >= XLA_MIN_FLOP
           or streams.shape[1] * copies >= XLA_MIN_COPY_STEPS)
    run = _parallel_function(objective, _without_rate(optimizer), trainable, frozen, copies, per_copy, xla)
    moving = [{key: tf.constant(params[key][k]) for key in trainable} for k in range(copies)]
    fixed = [{key: tf.constant(params[key][k]) for key in frozen} for k in range(copies)]
    states = [optimizer.initial_state(copy) for copy in moving]
    tensors = tuple(tf.constant(array) for array in data)
    if per_copy:
        tensors = [tuple(array[k] for array in tensors) for k in range(copies)]
    rates = np.full(copies, optimizer.learning_rate) if learning_rates is None else np.asarray(learning_rates, float)
    if rates.shape != (copies,):
        raise ValueError(f"Give one learning rate per copy: {copies} copies, {rates.size} rates.")
    for value in rates:
        _check_rate(float(value))
    rate, seeds = tf.constant(rates, tf.float32), tf.constant(noise_seeds, tf.int32)
    length = updates // segments
    loss, metric, steps = (np.zeros((copies, segments), dtype) for dtype in (np.float32, np.float32, np.int64))
    for segment in range(segments):
        part = tf.constant(streams[:, segment * length:(segment + 1) * length])
        results = run(moving, fixed, states, tensors, part, seeds, tf.constant(segment * length), rate)
        moving, states = [result[0] for result in results], [result[1] for result in results]
        loss[:, segment] = [float(result[2]) for result in results]
        metric[:, segment] = [float(result[3]) for result in results]
        steps[:, segment] = [int(result[4]) for result in results]
        if on_segment is not None:
            on_segment(segment, _stack(moving, fixed, params))
        report(progress, segment + 1, segments, "")
    return TrainResult(_stack(moving, fixed, params), loss, metric, steps)


def _check_train(params, trainable, data, streams, segments, per_copy, plain_rows: bool) -> tuple[int, int]:
    """(copies, updates), or a ValueError naming what does not fit; an objective with its own `gather`
    checks its streams itself (they index its pairs, not the rows of every array)."""
    copies = {array.shape[0] for array in params.values()}
    if len(copies) != 1:
        raise ValueError("Every parameter array needs the same number of copies on its first axis.")
    (copies,) = copies
    unknown = set(trainable) - set(params)
    if unknown or not trainable:
        raise ValueError(f"Name at least one trainable array, each one of the net's; unknown: {sorted(unknown)}.")
    if streams.ndim != 3 or streams.shape[0] != copies:
        raise ValueError(f"Streams must be (copies, updates, batch) = ({copies}, ...); got {streams.shape}.")
    updates = streams.shape[1]
    if segments < 1 or updates % segments:
        raise ValueError(f"{updates} updates cannot be cut into {segments} equal segments.")
    if per_copy and any(np.shape(array)[0] != copies for array in data):
        raise ValueError(f"Per-copy data needs one block per copy ({copies}) on its first axis.")
    if not plain_rows:
        return copies, updates
    rows = {np.shape(array)[1 if per_copy else 0] for array in data}
    if len(rows) != 1:
        raise ValueError("Data arrays must hold the same rows.")
    (rows,) = rows
    if streams.min() < 0 or streams.max() >= rows:
        raise ValueError(f"Batch streams point outside the data's {rows} rows.")
    return copies, updates


def _stack(moving: list, fixed: list, template: dict) -> dict:
    return {key: np.stack([(copy_moving[key] if key in copy_moving else copy_fixed[key]).numpy()
                           for copy_moving, copy_fixed in zip(moving, fixed)]) for key in template}


def _flop(params: dict, trainable, samples: int, copies: int) -> float:
    """Rough arithmetic of a run: forward and backward through every kernel, for every sample and copy."""
    per_sample = sum(np.prod(value.shape[1:]) for key, value in params.items() if key.endswith("/kernel"))
    return 6.0 * float(per_sample) * samples * copies


@functools.lru_cache(maxsize=1)
def _quiet_retracing_warnings() -> None:
    """Drop TensorFlow's "triggered tf.function retracing" warnings about this module's loops.

    Every net, shape and number of copies has its own cached function here, each traced once, but
    TensorFlow counts traces per code object, so a run over many configs trips its warning.
    """
    import logging

    def keep(record) -> bool:
        message = record.getMessage()
        return not ("retracing" in message and any(name in message for name in (
            "_parallel_function", "_copy_loop", "_forward_function", "_evaluate_function")))

    logging.getLogger("tensorflow").addFilter(keep)


def _without_rate(optimizer):
    """The optimizer with its learning rate blanked: the rate is an argument, so one compile serves every rate."""
    return dataclasses.replace(optimizer, learning_rate=1.0)


@functools.lru_cache(maxsize=64)
def _copy_loop(objective, optimizer, trainable: tuple, frozen: tuple, xla: bool):
    """One copy's stretch of updates: returns (params, optimizer state, mean loss, mean metric, updates made)."""
    import tensorflow as tf

    @tf.function(jit_compile=xla, autograph=False)
    def loop(moving, fixed, state, data, stream, noise_seed, first_step, learning_rate):
        n_updates = stream.shape[0]

        def body(step, loss_sum, metric_sum, moving, state):
            batch = gather(objective, data, stream[step])
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(moving)
                loss, metric = objective.loss_and_metric({**fixed, **moving}, batch, noise_seed, first_step + step)
            grads = tape.gradient(loss, moving)
            moving, state = optimizer.apply(moving, grads, state, first_step + step, learning_rate)
            return step + 1, loss_sum + loss, metric_sum + metric, moving, state

        start = (tf.constant(0), tf.constant(0.0), tf.constant(0.0), moving, state)
        made, loss_sum, metric_sum, moving, state = tf.while_loop(lambda step, *_: step < n_updates, body, start)
        return moving, state, loss_sum / n_updates, metric_sum / n_updates, made

    return loop


@functools.lru_cache(maxsize=64)
def _parallel_function(objective, optimizer, trainable: tuple, frozen: tuple, copies: int, per_copy: bool,
                       xla: bool):
    """All copies' loops in one graph; they share nothing, so TensorFlow runs them side by side."""
    import tensorflow as tf

    _quiet_retracing_warnings()
    loop = _copy_loop(objective, optimizer, trainable, frozen, xla)

    @tf.function(autograph=False)
    def run(moving, fixed, states, data, streams, noise_seeds, first_step, learning_rate):
        return [loop(moving[k], fixed[k], states[k], data[k] if per_copy else data, streams[k], noise_seeds[k],
                     first_step, learning_rate[k]) for k in range(copies)]

    return run


# ---- evaluation and features ----

def evaluate(objective, params: dict, data: tuple, per_copy: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Mean loss and mean metric of every copy over all rows of `data` (no input noise): two (K,) arrays."""
    copies = next(iter(params.values())).shape[0]
    rows = np.shape(data[0])[1 if per_copy else 0]
    totals = np.zeros((copies, 2))
    for k in range(copies):
        copy = copy_params(params, k)
        arrays = tuple(array[k] for array in data) if per_copy else data
        function = _evaluate_function(objective, _specs(copy), _specs(arrays, rows_open=True))
        for start in range(0, rows, EVAL_CHUNK):
            chunk = tuple(np.asarray(array[start:start + EVAL_CHUNK]) for array in arrays)
            totals[k] += [float(value) for value in function(copy, chunk)]
    return (totals[:, 0] / rows).astype(np.float32), (totals[:, 1] / rows).astype(np.float32)


def _specs(arrays, rows_open: bool = False):
    """A hashable description of arrays' shapes and dtypes, the first dimension left open for data."""
    items = arrays.items() if isinstance(arrays, dict) else enumerate(arrays)
    return tuple((key, (None,) * rows_open + tuple(np.shape(value)[rows_open:]), np.asarray(value).dtype.name)
                 for key, value in items)


def _signature(specs, as_dict: bool):
    import tensorflow as tf

    tensors = [(key, tf.TensorSpec(shape, dtype)) for key, shape, dtype in specs]
    return dict(tensors) if as_dict else tuple(spec for _, spec in tensors)


@functools.lru_cache(maxsize=64)
def _evaluate_function(objective, param_specs: tuple, data_specs: tuple):
    import tensorflow as tf

    _quiet_retracing_warnings()
    signature = (_signature(param_specs, True), _signature(data_specs, False))
    return tf.function(objective.evaluate, input_signature=signature, autograph=False)


def outputs(layers: Sequence[Dense], params: dict, x: np.ndarray, per_copy: bool = False) -> np.ndarray:
    """Every copy's output of `layers` (a net's first layers, e.g. its encoder) on x: (K, n, units).

    x: (n, features) shared, or (K, n, features) with `per_copy`.
    """
    copies = next(iter(params.values())).shape[0]
    owners = {layer.name for layer in layers} | {layer.tied_to for layer in layers if layer.tied_to}
    result = []
    for k in range(copies):
        copy = {key: value[k] for key, value in params.items() if key.split("/")[0] in owners}
        rows = x[k] if per_copy else x
        function = _forward_function(tuple(layers), _specs(copy), _specs((rows,), rows_open=True))
        result.append(np.concatenate([function(copy, np.asarray(rows[start:start + EVAL_CHUNK])).numpy()
                                      for start in range(0, len(rows), EVAL_CHUNK)]))
    return np.stack(result)


@functools.lru_cache(maxsize=64)
def _forward_function(layers: tuple, param_specs: tuple, data_specs: tuple):
    import tensorflow as tf

    _quiet_retracing_warnings()
    signature = (_signature(param_specs, True), _signature(data_specs, False)[0])
    return tf.function(lambda params, x: forward(layers, params, x), input_signature=signature, autograph=False)


def copy_params(params: dict, copy: int) -> dict:
    """One copy's arrays: {name: array without the copy axis}."""
    return {key: value[copy] for key, value in params.items()}


# ---- the same nets as plain Keras models (tests, and code a page can show) ----

@functools.lru_cache(maxsize=1)
def dense_transpose_class():
    """A Keras 3 DenseTranspose: the book's layer without `input_shape`, which Keras 3 layers no longer have.

    It multiplies by the tied Dense layer's kernel transposed and owns only its bias. Not registered
    for saving: a model holding it does not round-trip through `.keras` (save the weights instead).
    """
    import keras

    class DenseTranspose(keras.layers.Layer):
        def __init__(self, dense, activation=None, **kwargs):
            super().__init__(**kwargs)
            self.dense = dense
            self.activation = keras.activations.get(activation)

        def build(self, input_shape):
            self.bias = self.add_weight(name="bias", shape=(self.dense.kernel.shape[0],), initializer="zeros")

        def call(self, inputs):
            return self.activation(keras.ops.matmul(inputs, keras.ops.transpose(self.dense.kernel)) + self.bias)

    return DenseTranspose


def keras_model(layers: Sequence[Dense], params: Optional[dict], input_dim: int, copy: int = 0,
                softmax_output: bool = False):
    """A plain keras.Sequential of `layers` holding copy `copy` of `params` (None: Keras's own initial weights).

    `softmax_output` gives the last layer a softmax (a Classification's logits layer as Keras writes it).
    """
    import keras

    built, by_name = [], {}
    for index, layer in enumerate(layers):
        activation = "softmax" if softmax_output and index == len(layers) - 1 else layer.activation
        if layer.tied_to is None:
            keras_layer = keras.layers.Dense(layer.units, activation=activation, name=layer.name,
                                             kernel_initializer=layer.initializer)
        else:
            keras_layer = dense_transpose_class()(by_name[layer.tied_to], activation=activation, name=layer.name)
        by_name[layer.name] = keras_layer
        built.append(keras_layer)
    model = keras.Sequential([keras.Input((input_dim,)), *built])
    if params is not None:
        for layer, keras_layer in zip(layers, built):
            if layer.tied_to is None:
                keras_layer.kernel.assign(params[f"{layer.name}/kernel"][copy])
            keras_layer.bias.assign(params[f"{layer.name}/bias"][copy])
    return model
