"""The lab's chart style in one place: palette, layout, and the seed bands every concept draws.

Shared so every page looks alike on a projector; the concept modules only decide what to draw.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

# Colour-blind-safe palette (Okabe-Ito), in a fixed order so a variant keeps its colour across figures.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
FONT_SIZE = 15  # readable from the back of a classroom


def palette_color(index: int) -> str:
    """The index-th palette colour, wrapping around, so the n-th variant of any figure gets the same colour."""
    return PALETTE[index % len(PALETTE)]


def styled(figure: go.Figure, title: str = "", *, height: int = 420) -> go.Figure:
    """Apply the lab's common layout: white template, large font, legend on top."""
    figure.update_layout(
        template="plotly_white", title=title, height=height, font=dict(size=FONT_SIZE),
        margin=dict(l=60, r=20, t=60 if title else 30, b=50),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
    )
    return figure


def band_traces(x, values: np.ndarray, name: str, color: str) -> list[go.Scatter]:
    """Mean line with a shaded min-max band over seeds. x: (n_points,); values: (n_seeds, n_points)."""
    values = np.asarray(values, dtype=float)
    mean, low, high = values.mean(axis=0), values.min(axis=0), values.max(axis=0)
    x = list(x)
    return [
        go.Scatter(x=x + x[::-1], y=list(high) + list(low[::-1]), fill="toself", fillcolor=color,
                   opacity=0.2, line=dict(width=0), hoverinfo="skip", showlegend=False, legendgroup=name),
        go.Scatter(x=x, y=mean, name=f"{name} (mean of {len(values)})", line=dict(color=color, width=3),
                   legendgroup=name),
    ]


def quantile_band_traces(x, values: np.ndarray, name: str, color: str, *, low_quantile: float = 0.1,
                         high_quantile: float = 0.9) -> list[go.Scatter]:
    """Median line with a shaded low-high quantile band. x: (n_points,); values: (n_points, n_samples)."""
    median = np.median(values, axis=1)
    low, high = np.quantile(values, low_quantile, axis=1), np.quantile(values, high_quantile, axis=1)
    x = list(x)
    return [
        go.Scatter(x=x + x[::-1], y=list(high) + list(low[::-1]), fill="toself", fillcolor=color, opacity=0.2,
                   mode="lines", line=dict(width=0), hoverinfo="skip", showlegend=False, legendgroup=name),
        go.Scatter(x=x, y=median, name=name, legendgroup=name, mode="lines+markers",
                   line=dict(color=color, width=3)),
    ]
