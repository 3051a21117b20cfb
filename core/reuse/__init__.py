"""The reuse explorer: which of the chapter's rules of thumb for reusing a pretrained net hold on this data.

`configs` defines the grid (cells, sizes, seeds), `grid` trains it and stores its rows, `summary` reads the
stored rows, `rules` gives the verdicts; this module re-exports the names callers use (`reuse.run_grid`, ...).
Design notes: docs/architecture.md, "core/reuse".
"""

from core.reuse.configs import (
    DEFAULT_REDUCTIONS,
    DEFAULT_SEEDS,
    DEFAULT_SIZES,
    MAX_REDUCTIONS,
    MAX_SEEDS,
    MEASURED_COPIES,
    MIN_SEEDS,
    PAGE_DEFAULT_SIZES,
    SAME,
    SECONDS_PER_SEED,
    TINY_SIZES,
    Cell,
    ReuseGrid,
    check_reductions,
    grid_cells,
    grids,
    job_key,
    rate_code,
    rate_name,
    seed_list,
    sizes_for,
    task_b_pool,
    time_hint,
)
from core.reuse.grid import grid_csv, grid_unit, run_grid, train_grid_chunk
from core.reuse.rules import (
    CONTRADICTED,
    HOLDS,
    LITTLE_DATA,
    NEEDS_TWO_SIZES,
    NO_DIFFERENCE,
    RELIABLE_MIN_SEEDS,
    STATUSES,
    TOO_FEW_SEEDS,
    RuleVerdict,
    best_cell_note,
    best_cell_text,
    holm_direction,
    holm_seeds,
    rule_verdicts,
)
from core.reuse.summary import CellResult, GridSummary, holm_text, summarize_grid, summary_lines, verdict_rows

__all__ = [
    "DEFAULT_SIZES", "PAGE_DEFAULT_SIZES", "DEFAULT_REDUCTIONS", "MAX_REDUCTIONS", "SECONDS_PER_SEED",
    "MEASURED_COPIES", "DEFAULT_SEEDS", "TINY_SIZES", "MIN_SEEDS", "MAX_SEEDS", "SAME", "rate_code", "rate_name",
    "check_reductions", "Cell", "grid_cells", "ReuseGrid", "grids", "sizes_for", "seed_list", "task_b_pool",
    "time_hint", "job_key", "run_grid", "grid_unit", "train_grid_chunk", "grid_csv", "CellResult", "GridSummary",
    "summarize_grid", "summary_lines", "verdict_rows", "holm_text", "RuleVerdict", "rule_verdicts", "STATUSES",
    "RELIABLE_MIN_SEEDS", "HOLDS", "CONTRADICTED", "LITTLE_DATA", "NO_DIFFERENCE", "TOO_FEW_SEEDS", "NEEDS_TWO_SIZES",
    "holm_seeds", "holm_direction", "best_cell_text", "best_cell_note",
]
