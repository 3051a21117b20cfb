"""Figures of the BN-in-training page: gradient norms, accuracy curves, learning-rate sweep, time."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from core.plots.style import band_traces, palette_color, reference_line, styled


def gradient_norms_figure(norms: dict) -> go.Figure:
    """Per-layer gradient norm at initialisation. norms: {variant name: (n_seeds, n_dense_layers)}, input first."""
    figure = go.Figure()
    for index, (name, values) in enumerate(norms.items()):
        values = np.asarray(values, dtype=float)
        layers = list(range(1, values.shape[1] + 1))
        figure.add_traces(band_traces(layers, values, name, palette_color(index)))
    figure.update_yaxes(type="log", title="‖∂loss/∂kernel‖ (log scale)", exponentformat="power")
    figure.update_xaxes(title="Dense layer (1 = input side)", dtick=1)
    return styled(figure, "Gradient norm per layer")


def accuracy_curves_figure(curves: dict, x_title: str = "epoch", title: str = "Validation accuracy") -> go.Figure:
    """Accuracy curves with a band over seeds. curves: {name: (x values, (n_seeds, n_points) accuracy)}."""
    figure = go.Figure()
    for index, (name, (x, values)) in enumerate(curves.items()):
        figure.add_traces(band_traces(x, values, name, palette_color(index)))
    values = (np.concatenate([np.ravel(np.asarray(v, dtype=float)) for _, v in curves.values()]) if curves
              else np.r_[0, 1])
    low, high = np.nanmin(values), np.nanmax(values)
    pad = max(0.02, 0.08 * (high - low))  # fitted to the data (a 0.72-0.82 spread is not squashed), within 0..1
    figure.update_yaxes(title="validation accuracy", range=[max(0.0, low - pad), min(1.0, high + pad)])
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
            traces = band_traces(learning_rates, values, f"{variant}, {initializer}", palette_color(index))
            traces[1].update(line=dict(color=palette_color(index), width=3, dash=dashes[variant_index % 3]),
                             mode="lines+markers")
            figure.add_traces(traces)
    reference_line(figure, y=0.1, name="chance (10 classes)", dash="dot")
    figure.update_xaxes(type="log", title="SGD learning rate (log scale)")
    figure.update_yaxes(title="final validation accuracy", range=[0, 1])
    return styled(figure, "Which learning rates still train?", height=480)


def epoch_seconds_figure(epoch_seconds: dict) -> go.Figure:
    """Distribution of per-epoch wall-clock time. epoch_seconds: {name: (n_seeds, n_epochs) seconds}."""
    figure = go.Figure()
    for index, (name, values) in enumerate(epoch_seconds.items()):
        figure.add_trace(go.Box(y=np.asarray(values, dtype=float).ravel(), name=name, boxpoints="all",
                                marker_color=palette_color(index)))
    figure.update_yaxes(title="seconds per epoch", rangemode="tozero")
    return styled(figure, "Time per epoch (measured)", height=360)


def latency_figure(batch_sizes, milliseconds: dict, reference: str) -> go.Figure:
    """Median inference time per call, as a ratio to `reference`, grouped by batch size.

    milliseconds: {variant: (n_batch_sizes, repeats)}. The median in ms is in the hover text (labels on
    grouped bars would collide; the page lists them in a table).
    """
    medians = {name: np.median(np.asarray(values, dtype=float), axis=1) for name, values in milliseconds.items()}
    labels = [f"batch {size}" for size in batch_sizes]
    figure = go.Figure()
    for index, (name, median) in enumerate(medians.items()):
        ratio = median / medians[reference]
        figure.add_trace(go.Bar(x=labels, y=ratio, name=name, marker_color=palette_color(index),
                                customdata=median, hovertemplate=f"{name}, %{{x}}: %{{customdata:.2f}} ms"
                                                                 "<extra></extra>"))
    reference_line(figure, y=1.0, name=f"as fast as {reference}", dash="dot")
    figure.update_yaxes(title=f"time / time of {reference}", rangemode="tozero")
    figure.update_layout(barmode="group")
    return styled(figure, "Prediction time vs no BN", height=440)
