"""Batch Normalization, made visible: moving statistics (momentum.py), axes and BN's arithmetic (axis.py), the
book's parameter accounting (parameters.py), training vs inference (inference.py), BN folded into Dense layers
(fold.py), and BN during training (seed_runs.py, training.py). The numpy functions re-implement what a real
`keras.layers.BatchNormalization` does, checked against it in tests; Keras loads only inside functions.
"""

from core.batchnorm.axis import (
    KERAS_EPSILON,
    ParameterCount,
    batch_normalize,
    batch_statistics,
    bn_parameter_count,
    bn_parameter_shape,
    check_epsilon,
    group_map,
    normalize_images,
    normalized_axes,
    parse_axis,
    reduction_axes,
)
from core.batchnorm.fold import batchnorm_affine, fold_batchnorm
from core.batchnorm.inference import (
    FrozenDemo,
    TinyBatchReport,
    frozen_layer_demo,
    tiny_batch_report,
    train_inference_gap,
)
from core.batchnorm.momentum import (
    KERAS_MOMENTUM,
    MAX_BATCH_SIZE,
    MOMENTUM_PRESETS,
    SOURCES,
    STREAM_PIXELS,
    SYNTHETIC_MEAN,
    SYNTHETIC_SHIFT,
    SYNTHETIC_STD,
    HeatmapConfig,
    MovingStats,
    Stream,
    StreamConfig,
    batch_moments,
    check_batch_size,
    check_momentum,
    effective_window,
    exponential_average,
    exponential_average_last,
    final_error_column,
    final_error_grid,
    inference_output_error,
    moving_stats_trajectory,
    pixel_pool,
    sample_stream,
)
from core.batchnorm.parameters import LayerRow, ParameterSummary, VariableRow, parameter_summary

__all__ = [
    "KERAS_EPSILON", "KERAS_MOMENTUM", "MAX_BATCH_SIZE", "MOMENTUM_PRESETS", "SOURCES", "STREAM_PIXELS",
    "SYNTHETIC_MEAN", "SYNTHETIC_SHIFT", "SYNTHETIC_STD", "FrozenDemo", "HeatmapConfig", "LayerRow", "MovingStats",
    "ParameterCount", "ParameterSummary", "Stream", "StreamConfig", "TinyBatchReport", "VariableRow",
    "batch_moments", "batch_normalize", "batch_statistics", "batchnorm_affine", "bn_parameter_count",
    "bn_parameter_shape", "check_batch_size", "check_epsilon", "check_momentum", "effective_window",
    "exponential_average", "exponential_average_last", "final_error_column", "final_error_grid", "fold_batchnorm",
    "frozen_layer_demo", "group_map", "inference_output_error", "moving_stats_trajectory", "normalize_images",
    "normalized_axes", "parameter_summary", "parse_axis", "pixel_pool", "reduction_axes", "sample_stream",
    "tiny_batch_report", "train_inference_gap",
]
