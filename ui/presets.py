"""Which size of run the pages use: the default, or the tiny one that tests and the browser test set."""

from __future__ import annotations

import os


# One switch for every page, so tests exercise the real code path with small numbers.
def tiny_mode() -> bool:
    return os.environ.get("LAB_PRESET", "").lower() == "tiny"
