"""The layers of a stacked net: Dense, the shapes and seeded initial arrays of every copy, one copy's forward pass.

Arrays carry a leading copy axis: `params` is a dict "<layer>/kernel", "<layer>/bias" -> (K, ...).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

ACTIVATIONS = ("linear", "relu", "selu", "elu", "sigmoid", "tanh")


@dataclass(frozen=True)
class Dense:
    """One dense layer of a copy: activation(x @ kernel + bias), as keras.layers.Dense computes it."""

    name: str  # unique within a net; its arrays are "<name>/kernel" and "<name>/bias"
    units: int  # output features
    activation: str = "linear"  # one of ACTIVATIONS ("linear" for logits or a linear code)
    initializer: str = "glorot_uniform"  # Keras name of the kernel initializer (biases start at zero)
    tied_to: Optional[str] = None  # DenseTranspose: use that layer's kernel, transposed (no kernel of its own)

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"Activation must be one of {', '.join(ACTIVATIONS)}; got {self.activation!r}.")
        if self.units < 1:
            raise ValueError(f"A dense layer needs at least one unit; {self.name!r} has {self.units}.")


def param_shapes(layers: Sequence[Dense], input_dim: int) -> dict[str, tuple[int, ...]]:
    """Shapes of one copy's arrays, in layer order; a tied layer owns only its bias."""
    shapes, fan_in, kernels = {}, input_dim, {}
    for layer in layers:
        if layer.tied_to is None:
            shapes[f"{layer.name}/kernel"] = kernels[layer.name] = (fan_in, layer.units)
        elif kernels.get(layer.tied_to, (None, None))[::-1] != (fan_in, layer.units):
            raise ValueError(f"Layer {layer.name!r} is tied to {layer.tied_to!r}, which must come earlier and have "
                             f"the transposed shape ({layer.units}, {fan_in}).")
        shapes[f"{layer.name}/bias"] = (layer.units,)
        fan_in = layer.units
    if len({layer.name for layer in layers}) != len(layers):
        raise ValueError("Layer names must be unique within a net.")
    return shapes


def layer_seed(seed: int, salt: str, name: str) -> int:
    """The integer seed of one layer's initializer for one copy: stable across processes and machines."""
    words = [int(seed), zlib.crc32(salt.encode()), zlib.crc32(name.encode())]
    return int(np.random.SeedSequence(words).generate_state(1)[0] & 0x7FFFFFFF)


def keras_initializer(name: str, seed: int):
    """The Keras initializer `name` with a fixed seed: what Dense(kernel_initializer=...) would draw."""
    import keras

    return type(keras.initializers.get(name))(seed=seed)


def initial_params(layers: Sequence[Dense], input_dim: int, seeds: Sequence[int], salt: str) -> dict[str, np.ndarray]:
    """Stacked initial arrays (K, ...): copy k's kernels drawn by `keras_initializer(init, layer_seed(seeds[k], ...))`.

    `salt` names the net (e.g. "autoencoder", "classifier"), so two nets of one seed draw different weights.
    """
    shapes = param_shapes(layers, input_dim)
    by_name = {layer.name: layer for layer in layers}
    stacked = {}
    for key, shape in shapes.items():
        layer_name, kind = key.split("/")
        if kind == "bias":
            stacked[key] = np.zeros((len(seeds), *shape), np.float32)
        else:
            init = by_name[layer_name].initializer
            stacked[key] = np.stack([np.asarray(keras_initializer(init, layer_seed(seed, salt, layer_name))(
                shape, "float32")) for seed in seeds])
    return stacked


def _activation(name: str):
    import tensorflow as tf

    return {"linear": tf.identity, "relu": tf.nn.relu, "selu": tf.nn.selu, "elu": tf.nn.elu,
            "sigmoid": tf.nn.sigmoid, "tanh": tf.nn.tanh}[name]


def forward(layers: Sequence[Dense], params: dict, x, *, logits: bool = False):
    """One copy's output: x (n, fan_in) -> (n, units of the last layer); params hold that copy's tensors.

    With `logits`, the last layer's activation is left out (what Keras's losses take from a sigmoid output).
    """
    import tensorflow as tf

    for index, layer in enumerate(layers):
        if layer.tied_to is None:
            z = tf.matmul(x, params[f"{layer.name}/kernel"])
        else:
            z = tf.matmul(x, params[f"{layer.tied_to}/kernel"], transpose_b=True)
        z = z + params[f"{layer.name}/bias"]
        x = z if logits and index == len(layers) - 1 else _activation(layer.activation)(z)
    return x


def copy_params(params: dict, copy: int) -> dict:
    """One copy's arrays: {name: array without the copy axis}."""
    return {key: value[copy] for key, value in params.items()}
