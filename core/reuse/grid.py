"""Training the reuse grid: every cell and B from scratch's rate search for a chunk of seeds, stacked into a few
engine calls per size, and the store (resume, CSV); with LAB_RAY_ADDRESS set, one unit per size and chunk of seeds
on a Ray cluster. Design notes: docs/architecture.md, "core/reuse".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from core import store as store_module
from core import transfer
from core.progress import ProgressCallback, Stages, report
from core.reuse.configs import DEFAULT_REDUCTIONS, DEFAULT_SEEDS, ReuseGrid, grids, sizes_for, task_b_pool
from core.runs import runner, tuning
from core.runs import seeds as seeds_module
from core.transfer import units


@dataclass(frozen=True)
class Scratch:
    """B from scratch at one candidate rate of its search."""

    rate: float  # the SGD rate of every epoch


@dataclass(frozen=True)
class Call:
    """One engine call of a grid chunk: an architecture and the copies (cell or scratch candidate, seed) it trains."""

    reused: int  # architecture: the first `reused` hidden layers (scratch uses the full stack)
    members: tuple  # (Cell or Scratch, seed) per copy

    @property
    def scratch(self) -> bool:
        return all(isinstance(member, Scratch) for member, _ in self.members)

    def describe(self, grid: ReuseGrid) -> str:
        """The cells being trained, for progress messages: "n = 1,000: reuse 3, unfreeze 0-2 (3 rates)"."""
        if self.scratch:
            return f"n = {grid.n_train:,}: B from scratch at {tuning.rates_text(grid.scratch_grid)}"
        cells = [member for member, _ in self.members]
        low, high = min(cell.unfrozen for cell in cells), max(cell.unfrozen for cell in cells)
        unfrozen = str(low) if low == high else f"{low}-{high}"
        rates = f" ({1 + len(grid.rate_reductions)} rates)" if high > 0 else ""
        return f"n = {grid.n_train:,}: reuse {self.reused}, unfreeze {unfrozen}{rates}"


def calls(grid: ReuseGrid, seeds) -> list[Call]:
    """The engine calls of one chunk of seeds, every seed and every rate stacked: per number of reused layers r,
    the cells that keep the first layer frozen (u < r; it is computed once per seed and cached, the layers each
    copy unfreezes differ per copy), then the cells that unfreeze all r; then B from scratch's candidates."""
    n_hidden = len(grid.protocol.hidden_units)
    found = []
    for reused in range(1, n_hidden + 1):
        for group in ([cell for cell in grid.cells if cell.reused == reused and cell.unfrozen < reused],
                      [cell for cell in grid.cells if cell.reused == reused and cell.unfrozen == reused]):
            found.append(Call(reused, tuple((cell, seed) for cell in group for seed in seeds)))
    copy_seeds, copy_rates = tuning.candidate_copies(seeds, grid.scratch_grid)
    return found + [Call(n_hidden, tuple((Scratch(rate), seed) for seed, rate in zip(copy_seeds, copy_rates)))]


def call_phases(grid: ReuseGrid, call: Call):
    """Per-copy phases: B from scratch at its candidate rate with nothing frozen (its epochs split where B on A
    unfreezes; plain SGD keeps no state, so the split changes nothing), a cell frozen then unfrozen at its rate."""
    from core import engine

    protocol = grid.protocol
    first_rates, first_frozen, second_rates, second_frozen = [], [], [], []
    for member, _ in call.members:
        if isinstance(member, Scratch):
            first_rates.append(member.rate), first_frozen.append(0)
            second_rates.append(member.rate), second_frozen.append(0)
        else:
            first_rates.append(protocol.frozen_rate), first_frozen.append(-1)
            second_rates.append(grid.rate_of(member)), second_frozen.append(member.reused - member.unfrozen)
    return [engine.Phase(protocol.frozen_epochs, tuple(first_rates), frozen_layers=tuple(first_frozen)),
            engine.Phase(protocol.unfrozen_epochs, tuple(second_rates), frozen_layers=tuple(second_frozen))]


