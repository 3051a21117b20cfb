"""core.reuse: the grid's cells, cells and B from scratch's candidates against the Keras code they stand for, the
rates each copy really trains at, resume from the store, and the command line (tiny protocol: two hidden layers,
so r = 1, 2). The verdicts on stored rows: tests/test_reuse_rules.py."""

import os
import subprocess
import sys

import numpy as np
import pytest

from core import engine, reuse, transfer
from core.runs import tuning
from tests.conftest import ROOT

TINY = transfer.PROTOCOLS["tiny"]


def test_cells_cover_reused_and_unfrozen_layers_at_the_same_rate_and_each_reduction():
    cells = reuse.grid_cells(5)
    assert len(cells) == 50  # 20 (r, u) pairs, the 15 with u > 0 at the same rate, 10x and 100x lower
    assert {(cell.reused, cell.unfrozen) for cell in cells} == {(r, u) for r in range(1, 6) for u in range(r + 1)}
    assert all(cell.reduction == 1 for cell in cells if cell.unfrozen == 0)
    assert len({cell.key for cell in cells}) == 50
    assert [reuse.Cell(5, 2, r).key for r in (1, 10, 100)] == ["r5_u2_same", "r5_u2_div10", "r5_u2_div100"]
    assert [reuse.Cell(5, 2, r).rate for r in (1, 10, 100)] == ["same", "10x lower", "100x lower"]
    assert len(reuse.grid_cells(5, (10,))) == 35 and len(reuse.grid_cells(2)) == 11
    grid = reuse.ReuseGrid(transfer.PROTOCOLS["book"], 200)
    assert grid.rate_reductions == (10.0, 100.0)
    assert grid.rate_of(reuse.Cell(5, 2, 100)) == pytest.approx(1e-4)  # the book's own unfrozen rate
    assert grid.rate_of(reuse.Cell(5, 2, 10)) == pytest.approx(1e-3)
    assert grid.rate_of(reuse.Cell(5, 2)) == pytest.approx(0.01)  # optimizer="sgd"
    # B from scratch searches the shared grid, which holds both the cells' 0.01 and the protocol's 1e-3
    assert grid.scratch_grid == tuning.DEFAULT_RATES and grid.copies_per_seed == 54
    assert grid.b_config(2).hidden_units == (300, 100) and grid.b_config(2).output_activation == "sigmoid"
    assert reuse.check_reductions("10") == (10.0,) and reuse.check_reductions("100, 10") == (10.0, 100.0)  # the CLI
    # 10 and 10.0, (100, 10) and (10.0, 100.0) are one grid: one store key
    assert reuse.ReuseGrid(TINY, 20, (100, 10)) == reuse.ReuseGrid(TINY, 20, (10.0, 100.0))


def _keras_run(grid, cell, seed, results, scratch_rate=None):
    """The Keras code a cell stands for: model A's first r hidden layers (a clone, weights copied) under a fresh
    sigmoid output, all frozen at the frozen rate, then the top u unfrozen at the frozen rate / the cell's
    reduction; B from scratch at `scratch_rate` when cell is None. Fed the seed's task-B images in the engine's
    batch order. Returns (validation, test) accuracy."""
    import keras

    protocol = grid.protocol
    x_pool, y_pool = reuse.task_b_pool(protocol)
    chosen = transfer.b_subset(len(y_pool), grid.n_train, seed)
    x, y = x_pool[chosen], y_pool[chosen]
    reused = len(protocol.hidden_units) if cell is None else cell.reused
    config = grid.b_config(reused)
    fresh = config.keras_model(seed)  # the seed's initialisation (its output layer is the cell's fresh output)
    if cell is None:
        model, phases = fresh, [(0, scratch_rate, protocol.b_epochs)]
    else:
        model_a = transfer.model_a_keras(protocol, results)
        clone = keras.models.clone_model(model_a)
        clone.set_weights(model_a.get_weights())
        model = keras.Sequential([keras.Input((28, 28)), *clone.layers[:1 + reused]])  # Flatten, r hidden Dense
        model.add(keras.layers.Dense(1, activation="sigmoid"))
        model.layers[-1].set_weights(fresh.layers[-1].get_weights())
        phases = [(reused, 0.01, protocol.frozen_epochs),  # the tiny protocol's frozen phase: optimizer="sgd"
                  (reused - cell.unfrozen, 0.01 / cell.reduction, protocol.unfrozen_epochs)]
    epoch = 0
    for frozen, rate, epochs in phases:
        dense = [layer for layer in model.layers if layer.weights]
        for index, layer in enumerate(dense):
            layer.trainable = index >= frozen
        model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(learning_rate=rate),
                      metrics=["accuracy"])
        for _ in range(epochs):
            order = engine.batch_order(seed, epoch, len(y))
            model.fit(x[order], y[order], batch_size=protocol.batch_size, epochs=1, shuffle=False, verbose=0)
            epoch += 1
    tasks = transfer.protocol_tasks(protocol)
    return (transfer.accuracy(model, tasks.x_valid_b, tasks.y_valid_b),
            transfer.accuracy(model, tasks.x_test_b, tasks.y_test_b))


