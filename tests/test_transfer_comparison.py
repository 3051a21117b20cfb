"""core.transfer's multi-seed comparison: one stored row per seed, nothing trained twice, resume after kill -9,
and the engine's runs equal the plain Keras code of the book given the same initial weights and batch order."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from core import engine, store, transfer
from tests.conftest import ROOT

TINY = transfer.PROTOCOLS["tiny"]


def rows_per_seed(path, config) -> dict:
    """{seed: number of rows} straight from SQLite ({} while the file has no table yet)."""
    try:
        with sqlite3.connect(path) as connection:
            counted = connection.execute("SELECT seed, COUNT(*) FROM runs WHERE config_key = ? GROUP BY seed",
                                         (store.config_key(config),)).fetchall()
    except sqlite3.OperationalError:  # the other process has created the file but not its table yet
        return {}
    return dict(counted)


def test_each_seed_is_stored_once_and_a_second_call_trains_nothing(fashion_mnist, results, engine_calls):
    config = transfer.ComparisonConfig(TINY)
    rows = transfer.run_comparison(config, range(4), results, chunk_size=3)
    assert [row.seed for row in rows] == [0, 1, 2, 3]
    # model A once (seed 42), then two chunks (3 + 1 seeds), each one call with a copy per seed and arm
    assert engine_calls == [("softmax", (42,)), ("sigmoid", (0, 1, 2, 0, 1, 2)), ("sigmoid", (3, 3))]
    assert rows_per_seed(results.path, config) == {0: 1, 1: 1, 2: 1, 3: 1}
    for row in rows:
        result = row.result
        assert result["n_test"] == TINY.n_eval and result["a_seed"] == transfer.MODEL_A_SEED
        assert result["subset_seed"] == row.seed
        for arm in ("scratch", "transfer"):
            errors = result[f"{arm}_test_errors"]
            assert result[f"{arm}_test_accuracy"] == pytest.approx(1 - errors / result["n_test"])
        assert len(result["scratch_val_accuracy"]) == TINY.b_epochs
        assert len(result["transfer_val_accuracy"]) == TINY.total_b_epochs
    models = sorted(path.name.split("-")[-2] for path in (results.path.parent / "models").glob("*.keras"))
    assert models == ["seed42"]

    engine_calls.clear()
    again = transfer.run_comparison(config, range(4), results, chunk_size=3)
    assert engine_calls == []
    assert [row.result for row in again] == [row.result for row in rows]

    more = transfer.run_comparison(config, range(5), results, chunk_size=3)
    assert engine_calls == [("sigmoid", (4, 4))]  # model A came from its .keras file
    assert len(more) == 5 and rows_per_seed(results.path, config)[4] == 1


def test_vary_a_trains_and_caches_one_model_a_per_seed(fashion_mnist, results, engine_calls):
    config = transfer.ComparisonConfig(TINY, vary_subset=False, vary_a=True)
    rows = transfer.run_comparison(config, range(3), results, chunk_size=2)
    assert [row.result["a_seed"] for row in rows] == [0, 1, 2]
    assert [row.result["subset_seed"] for row in rows] == [None] * 3
    assert engine_calls[0] == ("softmax", (0, 1, 2))  # every seed's A in one call, before the B chunks
    a_key = transfer.ModelAConfig.of(TINY)
    assert results.finished_seeds(a_key) == {0, 1, 2}
    assert all(results.model_path(a_key, seed, "model_a").exists() for seed in range(3))
    engine_calls.clear()
    weights = transfer.model_a_weights(TINY, [0, 1, 1], results)
    assert engine_calls == []  # loaded, not trained
    assert weights[0].shape == (3, 28 * 28, TINY.hidden_units[0])
    assert np.array_equal(weights[0][1], weights[0][2]) and not np.array_equal(weights[0][0], weights[0][1])


def test_subsets_follow_the_seed_and_fixed_means_the_first_images(fashion_mnist):
    x, y = transfer.b_training_sets(TINY, [None, 0, 0, 1])
    tasks = transfer.protocol_tasks(TINY)
    np.testing.assert_array_equal(x[0], tasks.x_train_b)
    np.testing.assert_array_equal(x[1], x[2])
    assert not np.array_equal(x[1], x[3])
    assert y.shape == (4, TINY.n_b_train) and set(np.unique(y)) == {0.0, 1.0}


def _keras_arm(model, tasks, seed: int, phases, first_epoch: int = 0):
    """Train a Keras model with model.fit, fed the engine's batch order for this seed (shuffle=False)."""
    import keras

    epoch = first_epoch
    history = []
    for trainable, epochs, rate in phases:
        for layer in model.layers[:-1]:
            layer.trainable = trainable
        optimizer = "sgd" if rate is None else keras.optimizers.SGD(learning_rate=rate)  # None: the book's text
        model.compile(loss="binary_crossentropy", optimizer=optimizer, metrics=["accuracy"])
        for _ in range(epochs):
            order = engine.batch_order(seed, epoch, len(tasks.y_train_b))
            fitted = model.fit(tasks.x_train_b[order], tasks.y_train_b[order], batch_size=TINY.batch_size,
                               epochs=1, shuffle=False, verbose=0, validation_data=(tasks.x_valid_b, tasks.y_valid_b))
            history.append(fitted.history["val_accuracy"][0])
            epoch += 1
    return transfer.accuracy(model, tasks.x_test_b, tasks.y_test_b), np.array(history)


