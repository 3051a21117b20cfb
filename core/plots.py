"""Plotly figure builders: plain data in, `go.Figure` out (no Streamlit, no Keras).

Sections per page below; shared styling first so every page looks alike on a projector.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from core import book

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


# ---- clipping page ----

CLIP_COLORS = {"original": "#000000", "clipvalue": PALETTE[1], "clipnorm": PALETTE[0],
               "global_clipnorm": PALETTE[2], "none": PALETTE[3], "book": PALETTE[4]}
def _legend_below(figure: go.Figure) -> go.Figure:
    """Long titles and several variants: the legend goes under the plot so it never covers the title."""
    figure.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0),
                         margin=dict(b=110))
    return figure


CLIP_NAMES = {"none": "no clipping", "clipvalue": "clipvalue", "clipnorm": "clipnorm",
              "global_clipnorm": "global_clipnorm"}


def _arrow(vector, name: str, color: str, axes: str, dash: str = "solid", show_legend: bool = True) -> dict:
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
    return _legend_below(styled(go.Figure(data=traces, layout=layout), height=560))


def _quantile_band(x, values: np.ndarray, name: str, color: str, low_q=0.1, high_q=0.9) -> list[go.Scatter]:
    """Median line with a shaded low-high quantile band. values: (n_points, n_samples)."""
    median = np.median(values, axis=1)
    low, high = np.quantile(values, low_q, axis=1), np.quantile(values, high_q, axis=1)
    x = list(x)
    return [
        go.Scatter(x=x + x[::-1], y=list(high) + list(low[::-1]), fill="toself", fillcolor=color, opacity=0.2,
                   mode="lines", line=dict(width=0), hoverinfo="skip", showlegend=False, legendgroup=name),
        go.Scatter(x=x, y=median, name=name, legendgroup=name, mode="lines+markers",
                   line=dict(color=color, width=3)),
    ]


def angle_by_dimension_figure(dimensions, thresholds, by_value: np.ndarray, by_norm: np.ndarray) -> go.Figure:
    """Median direction change (10-90% band) against dimension, one line per threshold.

    by_value, by_norm: (n_dimensions, n_thresholds, n_samples) degrees.
    """
    figure = go.Figure()
    for j, threshold in enumerate(thresholds):
        figure.add_traces(_quantile_band(dimensions, by_value[:, j], f"clip by value, t = {threshold:g}",
                                         PALETTE[(j + 1) % len(PALETTE)]))
    figure.add_traces(_quantile_band(dimensions, by_norm.reshape(len(dimensions), -1),
                                     "clip by norm (every t)", CLIP_COLORS["clipnorm"]))
    figure.update_xaxes(type="log", title="dimension n of the gradient")
    figure.update_yaxes(title="angle between gradient and clipped gradient (°)", rangemode="tozero")
    return _legend_below(styled(figure, "Direction change: median and 10-90% of random gradients", height=500))


def angle_histogram_figure(by_value: np.ndarray, by_norm: np.ndarray, dimension: int, threshold: float) -> go.Figure:
    """Distribution of the direction change at one dimension and threshold. Inputs: (n_samples,) degrees."""
    largest = max(float(np.max(by_value)), float(np.max(by_norm)), 1.0)
    bins = dict(start=0.0, end=largest * 1.02, size=largest * 1.02 / 40)  # shared, so an all-zero trace shows
    figure = go.Figure([
        go.Histogram(x=by_value, name="clip by value", marker_color=CLIP_COLORS["clipvalue"], opacity=0.8, xbins=bins),
        go.Histogram(x=by_norm, name="clip by norm", marker_color=CLIP_COLORS["clipnorm"], opacity=0.8, xbins=bins),
    ])
    figure.update_layout(barmode="overlay")
    figure.update_xaxes(title="angle change (°)", rangemode="tozero")
    figure.update_yaxes(title="random gradients")
    return _legend_below(styled(figure, f"n = {dimension:,}, t = {threshold:g}: {len(by_value)} random gradients",
                                height=500))


def keras_clip_norms_figure(labels, norms: dict) -> go.Figure:
    """Grouped bars of L2 norms per variable (and all together). norms: name -> (n_labels,) values."""
    figure = go.Figure()
    for name, values in norms.items():
        color = CLIP_COLORS.get(name, CLIP_COLORS["original"] if name == "original" else PALETTE[4])
        figure.add_trace(go.Bar(x=list(labels), y=list(values), name=name, marker_color=color,
                                text=[f"{value:.4g}" for value in values], textposition="outside"))
    figure.update_yaxes(type="log", title="L2 norm (log scale)")
    figure.update_layout(barmode="group")
    return _legend_below(styled(figure, "Norms after one real Keras SGD step", height=460))


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over `window` steps along the last axis (NaN stays NaN)."""
    if window <= 1:
        return values
    cumulative = np.cumsum(np.nan_to_num(values, nan=0.0), axis=-1)
    shifted = np.concatenate([np.zeros(values.shape[:-1] + (window,)), cumulative[..., :-window]], axis=-1)
    counts = np.minimum(np.arange(1, values.shape[-1] + 1), window)
    smoothed = (cumulative - shifted[..., :values.shape[-1]]) / counts
    return np.where(np.isnan(values), np.nan, smoothed)


