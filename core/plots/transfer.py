"""Figures of the transfer-learning page: learning curves, paired seeds, histograms, seed shopping, pairs."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from core import book
from core.plots.style import PALETTE, reference_line, seed_histogram, styled

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
        reference_line(figure, x=frozen_epochs + 0.5, name="B on A: reused layers unfrozen", dash="dot")
    figure.update_xaxes(title="epoch")
    figure.update_yaxes(title="validation accuracy", tickformat=".0%")
    return styled(figure, "Learning curves of the single run")


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
    figure.update_xaxes(range=[-0.5, 1.5])  # room beside the two columns: their labels clear the y axis's
    return styled(figure, f"Paired by seed ({len(scratch)} seeds)", height=460)


def paired_difference_histogram(differences, mean: float, low: float, high: float,
                                book_gain: float) -> go.Figure:
    """Histogram of per-seed differences (points, (n_seeds,)), the mean with its CI, the book's gain marked."""
    figure = seed_histogram(np.asarray(differences, float), estimate=mean, interval=(low, high),
                            interval_label="95% CI of the mean", reference=book_gain,
                            reference_label=f"the book: {book_gain:+.2f}", color=PALETTE[0],
                            estimate_label=f"mean: {mean:+.2f}")
    figure.update_xaxes(title="B on A − B from scratch (points)")
    return styled(figure, "Paired differences")


def error_ratio_histogram(per_seed_ratio, ratio: float, low: float, high: float) -> go.Figure:
    """Per-seed error-rate ratios scratch / B on A ((n_seeds,), add-half smoothed), the pooled ratio and its CI
    (drawn only when bounded: 0 < low, high < inf), on a log2 axis labelled in ratios."""
    bounded = 0 < low and np.isfinite(high)
    figure = seed_histogram(np.log2(np.asarray(per_seed_ratio, float)), estimate=np.log2(ratio),
                            interval=(np.log2(low), np.log2(high)) if bounded else None, interval_label="95% CI",
                            reference=np.log2(BOOK_ERROR_RATIO), reference_label=f"the book: x{BOOK_ERROR_RATIO:.2f}",
                            color=PALETTE[4], estimate_label=f"pooled ratio: x{ratio:.2f}",
                            hovertemplate="log2 ratio %{x}<br>%{y} seeds")
    ticks = np.array([1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8, 16])
    figure.update_xaxes(title="scratch errors / B-on-A errors", tickvals=np.log2(ticks),
                        ticktext=[f"{t:g}" if t >= 1 else f"1/{1 / t:g}" for t in ticks])
    return styled(figure, "Error-rate ratio")


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
    reference_line(figure, y=target, name=f"the book: {target:+.2f}", color=PALETTE[3], width=3)
    if k_for_target is not None:
        reference_line(figure, x=k_for_target, name=f"k = {k_for_target}: half the shoppers get there",
                       color=PALETTE[3], dash="dot")
    figure.update_xaxes(title="configurations tried, best one kept (k)")
    figure.update_yaxes(title="best gain reported (points)")
    return styled(figure, "Seed shopping: the best of k runs")


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
    figure.update_xaxes(tickangle=-90)  # ten class names side by side collide at any slant on a half-width chart
    return styled(figure, "Gain of B on A per pair", height=600)


def picked_rates_chart(rates, counts) -> go.Figure:
    """How many seeds picked each rate of the grid, per arm (the fair comparison's search): rates (n_rates,);
    counts {arm: (n_rates,) seeds that picked each rate on validation}."""
    labels = [f"{rate:g}" for rate in rates]
    figure = go.Figure()
    for index, (arm, values) in enumerate(counts.items()):
        figure.add_trace(go.Bar(x=labels, y=list(values), name=arm, marker_color=PALETTE[index],
                                hovertemplate=f"{arm}: %{{y}} seeds picked %{{x}}<extra></extra>"))
    figure.update_layout(barmode="group")
    figure.update_xaxes(title="rate picked on validation", type="category")
    figure.update_yaxes(title="seeds", rangemode="tozero")
    return styled(figure, "The rate each arm picked", height=360)
