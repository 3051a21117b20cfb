"""core.reuse: the grid's cells, cells against the Keras code they stand for, resume from the store, the verdicts on
stored rows, and the command line (tiny protocol: two hidden layers, so r = 1, 2)."""

import os
import subprocess
import sys

import numpy as np
import pytest

from core import engine, reuse, transfer
from tests.conftest import ROOT

TINY = transfer.PROTOCOLS["tiny"]


def test_cells_cover_reused_and_unfrozen_layers_and_both_rates():
    cells = reuse.grid_cells(5)
    assert len(cells) == 35  # 20 (r, u) pairs, the 15 with u > 0 at both rates
    assert {(cell.reused, cell.unfrozen) for cell in cells} == {(r, u) for r in range(1, 6) for u in range(r + 1)}
    assert all(cell.rate == "same" for cell in cells if cell.unfrozen == 0)
    assert len({cell.key for cell in cells}) == 35 and reuse.Cell(5, 2, "lower").key == "r5_u2_lower"
    grid = reuse.ReuseGrid(transfer.PROTOCOLS["book"], 200)
    assert grid.rate_of(reuse.Cell(5, 2, "lower")) == pytest.approx(1e-3)  # the book's frozen 0.01, 10x lower
    assert grid.rate_of(reuse.Cell(5, 2, "same")) == pytest.approx(0.01)
    assert grid.b_config(2).hidden_units == (300, 100) and grid.b_config(2).output_activation == "sigmoid"


def _keras_cell(grid, cell, seed, results):
    """The Keras code a cell stands for: model A's first r hidden layers (a clone, weights copied) under a fresh
    sigmoid output, all frozen, then the top u unfrozen at the cell's rate; B from scratch when cell is None.
    Fed the seed's task-B images in the engine's batch order. Returns (validation, test) accuracy."""
    import keras

    protocol = grid.protocol
    x_pool, y_pool = reuse._task_b_pool(protocol)
    chosen = transfer.b_subset(len(y_pool), grid.n_train, seed)
    x, y = x_pool[chosen], y_pool[chosen]
    reused = len(protocol.hidden_units) if cell is None else cell.reused
    config = grid.b_config(reused)
    fresh = config.keras_model(seed)  # the seed's initialisation (its output layer is the cell's fresh output)
    if cell is None:
        model, phases = fresh, [(0, protocol.learning_rate, protocol.b_epochs)]
    else:
        model_a = transfer.model_a_keras(protocol, results)
        clone = keras.models.clone_model(model_a)
        clone.set_weights(model_a.get_weights())
        model = keras.Sequential([keras.Input((28, 28)), *clone.layers[:1 + reused]])  # Flatten, r hidden Dense
        model.add(keras.layers.Dense(1, activation="sigmoid"))
        model.layers[-1].set_weights(fresh.layers[-1].get_weights())
        phases = [(reused, protocol.frozen_rate, protocol.frozen_epochs),
                  (reused - cell.unfrozen, grid.rate_of(cell), protocol.unfrozen_epochs)]
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


@pytest.mark.parametrize("cell", [reuse.Cell(1, 1, "lower"), reuse.Cell(2, 1, "same"), reuse.Cell(2, 0, "same"),
                                  None], ids=["r1-u1-lower", "r2-u1-same", "r2-u0", "scratch"])
def test_a_cell_trains_like_the_keras_code_it_stands_for(fashion_mnist, results, cell):
    """Stacked with every other cell and seed, cached prefixes included, a cell's accuracies are those of its own
    Keras model given the same start and batch order (an image on the 0.5 threshold may flip, no more)."""
    grid, seed = reuse.ReuseGrid.tiny(60), 1
    row = reuse.train_grid_chunk(grid, [0, seed], results)[seed]
    key = "scratch" if cell is None else cell.key
    val_accuracy, test_accuracy = _keras_cell(grid, cell, seed, results)
    assert row[f"{key}_test_accuracy"] == pytest.approx(test_accuracy, abs=1.5 / row["n_test"])
    assert row[f"{key}_val_accuracy"] == pytest.approx(val_accuracy, abs=1.5 / row["n_valid"])


