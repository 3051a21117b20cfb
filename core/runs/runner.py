"""Where the units of a many-seed run execute: on the Ray cluster `LAB_RAY_ADDRESS` names (core.cluster), or
here, one after the other. Concepts ask `on_cluster()` and hand `run_units` their units; neither they nor
core.jobs import the cluster."""

from __future__ import annotations

import collections
import socket
from typing import Optional

from core.progress import ProgressCallback, report
from core.runs import backend


def on_cluster() -> bool:
    """True when units run on a Ray cluster (LAB_RAY_ADDRESS is set)."""
    return backend.address() is not None


def run_units(units: list[backend.Unit], progress: Optional[ProgressCallback] = None, *,
              units_per_node: Optional[collections.Counter] = None) -> None:
    """Run every unit (each after the units it takes results from) and hand each result to its `on_result`, in
    this process; one bar over the units. `units_per_node`, if given, counts the finished units per node."""
    check_order(units)
    if on_cluster():
        from core import cluster

        cluster.run_units(units, progress, units_per_node=units_per_node)
        return
    needed = {dependency for unit in units for dependency in backend.dependencies(unit)}
    results = {}  # the results later units take as arguments
    for done, unit in enumerate(units):
        report(progress, done, max(len(units), 1), f"units {done}/{len(units)}: {unit.name}")
        result = unit.function(*(argument_value(argument, results) for argument in unit.arguments))
        if unit in needed:
            results[unit] = result
        if unit.on_result is not None:
            unit.on_result(result)
        if units_per_node is not None:
            units_per_node[socket.gethostname()] += 1
    report(progress, max(len(units), 1), max(len(units), 1), f"units {len(units)}/{len(units)}")


def argument_value(argument, results: dict):
    """What a unit's function gets for one argument: a unit's result, a shared value, or the argument itself."""
    if isinstance(argument, backend.Unit):
        return results[argument]
    return argument.value if isinstance(argument, backend.Shared) else argument


def check_order(units: list[backend.Unit]) -> None:
    """A ValueError unless every unit comes after the units whose results it takes."""
    seen = set()
    for unit in units:
        if any(dependency not in seen for dependency in backend.dependencies(unit)):
            raise ValueError(f"The unit {unit.name!r} takes the result of a unit that does not come before it.")
        seen.add(unit)
