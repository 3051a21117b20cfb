"""Many-seed runs as units for the runner (core.runs.runner): model A for a chunk of seeds, then a chunk's own
function (`comparison_unit`, the reuse grid's `grid_unit`) given the model As it needs; each result is saved
here as it arrives. transfer and reuse send their missing seeds this way when they run on a Ray cluster."""

from __future__ import annotations

import collections
import functools
from typing import Callable, Optional

import numpy as np

from core.progress import ProgressCallback
from core.runs import runner
from core.runs.backend import Shared, Unit
from core.runs.seeds import chunks
from core.store import check_seed
from core.transfer.model_a import ModelAConfig, model_a_weights, save_model_a, train_model_a_unit

ChunkFunction = Callable[..., dict]  # (config, seeds, a_weights) -> {seed: row dict}, a module-level function


def stack_a(a_seeds, a_parts) -> tuple:
    """Model A's weights for each of `a_seeds`, copy axis first, from the parts that hold them (each part a
    `train_model_a_unit` result or weights read from files: {"seeds": [...], "weights": Keras-order arrays})."""
    where = {}
    for part in a_parts:
        for copy, a_seed in enumerate(part["seeds"]):
            where.setdefault(int(a_seed), (part, copy))
    chosen = [where[int(a_seed)] for a_seed in a_seeds]
    return tuple(np.stack([part["weights"][layer][copy] for part, copy in chosen])
                 for layer in range(len(chosen[0][0]["weights"])))


def run_chunk(function: ChunkFunction, config, seeds, a_seeds, *a_parts) -> dict:
    """What a worker runs for one chunk: `function(config, seeds, a_weights)`, model A's weights stacked for
    `a_seeds` from the parts that hold them. {seed: row dict}, nothing saved."""
    return function(config, seeds, stack_a(a_seeds, a_parts))


def save_rows(store, config, seeds, rows: dict) -> None:
    """A chunk's rows into the store (INSERT OR IGNORE: a retried unit's rows are never written twice)."""
    for seed in seeds:
        store.save(config, seed, rows[seed])


class ModelAs:
    """Where each model A of a plan comes from, whichever chunks need it: a unit training the ones no file holds,
    the weights of the others read from their files once and shared."""

    def __init__(self, store, chunk_size: int):
        self.store, self.chunk_size = store, chunk_size
        self.sources: dict[tuple, Unit | Shared] = {}  # (ModelAConfig, a seed) -> what holds its weights

    def add(self, protocol, a_seeds) -> list[Unit]:
        """Sources for the model As of `a_seeds` not planned yet; returns the units that train the missing ones."""
        a_key = ModelAConfig.of(protocol)
        new = [seed for seed in dict.fromkeys(int(seed) for seed in a_seeds) if (a_key, seed) not in self.sources]
        on_disk = [seed for seed in new if self.store.model_path(a_key, seed, "model_a").exists()]
        units = []
        for chunk in chunks([seed for seed in new if seed not in on_disk], self.chunk_size):
            units.append(Unit("model_a", train_model_a_unit, (protocol, chunk),
                              functools.partial(save_model_a, protocol, self.store)))
            self.sources.update({(a_key, seed): units[-1] for seed in chunk})
        if on_disk:
            loaded = Shared({"seeds": on_disk, "weights": model_a_weights(protocol, on_disk, self.store)})
            self.sources.update({(a_key, seed): loaded for seed in on_disk})
        return units

    def parts(self, protocol, a_seeds) -> list:
        """The sources holding the model As of `a_seeds` (planned by `add`), each once."""
        a_key = ModelAConfig.of(protocol)
        return list(dict.fromkeys(self.sources[(a_key, int(seed))] for seed in a_seeds))


def chunk_units(function: ChunkFunction, requests, store, chunk_size: int, *, one_a: bool = False) -> list[Unit]:
    """The units of the missing seeds of each (config, seeds): the model As they need (shared across requests with
    the same model A), then one unit per chunk of seeds named by the config's UNIT_KIND. A config says which
    model A each seed starts from (`a_seed`); `one_a`: the function takes that one model A (the reuse grid's,
    the same for every seed), else one per seed, in seed order."""
    model_as, units = ModelAs(store, chunk_size), []
    for config, seeds in requests:
        finished = store.finished_seeds(config)
        missing = [seed for seed in seeds if seed not in finished]
        units += model_as.add(config.protocol, [config.a_seed(seed) for seed in missing])
        for chunk in chunks(missing, chunk_size):
            a_seeds = [config.a_seed(seed) for seed in chunk]
            taken = list(dict.fromkeys(a_seeds)) if one_a else a_seeds
            units.append(Unit(config.UNIT_KIND, run_chunk,
                              (function, config, chunk, taken, *model_as.parts(config.protocol, a_seeds)),
                              functools.partial(save_rows, store, config, chunk)))
    return units


def run_chunks(function: ChunkFunction, requests, store, progress: Optional[ProgressCallback] = None, *,
               chunk_size: int, one_a: bool = False, units_per_node: Optional[collections.Counter] = None) -> list:
    """Stored rows for each (config, seeds) of `requests`, the missing seeds trained as units (`chunk_units`) on
    the runner's backend; one bar over the units. `units_per_node`, if given, counts them per node."""
    if chunk_size < 1:
        raise ValueError(f"The chunk size must be at least 1 seed, got {chunk_size}.")
    requests = [(config, [check_seed(seed) for seed in seeds]) for config, seeds in requests]
    runner.run_units(chunk_units(function, requests, store, chunk_size, one_a=one_a), progress,
                     units_per_node=units_per_node)
    rows = []
    for config, seeds in requests:
        stored = store.results(config, seeds)
        absent = sorted(set(seeds) - {row.seed for row in stored})
        if absent:
            raise RuntimeError(f"The units returned without results for seeds {absent}.")
        rows.append(stored)
    return rows