def clip_curves_figure(x, values: np.ndarray, variants, title: str, y_title: str, smooth: int = 1,
                       threshold: float | None = None, baseline: float | None = None) -> go.Figure:
    """Mean over seeds with a min-max band, one colour per variant, log y.

    values: (n_variants, n_seeds, n_points); NaN after a run diverged, so a band ends where its
    first seed blew up (the legend says how many did).
    """
    figure = go.Figure()
    for v, variant in enumerate(variants):
        curves = _smooth(np.where(np.isfinite(values[v]), values[v], np.nan), smooth)
        diverged = int(np.sum(~np.isfinite(values[v][:, -1])))
        name = CLIP_NAMES.get(variant, variant) + (f", {diverged} diverged" if diverged else "")
        figure.add_traces(band_traces(x, curves, name, CLIP_COLORS.get(variant, PALETTE[v % len(PALETTE)])))
    if threshold is not None:
        figure.add_hline(y=threshold, line=dict(color="grey", dash="dash"), annotation_text=f"threshold {threshold:g}")
    if baseline is not None:
        figure.add_hline(y=baseline, line=dict(color="grey", dash="dot"),
                         annotation_text=f"predict the mean: {baseline:.3f}")
    figure.update_yaxes(type="log", title=y_title)
    figure.update_xaxes(title="optimizer step")
    return _legend_below(styled(figure, title, height=460))


def clip_per_seed_figure(values: np.ndarray, variants, title: str, y_title: str, log: bool = False,
                         baseline: float | None = None) -> go.Figure:
    """One dot per seed and a bar for the mean, per variant. values: (n_variants, n_seeds); inf = diverged."""
    figure = go.Figure()
    finite_max = np.nanmax(np.where(np.isfinite(values), values, np.nan)) if np.isfinite(values).any() else 1.0
    for v, variant in enumerate(variants):
        color, name = CLIP_COLORS.get(variant, PALETTE[v % len(PALETTE)]), CLIP_NAMES.get(variant, variant)
        row = values[v]
        finite = np.isfinite(row)
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
            figure.add_trace(go.Scatter(x=[name], y=[finite_max * (2.0 if log else 1.1)], mode="markers+text",
                                        marker=dict(symbol="x", size=14, color=color), showlegend=False,
                                        text=[f"{int((~finite).sum())} diverged"], textposition="top center",
                                        hoverinfo="skip"))
    if baseline is not None:
        figure.add_hline(y=baseline, line=dict(color="grey", dash="dot"),
                         annotation_text=f"predict the mean: {baseline:.3f}")
    figure.update_yaxes(type="log" if log else "linear", title=y_title)
    return styled(figure, title, height=400)

# ---- Batch Normalization page ----

