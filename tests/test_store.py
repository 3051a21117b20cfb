"""core.store: round trips, no duplicates, resume after `kill -9`, damaged files kept, data folder."""

import csv
import io
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from core import store
from tests.conftest import ROOT


@dataclass(frozen=True)
class FakeConfig:
    pair: tuple = (5, 6)  # the class pair of task B
    epochs: int = 3  # epochs per run


@dataclass(frozen=True)
class FakeConfigV2:
    VERSION: ClassVar[int] = 2  # protocol code changed meaning
    pair: tuple = (5, 6)
    epochs: int = 3


@pytest.fixture
def db(tmp_path):
    return store.Store(tmp_path / "results.sqlite")


def test_round_trip_and_numpy_values(db):
    config = FakeConfig()
    assert db.finished_seeds(config) == set()
    assert db.save(config, 3, {"accuracy": np.float32(0.5), "curve": np.array([0.1, 0.2])})
    assert db.save(config, np.int64(1), {"accuracy": 0.75, "curve": [0.3]})
    assert db.finished_seeds(config) == {1, 3}
    rows = db.results(config)
    assert [row.seed for row in rows] == [1, 3]
    assert rows[1].result == {"accuracy": 0.5, "curve": [0.1, 0.2]}
    assert rows[0].finished_at.endswith("Z")
    assert db.results(config, seeds=[3])[0].seed == 3
    assert store.Store(db.path).finished_seeds(config) == {1, 3}  # persists across openings


def test_saving_twice_keeps_one_row(db):
    config = FakeConfig()
    assert db.save(config, 0, {"accuracy": 0.9}) is True
    assert db.save(config, 0, {"accuracy": 0.1}) is False
    assert [row.result["accuracy"] for row in db.results(config)] == [0.9]
    with sqlite3.connect(db.path) as connection:
        assert connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_configs_are_keyed_by_fields_and_version(db):
    assert store.config_key(FakeConfig()) == store.config_key(FakeConfig(pair=(5, 6)))
    assert store.config_key(FakeConfig(pair=(2, 0))) != store.config_key(FakeConfig())
    assert store.config_key(FakeConfigV2()) != store.config_key(FakeConfig())
    assert '"schema":1' in store.config_json(FakeConfig()) and '"version":2' in store.config_json(FakeConfigV2())
    db.save(FakeConfig(), 0, {"accuracy": 0.9})
    assert db.finished_seeds(FakeConfig(epochs=4)) == set()
    with pytest.raises(ValueError, match="dataclass instance"):
        store.config_key({"pair": (5, 6)})


def test_csv_export(db):
    db.save(FakeConfig(), 1, {"accuracy": 0.9, "curve": [0.5, 0.6]})
    db.save(FakeConfig(), 0, {"accuracy": 0.8, "curve": [0.4]})
    db.save(FakeConfig(epochs=5), 0, {"accuracy": 0.7, "loss": 0.3})
    one = list(csv.DictReader(io.StringIO(db.to_csv(FakeConfig()))))
    assert [row["seed"] for row in one] == ["0", "1"]
    assert one[1]["result.accuracy"] == "0.9" and one[1]["result.curve"] == "[0.5, 0.6]"
    assert one[0]["config.pair"] == "[5, 6]" and one[0]["config.epochs"] == "3"
    everything = list(csv.DictReader(io.StringIO(db.to_csv())))
    assert len(everything) == 3 and {row["config.epochs"] for row in everything} == {"3", "5"}
    assert "result.loss" in everything[0]


