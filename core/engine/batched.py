"""One batched graph for all copies: a whole epoch of SGD as one compiled TensorFlow while loop.

Every copy's step is one batched matmul per layer, so the copies advance together step by step. This is
the path for short runs, whenever gradient norms are recorded, and for any phase whose first layers are
frozen in every copy: their output for the training images is computed once at the phase start (a cached
prefix) and the steps start above it. Its loop also drives the sample-space step (sample_space.py). The
data and the batch order live in variables with open leading dimensions, so one trace serves any number
of copies or samples. Ragged per-copy sets run ceil(n_max / batch) steps; a copy's steps past its own
images are masked (see configs.Subsets).
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

from core.engine import graph, settings
from core.engine.configs import MLPConfig, Phase, layer_plan


class BatchedGraph:
    """The batched-graph path of one run: its training data on the TensorFlow side, and one phase at a time."""

    def __init__(self, run, training):
        """training: a datasets.DataSet (shared, per-copy or indexed images and their labels)."""
        self.run, self.training = run, training
        open_dims = 2 if training.mode == "per_copy" else 1
        self.x = graph.variable(training.pool, open_dims)
        self.y = graph.variable(training.labels, training.labels.ndim)
        rows = training.rows if training.rows is not None else np.zeros((0, 0), np.int32)
        self.data = (self.x, self.y, graph.variable(rows, 2))
        self.counts = graph.variable(training.counts.astype(np.int32))
        self.order = graph.variable(np.zeros((len(run.seeds), training.n_max), np.int32), 2)
        self.batch_size = tf.constant(run.batch_size)

    def phase(self, number: int, phase: Phase, weights, first_epoch: int):
        """Run one phase with a fresh optimizer; returns the weights after it (numpy)."""
        run = self.run
        frozen = phase.frozen_counts(len(layer_plan(run.config)), len(run.seeds))
        start, groups = cached_prefix(run, self.training, phase, frozen, weights)
        spec = graph.StepSpec.for_phase(phase, frozen, data="indexed" if start else self.training.mode,
                                        ragged=self.training.ragged, record_norms=run.record_grad_norms,
                                        start_layer=start)
        function = epoch_function(run.config, spec)
        trainable, _ = graph.trainable_indices(run.config, spec.frozen_layers)
        params = [graph.variable(np.asarray(w, np.float32), trainable=True) for w in weights]
        velocity = [graph.variable(tf.zeros_like(params[i])) for i in trainable] if spec.momentum else []
        data = self.prefix_output(weights, start, groups) if start else self.data
        arguments = run_arguments(run, phase, frozen)
        for _ in range(phase.epochs):
            self.order.assign(run.batch_orders(first_epoch))
            loss, accuracy, *norms = function(params, velocity, data, self.counts, self.order, self.batch_size,
                                              *arguments, ())
            run.end_epoch(number, loss.numpy(), accuracy.numpy(), norms, lambda: run.validation(params))
        return tuple(p.numpy() for p in params)

    def prefix_output(self, weights, layers: int, groups: np.ndarray):
        """The cached output of the first `layers` (frozen) layers as "indexed" data: a pool (G * n_max, units) of
        each group's training images through them, and rows (K, n_max) into it.

        Copies in one group (`groups`: (K,) group numbers) have the same frozen weights and the same training
        images, so their output is computed and kept once (the reuse grid's variants of one seed share it).
        """
        training, n_max = self.training, self.training.n_max
        members = [int(np.flatnonzero(groups == group)[0]) for group in range(groups.max() + 1)]  # one per group
        params = [tf.constant(np.asarray(w)[members], tf.float32)
                  for w in weights[:graph.first_array(self.run.config, layers)]]
        if training.mode == "shared":
            data = self.data
        elif training.mode == "per_copy":
            data = (tf.gather(self.x, members), tf.gather(self.y, members), self.data[2])
        else:
            data = (self.x, tf.gather(self.y, members), tf.constant(training.rows[members]))
        function = prefix_function(self.run.config, layers, training.mode)
        positions = np.broadcast_to(np.arange(n_max, dtype=np.int32), (len(members), n_max))
        chunk = max(128, min(settings.EVAL_CHUNK, settings.EVAL_GATHER_FLOATS // (len(members) * 28 * 28)))
        output = tf.concat([function(params, data, tf.constant(positions[:, start:start + chunk]))
                            for start in range(0, n_max, chunk)], axis=1)  # (G, n_max, units)
        pool = tf.reshape(output, [-1, output.shape[-1]])
        rows = (groups[:, None] * n_max + np.arange(n_max)[None, :]).astype(np.int32)
        return graph.variable(pool), self.y, graph.variable(rows, 2)


def cached_prefix(run, training, phase: Phase, frozen, weights) -> tuple[int, np.ndarray | None]:
    """How many leading layers a phase takes from a cache, and each copy's cache group (K,): the layers frozen in
    every copy (frozen: (K,) counts), when worth caching (two epochs or more, no gradient norms) and the cache
    (one per group of copies with the same frozen weights and training images) fits
    settings.PREFIX_CACHE_MAX_FLOATS; else (0, None)."""
    prefix = int(min(frozen))
    if prefix == 0 or phase.epochs < 2 or run.record_grad_norms or not settings.CACHE_FROZEN_PREFIX:
        return 0, None
    groups = copy_groups(training, weights[:graph.first_array(run.config, prefix)])
    units = layer_plan(run.config)[prefix - 1].units
    if (groups.max() + 1) * training.n_max * units > settings.PREFIX_CACHE_MAX_FLOATS:
        return 0, None
    return prefix, groups


def copy_groups(training, arrays) -> np.ndarray:
    """(K,) group numbers: copies with equal `arrays` (each (K, ...)) and the same training images share one."""
    extra = [b""] * len(training.counts)
    if training.mode == "indexed":
        extra = [training.rows[copy, :count].tobytes() for copy, count in enumerate(training.counts)]
    elif training.mode == "per_copy":
        extra = [training.pool[copy].tobytes() for copy in range(len(training.counts))]
    return graph.equal_copies(arrays, extra)


def run_arguments(run, phase: Phase, frozen) -> tuple:
    """The per-copy tensors an epoch function takes after the batch size: learning rates (K,), momentum and the
    (K, n_layers) mask of the layers each copy trains (variables with an open copy axis: one trace for any K)."""
    return (graph.variable(phase.learning_rates(len(run.seeds))), tf.constant(phase.momentum, tf.float32),
            graph.variable(graph.layer_training_mask(run.config, frozen)))


@functools.lru_cache(maxsize=32)
def epoch_function(config: MLPConfig, spec: graph.StepSpec):
    """The compiled epoch of the weight-space step (cached per architecture and step); see `compile_epoch`."""
    return compile_epoch(config, spec, graph.step_function(config, spec))


@functools.lru_cache(maxsize=32)
def prefix_function(config: MLPConfig, layers: int, mode: str):
    """A compiled function: the output (K, c, units) of the first `layers` layers (BN in inference mode: frozen)
    for the training images at positions (K, c)."""
    spec = graph.StepSpec(0, mode, momentum=False, learning=False)
    inference = (False,) * len(layer_plan(config))

    @tf.function(autograph=False)
    def prefix(params, data, positions):
        x, _ = graph.gather_batch(spec, data, positions)
        output, _ = graph.forward(config, params, x, inference, stop_layer=layers)
        return output

    return prefix


def compile_epoch(config: MLPConfig, spec: graph.StepSpec, step):
    """A compiled function running one whole epoch of `step` over all copies.

    epoch(params, velocity, data, counts, order, batch_size, learning_rate, momentum, layer_training, step_state)
    walks the (K, n_max) sample order batch by batch, passing `step_state` (a tuple) on to every step, and
    returns each copy's mean loss and accuracy over its own `counts` (K,) images, (K,) each, measured before
    each step's update; with `spec.record_norms` also the per-step global gradient norms (n_steps, K) and the
    kernel gradient norms (n_steps, K, n_dense), NaN for frozen kernels. Without learning no weight changes
    and gradients are computed only when their norms are recorded; BN statistics move either way.
    """
    trainable, _ = graph.trainable_indices(config, spec.frozen_layers)
    kernels = _kernel_indices(config)

    def norms_of(gradients, copies, learning_rate):
        by_index = dict(zip(trainable, gradients))
        per_layer = [_per_copy_norm([by_index[i]]) if i in by_index else tf.fill([copies], np.nan) for i in kernels]
        global_norm, per_layer = _per_copy_norm(gradients), tf.stack(per_layer, axis=1)
        if spec.learning:  # the step differentiated lr * loss
            return global_norm / learning_rate, per_layer / learning_rate[:, None]
        return global_norm, per_layer

    @tf.function(autograph=False)  # an explicit while loop: tracing without AutoGraph is about twice as fast
    def epoch(params, velocity, data, counts, order, batch_size, learning_rate, momentum, layer_training,
              step_state):
        copies, n = tf.shape(order)[0], tf.shape(order)[1]
        n_steps = (n + batch_size - 1) // batch_size
        record = spec.record_norms
        norms = tf.TensorArray(tf.float32, size=n_steps if record else 0, element_shape=[None])
        layer_norms = tf.TensorArray(tf.float32, size=n_steps if record else 0, element_shape=[None, len(kernels)])
        freezing = layer_training if spec.per_copy_freezing else None

        def body(s, loss_sum, hit_sum, norms, layer_norms):
            start, end = s * batch_size, tf.minimum((s + 1) * batch_size, n)
            batch_indices = order[:, start:end]
            mask = (tf.cast(tf.range(start, end)[None, :] < counts[:, None], tf.float32) if spec.ragged else None)
            context = graph.StepContext(mask, freezing)
            gradients, losses, hits = step(params, velocity, data, batch_indices, context, learning_rate, momentum,
                                           *step_state)
            if record:
                global_norm, per_layer = norms_of(gradients, copies, learning_rate)
                norms, layer_norms = norms.write(s, global_norm), layer_norms.write(s, per_layer)
            return (s + 1, loss_sum + tf.reduce_sum(losses, axis=1), hit_sum + tf.reduce_sum(hits, axis=1), norms,
                    layer_norms)

        start = (tf.constant(0), tf.zeros([copies]), tf.zeros([copies]), norms, layer_norms)
        _, loss_sum, hit_sum, norms, layer_norms = tf.while_loop(lambda s, *_: s < n_steps, body, start)
        count = tf.cast(counts, tf.float32)
        outputs = (loss_sum / count, hit_sum / count)
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
