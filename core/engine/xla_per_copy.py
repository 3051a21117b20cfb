"""One XLA-compiled loop per copy: long weight-space runs, the copies' loops side by side on the cores.

XLA fuses the step's many small operations, which TensorFlow's executor would run one by one, but it
needs static shapes: the data are constants, the full batches run in a while loop and the short last
batch after it, and each copy has its own variables (copy axis of length 1). On a 2-core machine this
beats one batched graph for large training sets: for model A at K=10, about 5 ms per step for all
copies against about 8 ms (see bench/engine_speed.py). XLA compiles for 2-4 s per data shape, so
short runs take the batched graph instead (settings.PARALLEL_MIN_IMAGE_EPOCHS).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import tensorflow as tf

from core.engine import graph
from core.engine.configs import MLPConfig, Phase


class XlaPerCopy:
    """The per-copy XLA path of one run: its training data as constants, and one phase at a time."""

    def __init__(self, run, x: np.ndarray, y: np.ndarray):
        """x: (n, 784) shared or (K, n, 784) per copy; y: (n,) or (K, n) float32."""
        self.run = run
        self.x, self.y = tf.constant(x), tf.constant(y)  # XLA needs the data's shapes when it compiles

    def phase(self, number: int, phase: Phase, weights, first_epoch: int):
        """Run one phase with a fresh optimizer, each copy with its own variables; returns the weights (numpy)."""
        run = self.run
        spec = graph.StepSpec.for_phase(phase, per_copy_data=run.per_copy)
        function = epoch_function(run.config, spec, run.batch_size)
        trainable, _ = graph.trainable_indices(run.config, phase.frozen_layers)
        copies = [[graph.variable(np.asarray(w[k:k + 1], np.float32), 0, trainable=True) for w in weights]
                  for k in range(len(run.seeds))]
        velocity = [[graph.variable(tf.zeros_like(copy[i]), 0) for i in trainable] if spec.momentum else []
                    for copy in copies]
        rates = (tf.constant(phase.learning_rate, tf.float32), tf.constant(phase.momentum, tf.float32))

        def stacked():
            return [tf.concat([copy[i] for copy in copies], 0) for i in range(len(weights))]

        for _ in range(phase.epochs):
            loss, accuracy = function(copies, velocity, self.x, self.y, tf.constant(run.batch_orders(first_epoch)),
                                      *rates)
            run.end_epoch(number, loss.numpy(), accuracy.numpy(), (), lambda: run.validation(stacked()))
        return tuple(np.concatenate([copy[i].numpy() for copy in copies]) for i in range(len(weights)))


@functools.lru_cache(maxsize=32)
def epoch_function(config: MLPConfig, spec: graph.StepSpec, batch_size: int):
    """One epoch of every copy, each copy an XLA-compiled loop; the loops are independent, so they share the cores.

    epoch(copies, velocity, x, y, order, learning_rate, momentum): `copies[k]` and `velocity[k]` are copy
    k's variables, `order` the (K, n) sample orders; returns each copy's mean loss and accuracy, (K,) each.
    """
    copy_spec = dataclasses.replace(spec, per_copy_data=False)  # each copy's loop is given its own images

    @tf.function(autograph=False)
    def epoch(copies, velocity, x, y, order, learning_rate, momentum):
        copy_epoch = _copy_epoch_function(config, copy_spec, batch_size)  # fresh per trace
        results = [copy_epoch(copies[k], velocity[k], x[k] if spec.per_copy_data else x,
                              y[k] if spec.per_copy_data else y, order[k:k + 1], learning_rate, momentum)
                   for k in range(len(copies))]
        return tf.concat([loss for loss, _ in results], 0), tf.concat([hits for _, hits in results], 0)

    return epoch


def _copy_epoch_function(config: MLPConfig, spec: graph.StepSpec, batch_size: int):
    """One copy's whole epoch compiled by XLA: (mean loss (1,), accuracy (1,)) over the (1, n) order it is given.

    Not cached: a tf.function traced inside one trace of the outer function and then reused by a
    later trace keeps references to the first trace's variables, which TensorFlow then rejects.
    """
    step = graph.step_function(config, spec)

    @tf.function(jit_compile=True, autograph=False)
    def epoch(params, velocity, x, y, order, learning_rate, momentum):
        n = order.shape[1]

        def run(batch_indices, loss_sum, hit_sum):
            _, losses, hits = step(params, velocity, x, y, batch_indices, learning_rate, momentum)
            return loss_sum + tf.reduce_sum(losses, axis=1), hit_sum + tf.reduce_sum(hits, axis=1)

        def body(s, loss_sum, hit_sum):
            return (s + 1, *run(tf.slice(order, [0, s * batch_size], [1, batch_size]), loss_sum, hit_sum))

        _, loss_sum, hit_sum = tf.while_loop(lambda s, *_: s < n // batch_size, body,
                                             (tf.constant(0), tf.zeros([1]), tf.zeros([1])))
        if n % batch_size:
            loss_sum, hit_sum = run(order[:, n - n % batch_size:], loss_sum, hit_sum)
        return loss_sum / n, hit_sum / n

    return epoch