@pytest.fixture(scope="module")
def tiny_rows(fashion_mnist, tmp_path_factory):
    """One chunk of the tiny grid at 60 images, seeds 0 and 1, trained once for the tests that read it."""
    from core import store

    results = store.Store(tmp_path_factory.mktemp("reuse") / "results.sqlite")
    return reuse.train_grid_chunk(reuse.ReuseGrid.tiny(60), [0, 1], results), results


@pytest.mark.parametrize("cell, scratch_rate", [
    (reuse.Cell(1, 1, 10), None), (reuse.Cell(2, 1), None), (reuse.Cell(2, 2, 100), None), (reuse.Cell(2, 0), None),
    (None, 0.001), (None, 0.03)], ids=["r1-u1-div10", "r2-u1-same", "r2-u2-div100", "r2-u0", "scratch-0.001",
                                       "scratch-0.03"])
def test_a_copy_trains_like_the_keras_code_it_stands_for(tiny_rows, cell, scratch_rate):
    """Stacked with every other cell, candidate and seed, cached prefixes included, a cell's accuracies (and a
    scratch candidate's) are those of its own Keras model given the same start, batch order and rate (an image on
    the 0.5 threshold may flip, no more). A cell at the 100x lower rate really trains at 0.01 / 100."""
    rows, results = tiny_rows
    grid, seed = reuse.ReuseGrid.tiny(60), 1
    row = rows[seed]
    if cell is None:
        search = row["scratch_search"]
        index = search["rates"].index(scratch_rate)
        stored = (search["validation"][index], search["test"][index])
    else:
        stored = (row[f"{cell.key}_val_accuracy"], row[f"{cell.key}_test_accuracy"])
    val_accuracy, test_accuracy = _keras_run(grid, cell, seed, results, scratch_rate)
    assert stored[1] == pytest.approx(test_accuracy, abs=1.5 / row["n_test"])
    assert stored[0] == pytest.approx(val_accuracy, abs=1.5 / row["n_valid"])


def test_tuned_scratch_is_each_seeds_argmax_on_validation(tiny_rows):
    rows, _ = tiny_rows
    for seed, row in rows.items():
        search = row["scratch_search"]
        assert search["rates"] == list(tuning.DEFAULT_RATES)  # every seed offered the whole shared grid
        best = max(range(len(search["rates"])), key=lambda i: (search["validation"][i], -i))  # ties: smaller rate
        assert search["picked_rate"] == search["rates"][best]
        assert row["scratch_test_accuracy"] == search["test"][best]
        assert row["scratch_val_accuracy"] == search["validation"][best]
        assert row["scratch_test_errors"] == round((1 - search["test"][best]) * row["n_test"])


