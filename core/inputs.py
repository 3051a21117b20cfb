"""Checks of numbers a student types, with the sentence a page shows under the box.

Pages give their boxes no minimum or maximum (a box with limits shows a typed 500 while the page keeps using
its last valid value); instead the typed value reaches the page, which asks one of these checks and, on a
`ValueError`, says why under the box and runs nothing.
"""

from __future__ import annotations

import math


def shown(value) -> str:
    """A typed number as a student wrote it: 100,000 (not 100000.0), 1e-30 (not 0.0000), 0.25."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, float) and math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:g}" if isinstance(value, float) else repr(value)  # typed text: 'many', quoted


def whole_number(value, low: int, high: int, what: str, why: str = "") -> int:
    """`value` as an int if it is a whole number in low..high; else a ValueError naming `what` (e.g. "seeds")
    and the range, with `why` the range is what it is."""
    if value is None:
        raise ValueError(f"Type a number of {what}, {low:,} to {high:,}." + (f" {why}" if why else ""))
    try:
        whole = not isinstance(value, bool) and math.isfinite(float(value)) and float(value) == int(float(value))
    except (TypeError, ValueError, OverflowError):
        whole = False
    if not whole:
        raise ValueError(f"Choose a whole number of {what}, {low:,} to {high:,}; got {shown(value)}."
                         + (f" {why}" if why else ""))
    if not low <= int(float(value)) <= high:
        raise ValueError(f"Choose {low:,} to {high:,} {what}; got {shown(value)}." + (f" {why}" if why else ""))
    return int(float(value))
