"""Evaluation of every copy on one data set, BN in inference mode, in chunks that bound the memory used.

Shared by `evaluate`, the validation after every epoch and the final test; the sample-space path adds
its own validation on top (sample_space.py).
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

from core.engine import graph, settings
from core.engine.checks import flat_images
from core.engine.configs import MLPConfig, layer_plan, weight_shapes


class Evaluator:
    """One evaluation set, checked, flattened and cut into chunks once; called with weights, as often as needed."""

    def __init__(self, config: MLPConfig, x: np.ndarray, y: np.ndarray, copies: int, role: str):
        """x, y: shared (m, 28, 28), (m,) or per copy (K, m, 28, 28), (K, m); role names the set in errors."""
        x, y, self.per_copy = flat_images(x, y, copies, role)
        self.config, self.n = config, y.shape[-1]
        parts = [slice(start, start + settings.EVAL_CHUNK) for start in range(0, self.n, settings.EVAL_CHUNK)]
        self.chunks = [(tf.constant(x[:, part]), tf.constant(y[:, part])) if self.per_copy else
                       (tf.constant(x[part]), tf.constant(y[part])) for part in parts]

    def __call__(self, weights) -> tuple[np.ndarray, np.ndarray]:
        """Mean loss and accuracy per copy, (K,) float32 each; weights as numpy arrays, tensors or variables."""
        params = [tf.convert_to_tensor(w, tf.float32) for w in weights]
        return summed_over_chunks(eval_function(self.config, self.per_copy, self.per_copy), params, self.chunks,
                                  self.n)


def summed_over_chunks(function, params, chunks, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean loss and accuracy per copy, (K,) float32 each, from function(params, *chunk) -> summed (K,) pairs."""
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


def weight_specs(config: MLPConfig) -> list:
    """Tensor specs for the weight arrays with any number of copies."""
    return [tf.TensorSpec([None, *shape], tf.float32) for shape in weight_shapes(config)]


def data_spec(per_copy: bool, *, images: bool) -> tf.TensorSpec:
    """Images (m, 784) or (K, m, 784); labels (m,) or (K, m), always float32 (class ids are exact)."""
    return tf.TensorSpec([None] * (1 + per_copy) + ([28 * 28] if images else []), tf.float32)