def bn_moving_stats_figure(trajectories: dict, true_mean: np.ndarray, true_variance: np.ndarray,
                           highlight: str | None = None) -> go.Figure:
    """Moving mean (top) and moving variance (bottom) per momentum against the population truth.

    trajectories: label -> (moving_mean (n_steps,), moving_variance (n_steps,)); true_*: (n_steps,).
    Two stacked y axes on one shared x axis, laid out by hand (make_subplots costs a rerun ~50 ms).
    """
    steps = np.arange(1, len(true_mean) + 1)
    traces = []
    for index, (label, (mean, variance)) in enumerate(trajectories.items()):
        line = dict(color=PALETTE[index % len(PALETTE)], width=4 if label == highlight else 2)
        traces.append(go.Scatter(x=steps, y=mean, name=label, legendgroup=label, line=line))
        traces.append(go.Scatter(x=steps, y=variance, name=label, legendgroup=label, showlegend=False, line=line,
                                 yaxis="y2"))
    truth = dict(color=PALETTE[7], dash="dash", width=2)
    traces.append(go.Scatter(x=steps, y=true_mean, name="population", legendgroup="population", line=truth))
    traces.append(go.Scatter(x=steps, y=true_variance, name="population", legendgroup="population",
                             showlegend=False, line=truth, yaxis="y2"))
    figure = go.Figure(traces, layout=dict(
        xaxis=dict(anchor="y2", title="training step (batches seen)"),
        yaxis=dict(domain=[0.55, 1.0], title="moving mean"),
        yaxis2=dict(domain=[0.0, 0.45], title="moving variance")))
    return styled(figure, height=560)


def bn_error_heatmap(errors: np.ndarray, momenta, batch_sizes, highlight=None) -> go.Figure:
    """Final inference-output error per (momentum row, batch size column), log colour, best cell per column marked."""
    errors = np.asarray(errors, dtype=float)
    rows = [f"{m:g}" for m in momenta]
    columns = [str(b) for b in batch_sizes]
    figure = go.Figure(go.Heatmap(
        z=np.log10(np.maximum(errors, 1e-6)), x=columns, y=rows, text=np.vectorize(lambda v: f"{v:.2g}")(errors),
        texttemplate="%{text}", colorscale="Viridis", reversescale=True, zmin=-2, zmax=1,
        colorbar=dict(title="error", tickvals=[-2, -1, 0, 1], ticktext=["0.01", "0.1", "1", "10"]),
        hovertemplate="momentum %{y}, batch %{x}: error %{text}<extra></extra>"))
    best = errors.argmin(axis=0)
    figure.add_trace(go.Scatter(x=columns, y=[rows[i] for i in best], mode="markers", name="best momentum",
                                marker=dict(symbol="star", size=16, color="white", line=dict(color="black", width=1))))
    if highlight is not None:
        figure.add_trace(go.Scatter(x=[str(highlight[1])], y=[f"{highlight[0]:g}"], mode="markers",
                                    name="your setting", marker=dict(symbol="square-open", size=34,
                                                                     color=PALETTE[3], line=dict(width=3))))
    figure.update_xaxes(title_text="batch size", type="category")
    figure.update_yaxes(title_text="momentum", type="category")
    return styled(figure, height=440)


def bn_group_map_figure(groups: np.ndarray, title: str = "") -> go.Figure:
    """Pixels of one image coloured by the statistic they share (one palette colour per group, at random)."""
    groups = np.asarray(groups)
    n_colors = len(PALETTE) - 1  # black left out
    # Greedy colouring: each group gets the first palette colour (in a fixed shuffled order) that no
    # already-coloured neighbouring group has, so adjacent groups never look merged. (Group id modulo 7
    # would paint the 784 per-pixel groups as 7 vertical stripes, since 28 is a multiple of 7.)
    colors = np.full(int(groups.max()) + 1, -1)
    order = np.random.default_rng(7).permutation(n_colors)
    rows, cols = groups.shape
    for r in range(rows):
        for c in range(cols):
            group = groups[r, c]
            if colors[group] >= 0:
                continue
            taken = {colors[groups[rr, cc]] for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1))
                     if 0 <= rr < rows and 0 <= cc < cols}
            colors[group] = next(k for k in order if k not in taken)
    colorscale = [[k / (n_colors - 1), PALETTE[k]] for k in range(n_colors)]
    figure = go.Figure(go.Heatmap(z=colors[groups], customdata=groups, colorscale=colorscale,
                                  zmin=0, zmax=n_colors - 1, showscale=False,
                                  hovertemplate="row %{y}, column %{x}: group %{customdata}<extra></extra>"))
    figure.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False)
    figure.update_xaxes(showticklabels=False)
    return styled(figure, title=title, height=360)


