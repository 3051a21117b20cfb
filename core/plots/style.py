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
FONT_SIZE = 15  # readable from the back of a classroom: ticks, legend, hover, bar and cell labels
AXIS_TITLE_FONT_SIZE = 18  # axis titles
TITLE_FONT_SIZE = 21  # the figure title (what plotly draws by default for FONT_SIZE, made explicit)
MIN_TEXT_PX, MIN_TITLE_PX = 14, 18  # what tests/test_browser_plots.py measures in the rendered figures
MAX_LOG_TICKS = 8  # a log axis labels 1, 2, 5 x 10^k while that many fit, else whole decades
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
        # Tick labels stand off their axis, so an x axis's "0" and a y axis's "0" do not meet in the corner.
        xaxis=dict(title=dict(font=dict(size=AXIS_TITLE_FONT_SIZE)), ticklabelstandoff=4),
        yaxis=dict(title=dict(font=dict(size=AXIS_TITLE_FONT_SIZE)), ticklabelstandoff=6),
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
    """True for an annotation standing on a plot area's top edge, as a subplot title does (paper or axis-domain
    y >= 1, growing upwards)."""
    on_top = annotation.yref == "paper" or (annotation.yref or "").endswith(" domain")
    return on_top and annotation.y is not None and annotation.y >= 1 and annotation.yanchor == "bottom"


def styled(figure: go.Figure, title: str = "", *, height: int = 420) -> go.Figure:
    """Apply the lab template, the title and the height; the top margin holds the title and any subplot titles;
    axes get ticks that fit their data (`fit_ticks`).

    Call it last, once the traces and annotations are in place: they decide the ticks and the top margin.
    """
    subplot_titles = any(stands_on_plot_top(annotation) for annotation in figure.layout.annotations)
    top = TITLE_BAND + SUBPLOT_TITLE_BAND * subplot_titles if title else TOP_EDGE
    figure.update_layout(template=TEMPLATE_NAME, title=dict(text=title), height=height, margin=dict(t=top))
    fit_ticks(figure)
    return figure


def _numbers(values) -> np.ndarray:
    """The finite numbers among plotted values (None gaps, category labels and NaN left out)."""
    if values is None:
        return np.empty(0)
    kept = [value for value in np.ravel(np.asarray(values, dtype=object))
            if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)]
    array = np.asarray(kept, dtype=float)
    return array[np.isfinite(array)]


def _axis_values(figure: go.Figure, axis: str) -> np.ndarray:
    """Every number drawn along one axis ("xaxis", "yaxis2", ...) by the figure's traces (histograms' counts,
    which plotly computes, are not known here)."""
    letter, suffix = axis[0], axis[5:]
    arrays = []
    for trace in figure.data:
        if (getattr(trace, f"{letter}axis", None) or letter) == letter + suffix and trace.type != "histogram":
            arrays.append(_numbers(getattr(trace, letter, None)))
    return np.concatenate(arrays) if arrays else np.empty(0)


def power_text(value: float) -> str:
    """A tick label a back row can read: "0.02", "500", or "2×10⁻⁶" outside 0.001..100,000."""
    if 1e-3 <= value < 1e5:
        return f"{value:g}"
    exponent = int(np.floor(np.log10(value)))
    mantissa = round(value / 10 ** exponent, 6)
    power = f"10{str(exponent).translate(str.maketrans('-0123456789', '⁻⁰¹²³⁴⁵⁶⁷⁸⁹'))}"
    return power if mantissa == 1 else f"{mantissa:g}×{power}"


def log_ticks(low: float, high: float) -> list[float]:
    """Full-size tick values for a log axis over [low, high]: 1, 2, 5 x 10^k if at most MAX_LOG_TICKS fit, else
    decades (every other one over a very wide range); [] when fewer than two fit (plotly's own labels are
    full-size then)."""
    decades = range(int(np.floor(np.log10(low))), int(np.ceil(np.log10(high))) + 1)
    for mantissas in ((1, 2, 5), (1,)):
        ticks = [m * 10.0 ** k for k in decades for m in mantissas
                 if low * (1 - 1e-9) <= m * 10.0 ** k <= high * (1 + 1e-9)]
        if len(ticks) <= MAX_LOG_TICKS:
            break
    while len(ticks) > MAX_LOG_TICKS:
        ticks = ticks[::2]
    return ticks if len(ticks) >= 2 else []


