"""Arithmetic a dense net's training needs, and the rate this machine multiplies matrices at: the floor under a bench.

A bench's before/after ratio can only be as large as (time before) / (the least time the same arithmetic can
take here). That least time is the work's floating-point operations (FLOP) divided by the machine's best
matrix-product rate, measured in the same run on one large float32 product (the shape libraries are fastest
on; a batch of 32 images gives smaller products, which run slower). The counts are the matrix products only
(activations, losses and the SGD update are a few FLOP per weight or unit, under 1% here):

- forward, per image: 2 x (multiply-adds of every Dense layer);
- training step, per image: the forward, the kernels' gradients (the same products again) and the gradients
  with respect to each layer's input, except the first layer's (nothing needs the gradient of the image).
"""

from __future__ import annotations

import time
from typing import Sequence

IMAGE_SIZE = 28 * 28


def dense_multiply_adds(hidden_units: Sequence[int], n_outputs: int, n_inputs: int = IMAGE_SIZE) -> list[int]:
    """Multiply-adds of each Dense layer for one image: 784 -> hidden units... -> outputs."""
    sizes = [n_inputs, *hidden_units, n_outputs]
    return [a * b for a, b in zip(sizes, sizes[1:])]


def forward_flop(hidden_units: Sequence[int], n_outputs: int) -> int:
    """FLOP of one image's forward pass (the matrix products)."""
    return 2 * sum(dense_multiply_adds(hidden_units, n_outputs))


def training_flop(hidden_units: Sequence[int], n_outputs: int) -> int:
    """FLOP of one image's training step with every layer trained: forward, kernel gradients, input gradients of all
    layers but the first."""
    layers = dense_multiply_adds(hidden_units, n_outputs)
    return 2 * sum(layers) + 2 * sum(layers) + 2 * sum(layers[1:])


def matmul_gflops(size: int = 2048, repeats: int = 10) -> float:
    """This machine's float32 matrix-product rate in GFLOP/s: the best of `repeats` (size x size) @ (size x size)
    products in TensorFlow, with TensorFlow's default threads (all cores)."""
    import tensorflow as tf

    a = tf.random.stateless_normal([size, size], seed=[1, 2])
    b = tf.random.stateless_normal([size, size], seed=[3, 4])
    product = tf.function(lambda: tf.matmul(a, b))
    product().numpy()  # trace and warm up
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        product().numpy()
        best = min(best, time.perf_counter() - started)
    return 2 * size ** 3 / best / 1e9