def bn_image_row(images, titles, zmid: float | None = None, height: int = 260) -> go.Figure:
    """A row of equally sized 2-D arrays as grey (or, with zmid, diverging) images under their titles.

    Drawn as one heatmap of the images side by side (NaN gaps between them): one trace instead of
    one subplot per image keeps a rerun fast.
    """
    images = [np.asarray(image, dtype=float) for image in images]
    rows, columns = images[0].shape
    gap = np.full((rows, 3), np.nan)
    strip = np.concatenate([part for image in images for part in (image, gap)][:-1], axis=1)
    if zmid is None:
        trace = go.Heatmap(z=strip, colorscale="Greys", reversescale=True, showscale=False, hoverongaps=False)
    else:
        bound = float(np.nanmax(np.abs(strip - zmid))) or 1.0
        trace = go.Heatmap(z=strip, colorscale="RdBu", zmid=zmid, zmin=zmid - bound, zmax=zmid + bound,
                           hoverongaps=False)
    figure = go.Figure(trace)
    for index, title in enumerate(titles):
        figure.add_annotation(x=index * (columns + 3) + (columns - 1) / 2, y=-1, text=title, showarrow=False,
                              yanchor="bottom")
    figure.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False, showgrid=False, zeroline=False)
    figure.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    return styled(figure, height=height)


def bn_gap_figure(gap: np.ndarray, floor: float, window: float) -> go.Figure:
    """RMS difference between training and inference outputs on one batch, after each training step.

    Reference lines are plain traces (add_hline / add_vline cost tens of ms per rerun).
    """
    steps = np.arange(1, len(gap) + 1)
    traces = [go.Scatter(x=steps, y=gap, name="training vs inference output", line=dict(color=PALETTE[0], width=3)),
              go.Scatter(x=[1, len(gap)], y=[floor, floor], mode="lines", line=dict(color=PALETTE[7], dash="dash"),
                         name="floor: same gap with exact population statistics")]
    if window <= len(gap):
        traces.append(go.Scatter(x=[window, window], y=[max(float(np.min(gap)), 1e-4), float(np.max(gap))],
                                 mode="lines", line=dict(color=PALETTE[1], dash="dot"),
                                 name="1 / (1 - momentum) steps"))
    figure = go.Figure(traces, layout=dict(xaxis=dict(title="training step"),
                                           yaxis=dict(title="RMS difference", type="log")))
    return styled(figure, height=380)


def bn_tiny_batch_figure(batch_sizes, variance_ratio, expected_ratio, inference_std) -> go.Figure:
    """Left: settled moving variance / population variance vs (n-1)/n. Right: std of inference outputs."""
    labels = [str(b) for b in batch_sizes]
    traces = [go.Bar(x=labels, y=variance_ratio, name="moving variance / true variance", marker_color=PALETTE[0]),
              go.Scatter(x=labels, y=expected_ratio, name="(n - 1) / n", mode="lines+markers",
                         line=dict(color=PALETTE[3], dash="dash")),
              go.Bar(x=labels, y=inference_std, name="std of inference outputs (ideal 1)", marker_color=PALETTE[1],
                     xaxis="x2", yaxis="y2")]
    figure = go.Figure(traces, layout=dict(
        xaxis=dict(domain=[0.0, 0.45], type="category", title="batch size"),
        xaxis2=dict(domain=[0.55, 1.0], type="category", title="batch size", anchor="y2"),
        yaxis=dict(title="variance ratio"), yaxis2=dict(type="log", anchor="x2", title="output std")))
    return styled(figure, height=380)


# ---- BN in training ----

def _bn_color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def gradient_norms_figure(norms: dict) -> go.Figure:
    """Per-layer gradient norm at initialisation. norms: {variant name: (n_seeds, n_dense_layers)}, input first."""
    figure = go.Figure()
    for index, (name, values) in enumerate(norms.items()):
        values = np.asarray(values, dtype=float)
        layers = list(range(1, values.shape[1] + 1))
        for trace in band_traces(layers, values, name, _bn_color(index)):
            figure.add_trace(trace)
    figure.update_yaxes(type="log", title="‖∂loss/∂kernel‖ (log scale)", exponentformat="power")
    figure.update_xaxes(title="Dense layer (1 = next to the input; last = output layer)", dtick=1)
    return styled(figure, "Gradient norm per layer at the first step")