def test_every_copy_trains_at_its_rate_with_its_layers_frozen(fashion_mnist, results, monkeypatch):
    """Spy on the engine's phases: per seed, each cell's unfrozen epochs at 0.01, 0.001 or 1e-4 with r - u layers
    frozen, and B from scratch once at each rate of the shared grid, nothing frozen."""
    phases_seen = []
    original = engine.train

    def spying(config, data, phases, seeds, *args, **kwargs):
        first, second = phases if config.output_activation == "sigmoid" else (None, None)  # not model A
        for copy, seed in enumerate(seeds if first else ()):
            phases_seen.append((len(config.hidden_units), seed, first.learning_rate[copy], first.frozen_layers[copy],
                                second.learning_rate[copy], second.frozen_layers[copy]))
        return original(config, data, phases, seeds, *args, **kwargs)

    monkeypatch.setattr(engine, "train", spying)
    rows = reuse.train_grid_chunk(reuse.ReuseGrid.tiny(20), [0, 1], results)
    cells = [(1, 0, 1), (1, 1, 1), (1, 1, 10), (1, 1, 100), (2, 0, 1), (2, 1, 1), (2, 1, 10), (2, 1, 100),
             (2, 2, 1), (2, 2, 10), (2, 2, 100)]  # (r, u, reduction), written out
    expected = sorted([(r, seed, 0.01, -1, 0.01 / reduction, r - u) for r, u, reduction in cells for seed in (0, 1)]
                      + [(2, seed, rate, 0, rate, 0) for rate in (0.001, 0.003, 0.01, 0.03) for seed in (0, 1)])
    assert len(phases_seen) == len(expected) == 2 * reuse.ReuseGrid.tiny(20).copies_per_seed
    np.testing.assert_allclose(sorted(phases_seen), expected, rtol=1e-12)
    assert {f"r{r}_u{u}_{reuse.rate_code(reduction)}_test_accuracy" for r, u, reduction in cells} < set(rows[0])


def test_grid_resumes_from_the_store_and_trains_each_seed_once(fashion_mnist, results, engine_calls):
    rows = reuse.run_grid(TINY, (20,), range(3), results, chunk_size=2)
    assert [row.seed for row in rows[20]] == [0, 1, 2]
    calls_per_chunk = 5  # r = 1: u = 0, then u = 1; r = 2: u = 0-1 (first layer frozen), then u = 2; B from scratch
    assert engine_calls[0] == ("softmax", (42,))  # model A once
    assert len(engine_calls) == 1 + 2 * calls_per_chunk  # two chunks: seeds 0-1, then 2
    assert engine_calls[1] == ("sigmoid", (0, 1))  # reuse 1, stay frozen: both seeds stacked
    assert engine_calls[2] == ("sigmoid", (0, 1) * 3)  # reuse 1, unfreeze 1: three rates x both seeds
    assert engine_calls[3] == ("sigmoid", (0, 1) * 4)  # reuse 2, unfreeze 0, or 1 at three rates: first layer cached
    assert engine_calls[5] == ("sigmoid", (0, 1) * 4)  # B from scratch: four candidate rates x both seeds
    row = rows[20][0].result
    assert {f"{cell.key}_test_accuracy" for cell in reuse.grid_cells(2)} | {"scratch_test_accuracy"} <= set(row)
    assert row["n_test"] == TINY.n_eval and row["subset_seed"] == 0
    engine_calls.clear()
    again = reuse.run_grid(TINY, (20,), range(3), results, chunk_size=2)
    assert engine_calls == [] and [r.result for r in again[20]] == [r.result for r in rows[20]]
    reuse.run_grid(TINY, (20,), range(4), results, chunk_size=2)
    assert len(engine_calls) == calls_per_chunk and engine_calls[0] == ("sigmoid", (3,))
    csv = reuse.grid_csv(TINY, (20,), results)
    assert csv.count("\n") == 5 and "result.r2_u1_div100_test_accuracy" in csv.splitlines()[0]
    assert "result.scratch_search" in csv.splitlines()[0]
    engine_calls.clear()  # another set of reductions is another grid (another store key): nothing stored for it
    reuse.run_grid(TINY, (20,), range(3), results, rate_reductions=(10,), chunk_size=3)
    assert len(engine_calls) == calls_per_chunk and engine_calls[1] == ("sigmoid", (0, 1, 2) * 2)


