"""What every execution path shares: the forward pass over stacked copies, the losses, and one SGD step.

Shapes: a Dense kernel is (K, fan_in, fan_out), a bias or BN vector (K, units); activations are (K, b, units);
inputs are (b, 784) when every copy sees the same images, or (K, b, 784) when each copy has its own.
TensorFlow-only: imported when a run starts, never by `import core.engine`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from core.engine.configs import MLPConfig, Phase, layer_plan

ACTIVATIONS = {"selu": tf.nn.selu, "elu": tf.nn.elu, "relu": tf.nn.relu, "tanh": tf.tanh, "sigmoid": tf.sigmoid,
               "softmax": tf.nn.softmax, "linear": tf.identity}


@dataclass(frozen=True)
class StepSpec:
    """What a compiled SGD step does; with the MLPConfig, the key under which compiled functions are cached.

    Per-copy values (learning rates, which layers each copy trains, each copy's image count) are tensors
    passed at run time, so copies that differ only in them share one compiled function.
    """

    frozen_layers: int  # weighted layers[:frozen_layers] are frozen in every copy: they neither learn nor update BN
    data: str  # how a batch's images are found: "shared" (n, f), "per_copy" (K, n, f), "indexed" (pool + rows)
    momentum: bool  # SGD with momentum (a velocity per trainable array); only ever True when learning
    learning: bool  # some copy's learning rate is above zero, so weights change (BN moving statistics move either way)
    record_norms: bool = False  # return the gradients so that the epoch records their norms
    per_copy_freezing: bool = False  # copies freeze different layers above the shared prefix: a (K, n_layers) mask
    ragged: bool = False  # copies have different image counts: short and empty batches are masked per copy
    start_layer: int = 0  # the step starts at this weighted layer; the images are the cached output of those below

    @classmethod
    def for_phase(cls, phase: Phase, frozen_counts, *, data: str, ragged: bool = False, record_norms: bool = False,
                  start_layer: int = 0) -> "StepSpec":
        """The step a phase runs: frozen_counts (K,) are each copy's frozen layers; it learns when some copy's
        learning rate is above zero, with momentum when that is too."""
        learning = max(np.atleast_1d(phase.learning_rate)) > 0
        return cls(int(min(frozen_counts)), data, momentum=phase.momentum > 0 and learning, learning=learning,
                   record_norms=record_norms, per_copy_freezing=int(min(frozen_counts)) != int(max(frozen_counts)),
                   ragged=ragged, start_layer=start_layer)

    @property
    def differentiate(self) -> bool:
        """Whether the step computes gradients: to learn, or to record their norms."""
        return self.learning or self.record_norms


@dataclass(frozen=True)
class StepContext:
    """Run-time tensors that make a step per copy; None where the StepSpec says they are not needed."""

    sample_mask: object = None  # (K, b) float32: 1 for a copy's own images in this batch (ragged sets)
    layer_training: object = None  # (K, n_layers) float32: 1 where the copy trains the layer (per-copy freezing)

    @property
    def active(self):
        """(K,) bool: copies with at least one image in this batch (None: all of them)."""
        return None if self.sample_mask is None else tf.reduce_sum(self.sample_mask, axis=1) > 0


def equal_copies(arrays, extra=None) -> np.ndarray:
    """(K,) group numbers, 0, 1, ... in order of first appearance: copies whose slices of every array in `arrays`
    (each (K, ...), numpy or tensors) are equal, and whose `extra` bytes (one per copy) too, share one.

    Candidates are found by a random projection of each copy's values, then confirmed element by element.
    """
    flat = [np.asarray(array, np.float32).reshape(len(array), -1) for array in arrays]
    projection = np.zeros((len(flat[0]), len(flat)))
    for column, values in enumerate(flat):
        weights = np.random.default_rng(column).standard_normal(values.shape[1]).astype(np.float32)
        projection[:, column] = values @ weights
    keys, groups, members = {}, [], []
    for copy in range(len(flat[0])):
        key = (projection[copy].tobytes(), extra[copy] if extra is not None else b"")
        group = keys.get(key)
        if group is not None and not all(np.array_equal(values[copy], values[members[group]]) for values in flat):
            group = None  # a projection collision: this copy starts its own group
            key = (key, copy)
        if group is None:
            group = keys[key] = len(members)
            members.append(copy)
        groups.append(group)
    return np.array(groups)


def matmul(a, b, **kwargs):
    """Batched matmul where a rank-2 operand (shared by all copies) broadcasts over the copies."""
    if a.shape.rank == 2 and b.shape.rank == 3:
        a = a[None]
    elif b.shape.rank == 2 and a.shape.rank == 3:
        b = b[None]
    return tf.linalg.matmul(a, b, **kwargs)


def first_array(config: MLPConfig, layer_index: int) -> int:
    """Position among the weight arrays of the first array of weighted layer `layer_index`."""
    return sum(layer.n_arrays for layer in layer_plan(config)[:layer_index])


def forward(config: MLPConfig, params, x, bn_training: tuple[bool, ...], first=None, *, start_layer: int = 0,
            stop_layer: int | None = None, context: StepContext = StepContext()):
    """Logits (K, b, n_outputs) and {array index: new moving statistic}; x is (b, f) shared or (K, b, f).

    `first`, if given, replaces x @ kernel of the first Dense layer (the sample-space path computes it).
    `start_layer` > 0: x is the output of the layers below it (a cached prefix); `stop_layer`: return the
    output of the layers below that one instead of logits (to build such a cache).
    """
    plan = layer_plan(config)
    stop = len(plan) if stop_layer is None else stop_layer
    h, i, updates = x, first_array(config, start_layer), {}
    for index in range(start_layer, stop):
        layer = plan[index]
        if layer.kind == "dense":
            h = first if index == 0 and first is not None else matmul(h, params[i])
            h = h + tf.expand_dims(params[i + 1], 1) if layer.use_bias else h  # (K, 1, units): cheap to differentiate
        else:
            h, updates = _batch_norm(config, params[i:i + 4], h, i, bn_training[index], updates, context, index)
        if index < len(plan) - 1:
            h = ACTIVATIONS[layer.activation](h)
        i += layer.n_arrays
    return h, updates


def _batch_norm(config: MLPConfig, arrays, h, first_index: int, training: bool, updates: dict,
                context: StepContext, layer_index: int):
    """Per-copy BN over the batch axis; in training mode also the new moving mean and variance.

    With a sample mask the batch statistics cover each copy's own images only, and a copy without any
    keeps its moving statistics; with per-copy freezing a copy that freezes this layer runs it in
    inference mode (its moving statistics, no update), as Keras does for a frozen BN layer.
    """
    gamma, beta, moving_mean, moving_var = arrays
    if h.shape.rank == 2:  # shared inputs: give every copy its own view
        h = tf.broadcast_to(h[None], [tf.shape(gamma)[0], tf.shape(h)[0], h.shape[1]])
    if training:
        mean, var = _moments(h, context.sample_mask)
        m = config.bn_momentum
        new_mean, new_var = moving_mean * m + mean * (1.0 - m), moving_var * m + var * (1.0 - m)
        keep = None  # (K, 1) bool: copies whose moving statistics stay as they were
        if context.layer_training is not None:
            trains = context.layer_training[:, layer_index:layer_index + 1] > 0
            mean, var = tf.where(trains, mean, moving_mean), tf.where(trains, var, moving_var)
            keep = ~trains
        if context.sample_mask is not None:
            idle = ~context.active[:, None]
            keep = idle if keep is None else keep | idle
        if keep is not None:
            new_mean, new_var = tf.where(keep, moving_mean, new_mean), tf.where(keep, moving_var, new_var)
        updates = {**updates, first_index + 2: new_mean, first_index + 3: new_var}
    else:
        mean, var = moving_mean, moving_var
    expand = functools.partial(tf.expand_dims, axis=1)
    out = tf.nn.batch_normalization(h, expand(mean), expand(var), expand(beta), expand(gamma), config.bn_epsilon)
    return out, updates


def _moments(h, sample_mask):
    """Mean and variance over the batch axis of h (K, b, units), (K, units) each; masked: each copy's own images."""
    if sample_mask is None:
        return tf.nn.moments(h, axes=[1])
    weights = sample_mask[:, :, None]
    count = tf.maximum(tf.reduce_sum(weights, axis=1), 1.0)
    mean = tf.reduce_sum(h * weights, axis=1) / count
    var = tf.reduce_sum(tf.square(h - mean[:, None, :]) * weights, axis=1) / count
    return mean, var


def losses_and_hits(config: MLPConfig, logits, y):
    """Per-sample losses and correct-prediction flags, both (K, b); y is (b,) shared or (K, b)."""
    if config.output_activation == "softmax":
        y = tf.broadcast_to(tf.cast(y, tf.int32), tf.shape(logits)[:2])  # float32 class ids are exact
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        hits = tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), y)
    else:
        y = tf.broadcast_to(tf.cast(y, tf.float32), tf.shape(logits)[:2])
        losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits[..., 0])
        hits = tf.equal(tf.cast(tf.sigmoid(logits[..., 0]) > 0.5, tf.float32), y)
    return losses, tf.cast(hits, tf.float32)