def test_grid_resumes_from_the_store_and_trains_each_seed_once(fashion_mnist, results, engine_calls):
    rows = reuse.run_grid(TINY, (20,), range(3), results, chunk_size=2)
    assert [row.seed for row in rows[20]] == [0, 1, 2]
    calls_per_chunk = 5  # r = 1: u = 0, then u = 1; r = 2: u = 0-1 (first layer frozen), then u = 2; B from scratch
    assert engine_calls[0] == ("softmax", (42,))  # model A once
    assert len(engine_calls) == 1 + 2 * calls_per_chunk  # two chunks: seeds 0-1, then 2
    assert engine_calls[1] == ("sigmoid", (0, 1))  # reuse 1, stay frozen: both seeds stacked
    assert engine_calls[2] == ("sigmoid", (0, 1, 0, 1))  # reuse 1, unfreeze 1: both rates x both seeds
    assert engine_calls[3] == ("sigmoid", (0, 1) * 3)  # reuse 2, unfreeze 0 or 1 (both rates): first layer cached
    row = rows[20][0].result
    assert {f"{cell.key}_test_accuracy" for cell in reuse.grid_cells(2)} | {"scratch_test_accuracy"} <= set(row)
    assert row["n_test"] == TINY.n_eval and row["subset_seed"] == 0
    engine_calls.clear()
    again = reuse.run_grid(TINY, (20,), range(3), results, chunk_size=2)
    assert engine_calls == [] and [r.result for r in again[20]] == [r.result for r in rows[20]]
    reuse.run_grid(TINY, (20,), range(4), results, chunk_size=2)
    assert len(engine_calls) == calls_per_chunk and engine_calls[0] == ("sigmoid", (3,))
    csv = reuse.grid_csv(TINY, (20,), results)
    assert csv.count("\n") == 5 and "result.r2_u1_lower_test_accuracy" in csv.splitlines()[0]


def test_progress_names_the_cell_and_only_moves_forward(fashion_mnist, results):
    calls = []
    reuse.run_grid(TINY, (20, 60), range(3), results, lambda done, total, message: calls.append((done, total, message)))
    assert [done for done, _, _ in calls] == sorted(done for done, _, _ in calls)
    assert calls[-1][:2] == (1000, 1000)
    messages = " | ".join(message for _, _, message in calls)
    assert "n = 20: reuse 2, unfreeze 0-1 (both rates), seeds 0-2: epoch 1/3" in messages
    assert "n = 60: B from scratch" in messages


def _stored_grid(results, sizes, gains, n_seeds: int = 8):
    """Rows without training: B from scratch at 90%, each cell at 90% + gains(size, cell) points, with a seed-to-seed
    spread of 0.1 point (1 in 2,000 test images = 0.05 point), the same per seed for every cell."""
    spread = np.linspace(-0.1, 0.1, n_seeds)
    for size in sizes:
        grid = reuse.ReuseGrid(TINY, size)
        for seed in range(n_seeds):
            row = {"n_test": 2000, "n_valid": 1000, "subset_seed": seed, "a_seed": 42,
                   "scratch_test_accuracy": 0.9, "scratch_val_accuracy": 0.9}
            for cell in grid.cells:
                jitter = 0.02 * ((seed * 7 + cell.reused * 3 + cell.unfrozen) % 5 - 2)  # differs by cell and seed
                accuracy = 0.9 + (gains(size, cell) + spread[seed] + jitter) / 100
                row[f"{cell.key}_test_accuracy"] = row[f"{cell.key}_val_accuracy"] = accuracy
            results.save(grid, seed, row)
    return reuse.summarize_grid(TINY, sizes, range(n_seeds), results)