def test_run_missing_runs_only_missing_seeds_and_reports_progress(db):
    config = FakeConfig()
    db.save(config, 1, {"accuracy": 0.1})
    calls, progress = [], []

    def run_batch(config, seeds, on_seed_done):
        calls.append(list(seeds))
        for seed in seeds:
            on_seed_done(seed, {"accuracy": seed / 10})

    rows = store.run_missing(db, config, [0, 1, 2, 3], run_batch, lambda *args: progress.append(args[:2]))
    assert calls == [[0, 2, 3]]
    assert [(row.seed, row.result["accuracy"]) for row in rows] == [(0, 0.0), (1, 0.1), (2, 0.2), (3, 0.3)]
    assert progress == [(1, 4), (2, 4), (3, 4), (4, 4)]
    store.run_missing(db, config, [0, 1, 2, 3], run_batch)  # all stored: the trainer is not called
    assert len(calls) == 1


def test_run_missing_rejects_bad_seeds_and_lost_results(db):
    with pytest.raises(ValueError, match="repeats a seed"):
        store.run_missing(db, FakeConfig(), [1, 1], lambda *args: None)
    with pytest.raises(ValueError, match="whole number"):
        store.run_missing(db, FakeConfig(), [1.5], lambda *args: None)
    with pytest.raises(ValueError, match="0 or more"):
        db.save(FakeConfig(), -1, {})
    with pytest.raises(RuntimeError, match=r"without results for seeds \[2\]"):
        store.run_missing(db, FakeConfig(), [1, 2], lambda config, seeds, done: done(1, {}))


RUNNER = textwrap.dedent(
    """
    import os, sys, time
    from dataclasses import dataclass
    sys.path.insert(0, {root!r})
    from core import store

    @dataclass(frozen=True)
    class FakeConfig:
        pair: tuple = (5, 6)
        epochs: int = 3

    def run_batch(config, seeds, on_seed_done):
        for seed in seeds:
            time.sleep(float(os.environ["FAKE_SEED_SECONDS"]))  # "training"
            on_seed_done(seed, {{"accuracy": 0.9, "pid": os.getpid()}})

    store.run_missing(store.Store(), FakeConfig(), range(12), run_batch)
    """
)


def test_resume_after_kill_minus_nine(tmp_path):
    script = tmp_path / "runner.py"
    script.write_text(RUNNER.format(root=str(ROOT)))
    # Slow seeds while we aim the kill (so it lands mid-run even on a busy machine), fast ones after.
    env = {**os.environ, "LAB_DATA_DIR": str(tmp_path / "data"), "FAKE_SEED_SECONDS": "0.4"}
    first = subprocess.Popen([sys.executable, str(script)], env=env, stderr=subprocess.PIPE, text=True)
    db_path = tmp_path / "data" / store.DB_NAME
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert first.poll() is None, f"the runner stopped by itself: {first.stderr.read()}"
        if db_path.exists() and len(store.Store(db_path).finished_seeds(FakeConfig())) >= 3:
            break
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    assert first.wait(timeout=10) == -signal.SIGKILL
    survivors = store.Store(db_path).finished_seeds(FakeConfig())
    assert 3 <= len(survivors) < 12, "the kill should land mid-run"

    second = subprocess.run([sys.executable, str(script)], env={**env, "FAKE_SEED_SECONDS": "0.01"}, timeout=60)
    assert second.returncode == 0
    rows = store.Store(db_path).results(FakeConfig())
    assert [row.seed for row in rows] == list(range(12))
    with sqlite3.connect(db_path) as connection:
        counts = connection.execute("SELECT seed, COUNT(*) FROM runs GROUP BY seed").fetchall()
    assert all(count == 1 for _, count in counts) and len(counts) == 12
    pids = {row.result["pid"] for row in rows}
    assert len(pids) == 2  # the rerun did only what the killed run had not finished
    assert sum(row.result["pid"] == first.pid for row in rows) == len(survivors)