def trainable_indices(config: MLPConfig, frozen_layers: int) -> tuple[tuple[int, ...], tuple[bool, ...]]:
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


def array_layers(config: MLPConfig) -> tuple[int, ...]:
    """The weighted layer each weight array belongs to, in array order."""
    return tuple(index for index, layer in enumerate(layer_plan(config)) for _ in range(layer.n_arrays))


def layer_training_mask(config: MLPConfig, frozen_counts) -> np.ndarray:
    """(K, n_layers) float32: 1 where copy k trains layer l (l >= its frozen count), 0 where it freezes it."""
    n_layers = len(layer_plan(config))
    return (np.arange(n_layers)[None, :] >= np.asarray(frozen_counts)[:, None]).astype(np.float32)


def variable(value, open_dims: int = 1, *, trainable: bool = False) -> tf.Variable:
    """A variable whose first `open_dims` dimensions are left open, so compiled functions taking it as an
    argument are traced once for any number of copies or samples."""
    value = tf.convert_to_tensor(value)
    shape = [None] * open_dims + value.shape.as_list()[open_dims:]
    return tf.Variable(value, trainable=trainable, shape=tf.TensorShape(shape))


# ---- one SGD step, in pieces the weight-space and sample-space steps both use ----

def gather_batch(spec: StepSpec, data, batch_indices):
    """The batch's images and labels; batch_indices (K, b) are each copy's sample positions in this batch.

    data = (x, y, rows): x (n, f) shared, (K, n, f) per copy, or a pool (N, f) with rows (K, n) into it
    ("indexed"); y (n,) shared or (K, n) per copy. Returns x (b, f) or (K, b, f) and y (b,) or (K, b).
    """
    x, y, rows = data
    if spec.data == "shared":
        x_batch = tf.gather(x, batch_indices)
    elif spec.data == "per_copy":
        x_batch = tf.gather(x, batch_indices, batch_dims=1)
    else:
        x_batch = tf.gather(x, tf.gather(rows, batch_indices, batch_dims=1))
    y_batch = tf.gather(y, batch_indices, batch_dims=1) if y.shape.rank == 2 else tf.gather(y, batch_indices)
    return x_batch, y_batch


