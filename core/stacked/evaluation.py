"""Evaluation and features: every copy's mean loss and metric over a data set, every copy's outputs of some layers.

Each is one compiled function per net and shape, run copy by copy on chunks of rows.
"""

from __future__ import annotations

import functools
from typing import Sequence

import numpy as np

from core.stacked.layers import Dense, copy_params, forward
from core.stacked.loop import quiet_retracing_warnings

EVAL_CHUNK = 4096  # rows per forward pass when evaluating (bounds memory for big sets)


def evaluate(objective, params: dict, data: tuple, *, per_copy: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Mean loss and mean metric of every copy over all rows of `data` (no input noise): two (K,) arrays."""
    copies = next(iter(params.values())).shape[0]
    rows = np.shape(data[0])[1 if per_copy else 0]
    totals = np.zeros((copies, 2))
    for k in range(copies):
        copy = copy_params(params, k)
        arrays = tuple(array[k] for array in data) if per_copy else data
        function = _evaluate_function(objective, _specs(copy), _specs(arrays, rows_open=True))
        for start in range(0, rows, EVAL_CHUNK):
            chunk = tuple(np.asarray(array[start:start + EVAL_CHUNK]) for array in arrays)
            totals[k] += [float(value) for value in function(copy, chunk)]
    return (totals[:, 0] / rows).astype(np.float32), (totals[:, 1] / rows).astype(np.float32)


def _specs(arrays, *, rows_open: bool = False):
    """A hashable description of arrays' shapes and dtypes, the first dimension left open for data."""
    items = arrays.items() if isinstance(arrays, dict) else enumerate(arrays)
    return tuple((key, (None,) * rows_open + tuple(np.shape(value)[rows_open:]), np.asarray(value).dtype.name)
                 for key, value in items)


def _signature(specs, as_dict: bool):
    import tensorflow as tf

    tensors = [(key, tf.TensorSpec(shape, dtype)) for key, shape, dtype in specs]
    return dict(tensors) if as_dict else tuple(spec for _, spec in tensors)


@functools.lru_cache(maxsize=64)
def _evaluate_function(objective, param_specs: tuple, data_specs: tuple):
    import tensorflow as tf

    quiet_retracing_warnings()
    signature = (_signature(param_specs, True), _signature(data_specs, False))
    return tf.function(objective.evaluate, input_signature=signature, autograph=False)


def outputs(layers: Sequence[Dense], params: dict, x: np.ndarray, *, per_copy: bool = False) -> np.ndarray:
    """Every copy's output of `layers` (a net's first layers, e.g. its encoder) on x: (K, n, units).

    x: (n, features) shared, or (K, n, features) with `per_copy`.
    """
    copies = next(iter(params.values())).shape[0]
    owners = {layer.name for layer in layers} | {layer.tied_to for layer in layers if layer.tied_to}
    result = []
    for k in range(copies):
        copy = {key: value[k] for key, value in params.items() if key.split("/")[0] in owners}
        rows = x[k] if per_copy else x
        function = _forward_function(tuple(layers), _specs(copy), _specs((rows,), rows_open=True))
        result.append(np.concatenate([function(copy, np.asarray(rows[start:start + EVAL_CHUNK])).numpy()
                                      for start in range(0, len(rows), EVAL_CHUNK)]))
    return np.stack(result)


@functools.lru_cache(maxsize=64)
def _forward_function(layers: tuple, param_specs: tuple, data_specs: tuple):
    import tensorflow as tf

    quiet_retracing_warnings()
    signature = (_signature(param_specs, True), _signature(data_specs, False)[0])
    return tf.function(lambda params, x: forward(layers, params, x), input_signature=signature, autograph=False)
