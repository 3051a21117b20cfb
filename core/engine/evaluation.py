"""Evaluation of every copy on one data set, BN in inference mode, in chunks that bound the memory used.

Shared by `evaluate`, the validation after every epoch and the final test; the sample-space path adds
its own validation on top (sample_space.py).
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

from core.engine import graph, settings
from core.engine.configs import MLPConfig, layer_plan, weight_shapes
from core.engine.datasets import data_set


class Evaluator:
    """One evaluation set, checked, flattened and cut into chunks once; called with weights, as often as needed."""

    def __init__(self, config: MLPConfig, x, y, copies: int, role: str):
        """x, y: shared (m, 28, 28), (m,); per copy (K, m, 28, 28), (K, m); or x a `Subsets` and y None (each
        copy its own images of one shared array, sizes may differ). role names the set in errors."""
        evaluation_set = data_set(x, y, copies, role)
        self.config, self.mode, self.n = config, evaluation_set.mode, evaluation_set.n_max
        self.per_copy = self.mode == "per_copy"
        self.counts = evaluation_set.counts
        # Activations are (K, chunk, units), and indexed images are gathered (K, chunk, 784): bound their floats.
        widest = max([layer.units for layer in layer_plan(config)] + [28 * 28 if self.mode == "indexed" else 0])
        chunk = max(128, min(settings.EVAL_CHUNK, settings.EVAL_GATHER_FLOATS // (copies * widest)))
        parts = [slice(start, start + chunk) for start in range(0, self.n, chunk)]
        if self.mode == "indexed":  # each chunk: rows into the shared images, labels, and the mask of the padding
            self.pool = tf.constant(evaluation_set.pool)
            mask = evaluation_set.mask()
            self.chunks = [(tf.constant(evaluation_set.rows[:, part]), tf.constant(evaluation_set.labels[:, part]),
                            tf.constant(mask[:, part])) for part in parts]
            return
        x, y = evaluation_set.pool, evaluation_set.labels
        self.chunks = [(tf.constant(x[:, part]), tf.constant(y[:, part])) if self.per_copy else
                       (tf.constant(x[part]), tf.constant(y[part])) for part in parts]

    def __call__(self, weights, *, share_first_layer: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Mean loss and accuracy per copy, (K,) float32 each; weights as numpy arrays, tensors or variables.

        `share_first_layer`: copies whose first Dense layer is equal (e.g. reused and frozen) compute its output
        for the shared images once (a check of the weights, worth it for a final evaluation, not every epoch).
        """
        params = [tf.convert_to_tensor(w, tf.float32) for w in weights]
        plan = layer_plan(self.config)
        if share_first_layer and self.mode == "shared" and plan[0].kind == "dense":
            first = params[:plan[0].n_arrays]
            groups = graph.equal_copies(first)
            if groups.max() + 1 < len(groups):
                members = [int(np.flatnonzero(groups == group)[0]) for group in range(groups.max() + 1)]
                first = [tf.gather(array, members) for array in first]
                function = grouped_eval_function(self.config)
                return summed_over_chunks(lambda p, *chunk: function(p, first, tf.constant(groups, tf.int32), *chunk),
                                          params, self.chunks, self.n)
        if self.mode == "indexed":
            function = indexed_eval_function(self.config)
            return summed_over_chunks(lambda p, *chunk: function(p, self.pool, *chunk), params, self.chunks,
                                      self.counts)
        return summed_over_chunks(eval_function(self.config, self.per_copy, self.per_copy), params, self.chunks,
                                  self.n)


def summed_over_chunks(function, params, chunks, n) -> tuple[np.ndarray, np.ndarray]:
    """Mean loss and accuracy per copy, (K,) float32 each, from function(params, *chunk) -> summed (K,) pairs;
    n: the number of images, one for all copies or (K,) per copy."""
    loss, hits = np.zeros(params[0].shape[0]), np.zeros(params[0].shape[0])
    for chunk in chunks:
        chunk_loss, chunk_hits = function(params, *chunk)
        loss, hits = loss + chunk_loss.numpy(), hits + chunk_hits.numpy()
    return (loss / n).astype(np.float32), (hits / n).astype(np.float32)


@functools.lru_cache(maxsize=32)
def eval_function(config: MLPConfig, per_copy_x: bool, per_copy_y: bool):
    """A compiled function: summed loss and hits per copy, (K,) each, on one chunk of images, BN in inference mode."""
    inference = (False,) * len(layer_plan(config))
    signature = (weight_specs(config), data_spec(per_copy_x, images=True), data_spec(per_copy_y, images=False))

    @tf.function(input_signature=signature, autograph=False)
    def evaluate_chunk(params, x, y):
        logits, _ = graph.forward(config, params, x, inference)
        losses, hits = graph.losses_and_hits(config, logits, y)
        return tf.reduce_sum(losses, axis=1), tf.reduce_sum(hits, axis=1)

    return evaluate_chunk


@functools.lru_cache(maxsize=32)
def grouped_eval_function(config: MLPConfig):
    """A compiled function like `eval_function` on shared images, whose first Dense layer is computed once per group
    of copies that share it: first-layer arrays (G, ...), groups (K,) in 0..G-1."""
    inference = (False,) * len(layer_plan(config))
    n_first = layer_plan(config)[0].n_arrays

    @tf.function(autograph=False)
    def evaluate_chunk(params, first, groups, x, y):
        h = graph.matmul(x, first[0])
        h = h + tf.expand_dims(first[1], 1) if n_first == 2 else h
        h = tf.gather(graph.ACTIVATIONS[layer_plan(config)[0].activation](h), groups)  # (K, c, units)
        logits, _ = graph.forward(config, params, h, inference, start_layer=1)
        losses, hits = graph.losses_and_hits(config, logits, y)
        return tf.reduce_sum(losses, axis=1), tf.reduce_sum(hits, axis=1)

    return evaluate_chunk


@functools.lru_cache(maxsize=32)
def indexed_eval_function(config: MLPConfig):
    """A compiled function: summed loss and hits per copy, (K,) each, on one chunk of per-copy subsets, BN in
    inference mode; its arguments are the weights, the shared images (N, 784), rows (K, c), labels (K, c) and
    the mask (K, c) that is 0 on the padding after a copy's own images."""
    inference = (False,) * len(layer_plan(config))
    signature = (weight_specs(config), tf.TensorSpec([None, 28 * 28], tf.float32),
                 tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.float32),
                 tf.TensorSpec([None, None], tf.float32))

    @tf.function(input_signature=signature, autograph=False)
    def evaluate_chunk(params, pool, rows, y, mask):
        logits, _ = graph.forward(config, params, tf.gather(pool, rows), inference)
        losses, hits = graph.losses_and_hits(config, logits, y)
        return tf.reduce_sum(losses * mask, axis=1), tf.reduce_sum(hits * mask, axis=1)

    return evaluate_chunk


def weight_specs(config: MLPConfig) -> list:
    """Tensor specs for the weight arrays with any number of copies."""
    return [tf.TensorSpec([None, *shape], tf.float32) for shape in weight_shapes(config)]


def data_spec(per_copy: bool, *, images: bool) -> tf.TensorSpec:
    """Images (m, 784) or (K, m, 784); labels (m,) or (K, m), always float32 (class ids are exact)."""
    return tf.TensorSpec([None] * (1 + per_copy) + ([28 * 28] if images else []), tf.float32)