def test_engine_runs_equal_the_plain_keras_code_for_the_same_start_and_batch_order(fashion_mnist, results):
    """Both arms of one seed, against the book's Keras code (transfer.reuse_for_b with a clone; the frozen
    phase compiled with optimizer="sgd", exactly as the book's text)."""
    seed, config = 3, transfer.ComparisonConfig(TINY, vary_subset=False)
    row = transfer.train_comparison_chunk(config, [seed], results)[seed]
    tasks = transfer.protocol_tasks(TINY)
    n_test, n_valid = len(tasks.y_test_b), len(tasks.y_valid_b)

    scratch_accuracy, scratch_curve = _keras_arm(transfer.build_model_b(TINY, seed), tasks, seed,
                                                 [(True, TINY.b_epochs, TINY.learning_rate)])
    model_b_on_a = transfer.reuse_for_b(transfer.model_a_keras(TINY, results), clone=True)
    model_b_on_a.layers[-1].set_weights(transfer.build_model_b(TINY, seed).layers[-1].get_weights())
    transfer_accuracy, transfer_curve = _keras_arm(
        model_b_on_a, tasks, seed, [(False, TINY.frozen_epochs, TINY.frozen_learning_rate),
                                    (True, TINY.unfrozen_epochs, TINY.unfrozen_learning_rate)])
    # float32 sums in another order may flip an image that sits exactly on the 0.5 threshold, no more
    assert abs(row["scratch_test_accuracy"] - scratch_accuracy) <= 1 / n_test
    assert abs(row["transfer_test_accuracy"] - transfer_accuracy) <= 1 / n_test
    np.testing.assert_allclose(row["scratch_val_accuracy"], scratch_curve, atol=1 / n_valid)
    np.testing.assert_allclose(row["transfer_val_accuracy"], transfer_curve, atol=1 / n_valid)


def test_book_run_is_seed_42_of_the_fixed_comparison(fashion_mnist, results):
    assert transfer.stored_book_run(TINY, results) is None
    run = transfer.book_run(TINY, results)
    assert len(run.a_val_accuracy) == TINY.a_epochs and len(run.transfer_val_accuracy) == TINY.total_b_epochs
    (row,) = results.results(transfer.book_run_config(TINY), [transfer.BOOK_RUN_SEED])
    assert run.transfer_test_accuracy == row.result["transfer_test_accuracy"]
    assert transfer.stored_book_run(TINY, results).scratch_test_accuracy == run.scratch_test_accuracy


def test_pairs_stack_their_model_as_and_give_the_rows_of_one_pair_at_a_time(fashion_mnist, results, engine_calls,
                                                                          tmp_path):
    """run_pairs trains the As of all pairs in one engine call (per-copy subsets of one training array, each
    relabelled); every row equals what the pair's own comparison gives (the old path, one pair at a time)."""
    config, pairs = transfer.ComparisonConfig(TINY), [(0, 1), (2, 9)]
    transfer.run_pairs(config, range(3), results, pairs=pairs)
    assert engine_calls[0] == ("softmax", (42, 42))
    alone = store.Store(tmp_path / "alone.sqlite")
    for pair in pairs:
        together = results.results(config.with_pair(pair))
        separate = transfer.run_comparison(config.with_pair(pair), range(3), alone)
        for ours, theirs in zip(together, separate):
            assert ours.result["transfer_test_accuracy"] == pytest.approx(theirs.result["transfer_test_accuracy"],
                                                                          abs=1.5 / TINY.n_eval)
            np.testing.assert_allclose(ours.result["transfer_val_accuracy"], theirs.result["transfer_val_accuracy"],
                                       atol=1.5 / TINY.n_eval)


def test_task_a_rows_are_the_rows_split_task_a_b_takes(fashion_mnist):
    from core import data

    splits = data.load_book_splits()
    rows, labels = transfer.task_a_rows((2, 9), splits.y_valid, None)
    (x_a, y_a), _ = data.split_task_a_b(splits.x_valid, splits.y_valid, (2, 9))
    np.testing.assert_array_equal(splits.x_valid[rows], x_a)
    np.testing.assert_array_equal(labels, y_a)


