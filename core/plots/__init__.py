"""Plotly figure builders: plain data in, `go.Figure` out (no Streamlit, no Keras).

One module per concept (`batchnorm`, `bn_training`, `clipping`, `transfer`) and the shared chart style
in `style`. The names below are re-exported so `from core import plots; plots.clip_curves_figure(...)`
keeps working while the pages move to the concept modules (`from core.plots import clipping`); once they
have, these re-exports can go.
"""

from core.plots.batchnorm import (
    bn_error_heatmap,
    bn_gap_figure,
    bn_group_map_figure,
    bn_image_row,
    bn_moving_stats_figure,
    bn_tiny_batch_figure,
)
from core.plots.bn_training import (
    accuracy_curves_figure,
    epoch_seconds_figure,
    gradient_norms_figure,
    latency_figure,
    lr_sweep_figure,
)
from core.plots.clipping import (
    CLIP_COLORS,
    CLIP_NAMES,
    angle_by_dimension_figure,
    angle_histogram_figure,
    clip_curves_figure,
    clip_per_seed_figure,
    clipping_2d_figure,
    keras_clip_norms_figure,
)
from core.plots.style import FONT_SIZE, PALETTE, band_traces, styled
from core.plots.transfer import (
    BOOK_ERROR_RATIO,
    best_of_k_band,
    error_ratio_histogram,
    pair_heatmap,
    paired_difference_histogram,
    paired_seeds,
    transfer_learning_curves,
)

__all__ = [
    "BOOK_ERROR_RATIO", "CLIP_COLORS", "CLIP_NAMES", "FONT_SIZE", "PALETTE",
    "accuracy_curves_figure", "angle_by_dimension_figure", "angle_histogram_figure", "band_traces",
    "best_of_k_band", "bn_error_heatmap", "bn_gap_figure", "bn_group_map_figure", "bn_image_row",
    "bn_moving_stats_figure", "bn_tiny_batch_figure", "clip_curves_figure", "clip_per_seed_figure",
    "clipping_2d_figure", "epoch_seconds_figure", "error_ratio_histogram", "gradient_norms_figure",
    "keras_clip_norms_figure", "latency_figure", "lr_sweep_figure", "pair_heatmap", "paired_difference_histogram",
    "paired_seeds", "styled", "transfer_learning_curves",
]