def test_damaged_file_is_a_clear_error_and_moved_aside_not_deleted(tmp_path):
    path = tmp_path / "results.sqlite"
    garbage = np.random.default_rng(0).bytes(8192)
    path.write_bytes(garbage)
    with pytest.raises(store.StoreError, match="results.sqlite") as error:
        store.Store(path)
    assert isinstance(error.value, ValueError) and "move it aside" in str(error.value)
    assert error.value.path == path
    moved = store.move_aside(error.value.path)
    assert not path.exists() and moved.read_bytes() == garbage
    assert moved.name.startswith("results.sqlite.damaged-")
    assert store.move_aside(store.Store(path).path) != moved  # a second damaged copy gets its own name
    store.Store(path).save(FakeConfig(), 0, {"accuracy": 1.0})  # and a new store starts cleanly


def test_opening_a_new_file_from_many_threads_at_once(tmp_path):
    # Regression: one opener used to see another's table before its format mark and call it foreign.
    for attempt in range(8):
        path = tmp_path / f"new-{attempt}.sqlite"
        barrier, errors = threading.Barrier(6), []

        def open_and_save(seed):
            barrier.wait()
            try:
                store.Store(path).save(FakeConfig(), seed, {"accuracy": 0.5})
            except Exception as error:
                errors.append(error)

        threads = [threading.Thread(target=open_and_save, args=(seed,)) for seed in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert errors == [] and store.Store(path).finished_seeds(FakeConfig()) == set(range(6))


def test_damage_after_opening_is_a_store_error_too(db):
    db.save(FakeConfig(), 0, {"accuracy": 1.0})
    db.path.write_bytes(b"not a database any more" * 400)
    for path in db.path.parent.glob("results.sqlite-*"):
        path.unlink()  # the -wal / -shm files of the healthy database
    with pytest.raises(store.StoreError, match="cannot be used"):
        db.finished_seeds(FakeConfig())


def test_foreign_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE songs (title TEXT)")
    connection.close()
    with pytest.raises(store.StoreError, match="other tables"):
        store.Store(path)


def test_data_folder_comes_from_lab_data_dir_or_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path / "lab"))
    assert store.Store().path == tmp_path / "lab" / store.DB_NAME
    monkeypatch.delenv("LAB_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert store.data_dir() == tmp_path / "cache" / "deepnets-lab"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert store.data_dir() == tmp_path / "home" / ".cache" / "deepnets-lab"


def test_model_files_are_keyed_and_written_atomically(db):
    path = db.model_path(FakeConfig(), 4, "model_a")
    assert path.parent == db.path.parent / "models" and path.suffix == ".keras"
    assert path.name == f"{store.config_key(FakeConfig())}-seed4-model_a.keras"
    assert db.model_path(FakeConfig(), 5, "model_a") != path
    with pytest.raises(ValueError, match="model role"):
        db.model_path(FakeConfig(), 4, "../../etc")
    with pytest.raises(RuntimeError):
        with store.atomic_path(path) as temporary:
            assert temporary.suffix == ".keras"
            temporary.write_bytes(b"half")
            raise RuntimeError("killed while saving")
    assert not path.exists() and list(path.parent.iterdir()) == []
    with store.atomic_path(path) as temporary:
        temporary.write_bytes(b"weights")
    assert path.read_bytes() == b"weights" and list(path.parent.iterdir()) == [path]


def test_two_processes_filling_the_same_config_leave_each_seed_once(tmp_path):
    # The command line and the server may run the same config at once: rows must not double.
    script = tmp_path / "runner.py"
    script.write_text(RUNNER.format(root=str(ROOT)))
    env = {**os.environ, "LAB_DATA_DIR": str(tmp_path / "data"), "FAKE_SEED_SECONDS": "0.02"}
    runners = [subprocess.Popen([sys.executable, str(script)], env=env) for _ in range(2)]
    assert [runner.wait(timeout=60) for runner in runners] == [0, 0]
    with sqlite3.connect(tmp_path / "data" / store.DB_NAME) as connection:
        counts = dict(connection.execute("SELECT seed, COUNT(*) FROM runs GROUP BY seed").fetchall())
    assert counts == {seed: 1 for seed in range(12)}
