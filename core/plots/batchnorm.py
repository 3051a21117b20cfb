"""Figures of the Batch Normalization page: moving statistics, momentum x batch grid, axis groups, the gap."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from core.plots.style import PALETTE, palette_color, styled


def bn_moving_stats_figure(trajectories: dict, true_mean: np.ndarray, true_variance: np.ndarray,
                           *, highlight: str | None = None) -> go.Figure:
    """Moving mean (top) and moving variance (bottom) per momentum against the population truth.

    trajectories: label -> (moving_mean (n_steps,), moving_variance (n_steps,)); true_*: (n_steps,).
    Two stacked y axes on one shared x axis, laid out by hand (make_subplots costs a rerun ~50 ms).
    """
    steps = np.arange(1, len(true_mean) + 1)
    traces = []
    for index, (label, (mean, variance)) in enumerate(trajectories.items()):
        line = dict(color=palette_color(index), width=4 if label == highlight else 2)
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
    """Final inference-output error per (momentum row, batch size column), log colour; the best momentum of each
    column is starred in its own label (a marker would cover the number), the page's setting outlined.

    errors: (n_momenta, n_batch_sizes); highlight: (momentum, batch size) of the page's setting, or None.
    """
    errors = np.asarray(errors, dtype=float)
    rows = [f"{m:g}" for m in momenta]
    columns = [str(b) for b in batch_sizes]
    values = np.vectorize(lambda v: f"{v:.2g}")(errors)
    best = errors.argmin(axis=0)
    labels = values.astype(object)
    labels[best, np.arange(len(columns))] = ["★ " + label for label in values[best, np.arange(len(columns))]]
    figure = go.Figure(go.Heatmap(
        z=np.log10(np.maximum(errors, 1e-6)), x=columns, y=rows, text=labels, customdata=values,
        texttemplate="%{text}", colorscale="Viridis", reversescale=True, zmin=-2, zmax=1,
        colorbar=dict(title=dict(text="error", side="right"), tickvals=[-2, -1, 0, 1],
                      ticktext=["0.01", "0.1", "1", "10"]),
        hovertemplate="momentum %{y}, batch %{x}: error %{customdata}<extra></extra>"))
    figure.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="best momentum for the batch size",
                                marker=dict(symbol="star", size=14, color="black"), hoverinfo="skip"))
    if highlight is not None:  # the whole cell outlined: category axes place cell k at k - 0.5 .. k + 0.5
        column, row = columns.index(str(highlight[1])), rows.index(f"{highlight[0]:g}")
        outline = dict(color=PALETTE[3], width=4)
        figure.add_shape(type="rect", x0=column - 0.5, x1=column + 0.5, y0=row - 0.5, y1=row + 0.5, line=outline)
        figure.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="your setting", hoverinfo="skip",
                                    marker=dict(symbol="square-open", size=16, color=PALETTE[3], line=dict(width=3))))
    figure.update_xaxes(title_text="batch size", type="category")
    figure.update_yaxes(title_text="momentum", type="category")
    return styled(figure, height=440)


def bn_group_map_figure(groups: np.ndarray, title: str = "") -> go.Figure:
    """Pixels of one image coloured by the statistic they share (one palette colour per group, at random).

    groups: (rows, columns) integer group id per pixel.
    """
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


def bn_image_row(images, titles, *, zmid: float | None = None, height: int = 260) -> go.Figure:
    """A row of equally sized images, each (rows, columns), as grey (or, with zmid, diverging) pictures under their
    titles (one per image).

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
    for index, title in enumerate(titles):  # standing on the images' top edge (constrain="domain" puts it there)
        figure.add_annotation(x=index * (columns + 3) + (columns - 1) / 2, xref="x", y=1, yref="y domain", text=title,
                              showarrow=False, yanchor="bottom")
    figure.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain", showticklabels=False,
                        showgrid=False, zeroline=False)
    figure.update_xaxes(constrain="domain", showticklabels=False, showgrid=False, zeroline=False)
    return styled(figure, height=height)


def bn_gap_figure(gap: np.ndarray, floor: float, window: float) -> go.Figure:
    """RMS difference between training and inference outputs on one batch, after each training step.

    gap: (n_steps,); floor: the same gap with exact population statistics; window: 1 / (1 - momentum) steps.

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
    """Left: settled moving variance / population variance vs (n-1)/n. Right: std of inference outputs.

    Every argument: (n_batch_sizes,).
    """
    labels = [str(b) for b in batch_sizes]
    traces = [go.Bar(x=labels, y=variance_ratio, name="moving variance / true variance", marker_color=PALETTE[0]),
              go.Scatter(x=labels, y=expected_ratio, name="(n - 1) / n", mode="lines+markers",
                         line=dict(color=PALETTE[3], dash="dash")),
              go.Bar(x=labels, y=inference_std, name="std of inference outputs (ideal 1)", marker_color=PALETTE[1],
                     xaxis="x2", yaxis="y2")]
    figure = go.Figure(traces, layout=dict(
        xaxis=dict(domain=[0.0, 0.4], type="category", title="batch size"),  # the gap holds y2's labels
        xaxis2=dict(domain=[0.6, 1.0], type="category", title="batch size", anchor="y2"),
        yaxis=dict(title="variance ratio"), yaxis2=dict(type="log", anchor="x2", title="output std")))
    return styled(figure, height=380)
