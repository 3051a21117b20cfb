"""Every chart goes through `show`: figures keep core.plots' own template, not Streamlit's theme on top of it."""

from __future__ import annotations

import streamlit as st


# One place that draws plotly figures, so the charts' style has one source (core.plots).
def show(figure, *, key: str, container=None) -> None:
    (container or st).plotly_chart(figure, key=key, theme=None)
