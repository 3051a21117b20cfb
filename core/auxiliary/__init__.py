"""Pretraining on an auxiliary task (same/different pairs, masked images) and reusing it with few labels.

Re-exports the public names of configs, data, nets, sources and reuse_arms; summary, selection, table and tuned
are imported as submodules. Design notes: docs/architecture.md, "Design notes", core/auxiliary.
"""

from core.auxiliary.configs import (
    ARMS,
    AUXILIARY_SOURCES,
    CHUNK_SEEDS,
    LABEL_COUNTS,
    MODES,
    N_EMBEDDED,
    N_EXAMPLES,
    PATCH_SIZES,
    SIDE,
    SOURCES,
    TINY_LABEL_COUNTS,
    Common,
    Masked,
    Reuse,
    Siamese,
    Supervised,
    arm_label,
    job_key,
    seed_list,
)
from core.auxiliary.data import (
    SourceData,
    held_out_pairs,
    labelled_subset,
    make_pairs,
    source_data,
    target_validation,
)
from core.auxiliary.nets import (
    MaskedImage,
    SamePair,
    decoder_layers,
    encoder_layers,
    example_masks,
    masked_errors,
    nadam,
    patch_masks,
    progress_segments,
    siamese_head,
    supervised_layers,
    target_layers,
)
from core.auxiliary.reuse_arms import (
    ArmScores,
    ReuseResult,
    correct_counts,
    load_reuse,
    reuse,
    reuse_start,
    run_grid,
    train_arms,
)
from core.auxiliary.sources import (
    MaskedView,
    SiameseView,
    encoder_params,
    masked_view,
    pretrain_source,
    siamese_view,
)

__all__ = [
    "SIDE", "SOURCES", "AUXILIARY_SOURCES", "MODES", "ARMS", "LABEL_COUNTS", "TINY_LABEL_COUNTS", "PATCH_SIZES",
    "CHUNK_SEEDS", "N_EXAMPLES", "N_EMBEDDED", "Common", "Supervised", "Siamese", "Masked", "Reuse", "seed_list",
    "arm_label", "job_key",
    "SourceData", "source_data", "make_pairs", "labelled_subset", "held_out_pairs", "target_validation",
    "encoder_layers", "decoder_layers", "patch_masks", "masked_errors", "MaskedImage", "SamePair", "siamese_head",
    "supervised_layers", "target_layers", "nadam", "example_masks", "progress_segments",
    "pretrain_source", "encoder_params", "SiameseView", "MaskedView", "siamese_view", "masked_view",
    "ReuseResult", "reuse", "reuse_start", "ArmScores", "train_arms", "correct_counts", "load_reuse", "run_grid",
]
