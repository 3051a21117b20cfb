"""Adapter from core's progress callbacks (done, total, message) to a Streamlit progress bar."""

from __future__ import annotations

import streamlit as st

from core.progress import ProgressCallback


# Core code reports progress through a callback; this draws it, so core never imports Streamlit.
def progress_bar(label: str) -> tuple[ProgressCallback, "st.delta_generator.DeltaGenerator"]:
    bar = st.progress(0.0, text=label)

    def update(done: int, total: int, message: str = "") -> None:
        fraction = min(max(done / max(total, 1), 0.0), 1.0)
        bar.progress(fraction, text=f"{label}: {message}" if message else label)

    return update, bar
