"""Stacked-seed training for small dense nets and any per-copy loss: K copies, each exactly a Keras model.

Pretraining and the auxiliary tasks train on it: reconstruction and classification objectives, tied layers,
SGD and Nadam, frozen layers, per-copy data and learning rates. How it runs and why: docs/architecture.md
(Design notes, core/stacked); tests/test_stacked.py checks every copy against a plain Keras model.
"""

from core.stacked.batches import batch_stream, steps_per_epoch
from core.stacked.evaluation import evaluate, outputs
from core.stacked.keras_models import dense_transpose_class, keras_model
from core.stacked.layers import (
    ACTIVATIONS,
    Dense,
    copy_params,
    forward,
    initial_params,
    keras_initializer,
    layer_seed,
    param_shapes,
)
from core.stacked.loop import TrainResult, train
from core.stacked.objectives import Classification, HitsObjective, Reconstruction, gather, noise
from core.stacked.optimizers import SGD, Nadam, keras_optimizer

__all__ = [
    "ACTIVATIONS", "Dense", "param_shapes", "layer_seed", "keras_initializer", "initial_params", "forward",
    "copy_params", "gather", "noise", "Reconstruction", "HitsObjective", "Classification", "SGD", "Nadam",
    "keras_optimizer", "steps_per_epoch", "batch_stream", "TrainResult", "train", "evaluate", "outputs",
    "dense_transpose_class", "keras_model",
]
