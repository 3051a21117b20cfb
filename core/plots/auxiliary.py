"""Figures of the auxiliary pretraining page: same/different distances, the unseen classes' embeddings, masked
images filled in, and the reuse comparison (accuracy against labels per source, paired gains)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from core.plots import pretraining as pretraining_plots
from core.plots.style import mosaic, palette_color, picture, styled


def distance_histogram_figure(distances, same) -> go.Figure:
    """Embedding distances of held-out pairs, same-class pairs against different-class pairs, every seed pooled.

    distances: (n_seeds, n_pairs); same: (n_pairs,) 1.0 for a same-class pair."""
    distances, same = np.asarray(distances, float), np.asarray(same) > 0.5
    figure = go.Figure()
    for index, (name, chosen) in enumerate((("same class", same), ("different classes", ~same))):
        figure.add_trace(go.Histogram(x=distances[:, chosen].ravel(), name=name, opacity=0.6, nbinsx=40,
                                      histnorm="probability density", marker_color=palette_color(index),
                                      hovertemplate=f"{name}<br>distance %{{x}}<extra></extra>"))
    figure.update_layout(barmode="overlay")
    figure.update_xaxes(title="distance between embeddings")
    figure.update_yaxes(title="density")
    return styled(figure, "Held-out pairs' distances")


def embedding_figure(projection, labels, names) -> go.Figure:
    """Embeddings of images from classes the Siamese net never saw, on their 2 principal components.

    projection: (n, 2); labels: (n,) class ids; names: {class id: name}."""
    projection, labels = np.asarray(projection, float), np.asarray(labels)
    figure = go.Figure()
    for index, (label, name) in enumerate(names.items()):
        chosen = labels == label
        figure.add_trace(go.Scattergl(x=projection[chosen, 0], y=projection[chosen, 1], mode="markers", name=name,
                                      marker=dict(size=5, opacity=0.6, color=palette_color(index)),
                                      hovertemplate=f"{name}<extra></extra>"))
    figure.update_xaxes(title="component 1")
    figure.update_yaxes(title="component 2")
    return styled(figure, "Unseen classes' codes (PCA)", height=460)


def masked_examples_figure(masked_inputs, predictions, originals) -> go.Figure:
    """Three rows of images (n, 28, 28) each: what the net saw, what it filled in, the truth."""
    rows = [np.asarray(images, float) for images in (masked_inputs, np.clip(predictions, 0, 1), originals)]
    tiled = mosaic(np.concatenate(rows), len(rows[0]))
    figure = go.Figure(go.Heatmap(z=tiled, colorscale="Greys", reversescale=True, zmin=0, zmax=1, showscale=False,
                                  hoverongaps=False, hovertemplate="pixel value %{z:.2f}<extra></extra>"))
    figure = picture(figure)
    return styled(figure, "Masked, predicted, truth", height=380)


def accuracy_by_labels_figure(label_counts, accuracy: dict) -> go.Figure:
    """Test accuracy against labels, one line per source (and scratch), seeds as a min-max band.

    label_counts: (n_counts,); accuracy: {name: (n_seeds, n_counts)}, NaN where a count is not stored."""
    figure = pretraining_plots.accuracy_by_labels_figure(label_counts, accuracy)
    figure.update_layout(title_text="Accuracy vs labels, per source")
    return figure


def paired_gains_figure(names, differences, means, lows, highs, title: str) -> go.Figure:
    """Each seed's gain over scratch per arm and the mean with its 95% interval (see core.plots.pretraining)."""
    return pretraining_plots.paired_gains_figure(names, differences, means, lows, highs, title)



def picked_rates_figure(names, rates, counts) -> go.Figure:
    """How many seeds each arm's search picked each rate for, on validation: one row per arm, one column per rate.

    names: (n_arms,); rates: (n_candidates,) the grid every arm searched; counts: (n_arms, n_candidates) seeds."""
    counts = np.asarray(counts, int)
    columns = [f"{rate:g}" for rate in rates]
    figure = go.Figure(go.Heatmap(z=counts, x=columns, y=list(names), text=counts, texttemplate="%{text}",
                                  colorscale="Blues", zmin=0, zmax=max(1, int(counts.max(initial=0))), showscale=False,
                                  hovertemplate="%{y}<br>rate %{x}: %{z} seeds<extra></extra>"))
    figure.update_xaxes(title="Nadam rate picked", type="category")
    figure.update_yaxes(autorange="reversed")
    return styled(figure, "Rates picked (seeds)", height=140 + 26 * len(counts))
