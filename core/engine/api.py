"""train() and the functions around it: evaluation, and dropping compiled functions when memory runs high.

Light to import: the TensorFlow modules of the execution paths load when a run or an evaluation starts.
"""

from __future__ import annotations

import os
import time
from typing import Optional, Sequence

import numpy as np

from core.engine import settings
from core.engine.checks import check_evaluation_sets, check_run
from core.engine.configs import Data, MLPConfig, Phase, RunResult
from core.engine.weights import initial_weights
from core.progress import ProgressCallback


def train(config: MLPConfig, data: Data, phases: Sequence[Phase], seeds: Sequence[int], batch_size: int = 32,
          initial: Optional[Sequence[np.ndarray]] = None, first_epoch: int = 0, *, record_grad_norms: bool = False,
          progress: Optional[ProgressCallback] = None) -> RunResult:
    """Train one copy per seed through the phases; copy k starts from `initial` or seed k's Keras init.

    A seed may repeat when its copies differ otherwise (initial weights, per-copy data, per-copy phase
    values): such copies draw the same batch orders, so variants of one seed stay paired.

    `first_epoch` numbers the epochs for shuffling: pass the epochs already run to continue a run
    with fresh batch orders. `progress(done, total, message)` is called after every epoch.
    """
    from core.engine.run import Run

    started = time.perf_counter()
    seeds = tuple(int(seed) for seed in seeds)
    per_copy_data = not isinstance(data.y_train, np.ndarray) or data.y_train.ndim == 2  # Subsets or (K, n) labels
    check_run(config, phases, seeds, batch_size, initial, record_grad_norms=record_grad_norms,
              per_copy_data=per_copy_data)
    check_evaluation_sets(data, len(seeds))
    run = Run(config, data, seeds, batch_size, record_grad_norms, progress, sum(p.epochs for p in phases))
    weights = initial_weights(config, seeds) if initial is None else initial
    for number, phase in enumerate(phases, start=1):
        weights = run.phase(number, phase, weights, first_epoch)
    test = evaluate(config, weights, data.x_test, data.y_test) if data.x_test is not None else (None, None)
    result = run.result(weights, test, time.perf_counter() - started)
    release_compiled_functions_if_large()
    return result


def evaluate(config: MLPConfig, weights: Sequence[np.ndarray], x, y=None):
    """Mean loss and accuracy of every copy on (x, y), BN in inference mode: two (K,) arrays.

    x, y: shared (n, 28, 28), (n,); per copy (K, n, 28, 28), (K, n); or x a `Subsets` (copy k: its own rows of
    one shared array, sizes may differ) and y None. Weights as numpy, tensors or variables.
    """
    from core.engine.evaluation import Evaluator

    return Evaluator(config, x, y, weights[0].shape[0], "evaluation")(weights, share_first_layer=True)


def clear_compiled_functions() -> None:
    """Forget every compiled function the engine has cached, so the next run traces again (for benchmarks, and to
    give their memory back: see `release_compiled_functions_if_large`)."""
    from core.engine import batched, evaluation, sample_space, xla_per_copy

    for cached in (batched.epoch_function, batched.prefix_function, sample_space.epoch_function,
                   sample_space.validation_function, xla_per_copy.epoch_function, evaluation.eval_function,
                   evaluation.grouped_eval_function, evaluation.indexed_eval_function):
        cached.cache_clear()


def resident_mb() -> Optional[float]:
    """This process's resident memory in MB now (Linux: /proc/self/statm); None where that cannot be read."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
    except (OSError, ValueError, IndexError):
        return None


_AFTER_LAST_RELEASE = {"mb": None}  # resident memory right after the last drop (None: never dropped)


def release_compiled_functions_if_large() -> bool:
    """Drop the compiled functions (and collect their graphs) when resident memory is over
    settings.COMPILED_FUNCTIONS_MAX_RSS_MB and has grown by settings.COMPILED_FUNCTIONS_REGROWTH_MB since the
    last drop; returns whether it did. Retracing costs seconds, so this happens only when memory is high."""
    import gc

    limit, resident = settings.COMPILED_FUNCTIONS_MAX_RSS_MB, resident_mb()
    if limit is None or resident is None or resident <= limit:
        return False
    last = _AFTER_LAST_RELEASE["mb"]
    if last is not None and resident - last < settings.COMPILED_FUNCTIONS_REGROWTH_MB:
        return False
    clear_compiled_functions()
    gc.collect()
    _AFTER_LAST_RELEASE["mb"] = resident_mb()
    return True
