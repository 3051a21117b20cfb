"""Progress reporting without printing: training code calls a callback, the caller draws the bar.

A callback takes (done, total, message). Pages pass one that drives `st.progress`; the command
line passes `terminal_progress()`; tests pass nothing.

One job, one bar: a job made of several steps (model A, then B from scratch, then B on A; 45 pairs; a
grid of cells) gives each step a `part` of its bar, as wide as the step's share of the estimated cost,
so the bar moves forward from 0 to 100% once instead of restarting per step, and every message says which
step it is in. `with_time_left` adds an estimate of the time left once the bar has moved.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, Optional, Sequence

ProgressCallback = Callable[[int, int, str], None]
SCALE = 10_000  # a job's whole bar in steps, fine enough for 45 pairs x 10 chunks x 40 epochs


def report(callback: Optional[ProgressCallback], done: int, total: int, message: str = "") -> None:
    """Call the callback if there is one (so core code needs no `if` at every step)."""
    if callback is not None:
        callback(done, total, message)


def part(callback: Optional[ProgressCallback], start: float, end: float, label: str = "") -> Optional[ProgressCallback]:
    """The callback of one step of a job: its own (done, total) fills the fractions [start, end] of the job's
    bar, and its messages get "label · " in front. None stays None (no bar, no cost)."""
    if callback is None:
        return None
    if not 0 <= start <= end <= 1:
        raise ValueError(f"A part of the bar must lie within 0..1, got {start}..{end}.")

    def forward(done: int, total: int, message: str = "") -> None:
        fraction = start + (end - start) * min(max(done / max(total, 1), 0.0), 1.0)
        text = f"{label} · {message}" if label and message else label or message
        callback(round(fraction * SCALE), SCALE, text)

    return forward


def parts(callback: Optional[ProgressCallback], costs: Sequence[float], labels: Sequence[str]) -> list:
    """Consecutive `part`s of one bar, each as wide as its share of the summed (estimated) costs."""
    if len(costs) != len(labels):
        raise ValueError(f"Give one label per cost: {len(costs)} costs, {len(labels)} labels.")
    total, start, pieces = float(sum(costs)), 0.0, []
    for cost, label in zip(costs, labels):
        end = min(1.0, start + (cost / total if total > 0 else 1.0 / len(costs)))
        pieces.append(part(callback, start, end, label))
        start = end
    return pieces


def time_left_text(seconds: float) -> str:
    """"about 40 s left", "about 3 min left", "about 2 h left": rounded as coarsely as such an estimate is worth."""
    if seconds < 90:
        return f"about {max(5, int(round(seconds / 5)) * 5)} s left"
    if seconds < 90 * 60:
        return f"about {int(round(seconds / 60))} min left"
    return f"about {seconds / 3600:.1f} h left".replace(".0 h", " h")


def with_time_left(callback: Optional[ProgressCallback], clock: Callable[[], float] = time.monotonic,
                   min_fraction: float = 0.02, min_seconds: float = 3.0) -> Optional[ProgressCallback]:
    """Append "about N s left" to each message once the bar has a rate (past `min_fraction` of the job and
    `min_seconds` after this wrapper was made, i.e. when the job started); the estimate assumes the rest goes
    at the average pace so far."""
    if callback is None:
        return None
    started = clock()

    def forward(done: int, total: int, message: str = "") -> None:
        fraction, elapsed = done / max(total, 1), clock() - started
        if min_fraction <= fraction < 1 and elapsed >= min_seconds:
            left = time_left_text(elapsed * (1 - fraction) / fraction)
            message = f"{message} · {left}" if message else left
        callback(done, total, message)

    return forward


def terminal_progress(stream=sys.stderr, width: int = 30) -> ProgressCallback:
    """A one-line text bar for the command line, redrawn in place."""

    def draw(done: int, total: int, message: str = "") -> None:
        filled = int(width * done / max(total, 1))
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {100 * done / max(total, 1):3.0f}% {message}"[:120]
                     .ljust(120))
        if done >= total:
            stream.write("\n")
        stream.flush()

    return draw
