"""Unsupervised pretraining with few labels: autoencoders (joint or greedy layer-wise), then fine-tuning arms.

Re-exports the public names of configs, arrays, nets, autoencoders and fine_tuning; tuned and tables are imported
as submodules. Design notes (image roles, arms, regimes, what is stored): docs/architecture.md, "Design notes",
core/pretraining.
"""

from core.pretraining.arrays import Arrays, labelled_subset, split_arrays
from core.pretraining.autoencoders import (
    PretrainingResult,
    load_pretraining,
    missing_pretraining,
    pretrain,
    pretrained_params,
    stored_seeds,
)
from core.pretraining.configs import (
    ARMS,
    CHUNK_SEEDS,
    CURVE_VALIDATION,
    LABEL_COUNTS,
    MAX_SEEDS,
    MIN_SEEDS,
    N_CLASSES,
    N_PCA,
    N_RECONSTRUCTIONS,
    PITFALL_RUNS,
    POOL_STATS_IMAGES,
    PRETRAINED_ARMS,
    REGIMES,
    TINY_LABEL_COUNTS,
    FineTuning,
    Pretraining,
    Split,
    experiment,
    seed_list,
    stacked_optimizer,
)
from core.pretraining.fine_tuning import (
    ArmRuns,
    Comparison,
    fine_tune,
    load_comparison,
    run_configs,
    run_grid,
    run_label_counts,
    stored_results,
    train_arms,
    train_missing,
)
from core.pretraining.nets import autoencoder_layers, classifier_layers, decoder_layer, encoder_layers

__all__ = [  # in the order of the imports above
    "Arrays", "labelled_subset", "split_arrays",
    "PretrainingResult", "load_pretraining", "missing_pretraining", "pretrain", "pretrained_params", "stored_seeds",
    "ARMS", "CHUNK_SEEDS", "CURVE_VALIDATION", "LABEL_COUNTS", "MAX_SEEDS", "MIN_SEEDS", "N_CLASSES", "N_PCA",
    "N_RECONSTRUCTIONS", "PITFALL_RUNS", "POOL_STATS_IMAGES", "PRETRAINED_ARMS", "REGIMES", "TINY_LABEL_COUNTS",
    "FineTuning", "Pretraining", "Split", "experiment", "seed_list", "stacked_optimizer",
    "ArmRuns", "Comparison", "fine_tune", "load_comparison", "run_configs", "run_grid", "run_label_counts",
    "stored_results", "train_arms", "train_missing",
    "autoencoder_layers", "classifier_layers", "decoder_layer", "encoder_layers",
]
