"""Beyond one machine: the lab's many-seed trainings on a Ray cluster, when `LAB_RAY_ADDRESS` is set.

Without the variable nothing here runs and nothing imports Ray: the local one-at-a-time queue
(core.jobs) stays the default. With it (`auto`, `ray://head:10001`, `10.0.0.5:6379`):

- `ClusterQueue` is the process's job backend: the same queue, several jobs running at once. A job's
  trainings that core.transfer and core.reuse split into units go to the cluster; whatever a job trains on
  the server itself (the concept pages' short demos) takes the server's one local slot, so two of those
  never share the server's cores.
- `run_comparisons` splits comparisons and reuse grids into the units the engine already has: model A for a
  chunk of seeds (`transfer.train_model_a_unit`), both arms for a chunk of seeds (`transfer.comparison_unit`),
  and every cell of one reuse-grid size with B from scratch for a chunk of seeds (`reuse.grid_unit`; one
  model A, seed 42, serves them all), submitted as Ray tasks asking for `LAB_RAY_CPUS_PER_UNIT` CPUs
  (default 1). A chunk waits on its model A inside Ray (the object reference is its argument), so every
  pair's or size's chunks start as soon as their own A is done. Model A weights already on disk go to the
  object store once per call (`ray.put`), and each worker loads Fashion-MNIST from its own copy the usual
  way (core.data), once per process.
- Results come back to this process, which alone writes the SQLite store and the `.keras` files, so
  resume, sharing and export/import work unchanged. A unit whose worker dies or that raises is retried
  (`MAX_RETRIES`); a row is saved only when its unit's result arrives, with the store's INSERT OR IGNORE,
  so a finished row is never written twice.

Progress is one bar over all units: "units done/total", how many are running, and how many each
node finished.
"""

from __future__ import annotations

import collections
import functools
import os
import threading
import time
from pathlib import Path
from typing import Any, Optional

from core import jobs
from core.progress import ProgressCallback, report
from core.runs.seeds import chunks
from core.store import check_seed

ADDRESS_VARIABLE = "LAB_RAY_ADDRESS"
CPUS_VARIABLE = "LAB_RAY_CPUS_PER_UNIT"
MAX_RETRIES = 3  # attempts after the first, for a unit whose worker died or that raised
POLL_SECONDS = 0.5  # how often a waiting job reports progress (and so notices a cancel)
ROOT = Path(__file__).resolve().parent.parent
# What workers get of the project: its code (Ray uploads it once per change), not the venv or artifacts.
EXCLUDES = [".venv", ".git", "artifacts", "docs", ".pytest_cache", "**/__pycache__"]

_LOCAL_SLOT = threading.Semaphore(1)  # one training at a time on the server itself
_HOLDS_LOCAL_SLOT = threading.local()


def address() -> Optional[str]:
    """The cluster the lab uses, or None (the local queue)."""
    return os.environ.get(ADDRESS_VARIABLE) or None


def cpus_per_unit() -> float:
    """CPUs each unit asks Ray for (what one engine call uses on the node)."""
    text = os.environ.get(CPUS_VARIABLE, "1")
    try:
        cpus = float(text)
    except ValueError:
        cpus = -1.0
    if not cpus > 0:
        raise ValueError(f"{CPUS_VARIABLE} must be a number of CPUs above 0, got {text!r}.")
    return cpus


def connect():
    """Connect this process to the cluster once (a test's own `ray.init` counts); returns the ray module."""
    import ray

    if not ray.is_initialized():
        ray.init(address=address(), runtime_env=runtime_env(), logging_level="WARNING", log_to_driver=False)
    return ray


def runtime_env() -> dict:
    """The project's code for every worker, uploaded by `ray.init` (the venv's packages and the data must be on
    the node already)."""
    return {"working_dir": str(ROOT), "excludes": EXCLUDES}


@functools.lru_cache(maxsize=1)
def _remote_unit():
    ray = connect()

    @ray.remote(max_retries=MAX_RETRIES, retry_exceptions=True)
    def lab_unit(kind: str, *arguments):
        return run_unit(kind, *arguments)

    return lab_unit


def run_unit(kind: str, *arguments) -> dict:
    """What a worker runs for one unit: ("model_a", protocol, seeds), ("comparison", config, seeds, *a_parts) or
    ("grid", reuse grid, seeds, *a_parts), each a_part a model A result ({"seeds", "weights"}) covering the
    chunk's model A seeds. Plain results, nothing saved; `node` says where it ran."""
    import socket

    from core import reuse, transfer

    if kind == "model_a":
        protocol, seeds = arguments
        result = transfer.train_model_a_unit(protocol, seeds)
    elif kind == "comparison":
        config, seeds, *a_parts = arguments
        a_weights = _stack_a([config.a_seed(seed) for seed in seeds], a_parts)
        result = {"rows": transfer.comparison_unit(config, seeds, a_weights)}
    elif kind == "grid":  # every cell of one reuse-grid size and B from scratch; one model A serves every seed
        grid, seeds, *a_parts = arguments
        result = {"rows": reuse.grid_unit(grid, seeds, _stack_a([transfer.MODEL_A_SEED], a_parts))}
    else:
        raise ValueError(f"Unknown unit kind {kind!r}.")
    result["node"] = _node_name(socket.gethostname())
    return result


