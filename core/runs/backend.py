"""What a concept hands the runner, and where it runs: a `Unit` (a module-level function and its arguments, whose
result this process keeps through `on_result`), `Shared` values several units take, and the Ray cluster's
address when `LAB_RAY_ADDRESS` names one. Imports nothing of the lab: core.runs.runner and core.cluster read it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Optional

ADDRESS_VARIABLE = "LAB_RAY_ADDRESS"


def address() -> Optional[str]:
    """The Ray cluster the lab's units run on (`auto`, `ray://head:10001`, `10.0.0.5:6379`), or None (here)."""
    return os.environ.get(ADDRESS_VARIABLE) or None


@dataclass(frozen=True, eq=False)
class Unit:
    """One piece of work: `function(*arguments)` wherever the backend runs it, then `on_result(result)` here.

    `function` is a module-level function (a worker imports it by name); an argument that is a Unit stands for
    that unit's result (it must come earlier in the list handed to the runner), a `Shared` for its value."""

    name: str  # what it is, in progress messages and a cluster's task names ("model_a", "comparison", "grid")
    function: Callable[..., Any]
    arguments: tuple
    on_result: Optional[Callable[[Any], None]] = None  # where the result is kept (the store), in this process


@dataclass(frozen=True, eq=False)
class Shared:
    """A value several units take as an argument (model A's weights read from their files): sent once."""

    value: Any


def dependencies(unit: Unit) -> list[Unit]:
    """The units whose results `unit` takes as arguments."""
    return [argument for argument in unit.arguments if isinstance(argument, Unit)]