def accuracy_curves_figure(curves: dict, x_title: str = "epoch", title: str = "Validation accuracy") -> go.Figure:
    """Accuracy curves with a band over seeds. curves: {name: (x values, (n_seeds, n_points) accuracy)}."""
    figure = go.Figure()
    for index, (name, (x, values)) in enumerate(curves.items()):
        for trace in band_traces(x, values, name, _bn_color(index)):
            figure.add_trace(trace)
    figure.update_yaxes(title="validation accuracy", range=[0, 1])
    figure.update_xaxes(title=x_title)
    return styled(figure, title)


def lr_sweep_figure(learning_rates, initializers, final_accuracy: dict) -> go.Figure:
    """Final validation accuracy against the learning rate (log x), one line per (BN, initialiser).

    final_accuracy: {variant: (n_initializers, n_learning_rates, n_seeds)}; colour = initialiser, dash = variant.
    """
    figure = go.Figure()
    dashes = ("dot", "solid", "dash")
    for variant_index, (variant, table) in enumerate(final_accuracy.items()):
        for index, initializer in enumerate(initializers):
            values = np.asarray(table[index], dtype=float).T  # (n_seeds, n_learning_rates)
            traces = band_traces(learning_rates, values, f"{variant}, {initializer}", _bn_color(index))
            traces[1].update(line=dict(color=_bn_color(index), width=3, dash=dashes[variant_index % 3]),
                             mode="lines+markers")
            for trace in traces:
                figure.add_trace(trace)
    figure.add_hline(y=0.1, line=dict(color="grey", dash="dot"), annotation_text="chance (10 classes)")
    figure.update_xaxes(type="log", title="SGD learning rate (log scale)")
    figure.update_yaxes(title="final validation accuracy", range=[0, 1])
    return styled(figure, "Which learning rates still train?", height=480)


def epoch_seconds_figure(epoch_seconds: dict) -> go.Figure:
    """Distribution of per-epoch wall-clock time. epoch_seconds: {name: (n_seeds, n_epochs) seconds}."""
    figure = go.Figure()
    for index, (name, values) in enumerate(epoch_seconds.items()):
        figure.add_trace(go.Box(y=np.asarray(values, dtype=float).ravel(), name=name, boxpoints="all",
                                marker_color=_bn_color(index)))
    figure.update_yaxes(title="seconds per epoch", rangemode="tozero")
    return styled(figure, "Time per epoch (measured)", height=360)


def latency_figure(batch_sizes, milliseconds: dict, reference: str) -> go.Figure:
    """Median inference time per call, as a ratio to `reference`, grouped by batch size.

    milliseconds: {variant: (n_batch_sizes, repeats)}. Bar text gives the median in ms.
    """
    medians = {name: np.median(np.asarray(values, dtype=float), axis=1) for name, values in milliseconds.items()}
    labels = [f"batch {size}" for size in batch_sizes]
    figure = go.Figure()
    for index, (name, median) in enumerate(medians.items()):
        ratio = median / medians[reference]
        figure.add_trace(go.Bar(x=labels, y=ratio, name=name, marker_color=_bn_color(index),
                                text=[f"{ms:.2f} ms" for ms in median], textposition="outside"))
    figure.add_hline(y=1.0, line=dict(color="grey", dash="dot"))
    figure.update_yaxes(title=f"time / time of {reference}", rangemode="tozero")
    figure.update_layout(barmode="group")
    return styled(figure, "Prediction time per batch, relative to the model without BN", height=440)


# ---- transfer ----

BOOK_ERROR_RATIO = book.ERROR_RATIO  # the book's 56 -> 15 errors (3.73), "a factor of 4" in its text


