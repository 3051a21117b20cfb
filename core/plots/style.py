"""The lab's chart style in one place: palette, the "lab" template, and the seed pieces (bands, histogram)
every concept draws.

Shared so every page looks alike on a projector; the concept modules only decide what to draw.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

# Colour-blind-safe palette (Okabe-Ito), in a fixed order so a variant keeps its colour across figures.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
FONT_SIZE = 15  # readable from the back of a classroom: ticks, axis titles, legend, hover, annotations
TITLE_FONT_SIZE = 21  # the figure title (what plotly draws by default for FONT_SIZE, made explicit)
TEMPLATE_NAME = "lab"  # every builder's template; pages pass theme=None so Streamlit's theme does not restyle it

# Vertical bands of a figure, in pixels. Top: the title, then subplot titles standing on the plot, then
# the plot. Bottom: tick labels and axis titles (plotly's automargin), then the legend in a band of its
# own (container y = 0: plotly reserves the legend's height as margin, so nothing else is drawn there).
TITLE_PAD = 12  # gap above the title
TITLE_BAND = 60  # top margin of a figure with a title: the title and air under it
SUBPLOT_TITLE_BAND = 30  # added under the title band when annotations stand on the plot's top edge
TOP_EDGE = 30  # top margin of a figure without a title (room for one line of subplot titles)
MARGIN = dict(l=60, r=20, b=50)


def _lab_template() -> go.layout.Template:
    """plotly_white with the lab's fonts, palette, margins, the title on top and the legend in the bottom band."""
    template = go.layout.Template(pio.templates["plotly_white"])
    template.layout.update(
        colorway=PALETTE, font=dict(size=FONT_SIZE), hoverlabel=dict(font=dict(size=FONT_SIZE)),
        margin=dict(MARGIN, t=TOP_EDGE),
        title=dict(font=dict(size=TITLE_FONT_SIZE), x=0, xref="paper", xanchor="left",
                   y=1, yref="container", yanchor="top", pad=dict(t=TITLE_PAD)),
        legend=dict(orientation="h", x=0, xref="paper", xanchor="left", y=0, yref="container", yanchor="bottom"),
    )
    return template


pio.templates[TEMPLATE_NAME] = _lab_template()


def palette_color(index: int) -> str:
    """The index-th palette colour, wrapping around, so the n-th variant of any figure gets the same colour."""
    return PALETTE[index % len(PALETTE)]


def stands_on_plot_top(annotation) -> bool:
    """True for an annotation standing on the plot area's top edge, as a subplot title does (paper y >= 1)."""
    return annotation.yref == "paper" and annotation.y is not None and annotation.y >= 1


def styled(figure: go.Figure, title: str = "", *, height: int = 420) -> go.Figure:
    """Apply the lab template, the title and the height; the top margin holds the title and any subplot titles.

    Call it last, once the annotations are in place: they decide the top margin.
    """
    subplot_titles = any(stands_on_plot_top(annotation) for annotation in figure.layout.annotations)
    top = TITLE_BAND + SUBPLOT_TITLE_BAND * subplot_titles if title else TOP_EDGE
    figure.update_layout(template=TEMPLATE_NAME, title=dict(text=title), height=height, margin=dict(t=top))
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


def seed_histogram(values: np.ndarray, *, estimate: float, interval: tuple[float, float] | None,
                   interval_label: str, reference: float, reference_label: str, color: str,
                   hovertemplate: str | None = None) -> go.Figure:
    """One number per seed as a histogram: the estimate (solid) and its interval (shaded; None to leave it
    out), no difference at 0 (dotted), and a labelled reference value such as the book's (dashed).

    values: (n_seeds,), already on the x axis's scale (a log scale's logarithms); the caller titles the
    x axis and applies `styled`.
    """
    figure = go.Figure(go.Histogram(x=values, name="seeds", marker_color=color, opacity=0.8,
                                    nbinsx=max(10, len(values) // 2), hovertemplate=hovertemplate))
    if interval is not None:
        figure.add_vrect(x0=interval[0], x1=interval[1], fillcolor=color, opacity=0.15, line_width=0,
                         annotation_text=interval_label, annotation_position="bottom left")
    figure.add_vline(x=estimate, line_color=color, line_width=3)
    figure.add_vline(x=0, line_color="gray", line_dash="dot")
    figure.add_vline(x=reference, line_color=PALETTE[3], line_width=3, line_dash="dash",
                     annotation_text=reference_label, annotation_position="top right")
    figure.update_yaxes(title="seeds")
    return figure