def fit_ticks(figure: go.Figure) -> None:
    """Ticks that fit the data, for axes whose builder did not set its own: a log axis gets full-size labels
    (`log_ticks`: no small "2 5" minor labels); an axis of a few whole numbers (epochs, layers) ticks at those
    numbers only (no epoch 1.5), every `step` apart when they are (every 10 for evaluations at steps 10, 20)."""
    for axis in [key for key in figure.layout if key.startswith(("xaxis", "yaxis"))] or ["xaxis", "yaxis"]:
        settings = figure.layout[axis]
        if (settings.tickvals is not None or settings.dtick is not None or settings.type == "category"
                or settings.range is not None):
            continue
        values = _axis_values(figure, axis)
        if settings.type == "log":
            positive = values[values > 0]
            ticks = log_ticks(positive.min(), positive.max()) if len(positive) else []
            if ticks:
                figure.layout[axis].update(tickvals=ticks, ticktext=[power_text(tick) for tick in ticks])
        elif len(np.unique(values)) >= 2 and np.all(values == np.round(values)):
            step = int(np.gcd.reduce(np.diff(np.unique(values)).astype(np.int64)))  # epochs: 1; evaluations: 10
            if np.ptp(values) <= 12 * step:
                figure.layout[axis].update(dtick=step)


def reference_line(figure: go.Figure, *, name: str, x: float | None = None, y: float | None = None,
                   color: str = "grey", dash: str = "dash", width: float = 2, axes: str = "") -> None:
    """A vertical (x) or horizontal (y) line across the plot, named in the legend rather than by a label drawn
    on the plot (where it would cover the data). `axes`: "" or "2" for the x2/y2 pair."""
    line = dict(color=color, dash=dash, width=width)
    if x is not None:
        figure.add_shape(type="line", x0=x, x1=x, y0=0, y1=1, xref="x" + axes, yref=f"y{axes} domain", line=line)
    else:
        figure.add_shape(type="line", y0=y, y1=y, x0=0, x1=1, yref="y" + axes, xref=f"x{axes} domain", line=line)
    figure.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=name, line=line, hoverinfo="skip"))


def reference_band(figure: go.Figure, x0: float, x1: float, *, name: str, color: str, opacity: float = 0.15) -> None:
    """A shaded vertical band (an interval) across the plot, named in the legend."""
    figure.add_shape(type="rect", x0=x0, x1=x1, y0=0, y1=1, xref="x", yref="y domain", fillcolor=color,
                     opacity=opacity, line_width=0, layer="below")
    figure.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name, hoverinfo="skip",
                                marker=dict(symbol="square", size=16, color=color, opacity=max(opacity * 2, 0.3))))


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
                   estimate_label: str = "mean", hovertemplate: str | None = None) -> go.Figure:
    """One number per seed as a histogram: the estimate (solid) and its interval (shaded; None to leave it
    out), no difference at 0 (dotted), and a reference value such as the book's (dashed), each named in the
    legend; the count axis ticks at whole numbers.

    values: (n_seeds,), already on the x axis's scale (a log scale's logarithms); the caller titles the
    x axis and applies `styled`.
    """
    values = np.asarray(values, float)
    edges = np.histogram_bin_edges(values, bins=max(10, len(values) // 2))
    counts = np.histogram(values, edges)[0]
    figure = go.Figure(go.Histogram(x=values, name="seeds", marker_color=color, opacity=0.8, showlegend=False,
                                    xbins=dict(start=edges[0], end=edges[-1], size=edges[1] - edges[0]),
                                    hovertemplate=hovertemplate))
    if interval is not None:
        reference_band(figure, interval[0], interval[1], name=interval_label, color=color)
    reference_line(figure, x=estimate, name=estimate_label, color=color, dash="solid", width=3)
    reference_line(figure, x=0, name="no difference", color="gray", dash="dot")
    reference_line(figure, x=reference, name=reference_label, color=PALETTE[3], width=3)
    figure.update_yaxes(title="seeds", dtick=max(1, int(np.ceil(counts.max() / 6))), rangemode="tozero")
    return figure


# ---- images: tiles of small pictures, shown as pictures ----

MOSAIC_GAP = 2  # pixels of blank space between tiles of a mosaic


def mosaic(images: np.ndarray, columns: int) -> np.ndarray:
    """images (n, h, w) -> one (rows * (h + gap) - gap, columns * (w + gap) - gap) array (gap = MOSAIC_GAP),
    NaN between the tiles."""
    n, height, width = images.shape
    rows = -(-n // columns)
    tiled = np.full((rows * (height + MOSAIC_GAP) - MOSAIC_GAP, columns * (width + MOSAIC_GAP) - MOSAIC_GAP), np.nan)
    for index, image in enumerate(images):
        top, left = (index // columns) * (height + MOSAIC_GAP), (index % columns) * (width + MOSAIC_GAP)
        tiled[top:top + height, left:left + width] = image
    return tiled


def picture(figure: go.Figure) -> go.Figure:
    """An image figure drawn as a picture: rows downwards, square pixels, no ticks or grid."""
    figure.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False, showgrid=False, zeroline=False)
    figure.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    return figure
