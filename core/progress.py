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


def terminal_progress(stream=None, width: int = 30) -> ProgressCallback:
    """A one-line text bar for the command line, redrawn in place (on `stream`, default: sys.stderr as it is
    when the bar is made, so a redirected or captured stderr gets it)."""
    stream = sys.stderr if stream is None else stream

    def draw(done: int, total: int, message: str = "") -> None:
        filled = int(width * done / max(total, 1))
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {message}"[:120].ljust(120))
        if done >= total:
            stream.write("\n")
        stream.flush()

    return draw
