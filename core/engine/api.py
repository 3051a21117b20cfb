"""train() and the functions around it: evaluation, batch orders, which execution path a run takes.

Light to import: the TensorFlow modules of the execution paths load when a run or an evaluation starts.
"""

from __future__ import annotations

import time
from typing import Optional, Sequence

import numpy as np

from core.engine import settings
from core.engine.checks import check_evaluation_sets, check_run
from core.engine.configs import Data, MLPConfig, Phase, RunResult, layer_plan
from core.engine.weights import initial_weights
from core.progress import ProgressCallback

EXECUTION_PATHS = ("sample space", "one XLA loop per copy", "one batched graph")


def train(config: MLPConfig, data: Data, phases: Sequence[Phase], seeds: Sequence[int], batch_size: int = 32,
          initial: Optional[Sequence[np.ndarray]] = None, first_epoch: int = 0, record_grad_norms: bool = False,
          progress: Optional[ProgressCallback] = None) -> RunResult:
    """Train one copy per seed through the phases; copy k starts from `initial` or seed k's Keras init.

    `first_epoch` numbers the epochs for shuffling: pass the epochs already run to continue a run
    with fresh batch orders. `progress(done, total, message)` is called after every epoch.
    """
    from core.engine.run import Run

    started = time.perf_counter()
    seeds = tuple(int(seed) for seed in seeds)
    check_run(config, phases, seeds, batch_size, initial)
    check_evaluation_sets(data, len(seeds))
    run = Run(config, data, seeds, batch_size, record_grad_norms, progress, sum(p.epochs for p in phases))
    weights = initial_weights(config, seeds) if initial is None else initial
    for number, phase in enumerate(phases, start=1):
        weights = run.phase(number, phase, weights, first_epoch)
    test = evaluate(config, weights, data.x_test, data.y_test) if data.y_test is not None else (None, None)
    return run.result(weights, test, time.perf_counter() - started)


def evaluate(config: MLPConfig, weights: Sequence[np.ndarray], x: np.ndarray, y: np.ndarray):
    """Mean loss and accuracy of every copy on (x, y), BN in inference mode: two (K,) arrays.

    x, y: shared (n, 28, 28), (n,) or per copy (K, n, 28, 28), (K, n); weights as numpy, tensors or variables.
    """
    from core.engine.evaluation import Evaluator

    return Evaluator(config, x, y, weights[0].shape[0], "evaluation")(weights)


def batch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The shuffled sample order a copy with this seed uses in this epoch (counted over the whole run)."""
    return np.random.default_rng([seed, epoch]).permutation(n).astype(np.int32)


def uses_sample_space(config: MLPConfig, n_train: int, record_grad_norms: bool = False) -> bool:
    """Whether train() keeps the first Dense kernel in sample space (sample_space.py) for this many training images."""
    return (layer_plan(config)[0].kind == "dense" and not record_grad_norms
            and n_train <= min(settings.SAMPLE_SPACE_MAX_IMAGES, 28 * 28))


def execution_path(config: MLPConfig, n_train: int, total_epochs: int, *, record_grad_norms: bool = False) -> str:
    """Which of EXECUTION_PATHS train() takes for this many training images (per copy) and epochs."""
    if uses_sample_space(config, n_train, record_grad_norms):
        return "sample space"
    if (settings.PARALLEL_COPIES and not record_grad_norms
            and n_train * total_epochs >= settings.PARALLEL_MIN_IMAGE_EPOCHS):
        return "one XLA loop per copy"
    return "one batched graph"


def clear_compiled_functions() -> None:
    """Forget every compiled function the engine has cached, so the next run traces again (for benchmarks)."""
    from core.engine import batched, evaluation, sample_space, xla_per_copy

    for cached in (batched.epoch_function, sample_space.epoch_function, sample_space.validation_function,
                   xla_per_copy.epoch_function, evaluation.eval_function):
        cached.cache_clear()
