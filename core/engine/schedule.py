"""How a run is scheduled: which execution path train() takes, and each copy's batch order per epoch.

Numpy only: train() (api.py) and a run in progress (run.py) both read it.
"""

from __future__ import annotations

import numpy as np

from core.engine import settings
from core.engine.configs import MLPConfig, layer_plan

EXECUTION_PATHS = ("sample space", "one XLA loop per copy", "one batched graph")


def batch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The shuffled sample order a copy with this seed uses in this epoch (counted over the whole run)."""
    return np.random.default_rng([seed, epoch]).permutation(n).astype(np.int32)


def uses_sample_space(config: MLPConfig, n_train: int, *, record_grad_norms: bool = False,
                      ragged: bool = False) -> bool:
    """Whether train() keeps the first Dense kernel in sample space (sample_space.py) for this many training images;
    never for copies with training sets of different sizes (ragged)."""
    return (layer_plan(config)[0].kind == "dense" and not record_grad_norms and not ragged
            and n_train <= min(settings.SAMPLE_SPACE_MAX_IMAGES, 28 * 28))


def execution_path(config: MLPConfig, n_train: int, total_epochs: int, *, record_grad_norms: bool = False,
                   ragged: bool = False) -> str:
    """Which of EXECUTION_PATHS train() takes for this many training images (per copy; the largest copy's when
    ragged) and epochs. A weight-space phase whose first layers are frozen in every copy runs on the batched
    graph from a cache of their output, whichever path the run takes."""
    if uses_sample_space(config, n_train, record_grad_norms=record_grad_norms, ragged=ragged):
        return "sample space"
    if (settings.PARALLEL_COPIES and not record_grad_norms
            and n_train * total_epochs >= settings.PARALLEL_MIN_IMAGE_EPOCHS):
        return "one XLA loop per copy"
    return "one batched graph"