def transfer_learning_curves(a_val_accuracy, scratch_val_accuracy, transfer_val_accuracy,
                             frozen_epochs: int) -> go.Figure:
    """Validation accuracy per epoch of model A (task A; None to leave it out), B from scratch and B on A
    (task B); each (n_epochs,)."""
    figure = go.Figure()
    for values, name, color in ((a_val_accuracy, "model A (task A)", PALETTE[2]),
                                (scratch_val_accuracy, "B from scratch", PALETTE[0]),
                                (transfer_val_accuracy, "B on A", PALETTE[1])):
        if values is None:
            continue
        values = np.asarray(values, dtype=float)
        figure.add_trace(go.Scatter(x=np.arange(1, len(values) + 1), y=values, name=name, mode="lines+markers",
                                    line=dict(color=color, width=3)))
    if frozen_epochs > 0:
        figure.add_vline(x=frozen_epochs + 0.5, line_dash="dot", line_color="gray",
                         annotation_text="B on A: unfreeze", annotation_position="bottom right")
    figure.update_xaxes(title="epoch")
    figure.update_yaxes(title="validation accuracy", tickformat=".0%")
    return styled(figure, "Learning curves of the single run").update_layout(margin=dict(t=90))


def paired_seeds(seeds, scratch_accuracy, transfer_accuracy) -> go.Figure:
    """Each seed's B from scratch and B on A test accuracy joined by a line; seeds, accuracies (n_seeds,)."""
    scratch, transfer = 100 * np.asarray(scratch_accuracy, float), 100 * np.asarray(transfer_accuracy, float)
    figure = go.Figure()
    for name, color, chosen in (("B on A better", PALETTE[2], transfer > scratch),
                                ("tie", PALETTE[7], transfer == scratch),
                                ("B on A worse", PALETTE[3], transfer < scratch)):
        x, y, text = [], [], []
        for seed, low, high in zip(np.asarray(seeds)[chosen], scratch[chosen], transfer[chosen]):
            x += ["B from scratch", "B on A", None]
            y += [low, high, None]
            text += [f"seed {seed}"] * 2 + [None]
        if x:
            figure.add_trace(go.Scatter(x=x, y=y, text=text, mode="lines+markers", name=name, opacity=0.7,
                                        line=dict(color=color, width=1.5), hovertemplate="%{text}: %{y:.2f}%"))
    for label, values in (("B from scratch", scratch), ("B on A", transfer)):
        figure.add_trace(go.Scatter(x=[label], y=[values.mean()], mode="markers", name="mean" if label == "B on A"
                                    else None, showlegend=label == "B on A", legendgroup="mean",
                                    marker=dict(color="black", size=16, symbol="diamond"),
                                    hovertemplate="mean: %{y:.2f}%"))
    figure.update_yaxes(title="test accuracy (%)")
    figure = styled(figure, f"Paired by seed ({len(scratch)} seeds)", height=460)
    return figure.update_layout(legend=dict(y=-0.12, yanchor="top"), margin=dict(b=90))  # legend under the axes


