"""The chapter's transfer-learning experiment: task A, task B, and the protocols that reuse A for B.

Re-exports what callers use (`from core import transfer; transfer.run_comparison`) from `protocols`, `tasks`,
`reference` (the book's Keras code), `model_a`, `comparison` and `pairs`; `units` and `fair` are imported by name.
Design notes: docs/architecture.md ("core/transfer").
"""

from core.transfer.comparison import (
    BOOK_RUN_SEED,
    CHUNK_SEEDS,
    BookRun,
    ComparisonConfig,
    arm_row,
    book_run,
    book_run_config,
    comparison_unit,
    job_key,
    pitfall_run,
    run_comparison,
    seed_list,
    stored_book_run,
    summarize_rows,
    train_comparison_chunk,
)
from core.transfer.model_a import (
    A_CHUNK,
    MODEL_A_COST_IN_B_SEEDS,
    MODEL_A_SEED,
    ModelAConfig,
    missing_a,
    model_a_keras,
    model_a_weights,
    save_model_a,
    train_model_a_unit,
    train_model_as,
)
from core.transfer.pairs import ALL_PAIRS, PairCell, pair_cells, run_pairs
from core.transfer.protocols import (
    BOOK_GAIN_POINTS,
    MAX_SEEDS,
    MIN_SEEDS,
    PROTOCOLS,
    SGD_DEFAULT_LEARNING_RATE,
    TransferProtocol,
    a_cost,
    as_comment_reads_it,
    b_cost,
    get_protocol,
)
from core.transfer.reference import (
    SharingPitfall,
    accuracy,
    build_model_a,
    build_model_b,
    keras_code,
    reuse_for_b,
    sharing_pitfall,
    train_b_from_scratch,
    train_b_on_a,
    train_model_a,
)
from core.transfer.tasks import (
    TaskData,
    b_subset,
    b_training_sets,
    engine_configs,
    epoch_progress,
    model_a_data,
    protocol_tasks,
    task_a_rows,
    task_b_data,
    task_data,
)

__all__ = [
    # protocols
    "MAX_SEEDS", "MIN_SEEDS", "BOOK_GAIN_POINTS", "SGD_DEFAULT_LEARNING_RATE", "TransferProtocol", "PROTOCOLS",
    "as_comment_reads_it", "get_protocol", "a_cost", "b_cost",
    # tasks
    "TaskData", "b_subset", "task_data", "task_a_rows", "protocol_tasks", "b_training_sets", "model_a_data",
    "task_b_data", "engine_configs", "epoch_progress",
    # reference
    "build_model_a", "build_model_b", "train_model_a", "reuse_for_b", "train_b_on_a", "train_b_from_scratch",
    "accuracy", "SharingPitfall", "sharing_pitfall", "keras_code",
    # model_a
    "MODEL_A_SEED", "A_CHUNK", "MODEL_A_COST_IN_B_SEEDS", "ModelAConfig", "missing_a", "train_model_as",
    "train_model_a_unit", "save_model_a", "model_a_weights", "model_a_keras",
    # comparison
    "BOOK_RUN_SEED", "CHUNK_SEEDS", "ComparisonConfig", "seed_list", "arm_row", "train_comparison_chunk",
    "comparison_unit", "run_comparison", "summarize_rows", "BookRun", "book_run_config", "stored_book_run",
    "book_run", "pitfall_run", "job_key",
    # pairs
    "ALL_PAIRS", "PairCell", "pair_cells", "run_pairs",
]
