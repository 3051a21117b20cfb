"""Figures of the gradient-clipping page: clipping in 2-D, the direction change, Keras's norms, training runs."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from core.clipping import VARIANT_NAMES
from core.plots.style import PALETTE, band_traces, palette_color, quantile_band_traces, reference_line, styled

CLIP_COLORS = {"original": "#000000", "clipvalue": PALETTE[1], "clipnorm": PALETTE[0],
               "global_clipnorm": PALETTE[2], "none": PALETTE[3], "book": PALETTE[4]}
CLIP_NAMES = VARIANT_NAMES


def _arrow(vector, name: str, color: str, axes: str, *, dash: str = "solid", show_legend: bool = True) -> dict:
    """One arrow from the origin to vector (2,), drawn on the axes pair named by `axes` ("" or "2")."""
    x, y = float(vector[0]), float(vector[1])
    return dict(type="scatter", x=[0.0, x], y=[0.0, y], mode="lines+markers", name=name, legendgroup=name,
                showlegend=show_legend, xaxis="x" + axes, yaxis="y" + axes, line=dict(color=color, width=3, dash=dash),
                marker=dict(symbol=["circle", "arrow"], size=[4, 16], angleref="previous", color=color),
                hovertemplate=f"{name}<br>({x:.6g}, {y:.6g})<extra></extra>")


def clipping_2d_figure(original, by_value, by_norm, threshold: float) -> go.Figure:
    """Two panels, same arrows: the whole picture, and a zoom on the clipping box and circle.

    A 100-long gradient and its 1-long clipped versions cannot share one linear scale, so the
    right panel zooms on [-1.6 t, 1.6 t]^2, where the original arrow leaves the frame.
    Built from plain dicts in one call (no make_subplots): it is redrawn on every keystroke.
    original, by_value, by_norm: (2,).
    """
    original, by_value, by_norm = (np.asarray(v, dtype=float) for v in (original, by_value, by_norm))
    angle = np.linspace(0, 2 * np.pi, 121)
    box = [[-threshold, threshold, threshold, -threshold, -threshold],
           [-threshold, -threshold, threshold, threshold, -threshold]]
    traces = []
    for axes in ("", "2"):
        first = axes == ""
        traces += [
            dict(type="scatter", x=box[0], y=box[1], mode="lines", name="box [-t, t]² (clipvalue)",
                 legendgroup="box", showlegend=first, hoverinfo="skip", xaxis="x" + axes, yaxis="y" + axes,
                 line=dict(color=CLIP_COLORS["clipvalue"], width=1.5, dash="dot")),
            dict(type="scatter", x=threshold * np.cos(angle), y=threshold * np.sin(angle), mode="lines",
                 name="circle of radius t (clipnorm)", legendgroup="circle", showlegend=first, hoverinfo="skip",
                 xaxis="x" + axes, yaxis="y" + axes, line=dict(color=CLIP_COLORS["clipnorm"], width=1.5, dash="dot")),
            _arrow(original, "original gradient", CLIP_COLORS["original"], axes, show_legend=first),
            _arrow(by_value, "clipped by value", CLIP_COLORS["clipvalue"], axes, show_legend=first),
            _arrow(by_norm, "clipped by norm", CLIP_COLORS["clipnorm"], axes, dash="dash", show_legend=first),
        ]
    extent = 1.15 * max(float(np.abs(original).max()), threshold)
    zoom = 1.6 * threshold
    layout = dict(
        xaxis=dict(domain=[0, 0.46], range=[-extent, extent], zeroline=True),
        yaxis=dict(range=[-extent, extent], scaleanchor="x", scaleratio=1, zeroline=True),
        xaxis2=dict(domain=[0.54, 1], range=[-zoom, zoom], zeroline=True, anchor="y2"),
        yaxis2=dict(range=[-zoom, zoom], scaleanchor="x2", scaleratio=1, zeroline=True, anchor="x2"),
        annotations=[dict(text=text, x=x, y=1.0, xref="paper", yref="paper", xanchor="center", yanchor="bottom",
                          showarrow=False) for text, x in (("whole gradient", 0.23),
                                                           (f"zoom on the threshold t = {threshold:g}", 0.77))],
    )
    return styled(go.Figure(data=traces, layout=layout), height=560)


def angle_by_dimension_figure(dimensions, thresholds, by_value: np.ndarray, by_norm: np.ndarray) -> go.Figure:
    """Median direction change (10-90% band) against dimension, one line per threshold.

    by_value, by_norm: (n_dimensions, n_thresholds, n_samples) degrees.
    """
    figure = go.Figure()
    for j, threshold in enumerate(thresholds):
        figure.add_traces(quantile_band_traces(dimensions, by_value[:, j], f"clip by value, t = {threshold:g}",
                                               palette_color(j + 1)))
    figure.add_traces(quantile_band_traces(dimensions, by_norm.reshape(len(dimensions), -1),
                                           "clip by norm (every t)", CLIP_COLORS["clipnorm"]))
    figure.update_xaxes(type="log", title="dimension n of the gradient")
    figure.update_yaxes(title="turn of the gradient (°)", rangemode="tozero")
    return styled(figure, "Turn against dimension", height=500)


def angle_histogram_figure(by_value: np.ndarray, by_norm: np.ndarray, dimension: int, threshold: float) -> go.Figure:
    """Distribution of the direction change at one dimension and threshold. Inputs: (n_samples,) degrees."""
    largest = max(float(np.max(by_value)), float(np.max(by_norm)), 1.0)
    bins = dict(start=0.0, end=largest * 1.02, size=largest * 1.02 / 40)  # shared, so an all-zero trace shows
    figure = go.Figure([
        go.Histogram(x=by_value, name="clip by value", marker_color=CLIP_COLORS["clipvalue"], opacity=0.8, xbins=bins),
        go.Histogram(x=by_norm, name="clip by norm", marker_color=CLIP_COLORS["clipnorm"], opacity=0.8, xbins=bins),
    ])
    figure.update_layout(barmode="overlay")
    figure.update_xaxes(title="turn of the gradient (°)", rangemode="tozero")
    figure.update_yaxes(title="random gradients")
    return styled(figure, f"Turn at n = {dimension:,}, t = {threshold:g}", height=500)


def keras_clip_norms_figure(labels, norms: dict) -> go.Figure:
    """Grouped bars of L2 norms per variable (and all together). norms: name -> (n_labels,) values; the exact values
    are in the hover text (labels on narrow grouped bars collide; the page prints them in a table)."""
    figure = go.Figure()
    for name, values in norms.items():
        color = CLIP_COLORS.get(name, CLIP_COLORS["original"] if name == "original" else PALETTE[4])
        figure.add_trace(go.Bar(x=list(labels), y=list(values), name=name, marker_color=color,
                                hovertemplate=f"{name}, %{{x}}: %{{y:.4g}}<extra></extra>"))
    figure.update_yaxes(type="log", title="L2 norm (log scale)")
    figure.update_layout(barmode="group")
    return styled(figure, "Norms after one Keras step", height=460)


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over `window` steps along the last axis (NaN stays NaN)."""
    if window <= 1:
        return values
    cumulative = np.cumsum(np.nan_to_num(values, nan=0.0), axis=-1)
    shifted = np.concatenate([np.zeros(values.shape[:-1] + (window,)), cumulative[..., :-window]], axis=-1)
    counts = np.minimum(np.arange(1, values.shape[-1] + 1), window)
    smoothed = (cumulative - shifted[..., :values.shape[-1]]) / counts
    return np.where(np.isnan(values), np.nan, smoothed)


