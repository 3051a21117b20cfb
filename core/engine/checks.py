"""Checks of train()'s arguments, before any training: each bad input is a ValueError with a sentence."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from core.engine.configs import Data, MLPConfig, Phase, layer_plan, weight_shapes
from core.engine.datasets import data_set, flat_images  # noqa: F401  (flat_images: the per-array check)


def check_run(config: MLPConfig, phases: Sequence[Phase], seeds: tuple[int, ...], batch_size: int,
              weights: Optional[Sequence[np.ndarray]], *, record_grad_norms: bool = False,
              per_copy_data: bool = False) -> None:
    """Seeds, batch size, phases and initial weights must fit together and fit the architecture.

    A seed may appear more than once (its copies draw the same batch orders) only when something else tells
    those copies apart: initial weights, per-copy data or per-copy phase values.
    """
    if len(seeds) == 0:
        raise ValueError("Give at least one seed.")
    distinguished = weights is not None or per_copy_data or any(phase.per_copy for phase in phases)
    if len(set(seeds)) != len(seeds) and not distinguished:
        raise ValueError(f"Give each seed once; got {list(seeds)}. Copies with the same seed, data, phases and "
                         "start would train identically.")
    if batch_size < 1:
        raise ValueError(f"The batch size must be at least 1, got {batch_size}.")
    if len(phases) == 0:
        raise ValueError("Give at least one training phase.")
    n_layers = len(layer_plan(config))
    for phase in phases:
        frozen = np.atleast_1d(np.asarray(phase.frozen_layers))
        if np.any(frozen <= -n_layers) or np.any(frozen >= n_layers):
            raise ValueError(f"This net has {n_layers} layers with weights; frozen_layers must leave at least one "
                             f"trainable, so it must lie between {1 - n_layers} and {n_layers - 1}.")
        phase.learning_rates(len(seeds)), phase.frozen_counts(n_layers, len(seeds))  # one value per copy
        rates = phase.learning_rates(len(seeds))
        if record_grad_norms and rates.max() > 0 and rates.min() == 0:
            raise ValueError("Gradient norms are recorded through the learning rate, so a phase that records them "
                             "cannot mix copies that learn with copies at learning rate 0.")
    if weights is not None and ([tuple(w.shape[1:]) for w in weights] != weight_shapes(config) or
                                any(w.shape[0] != len(seeds) for w in weights)):
        raise ValueError(f"The initial weights do not fit this architecture and {len(seeds)} seeds.")


def check_evaluation_sets(data: Data, copies: int) -> None:
    """Validation and test sets come with both images and labels, of matching shapes (fail before training)."""
    for role, x, y in (("validation", data.x_valid, data.y_valid), ("test", data.x_test, data.y_test)):
        if x is None and y is not None:
            raise ValueError(f"Give both {role} images and {role} labels, or neither.")
        if x is not None:
            data_set(x, y, copies, role)