def check_protocol(protocol: transfer.TransferProtocol) -> None:
    if protocol.b_epochs != protocol.total_b_epochs:
        raise ValueError(f"The reuse grid compares arms trained for the same number of epochs; this protocol trains "
                         f"B from scratch for {protocol.b_epochs} and B on A for {protocol.total_b_epochs}.")


def initial_weights(config, a_config, a_weights, call: Call) -> tuple[np.ndarray, ...]:
    """Each copy's start: B from scratch its seed's Keras initialisation (every candidate alike); a cell model A's
    first layers with its seed's fresh output layer (the same for every cell of one seed, so cells stay paired)."""
    from core import engine

    if call.scratch:
        return engine.initial_weights(config, [seed for _, seed in call.members])
    unique = sorted({seed for _, seed in call.members})
    position = {seed: index for index, seed in enumerate(unique)}
    tiled = tuple(np.repeat(array, len(unique), axis=0) for array in a_weights)
    reused = engine.transfer_weights(tiled, a_config, config, unique)
    return tuple(np.stack([array[position[seed]] for _, seed in call.members]) for array in reused)


def train_grid_chunk(grid: ReuseGrid, seeds, store, progress: Optional[ProgressCallback] = None) -> dict:
    """Train every cell and B from scratch's candidates for `seeds` at one size; returns {seed: row dict} (nothing
    saved here but model A, trained first if its `.keras` file is missing). The training itself is `grid_unit`.
    """
    check_protocol(grid.protocol)
    return grid_unit(grid, seeds, transfer.model_a_weights(grid.protocol, [transfer.MODEL_A_SEED], store), progress)


def grid_unit(grid: ReuseGrid, seeds, a_weights, progress: Optional[ProgressCallback] = None) -> dict:
    """`train_grid_chunk`'s engine calls, given model A's weights (seed MODEL_A_SEED, one copy, copy axis first):
    {seed: row dict}, no store read or written (a unit a cluster worker runs; core.transfer.units saves its rows).

    A row holds, for each cell (`Cell.key`), the validation and test accuracy after the last epoch and the test
    errors (exact counts of n_test images); for B from scratch, `scratch_search` (every candidate's validation
    and test accuracy and the rate picked on validation, core.runs.tuning.Search.row) and, at that pick,
    `scratch_val_accuracy`, `scratch_test_accuracy`, `scratch_test_errors`.
    """
    from core import engine

    protocol, seeds = grid.protocol, [int(seed) for seed in seeds]
    check_protocol(protocol)
    a_config, _ = transfer.engine_configs(protocol)
    tasks = transfer.protocol_tasks(protocol)
    x_pool, y_pool = task_b_pool(protocol)
    n_test = len(tasks.y_test_b)
    chosen = {seed: transfer.b_subset(len(y_pool), grid.n_train, seed) for seed in seeds}
    planned = calls(grid, seeds)
    epochs = protocol.total_b_epochs
    results, scratch = {seed: {} for seed in seeds}, None
    for number, call in enumerate(planned):
        config = grid.b_config(call.reused)
        copy_seeds = [seed for _, seed in call.members]
        train = engine.Subsets(x_pool, tuple(chosen[seed] for seed in copy_seeds),
                               tuple(y_pool[chosen[seed]] for seed in copy_seeds))
        label = call.describe(grid)
        run = engine.train(config, engine.Data(train, None, x_test=tasks.x_test_b, y_test=tasks.y_test_b),
                           call_phases(grid, call), copy_seeds, protocol.batch_size,
                           initial=initial_weights(config, a_config, a_weights, call),
                           progress=lambda done, _total, _message, number=number, label=label: report(
                               progress, number * epochs + done, len(planned) * epochs,
                               f"{label}, {seeds_module.seeds_text(seeds)}: epoch {done}/{epochs}"))
        _, val_accuracy = engine.evaluate(config, run.weights, tasks.x_valid_b, tasks.y_valid_b)
        test_accuracy = exact_accuracy(run.test_accuracy, n_test)
        if call.scratch:
            scratch = tuning.Search(grid.scratch_grid, tuning.by_candidate(val_accuracy, len(seeds)),
                                    tuning.by_candidate(test_accuracy, len(seeds)))
            continue
        for copy, (cell, seed) in enumerate(call.members):
            results[seed][cell.key] = (float(val_accuracy[copy]), float(test_accuracy[copy]))
    rows = {}
    for index, seed in enumerate(seeds):
        row = {"n_test": n_test, "n_valid": len(tasks.y_valid_b), "subset_seed": seed,
               "a_seed": transfer.MODEL_A_SEED, "scratch_search": scratch.row(index)}
        pick = int(scratch.picks[index])
        results[seed]["scratch"] = (float(scratch.validation[index, pick]), float(scratch.test[index, pick]))
        for key, (val_accuracy, test_accuracy) in results[seed].items():
            row[f"{key}_val_accuracy"], row[f"{key}_test_accuracy"] = val_accuracy, test_accuracy
            row[f"{key}_test_errors"] = int(round((1.0 - test_accuracy) * n_test))
        rows[seed] = row
    return rows


