"""Plotly figure builders: plain data in, `go.Figure` out (no Streamlit, no Keras).

Sections per page below; shared styling first so every page looks alike on a projector.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

# Colour-blind-safe palette (Okabe-Ito), in a fixed order so a variant keeps its colour across figures.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
FONT_SIZE = 15  # readable from the back of a classroom


def styled(figure: go.Figure, title: str = "", height: int = 420) -> go.Figure:
    """Apply the lab's common layout: white template, large font, legend on top."""
    figure.update_layout(
        template="plotly_white", title=title, height=height, font=dict(size=FONT_SIZE),
        margin=dict(l=60, r=20, t=60 if title else 30, b=50),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
    )
    return figure


def band_traces(x, values: np.ndarray, name: str, color: str) -> list[go.Scatter]:
    """Mean line with a shaded min-max band over seeds. values: (n_seeds, n_points)."""
    values = np.asarray(values, dtype=float)
    mean, low, high = values.mean(axis=0), values.min(axis=0), values.max(axis=0)
    x = list(x)
    return [
        go.Scatter(x=x + x[::-1], y=list(high) + list(low[::-1]), fill="toself", fillcolor=color,
                   opacity=0.2, line=dict(width=0), hoverinfo="skip", showlegend=False, legendgroup=name),
        go.Scatter(x=x, y=mean, name=f"{name} (mean of {len(values)})", line=dict(color=color, width=3),
                   legendgroup=name),
    ]