def copy_means(losses, sample_mask):
    """(K,): each copy's mean loss over its own images in the batch (0 for a copy without any)."""
    if sample_mask is None:
        return tf.reduce_mean(losses, axis=1)
    count = tf.maximum(tf.reduce_sum(sample_mask, axis=1), 1.0)
    return tf.reduce_sum(losses * sample_mask, axis=1) / count


def loss_and_gradients(config: MLPConfig, spec: StepSpec, params, x_batch, y_batch, watched, learning_rate,
                       first=None, context: StepContext = StepContext()):
    """Gradients of the copies' summed mean losses with respect to `watched`; per-sample losses and hits (K, b).

    Summing the copies' own means gives each copy exactly its own gradient. When learning, each copy's mean
    is multiplied by its own learning rate (learning_rate: (K,)) before differentiating, so backprop yields
    lr * gradient directly and each kernel is touched once per step (one subtraction) rather than three
    times (gradient, scaling, subtraction): the update of a stacked 784x300 kernel is limited by memory
    traffic, not arithmetic. BN layers in training mode then store their new moving statistics, as Keras
    does in the layer's call. With a sample mask, losses and hits of the padding are zero.
    """
    _, bn_training = trainable_indices(config, spec.frozen_layers)
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(watched)
        logits, updates = forward(config, params, x_batch, bn_training, first, start_layer=spec.start_layer,
                                  context=context)
        losses, hits = losses_and_hits(config, logits, y_batch)
        means = copy_means(losses, context.sample_mask)
        total = tf.reduce_sum(means * learning_rate) if spec.learning else tf.reduce_sum(means)
    gradients = tape.gradient(total, watched) if spec.differentiate else []
    for i, value in updates.items():
        params[i].assign(value)
    if context.sample_mask is not None:
        losses, hits = losses * context.sample_mask, hits * context.sample_mask
    return gradients, losses, hits


