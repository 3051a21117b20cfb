"""Which size of run the pages use: the default, or the tiny one that tests and the browser test set."""

from __future__ import annotations

import os


# One switch for every page, so tests exercise the real code path with small numbers.
def tiny_mode() -> bool:
    return os.environ.get("LAB_PRESET", "").lower() == "tiny"


# The caption a page shows under its settings in tiny mode: `what` says what the tiny preset shrinks.
def tiny_caption(what: str) -> None:
    import streamlit as st

    if tiny_mode():
        st.caption(f"Tiny preset (LAB_PRESET=tiny): {what}, so every path runs in seconds.")
