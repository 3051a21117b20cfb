"""The sample-space path: small training sets train the first Dense layer through the span of their images.

When the training set has fewer images than the first Dense layer has inputs, that layer's SGD updates
x_b^T dh all lie in the span of the n training images, so its kernel stays W = W0 + X^T C with C of
shape (n, units) per copy (W0: the kernel at the phase start). A phase then trains C instead of W: the
forward product x_b W is (X W0)_b + (X X^T)_b C, and the update W -= lr x_b^T dh is exactly
C[batch] -= lr dh (momentum likewise, by linearity). Validation uses X_valid W0 + (X_valid X^T) C, and
W is formed once at the phase end. Same arithmetic as Keras up to float32 rounding (tests/test_engine.py
checks every path against Keras); for the 200-image B phase it replaces 784-long products by 200-long
ones and never touches the 784 x 300 kernel. The epoch loop is the batched graph's (batched.py).
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

from core.engine import batched, evaluation, graph, settings
from core.engine.configs import MLPConfig, Phase, layer_plan, weight_shapes


class SampleSpace(batched.BatchedGraph):
    """The sample-space path of one run: the batched graph's data and order, plus the Gram matrices."""

    def __init__(self, run, x: np.ndarray, y: np.ndarray):
        super().__init__(run, x, y)
        self.gram = graph.variable(graph.matmul(self.x, self.x, transpose_b=True), 1 + run.per_copy)  # X X^T
        self.validation_gram = None  # X_valid X^T per validation chunk, computed at the first phase that uses it

    def phase(self, number: int, phase: Phase, weights, first_epoch: int):
        """Run one phase with a fresh optimizer, training C; returns the weights after it (numpy), W formed."""
        run = self.run
        spec = graph.StepSpec.for_phase(phase, per_copy_data=run.per_copy)
        function = epoch_function(run.config, spec)
        trainable, _ = graph.trainable_indices(run.config, phase.frozen_layers)
        params = [graph.variable(np.asarray(w, np.float32), trainable=True) for w in weights]
        start_kernel = tf.convert_to_tensor(params[0])  # W0: (K, 784, units), with its shape known
        c = graph.variable(tf.zeros([start_kernel.shape[0], run.n, start_kernel.shape[2]]))
        step_state = (graph.matmul(self.x, start_kernel), c)  # X W0 (K, n, units), C (K, n, units)
        validation_chunks = self.validation_chunks(start_kernel)
        learned = [c if i == 0 else params[i] for i in trainable]
        velocity = [graph.variable(tf.zeros_like(array)) for array in learned] if spec.momentum else []
        rates = (tf.constant(phase.learning_rate, tf.float32), tf.constant(phase.momentum, tf.float32))

        def validate():
            if validation_chunks is None:  # no sample-space validation: form W for the ordinary evaluator
                return run.validation([self.kernel(params[0], c)] + params[1:])
            return self.validate(params, validation_chunks, c)

        for _ in range(phase.epochs):
            self.order.assign(run.batch_orders(first_epoch))
            loss, accuracy = function(params, velocity, self.gram, self.y, self.order, self.batch_size, *rates,
                                      step_state)
            run.end_epoch(number, loss.numpy(), accuracy.numpy(), (), validate)
        params[0].assign(self.kernel(params[0], c))
        return tuple(p.numpy() for p in params)

    def kernel(self, start_kernel, c):
        """The first Dense kernel W = W0 + X^T C, (K, 784, units)."""
        return start_kernel + graph.matmul(self.x, c, transpose_a=True)

    def validation_chunks(self, start_kernel):
        """Per validation chunk (X_valid X^T, y_valid, X_valid W0) for this phase; None without validation, or
        when the (K, n_valid, units) products would exceed settings.SAMPLE_SPACE_MAX_FLOATS (then W is formed)."""
        validation = self.run.validation
        copies, units = start_kernel.shape[0], start_kernel.shape[2]
        if validation is None or copies * validation.n * units > settings.SAMPLE_SPACE_MAX_FLOATS:
            return None
        if self.validation_gram is None:
            self.validation_gram = [graph.matmul(x, self.x, transpose_b=True) for x, _ in validation.chunks]
        return [(gram, y, graph.matmul(x, start_kernel)) for gram, (x, y) in zip(self.validation_gram,
                                                                                 validation.chunks)]

    def validate(self, weights, chunks, c) -> tuple[np.ndarray, np.ndarray]:
        """Mean validation loss and accuracy per copy, (K,) each, with the first layer through W0 and C."""
        params = [tf.convert_to_tensor(w, tf.float32) for w in weights]
        function = validation_function(self.run.config, chunks[0][0].shape.rank == 3, self.run.validation.per_copy)
        c = tf.convert_to_tensor(c)
        return evaluation.summed_over_chunks(function, params, [chunk + (c,) for chunk in chunks],
                                             self.run.validation.n)