def per_copy(values, like):
    """(K,) values shaped to broadcast against a stacked array like (K, ...)."""
    return tf.reshape(values, [-1] + [1] * (like.shape.rank - 1))


def mask_frozen(config: MLPConfig, trainable, gradients, layer_training):
    """Zero each copy's gradients of the layers it freezes (per-copy freezing); (rows, values) pairs too."""
    layers = array_layers(config)
    masked = []
    for index, gradient in zip(trainable, gradients):
        trains = layer_training[:, layers[index]]
        if isinstance(gradient, tuple):  # sample space: rows (K, b, 2) of C and their values (K, b, units)
            masked.append((gradient[0], gradient[1] * per_copy(trains, gradient[1])))
        else:
            masked.append(gradient * per_copy(trains, gradient))
    return masked


def apply_sgd(targets, velocity, scaled_gradients, momentum, *, use_momentum: bool, active=None) -> None:
    """Keras 3 SGD on each target variable, in place, from gradients already multiplied by the learning rate.

    With momentum: v = momentum * v - lr * g; w += v. Without: w -= lr * g, where a gradient given as
    (rows, values) updates only those rows. `active` (K,) bool, for ragged sets: copies without images in
    this batch keep their weights and velocity (with plain SGD their gradient is already zero).
    """
    if use_momentum and active is not None:
        for target, v, g in zip(targets, velocity, scaled_gradients):
            moving = per_copy(active, v)
            v.assign(tf.where(moving, momentum * v - g, v))
            target.assign_add(tf.where(moving, v, tf.zeros_like(v)))
    elif use_momentum:
        for target, v, g in zip(targets, velocity, scaled_gradients):
            tf.raw_ops.ResourceApplyKerasMomentum(var=target.handle, accum=v.handle, lr=tf.constant(1.0), grad=g,
                                                  momentum=momentum, use_nesterov=False)
    else:
        for target, g in zip(targets, scaled_gradients):
            target.scatter_nd_sub(*g) if isinstance(g, tuple) else target.assign_sub(g)


def step_function(config: MLPConfig, spec: StepSpec):
    """One SGD step in weight space, for the batched graph and for each copy's XLA loop.

    step(params, velocity, data, batch_indices, context, learning_rate, momentum) updates the variables in
    place and returns (gradients of the trainable arrays, losses (K, b), hits (K, b)); `data` as in
    `gather_batch`, `context` a StepContext, learning_rate (K,).
    """
    trainable, _ = trainable_indices(config, spec.frozen_layers)
    trainable = tuple(i for i in trainable if array_layers(config)[i] >= spec.start_layer)

    def step(params, velocity, data, batch_indices, context, learning_rate, momentum):
        x_batch, y_batch = gather_batch(spec, data, batch_indices)
        targets = [params[i] for i in trainable]
        gradients, losses, hits = loss_and_gradients(config, spec, params, x_batch, y_batch, targets, learning_rate,
                                                     context=context)
        if spec.learning:
            if spec.per_copy_freezing:
                gradients = mask_frozen(config, trainable, gradients, context.layer_training)
            apply_sgd(targets, velocity, gradients, momentum, use_momentum=spec.momentum, active=context.active)
        return gradients, losses, hits

    return step
