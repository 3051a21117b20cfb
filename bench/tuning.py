"""Time the tuned transfer comparison (issue 24: each arm searches one learning-rate grid, picked on validation)
against the book's untuned one, in one run.

    python -m bench.tuning            # full run: the book protocol, model A, then 10 seeds untuned and tuned
    python -m bench.tuning --quick    # smoke run on the tiny protocol, 3 seeds (numbers meaningless)

Everything runs in this process, on this machine (LAB_RAY_ADDRESS is ignored), into a fresh temporary store:
1. a warm-up, not counted: the tiny protocol's untuned and tuned comparisons (3 seeds, the same grid) in a store
   of their own, so TensorFlow's start-up, loading the data and the first traces of every code path are paid
   here and neither timed arm pays them alone;
2. model A of the book protocol (seed 42, the A every seed of both arms reuses), trained once and timed: the
   one-off cost a user pays on a cold store whichever arm they run first;
3. the untuned comparison, `transfer.run_comparison` (B from scratch and B on A at the book's rates) for 10 seeds;
4. the tuned comparison, `fair.run_fair` with `tuning.DEFAULT_RATES` (4 candidate rates per arm, every candidate
   an extra stacked copy), for the same 10 seeds, model A already stored.
The engine's compiled functions are cleared before 2, 3 and 4 (off the clock), so each stage traces its own
graphs, as a fresh process would, and neither arm reuses the other's; the two arms run back to back, the
untuned first. Times are wall seconds (CPU seconds and the 1-minute load average beside them: the machine is
shared, so compare arms of one run, not runs of different minutes).

The last lines are `name: value`: the tuned and untuned B phases and their ratio, then the tuned arm and the
ratio with model A's one-off time added to both arms (the issue's "10-seed book comparison with and without
--tune" as a user sees it from a cold store).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from bench import engine_speed  # the machine line and the clock
from core import engine, store, transfer
from core.runs import tuning
from core.transfer import fair

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

N_SEEDS, QUICK_SEEDS = 10, 3  # seeds per arm (the 10-seed comparison); --quick: the fewest with a spread
WARM_UP_SEEDS = 3


def configs(quick: bool) -> tuple[transfer.ComparisonConfig, fair.FairComparison]:
    """The untuned comparison of the book protocol (--quick: the tiny one) and the tuned one on the same protocol."""
    comparison = transfer.ComparisonConfig.tiny() if quick else transfer.ComparisonConfig(transfer.PROTOCOLS["book"])
    return comparison, fair.FairComparison(comparison=comparison, rates=tuning.DEFAULT_RATES)


def fresh_store(folder: Path, name: str) -> store.Store:
    return store.Store(folder / name / store.DB_NAME)


def load() -> float:
    return os.getloadavg()[0]


def timed(label: str, work) -> tuple[float, object]:
    """Run work() on its own clock after clearing the engine's compiled functions; print and return its wall
    seconds and result."""
    engine.clear_compiled_functions()
    before = load()
    with engine_speed.Clock() as clock:
        result = work()
    print(f"{label}: {clock.wall:.1f} s wall, {clock.cpu:.1f} CPU s, load {before:.1f} -> {load():.1f}", flush=True)
    return clock.wall, result


def mean_of(rows, field: str) -> float:
    return float(np.mean([row.result[field] for row in rows]))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the tiny protocol, 3 seeds: a smoke run, not a "
                                                             "measurement")
    args = parser.parse_args(argv)
    os.environ.pop("LAB_RAY_ADDRESS", None)  # this machine's time, not a cluster's
    untuned, tuned = configs(args.quick)
    protocol = untuned.protocol
    seeds = tuple(range(QUICK_SEEDS if args.quick else N_SEEDS))
    print(engine_speed.machine_line())
    print(f"protocol {protocol.name}, {len(seeds)} seeds per arm; tuned grid {tuning.rates_text(tuned.rates)} "
          f"({len(tuned.rates)} candidates per arm and seed, picked on validation); one fresh store", flush=True)
    with tempfile.TemporaryDirectory(prefix="tuning-bench-") as temporary:
        folder = Path(temporary)
        warm_up = transfer.ComparisonConfig.tiny()
        warm_up_store = fresh_store(folder, "warm-up")
        timed(f"warm-up, not counted (tiny protocol, {WARM_UP_SEEDS} seeds, untuned then tuned)", lambda: (
            transfer.run_comparison(warm_up, range(WARM_UP_SEEDS), warm_up_store),
            fair.run_fair(fair.FairComparison(comparison=warm_up, rates=tuned.rates), range(WARM_UP_SEEDS),
                          warm_up_store)))
        results = fresh_store(folder, "bench")
        model_a, _ = timed(f"model A (seed {transfer.MODEL_A_SEED}, {protocol.a_epochs} epochs), trained once",
                           lambda: transfer.train_model_as(
                               protocol, [(protocol.b_classes, transfer.MODEL_A_SEED)], results))
        untuned_seconds, untuned_rows = timed(f"untuned comparison, {len(seeds)} seeds (the book's rates)",
                                              lambda: transfer.run_comparison(untuned, seeds, results))
        tuned_seconds, tuned_rows = timed(f"tuned comparison, {len(seeds)} seeds ({len(tuned.rates)} rates per arm)",
                                          lambda: fair.run_fair(tuned, seeds, results))
        if len(untuned_rows) != len(seeds) or len(tuned_rows) != len(seeds):
            raise RuntimeError(f"Expected {len(seeds)} rows per arm, got {len(untuned_rows)} untuned and "
                               f"{len(tuned_rows)} tuned.")
        print(f"  untuned mean test accuracy: B from scratch "
              f"{mean_of(untuned_rows, 'scratch_test_accuracy'):.4f}, B on A "
              f"{mean_of(untuned_rows, 'transfer_test_accuracy'):.4f}")
        summary = fair.summarize_fair(tuned, tuned_rows)
        print(f"  tuned mean test accuracy: B from scratch {mean_of(tuned_rows, 'scratch_test_accuracy'):.4f}, "
              f"B on A {mean_of(tuned_rows, 'transfer_test_accuracy'):.4f}; seeds per picked rate: "
              f"{fair.picked_text(summary)}")
    print(f"with model A's {model_a:.1f} s added to each arm: untuned {untuned_seconds + model_a:.1f} s, tuned "
          f"{tuned_seconds + model_a:.1f} s")
    if args.quick:
        print("quick mode: the tiny protocol and 3 seeds; the numbers below are not measurements")
    print(f"tuned_comparison_seconds_10_seeds: {tuned_seconds:.2f}")
    print(f"untuned_comparison_seconds_10_seeds: {untuned_seconds:.2f}")
    print(f"tuning_overhead_ratio: {tuned_seconds / untuned_seconds:.2f}")
    print(f"tuned_with_model_a_seconds_10_seeds: {tuned_seconds + model_a:.2f}")
    print(f"tuning_overhead_ratio_with_model_a: {(tuned_seconds + model_a) / (untuned_seconds + model_a):.2f}")


if __name__ == "__main__":
    main()
