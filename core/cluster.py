"""The Ray backend of the runner and the job queue, used when `LAB_RAY_ADDRESS` is set (core.runs.backend).

`run_units` runs the units a concept builds (core.runs.backend.Unit) as Ray tasks and hands each result back to
its `on_result` here, so this process alone writes the store; `ClusterQueue` runs several jobs at once, made the
process's queue by `install_queue`. Imports no concept; without the variable, nothing imports Ray. Design notes:
docs/architecture.md ("core/cluster").
"""

from __future__ import annotations

import collections
import functools
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any, Optional

from core import jobs
from core.progress import ProgressCallback, report
from core.runs import backend

ADDRESS_VARIABLE = backend.ADDRESS_VARIABLE
address = backend.address  # the cluster the lab uses, or None (the units run here)
CPUS_VARIABLE = "LAB_RAY_CPUS_PER_UNIT"
MAX_RETRIES = 3  # attempts after the first, for a unit whose worker died or that raised
POLL_SECONDS = 0.5  # how often a waiting job reports progress (and so notices a cancel)
ROOT = Path(__file__).resolve().parent.parent
# What workers get of the project: its code (Ray uploads it once per change), not the venv or artifacts.
EXCLUDES = [".venv", ".git", "artifacts", "docs", ".pytest_cache", "**/__pycache__"]

_LOCAL_SLOT = threading.Semaphore(1)  # one training at a time on the server itself
_HOLDS_LOCAL_SLOT = threading.local()
_INSTALL_LOCK = threading.Lock()


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


def run_unit(function, *arguments) -> tuple:
    """What a worker runs for one unit: (`function(*arguments)`, the node it ran on)."""
    return function(*arguments), node_name(socket.gethostname())


def node_name(host: str) -> str:
    """"host/node id" inside a Ray worker, the host alone elsewhere."""
    try:
        import ray

        return f"{host}/{ray.get_runtime_context().get_node_id()[:6]}"
    except Exception:  # outside a Ray worker
        return host


@functools.lru_cache(maxsize=1)
def _remote_unit():
    ray = connect()
    return ray.remote(max_retries=MAX_RETRIES, retry_exceptions=True, num_returns=2)(run_unit)


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


def install_queue() -> ClusterQueue:
    """Make a ClusterQueue the process's job queue (core.jobs), once; later calls return the same one."""
    with _INSTALL_LOCK:
        queue = jobs.queue()
        if not isinstance(queue, ClusterQueue):
            queue = ClusterQueue(journal=jobs.journal_from_environment())
            jobs.set_process_queue(queue)
        return queue


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


class _Submitted:
    """The units of one `run_units` call as submitted: each result's reference with its unit and node reference."""

    def __init__(self, ray, units: list[backend.Unit]):
        self.ray, self.remote, self.total = ray, _remote_unit(), len(units)
        self.pending: dict[Any, tuple] = {}  # result reference -> (unit, reference of the node it ran on)
        self.needed = {dependency for unit in units for dependency in backend.dependencies(unit)}
        self.results: dict[backend.Unit, Any] = {}  # references of the results later units take
        self.shared: dict[backend.Shared, Any] = {}  # shared values, each put in the object store once
        for unit in units:
            self.submit(unit)

    def submit(self, unit: backend.Unit) -> None:
        arguments = [self.reference(argument) for argument in unit.arguments]
        options = {"num_cpus": cpus_per_unit(), "name": f"lab_{unit.name}"}
        result, node = self.remote.options(**options).remote(unit.function, *arguments)
        self.pending[result] = (unit, node)
        if unit in self.needed:
            self.results[unit] = result  # Ray hands a unit its dependencies' results once they are done

    def reference(self, argument):
        if isinstance(argument, backend.Unit):
            return self.results[argument]
        if isinstance(argument, backend.Shared):
            if argument not in self.shared:
                self.shared[argument] = self.ray.put(argument.value)
            return self.shared[argument]
        return argument


def run_units(units: list[backend.Unit], progress: Optional[ProgressCallback] = None, *,
              units_per_node: Optional[collections.Counter] = None) -> None:
    """Every unit as a Ray task (a unit waits inside Ray for the units whose results it takes), each result handed
    to its unit's `on_result` here as it arrives; one bar over the units.

    Every unit is submitted at once. A unit that still fails after its retries stops the call after the other
    units have finished and been kept; a cancel (the job's progress report raising) cancels the units not yet
    finished, keeping what was kept. `units_per_node`, if given, counts the finished units per node."""
    finished_on = collections.Counter() if units_per_node is None else units_per_node
    if not units:
        _report_units(progress, 0, 0, finished_on)
        return
    ray = connect()
    submitted = _Submitted(ray, list(units))
    failures = []
    with _LocalSlotReleased():
        try:
            while submitted.pending:
                _report_units(progress, submitted.total, len(submitted.pending), finished_on)
                ready, _ = ray.wait(list(submitted.pending), num_returns=1, timeout=POLL_SECONDS)
                for reference in ready:
                    unit, node = submitted.pending.pop(reference)
                    try:
                        result = ray.get(reference)
                    except Exception as error:  # the unit failed MAX_RETRIES + 1 times
                        failures.append(error)
                        continue
                    if unit.on_result is not None:
                        unit.on_result(result)
                    finished_on[ray.get(node)] += 1
        except BaseException:  # a cancel or Ctrl-C: stop what is left; what was kept stays
            for reference in submitted.pending:
                ray.cancel(reference, force=True)
            raise
    _report_units(progress, submitted.total, 0, finished_on)
    if failures:
        raise RuntimeError(f"{len(failures)} of {submitted.total} units failed after {MAX_RETRIES} retries; "
                           f"the others are saved. First error: {failures[0]}")


def _report_units(progress, total: int, pending: int, finished_on: collections.Counter) -> None:
    done = total - pending
    nodes = ", ".join(f"{node} {count}" for node, count in sorted(finished_on.items())) or "none yet"
    message = f"units {done}/{total}, {pending} queued or running; finished per node: {nodes}"
    if total == 0:  # everything was stored already: a full bar at once
        report(progress, 1, 1, message)
    else:
        report(progress, done, total, message)


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