def test_pair_cells_fill_from_the_store(fashion_mnist, results):
    config = transfer.ComparisonConfig(TINY)
    transfer.run_pairs(config, range(3), results, pairs=[(0, 1)])
    cells = {cell.pair: cell for cell in transfer.pair_cells(config, range(3), results)}
    assert len(cells) == 45
    rows = results.results(config.with_pair((0, 1)))
    gains = [100 * (r.result["transfer_test_accuracy"] - r.result["scratch_test_accuracy"]) for r in rows]
    assert cells[(0, 1)].n_seeds == 3 and cells[(0, 1)].mean_gain == pytest.approx(np.mean(gains))
    assert cells[(0, 1)].low <= cells[(0, 1)].mean_gain <= cells[(0, 1)].high
    assert np.isnan(cells[(5, 6)].mean_gain) and cells[(5, 6)].n_seeds == 0


def test_verdict_scope_names_what_the_seeds_did_not_vary():
    book = transfer.PROTOCOLS["book"]
    assert transfer.ComparisonConfig(book).verdict_scope() == "for this model A (seed 42) and this test set"
    assert transfer.ComparisonConfig(book, vary_a=True).verdict_scope() == "for this test set"
    assert transfer.ComparisonConfig(book, vary_subset=False).verdict_scope() == (
        "for this model A (seed 42), these 200 task-B training images and this test set")


@pytest.mark.parametrize("n_seeds", [0, 2, 201, 3.5, "many"])
def test_seed_counts_outside_3_to_200_are_refused(n_seeds):
    with pytest.raises(ValueError, match="seeds"):
        transfer.seed_list(n_seeds)



def test_killed_command_line_run_resumes_with_each_seed_once(fashion_mnist, tmp_path):
    env = {**os.environ, "LAB_DATA_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "core", "transfer", "--protocol", "tiny", "--pair", "5,6", "--seeds", "6",
               "--chunk", "2"]
    config = transfer.ComparisonConfig(TINY)
    database = tmp_path / store.DB_NAME
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not (database.exists() and len(rows_per_seed(database, config)) >= 2):
            assert process.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no seed was stored in time"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    before = {row.seed: row.finished_at for row in store.Store(database).results(config)}
    assert 2 <= len(before) < 6, f"kill -9 should land mid-run, found seeds {sorted(before)}"

    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert "seeds: 6" in finished.stdout and "verdict:" in finished.stdout
    assert "for this model A (seed 42) and this test set" in finished.stdout  # the verdict's scope
    assert rows_per_seed(database, config) == {seed: 1 for seed in range(6)}
    after = {row.seed: row.finished_at for row in store.Store(database).results(config)}
    assert all(after[seed] == stamp for seed, stamp in before.items())  # the rows made before the kill were kept


def test_command_line_runs_several_pairs_with_their_model_as_together(fashion_mnist, tmp_path):
    env = {**os.environ, "LAB_DATA_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "core", "transfer", "--protocol", "tiny", "--pairs", "0,1", "2,9", "--seeds", "3"]
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert finished.stdout.count("verdict:") == 2
    assert "task B: Trouser (1) vs T-shirt/top (0)" in finished.stdout
    assert "task B: Ankle boot (9) vs Pullover (2)" in finished.stdout
    results = store.Store(tmp_path / store.DB_NAME)
    config = transfer.ComparisonConfig(TINY)
    assert [len(results.finished_seeds(config.with_pair(pair))) for pair in ((0, 1), (2, 9))] == [3, 3]


@pytest.mark.parametrize("args, message", [
    (["--pairs", "0,1", "5,5"], "two different classes"),
    (["--pair", "5,5"], "two different classes"),
    (["--pair", "5,10"], "between 0 and 9"),
    (["--seeds", "0"], "Choose 3 to 200 seeds"),
    (["--seeds", "500"], "Choose 3 to 200 seeds"),
    (["--protocol", "magic"], "Unknown protocol"),
    (["--pair", "shirt"], "two class numbers"),
])
def test_command_line_refuses_bad_arguments_with_exit_code_2(run_cli, args, message):
    code, _, errors = run_cli("transfer", "--protocol", "tiny", *args)
    assert code == 2 and message in errors


def test_command_line_reports_a_damaged_store(tmp_path):
    (tmp_path / store.DB_NAME).write_bytes(b"this is not a database" * 100)
    env = {**os.environ, "LAB_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "core", "transfer", "--protocol", "tiny"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "move it aside" in result.stderr and "Traceback" not in result.stderr


def test_lost_results_file_keeps_model_a_and_gives_the_same_single_run(fashion_mnist, results, engine_calls):
    first = transfer.book_run(TINY, results)
    store.move_aside(results.path)  # what the page's button does with a damaged file
    engine_calls.clear()
    again = transfer.book_run(TINY, store.Store(results.path))
    assert [call[0] for call in engine_calls] == ["sigmoid"]  # model A came from its .keras file
    assert again.a_val_accuracy is None  # its curve was in the old file
    assert (again.scratch_test_accuracy, again.transfer_test_accuracy) == (
        first.scratch_test_accuracy, first.transfer_test_accuracy)  # same seed, same start: same run
