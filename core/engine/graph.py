"""What every execution path shares: the forward pass over stacked copies, the losses, and one SGD step.

Shapes: a Dense kernel is (K, fan_in, fan_out), a bias or BN vector (K, units); activations are (K, b, units);
inputs are (b, 784) when every copy sees the same images, or (K, b, 784) when each copy has its own.
TensorFlow-only: imported when a run starts, never by `import core.engine`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import tensorflow as tf

from core.engine.configs import MLPConfig, Phase, layer_plan

ACTIVATIONS = {"selu": tf.nn.selu, "elu": tf.nn.elu, "relu": tf.nn.relu, "tanh": tf.tanh, "sigmoid": tf.sigmoid,
               "softmax": tf.nn.softmax, "linear": tf.identity}


@dataclass(frozen=True)
class StepSpec:
    """What a compiled SGD step does; with the MLPConfig, the key under which compiled functions are cached."""

    frozen_layers: int  # the phase's frozen_layers: weighted layers[:frozen_layers] neither learn nor update BN stats
    per_copy_data: bool  # x, y hold one training set per copy, (K, n, ...), instead of one shared set (n, ...)
    momentum: bool  # SGD with momentum (a velocity per trainable array); only ever True when learning
    learning: bool  # the learning rate is above zero, so weights change (BN moving statistics move either way)
    record_norms: bool = False  # return the gradients so that the epoch records their norms

    @classmethod
    def for_phase(cls, phase: Phase, *, per_copy_data: bool, record_norms: bool = False) -> "StepSpec":
        """The step a phase runs: it learns when its learning rate is above zero, with momentum when that is too."""
        learning = phase.learning_rate > 0
        return cls(phase.frozen_layers, per_copy_data, momentum=phase.momentum > 0 and learning, learning=learning,
                   record_norms=record_norms)

    @property
    def differentiate(self) -> bool:
        """Whether the step computes gradients: to learn, or to record their norms."""
        return self.learning or self.record_norms


def matmul(a, b, **kwargs):
    """Batched matmul where a rank-2 operand (shared by all copies) broadcasts over the copies."""
    if a.shape.rank == 2 and b.shape.rank == 3:
        a = a[None]
    elif b.shape.rank == 2 and a.shape.rank == 3:
        b = b[None]
    return tf.linalg.matmul(a, b, **kwargs)


def forward(config: MLPConfig, params, x, bn_training: tuple[bool, ...], first=None):
    """Logits (K, b, n_outputs) and {array index: new moving statistic}; x is (b, f) shared or (K, b, f).

    `first`, if given, replaces x @ kernel of the first Dense layer (the sample-space path computes it).
    """
    plan, h, i, updates = layer_plan(config), x, 0, {}
    for index, layer in enumerate(plan):
        if layer.kind == "dense":
            h = first if index == 0 and first is not None else matmul(h, params[i])
            h = h + tf.expand_dims(params[i + 1], 1) if layer.use_bias else h  # (K, 1, units): cheap to differentiate
        else:
            h, updates = _batch_norm(config, params[i:i + 4], h, i, bn_training[index], updates)
        if index < len(plan) - 1:
            h = ACTIVATIONS[layer.activation](h)
        i += layer.n_arrays
    return h, updates


def _batch_norm(config: MLPConfig, arrays, h, first_index: int, training: bool, updates: dict):
    """Per-copy BN over the batch axis; in training mode also the new moving mean and variance."""
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


def variable(value, open_dims: int = 1, trainable: bool = False) -> tf.Variable:
    """A variable whose first `open_dims` dimensions are left open, so compiled functions taking it as an
    argument are traced once for any number of copies or samples."""
    value = tf.convert_to_tensor(value)
    shape = [None] * open_dims + value.shape.as_list()[open_dims:]
    return tf.Variable(value, trainable=trainable, shape=tf.TensorShape(shape))


# ---- one SGD step, in pieces the weight-space and sample-space steps both use ----

def gather_batch(x, y, batch_indices, per_copy_data: bool):
    """The batch's rows of x and y; batch_indices (K, b) are each copy's sample positions in this batch."""
    if per_copy_data:
        return tf.gather(x, batch_indices, batch_dims=1), tf.gather(y, batch_indices, batch_dims=1)
    return tf.gather(x, batch_indices), tf.gather(y, batch_indices)


def loss_and_gradients(config: MLPConfig, spec: StepSpec, params, x_batch, y_batch, watched, learning_rate,
                       first=None):
    """Gradients of the copies' summed mean losses with respect to `watched`; per-sample losses and hits (K, b).

    Summing the copies' own means gives each copy exactly its own gradient. When learning, the loss is
    multiplied by the learning rate before differentiating, so backprop yields lr * gradient directly and
    each kernel is touched once per step (one subtraction) rather than three times (gradient, scaling,
    subtraction): the update of a stacked 784x300 kernel is limited by memory traffic, not arithmetic.
    BN layers in training mode then store their new moving statistics, as Keras does in the layer's call.
    """
    _, bn_training = trainable_indices(config, spec.frozen_layers)
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(watched)
        logits, updates = forward(config, params, x_batch, bn_training, first)
        losses, hits = losses_and_hits(config, logits, y_batch)
        total = tf.reduce_sum(tf.reduce_mean(losses, axis=1))
        total = total * learning_rate if spec.learning else total
    gradients = tape.gradient(total, watched) if spec.differentiate else []
    for i, value in updates.items():
        params[i].assign(value)
    return gradients, losses, hits


def apply_sgd(targets, velocity, scaled_gradients, momentum, *, use_momentum: bool) -> None:
    """Keras 3 SGD on each target variable, in place, from gradients already multiplied by the learning rate.

    With momentum: v = momentum * v - lr * g; w += v. Without: w -= lr * g, where a gradient given as
    (rows, values) updates only those rows.
    """
    if use_momentum:
        for target, v, g in zip(targets, velocity, scaled_gradients):
            tf.raw_ops.ResourceApplyKerasMomentum(var=target.handle, accum=v.handle, lr=tf.constant(1.0), grad=g,
                                                  momentum=momentum, use_nesterov=False)
    else:
        for target, g in zip(targets, scaled_gradients):
            target.scatter_nd_sub(*g) if isinstance(g, tuple) else target.assign_sub(g)


def step_function(config: MLPConfig, spec: StepSpec):
    """One SGD step in weight space, for the batched graph and for each copy's XLA loop.

    step(params, velocity, x, y, batch_indices, learning_rate, momentum) updates the variables in place and
    returns (gradients of the trainable arrays, losses (K, b), hits (K, b)).
    """
    trainable, _ = trainable_indices(config, spec.frozen_layers)

    def step(params, velocity, x, y, batch_indices, learning_rate, momentum):
        x_batch, y_batch = gather_batch(x, y, batch_indices, spec.per_copy_data)
        targets = [params[i] for i in trainable]
        gradients, losses, hits = loss_and_gradients(config, spec, params, x_batch, y_batch, targets, learning_rate)
        if spec.learning:
            apply_sgd(targets, velocity, gradients, momentum, use_momentum=spec.momentum)
        return gradients, losses, hits

    return step