def _node_name(host: str) -> str:
    try:
        import ray

        return f"{host}/{ray.get_runtime_context().get_node_id()[:6]}"
    except Exception:  # outside a Ray worker (run_unit called directly)
        return host


def _stack_a(a_seeds, a_parts) -> tuple:
    """Model A's weights for each of `a_seeds`, copy axis first, from the parts that hold them."""
    import numpy as np

    where = {}
    for part in a_parts:
        for copy, a_seed in enumerate(part["seeds"]):
            where.setdefault(int(a_seed), (part, copy))
    chosen = [where[int(a_seed)] for a_seed in a_seeds]
    return tuple(np.stack([part["weights"][layer][copy] for part, copy in chosen])
                 for layer in range(len(chosen[0][0]["weights"])))


class ClusterQueue(jobs.JobQueue):
    """The job backend with a cluster: as many jobs at once as the cluster has unit slots (at least 2), the
    ones that train on the server one at a time."""

    def __init__(self, journal=None, max_running: Optional[int] = None):
        if max_running is None:
            ray = connect()
            max_running = max(2, int(ray.cluster_resources().get("CPU", 1) // cpus_per_unit()))
        super().__init__(journal=journal, max_running=max_running)

    def _call(self, fn, report_progress):
        with _LOCAL_SLOT:
            _HOLDS_LOCAL_SLOT.held = True
            try:
                return fn(report_progress)
            finally:
                _HOLDS_LOCAL_SLOT.held = False


class _LocalSlotReleased:
    """While a job waits on the cluster, the server's local slot is free for another job's local training."""

    def __enter__(self):
        self.released = getattr(_HOLDS_LOCAL_SLOT, "held", False)
        if self.released:
            _LOCAL_SLOT.release()
            _HOLDS_LOCAL_SLOT.held = False

    def __exit__(self, *exc_info):
        if self.released:
            _LOCAL_SLOT.acquire()
            _HOLDS_LOCAL_SLOT.held = True


class _Plan:
    """The units of some comparisons or reuse-grid sizes, as submitted: each reference with what to do when its
    result arrives."""

    def __init__(self, ray, remote, store, chunk_size: int):
        self.ray, self.remote, self.store, self.chunk_size = ray, remote, store, chunk_size
        self.pending: dict[Any, tuple] = {}  # object reference -> ("model_a", protocol) | ("rows", config, seeds)
        # (model A config, a seed) -> the reference holding its weights: the unit training it, or the weights
        # loaded from its .keras file and put in the object store (once, whichever comparisons need them)
        self.a_refs: dict[tuple, Any] = {}
        self.total = 0

    def _submit(self, kind: str, action: tuple, *arguments):
        options = {"num_cpus": cpus_per_unit(), "name": f"lab_{kind}"}
        reference = self.remote.options(**options).remote(kind, *arguments)
        self.pending[reference] = action
        self.total += 1
        return reference

    # Model A units for the seeds no file holds (shared across comparisons and grids with the same A), then one
    # comparison or grid unit per chunk of missing seeds, given the references of the A parts it needs.
    def add(self, config, missing: list[int]) -> None:
        """Units for the missing seeds of a ComparisonConfig or a ReuseGrid (each says its unit kind and the model A
        seed each of its seeds starts from)."""
        kind, a_seed = config.UNIT_KIND, config.a_seed
        a_key = self._add_model_as(config.protocol, [a_seed(seed) for seed in missing])
        for chunk in chunks(missing, self.chunk_size):
            parts = list(dict.fromkeys(self.a_refs[(a_key, a_seed(seed))] for seed in chunk))
            self._submit(kind, ("rows", config, chunk), config, chunk, *parts)

    # A reference for each model A seed: a unit training the ones no file holds, the others' weights put in the
    # object store once. Returns model A's config (the key of `a_refs`).
    def _add_model_as(self, protocol, a_seeds: list[int]):
        import keras
        import numpy as np

        from core import transfer

        a_key = transfer.ModelAConfig.of(protocol)
        a_seeds = list(dict.fromkeys(a_seeds))
        on_disk = [seed for seed in a_seeds if (a_key, seed) not in self.a_refs
                   and self.store.model_path(a_key, seed, "model_a").exists()]
        to_train = [seed for seed in a_seeds if (a_key, seed) not in self.a_refs and seed not in on_disk]
        for chunk in chunks(to_train, self.chunk_size):
            reference = self._submit("model_a", ("model_a", protocol), protocol, chunk)
            self.a_refs.update({(a_key, seed): reference for seed in chunk})
        if on_disk:
            weights = [keras.models.load_model(self.store.model_path(a_key, seed, "model_a"),
                                               compile=False).get_weights() for seed in on_disk]
            stacked = tuple(np.stack(arrays).astype(np.float32) for arrays in zip(*weights))
            loaded = self.ray.put({"seeds": on_disk, "weights": stacked})  # to the object store once
            self.a_refs.update({(a_key, seed): loaded for seed in on_disk})
        return a_key

    # The server's side of a finished unit: model A to its row and file, a chunk's rows to the store.
    def keep(self, action: tuple, result: dict) -> None:
        from core import transfer

        if action[0] == "model_a":
            transfer.save_model_a(action[1], self.store, result)
        else:
            _, config, seeds = action
            for seed in seeds:
                self.store.save(config, seed, result["rows"][seed])  # INSERT OR IGNORE: never twice


def run_comparisons(requests, store, progress: Optional[ProgressCallback] = None,
                    chunk_size: Optional[int] = None, units_per_node: Optional[collections.Counter] = None) -> list:
    """Stored rows for each (config, seeds) of `requests`, training the missing seeds on the cluster; a config is
    a transfer.ComparisonConfig (both arms) or a reuse.ReuseGrid (one size of the reuse grid: every cell and B
    from scratch, `reuse.run_grid` sends one per size).

    Every unit of every request is submitted at once; results are saved here as they arrive. A unit that still
    fails after its retries stops the call after the other units have finished and been saved; a cancel (the
    job's progress report raising) cancels the units not yet finished, keeping what was saved.
    `units_per_node`, if given, counts the finished units per node ("host/node id")."""
    from core import transfer

    chunk_size = transfer.CHUNK_SEEDS if chunk_size is None else chunk_size
    if chunk_size < 1:
        raise ValueError(f"The chunk size must be at least 1 seed, got {chunk_size}.")
    requests = [(config, [check_seed(seed) for seed in seeds]) for config, seeds in requests]
    ray = connect()
    plan = _Plan(ray, _remote_unit(), store, chunk_size)
    for config, seeds in requests:
        finished = store.finished_seeds(config)
        missing = [seed for seed in seeds if seed not in finished]
        if missing:
            plan.add(config, missing)
    finished_on = collections.Counter() if units_per_node is None else units_per_node
    failures = []
    with _LocalSlotReleased():
        try:
            while plan.pending:
                _report_units(progress, plan, finished_on)
                ready, _ = ray.wait(list(plan.pending), num_returns=1, timeout=POLL_SECONDS)
                for reference in ready:
                    action = plan.pending.pop(reference)
                    try:
                        result = ray.get(reference)
                    except Exception as error:  # the unit failed MAX_RETRIES + 1 times
                        failures.append(error)
                        continue
                    plan.keep(action, result)
                    finished_on[result["node"]] += 1
        except BaseException:  # a cancel or Ctrl-C: stop what is left; the saved rows stay
            for reference in plan.pending:
                ray.cancel(reference, force=True)
            raise
    _report_units(progress, plan, finished_on)
    if failures:
        raise RuntimeError(f"{len(failures)} of {plan.total} units failed after {MAX_RETRIES} retries; "
                           f"the others are saved. First error: {failures[0]}")
    rows = []
    for config, seeds in requests:
        stored = store.results(config, seeds)
        absent = sorted(set(seeds) - {row.seed for row in stored})
        if absent:
            raise RuntimeError(f"The cluster returned without results for seeds {absent}.")
        rows.append(stored)
    return rows


def _report_units(progress, plan: _Plan, finished_on: collections.Counter) -> None:
    done = plan.total - len(plan.pending)
    nodes = ", ".join(f"{node} {count}" for node, count in sorted(finished_on.items())) or "none yet"
    message = f"units {done}/{plan.total}, {len(plan.pending)} queued or running; finished per node: {nodes}"
    if plan.total == 0:  # everything was stored already: a full bar at once
        report(progress, 1, 1, message)
    else:
        report(progress, done, plan.total, message)


def nodes_with_cpus() -> list[dict]:
    """The cluster's live nodes: {"node": name, "cpus": n} (for the command line and the bench)."""
    ray = connect()
    return [{"node": f"{node['NodeManagerHostname']}/{node['NodeID'][:6]}", "cpus": node["Resources"].get("CPU", 0)}
            for node in ray.nodes() if node.get("Alive")]


def wait_for_nodes(count: int, timeout: float = 120.0) -> list[dict]:
    """Block until `count` nodes are alive (a worker joining takes seconds); returns them."""
    deadline = time.monotonic() + timeout
    while True:
        nodes = nodes_with_cpus()
        if len(nodes) >= count or time.monotonic() > deadline:
            return nodes
        time.sleep(1.0)