def clip_curves_figure(x, values: np.ndarray, variants, title: str, y_title: str, *, smooth: int = 1,
                       threshold: float | None = None, baseline: float | None = None) -> go.Figure:
    """Mean over seeds with a min-max band, one colour per variant, log y.

    x: (n_points,); values: (n_variants, n_seeds, n_points); NaN after a run diverged, so a band ends where its
    first seed blew up (the legend says how many did).
    """
    figure = go.Figure()
    for v, variant in enumerate(variants):
        curves = _smooth(np.where(np.isfinite(values[v]), values[v], np.nan), smooth)
        diverged = int(np.sum(~np.isfinite(values[v][:, -1])))
        name = CLIP_NAMES.get(variant, variant) + (f", {diverged} diverged" if diverged else "")
        figure.add_traces(band_traces(x, curves, name, CLIP_COLORS.get(variant, palette_color(v))))
    if threshold is not None:
        reference_line(figure, y=threshold, name=f"threshold {threshold:g}")
    if baseline is not None:
        reference_line(figure, y=baseline, name=f"predict the mean: {baseline:.3f}", dash="dot")
    figure.update_yaxes(type="log", title=y_title)
    figure.update_xaxes(title="optimizer step")
    return styled(figure, title, height=460)


def clip_per_seed_figure(values: np.ndarray, variants, title: str, y_title: str, *, log: bool = False,
                         baseline: float | None = None) -> go.Figure:
    """One dot per seed and a bar for the mean, per variant. values: (n_variants, n_seeds); inf = diverged, counted
    under the variant's name and marked by a cross above its dots."""
    figure = go.Figure()
    finite_max = np.nanmax(np.where(np.isfinite(values), values, np.nan)) if np.isfinite(values).any() else 1.0
    for v, variant in enumerate(variants):
        row = values[v]
        finite = np.isfinite(row)
        color, name = CLIP_COLORS.get(variant, palette_color(v)), CLIP_NAMES.get(variant, variant)
        if (~finite).any():
            name += f"<br>{int((~finite).sum())} diverged"
        if finite.any():  # the mean: a bar on a linear axis, a wide dash on a log axis (bars need a zero)
            mean = float(np.mean(row[finite]))
            figure.add_trace(go.Bar(x=[name], y=[mean], marker_color=color, opacity=0.35, showlegend=False,
                                    hovertemplate=f"{name}: mean %{{y:.4g}}<extra></extra>") if not log else
                             go.Scatter(x=[name], y=[mean], mode="markers", showlegend=False,
                                        marker=dict(symbol="line-ew", size=44, line=dict(width=4, color=color)),
                                        hovertemplate=f"{name}: mean of finite runs %{{y:.4g}}<extra></extra>"))
            figure.add_trace(go.Scatter(x=[name] * int(finite.sum()), y=row[finite], mode="markers",
                                        marker=dict(color=color, size=11, line=dict(color="white", width=1)),
                                        showlegend=False, hovertemplate="seed value %{y:.4g}<extra></extra>"))
        if (~finite).any():
            figure.add_trace(go.Scatter(x=[name], y=[finite_max * (2.0 if log else 1.1)], mode="markers",
                                        marker=dict(symbol="x", size=14, color=color), showlegend=False,
                                        hovertemplate=f"{int((~finite).sum())} diverged<extra></extra>"))
    if baseline is not None:
        reference_line(figure, y=baseline, name=f"predict the mean: {baseline:.3f}", dash="dot")
    figure.update_yaxes(type="log" if log else "linear", title=y_title)
    return styled(figure, title, height=400)
