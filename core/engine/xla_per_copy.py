"""One XLA-compiled loop per copy: long weight-space runs, the copies' loops side by side on the cores.

XLA fuses the step's many small operations, which TensorFlow's executor would run one by one, but it
needs static shapes: the data are constants, the full batches run in a while loop and the short last
batch after it, and each copy has its own variables (copy axis of length 1). On a 2-core machine this
beats one batched graph for large training sets: for model A at K=10, about 5 ms per step for all
copies against about 8 ms (see bench/engine_speed.py). XLA compiles for 2-4 s per data shape, so
short runs take the batched graph instead (settings.PARALLEL_MIN_IMAGE_EPOCHS).

Per-copy subsets (indexed data) share one compiled loop whatever their sizes: each copy's images are
rows of one shared array, its order is padded to the largest copy's, and its loop runs its own
ceil(n_k / batch) steps (a count given at run time), the last one masked past its own images. Each copy
also runs with its own learning rate and frozen layers; copies that freeze the same layers share a loop.
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

from core.engine import graph
from core.engine.configs import MLPConfig, Phase, layer_plan


class XlaPerCopy:
    """The per-copy XLA path of one run: its training data as constants, and one phase at a time."""

    def __init__(self, run, training):
        """training: a datasets.DataSet (shared, per-copy or indexed images and their labels)."""
        self.run, self.training = run, training
        self.x, self.y = tf.constant(training.pool), tf.constant(training.labels)  # XLA compiles for their shapes
        self.rows = tf.constant(training.rows) if training.rows is not None else None
        self.counts = tf.constant(training.counts, tf.int32)

    def phase(self, number: int, phase: Phase, weights, first_epoch: int):
        """Run one phase with a fresh optimizer, each copy with its own variables; returns the weights (numpy)."""
        run, copies = self.run, len(self.run.seeds)
        frozen = phase.frozen_counts(len(layer_plan(run.config)), copies)
        rates = phase.learning_rates(copies)
        indexed = self.training.mode == "indexed"
        copy_specs = tuple(graph.StepSpec(int(count), "indexed" if indexed else "shared",
                                          momentum=phase.momentum > 0 and rate > 0, learning=rate > 0, ragged=indexed)
                           for count, rate in zip(frozen, rates))
        function = epoch_function(run.config, copy_specs, run.batch_size, self.training.mode)
        variables = [[graph.variable(np.asarray(w[k:k + 1], np.float32), 0, trainable=True) for w in weights]
                     for k in range(copies)]
        velocity = [[graph.variable(tf.zeros_like(copy[i]), 0)
                     for i in graph.trainable_indices(run.config, spec.frozen_layers)[0]] if spec.momentum else []
                    for copy, spec in zip(variables, copy_specs)]
        arguments = (tf.constant(rates), tf.constant(phase.momentum, tf.float32))

        def stacked():
            return [tf.concat([copy[i] for copy in variables], 0) for i in range(len(weights))]

        for _ in range(phase.epochs):
            order = run.batch_orders(first_epoch)
            if indexed:  # room for a whole last batch past the longest copy's images (masked)
                order = np.pad(order, ((0, 0), (0, run.batch_size)))
            loss, accuracy = function(variables, velocity, self.x, self.y, self.rows, self.counts, tf.constant(order),
                                      *arguments)
            run.end_epoch(number, loss.numpy(), accuracy.numpy(), (), lambda: run.validation(stacked()))
        return tuple(np.concatenate([copy[i].numpy() for copy in variables]) for i in range(len(weights)))


@functools.lru_cache(maxsize=32)
def epoch_function(config: MLPConfig, copy_specs: tuple, batch_size: int, mode: str):
    """One epoch of every copy, each copy an XLA-compiled loop; the loops are independent, so they share the cores.

    epoch(copies, velocity, x, y, rows, counts, order, learning_rates, momentum): `copies[k]` and
    `velocity[k]` are copy k's variables, `copy_specs[k]` its step, `order` the (K, n) sample orders;
    returns each copy's mean loss and accuracy, (K,) each.
    """

    @tf.function(autograph=False)
    def epoch(copies, velocity, x, y, rows, counts, order, learning_rates, momentum):
        loops = {}  # one compiled loop per distinct step, fresh per trace
        results = []
        for k, spec in enumerate(copy_specs):
            if spec not in loops:
                loops[spec] = _copy_epoch_function(config, spec, batch_size)
            if mode == "indexed":
                data, count = (x, y[k:k + 1], rows[k:k + 1]), counts[k]
            else:
                data, count = ((x[k], y[k]) if mode == "per_copy" else (x, y)) + (tf.zeros([0, 0], tf.int32),), None
            results.append(loops[spec](copies[k], velocity[k], data, order[k:k + 1], count, learning_rates[k:k + 1],
                                       momentum))
        return tf.concat([loss for loss, _ in results], 0), tf.concat([hits for _, hits in results], 0)

    return epoch


def _copy_epoch_function(config: MLPConfig, spec: graph.StepSpec, batch_size: int):
    """One copy's whole epoch compiled by XLA: (mean loss (1,), accuracy (1,)) over the (1, n) order it is given.

    Without a count (all copies the same size) the full batches run in a loop and the short last batch after
    it, all with static shapes; with a count (per-copy subsets) the loop runs ceil(count / batch) masked steps.
    Not cached: a tf.function traced inside one trace of the outer function and then reused by a
    later trace keeps references to the first trace's variables, which TensorFlow then rejects.
    """
    step = graph.step_function(config, spec)

    @tf.function(jit_compile=True, autograph=False)
    def epoch(params, velocity, data, order, count, learning_rate, momentum):
        def run(batch_indices, loss_sum, hit_sum, mask=None):
            context = graph.StepContext(sample_mask=mask)
            _, losses, hits = step(params, velocity, data, batch_indices, context, learning_rate, momentum)
            return loss_sum + tf.reduce_sum(losses, axis=1), hit_sum + tf.reduce_sum(hits, axis=1)

        if count is not None:
            def masked_body(s, loss_sum, hit_sum):
                mask = tf.cast(s * batch_size + tf.range(batch_size)[None, :] < count, tf.float32)
                batch = tf.slice(order, [0, s * batch_size], [1, batch_size])
                return (s + 1, *run(batch, loss_sum, hit_sum, mask))

            steps = (count + batch_size - 1) // batch_size
            _, loss_sum, hit_sum = tf.while_loop(lambda s, *_: s < steps, masked_body,
                                                 (tf.constant(0), tf.zeros([1]), tf.zeros([1])))
            return loss_sum / tf.cast(count, tf.float32), hit_sum / tf.cast(count, tf.float32)

        n = order.shape[1]

        def body(s, loss_sum, hit_sum):
            return (s + 1, *run(tf.slice(order, [0, s * batch_size], [1, batch_size]), loss_sum, hit_sum))

        _, loss_sum, hit_sum = tf.while_loop(lambda s, *_: s < n // batch_size, body,
                                             (tf.constant(0), tf.zeros([1]), tf.zeros([1])))
        if n % batch_size:
            loss_sum, hit_sum = run(order[:, n - n % batch_size:], loss_sum, hit_sum)
        return loss_sum / n, hit_sum / n

    return epoch
