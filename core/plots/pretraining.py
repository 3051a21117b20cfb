"""Figures of the unsupervised pretraining page: reconstructions, first-layer filters, pretraining curves,
the codes' 2-D view, arm curves at equal updates, accuracy against the number of labels, paired gains."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from core.plots.style import PALETTE, band_traces, mosaic, palette_color, picture, styled


def reconstructions_figure(originals, reconstructions) -> go.Figure:
    """Test images (n, 28, 28) on the top row, the autoencoder's reconstructions (n, 28, 28) under them, in grey."""
    originals, rebuilt = np.asarray(originals, float), np.clip(np.asarray(reconstructions, float), 0, 1)
    tiled = mosaic(np.concatenate([originals, rebuilt]), len(originals))
    figure = go.Figure(go.Heatmap(z=tiled, colorscale="Greys", reversescale=True, zmin=0, zmax=1, showscale=False,
                                  hoverongaps=False, hovertemplate="pixel value %{z:.2f}<extra></extra>"))
    return styled(picture(figure), "Test images and reconstructions", height=300)


def filters_figure(filters, columns: int = 10) -> go.Figure:
    """The first layer's kernel columns (units, 28, 28) as images: red weights positive, blue negative, each filter
    scaled to its own largest weight so faint ones stay visible."""
    filters = np.asarray(filters, float)
    scale = np.abs(filters).reshape(len(filters), -1).max(axis=1)
    scaled = filters / np.where(scale > 0, scale, 1.0)[:, None, None]
    tiled = mosaic(scaled, min(columns, len(filters)))
    figure = go.Figure(go.Heatmap(z=tiled, colorscale="RdBu", reversescale=True, zmid=0, zmin=-1, zmax=1,
                                  hoverongaps=False, colorbar=dict(title=dict(text="weight / max", side="right")),
                                  hovertemplate="weight / filter's max %{z:.2f}<extra></extra>"))
    rows = -(-len(filters) // min(columns, len(filters)))
    return styled(picture(figure), f"First-layer filters ({len(filters)} units)", height=120 + 60 * rows)


def pretraining_curves_figure(val_mse, phase_names) -> go.Figure:
    """Validation reconstruction MSE per epoch of each phase (joint: one; greedy: one per layer), seeds as a band.

    val_mse: (n_seeds, n_phases, epochs); phase_names: (n_phases,)."""
    val_mse = np.asarray(val_mse, float)
    figure = go.Figure()
    epochs = np.arange(1, val_mse.shape[2] + 1)
    for phase, name in enumerate(phase_names):
        figure.add_traces(band_traces(epochs, val_mse[:, phase], name, palette_color(phase)))
    figure.update_xaxes(title="epoch (of that phase)", dtick=1)
    figure.update_yaxes(title="validation MSE of its reconstruction")
    return styled(figure, "Reconstruction error per phase")


def codes_figure(projection, labels, class_names, variance) -> go.Figure:
    """Codes of test images on their 2 principal components, one colour per class.

    projection: (n, 2); labels: (n,) class indices; variance: (2,) share of the codes' variance per component."""
    projection, labels = np.asarray(projection, float), np.asarray(labels)
    figure = go.Figure()
    for index, name in enumerate(class_names):
        chosen = labels == index
        figure.add_trace(go.Scattergl(x=projection[chosen, 0], y=projection[chosen, 1], mode="markers", name=name,
                                      marker=dict(size=5, opacity=0.6, color=palette_color(index)),
                                      hovertemplate=f"{name}<extra></extra>"))
    figure.update_xaxes(title=f"component 1 ({variance[0]:.0%} of the variance)")
    figure.update_yaxes(title=f"component 2 ({variance[1]:.0%} of the variance)")
    return styled(figure, "Codes of test images (PCA)", height=520)


def arm_curves_figure(updates, curves, arm_names, unfreeze_at: int | None = None) -> go.Figure:
    """Validation accuracy of every arm against updates, seeds as a band.

    updates: (n_points,); curves: (n_seeds, n_arms, n_points); arm_names: (n_arms,)."""
    curves = np.asarray(curves, float)
    figure = go.Figure()
    for arm, name in enumerate(arm_names):
        figure.add_traces(band_traces(list(updates), curves[:, arm], name, palette_color(arm)))
    if unfreeze_at:
        figure.add_vline(x=unfreeze_at, line_dash="dot", line_color="gray")
        figure.add_annotation(x=unfreeze_at, xref="x", y=1, yref="y domain", yanchor="bottom", xanchor="left",
                              text="top layer unfreezes", showarrow=False)
    figure.update_xaxes(title="updates (batches of 32)")
    figure.update_yaxes(title="validation accuracy", tickformat=".0%")
    return styled(figure, "Every arm, equal updates", height=460)


def accuracy_by_labels_figure(label_counts, accuracy: dict) -> go.Figure:
    """Test accuracy against labelled images (log axis), seeds as a min-max band.

    label_counts: (n_counts,); accuracy: {arm name: (n_seeds, n_counts)}; NaN where a count is not stored."""
    figure = go.Figure()
    for index, (name, values) in enumerate(accuracy.items()):
        values = np.asarray(values, float)
        present = np.isfinite(values).all(axis=0)
        if not present.any():
            continue
        x = np.asarray(label_counts)[present]
        figure.add_traces(band_traces(list(x), 100 * values[:, present], name, palette_color(index)))
    figure.update_xaxes(title="labelled images per seed (log scale)", type="log", tickvals=list(label_counts))
    figure.update_yaxes(title="test accuracy (%)")
    return styled(figure, "Accuracy vs labels", height=460)


def paired_gains_figure(names, differences, means, lows, highs, title: str) -> go.Figure:
    """Each seed's gain over training from scratch (points) per row, and the mean with its 95% interval.

    names: (n_rows,); differences: list of (n_seeds,) arrays; means, lows, highs: (n_rows,)."""
    figure = go.Figure()
    for index, (name, values) in enumerate(zip(names, differences)):
        values = np.asarray(values, float)
        figure.add_trace(go.Scatter(x=values, y=[name] * len(values), mode="markers", name="seeds",
                                    legendgroup="seeds", showlegend=index == 0, opacity=0.6,
                                    marker=dict(color=PALETTE[0], size=9),
                                    hovertemplate="%{x:+.2f} points<extra>one seed</extra>"))
    means, lows, highs = (np.asarray(values, float) for values in (means, lows, highs))
    figure.add_trace(go.Scatter(x=means, y=list(names), mode="markers", name="mean and 95% CI",
                                marker=dict(color="black", size=14, symbol="diamond"),
                                error_x=dict(type="data", symmetric=False, array=highs - means,
                                             arrayminus=means - lows, color="black", thickness=2),
                                hovertemplate="mean %{x:+.2f} points<extra></extra>"))
    figure.add_vline(x=0, line_color="gray", line_dash="dot")
    figure.update_xaxes(title="gain over scratch (points)")
    figure.update_yaxes(autorange="reversed")
    return styled(figure, title, height=140 + 60 * len(names))


def picked_rates_figure(rates, counts, names, title: str) -> go.Figure:
    """How many seeds picked each candidate learning rate on validation: a group of bars per rate, a bar per row
    (an arm, or a regime's arm).

    rates: (n_candidates,); counts: (n_rows, n_candidates) seeds; names: (n_rows,)."""
    labels = [f"{rate:g}" for rate in rates]
    figure = go.Figure()
    for index, (name, row) in enumerate(zip(names, np.asarray(counts))):
        figure.add_trace(go.Bar(x=labels, y=list(row), name=name, marker_color=palette_color(index),
                                hovertemplate=f"{name}<br>rate %{{x}}: %{{y}} seed(s)<extra></extra>"))
    figure.update_layout(barmode="group")
    figure.update_xaxes(title="learning rate picked on validation", type="category")
    figure.update_yaxes(title="seeds", rangemode="tozero")
    return styled(figure, title, height=340)