def paired_difference_histogram(differences, mean: float, low: float, high: float,
                                book_gain: float) -> go.Figure:
    """Histogram of per-seed differences (points, (n_seeds,)), the mean with its CI, the book's gain marked."""
    values = np.asarray(differences, float)
    figure = go.Figure(go.Histogram(x=values, name="seeds", marker_color=PALETTE[0], opacity=0.8,
                                    nbinsx=max(10, len(values) // 2)))
    figure.add_vrect(x0=low, x1=high, fillcolor=PALETTE[0], opacity=0.15, line_width=0,
                     annotation_text="95% CI of the mean", annotation_position="bottom left")
    figure.add_vline(x=mean, line_color=PALETTE[0], line_width=3)
    figure.add_vline(x=0, line_color="gray", line_dash="dot")
    figure.add_vline(x=book_gain, line_color=PALETTE[3], line_width=3, line_dash="dash",
                     annotation_text=f"the book: {book_gain:+.2f}", annotation_position="top right")
    figure.update_xaxes(title="B on A minus B from scratch (accuracy points)")
    figure.update_yaxes(title="seeds")
    return styled(figure, "Paired differences")


def error_ratio_histogram(per_seed_ratio, ratio: float, low: float, high: float) -> go.Figure:
    """Per-seed error-rate ratios scratch / B on A ((n_seeds,), add-half smoothed), the pooled ratio and its CI
    (drawn only when bounded: 0 < low, high < inf)."""
    values = np.asarray(per_seed_ratio, float)
    figure = go.Figure(go.Histogram(x=np.log2(values), name="seeds", marker_color=PALETTE[4], opacity=0.8,
                                    nbinsx=max(10, len(values) // 2), hovertemplate="log2 ratio %{x}<br>%{y} seeds"))
    if 0 < low and np.isfinite(high):
        figure.add_vrect(x0=np.log2(low), x1=np.log2(high), fillcolor=PALETTE[4], opacity=0.15, line_width=0,
                         annotation_text="95% CI", annotation_position="bottom left")
    figure.add_vline(x=np.log2(ratio), line_color=PALETTE[4], line_width=3)
    figure.add_vline(x=0, line_color="gray", line_dash="dot")
    figure.add_vline(x=np.log2(BOOK_ERROR_RATIO), line_color=PALETTE[3], line_dash="dash", line_width=3,
                     annotation_text=f"the book: x{BOOK_ERROR_RATIO:.2f}", annotation_position="top right")
    ticks = np.array([1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8, 16])
    figure.update_xaxes(title="errors of B from scratch / errors of B on A (log scale)", tickvals=np.log2(ticks),
                        ticktext=[f"{t:g}" if t >= 1 else f"1/{1 / t:g}" for t in ticks])
    figure.update_yaxes(title="seeds")
    return styled(figure, "Error-rate ratio (the book's \"factor of 4\")")


def best_of_k_band(ks, quantiles, levels, target: float, k_for_target) -> go.Figure:
    """Best gain after k tries: median line, 25-75% and 5-95% bands; quantiles (n_k, n_levels) for `levels`."""
    ks, quantiles, levels = np.asarray(ks), np.asarray(quantiles, float), list(levels)
    column = {level: quantiles[:, index] for index, level in enumerate(levels)}
    figure = go.Figure()
    for (low, high), opacity in (((0.05, 0.95), 0.15), ((0.25, 0.75), 0.3)):
        if low in column and high in column:
            figure.add_trace(go.Scatter(x=np.r_[ks, ks[::-1]], y=np.r_[column[high], column[low][::-1]],
                                        fill="toself", fillcolor=PALETTE[0], opacity=opacity, line=dict(width=0),
                                        name=f"{low:.0%}-{high:.0%} of shoppers", hoverinfo="skip"))
    if 0.5 in column:
        figure.add_trace(go.Scatter(x=ks, y=column[0.5], name="median best gain", line=dict(color=PALETTE[0], width=3)))
    figure.add_hline(y=target, line_color=PALETTE[3], line_dash="dash", line_width=3,
                     annotation_text=f"the book: {target:+.2f}", annotation_position="top left")
    if k_for_target is not None:
        figure.add_vline(x=k_for_target, line_color=PALETTE[3], line_dash="dot",
                         annotation_text=f"k = {k_for_target}", annotation_position="bottom right")
    figure.update_xaxes(title="configurations tried, best one kept (k)")
    figure.update_yaxes(title="best gain reported (points)")
    return styled(figure, "Seed shopping: the best of k runs").update_layout(margin=dict(t=90))


def pair_heatmap(pairs, mean_gain, low, high, n_seeds, class_names) -> go.Figure:
    """Mean gain (points) per task-B pair, CI on hover; pairs (n_pairs, 2), the others (n_pairs,); NaN = not run."""
    size = len(class_names)
    grid = np.full((size, size), np.nan)
    hover = np.full((size, size), "", dtype=object)
    for (i, j), mean, lo, hi, n in zip(pairs, mean_gain, low, high, n_seeds):
        text = (f"{class_names[j]} vs {class_names[i]}<br>" +
                (f"mean gain {mean:+.2f} points<br>95% CI {lo:+.2f} to {hi:+.2f}<br>{n} seeds"
                 if np.isfinite(mean) else f"not computed ({n} seeds stored)"))
        for row, col in ((i, j), (j, i)):
            grid[row, col], hover[row, col] = mean, text
    limit = max(1.0, float(np.nanmax(np.abs(grid)))) if np.isfinite(grid).any() else 1.0
    figure = go.Figure(go.Heatmap(z=grid, x=list(class_names), y=list(class_names), text=hover,
                                  hovertemplate="%{text}<extra></extra>", colorscale="RdBu", zmid=0,
                                  zmin=-limit, zmax=limit, colorbar=dict(title="gain")))
    figure.update_yaxes(autorange="reversed")
    return styled(figure, "Mean gain of B on A per task-B pair", height=560)
