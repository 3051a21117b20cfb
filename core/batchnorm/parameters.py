"""Parameter accounting of the book's BN model, read from the live Keras model: per layer and per BN variable."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LayerRow:
    name: str  # Keras layer name
    kind: str  # class name, e.g. "BatchNormalization"
    output_shape: str  # e.g. "(None, 300)"
    params: int
    trainable: int
    non_trainable: int


@dataclass(frozen=True)
class VariableRow:
    layer: str  # the BN layer's name
    variable: str  # Keras 3 variable name, e.g. "gamma"
    path: str  # variable.path
    size: int
    trainable: bool


@dataclass(frozen=True)
class ParameterSummary:
    model_name: str
    layers: tuple[LayerRow, ...]
    bn_variables: tuple[VariableRow, ...]
    total: int
    trainable: int
    non_trainable: int


def parameter_summary(batch_norm: str = "after", seed: int = 42) -> ParameterSummary:
    """Per-layer and per-BN-variable parameter accounting of the book's BN model, from the live Keras model."""
    from core import models

    model = models.book_bn_model(batch_norm, seed=seed)

    def size(variables) -> int:
        return sum(int(np.prod(v.shape)) for v in variables)

    layers = tuple(
        LayerRow(layer.name, type(layer).__name__, str(tuple(layer.output.shape)), layer.count_params(),
                 size(layer.trainable_weights), size(layer.non_trainable_weights))
        for layer in model.layers)
    bn_variables = tuple(
        VariableRow(layer.name, variable.name, variable.path, int(np.prod(variable.shape)), variable.trainable)
        for layer in model.layers if type(layer).__name__ == "BatchNormalization" for variable in layer.weights)
    return ParameterSummary(model.name, layers, bn_variables, model.count_params(),
                            size(model.trainable_weights), size(model.non_trainable_weights))