def test_verdicts_follow_the_stored_differences(results):
    # Lower rate +1 point over the same rate everywhere; unfreezing helps more with more data; the best cells gain
    # less as data grows; dropping the top layer (r = 1 frozen) beats all frozen at the smallest size.
    def gains(size, cell):
        base = 3.0 if size == 20 else 1.0
        unfreeze = cell.unfrozen * (0.5 if size == 20 else 2.0)
        frozen_bonus = 1.5 if (cell.reused, cell.unfrozen, size) == (1, 0, 20) else 0.0
        return base + unfreeze + (1.0 if cell.rate == "lower" else 0.0) + frozen_bonus
    summary = _stored_grid(results, (20, 60), gains)
    verdicts = {verdict.rule: verdict for verdict in summary.verdicts}
    assert verdicts["Reduce the learning rate when you unfreeze"].status == "holds"
    assert "reliably better in 6 of 6 cells" in verdicts["Reduce the learning rate when you unfreeze"].text
    assert verdicts["Freeze the reused layers, then unfreeze the top one or two"].status == "holds"
    assert verdicts["The more data, the more layers to unfreeze"].status == "holds"
    assert verdicts["With little data, drop the top layers and freeze the rest"].status == "holds"
    assert summary.best[60] == reuse.Cell(2, 2, "lower")
    mean, low, high = summary.heatmap(20, "lower")
    assert mean.shape == (2, 3) and np.isnan(mean[0, 2]) and low[1, 1] < mean[1, 1] < high[1, 1]
    assert mean[1, 1] == pytest.approx(3.0 + 0.5 + 1.0, abs=0.05)


def test_a_rule_the_data_contradict_does_not_hold(results):
    # The same rate is 1 point better everywhere: reducing it is reliably worse.
    summary = _stored_grid(results, (20, 60), lambda size, cell: 1.0 + (1.0 if cell.rate == "same" else 0.0))
    rate_rule = next(v for v in summary.verdicts if v.rule == "Reduce the learning rate when you unfreeze")
    assert rate_rule.status == "does not hold" and "reliably worse in 6" in rate_rule.text
    lines = reuse.summary_lines(summary)
    assert lines[0].startswith("seeds: 8") and any("DOES NOT HOLD" in line for line in lines)


def test_summary_needs_three_seeds_stored_for_every_size(results):
    _stored_grid(results, (20,), lambda size, cell: 1.0, n_seeds=3)
    assert reuse.summarize_grid(TINY, (20,), range(3), results) is not None
    assert reuse.summarize_grid(TINY, (20, 60), range(3), results).sizes == (20,)  # 60 not stored yet
    assert reuse.summarize_grid(TINY, (60,), range(3), results) is None


@pytest.mark.parametrize("call, message", [
    (lambda: reuse.seed_list(2), "Choose 3 to 100 seeds"),
    (lambda: reuse.seed_list("ten"), "whole number"),
    (lambda: reuse.sizes_for(TINY, (0, 50)), "between 1 and"),
    (lambda: reuse.sizes_for(TINY, ()), "at least one"),
    (lambda: reuse.sizes_for(TINY, (50, 20_000)), "between 1 and"),
    (lambda: reuse.ReuseGrid(TINY, 50, rate_reduction=1.0), "above 1"),
    (lambda: reuse.run_grid(TINY, (20,), range(3), None, chunk_size=0), "chunk size"),
])
def test_bad_settings_are_sentences(fashion_mnist, call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_time_hint_adds_the_measured_seconds_per_seed():
    per_seed = reuse.SECONDS_PER_SEED
    minutes = round(10 * (per_seed[50] + per_seed[200] + per_seed[1000]) / 60)
    assert f"about {minutes} minutes" in reuse.time_hint((50, 200, 1000), 10)
    between = round(3 * (per_seed[200] + per_seed[1000]) / 2 / 60) or 1
    assert f"about {between} minute" in reuse.time_hint((600,), 3)


def test_command_line_runs_the_tiny_grid_and_writes_csv(fashion_mnist, tmp_path):
    env = {**os.environ, "LAB_DATA_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "core", "reuse", "--protocol", "tiny", "--sizes", "20", "--seeds", "3",
               "--csv", str(tmp_path / "grid.csv")]
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert "Reduce the learning rate when you unfreeze:" in finished.stdout and "n = 20:" in finished.stdout
    assert (tmp_path / "grid.csv").read_text().count("\n") == 4  # header and 3 seeds


@pytest.mark.parametrize("args, message", [
    (["--sizes", "0"], "between 1 and"),
    (["--sizes", "many"], "whole numbers"),
    (["--seeds", "2"], "Choose 3 to 100 seeds"),
    (["--rate-reduction", "0.5"], "above 1"),
])
def test_command_line_refuses_bad_arguments_with_exit_code_2(fashion_mnist, run_cli, args, message):
    code, _, errors = run_cli("reuse", "--protocol", "tiny", *args)
    assert code == 2 and message in errors