def exact_accuracy(accuracy, n_test: int) -> np.ndarray:
    """(K,) test accuracies as exact counts of n_test images (float32 rounding removed)."""
    errors = np.round((1.0 - np.asarray(accuracy, dtype=float)) * n_test)
    return (n_test - errors) / n_test


def run_grid(protocol: transfer.TransferProtocol, sizes, seeds, store, progress: Optional[ProgressCallback] = None,
             *, rate_reductions=DEFAULT_REDUCTIONS, chunk_size: int = DEFAULT_SEEDS) -> dict:
    """Stored rows for every size and seed, training only the missing ones ({n_train: [core.store.Row]}).

    Each chunk of seeds of one size is saved as it ends, so a killed run resumes where it stopped. Progress is
    one bar over all sizes, weighted by their training images; messages name the size and cell being trained.
    With LAB_RAY_ADDRESS set, the chunks (`grid_unit`) train as units on the Ray cluster and this process saves
    their rows: the same rows, one bar over the units.
    """
    if chunk_size < 1:
        raise ValueError(f"The chunk size must be at least 1 seed, got {chunk_size}.")
    check_protocol(protocol)
    sizes, seeds = sizes_for(protocol, sizes), [int(seed) for seed in seeds]
    size_grids = grids(protocol, sizes, rate_reductions)
    if runner.on_cluster():  # LAB_RAY_ADDRESS: one unit per size and chunk of seeds, all on the Ray cluster at once
        stored = units.run_chunks(grid_unit, [(grid, seeds) for grid in size_grids], store, progress,
                                  chunk_size=chunk_size, one_a=True)
        return {grid.n_train: rows for grid, rows in zip(size_grids, stored)}
    missing = {grid: sorted(set(seeds) - store.finished_seeds(grid)) for grid in size_grids}
    work = [len(missing[grid]) * (grid.n_train + 200) for grid in size_grids]  # roughly: training images + evaluation
    a_missing = not store.model_path(transfer.ModelAConfig.of(protocol), transfer.MODEL_A_SEED, "model_a").exists()
    stages = Stages(progress, [sum(work) / 4 if a_missing and sum(work) else 0] + work)
    transfer.train_model_as(protocol, [(protocol.b_classes, transfer.MODEL_A_SEED)], store, stages.callback(0))
    rows = {}
    for index, grid in enumerate(size_grids, start=1):
        stage = stages.callback(index)

        def run_batch(_grid, pending, on_seed_done, grid=grid, stage=stage):
            chunks = seeds_module.chunks(list(pending), chunk_size)
            for number, chunk in enumerate(chunks):
                chunk_rows = train_grid_chunk(grid, chunk, store, lambda done, total, message, number=number: stage(
                    number * total + done, len(chunks) * total, message))
                for seed, row in chunk_rows.items():
                    on_seed_done(seed, row)

        rows[grid.n_train] = store_module.run_missing(store, grid, seeds, run_batch)
    return rows


def grid_csv(protocol: transfer.TransferProtocol, sizes, store, *, rate_reductions=DEFAULT_REDUCTIONS) -> str:
    """Every stored row of the grid's sizes as one CSV (core.store's columns: config fields, then results)."""
    parts = [store.to_csv(grid) for grid in grids(protocol, sorted(sizes), rate_reductions)]
    header = parts[0].split("\n", 1)[0]
    return header + "\n" + "".join(part.split("\n", 1)[1] for part in parts)
