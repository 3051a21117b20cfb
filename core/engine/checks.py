"""Checks of train()'s arguments, before any training: each bad input is a ValueError with a sentence."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from core.engine.configs import Data, MLPConfig, Phase, layer_plan, weight_shapes


def check_run(config: MLPConfig, phases: Sequence[Phase], seeds: tuple[int, ...], batch_size: int,
              weights: Optional[Sequence[np.ndarray]]) -> None:
    """Seeds, batch size, phases and initial weights must fit together and fit the architecture."""
    if len(seeds) == 0 or len(set(seeds)) != len(seeds):
        raise ValueError(f"Give at least one seed, each once; got {list(seeds)}.")
    if batch_size < 1:
        raise ValueError(f"The batch size must be at least 1, got {batch_size}.")
    if len(phases) == 0:
        raise ValueError("Give at least one training phase.")
    n_layers = len(layer_plan(config))
    if any(not -n_layers < phase.frozen_layers < n_layers for phase in phases):
        raise ValueError(f"This net has {n_layers} layers with weights; frozen_layers must leave at least one "
                         f"trainable, so it must lie between {1 - n_layers} and {n_layers - 1}.")
    if weights is not None and ([tuple(w.shape[1:]) for w in weights] != weight_shapes(config) or
                                any(w.shape[0] != len(seeds) for w in weights)):
        raise ValueError(f"The initial weights do not fit this architecture and {len(seeds)} seeds.")


def check_evaluation_sets(data: Data, copies: int) -> None:
    """Validation and test sets come with both images and labels, of matching shapes (fail before training)."""
    for role, x, y in (("validation", data.x_valid, data.y_valid), ("test", data.x_test, data.y_test)):
        if (x is None) != (y is None):
            raise ValueError(f"Give both {role} images and {role} labels, or neither.")
        if y is not None:
            flat_images(x, y, copies, role)


def flat_images(x: np.ndarray, y: np.ndarray, copies: int, role: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """Check one (x, y) pair and flatten the images: (n, 784) shared or (K, n, 784) per copy.

    Returns the flat float32 images, the labels as float32 (class ids are exact) and whether they are per copy.
    """
    x, y = np.asarray(x, np.float32), np.asarray(y)
    per_copy = y.ndim == 2
    if per_copy and y.shape[0] != copies:
        raise ValueError(f"Per-copy {role} labels hold {y.shape[0]} copies, but {copies} seeds were given.")
    if y.ndim not in (1, 2) or x.shape[:y.ndim] != y.shape or x.shape[y.ndim:] != (28, 28):
        raise ValueError(f"{role} images must be (n, 28, 28) with labels (n,), or (K, n, 28, 28) with labels (K, n); "
                         f"got images {x.shape} and labels {y.shape}.")
    if y.shape[-1] == 0:
        raise ValueError(f"The {role} set is empty.")
    return x.reshape(*y.shape, 28 * 28), y.astype(np.float32), per_copy
