"""Figures of the reuse explorer (transfer page): the gain over (reused, unfrozen) layers per training size, the
best cell against the training size, and B from scratch at each rate of its search against tuned."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.plots.style import PALETTE, styled


def gain_heatmaps(sizes, mean, low, high, n_seeds: int, best, rate_label: str) -> go.Figure:
    """One heatmap per training size of the mean test-accuracy gain over B from scratch (points), rows r = reused
    layers, columns u = unfrozen layers; the 95% CI on hover; the best cell on validation marked.

    sizes: (n_sizes,); mean, low, high: (n_sizes, n_hidden, n_hidden + 1), NaN where u > r; best: (n_sizes, 2)
    the (r, u) chosen on validation accuracy, None for a size whose best cell is at another rate (or None).
    """
    mean, low, high = (np.asarray(values, float) for values in (mean, low, high))
    n_hidden = mean.shape[1]
    figure = make_subplots(rows=1, cols=len(sizes), subplot_titles=[f"n = {size:,}" for size in sizes],
                           horizontal_spacing=0.04, shared_yaxes=True)
    finite = np.abs(mean[np.isfinite(mean)])
    limit = max(1.0, float(finite.max())) if finite.size else 1.0
    rows, columns = np.arange(1, n_hidden + 1), np.arange(n_hidden + 1)
    starred = False  # the legend names the star once, at the first size that has one
    for index, size in enumerate(sizes):
        hover = np.full(mean[index].shape, "", dtype=object)
        for r in rows:
            for u in columns:
                if np.isfinite(mean[index, r - 1, u]):
                    hover[r - 1, u] = (f"n = {size:,}: reuse {r}, unfreeze {u}<br>gain {mean[index, r - 1, u]:+.2f} "
                                       f"points<br>95% CI {low[index, r - 1, u]:+.2f} to {high[index, r - 1, u]:+.2f}"
                                       f"<br>{n_seeds} seeds")
        text = np.where(np.isfinite(mean[index]), np.vectorize(lambda v: f"{v:+.1f}")(np.nan_to_num(mean[index])), "")
        figure.add_trace(go.Heatmap(z=mean[index], x=columns, y=rows, customdata=hover, text=text,
                                    texttemplate="%{text}", hovertemplate="%{customdata}<extra></extra>",
                                    colorscale="RdBu", zmid=0, zmin=-limit, zmax=limit, showscale=index == 0,
                                    colorbar=dict(title="gain", len=0.8)), row=1, col=index + 1)
        if best is not None and best[index] is not None:
            r, u = best[index]
            # in the cell's top-right corner, beside its number rather than over it
            figure.add_trace(go.Scatter(x=[u + 0.32], y=[r + 0.3], mode="markers", marker=dict(symbol="star", size=13,
                                        color="gold", line=dict(color="black", width=1)),
                                        name="best on validation", showlegend=not starred, legendgroup="best",
                                        hoverinfo="skip"), row=1, col=index + 1)
            starred = True
        figure.update_xaxes(title="unfrozen u", tickvals=columns, row=1, col=index + 1)
    figure.update_yaxes(title="reused r", tickvals=rows, row=1, col=1)
    return styled(figure, f"Gain vs tuned scratch, {rate_label.replace('lower rate', 'lower')}", height=420)


def best_cell_chart(sizes, best_reused, best_unfrozen, gain, low, high, recipe_gain, recipe_low, recipe_high,
                    recipe_label: str) -> go.Figure:
    """Against the training size (log axis): the best cell's gain with its 95% CI next to a fixed recipe's (top),
    and the best cell's reused and unfrozen layers (bottom). Every argument but the label is (n_sizes,)."""
    sizes = np.asarray(sizes)
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.6, 0.4])
    for values, lows, highs, name, color in ((gain, low, high, "best cell (chosen on validation)", PALETTE[0]),
                                             (recipe_gain, recipe_low, recipe_high, recipe_label, PALETTE[1])):
        values = np.asarray(values, float)
        figure.add_trace(go.Scatter(
            x=sizes, y=values, name=name, mode="lines+markers", line=dict(color=color, width=3),
            error_y=dict(type="data", symmetric=False, array=np.asarray(highs) - values,
                         arrayminus=values - np.asarray(lows)),
            hovertemplate="n = %{x:,}: %{y:+.2f} points<extra>" + name + "</extra>"), row=1, col=1)
    figure.add_hline(y=0, line_color="gray", line_dash="dot", row=1, col=1)
    for values, name, color, symbol in ((best_reused, "reused layers r (best cell)", PALETTE[2], "square"),
                                        (best_unfrozen, "unfrozen layers u (best cell)", PALETTE[4], "diamond")):
        figure.add_trace(go.Scatter(x=sizes, y=values, name=name, mode="lines+markers",
                                    line=dict(color=color, width=3), marker=dict(symbol=symbol, size=11),
                                    hovertemplate="n = %{x:,}: %{y}<extra>" + name + "</extra>"), row=2, col=1)
    figure.update_xaxes(type="log", tickvals=sizes, ticktext=[f"{size:,}" for size in sizes], row=1, col=1)
    figure.update_xaxes(type="log", tickvals=sizes, ticktext=[f"{size:,}" for size in sizes],
                        title="task-B training images (n)", row=2, col=1)
    figure.update_yaxes(title="gain (points)", row=1, col=1)
    figure.update_yaxes(title="layers", dtick=1, rangemode="tozero", row=2, col=1)
    return styled(figure, "Best reuse per amount of data", height=560)


def scratch_rates_chart(sizes, rates, mean, low, high, tuned, tuned_low, tuned_high, names: dict) -> go.Figure:
    """B from scratch's mean test accuracy (%) with its 95% CI against the training size (log axis): one line per
    candidate rate (every seed at that rate) and one tuned per seed on validation.

    sizes: (n_sizes,); rates: (n_rates,); mean, low, high: (n_sizes, n_rates); tuned, tuned_low, tuned_high:
    (n_sizes,); names: {rate: what it is, e.g. "the cells' rate"} for the rates worth naming in the legend.
    """
    sizes = np.asarray(sizes, float)
    mean, low, high = (np.asarray(values, float) for values in (mean, low, high))
    figure = go.Figure()
    series = [(f"at {rate:g}" + (f" ({names[rate]})" if rate in names else ""), mean[:, index], low[:, index],
               high[:, index], PALETTE[(index + 1) % len(PALETTE)], 2) for index, rate in enumerate(rates)]
    series.append(("tuned per seed on validation", np.asarray(tuned, float), np.asarray(tuned_low, float),
                   np.asarray(tuned_high, float), PALETTE[7], 4))
    for number, (name, values, lows, highs, color, width) in enumerate(series):
        shift = 1.04 ** (number - (len(series) - 1) / 2)  # side by side on the log axis, so the bars do not overlap
        figure.add_trace(go.Scatter(
            x=sizes * shift, y=values, name=name, mode="lines+markers", line=dict(color=color, width=width),
            error_y=dict(type="data", symmetric=False, array=highs - values, arrayminus=values - lows),
            customdata=sizes, hovertemplate="n = %{customdata:,}: %{y:.2f}%<extra>" + name + "</extra>"))
    figure.update_xaxes(type="log", tickvals=sizes, ticktext=[f"{size:,.0f}" for size in sizes],
                        title="task-B training images (n)")
    figure.update_yaxes(title="B from scratch, test accuracy (%)")
    return styled(figure, "B from scratch at each rate", height=460)
