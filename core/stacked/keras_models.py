"""The same nets as plain Keras models, holding one copy's arrays: for tests, and for code a page can show."""

from __future__ import annotations

import functools
from typing import Optional, Sequence

from core.stacked.layers import Dense


@functools.lru_cache(maxsize=1)
def dense_transpose_class():
    """A Keras 3 DenseTranspose: the book's layer without `input_shape`, which Keras 3 layers no longer have.

    It multiplies by the tied Dense layer's kernel transposed and owns only its bias. Not registered
    for saving: a model holding it does not round-trip through `.keras` (save the weights instead).
    """
    import keras

    class DenseTranspose(keras.layers.Layer):
        def __init__(self, dense, activation=None, **kwargs):
            super().__init__(**kwargs)
            self.dense = dense
            self.activation = keras.activations.get(activation)

        def build(self, input_shape):
            self.bias = self.add_weight(name="bias", shape=(self.dense.kernel.shape[0],), initializer="zeros")

        def call(self, inputs):
            return self.activation(keras.ops.matmul(inputs, keras.ops.transpose(self.dense.kernel)) + self.bias)

    return DenseTranspose


def keras_model(layers: Sequence[Dense], params: Optional[dict], input_dim: int, copy: int = 0, *,
                softmax_output: bool = False):
    """A plain keras.Sequential of `layers` holding copy `copy` of `params` (None: Keras's own initial weights).

    `softmax_output` gives the last layer a softmax (a Classification's logits layer as Keras writes it).
    """
    import keras

    built, by_name = [], {}
    for index, layer in enumerate(layers):
        activation = "softmax" if softmax_output and index == len(layers) - 1 else layer.activation
        if layer.tied_to is None:
            keras_layer = keras.layers.Dense(layer.units, activation=activation, name=layer.name,
                                             kernel_initializer=layer.initializer)
        else:
            keras_layer = dense_transpose_class()(by_name[layer.tied_to], activation=activation, name=layer.name)
        by_name[layer.name] = keras_layer
        built.append(keras_layer)
    model = keras.Sequential([keras.Input((input_dim,)), *built])
    if params is not None:
        for layer, keras_layer in zip(layers, built):
            if layer.tied_to is None:
                keras_layer.kernel.assign(params[f"{layer.name}/kernel"][copy])
            keras_layer.bias.assign(params[f"{layer.name}/bias"][copy])
    return model