def step_function(config: MLPConfig, spec: graph.StepSpec):
    """One SGD step with the first Dense kernel in sample space (see the module docstring).

    step(params, velocity, gram, y, batch_indices, learning_rate, momentum, start_product, c): `gram` is
    X X^T, `start_product` X W0 and `c` the C variable, each (n, ...) shared or (K, n, ...) per copy; the
    step computes x_b W = (X W0)_b + (X X^T)_b C and applies the SGD update to the batch's rows of C,
    which is exactly W -= lr * x_b^T dh. Returns (gradients, losses (K, b), hits (K, b)).
    """
    trainable, _ = graph.trainable_indices(config, spec.frozen_layers)
    first_learned = 0 in trainable  # array 0 is the first Dense kernel

    def step(params, velocity, gram, y, batch_indices, learning_rate, momentum, start_product, c):
        gram_rows, y_batch = graph.gather_batch(gram, y, batch_indices, spec.per_copy_data)
        targets = [params[i] for i in trainable]
        first = tf.gather(start_product, batch_indices, batch_dims=1)
        if first_learned:
            first = first + graph.matmul(gram_rows, c)
            targets = [c] + targets[1:]
        watched = [first] + targets[1:] if first_learned else targets
        gradients, losses, hits = graph.loss_and_gradients(config, spec, params, gram_rows, y_batch, watched,
                                                           learning_rate, first)
        if spec.learning and first_learned:  # the batch's rows of C take the first layer's output gradient
            rows = tf.stack([tf.broadcast_to(tf.range(tf.shape(batch_indices)[0])[:, None], tf.shape(batch_indices)),
                             batch_indices], axis=-1)
            first_gradient = tf.scatter_nd(rows, gradients[0], tf.shape(c)) if spec.momentum else (rows, gradients[0])
            gradients = [first_gradient] + gradients[1:]
        if spec.learning:
            graph.apply_sgd(targets, velocity, gradients, momentum, use_momentum=spec.momentum)
        return gradients, losses, hits

    return step


@functools.lru_cache(maxsize=32)
def epoch_function(config: MLPConfig, spec: graph.StepSpec):
    """The compiled epoch of the sample-space step (cached per architecture and step): the batched graph's loop."""
    return batched.compile_epoch(config, spec, step_function(config, spec))


@functools.lru_cache(maxsize=32)
def validation_function(config: MLPConfig, per_copy_gram: bool, per_copy_y: bool):
    """A compiled function: summed loss and hits per copy, (K,) each, on one validation chunk, BN in inference mode.

    Its arguments are the weights, the chunk's rows of X_valid X^T, its labels, X_valid W0 (K, m, units)
    and C (K, n, units); the first layer's product is X_valid W0 + (X_valid X^T) C.
    """
    inference = (False,) * len(layer_plan(config))
    units = weight_shapes(config)[0][1]
    signature = (evaluation.weight_specs(config), tf.TensorSpec([None] * (2 + per_copy_gram), tf.float32),
                 evaluation.data_spec(per_copy_y, images=False), tf.TensorSpec([None, None, units], tf.float32),
                 tf.TensorSpec([None, None, units], tf.float32))

    @tf.function(input_signature=signature, autograph=False)
    def evaluate_chunk(params, gram_rows, y, start_product, c):
        first = start_product + graph.matmul(gram_rows, c)
        logits, _ = graph.forward(config, params, gram_rows, inference, first)
        losses, hits = graph.losses_and_hits(config, logits, y)
        return tf.reduce_sum(losses, axis=1), tf.reduce_sum(hits, axis=1)

    return evaluate_chunk
