"""Progress reporting without printing: training code calls a callback, the caller draws the bar.

A callback takes (done, total, message). Pages pass one that drives `st.progress`; the command
line passes `terminal_progress()`; tests pass nothing.
"""

from __future__ import annotations

import sys
from typing import Callable, Optional

ProgressCallback = Callable[[int, int, str], None]


def report(callback: Optional[ProgressCallback], done: int, total: int, message: str = "") -> None:
    """Call the callback if there is one (so core code needs no `if` at every step)."""
    if callback is not None:
        callback(done, total, message)


def terminal_progress(stream=sys.stderr, width: int = 30) -> ProgressCallback:
    """A one-line text bar for the command line, redrawn in place."""

    def draw(done: int, total: int, message: str = "") -> None:
        filled = int(width * done / max(total, 1))
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {message}"[:120].ljust(120))
        if done >= total:
            stream.write("\n")
        stream.flush()

    return draw


class Stages:
    """One bar over consecutive stages of unequal cost, that never moves backwards.

    `weights[i]` is stage i's share of the work (any unit); `callback(i, prefix)` gives the progress callback
    stage i reports to with its own (done, total), mapped onto the bar after the stages before it.
    """

    def __init__(self, progress: Optional[ProgressCallback], weights, scale: int = 1000):
        total = float(sum(weights)) or 1.0
        self.progress, self.scale = progress, scale
        self.starts = [scale * sum(weights[:index]) / total for index in range(len(weights))]
        self.sizes = [scale * weight / total for weight in weights]
        self.furthest = 0

    def callback(self, index: int, prefix: str = "") -> ProgressCallback:
        def stage(done: int, total: int, message: str = "") -> None:
            fraction = min(max(done / max(total, 1), 0.0), 1.0)
            self.furthest = max(self.furthest, int(round(self.starts[index] + fraction * self.sizes[index])))
            report(self.progress, self.furthest, self.scale, f"{prefix}: {message}" if prefix else message)

        return stage
