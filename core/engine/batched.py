"""One batched graph for all copies: a whole epoch of SGD as one compiled TensorFlow while loop.

Every copy's step is one batched matmul per layer, so the copies advance together step by step. This is
the path for short runs and whenever gradient norms are recorded; its loop also drives the sample-space
step (sample_space.py). The data and the batch order live in variables with open leading dimensions, so
one trace serves any number of copies or samples.
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

from core.engine import graph
from core.engine.configs import MLPConfig, Phase, layer_plan


class BatchedGraph:
    """The batched-graph path of one run: its training data on the TensorFlow side, and one phase at a time."""

    def __init__(self, run, x: np.ndarray, y: np.ndarray):
        """x: (n, 784) shared or (K, n, 784) per copy; y: (n,) or (K, n) float32."""
        self.run = run
        open_dims = 1 + run.per_copy
        self.x, self.y = graph.variable(x, open_dims), graph.variable(y, open_dims)
        self.order = graph.variable(np.zeros((len(run.seeds), run.n), np.int32), 2)
        self.batch_size = tf.constant(run.batch_size)

    def phase(self, number: int, phase: Phase, weights, first_epoch: int):
        """Run one phase with a fresh optimizer; returns the weights after it (numpy)."""
        run = self.run
        spec = graph.StepSpec.for_phase(phase, per_copy_data=run.per_copy, record_norms=run.record_grad_norms)
        function = epoch_function(run.config, spec)
        trainable, _ = graph.trainable_indices(run.config, phase.frozen_layers)
        params = [graph.variable(np.asarray(w, np.float32), trainable=True) for w in weights]
        velocity = [graph.variable(tf.zeros_like(params[i])) for i in trainable] if spec.momentum else []
        rates = (tf.constant(phase.learning_rate, tf.float32), tf.constant(phase.momentum, tf.float32))
        for _ in range(phase.epochs):
            self.order.assign(run.batch_orders(first_epoch))
            loss, accuracy, *norms = function(params, velocity, self.x, self.y, self.order, self.batch_size, *rates,
                                              ())
            run.end_epoch(number, loss.numpy(), accuracy.numpy(), norms, lambda: run.validation(params))
        return tuple(p.numpy() for p in params)


@functools.lru_cache(maxsize=32)
def epoch_function(config: MLPConfig, spec: graph.StepSpec):
    """The compiled epoch of the weight-space step (cached per architecture and step); see `compile_epoch`."""
    return compile_epoch(config, spec, graph.step_function(config, spec))


def compile_epoch(config: MLPConfig, spec: graph.StepSpec, step):
    """A compiled function running one whole epoch of `step` over all copies.

    epoch(params, velocity, x, y, order, batch_size, learning_rate, momentum, step_state) walks the
    (K, n) sample order batch by batch, passing `step_state` (a tuple) on to every step, and returns
    each copy's mean loss and accuracy over the epoch, (K,) each, measured before each step's update;
    with `spec.record_norms` also the per-step global gradient norms (n_steps, K) and the kernel
    gradient norms (n_steps, K, n_dense), NaN for frozen kernels. Without learning no weight changes
    and gradients are computed only when their norms are recorded; BN statistics move either way.
    """
    trainable, _ = graph.trainable_indices(config, spec.frozen_layers)
    kernels = _kernel_indices(config)

    def norms_of(gradients, copies, learning_rate):
        by_index = dict(zip(trainable, gradients))
        per_layer = [_per_copy_norm([by_index[i]]) if i in by_index else tf.fill([copies], np.nan) for i in kernels]
        global_norm, per_layer = _per_copy_norm(gradients), tf.stack(per_layer, axis=1)
        if spec.learning:  # the step differentiated lr * loss
            return global_norm / learning_rate, per_layer / learning_rate
        return global_norm, per_layer

    @tf.function(autograph=False)  # an explicit while loop: tracing without AutoGraph is about twice as fast
    def epoch(params, velocity, x, y, order, batch_size, learning_rate, momentum, step_state):
        copies, n = tf.shape(order)[0], tf.shape(order)[1]
        n_steps = (n + batch_size - 1) // batch_size
        record = spec.record_norms
        norms = tf.TensorArray(tf.float32, size=n_steps if record else 0, element_shape=[None])
        layer_norms = tf.TensorArray(tf.float32, size=n_steps if record else 0, element_shape=[None, len(kernels)])

        def body(s, loss_sum, hit_sum, norms, layer_norms):
            batch_indices = order[:, s * batch_size:tf.minimum((s + 1) * batch_size, n)]
            gradients, losses, hits = step(params, velocity, x, y, batch_indices, learning_rate, momentum,
                                           *step_state)
            if record:
                global_norm, per_layer = norms_of(gradients, copies, learning_rate)
                norms, layer_norms = norms.write(s, global_norm), layer_norms.write(s, per_layer)
            return s + 1, loss_sum + tf.reduce_sum(losses, axis=1), hit_sum + tf.reduce_sum(hits, axis=1), norms, \
                layer_norms

        start = (tf.constant(0), tf.zeros([copies]), tf.zeros([copies]), norms, layer_norms)
        _, loss_sum, hit_sum, norms, layer_norms = tf.while_loop(lambda s, *_: s < n_steps, body, start)
        n_float = tf.cast(n, tf.float32)
        outputs = (loss_sum / n_float, hit_sum / n_float)
        return outputs + ((norms.stack(), layer_norms.stack()) if record else ())

    return epoch


def _kernel_indices(config: MLPConfig) -> tuple[int, ...]:
    """Positions of the Dense kernels among the weight arrays."""
    plan = layer_plan(config)
    starts = np.cumsum([0] + [layer.n_arrays for layer in plan])
    return tuple(int(starts[index]) for index, layer in enumerate(plan) if layer.kind == "dense")


def _per_copy_norm(tensors):
    """(K,): each copy's L2 norm over the given (K, ...) tensors together."""
    return tf.sqrt(tf.add_n([tf.reduce_sum(tf.square(t), axis=list(range(1, t.shape.rank))) for t in tensors]))
