"""Weights in and out of the engine: each seed's Keras initialisation, transfer from a source run, Keras models.

Weights travel as a tuple of numpy arrays in Keras `model.get_weights()` order, each with the copy axis
first, so copy k's Keras weights are `[w[k] for w in weights]`. Keras is imported only when a function
needs it, so importing this module stays light.
"""

from __future__ import annotations

import random
from typing import Sequence

import numpy as np

from core.engine.configs import MLPConfig, layer_plan


def initial_weights(config: MLPConfig, seeds: Sequence[int], skip_layers: int = 0) -> tuple[np.ndarray, ...]:
    """Stack the initial weights of each seed's Keras model: copy k equals `config.keras_model(seeds[k])`.

    `skip_layers=n` leaves out the arrays of the first n weighted layers (not drawn at all).
    """
    per_seed = [_keras_initial_arrays(config, seed, skip_layers) for seed in seeds]
    return tuple(np.stack(arrays) for arrays in zip(*per_seed))


def _keras_initial_arrays(config: MLPConfig, seed: int, skip_layers: int = 0) -> list[np.ndarray]:
    """What `config.keras_model(seed).get_weights()` holds, without building the model (30x faster).

    Keras 3 gives every random initializer an integer seed drawn from Python's `random` when the
    initializer is created, i.e. once per Dense layer in model order after `set_random_seed`; the
    draws themselves are stateless. tests/test_engine.py checks the result against the real model.
    Skipped layers still create their initializer (which advances the generator) but draw nothing.
    """
    import keras

    plan = layer_plan(config)
    # Only Python's generator: `keras.utils.set_random_seed` would also reset TensorFlow's global seed,
    # which clears TF's kernel caches and costs about a second on every later compiled call.
    random.seed(seed)
    dense = [layer for layer in plan if layer.kind == "dense"]
    names = [config.initializer] * (len(dense) - 1) + ["glorot_uniform"]  # the output Dense keeps the default
    initializers = iter([keras.initializers.get(name) for name in names])
    arrays, fan_in = [], 28 * 28
    for index, layer in enumerate(plan):
        initializer = next(initializers) if layer.kind == "dense" else None
        if index < skip_layers:
            fan_in = layer.units if layer.kind == "dense" else fan_in
        elif layer.kind == "dense":
            arrays.append(np.asarray(initializer((fan_in, layer.units), "float32")))
            arrays += [np.zeros(layer.units, np.float32)] if layer.use_bias else []
            fan_in = layer.units
        else:
            ones, zeros = np.ones(layer.units, np.float32), np.zeros(layer.units, np.float32)
            arrays += [ones, zeros, zeros, ones]  # gamma, beta, moving mean, moving variance
    return arrays


def weights_from_keras(keras_models) -> tuple[np.ndarray, ...]:
    """Stack the current weights of same-architecture Keras models along a new copy axis."""
    per_model = [model.get_weights() for model in keras_models]
    return tuple(np.stack(arrays).astype(np.float32) for arrays in zip(*per_model))


def keras_model(config: MLPConfig, weights: Sequence[np.ndarray], copy: int):
    """Copy `copy` as an ordinary Keras model (for summaries, saving as .keras, inspection)."""
    model = config.keras_model(seed=0)
    model.set_weights([array[copy] for array in weights])
    return model


def transfer_weights(source: Sequence[np.ndarray], source_config: MLPConfig, target_config: MLPConfig,
                     seeds: Sequence[int], reused_layers: int = -1) -> tuple[np.ndarray, ...]:
    """Target weights: the first `reused_layers` weighted layers copied from `source`, the rest fresh per seed.

    The default -1 reuses every layer but the output, as B on A does with model A.
    """
    source_plan, target_plan = layer_plan(source_config), layer_plan(target_config)
    reused = range(len(target_plan))[:reused_layers]
    if any(i >= len(source_plan) or source_plan[i] != target_plan[i] for i in reused):
        raise ValueError("The reused layers of the source and target architectures differ; "
                         "only identical leading layers can be transferred.")
    if source[0].shape[0] != len(seeds):
        raise ValueError(f"The source weights hold {source[0].shape[0]} copies but {len(seeds)} seeds were given.")
    n_reused = sum(target_plan[i].n_arrays for i in reused)
    fresh = initial_weights(target_config, seeds, skip_layers=len(reused))  # only the layers not reused
    return tuple(np.array(a, np.float32) for a in source[:n_reused]) + fresh