def test_progress_names_the_cell_and_only_moves_forward(fashion_mnist, results):
    calls = []
    reuse.run_grid(TINY, (20, 60), range(3), results, lambda done, total, message: calls.append((done, total, message)))
    assert [done for done, _, _ in calls] == sorted(done for done, _, _ in calls)
    assert calls[-1][:2] == (1000, 1000)
    messages = " | ".join(message for _, _, message in calls)
    assert "n = 20: reuse 2, unfreeze 0-1 (3 rates), seeds 0-2: epoch 1/3" in messages
    assert "n = 60: B from scratch at 0.001, 0.003, 0.01, 0.03" in messages


@pytest.mark.parametrize("call, message", [
    (lambda: reuse.seed_list(2), "Choose 3 to 100 seeds"),
    (lambda: reuse.seed_list("ten"), "whole number"),
    (lambda: reuse.sizes_for(TINY, (0, 50)), "between 1 and"),
    (lambda: reuse.sizes_for(TINY, ()), "at least one"),
    (lambda: reuse.sizes_for(TINY, (50, 20_000)), "between 1 and"),
    (lambda: reuse.ReuseGrid(TINY, 50, rate_reductions=(1.0,)), "above 1"),
    (lambda: reuse.check_reductions("10,abc"), "above 1"),
    (lambda: reuse.check_reductions((2, 5, 10, 100)), "at most 3"),
    (lambda: reuse.ReuseGrid(TINY, 50, scratch_rates=(0,)), "above 0"),
    (lambda: reuse.run_grid(TINY, (20,), range(3), None, chunk_size=0), "chunk size"),
])
def test_bad_settings_are_sentences(fashion_mnist, call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_time_hint_adds_the_measured_seconds_per_seed_scaled_by_the_models_per_seed():
    assert reuse.SECONDS_PER_SEED == {50: 4.0, 200: 4.8, 1_000: 9.7, 5_000: 42.2}  # the numbers worked below
    assert "about 3 minutes" in reuse.time_hint((50, 200, 1000), 10)  # 10 x 18.5 s = 185 s, as measured
    assert "about 1 minute " in reuse.time_hint((600,), 3)  # halfway from 4.8 to 9.7 s: 3 x 7.25 s
    hint = reuse.time_hint((50, 200, 1000), 10, copies_per_seed=54)  # 185 s x 54 / 36 = 277.5 s
    assert "about 5 minutes" in hint and "an estimate: timed with 36 models per seed, scaled to this grid's 54" in hint


def test_command_line_runs_the_tiny_grid_and_writes_csv(fashion_mnist, tmp_path):
    env = {**os.environ, "LAB_DATA_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "core", "reuse", "--protocol", "tiny", "--sizes", "20", "--seeds", "3",
               "--csv", str(tmp_path / "grid.csv")]
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    out = finished.stdout
    assert "Reduce the learning rate when you unfreeze (100x lower), n = 20: TOO FEW SEEDS." in out  # 3 seeds
    assert "n = 20: B from scratch tuned on validation" in out and "unfrozen rate 0.01 or 0.001 or 0.0001" in out
    assert (tmp_path / "grid.csv").read_text().count("\n") == 4  # header and 3 seeds


@pytest.mark.parametrize("args, message", [
    (["--sizes", "0"], "between 1 and"),
    (["--sizes", "many"], "whole numbers"),
    (["--seeds", "2"], "Choose 3 to 100 seeds"),
    (["--rate-reduction", "0.5"], "above 1"),
    (["--rate-reduction", "10,0.5"], "above 1"),
])
def test_command_line_refuses_bad_arguments_with_exit_code_2(fashion_mnist, run_cli, args, message):
    code, _, errors = run_cli("reuse", "--protocol", "tiny", *args)
    assert code == 2 and message in errors
