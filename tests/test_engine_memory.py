"""The engine gives back its compiled functions' memory when the process grows past a limit, and a run after that
(traced again) trains exactly as before."""

import numpy as np
import pytest

from core import engine
from core.engine import api, batched, evaluation, sample_space, settings, xla_per_copy

CACHES = (batched.epoch_function, batched.prefix_function, sample_space.epoch_function,
          sample_space.validation_function, xla_per_copy.epoch_function, evaluation.eval_function,
          evaluation.grouped_eval_function, evaluation.indexed_eval_function)


@pytest.fixture(scope="module")
def small_run():
    rng = np.random.default_rng(1)
    data = engine.Data(rng.random((60, 28, 28), dtype=np.float32), rng.integers(0, 4, 60).astype(np.uint8),
                       rng.random((20, 28, 28), dtype=np.float32), rng.integers(0, 4, 20).astype(np.uint8))
    config = engine.MLPConfig.tiny()
    phases = [engine.Phase(1, 0.05, frozen_layers=1), engine.Phase(2, 0.05)]
    return config, data, phases


def train(small_run):
    config, data, phases = small_run
    return engine.train(config, data, phases, seeds=(0, 1), batch_size=16)


def test_resident_memory_is_read():
    assert api.resident_mb() > 50  # this process holds TensorFlow


@pytest.fixture(autouse=True)
def never_dropped_before(monkeypatch):
    monkeypatch.setitem(api._AFTER_LAST_RELEASE, "mb", None)


def test_over_the_limit_every_compiled_function_is_dropped(small_run, monkeypatch):
    monkeypatch.setattr(settings, "COMPILED_FUNCTIONS_MAX_RSS_MB", None)
    kept = train(small_run)
    assert sum(cache.cache_info().currsize for cache in CACHES) > 0
    monkeypatch.setattr(settings, "COMPILED_FUNCTIONS_MAX_RSS_MB", 1)  # any process is over 1 MB
    monkeypatch.setattr(settings, "COMPILED_FUNCTIONS_REGROWTH_MB", 0)
    dropped = train(small_run)
    assert all(cache.cache_info().currsize == 0 for cache in CACHES)
    again = train(small_run)  # traced anew
    for result in (dropped, again):
        assert np.array_equal(result.loss, kept.loss) and np.array_equal(result.val_accuracy, kept.val_accuracy)
        assert all(np.array_equal(a, b) for a, b in zip(result.weights, kept.weights))


def test_under_the_limit_nothing_is_dropped(small_run, monkeypatch):
    monkeypatch.setattr(settings, "COMPILED_FUNCTIONS_MAX_RSS_MB", 10 ** 9)
    train(small_run)
    assert sum(cache.cache_info().currsize for cache in CACHES) > 0
    assert not api.release_compiled_functions_if_large()


def test_no_second_drop_until_the_process_grows_again(small_run, monkeypatch):
    """Memory the allocator keeps after a drop must not make every later run trace again."""
    monkeypatch.setattr(settings, "COMPILED_FUNCTIONS_MAX_RSS_MB", 1)
    monkeypatch.setattr(settings, "COMPILED_FUNCTIONS_REGROWTH_MB", 10 ** 6)
    train(small_run)  # the first drop: nothing dropped before
    assert api._AFTER_LAST_RELEASE["mb"] is not None
    train(small_run)
    assert sum(cache.cache_info().currsize for cache in CACHES) > 0  # kept: the process has not grown 1 TB since
    assert not api.release_compiled_functions_if_large()
